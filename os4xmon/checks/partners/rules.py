"""The partner check's pure parts: rows folded as they arrive, the thresholds, the verdicts.

The admin's ``--partner-query`` maps OS4X's send and receive logs to rows of (partner,
direction, seconds since the last successful transfer, failed transfers in the window[, the
last failure's reason]). :class:`Tally` takes them one at a time (the driver's ``fold``), so
that memory grows with the partners, never with the rows; :func:`judge` decides the verdicts.
Nothing here does I/O: the aspect (aspect.py) runs the query and writes the perfdata.
"""

from __future__ import annotations

from nagiosplugin.state import Critical, Ok, ServiceState, Unknown, Warn

from os4xmon.core.findings import STATE_ORDER, Finding, Subject, unusable_rows
from os4xmon.core.record import dataclass, field
from os4xmon.core.text import database_text, duration, limit_text, plural, printable
from os4xmon.core.thresholds import Threshold
from os4xmon.core.values import row_number
from os4xmon.db.drivers import BAD_RESULT, DatabaseError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, Iterable, Sequence


IN, OUT = "in", "out"
DIRECTIONS = (IN, OUT)
_OTHER = {IN: OUT, OUT: IN}
_DIRECTION_WORDS = {"in": IN, "receive": IN, "out": OUT, "send": OUT}
"""What the direction column may say, any case: OS4X's web interface says receive and send."""

NAME_LIMIT = 40
REASON_LIMIT = 100
MAX_PROBLEMS_SHOWN = 3
MAX_PARTNERS = 20000
"""Distinct partners one query may return: far more than any OS4X site has; a query that
returns more is wrong (it groups by file, not by partner) and would cost the monitoring host.
The folded figures of 20,000 partners in both directions take about 10 MB, within what the
PostgreSQL driver lets the plugin's memory grow during one query (drivers.PG_MAX_GROWTH)."""
OPTION = "--partner-query"
CONTRACT = ("(partner, direction in or out, seconds since the last successful transfer, failed "
            "transfers in the window[, the last failure's reason])")


class RowError(ValueError):
    """A value of one row that breaks the contract; its message says which and why."""


def partner_name(text: str) -> str:
    """A partner's name as the check shows and compares it: printable, cut, never empty."""
    return printable(text.strip(), NAME_LIMIT) or "(empty name)"


def partner_of(value: Any) -> str:
    if value is None:
        raise RowError("partner is NULL")
    return partner_name(database_text(value))


def direction_of(value: Any) -> str:
    """in or out, from in/out/receive/send in any case."""
    text = database_text(value).strip().lower()
    if value is None or text not in _DIRECTION_WORDS:
        shown = "NULL" if value is None else f"'{printable(database_text(value), 20)}'"
        raise RowError(f"direction {shown} is not in, out, receive or send")
    return _DIRECTION_WORDS[text]


def age_of(value: Any) -> float | None:
    """Seconds since the last success; None: there never was one (NULL)."""
    if value is None:
        return None
    try:
        return float(row_number(value, "age"))
    except ValueError as error:
        raise RowError(str(error)) from None


def failures_of(value: Any) -> int:
    """Failed transfers in the window, a whole number; NULL counts as none."""
    if value is None:
        return 0
    try:
        number = row_number(value, "failures")
    except ValueError as error:
        raise RowError(str(error)) from None
    if number != int(number):
        raise RowError(f"failures {printable(str(value), 30)} is not a whole number")
    return int(number)


def reason_of(value: Any) -> str:
    """The last failure's reason, escaped and cut (it is free text from the log)."""
    return printable(" ".join(database_text(value).split()), REASON_LIMIT)


class Flow:
    """One partner in one direction: what its rows said, folded."""

    __slots__ = ("age", "direction", "failures", "partner", "reason")

    def __init__(self, partner: str, direction: str, age: float | None, failures: int,
                 reason: str) -> None:
        self.partner = partner
        self.direction = direction
        self.age = age  # None: never a success
        self.failures = failures
        self.reason = reason

    def merge(self, age: float | None, failures: int, reason: str) -> None:
        """A second row for the same partner and direction: the latest success counts, the
        failures add up, the first reason given is kept."""
        if age is not None and (self.age is None or age < self.age):
            self.age = age
        self.failures += failures
        self.reason = self.reason or reason

    def __repr__(self) -> str:
        return f"Flow({self.partner!r}, {self.direction!r}, {self.age!r}, {self.failures!r})"


