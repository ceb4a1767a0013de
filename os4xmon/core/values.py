"""Whole numbers and ports from text that may be hostile: options, config files, database rows.

Python's ``int()`` also accepts full-width digits (U+FF13 for 3) and ``3_305``; a port read from a
database row or a config file must be plain ASCII digits, so one strict parser serves them all.
"""

from __future__ import annotations

import math

DECIMAL_CHARACTERS = frozenset("0123456789.eE+-")


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def whole_number(text: str) -> int:
    """A non-negative whole number written in ASCII digits, surrounding blanks allowed."""
    stripped = text.strip(" \t\r\n")
    if stripped.startswith("-") and _ascii_digits(stripped[1:]):
        raise ValueError(f"{text!r} is negative")
    if not _ascii_digits(stripped):
        raise ValueError(f"{text!r} is not a whole number")
    return int(stripped, 10)


def port_number(text: str) -> int:
    """A TCP port, 1-65535."""
    value = whole_number(text)
    if not 1 <= value <= 65535:
        raise ValueError(f"{text!r} is not a TCP port (1-65535)")
    return value


def decimal_number(text: str) -> float:
    """A non-negative finite number in ASCII (``1.5``, ``.5``, ``1e-06``): float() alone also
    takes full-width digits, ``1_0``, ``inf`` and ``nan``, none of which an admin means."""
    stripped = text.strip(" \t\r\n")
    try:  # float() alone would take more than these characters
        if not stripped or not set(stripped) <= DECIMAL_CHARACTERS:
            raise ValueError
        value = float(stripped)
    except ValueError:
        raise ValueError(f"{text!r} is not a number written in ASCII digits") from None
    if value < 0 or stripped.startswith("-"):
        raise ValueError(f"{text!r} is negative")
    if math.isnan(value) or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text!r} is not a finite number")
    return value


DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration_value(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``15m``, ``36h`` or ``2d`` (ASCII, not negative): one
    spelling for every duration of the plugin, so ``36h`` means the same wherever it is given."""
    stripped = text.strip(" \t\r\n")
    unit = stripped[-1:].lower()
    factor = DURATION_UNITS.get(unit)
    number = stripped[:-1] if factor is not None else stripped
    try:
        if number != number.strip(" \t"):  # "1 h": one word or none
            raise ValueError
        value = decimal_number(number)
    except ValueError as error:
        if "negative" in str(error):
            raise ValueError(f"{text!r} is negative") from None
        raise ValueError(f"{text!r} is not a duration: seconds, or a number with s, m, h or d "
                         "(36h)") from None
    seconds = value * (factor or 1.0)
    if not math.isfinite(seconds):
        raise ValueError(f"{text!r} is not a finite duration")
    return seconds
