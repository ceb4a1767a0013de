"""The send queue check: files leave for every partner, none is stuck, blocked or unacknowledged.

Daemons up and ports answering do not prove that OS4X delivers: a partner unreachable since
yesterday shows only in ``<prefix>send_queue``. OS4X changes that table's layout between
versions, so the admin's ``--queue-query`` maps it to a fixed contract, rows of
(partner, state, age in seconds, send tries), with state one of new, taken, waiting, blocked,
sent (or the web interface's labels). :func:`parse_rows` validates the rows and :func:`judge`
decides the verdicts: both pure. The Resource only runs the query (read-only, bounded by -t)
with the database aspect's connection options.
"""

from __future__ import annotations

import decimal
import math
import re
import time

import nagiosplugin
from nagiosplugin.state import Critical, Ok, ServiceState, Unknown, Warn

from os4xmon.checks.base import Aspect
from os4xmon.core import execution
from os4xmon.core.findings import (
    STATES_BY_NAME,
    Finding,
    finding_metrics,
    headline,
    perfdata,
)
from os4xmon.core.record import dataclass, field
from os4xmon.core.settings import Settings
from os4xmon.core.text import database_text, duration, plural, printable
from os4xmon.core.thresholds import range_above
from os4xmon.db.access import connect_params, error_advice
from os4xmon.db.drivers import BAD_RESULT, MAX_ROWS, DatabaseError, Deadline, connect, scrub
from os4xmon.facts.host import Host

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Iterator, Mapping, Sequence


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

MAX_PROBLEMS_SHOWN = 3
MAX_PARTNER_LINES = 50
MAX_NUMBER_DIGITS = 30
_NUMBER = re.compile(r"[+-]?[0-9]{1,30}(\.[0-9]{1,12})?")


# -- the rows: validated, pure --


@dataclass(frozen=True)
class Entry:
    """One send queue entry as the contract describes it; partner already printable."""

    partner: str
    state: str  # one of STATES
    age: float | None  # seconds since queued; None only where it does not matter
    tries: int = 0


@dataclass
class Rows:
    """The query's rows: the entries that keep the contract, and why the others do not."""

    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # rows that break the contract, why


class RowError(ValueError):
    """A value of one row that breaks the contract; its message says which and why."""



def state_of(value: Any) -> str:
    """new, taken, waiting, blocked or sent, from the name or the web label, any case."""
    if value is None:
        raise RowError("state is NULL")
    text = " ".join(database_text(value).split()).lower()
    if text in _STATE_WORDS:
        return _STATE_WORDS[text]
    raise RowError(f"state '{printable(database_text(value), 40)}' is not one of new, taken, "
                   "waiting, blocked, sent")


def _number(value: Any, what: str) -> float:
    """A finite number that is not negative, from what a driver returns for the column."""
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


def age_of(value: Any, state: str) -> float | None:
    """Seconds since the entry was queued; NULL only for entries whose age is not judged."""
    if value is None:
        if state in PENDING:
            raise RowError("age is NULL")
        return None
    return float(_number(value, "age"))


def tries_of(value: Any) -> int:
    """Send tries, a whole number; NULL counts as never tried."""
    if value is None:
        return 0
    number = _number(value, "send tries")
    if number != int(number):
        raise RowError(f"send tries {printable(str(value), 30)} is not a whole number")
    return int(number)


def partner_of(value: Any) -> str:
    if value is None:
        raise RowError("partner is NULL")
    text = printable(database_text(value).strip(), 40)
    return text or "(empty name)"


def parse_rows(width: int, rows: Sequence[Sequence[Any]]) -> Rows:
    """The query's result against the contract: the entries that keep it and, for the others,
    what is wrong (a row never aborts the rest: a stuck partner must not hide behind it)."""
    if width != 4:
        raise DatabaseError(BAD_RESULT, f"--queue-query returns {plural(width, 'column')}, "
                            "expected 4 (partner, state, age in seconds, send tries)")
    if len(rows) > MAX_ROWS:
        raise DatabaseError(BAD_RESULT, f"--queue-query returns more than {MAX_ROWS} rows: "
                            "leave out the sent entries (WHERE ...) or old ones")
    result = Rows()
    for number, row in enumerate(rows, 1):
        shown = "?"
        try:
            shown = partner_of(row[0])
            state = state_of(row[1])
            result.entries.append(Entry(shown, state, age_of(row[2], state), tries_of(row[3])))
        except RowError as error:
            result.problems.append(f"row {number} (partner {shown}): {error}")
    return result


# -- the verdicts: pure --