class Tally:
    """The query's rows folded per partner and direction as they arrive (Connection.stream).

    ``wanted``: only these partners are kept (``--partner``); rows of others are skipped
    unread, so a broken row of another partner does not make every per-partner service
    UNKNOWN. A row that breaks the contract never aborts the others: it is counted, and the
    first few are kept to be shown."""

    def __init__(self, wanted: Iterable[str] | None = None) -> None:
        self.wanted = frozenset(partner_name(name) for name in wanted) \
            if wanted is not None else None
        self.flows: dict[tuple[str, str], Flow] = {}
        self.width = 0
        self.rows = 0
        self.problems: list[str] = []
        self.problem_count = 0
        self.partner_count = 0

    def columns(self, width: int) -> Callable[[Sequence[Any]], None]:
        """Takes the number of columns before any row (4 or 5, else DatabaseError); returns
        what each row is given (StreamedQuery's begin)."""
        if width not in (4, 5):
            raise DatabaseError(BAD_RESULT, f"{OPTION} returns {plural(width, 'column')}, "
                                f"expected 4 or 5 {CONTRACT}")
        self.width = width
        return self.add

    def add(self, row: Sequence[Any]) -> None:
        self.rows += 1
        shown = "?"
        if self.wanted is not None and (
                row[0] is None or partner_name(database_text(row[0])) not in self.wanted):
            return
        try:
            shown = partner_of(row[0])
            direction = direction_of(row[1])
            age = age_of(row[2])
            failures = failures_of(row[3])
            reason = reason_of(row[4]) if self.width == 5 else ""
        except RowError as error:
            self.problem_count += 1
            if len(self.problems) < MAX_PROBLEMS_SHOWN:
                self.problems.append(f"row {self.rows} (partner {shown}): {error}")
            return
        flow = self.flows.get((shown, direction))
        if flow is not None:
            flow.merge(age, failures, reason)
            return
        if (shown, _OTHER[direction]) not in self.flows:  # a partner not seen before
            if self.partner_count >= MAX_PARTNERS:
                raise DatabaseError(BAD_RESULT, f"{OPTION} returns more than {MAX_PARTNERS} "
                                    "partners: one row per partner and direction (GROUP BY)")
            self.partner_count += 1
        self.flows[(shown, direction)] = Flow(shown, direction, age, failures, reason)

    def partners(self) -> set[str]:
        return {partner for partner, _ in self.flows}


# -- the thresholds --


@dataclass(frozen=True)
class Silence:
    """Silence thresholds of one partner and direction: more than this alarms; None: not judged."""

    warning: float | None = None
    critical: float | None = None

    @property
    def judged(self) -> bool:
        return self.warning is not None or self.critical is not None

    @property
    def threshold(self) -> Threshold:
        """The one object that gives the verdict and the perfdata's warn/crit fields."""
        return Threshold.above(self.warning, self.critical)


@dataclass(frozen=True)
class OwnSilence:
    """``--partner-silence PARTNER[/in|/out]=WARNING[,CRITICAL]``: one partner's own rhythm."""

    partner: str
    direction: str | None  # None: both directions
    silence: Silence = field(default_factory=Silence)


class Limits:
    """Every threshold of the check, and which silence thresholds apply to a partner and
    direction: its own for that direction, else its own for both, else the general ones."""

    def __init__(self, silence: Silence | None = None, own: Sequence[OwnSilence] = (),
                 failures_warning: int | None = None,
                 failures_critical: int | None = None) -> None:
        self.silence = silence or Silence()
        self.own = {(partner_name(item.partner), item.direction): item.silence for item in own}
        self.failures_warning = failures_warning
        self.failures_critical = failures_critical
        self.failures = Threshold.above(failures_warning, failures_critical)

    def silence_for(self, partner: str, direction: str) -> Silence:
        own = self.own.get((partner, direction)) or self.own.get((partner, None))
        return own if own is not None else self.silence

    def own_partners(self) -> list[str]:
        return sorted({partner for partner, _ in self.own})


