"""``os4x-simulator``: an OS4X host made of real processes, for the tests and for a demonstration.

    os4x-simulator run   [scenario options]   foreground; Ctrl-C stops everything
    os4x-simulator start [scenario options]   background; prints the state file's path
    os4x-simulator stop  --state-file FILE
    os4x-simulator replace --state-file FILE --daemon NAME   a new binary on disk, daemon running

The state file (JSON) lists the launcher's pid and every simulated process (name, pid, ppid).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import NoReturn, Protocol, Sequence

from os4xmon.simulator import binaries, capi, certstore, database, listeners, proctitle, tree
from os4xmon.simulator.scenario import Scenario

TITLE_SPACE = 160  # bytes of argv the simulated daemons need for their titles


class Part(Protocol):
    """What an aspect adds to the simulator (listeners, database, capi), through four hooks.

    The launcher calls every part's hooks in the order of ``PARTS``.
    """

    __name__: str  # a part is a module: its name keys the state handed to exec'd daemons

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """While the parser is built: the part's own options."""

    def before_start(self, args: argparse.Namespace, scenario: Scenario) -> None:
        """In the launcher, before any process is forked (what the forks inherit)."""

    def after_start(self, args: argparse.Namespace, scenario: Scenario,
                    processes: list[dict[str, int]]) -> None:
        """Once every process has announced itself; ``processes`` as in the state file."""

    def on_stop(self, args: argparse.Namespace) -> None:
        """When the launcher stops, after its processes are gone: remove what it made."""


PARTS: tuple[Part, ...] = (listeners, database, certstore, capi)
"""What the aspects add to the simulator, each through the hooks of ``Part``."""


def _names(text: str) -> tuple:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _run_as(text: str) -> dict:
    pairs = {}
    for item in _names(text):
        daemon, _, user = item.partition("=")
        if not user:
            raise argparse.ArgumentTypeError(f"{item!r}: expected DAEMON=USER")
        pairs[daemon] = user
    return pairs


