"""ISDN: a CAPI controller file and a fake capiinfo, in any state (issue: the ISDN check).

The receivers os4xrd_capi_0 .. os4xrd_capi_<N-1> are started by the process tree
(``--isdn-controllers N``). This part writes what CAPI would say about the controllers into a
directory (``--capi-dir``, default ``<state-file>.capi``):

- ``controller``: the kernel's list in the format of /proc/capi/controller, one line per
  controller with its state from ``--capi-states`` (``missing`` leaves the controller out);
- ``capiinfo``: an executable that answers as capiinfo does for userspace CAPI, or shows a
  failure chosen with ``--capiinfo-output``.

The plugin reads them with ``--capi-file DIR/controller`` and ``--capiinfo DIR/capiinfo``.
It is a part of the simulator (``simulator.__main__.Part``: the hooks are described there).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile

from os4xmon.simulator.scenario import Scenario

STATES = ("running", "detected", "loading", "missing")
OUTPUTS = ("normal", "not-installed", "hang", "garbage")
CONTROLLER_FILE = "controller"
CAPIINFO = "capiinfo"


def _states(text: str) -> tuple:
    states = tuple(state.strip() for state in text.split(",") if state.strip())
    if not states:
        raise argparse.ArgumentTypeError("names no state")
    return states


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--capi-dir", metavar="DIR", help="where to write the controller file "
                        "and the fake capiinfo (default: <state-file>.capi)")
    parser.add_argument("--capi-states", type=_states, metavar="LIST", help="state of CAPI "
                        "controllers 1, 2, ... in order: " + ", ".join(STATES) + " or any "
                        "word (default: running for each of --isdn-controllers)")
    parser.add_argument("--capiinfo-output", choices=OUTPUTS, default="normal",
                        help="what the fake capiinfo does (default normal)")


def controller_states(args: argparse.Namespace) -> tuple:
    return args.capi_states or ("running",) * args.isdn_controllers


def controller_line(number: int, state: str) -> str:
    """A line as kernel CAPI writes it: "%d %-10s %-8s %-16s %s"."""
    port = 0xE000 + 0x400 * (number - 1)
    return f"{number} {'b1pci':<10} {state:<8} {f'b1pci-{port:x}':<16} B1 3.07-01 {port:#x} 19"


def controller_file(states: tuple) -> str:
    return "".join(controller_line(number, state) + "\n"
                   for number, state in enumerate(states, 1) if state != "missing")


def capiinfo_text(states: tuple) -> str:
    """capiinfo's answer for userspace CAPI: the controllers that run (it has no state)."""
    listed = [number for number, state in enumerate(states, 1) if state == "running"]
    lines = [f"Number of Controllers : {len(listed)}"]
    for number in listed:
        lines += [
            f"Controller {number}:",
            "Manufacturer: mISDN",
            "CAPI Version: 2.0",
            "Manufacturer Version: 0.1",
            f"Serial Number: {number:07d}",
            "BChannels: 2",
            "Global Options: 0x00000001",
            "   internal controller supported",
            "B1 protocols support: 0x00000003",
            "   64 kbit/s with HDLC framing",
            "   64 kbit/s bit-transparent operation",
            "B2 protocols support: 0x00000003",
            "   ISO 7776 (X.75 SLP)",
            "   Transparent",
            "B3 protocols support: 0x00000001",
            "   Transparent",
            "",
            "  0100",
            "  0200",
            "  01000000",
            "",
        ]
    return "\n".join(lines) + "\n"


def capiinfo_script(states: tuple, output: str) -> str:
    """A /bin/sh script that behaves like capiinfo in the chosen way."""
    if output == "not-installed":
        body = "echo 'capi not installed - No such file or directory (2)' >&2\nexit 2\n"
    elif output == "hang":
        body = "sleep 3600\n"  # a child of the shell: the plugin must kill the whole group
    elif output == "garbage":
        body = "printf '\\377\\376\\000\\001GARBAGE\\033[2J|=U;;\\n\\200\\201\\n'\n"
    else:
        body = f"cat <<'END_OF_CAPIINFO'\n{capiinfo_text(states)}END_OF_CAPIINFO\n"
    return "#!/bin/sh\n# fake capiinfo written by os4x-simulator\n" + body


def _write(path: str, text: str, mode: int) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def before_start(args: argparse.Namespace, scenario: Scenario) -> None:
    """Writes the controller file and the fake capiinfo when the host has ISDN."""
    if not (args.isdn_controllers or args.capi_states or args.capi_dir):
        return
    if not args.capi_dir:
        args.capi_dir = f"{args.state_file}.capi" if args.state_file \
            else tempfile.mkdtemp(prefix="os4x-sim-capi-")
    os.makedirs(args.capi_dir, mode=0o755, exist_ok=True)
    states = controller_states(args)
    _write(os.path.join(args.capi_dir, CONTROLLER_FILE), controller_file(states), 0o644)
    _write(os.path.join(args.capi_dir, CAPIINFO), capiinfo_script(states, args.capiinfo_output),
           0o755)
    print(f"os4x-simulator: CAPI files in {args.capi_dir}", file=sys.stderr, flush=True)


def after_start(args: argparse.Namespace, scenario: Scenario,
                processes: list[dict[str, int]]) -> None:
    """Nothing to record: the files' directory is derived from the state file."""


def on_stop(args: argparse.Namespace) -> None:
    """Removes the files written, and their directory when empty."""
    if not getattr(args, "capi_dir", None):
        return
    for name in (CONTROLLER_FILE, CAPIINFO):
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(args.capi_dir, name))
    with contextlib.suppress(OSError):
        os.rmdir(args.capi_dir)
