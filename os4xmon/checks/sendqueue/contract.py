"""What a ``--queue-query`` row means, value by value: pure, every value hostile until checked.

Two forms, told apart by the number of columns the query returns:

- **per entry**, 4 columns: (partner, state, age in seconds, send tries), one row per entry;
- **summary**, 5 columns: (partner, state, count, oldest age in seconds, most send tries), one
  row per partner and state (``GROUP BY``), so that the database does the work on a large queue.

Either way a row is a group (partner, state, count, oldest age, most tries): an entry is a
group of one (:func:`entry_row`, :func:`summary_row`; :func:`reader` for all but the partner).
The fold (:mod:`.fold`) never sees the difference, which is why both forms give the same
verdicts.
"""

from __future__ import annotations

import decimal
import math
import re

from os4xmon.core.text import database_text, plural, printable
from os4xmon.db.drivers import BAD_RESULT, DatabaseError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, Optional, Sequence, Tuple

    Group = Tuple[str, str, int, Optional[float], int]
    """(partner, state, count, oldest age or None, most send tries)"""
    Figures = Tuple[str, int, Optional[float], int]  # a Group without its partner


NEW, TAKEN, WAITING, BLOCKED, SENT = "new", "taken", "waiting", "blocked", "sent"
STATES = (NEW, TAKEN, WAITING, BLOCKED, SENT)
PENDING = (NEW, TAKEN, WAITING)
LEAVING = (NEW, TAKEN)  # entries os4xsqd still has to send
LABELS = {
    NEW: "new in queue",
    TAKEN: "taken by send queue",
    WAITING: "waiting for remote acknowledge",
    BLOCKED: "blocked",
    SENT: "successfully sent",
}
"""The web interface's labels: accepted as states too."""
_STATE_WORDS = {**{state: state for state in STATES},
                **{label: state for state, label in LABELS.items()}}

ENTRY_COLUMNS = 4
SUMMARY_COLUMNS = 5
ENTRY_FORM = "partner, state, age in seconds, send tries"
SUMMARY_FORM = "partner, state, count, oldest age in seconds, most send tries"
MAX_NUMBER_DIGITS = 30
_NUMBER = re.compile(r"[+-]?[0-9]{1,30}(\.[0-9]{1,12})?")


class RowError(ValueError):
    """A value of one row that breaks the contract; its message says which and why."""


def state_of(value: Any) -> str:
    """new, taken, waiting, blocked or sent, from the name or the web label, any case."""
    if value is None:
        raise RowError("state is NULL")
    if isinstance(value, str) and value in _STATE_WORDS:  # the usual case, fast
        return _STATE_WORDS[value]
    text = " ".join(database_text(value).split()).lower()
    if text in _STATE_WORDS:
        return _STATE_WORDS[text]
    raise RowError(f"state '{printable(database_text(value), 40)}' is not one of new, taken, "
                   "waiting, blocked, sent")


def _number(value: Any, what: str) -> float:
    """A finite number that is not negative, from what a driver returns for the column."""
    if type(value) is int and 0 <= value <= 10**MAX_NUMBER_DIGITS:  # the usual case, fast
        return value
    if isinstance(value, bool):
        raise RowError(f"{what} {value!r} is not a number")
    if hasattr(value, "total_seconds"):  # an interval (PostgreSQL: now() - queued_at)
        number = float(value.total_seconds())
    elif isinstance(value, (int, float, decimal.Decimal)):
        if isinstance(value, decimal.Decimal) and not value.is_finite():
            raise RowError(f"{what} {printable(str(value), 20)} is not a finite number")
        number = float(value) if not isinstance(value, int) else value
    else:
        text = database_text(value).strip()
        if not _NUMBER.fullmatch(text):
            raise RowError(f"{what} '{printable(text, 30)}' is not a number")
        number = float(text) if "." in text else int(text)
    if isinstance(number, int) and number > 10**MAX_NUMBER_DIGITS:
        raise RowError(f"{what} {printable(str(value), 30)} is too large")
    if isinstance(number, float) and not math.isfinite(number):
        raise RowError(f"{what} {printable(str(value), 20)} is not a finite number")
    if number < 0:
        raise RowError(f"{what} {printable(str(value), 30)} is negative")
    return number


def age_of(value: Any, state: str, what: str = "age") -> float | None:
    """Seconds since the entry was queued; NULL only for entries whose age is not judged."""
    if value is None:
        if state in PENDING:
            raise RowError(f"{what} is NULL")
        return None
    return float(_number(value, what))


def whole_of(value: Any, what: str) -> int:
    """A whole number that is not negative (send tries, a count); NULL counts as 0."""
    if value is None:
        return 0
    number = _number(value, what)
    if number != int(number):
        raise RowError(f"{what} {printable(str(value), 30)} is not a whole number")
    return int(number)


def tries_of(value: Any) -> int:
    """Send tries, a whole number; NULL counts as never tried."""
    return whole_of(value, "send tries")


def partner_of(value: Any) -> str:
    if value is None:
        raise RowError("partner is NULL")
    text = printable(database_text(value).strip(), 40)
    return text or "(empty name)"


def entry_figures(row: Sequence[Any]) -> Figures:
    """(partner, state, age, tries) without the partner: a group of one entry."""
    state = state_of(row[1])
    return state, 1, age_of(row[2], state), tries_of(row[3])


def summary_figures(row: Sequence[Any]) -> Figures:
    """(partner, state, count, oldest age, most tries) without the partner: a group as the
    database folded it. A count of 0 is a group of nothing (its age may then be NULL)."""
    state = state_of(row[1])
    if row[2] is None:
        raise RowError("count is NULL")
    count = whole_of(row[2], "count")
    age = age_of(row[3], state if count else SENT, "oldest age")
    return state, count, age, whole_of(row[4], "most send tries")


def entry_row(row: Sequence[Any]) -> Group:
    """(partner, state, age, tries): a group of one entry."""
    return (partner_of(row[0]), *entry_figures(row))


def summary_row(row: Sequence[Any]) -> Group:
    """(partner, state, count, oldest age, most tries), checked."""
    return (partner_of(row[0]), *summary_figures(row))


def reader(width: int) -> Callable[[Sequence[Any]], Figures]:
    """The reader of rows of this many columns (all but the partner, which the fold reads
    once per name), or a DatabaseError that says what to fix."""
    if width == ENTRY_COLUMNS:
        return entry_figures
    if width == SUMMARY_COLUMNS:
        return summary_figures
    raise DatabaseError(BAD_RESULT, f"--queue-query returns {plural(width, 'column')}, "
                        f"expected 4 ({ENTRY_FORM}) or 5 ({SUMMARY_FORM})")