def _scenario_options() -> argparse.ArgumentParser:
    """The options of run and start: what the simulated host looks like, and its faults."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--state-file", help="where to write the state; default: a new file "
                        "under the temporary directory")
    parser.add_argument("--bin-dir", default="/opt/os4x/bin",
                        help="binary directory: the daemons are exec'd from copies of this "
                        "Python interpreter put there (default /opt/os4x/bin; a directory that "
                        "holds other files than the simulator's is refused)")
    parser.add_argument("--config", metavar="FILE",
                        help="-C FILE on the daemons' command lines: another installation")
    parser.add_argument("--fetch-queue", action="store_true", help="start os4xfqd")
    parser.add_argument("--stopped", type=_names, default=(), metavar="LIST",
                        help="fault: daemons stopped with SIGSTOP once started")
    parser.add_argument("--no-tls", action="store_true", help="no os4xrd_tcpip_tls")
    parser.add_argument("--isdn-controllers", type=int, default=0, metavar="N",
                        help="start os4xrd_capi_0 .. os4xrd_capi_<N-1>")
    parser.add_argument("--enterprise", action="store_true", help="start os4xclientd")
    parser.add_argument("--debugd", action="store_true", help="start os4xdebugd")
    parser.add_argument("--actions", type=int, default=2, metavar="N",
                        help="os4xsqd actions to run (default 2)")
    parser.add_argument("--no-decoys", action="store_true",
                        help="no grep/tail/vim processes that mention daemon names")
    parser.add_argument("--missing", type=_names, default=(), metavar="LIST",
                        help="fault: daemons not started")
    parser.add_argument("--duplicate", type=_names, default=(), metavar="LIST",
                        help="fault: daemons started twice")
    parser.add_argument("--orphan", type=_names, default=(), metavar="LIST",
                        help="fault: receivers whose master is gone")
    parser.add_argument("--zombie", action="store_true",
                        help="fault: an os4xsqd action that exited and was never reaped")
    parser.add_argument("--run-as", type=_run_as, default={}, metavar="DAEMON=USER,...",
                        help="run these daemons as another user (needs root); the plugin "
                        "warns only when told the right one: check_os4x --user root")
    parser.add_argument("--title-space", default="", help=argparse.SUPPRESS)
    for part in PARTS:
        part.add_options(parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="os4x-simulator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="{run,start,stop,replace}")
    scenario = _scenario_options()
    commands.add_parser("run", parents=[scenario], help="foreground; Ctrl-C stops everything",
                        description="Starts a simulated OS4X host in the foreground; Ctrl-C "
                        "stops every process.")
    commands.add_parser("start", parents=[scenario], help="background; prints the state file",
                        description="Starts a simulated OS4X host in the background and prints "
                        "its state file, for stop --state-file.")
    stop_parser = commands.add_parser("stop", help="stops what start started",
                                      description="Stops a simulated host started with start, "
                                      "and removes its state file and log.")
    stop_parser.add_argument("--state-file", required=True, help="the file start printed")
    replace_parser = commands.add_parser(
        "replace", help="replaces a running daemon's binary on disk",
        description="An update that forgot the restart: a new binary where the daemon's was, "
        "while it keeps running the old one.")
    replace_parser.add_argument("--state-file", required=True, help="the file start printed")
    replace_parser.add_argument("--daemon", required=True,
                                help="the daemon whose binary is replaced")
    return parser


def scenario_from(args: argparse.Namespace) -> Scenario:
    return Scenario(
        bin_dir=args.bin_dir.rstrip("/"), no_tls=args.no_tls,
        isdn_controllers=args.isdn_controllers, enterprise=args.enterprise,
        debugd=args.debugd, actions=args.actions, decoys=not args.no_decoys,
        missing=args.missing, duplicate=args.duplicate, orphan=args.orphan,
        zombie=args.zombie, run_as=args.run_as, config=args.config,
        fetch_queue=args.fetch_queue, stopped=args.stopped)


def scenario_of(argv: list) -> Scenario:
    """The scenario of the launcher's arguments: how an exec'd daemon learns what to be."""
    return scenario_from(build_parser().parse_args(argv))


def _restoring_scenario_of(argv: list) -> Scenario:
    """scenario_of, after giving every part back the state the launcher handed down."""
    for part in PARTS:
        if hasattr(part, "restore"):
            part.restore(tree.EXEC["states"].get(part.__name__, {}))
    return scenario_of(argv)


def _usable_bin_dir(bin_dir: str, given: bool) -> str:
    """bin_dir with the daemons' binaries installed; without root, the default falls back to a
    directory of this user's (the state file names it: tests pass it to the plugin)."""
    try:
        binaries.install(bin_dir)
    except PermissionError:
        if given:
            raise SystemExit(f"os4x-simulator: cannot write {bin_dir}: run as root or give "
                             "another --bin-dir") from None
        bin_dir = os.path.join(tempfile.gettempdir(), f"os4x-simulator-{os.getuid()}", "bin")
        binaries.install(bin_dir)
    return bin_dir


def _write_state(path: str, state: dict) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as stream:
        json.dump(state, stream, indent=1)
    os.replace(temporary, path)


