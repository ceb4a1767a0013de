"""The send queue folded as its rows arrive: per partner and state, the count, the oldest age
and the most send tries; pure.

A backlog of a million entries costs the memory of its partners, not of its entries: each row
is read (:mod:`.contract`), added to its partner's figures and let go. Per-entry rows and
summary rows fold into the same figures, so the verdicts (:mod:`.verdicts`) cannot tell the
two forms apart. A row that breaks the contract is counted, the first few are kept with the
reason, and the rows after it are still folded: a stuck partner never hides behind a bad row.
"""

from __future__ import annotations

from os4xmon.checks.sendqueue.contract import STATES, RowError, partner_of, reader

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Sequence, Tuple

    Worst = Tuple[float, str]  # (a number, the partner it belongs to)

MAX_PARTNERS = 10000
"""Partners whose own figures are kept; OS4X installations have dozens or hundreds. Entries of
partners beyond it still count in the totals and the worst ages and tries (which name their
partner); only the per-partner lines and the "most entries" partner leave them out."""

MAX_PROBLEMS_KEPT = 3
"""Reasons of unusable rows kept for the status line; the rest are counted."""


class Figures:
    """One partner's entries in one state (or one state's, over all partners)."""

    __slots__ = ("count", "oldest", "tries")

    def __init__(self) -> None:
        self.count = 0
        self.oldest: float | None = None
        self.tries = 0

    def add(self, count: int, age: float | None, tries: int) -> None:
        self.count += count
        if age is not None and (self.oldest is None or age > self.oldest):
            self.oldest = age
        self.tries = max(self.tries, tries)

    def as_tuple(self) -> tuple[int, float | None, int]:
        return self.count, self.oldest, self.tries

    def __repr__(self) -> str:
        return f"Figures({self.count}, {self.oldest}, {self.tries})"


class Fold:
    """The figures of every row folded so far; :meth:`add` one row at a time."""

    def __init__(self, width: int) -> None:
        self._read = reader(width)  # DatabaseError for a wrong number of columns
        self.width = width
        self.rows = 0
        self.partners: dict[str, dict[str, Figures]] = {}
        self.totals = {state: Figures() for state in STATES}
        self.oldest: dict[str, Worst | None] = {state: None for state in STATES}
        self.most_tries: dict[str, Worst | None] = {state: None for state in STATES}
        self.cap = MAX_PARTNERS
        self.beyond = 0  # entries of partners past the cap
        self.problems: list[str] = []  # the first few unusable rows, why
        self.problem_count = 0
        self._names: dict[Any, str] = {}  # partner as the driver gave it -> printable

    def add(self, row: Sequence[Any]) -> None:
        self.rows += 1
        try:
            state, count, age, tries = self._read(row)
            partner = self._partner(row[0])
        except RowError as error:
            self._problem(row, error)
            return
        except (IndexError, TypeError):  # a driver's row shorter than its description
            self._problem(row, RowError(f"{len(row)} values, not {self.width}"))
            return
        if not count:
            return
        self.totals[state].add(count, age, tries)
        if age is not None:
            worst = self.oldest[state]
            if worst is None or (age, partner) > worst:
                self.oldest[state] = (age, partner)
        worst = self.most_tries[state]
        if worst is None or (tries, partner) > worst:
            self.most_tries[state] = (tries, partner)
        mine = self.partners.get(partner)
        if mine is None:
            if len(self.partners) >= self.cap:
                self.beyond += count
                return
            mine = self.partners[partner] = {}
        figures = mine.get(state)
        if figures is None:
            figures = mine[state] = Figures()
        figures.add(count, age, tries)

    def _partner(self, value: Any) -> str:
        """The partner's printable name, made once per name (a backlog repeats few names)."""
        try:
            return self._names[value]
        except KeyError:
            name = self._names[value] = partner_of(value)
            if len(self._names) > 2 * self.cap:  # hostile names: the cache stays bounded
                self._names.clear()
            return name
        except TypeError:  # not hashable (a memoryview)
            return partner_of(value)

    def add_all(self, rows: Any) -> Fold:
        for row in rows:
            self.add(row)
        return self

    def _problem(self, row: Sequence[Any], error: RowError) -> None:
        self.problem_count += 1
        if len(self.problems) >= MAX_PROBLEMS_KEPT:
            return
        try:
            shown = partner_of(row[0])
        except (RowError, IndexError, TypeError):
            shown = "?"
        self.problems.append(f"row {self.rows} (partner {shown}): {error}")

    def count(self, state: str) -> int:
        return self.totals[state].count
