"""The partner check: files flow with every partner, both ways.

Daemons up, ports answering and an empty send queue do not prove that EDI works: the call an
operations team gets is "no delivery schedule from partner X since this morning". OS4X logs
every send and every receive in its database; the admin's ``--partner-query`` maps those logs
(their layout changes between versions) to rows of (partner, direction, seconds since the last
successful transfer, failed transfers in the window[, the last failure's reason]). The rows are
folded as they arrive (partners.rules.Tally), judged by partners.rules.judge (pure), and this
module only runs the query (read-only, bounded by -t) and writes the perfdata.
"""

from __future__ import annotations

import nagiosplugin

from os4xmon.checks.base import Aspect, query_setup_problem
from os4xmon.checks.partners.rules import (
    DIRECTIONS,
    OPTION,
    Limits,
    OwnSilence,
    Silence,
    Tally,
    Verdict,
    empty_finding,
    judge,
    partner_name,
    problem_finding,
)
from os4xmon.core import execution
from os4xmon.core.findings import STATES_BY_NAME, Finding, finding_metrics, headline, perfdata
from os4xmon.core.settings import Settings
from os4xmon.core.text import database_text, perf_label, plural, printable
from os4xmon.db.access import error_advice
from os4xmon.db.drivers import BAD_RESULT, DatabaseError, scrub
from os4xmon.db.rowquery import StreamedQuery
from os4xmon.facts.host import Host

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Iterator, Sequence


def limits_from(settings: Settings) -> Limits:
    own = [OwnSilence(partner, direction or None, Silence(warning, critical))
           for partner, direction, warning, critical in settings.partner_silence]
    return Limits(Silence(settings.silence_warning, settings.silence_critical), own,
                  settings.failures_warning, settings.failures_critical)


def named_partners(settings: Settings) -> list[str]:
    """Partners that must be among the rows: every --partner, and the --partner-silence
    partners that are judged (all of them without --partner), so a typo is never silent."""
    wanted = {partner_name(name) for name in settings.partner}
    own = {partner_name(partner) for partner, _, _, _ in settings.partner_silence}
    return sorted(wanted | (own & wanted if wanted else own))


def budget(settings: Settings) -> float:
    """Seconds the query may take: its share of what -t has left, half of it when ports or
    ISDN still have to be checked after the partners."""
    later = any(aspect in settings.selected_checks for aspect in ("ports", "isdn"))
    share = execution.share(2 if later else 1)
    return max(share if share != float("inf") else settings.timeout, 0.05)


NOT_CONFIGURED = ("partner check not configured: set --partner-query to SQL that returns rows of "
                  "(partner, direction, seconds since the last successful transfer, failed "
                  "transfers in the window) from OS4X's send and receive logs")
NOT_CONFIGURED_ADVICE = ("check_os4x --db-type ... --db-discover lists the log tables' columns; "
                         "docs/partners.md has worked queries for MariaDB and PostgreSQL")