def level(value: float, warning: float | None, critical: float | None,
          threshold: Threshold | None = None) -> tuple[ServiceState, float | None]:
    """The state of value against 'more than' thresholds (the Threshold that also writes the
    perfdata's warn/crit fields), and the limit it passed, for the message."""
    state = (threshold or Threshold.above(warning, critical)).state(value)
    if state == Critical:
        return state, critical
    return state, (warning if state == Warn else None)


def silence_level(age: float | None, silence: Silence) -> tuple[ServiceState, float | None]:
    """Like :func:`level`; a partner that never succeeded (None) is silent beyond any
    threshold, so it takes the worst state that applies."""
    if age is None:
        if silence.critical is not None:
            return Critical, silence.critical
        if silence.warning is not None:
            return Warn, silence.warning
        return Ok, None
    return level(age, silence.warning, silence.critical, silence.threshold)


# -- the verdicts --


SILENT, FAILING, MISSING = "silent", "failing", "not among the rows"
"""The conditions a partner finding's Subject carries ("silent in", "failing out")."""
_SILENT = {IN: "received from", OUT: "sent to"}
_FAILED = {IN: ("failed receive", "failed receives"), OUT: ("failed send", "failed sends")}
_LOG = {IN: "receive log", OUT: "send log"}


def threshold_text(seconds: float) -> str:
    """A threshold as the admin wrote it: 4h, 1d, 90m -> 1h 30m (no '4h 0m')."""
    return " ".join(part for part in duration(seconds).split()
                    if part.rstrip("dhms") != "0") or duration(seconds)


def silence_advice(partner: str, direction: str) -> str:
    if direction == IN:
        return (f"ask {partner} whether it sent anything and whether its sessions reach us; check "
                f"{partner}'s status in OS4X (active, medium), its certificate, and the receive "
                "log (the last receive, and why later ones failed); os4xrd and its ports must "
                "answer")
    return (f"look at the send queue for entries to {partner} (blocked, waiting, many send "
            f"tries) and whether files for it are produced at all; check {partner}'s status in "
            "OS4X (active, medium), its certificate, and the send log (the last send, and why "
            "later ones failed)")


def failure_advice(partner: str, direction: str) -> str:
    return (f"read the {_LOG[direction]} for {partner}: the failures' reason (ESID 03 user "
            "code not known, 04 invalid password, 09 time out, 11 or 12 certificates and "
            f"secure authentication); check {partner}'s address, password and certificate "
            "(expired, or replaced by the partner) and its status in OS4X")


@dataclass
class Verdict:
    """What :func:`judge` decided, and the figures for perfdata and the long output."""

    findings: list[Finding] = field(default_factory=list)  # worst first
    partners: int = 0
    silent: int = 0  # partners with a silence verdict, either direction
    failing: int = 0  # partners with a failures verdict
    silence_max: float | None = None  # longest silence where a threshold applies; None: none
    lines: list[str] = field(default_factory=list)  # one per partner and direction, worst first


def _silence_finding(flow: Flow, state: ServiceState, limit: float) -> Finding:
    what = _SILENT[flow.direction]
    if flow.age is None:
        message = f"nothing ever {what} {flow.partner}: no successful transfer in the log"
    else:
        message = (f"nothing {what} {flow.partner} for {duration(flow.age)} (more than "
                   f"{threshold_text(limit)})")
    return Finding(state, message, silence_advice(flow.partner, flow.direction),
                   Subject("partner", flow.partner, f"{SILENT} {flow.direction}"))


def _failure_finding(flow: Flow, state: ServiceState, limit: float) -> Finding:
    one, many = _FAILED[flow.direction]
    where = "from" if flow.direction == IN else "to"
    last = f", last: {flow.reason}" if flow.reason else ""
    return Finding(state, f"{plural(flow.failures, one, many)} {where} {flow.partner} in the "
                   f"window (more than {limit_text(limit)}){last}",
                   failure_advice(flow.partner, flow.direction),
                   Subject("partner", flow.partner, f"{FAILING} {flow.direction}"))


