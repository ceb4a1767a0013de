#!/usr/bin/env python3
"""Writes check_os4x(1), the man page of the packages, from the plugin's own argparse parser.

Generated rather than written so that it can never disagree with ``check_os4x --help``:
run ``python3 packaging/manpage.py > check_os4x.1`` from the repository's root.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from os4xmon import __version__  # noqa: E402 - the repository's copy, not an installed one
from os4xmon.cli.argparsing import build_parser  # noqa: E402


def roff(text: str) -> str:
    """Plain text as roff: backslashes and hyphens escaped, no line starting a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = [("\\&" + line) if line.startswith((".", "'")) else line for line in text.split("\n")]
    return "\n".join(lines)


def option_heading(action: argparse.Action) -> str:
    metavar = action.metavar or (action.dest.upper() if action.nargs != 0 else None)
    flags = ", ".join(f"\\fB{roff(flag)}\\fR" for flag in action.option_strings)
    if action.nargs == 0 or metavar is None:
        return flags
    return f"{flags} \\fI{roff(str(metavar))}\\fR"


def page(parser: argparse.ArgumentParser, date: str) -> str:
    out = [
        f'.TH CHECK_OS4X 1 "{date}" "check_os4x {__version__}" "Monitoring plugins"',
        ".SH NAME",
        "check_os4x \\- Nagios/Icinga plugin for the OS4X OFTP/OFTP2 server",
        ".SH SYNOPSIS",
        "\\fBcheck_os4x\\fR [\\fIoptions\\fR]",
        ".SH DESCRIPTION",
        roff(parser.description or ""),
        ".PP",
        "It prints one status line with performance data (more with \\fB\\-v\\fR) and exits "
        "with the plugin's state. Every option may also be given as a key of the "
        "\\fB[check_os4x]\\fR section of the file named by \\fB\\-\\-config\\fR.",
        ".SH OPTIONS",
    ]
    for group in parser._action_groups:
        actions = [action for action in group._group_actions
                   if action.help != argparse.SUPPRESS and action.option_strings]
        if not actions:
            continue
        out.append(f".SS {roff(str(group.title).capitalize())}")
        for action in actions:
            out.extend([".TP", option_heading(action), roff(str(action.help or ""))])
    out += [
        ".SH EXIT STATUS",
        "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        ".SH FILES",
        ".TP",
        "/usr/share/doc/check\\-os4x/examples/",
        "NRPE, Nagios, Icinga 2 and sudoers examples; none is enabled by the package.",
        ".SH SEE ALSO",
        "The documentation in /usr/share/doc/check\\-os4x/.",
    ]
    return "\n".join(out) + "\n"


def main() -> None:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    sys.stdout.write(page(build_parser(), when.strftime("%Y-%m-%d")))


if __name__ == "__main__":
    main()