@dataclass(frozen=True)
class Limits:
    """The thresholds, each 'more than this' alarms; None: not judged."""

    age_warning: float | None = 3600.0
    age_critical: float | None = 14400.0
    tries_warning: int | None = 3
    tries_critical: int | None = 10
    length_warning: int | None = None
    length_critical: int | None = None
    ack_warning: float | None = None
    ack_critical: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.queue_age_warning, settings.queue_age_critical,
                   settings.queue_tries_warning, settings.queue_tries_critical,
                   settings.queue_length_warning, settings.queue_length_critical,
                   settings.ack_age_warning, settings.ack_age_critical)


@dataclass
class Verdict:
    """What :func:`judge` decided, and the numbers for perfdata and the long output."""

    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # state -> entries
    oldest_age: float = 0.0  # of a new or taken entry
    max_tries: int = 0  # of a pending entry
    lines: list[str] = field(default_factory=list)  # per partner, for the long output

    @property
    def pending(self) -> int:
        return sum(self.counts.get(state, 0) for state in PENDING)


def level(value: float, warning: float | None, critical: float | None
          ) -> tuple[ServiceState, float | None]:
    """The state of value against 'more than' thresholds, and the threshold it passed."""
    if critical is not None and value > critical:
        return Critical, critical
    if warning is not None and value > warning:
        return Warn, warning
    return Ok, None


def _count(limit: float) -> str:
    return str(int(limit)) if limit == int(limit) else f"{limit:g}"


def _partner(name: str) -> str:
    return f"partner {name}"


def _connection_advice(partner: str) -> str:
    return (f"check the connection to {_partner(partner)}: its address and port (or ISDN "
            "number), its OFTP password and certificate, that it is active and has a medium; "
            "the send log in the OS4X database says why the last try failed")


def _oldest(entries: Sequence[Entry]) -> Entry | None:
    timed = [entry for entry in entries if entry.age is not None]
    return max(timed, key=lambda entry: (entry.age or 0.0, entry.partner)) if timed else None


def _by_partner(entries: Sequence[Entry]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.partner] = counts.get(entry.partner, 0) + 1
    return counts


def _most(counts: Mapping[str, int]) -> tuple[str, int]:
    """The partner with the most entries (the first name on a tie, for a stable message)."""
    return min(counts.items(), key=lambda item: (-item[1], item[0]))


def judge(entries: Sequence[Entry], limits: Limits) -> Verdict:
    """The send queue's verdicts, each naming the worst partner; sent entries never alarm."""
    verdict = Verdict(counts={state: 0 for state in STATES})
    for entry in entries:
        verdict.counts[entry.state] += 1
    leaving = [entry for entry in entries if entry.state in LEAVING]
    pending = [entry for entry in entries if entry.state in PENDING]
    waiting = [entry for entry in entries if entry.state == WAITING]
    blocked = [entry for entry in entries if entry.state == BLOCKED]

    oldest = _oldest(leaving)
    if oldest is not None:
        verdict.oldest_age = oldest.age or 0.0
        state, limit = level(verdict.oldest_age, limits.age_warning, limits.age_critical)
        if limit is not None:
            verdict.findings.append(Finding(
                state, f"send queue: files to {_partner(oldest.partner)} not leaving, an entry "
                f"{LABELS[oldest.state]} for {duration(verdict.oldest_age)} (more than "
                f"{duration(limit)})",
                f"{_connection_advice(oldest.partner)}; and that os4xsqd runs and picks the "
                "entry: only entries of its server ID, whose file the OS4X user can read, "
                "while the partner's parallel channels are not exhausted"))

    if pending:
        most = max(pending, key=lambda entry: (entry.tries, entry.partner))
        verdict.max_tries = most.tries
        state, limit = level(most.tries, limits.tries_warning, limits.tries_critical)
        if limit is not None:
            verdict.findings.append(Finding(
                state, f"send queue: {_partner(most.partner)} unreachable, "
                f"{plural(most.tries, 'send try', 'send tries')} of a pending entry (more "
                f"than {_count(limit)})",
                f"{_connection_advice(most.partner)}; every failed connection raises the send "
                f"tries of all its entries"))

    if pending:
        state, limit = level(len(pending), limits.length_warning, limits.length_critical)
        if limit is not None:
            name, count = _most(_by_partner(pending))
            verdict.findings.append(Finding(
                state, f"send queue: {len(pending)} entries pending (more than {_count(limit)}), "
                f"most for {_partner(name)} ({count})",
                f"check that os4xsqd runs and sends; start with {_partner(name)}, which has "
                f"the most entries: {_connection_advice(name)}"))

    oldest = _oldest(waiting)
    if oldest is not None:
        state, limit = level(oldest.age or 0.0, limits.ack_warning, limits.ack_critical)
        if limit is not None:
            verdict.findings.append(Finding(
                state, f"send queue: {_partner(oldest.partner)} has not acknowledged (EERP) a "
                f"file for {duration(oldest.age or 0.0)} (more than {duration(limit)})",
                f"ask {_partner(oldest.partner)} whether it received the file and sends "
                "end-to-end responses (EERP); os4xsqd fetches missing EERPs from TCP and TLS "
                f"partners itself, so also {_connection_advice(oldest.partner)}"))

    if blocked:
        counts = _by_partner(blocked)
        name, count = _most(counts)
        others = len(blocked) - count
        more = (f" ({others} more for {plural(len(counts) - 1, 'other partner')})"
                if others else "")
        verdict.findings.append(Finding(
            Warn, f"send queue: {plural(count, 'entry', 'entries')} blocked for "
            f"{_partner(name)}{more}",
            f"look at the blocked entries of {_partner(name)} in the OS4X web interface (send "
            "queue), find out why they were blocked (an event script may have fired) and "
            "unblock or delete them; blocked entries are never sent"))

    verdict.findings.sort(key=lambda finding: 0 if finding.state == Critical else 1)
    verdict.lines = partner_lines(entries)
    return verdict


