"""Whole numbers and ports from text that may be hostile: options, config files, database rows.

Python's ``int()`` also accepts full-width digits (U+FF13 for 3) and ``3_305``; a port read from a
database row or a config file must be plain ASCII digits, so one strict parser serves them all.
"""

from __future__ import annotations

import math
import re

from os4xmon.core.text import database_text, printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Callable

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


# -- option values: text -> value, raising ValueError with a message that says what is expected --


def seconds(text: str) -> float:
    """Seconds in ASCII digits: full-width digits, ``1_0`` and ``inf`` are refused."""
    try:
        return decimal_number(text)
    except ValueError as error:
        if "negative" in str(error):
            raise
        try:
            value = float(text.strip())
        except ValueError:
            value = 0.0
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"{text!r} is not a finite number") from None
        raise ValueError(f"{text!r} is not a number of seconds (ASCII digits)") from None


MAX_TIMEOUT = 86400.0
"""A day: more than any scheduler waits for a check, far below what the interval timer takes."""


def timeout_seconds(text: str) -> float:
    value = positive_seconds(text)
    if value > MAX_TIMEOUT:
        raise ValueError(f"{text!r} is more than a day ({MAX_TIMEOUT:g} seconds)")
    return value


MAX_CONTROLLERS = 32
"""The kernel's CAPI allows 32 controllers (CAPI_MAXCONTR)."""


def controller_count(text: str) -> int:
    value = whole_number(text)
    if value > MAX_CONTROLLERS:
        raise ValueError(f"{text!r} is more than CAPI can have ({MAX_CONTROLLERS} controllers)")
    return value


def positive_seconds(text: str) -> float:
    value = seconds(text)
    if value == 0:
        raise ValueError("must be more than 0 seconds")
    return value




def identifier(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", text):
        raise ValueError(f"{text!r} is not a plain identifier (letters, digits, underscore)")
    return text


def user_name(text: str) -> str:
    if not text or any(char.isspace() or char in ":/" for char in text):
        raise ValueError(f"{text!r} is not a user name")
    return text


def text_value(text: str) -> str:
    if "\0" in text:
        raise ValueError("contains a NUL character")
    return text




def odette_id(text: str) -> str:
    """An ODETTE ID as SSIDCODE carries it: 1 to 25 printable ASCII characters, no spaces."""
    if not 0 < len(text) <= 25 or not text.isascii() or not text.isprintable() or " " in text:
        raise ValueError(f"{printable(text, 40)!r} is not an ODETTE ID (1 to 25 printable ASCII "
                         "characters, no spaces)")
    return text


def odette_password(text: str) -> str:
    """SSIDPSWD: 1 to 8 printable ASCII characters, no spaces; the error never shows the text."""
    if not 0 < len(text) <= 8 or not text.isascii() or not text.isprintable() or " " in text:
        raise ValueError("the ODETTE password must be 1 to 8 printable ASCII characters without "
                         "spaces (its value is not shown)")
    return text


def choice(*allowed: str, aliases: dict[str, str] | None = None) -> Callable[[str], str]:
    def convert(text: str) -> str:
        value = text.strip().lower()
        value = (aliases or {}).get(value, value)
        if value not in allowed:
            raise ValueError(f"{text!r} is not one of " + ", ".join(allowed))
        return value

    convert.allowed = allowed  # type: ignore[attr-defined]  # for the Director's data lists
    return convert


BOOLEAN_WORDS = {
    "1": True, "yes": True, "true": True, "on": True,
    "0": False, "no": False, "false": False, "off": False,
}


def boolean(text: str) -> bool:
    try:
        return BOOLEAN_WORDS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not yes or no") from None


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


MAX_ROW_DIGITS = 30


def _plain_decimal(text: str) -> bool:
    """``[+-]digits[.digits]`` in ASCII, at most 30 digits before the point and 12 after."""
    whole, point, fraction = text.lstrip("+-").partition(".")
    if len(text) - len(text.lstrip("+-")) > 1:
        return False
    return (0 < len(whole) <= MAX_ROW_DIGITS and _ascii_digits(whole)
            and (not point or (0 < len(fraction) <= 12 and _ascii_digits(fraction))))


def row_number(value: object, what: str) -> float:
    """A finite number that is not negative, from what a database driver returns for a column:
    int, float, Decimal, an interval (``total_seconds``), or text/bytes of ASCII digits.

    The value is hostile (the admin's query, or the database, may return anything): booleans,
    NaN, infinity, exponents, non-ASCII digits and negative numbers are refused with a
    ValueError whose message names ``what``."""
    import decimal  # only the aspects that read rows pay for it; every run parses options

    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a number")
    number: float
    if hasattr(value, "total_seconds"):  # an interval (PostgreSQL: now() - finished_at)
        number = float(value.total_seconds())
    elif isinstance(value, int):
        if value > 10**MAX_ROW_DIGITS:
            raise ValueError(f"{what} {printable(str(value), 30)} is too large")
        number = value
    elif isinstance(value, (float, decimal.Decimal)):
        if isinstance(value, decimal.Decimal) and not value.is_finite():
            raise ValueError(f"{what} {printable(str(value), 20)} is not a finite number")
        number = float(value)
    else:
        text = database_text(value).strip()
        if not _plain_decimal(text):
            raise ValueError(f"{what} '{printable(text, 30)}' is not a number")
        number = float(text) if "." in text else int(text)
    if not math.isfinite(number):
        raise ValueError(f"{what} {printable(str(value), 20)} is not a finite number")
    if number < 0:
        raise ValueError(f"{what} {printable(str(value), 30)} is negative")
    return number


# -- the partner check's values --

PARTNER_DIRECTIONS = {"in": "in", "receive": "in", "out": "out", "send": "out"}


def partner(text: str) -> str:
    """A partner's name as OS4X's logs show it (compared with the query's first column)."""
    name = text.strip()
    if not name or not name.isprintable():
        raise ValueError(f"{printable(text, 40)!r} is not a partner name (printable, not empty)")
    return name


def partner_silence(text: str) -> tuple[str, str, float | None, float | None]:
    """``PARTNER[/in|/out]=WARNING[,CRITICAL]`` -> (partner, "in", "out" or "", warning,
    critical); either duration may be left empty (``P=,2d``: no warning)."""
    target, equals, limits = text.rpartition("=")
    if not equals or not target.strip():
        raise ValueError(f"{printable(text, 60)!r} is not PARTNER[/in|/out]=WARNING[,CRITICAL]")
    name, slash, direction = target.rpartition("/")
    if slash and direction.strip().lower() in PARTNER_DIRECTIONS and name.strip():
        way = PARTNER_DIRECTIONS[direction.strip().lower()]
    else:
        name, way = target, ""
    warning_text, _, critical_text = limits.partition(",")
    warning = duration_value(warning_text) if warning_text.strip() else None
    critical = duration_value(critical_text) if critical_text.strip() else None
    if warning is None and critical is None:
        raise ValueError(f"{printable(text, 60)!r} gives no duration: "
                         "PARTNER[/in|/out]=WARNING[,CRITICAL]")
    if warning is not None and critical is not None and warning > critical:
        raise ValueError(f"{printable(text, 60)!r}: the warning is above the critical duration")
    return partner(name), way, warning, critical
