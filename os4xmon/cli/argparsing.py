"""The plugin's argparse parser: ``--help``, ``--version`` and every unusual command line.

Built from the option table in options.py: the one reader of the command line. (A second,
hand-written reader of the usual command line once saved the import of argparse; measured, it
bought about 3 ms of a 40 ms run, not enough to keep two readers and a test holding them
together: see docs/performance.md.)
"""

from __future__ import annotations

import argparse
import re

from os4xmon import __version__
from os4xmon.cli.options import GROUP_TITLES, OPTIONS, Option, UsageError
from os4xmon.core.text import printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, NoReturn, Sequence


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake raises UsageError instead of exiting with status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(printable(without_values(message), 200))


def without_values(message: str) -> str:
    """argparse's message with every ``--option=value`` cut to ``--option``: a mistyped
    ``--db-pasword=SECRET`` must not put the password into the monitoring system."""
    return re.sub(r"(-[A-Za-z0-9_-]*)=\S*", r"\1", message)


def unrecognized(extras: Sequence[str]) -> UsageError:
    """The unknown words, naming only the options: the other words may be values (secrets)."""
    names = [word.split("=", 1)[0] for word in extras if word.startswith("-")]
    others = len(extras) - len(names)
    text = "unrecognized arguments: " + ", ".join(names) if names \
        else "unexpected argument"
    if others:
        text += f" ({others} other {'word' if others == 1 else 'words'} not shown)" if names \
            else f"{'s' if others > 1 else ''} (not shown: they may be values)"
    return UsageError(printable(text, 200))


def _converter(option: Option) -> Callable[[str], Any]:
    assert option.convert is not None
    convert = option.convert

    def checked(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return checked


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="check_os4x",
        description="Checks that an OS4X OFTP/OFTP2 server can receive and send files: its "
        "daemons, ports (with --odette-id a real OFTP session), the PIDs it saved in its "
        "database, its send queue, the transfer logs of its partners and its ISDN "
        "controllers.",
        epilog="Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. Every option with an "
        "example: man check_os4x, and docs/options.md.",
        argument_default=argparse.SUPPRESS,
        add_help=False,  # -h goes into "general": no lone "options:" group
    )
    groups = {name: parser.add_argument_group(title) for name, title in GROUP_TITLES.items()}
    general = groups["general"]
    general.add_argument("-h", "--help", action="help",
                         help="show this help and exit (every option with an example: "
                         "man check_os4x, docs/options.md)")
    general.add_argument("-V", "--version", action="version",
                         version=f"check_os4x {__version__}")
    general.add_argument("-v", "--verbose", action="count",
                         help="-v: long output; -vv: the configuration used; -vvv: tracebacks")
    for option in OPTIONS:
        group = groups[option.group]
        if not option.on_command_line:
            group.add_argument(*option.flags, dest="forbidden_" + option.dest,
                               metavar=option.metavar, help=argparse.SUPPRESS)
        elif option.convert is None:
            group.add_argument(*option.flags, dest=option.dest, action="store_true",
                               help=option.help)
        else:
            group.add_argument(*option.flags, dest=option.dest, type=_converter(option),
                               metavar=option.metavar, help=option.help,
                               action="append" if option.repeat else "store")
    return parser


def read_with_argparse(argv: Sequence[str]) -> dict[str, Any]:
    """The options given, by dest, as argparse reads them; a mistake raises UsageError."""
    parsed, extras = build_parser().parse_known_args(list(argv))
    if extras:
        raise unrecognized(extras)
    return {dest: tuple(value) if isinstance(value, list) else value
            for dest, value in vars(parsed).items()}