def partner_lines(entries: Sequence[Entry]) -> list[str]:
    """One line per partner for the long output: entries by state, oldest pending, tries."""
    partners: dict[str, list[Entry]] = {}
    for entry in entries:
        partners.setdefault(entry.partner, []).append(entry)
    lines = []
    for name in sorted(partners)[:MAX_PARTNER_LINES]:
        mine = partners[name]
        counts = ", ".join(f"{state} {sum(1 for e in mine if e.state == state)}"
                           for state in STATES)
        pending = [entry for entry in mine if entry.state in PENDING]
        oldest = _oldest(pending)
        tail = ""
        if oldest is not None:
            tail = (f"; oldest pending {duration(oldest.age or 0.0)} ({oldest.state}), "
                    f"most tries {max(entry.tries for entry in pending)}")
        lines.append(f"send queue, {_partner(name)}: {counts}{tail}")
    if len(partners) > MAX_PARTNER_LINES:
        lines.append(f"send queue: and {len(partners) - MAX_PARTNER_LINES} more partners")
    return lines


def problem_finding(problems: Sequence[str]) -> Finding:
    """Rows that break the contract: one UNKNOWN line with the first few."""
    shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
    more = len(problems) - MAX_PROBLEMS_SHOWN
    return Finding(
        Unknown, f"send queue: {plural(len(problems), 'row')} unusable: {shown}"
        + (f"; and {more} more" if more > 0 else ""),
        "fix --queue-query so that every row is (partner, state, age in seconds, send tries) "
        "with state new, taken, waiting, blocked or sent; map OS4X's status codes with CASE "
        "(see docs/queue.md)")


# -- --db-discover: the columns a --queue-query maps --


def discover_lines(columns: Sequence[Sequence[Any]], prefix: str) -> list[str]:
    """What --db-discover prints about <prefix>send_queue, from information_schema rows of
    (table, column, type): its columns, and where the worked query is."""
    table = f"{prefix}send_queue"
    mine = [(printable(database_text(row[1]), 64), printable(database_text(row[2]), 32))
            for row in columns if len(row) >= 3 and database_text(row[0]).lower() == table.lower()]
    if not mine:
        return [f"send queue: no table {table}; --queue-query must name the table that holds "
                "the entries to send"]
    lines = [f"send queue: {table}, columns for --queue-query (partner, state, age in seconds, "
             "send tries; map the status with CASE, see docs/queue.md):"]
    lines.extend(f"    {column} {kind}" for column, kind in mine)
    return lines


# -- the read-only rules --


def read_only_problem(sql: str) -> str | None:
    """Why a query option is not one plain read-only statement, or None when it is: the
    shared guard (os4xmon.db.sqlguard), as for --pid-query; the read-only transaction stays the
    second wall."""
    from os4xmon.db.sqlguard import check_read_only  # the SQL lexer only where a query is set

    try:
        check_read_only(sql, "--queue-query")
    except ValueError as error:
        return str(error)
    return None


# -- the aspect: I/O --


def queue_query(settings: Settings) -> str:
    return (settings.queue_query or "").replace("{prefix}", settings.db_prefix)


