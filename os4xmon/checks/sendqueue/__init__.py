"""The send queue check: files leave for every partner, none is stuck, blocked or unacknowledged.

Daemons up and ports answering do not prove that OS4X delivers: a partner unreachable since
yesterday shows only in ``<prefix>send_queue``. OS4X changes that table's layout between
versions, so the admin's ``--queue-query`` maps it to a fixed contract, in one of two forms:
rows per entry (partner, state, age in seconds, send tries) or, for large queues, rows per
partner and state (partner, state, count, oldest age, most send tries), with state one of new,
taken, waiting, blocked, sent (or the web interface's labels).

The package, one job per module:

- :mod:`.contract`: what a row means, value by value (pure);
- :mod:`.fold`: the rows folded as they arrive into per-partner, per-state figures (pure;
  memory bounded by the partners, not the entries);
- :mod:`.verdicts`: the verdicts from the figures (pure);
- :mod:`.discover`: what ``--db-discover`` says about the queue, the summary query and its
  index (pure);
- here: the Resource, which streams the query's rows (read-only, bounded by -t, no row cap)
  into the fold with the database aspect's connection options.
"""

from __future__ import annotations

import nagiosplugin
from nagiosplugin.state import Unknown

from os4xmon.checks.base import Aspect, query_setup_problem
from os4xmon.checks.sendqueue.contract import BLOCKED, ENTRY_FORM, NEW, TAKEN, WAITING
from os4xmon.checks.sendqueue.discover import discover_lines
from os4xmon.checks.sendqueue.fold import Fold
from os4xmon.checks.sendqueue.verdicts import Limits, Verdict, judge, problem_finding
from os4xmon.core import execution
from os4xmon.core.findings import (
    STATES_BY_NAME,
    Finding,
    finding_metrics,
    headline,
    perfdata,
)
from os4xmon.core.settings import Settings
from os4xmon.core.text import duration, plural
from os4xmon.db.access import error_advice
from os4xmon.db.drivers import DatabaseError, scrub
from os4xmon.db.rowquery import StreamedQuery
from os4xmon.facts.host import Host

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, Iterator, Sequence

__all__ = ["Queue", "build", "discover_lines"]


def budget(settings: Settings) -> float:
    """Seconds the query may take: its share of what -t has left (execution.share), half of it
    when ports or ISDN still have to be checked after the queue."""
    later = any(aspect in settings.selected_checks
                for aspect in ("partners", "ports", "isdn", "certs"))
    share = execution.share(2 if later else 1)
    return max(share if share != float("inf") else settings.timeout, 0.05)


NOT_CONFIGURED = ("send queue check not configured: set --queue-query to SQL that returns "
                  f"rows of ({ENTRY_FORM}) from {{table}}")
NOT_CONFIGURED_ADVICE = ("check_os4x --db-type ... --db-discover lists the columns of "
                         "<prefix>send_queue and the summary query for large queues; "
                         "docs/queue.md has a worked query with CASE")


class Queue(Aspect):
    """The send queue's rows, streamed with the admin's query into a :class:`Fold`, judged by
    :func:`judge`."""

    name = "queue"

    def __init__(self, settings: Settings, host: Host) -> None:
        self.settings = settings
        self.host = host
        self.limits = Limits.from_settings(settings)
        self.details: list[str] = []
        self.seconds: float | None = None
        self.fold: Fold | None = None  # what was read, also when the read broke off

    def measure(self) -> Iterator[nagiosplugin.Metric]:
        settings = self.settings
        problem = query_setup_problem(
            settings, settings.queue_query, "--queue-query",
            NOT_CONFIGURED.format(table=f"{settings.db_prefix}send_queue"), NOT_CONFIGURED_ADVICE)
        if problem is None:
            try:
                self._read()
            except DatabaseError as error:
                problem = self._failure(error)
        fold = self.fold
        if fold is None or (problem is not None and not fold.rows):
            # nothing to judge: the failure alone (a read that ended always left a fold)
            yield from finding_metrics(self.name, [problem or Finding(
                Unknown, "send queue: no answer", NOT_CONFIGURED_ADVICE)])
            yield from self._perfdata(None)
            return
        verdict = judge(fold, self.limits)
        self.details.extend(verdict.lines)
        findings = list(verdict.findings)
        if fold.problem_count:
            findings.append(problem_finding(fold.problems, fold.problem_count))
        if problem is not None:  # cut short: what came is judged, the rest is said missing
            findings.append(Finding(problem.state, f"{problem.message}; after "
                                    f"{plural(fold.rows, 'row')}, judged above",
                                    problem.advice))
        yield from finding_metrics(self.name, [Finding(f.state, self._say(f.message),
                                                       self._say(f.advice)) for f in findings])
        yield from self._perfdata(None if problem is not None else verdict)
        oldest = f", oldest {duration(verdict.oldest_age)}" \
            if verdict.oldest_age is not None else ""
        yield headline(self.name, f"{plural(verdict.pending, 'entry', 'entries')} pending in "
                       f"the send queue{oldest}")

    def _say(self, text: str) -> str:
        return scrub(text, self.settings.db_password)

    def _failure(self, error: DatabaseError) -> Finding:
        state = STATES_BY_NAME[self.settings.db_error_state]
        return Finding(state, self._say(f"send queue: {error}"),
                       error_advice(error.kind, "--queue-query"))

    def _read(self) -> None:
        """Streams the rows into self.fold; a DatabaseError half-way leaves what was folded."""
        read = StreamedQuery(self.settings, self.settings.queue_query or "", "--queue-query",
                             "the send queue")
        try:
            read.run(budget(self.settings), self._begin)
        finally:
            self.seconds = read.seconds
            if self.fold is not None:
                form = "per entry" if self.fold.width == 4 else "summary"
                self.details.append(f"send queue read in {self.seconds or 0:.3f}s: "
                                    f"{plural(self.fold.rows, 'row')} ({form})")

    def _begin(self, width: int) -> Callable[[Sequence[Any]], None]:
        self.fold = Fold(width)
        return self.fold.add

    def _perfdata(self, verdict: Verdict | None) -> Iterator[nagiosplugin.Metric]:
        """The same six labels on every run; U where the query gave no (whole) answer, and
        for the oldest age when no entry is new or taken."""
        for state in (NEW, TAKEN, WAITING, BLOCKED):
            yield perfdata(f"queue_{state}", verdict.counts[state] if verdict else None)
        oldest = None if verdict is None or verdict.oldest_age is None \
            else round(verdict.oldest_age, 1)
        if oldest is not None and oldest == int(oldest):
            oldest = int(oldest)
        yield self.limits.age.perfdata("queue_oldest_age", oldest, "s")
        yield self.limits.tries.perfdata("queue_max_tries",
                                         verdict.max_tries if verdict else None)


def build(settings: Settings, host: Host) -> list[nagiosplugin.Resource]:
    """The resource of the queue check (its contexts are the shared ones)."""
    return [Queue(settings, host)]
