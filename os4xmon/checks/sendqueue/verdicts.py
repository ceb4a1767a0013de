"""The send queue's verdicts from the folded figures (:mod:`.fold`): pure functions of data.

Each verdict names the worst partner; sent entries never alarm. Ties are broken by the
partner's name (and then the state's order), never by the order rows arrived in, so the
per-entry and the summary form of one queue give the same words.
"""

from __future__ import annotations

from nagiosplugin.state import Critical, ServiceState, Warn

from os4xmon.checks.sendqueue.contract import (
    BLOCKED,
    ENTRY_FORM,
    LABELS,
    LEAVING,
    PENDING,
    STATES,
    SUMMARY_FORM,
    WAITING,
)
from os4xmon.checks.sendqueue.fold import MAX_PROBLEMS_KEPT, Fold
from os4xmon.core.findings import Finding, Subject, unusable_rows
from os4xmon.core.record import dataclass, field
from os4xmon.core.settings import Settings
from os4xmon.core.text import duration, limit_text, plural
from os4xmon.core.thresholds import Threshold

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Mapping, Sequence

MAX_PARTNER_LINES = 50


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

    @property
    def age(self) -> Threshold:
        """Of the oldest new or taken entry: its verdict and queue_oldest_age's fields."""
        return Threshold.above(self.age_warning, self.age_critical)

    @property
    def tries(self) -> Threshold:
        """Of the most tried pending entry: its verdict and queue_max_tries' fields."""
        return Threshold.above(self.tries_warning, self.tries_critical)

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
    oldest_age: float | None = None  # of a new or taken entry; None: there is none
    max_tries: int = 0  # of a pending entry
    lines: list[str] = field(default_factory=list)  # per partner, for the long output

    @property
    def pending(self) -> int:
        return sum(self.counts.get(state, 0) for state in PENDING)


def level(value: float, warning: float | None, critical: float | None
          ) -> tuple[ServiceState, float | None]:
    """The state of value against 'more than' thresholds (the Threshold that also writes the
    perfdata), and the threshold it passed, for the sentence."""
    state = Threshold.above(warning, critical).state(value)
    return state, critical if state == Critical else warning if state == Warn else None


def _partner(name: str) -> str:
    return f"partner {name}"


def _about(partner: str) -> Subject:
    return Subject("partner", partner)


def _connection_advice(partner: str) -> str:
    return (f"check the connection to {_partner(partner)}: its address and port (or ISDN "
            "number), its OFTP password and certificate, that it is active and has a medium; "
            "the send log in the OS4X database says why the last try failed")


def _most(counts: Mapping[str, int]) -> tuple[str, int]:
    """The partner with the most entries (the first name on a tie, for a stable message)."""
    return min(counts.items(), key=lambda item: (-item[1], item[0]))