def budget(settings: Settings) -> float:
    """Seconds the query may take: its share of what -t has left (execution.share), half of it
    when ports or ISDN still have to be checked after the queue."""
    later = any(aspect in settings.selected_checks for aspect in ("partners", "ports", "isdn"))
    share = execution.share(2 if later else 1)
    return max(share if share != float("inf") else settings.timeout, 0.05)


NOT_CONFIGURED = ("send queue check not configured: set --queue-query to SQL that returns "
                  "rows of (partner, state, age in seconds, send tries) from {table}")
NOT_CONFIGURED_ADVICE = ("check_os4x --db-type ... --db-discover lists the columns of "
                         "<prefix>send_queue; docs/queue.md has a worked query with CASE")


class Queue(Aspect):
    """The send queue's entries, read with the admin's query, judged by :func:`judge`."""

    name = "queue"

    def __init__(self, settings: Settings, host: Host) -> None:
        self.settings = settings
        self.host = host
        self.limits = Limits.from_settings(settings)
        self.details: list[str] = []
        self.seconds: float | None = None

    def measure(self) -> Iterator[nagiosplugin.Metric]:
        settings = self.settings
        problem: Finding | None = None
        if not settings.queue_query:
            problem = Finding(Unknown, NOT_CONFIGURED.format(
                table=f"{settings.db_prefix}send_queue"), NOT_CONFIGURED_ADVICE)
        elif not settings.db_type:
            problem = Finding(Unknown, "--queue-query needs --db-type and the database's "
                              "connection options", NOT_CONFIGURED_ADVICE)
        else:
            refused = read_only_problem(queue_query(settings))
            if refused:
                problem = Finding(Unknown, refused,
                                  "give one SELECT (or WITH ... SELECT) that only reads")
        if problem is None:
            try:
                rows = self._read()
            except DatabaseError as error:
                state = STATES_BY_NAME[settings.db_error_state]
                problem = Finding(state, self._say(f"send queue: {error}"),
                                  error_advice(error.kind, "--queue-query"))
        if problem is not None:
            yield from finding_metrics(self.name, [problem])
            yield from self._perfdata(None)
            return
        verdict = judge(rows.entries, self.limits)
        self.details.extend(verdict.lines)
        findings = list(verdict.findings)
        if rows.problems:
            findings.append(problem_finding(rows.problems))
        yield from finding_metrics(self.name, [Finding(f.state, self._say(f.message),
                                                       self._say(f.advice)) for f in findings])
        yield from self._perfdata(verdict)
        oldest = f", oldest {duration(verdict.oldest_age)}" if verdict.counts[NEW] + \
            verdict.counts[TAKEN] else ""
        yield headline(self.name, f"{plural(verdict.pending, 'entry', 'entries')} pending in "
                       f"the send queue{oldest}")

    def _say(self, text: str) -> str:
        return scrub(text, self.settings.db_password)

    def _read(self) -> Rows:
        params = connect_params(self.settings)
        deadline = Deadline(budget(self.settings))
        with execution.phase(f"waiting for the send queue ({params.where()})"):
            started = time.monotonic()
            try:
                connection = connect(params, deadline)
                try:
                    ((width, rows),) = connection.read_only([queue_query(self.settings)])
                finally:
                    connection.close()
            finally:
                self.seconds = time.monotonic() - started
        self.details.append(f"send queue read in {self.seconds:.3f}s: {plural(len(rows), 'row')}")
        return parse_rows(width, rows)

    def _perfdata(self, verdict: Verdict | None) -> Iterator[nagiosplugin.Metric]:
        """The same six labels on every run; U where the query gave no answer."""
        settings = self.settings
        for state in (NEW, TAKEN, WAITING, BLOCKED):
            yield perfdata(f"queue_{state}", verdict.counts[state] if verdict else None)
        oldest = None if verdict is None else round(verdict.oldest_age, 1)
        if oldest is not None and oldest == int(oldest):
            oldest = int(oldest)
        yield perfdata("queue_oldest_age", oldest, "s",
                       warning=range_above(settings.queue_age_warning),
                       critical=range_above(settings.queue_age_critical))
        yield perfdata("queue_max_tries", verdict.max_tries if verdict else None,
                       warning=range_above(settings.queue_tries_warning),
                       critical=range_above(settings.queue_tries_critical))


def build(settings: Settings, host: Host) -> list[nagiosplugin.Resource]:
    """The resource of the queue check (its contexts are the shared ones)."""
    return [Queue(settings, host)]