class Partners(Aspect):
    """Every partner and direction from the transfer logs, judged by partners.rules.judge."""

    name = "partners"

    def __init__(self, settings: Settings, host: Host) -> None:
        self.settings = settings
        self.host = host
        self.limits = limits_from(settings)
        self.details: list[str] = []
        self.seconds: float | None = None

    def measure(self) -> Iterator[nagiosplugin.Metric]:
        settings = self.settings
        problem = query_setup_problem(settings, settings.partner_query, OPTION, NOT_CONFIGURED,
                                      NOT_CONFIGURED_ADVICE)
        tally = Tally(settings.partner or None)
        cut_short = False
        if problem is None:
            try:
                self._read(tally)
            except DatabaseError as error:
                problem = Finding(STATES_BY_NAME[settings.db_error_state],
                                  self._say(f"partners: {error}"),
                                  error_advice(error.kind, OPTION))
                # rows that came before the server failed or -t ran out are judged; a result
                # the contract refuses (BAD_RESULT) is not
                cut_short = bool(tally.flows) and error.kind != BAD_RESULT
        if problem is not None and not cut_short:
            yield from finding_metrics(self.name, [problem])
            yield from self._perfdata(None)
            return
        verdict = judge(tally.flows.values(), self.limits,
                        () if cut_short else named_partners(settings))
        findings = list(verdict.findings)
        if tally.problem_count:
            findings.append(problem_finding(tally.problem_count, tally.problems))
        elif not tally.flows and not settings.partner:
            findings.append(empty_finding())
        if problem is not None:  # cut short: what came is judged, the rest is said missing
            findings.append(Finding(problem.state, f"{problem.message}; after "
                                    f"{plural(tally.rows, 'row')}, judged above",
                                    problem.advice))
        self.details.extend(verdict.lines)
        yield from finding_metrics(self.name, [Finding(f.state, self._say(f.message),
                                                       self._say(f.advice), f.subject)
                                               for f in findings])
        yield from self._perfdata(None if problem is not None else verdict, tally)
        yield headline(self.name, f"{plural(verdict.partners, 'partner')}: files flow, none "
                       "silent or failing")

    def _say(self, text: str) -> str:
        return scrub(text, self.settings.db_password)

    def _read(self, tally: Tally) -> None:
        read = StreamedQuery(self.settings, self.settings.partner_query or "", OPTION,
                             "the transfer logs")
        try:
            read.run(budget(self.settings), tally.columns)
        finally:
            self.seconds = read.seconds
        self.details.append(f"transfer logs read in {self.seconds or 0:.3f}s: "
                            f"{plural(tally.rows, 'row')}, "
                            f"{plural(len(tally.partners()), 'partner')} judged")

    def _perfdata(self, verdict: Verdict | None, tally: Tally | None = None
                  ) -> Iterator[nagiosplugin.Metric]:
        """The same labels on every run of a configuration; U where there is no answer."""
        settings = self.settings
        yield perfdata("partners", verdict.partners if verdict else None)
        yield perfdata("partners_silent", verdict.silent if verdict else None)
        yield perfdata("partners_failing", verdict.failing if verdict else None)
        longest = None if verdict is None or verdict.silence_max is None \
            else _whole(verdict.silence_max)
        yield self.limits.silence.threshold.perfdata("partner_silence_max", longest, "s")
        for name in settings.partner:
            partner = partner_name(name)
            label = perf_label(name)
            failures: int | None = None
            for direction in DIRECTIONS:
                flow = tally.flows.get((partner, direction)) if tally and verdict else None
                silence = self.limits.silence_for(partner, direction)
                age = None if flow is None or flow.age is None else _whole(flow.age)
                if flow is not None:
                    failures = (failures or 0) + flow.failures
                yield silence.threshold.perfdata(f"{label}_{direction}_age", age, "s")
            yield self.limits.failures.perfdata(f"{label}_failures", failures)


# -- --db-discover: the tables a --partner-query maps --

LOG_TABLE_WORDS = ("send", "receiv", "recv", "transfer", "partner", "incoming", "outgoing")
MAX_DISCOVERED = 20


def log_tables(columns: Sequence[Sequence[Any]], prefix: str) -> dict[str, list[tuple[str, str]]]:
    """From information_schema rows of (table, column, type): the tables whose names suggest
    a send log, a receive log or the partner list (not the send queue), with their columns."""
    tables: dict[str, list[tuple[str, str]]] = {}
    queue = f"{prefix}send_queue".lower()
    for row in columns:
        if len(row) < 3:
            continue
        table = database_text(row[0])
        lowered = table.lower()
        if lowered == queue or not any(word in lowered for word in LOG_TABLE_WORDS):
            continue
        if table not in tables and len(tables) >= MAX_DISCOVERED:
            continue
        tables.setdefault(table, []).append((database_text(row[1]), database_text(row[2])))
    return tables


def discover_lines(columns: Sequence[Sequence[Any]], prefix: str) -> list[str]:
    """What --db-discover prints about the transfer logs: their columns, and where the worked
    queries are."""
    tables = log_tables(columns, prefix)
    if not tables:
        return ["transfer logs: no table whose name suggests a send log, receive log or "
                "partner list; --partner-query must name the tables where OS4X logs its "
                "transfers (docs/partners.md)"]
    lines = ["transfer logs: tables for --partner-query (partner, direction, seconds since "
             "the last success, failed transfers in the window[, reason]; worked queries in "
             "docs/partners.md):"]
    for table, mine in tables.items():
        lines.append(f"  {printable(table, 64)}")
        lines.extend(f"    {printable(column, 64)} {printable(kind, 32)}" for column, kind in mine)
    return lines


def _whole(seconds: float) -> float:
    """Seconds to a tenth, written without a fraction when there is none."""
    value = round(seconds, 1)
    return int(value) if value == int(value) else value


def build(settings: Settings, host: Host) -> list[nagiosplugin.Resource]:
    """The resource of the partner check (its contexts are the shared ones)."""
    return [Partners(settings, host)]
