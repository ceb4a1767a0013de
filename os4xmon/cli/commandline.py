"""The usual command line, read straight from the option table.

A monitoring system starts the plugin every minute with the same few options, spelled out in
full. Importing argparse and building its parser for 60 options costs about 3 ms of a 30 ms
run, so this module reads that usual case: exact option names, ``--name value``,
``--name=value``, ``-t 5``, ``-v`` to ``-vvv``. Anything else (``--help``, ``--version``, an
abbreviation, an unknown or a positional word, ``--``, a value that starts with ``-`` or is
empty, a value its converter refuses) gives None, and argparse reads the whole command line
(argparsing.py) and answers or explains as it always has. tests/test_commandline.py checks
that the two agree on every command line this module accepts.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Sequence

    from os4xmon.cli.options import Option


def read_command_line(argv: Sequence[str], options: Sequence[Option]) -> dict[str, Any] | None:
    """The options given, by dest, as argparse would read them; None: leave it to argparse."""
    by_flag = {flag: option for option in options if option.on_command_line
               for flag in option.flags}
    values: dict[str, Any] = {}
    words = iter(argv)
    for word in words:
        count = verbosity(word)
        if count:
            values["verbose"] = values.get("verbose", 0) + count
            continue
        flag, equals, attached = word.partition("=")
        option = by_flag.get(flag if equals and flag.startswith("--") else word)
        if option is None:
            return None
        if option.convert is None:  # a switch: takes no value
            if equals:
                return None
            values[option.dest] = True
            continue
        text = attached if equals else next(words, "")
        if text == "" or text.startswith("-"):
            return None
        try:
            value = option.convert(text)
        except (ValueError, TypeError):
            return None  # argparse names the option and the reason
        values[option.dest] = (*values.get(option.dest, ()), value) if option.repeat \
            else value
    return values


def verbosity(word: str) -> int:
    """How many -v a word counts: ``--verbose`` one, ``-vvv`` three, anything else none."""
    if word == "--verbose":
        return 1
    if len(word) > 1 and word[0] == "-" and word[1:] == "v" * (len(word) - 1):
        return len(word) - 1
    return 0