def _line(flow: Flow, state: ServiceState, silence: Silence) -> str:
    what = _SILENT[flow.direction].split()[0]
    last = "never" if flow.age is None else f"{duration(flow.age)} ago"
    if silence.judged:
        limits = "/".join("-" if value is None else threshold_text(value)
                          for value in (silence.warning, silence.critical))
        judged = f" (silence warning/critical {limits})"
    else:
        judged = " (silence not judged)"
    reason = f", last: {flow.reason}" if flow.failures and flow.reason else ""
    return (f"partner {flow.partner}, {flow.direction}: {str(state).upper()}, last {what} "
            f"{last}{judged}, {flow.failures} failed in the window{reason}")


def judge(flows: Iterable[Flow], limits: Limits, named: Sequence[str] = ()) -> Verdict:
    """Every partner and direction against its thresholds; ``named``: partners that must be
    among the rows (``--partner``, and the partners of ``--partner-silence``)."""
    verdict = Verdict()
    ranked: list[tuple[tuple[Any, ...], Finding]] = []
    lines: list[tuple[tuple[Any, ...], str]] = []
    partners: set[str] = set()
    silent: set[str] = set()
    failing: set[str] = set()
    for flow in flows:
        partners.add(flow.partner)
        silence = limits.silence_for(flow.partner, flow.direction)
        worst = Ok
        state, limit = silence_level(flow.age, silence)
        longest = float("inf") if flow.age is None else flow.age
        if silence.judged and flow.age is not None:
            verdict.silence_max = max(verdict.silence_max or 0.0, flow.age)
        if limit is not None:
            silent.add(flow.partner)
            worst = state
            ranked.append(((STATE_ORDER[state], 0, -longest, flow.partner, flow.direction),
                           _silence_finding(flow, state, limit)))
        state, limit = level(flow.failures, limits.failures_warning, limits.failures_critical,
                             limits.failures)
        if limit is not None:
            failing.add(flow.partner)
            worst = state if STATE_ORDER[state] < STATE_ORDER[worst] else worst
            ranked.append(((STATE_ORDER[state], 1, -flow.failures, flow.partner,
                            flow.direction), _failure_finding(flow, state, limit)))
        lines.append(((STATE_ORDER[worst], -longest, -flow.failures, flow.partner,
                       flow.direction), _line(flow, worst, silence)))
    missing = sorted({partner_name(name) for name in named} - partners)
    for name in missing:
        ranked.append(((STATE_ORDER[Unknown], 2, 0, name, ""), Finding(
            Unknown, f"partner {name} is not among the rows of {OPTION}",
            f"check the spelling of {name} in --partner or --partner-silence against OS4X's "
            f"partner list, and that {OPTION} returns a row for it in each direction (see "
            "docs/partners.md)", Subject("partner", name, MISSING))))
        lines.append(((STATE_ORDER[Unknown], 0, 0, name, ""),
                      f"partner {name}: UNKNOWN, no row from {OPTION}"))
    ranked.sort(key=lambda item: item[0])
    lines.sort(key=lambda item: item[0])
    verdict.findings = [finding for _, finding in ranked]
    verdict.lines = [line for _, line in lines]
    verdict.partners = len(partners)
    verdict.silent = len(silent)
    verdict.failing = len(failing)
    return verdict


def problem_finding(count: int, shown: Sequence[str]) -> Finding:
    """Rows that break the contract: one UNKNOWN line with the first few."""
    return unusable_rows("partners", count, shown,
                         f"fix {OPTION} so that every row is {CONTRACT} (see docs/partners.md)")


def empty_finding() -> Finding:
    return Finding(Unknown, f"partners: {OPTION} returned no rows: no partner to judge",
                   "run the query by hand: it should return one row per partner and direction "
                   "from the send and receive logs, also for partners without a success "
                   "(see docs/partners.md)")