def run(args: argparse.Namespace, argv: Sequence[str]) -> NoReturn:
    """The launcher: forks the scenario's processes, then waits to be stopped."""
    if proctitle.area_size() < TITLE_SPACE and not args.title_space:
        # the daemons' titles live in argv memory inherited from here: make room for them
        os.execv(sys.executable, [sys.executable, "-m", "os4xmon.simulator", *argv,
                                  "--title-space", "x" * TITLE_SPACE])
    state_file = args.state_file or tempfile.mkstemp(prefix="os4x-sim-", suffix=".json")[1]
    with contextlib.suppress(OSError):  # already a session leader: the group is ours anyway
        os.setpgid(0, 0)
    tree.become_subreaper()
    read_fd, tree.Announcer.fd = os.pipe()

    def stop(signum: int, frame: object, code: int = 0) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.killpg(0, signal.SIGTERM)
        time.sleep(0.05)
        try:
            while os.waitpid(-1, 0)[0] > 0:
                pass
        except ChildProcessError:
            pass
        for part in PARTS:
            try:
                part.on_stop(args)
            except Exception as error:  # the rest must still be cleaned up
                sys.stderr.write(f"os4x-simulator: while stopping: {error}\n")
        with contextlib.suppress(OSError):
            os.unlink(state_file)
        sys.stderr.flush()
        os._exit(code)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scenario = scenario_from(args)
    scenario.bin_dir = _usable_bin_dir(scenario.bin_dir, "--bin-dir" in argv)
    try:
        for part in PARTS:
            part.before_start(args, scenario)
    except Exception as error:  # a database, a port: the reason goes to the terminal (start)
        raise SystemExit(f"os4x-simulator: {error}") from None
    tree.EXEC.update({"argv": list(argv), "bin_dir": scenario.bin_dir,
                      "states": {part.__name__: part.child_state() for part in PARTS
                                 if hasattr(part, "child_state")}})
    try:
        expected = tree.start_all(scenario)
        processes = tree.wait_for(read_fd, expected, timeout=20)
        for part in PARTS:
            part.after_start(args, scenario, processes)
    except Exception as error:  # stop what was started, and say why on stderr (start shows it)
        sys.stderr.write(f"os4x-simulator: {error}\n")
        stop(signal.SIGTERM, None, code=1)
    for entry in processes:
        if entry["name"] in scenario.stopped:
            os.kill(entry["pid"], signal.SIGSTOP)
    _write_state(state_file, {"launcher": os.getpid(), "processes": processes,
                              "bin_dir": scenario.bin_dir, "config": scenario.config})
    print(state_file, flush=True)
    while True:
        signal.pause()
        tree._reap()


def start(argv: Sequence[str], state_file: str | None) -> int:
    """Starts ``run`` in the background and returns once the state file is there."""
    if not state_file:
        state_file = tempfile.mkstemp(prefix="os4x-sim-", suffix=".json")[1]
        argv = [*argv, "--state-file", state_file]
    os.unlink(state_file) if os.path.exists(state_file) else None
    run_argv = ["run", *argv[1:]]  # argv[0] is "start": the parser puts the command first
    log_file = f"{state_file}.log"
    with open(log_file, "wb") as log:  # the launcher must not hold our stdout
        process = subprocess.Popen([sys.executable, "-m", "os4xmon.simulator", *run_argv],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=log, start_new_session=True)
    deadline = time.monotonic() + 30
    while not os.path.exists(state_file):
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
            print(f"os4x-simulator: the simulator did not start: {_reason(log_file)}",
                  file=sys.stderr)
            return 1
        time.sleep(0.05)
    print(state_file)
    return 0


def _reason(log_file: str) -> str:
    """Why the launcher failed, from its stderr: the last lines, for the terminal."""
    try:
        with open(log_file, encoding="utf-8", errors="replace") as stream:
            lines = [line.rstrip().replace("os4x-simulator: ", "", 1) for line in stream
                     if line.strip()]
    except OSError:
        lines = []
    if not lines:
        return f"no message (timed out or killed; see {log_file})"
    return "\n".join(lines[-5:])


def stop(state_file: str) -> int:
    try:
        with open(state_file, encoding="utf-8") as stream:
            launcher = json.load(stream)["launcher"]
        os.kill(launcher, signal.SIGTERM)
    except (OSError, ValueError, KeyError) as error:
        print(f"os4x-simulator: cannot stop: {error}", file=sys.stderr)
        return 1
    deadline = time.monotonic() + 10
    while os.path.exists(state_file) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        os.unlink(f"{state_file}.log")
    return 0


def replace(state_file: str | None, daemon: str | None) -> int:
    """An update that forgot the restart: a new binary where the daemon's was."""
    if not state_file or not daemon:
        print("os4x-simulator: replace needs --state-file and --daemon", file=sys.stderr)
        return 2
    with open(state_file, encoding="utf-8") as stream:
        bin_dir = json.load(stream)["bin_dir"]
    print(binaries.replace(bin_dir, daemon))
    return 0


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["daemon"] and len(argv) == 2:  # an exec'd daemon (tree.exec_daemon)
        tree.run_child(argv[1], _restoring_scenario_of)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("choose a command: run, start, stop or replace")
    if args.command == "run":
        run(args, argv)
    if args.command == "replace":
        sys.exit(replace(args.state_file, args.daemon))
    sys.exit(start(argv, args.state_file) if args.command == "start" else stop(args.state_file))


if __name__ == "__main__":
    main()