def _by_partner(fold: Fold, states: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, mine in fold.partners.items():
        count = sum(mine[state].count for state in states if state in mine)
        if count:
            counts[name] = count
    return counts


def judge(fold: Fold, limits: Limits) -> Verdict:
    """The send queue's verdicts, each naming the worst partner; sent entries never alarm."""
    verdict = Verdict(counts={state: fold.count(state) for state in STATES})
    rank = {state: -number for number, state in enumerate(STATES)}  # new first on a tie

    leaving = [(worst[0], worst[1], rank[state], state) for state in LEAVING
               for worst in (fold.oldest[state],) if worst is not None]
    if leaving:
        age, partner, _, state_word = max(leaving)
        verdict.oldest_age = age
        state, limit = level(age, limits.age_warning, limits.age_critical)
        if limit is not None:
            verdict.findings.append(Finding(
                state, f"send queue: files to {_partner(partner)} not leaving, an entry "
                f"{LABELS[state_word]} for {duration(age)} (more than {duration(limit)})",
                f"{_connection_advice(partner)}; and that os4xsqd runs and picks the "
                "entry: only entries of its server ID, whose file the OS4X user can read, "
                "while the partner's parallel channels are not exhausted", _about(partner)))

    tried = [worst for state in PENDING for worst in (fold.most_tries[state],)
             if worst is not None]
    if tried:
        tries, partner = max(tried)
        verdict.max_tries = int(tries)
        state, limit = level(tries, limits.tries_warning, limits.tries_critical)
        if limit is not None:
            verdict.findings.append(Finding(
                state, f"send queue: {_partner(partner)} unreachable, "
                f"{plural(int(tries), 'send try', 'send tries')} of a pending entry (more "
                f"than {limit_text(limit)})",
                f"{_connection_advice(partner)}; every failed connection raises the send "
                f"tries of all its entries", _about(partner)))

    pending = verdict.pending
    if pending:
        state, limit = level(pending, limits.length_warning, limits.length_critical)
        if limit is not None:
            name, count = _most(_by_partner(fold, PENDING) or {"?": pending})
            verdict.findings.append(Finding(
                state, f"send queue: {pending} entries pending (more than {limit_text(limit)}), "
                f"most for {_partner(name)} ({count})",
                f"check that os4xsqd runs and sends; start with {_partner(name)}, which has "
                f"the most entries: {_connection_advice(name)}", _about(name)))

    waiting = fold.oldest[WAITING]
    if waiting is not None:
        age, partner = waiting
        state, limit = level(age, limits.ack_warning, limits.ack_critical)
        if limit is not None:
            verdict.findings.append(Finding(
                state, f"send queue: {_partner(partner)} has not acknowledged (EERP) a "
                f"file for {duration(age)} (more than {duration(limit)})",
                f"ask {_partner(partner)} whether it received the file and sends "
                "end-to-end responses (EERP); os4xsqd fetches missing EERPs from TCP and TLS "
                f"partners itself, so also {_connection_advice(partner)}", _about(partner)))

    blocked = verdict.counts[BLOCKED]
    if blocked:
        counts = _by_partner(fold, (BLOCKED,)) or {"?": blocked}
        name, count = _most(counts)
        others = blocked - count
        more = (f" ({others} more for {plural(len(counts) - 1, 'other partner')})"
                if others else "")
        verdict.findings.append(Finding(
            Warn, f"send queue: {plural(count, 'entry', 'entries')} blocked for "
            f"{_partner(name)}{more}",
            f"look at the blocked entries of {_partner(name)} in the OS4X web interface (send "
            "queue), find out why they were blocked (an event script may have fired) and "
            "unblock or delete them; blocked entries are never sent", _about(name)))

    verdict.findings.sort(key=lambda finding: 0 if finding.state == Critical else 1)
    verdict.lines = partner_lines(fold)
    return verdict


def partner_lines(fold: Fold) -> list[str]:
    """One line per partner for the long output: entries by state, oldest pending, tries."""
    lines = []
    for name in sorted(fold.partners)[:MAX_PARTNER_LINES]:
        mine = fold.partners[name]
        counts = ", ".join(f"{state} {mine[state].count if state in mine else 0}"
                           for state in STATES)
        pending = [(mine[state].oldest, -number, state) for number, state in enumerate(STATES)
                   if state in PENDING and state in mine and mine[state].oldest is not None]
        tail = ""
        if pending:
            age, _, state = max(pending)
            tries = max(mine[state].tries for state in PENDING if state in mine)
            tail = f"; oldest pending {duration(age or 0.0)} ({state}), most tries {tries}"
        lines.append(f"send queue, {_partner(name)}: {counts}{tail}")
    if len(fold.partners) > MAX_PARTNER_LINES:
        lines.append(f"send queue: and {len(fold.partners) - MAX_PARTNER_LINES} more partners")
    if fold.beyond:
        lines.append(f"send queue: {plural(fold.beyond, 'entry', 'entries')} of partners past "
                     f"the first {fold.cap} count in the totals only")
    return lines


def problem_finding(problems: Sequence[str], count: int | None = None) -> Finding:
    """Rows that break the contract: one UNKNOWN line with the first few."""
    return unusable_rows(
        "send queue", len(problems) if count is None else count, problems[:MAX_PROBLEMS_KEPT],
        f"fix --queue-query so that every row is ({ENTRY_FORM}), or ({SUMMARY_FORM}) "
        "with GROUP BY, with state new, taken, waiting, blocked or sent; map OS4X's status "
        "codes with CASE (see docs/queue.md)")
