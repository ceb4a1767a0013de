"""The database check: the PIDs OS4X saved in its database agree with the daemons that run.

OS4X daemons save their PID when they start and refuse to start while one is saved. A PID left
behind by a daemon that died blocks the next start until someone uses forced mode; a PID that
differs from the running instance means two daemons or a broken restart. The admin's
``--pid-query`` returns rows of (daemon name, pid); :func:`parse_rows` validates them and
:func:`judge` compares them with the process table: both pure. The drivers live in
:mod:`os4xmon.db.drivers`; this module also reads ``<prefix>configuration`` (ports and stop
requests, see :mod:`os4xmon.facts.configuration`) and hands it to the other aspects through
``Host``.
"""

from __future__ import annotations

import decimal
import math
import re
import time

import nagiosplugin
from nagiosplugin.state import Critical, Ok, Unknown, Warn

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
from os4xmon.core.text import database_text, plural, printable
from os4xmon.db.access import budget, connect_params, error_advice
from os4xmon.db.drivers import (
    BAD_RESULT,
    MAX_ROWS,
    QUERY_REFUSED,
    DatabaseError,
    Deadline,
    connect,
    scrub,
)
from os4xmon.facts.configuration import (
    PORT_KEYS,
    Configured,
    configuration_on,
    describe,
    parse_configuration,
    stop_request_findings,
)
from os4xmon.facts.host import Host
from os4xmon.os4x import daemons
from os4xmon.sources.proctable import ProcessTable, pid_exists

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, Iterator, Mapping, Sequence

    from os4xmon.db.drivers import Connection
    from os4xmon.facts.process_report import ProcessReport


MAX_FINDINGS = 10
MAX_LINES = 50


def forced_mode_advice(daemon: str) -> str:
    return f"check that no {daemon} runs, then start {daemon} in forced mode"


def _stale_advice(daemon: str, pid: int, start: Callable[[str], str]) -> str:
    # no '|' here: the output turns it into '!'
    return (f"make sure no {daemon} runs (pgrep -af {daemon} shows no {daemon}), "
            f"then start {start(daemon)} in forced mode, which skips the check of the "
            f"saved pid {pid}; afterwards the database must hold the new pid (check_os4x -v)")


# -- the rows: validated, pure --


@dataclass(frozen=True)
class SavedPid:
    """One row of the PID query: a daemon and its saved PID (None: nothing saved)."""

    daemon: str
    pid: int | None
    raw: str = ""  # how the PID looked when nothing usable was saved: NULL, 0, ''


@dataclass
class SavedPids:
    rows: list[SavedPid] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # names that are not OS4X daemons



def parse_pid(value: Any) -> int | None:
    """A saved PID: a whole number above 0; None for nothing saved (NULL, 0, empty text).

    Raises ValueError for anything else (a negative number, a fraction, words), which means
    the query does not return what the check needs.
    """
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a whole number")
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, (decimal.Decimal, float)):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"{printable(str(value), 30)} is not a whole number")
        number = int(value)
    else:
        text = database_text(value).strip()
        if text == "":
            return None
        if not re.fullmatch(r"[+-]?[0-9]{1,30}", text):
            raise ValueError(f"{printable(text, 30)!r} is not a whole number")
        number = int(text)
    if number < 0:
        raise ValueError(f"{number} is negative")
    return number or None


def parse_rows(width: int, rows: Sequence[Sequence[Any]]) -> SavedPids:
    """The PID query's result, checked: two columns, whole-number PIDs, OS4X names kept."""
    if width != 2:
        raise DatabaseError(BAD_RESULT, f"--pid-query returns {plural(width, 'column')}, "
                            "expected 2 (daemon name, pid)")
    if len(rows) > MAX_ROWS:
        raise DatabaseError(BAD_RESULT, f"--pid-query returns more than {MAX_ROWS} rows, "
                            "expected one per daemon")
    result = SavedPids()
    for row in rows:
        name = database_text(row[0]).strip()
        if not daemons.is_daemon_name(name):
            result.ignored.append(printable(name, 40) if row[0] is not None else "NULL")
            continue
        try:
            pid = parse_pid(row[1])
        except ValueError as error:
            raise DatabaseError(BAD_RESULT, f"the PID saved for {name} is not a PID: "
                                f"{error}") from None
        raw = "NULL" if row[1] is None else printable(repr(database_text(row[1]).strip()), 20)
        result.rows.append(SavedPid(name, pid, "" if pid else raw))
    return result


# -- the verdicts: pure --


@dataclass(frozen=True)
class Running:
    """What the process table says, reduced to what the verdicts need."""

    instances: Mapping[str, Sequence[int]]  # daemon -> pids of its running instances
    daemon_by_pid: Mapping[int, str | None] = field(default_factory=dict)  # OS4X-like pids
    alive: frozenset[int] = frozenset()  # saved pids that belong to some process of the host


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)  # lines for the long output
    total: int | None = None  # inconsistencies before the findings were capped

    @property
    def inconsistencies(self) -> int:
        if self.total is not None:
            return self.total
        return sum(1 for finding in self.findings if finding.state != Ok)


def _pids(values: Sequence[int | None], limit: int = 5) -> str:
    """'pid 12', 'pids 12, none' or 'pids 1, 2, 3, 4, 5 and 995 more'."""
    shown = ["none" if value is None else str(value) for value in values]
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ("pid " if len(shown) == 1 else "pids ") + ", ".join(shown[:limit]) + more


def _stale(daemon: str, pid: int, running: Running, start: Callable[[str], str]) -> Finding:
    other = running.daemon_by_pid.get(pid)
    if other == daemon:
        what = f"pid {pid} is not a running {daemon} instance"
    elif other:
        what = f"pid {pid} is now {other} (pid reused)"
    elif pid in running.alive or pid in running.daemon_by_pid:
        what = f"pid {pid} is another program (pid reused)"
    else:
        what = "no process has that pid"
    return Finding(Critical, f"{daemon} pid {pid} saved in the database, but {what}: "
                   f"{forced_mode_advice(daemon)}", _stale_advice(daemon, pid, start))


def judge(saved: Sequence[SavedPid], running: Running, expected: Sequence[str],
          start: Callable[[str], str] = daemons.start_command) -> Verdict:
    """Compares the saved PIDs with the running instances of the expected daemons and of
    every other OS4X daemon that has a row. ``start`` writes how a daemon is started on the
    installation checked (``daemons.start_commands``), for the advice."""
    verdict = Verdict()
    rows: dict[str, list[SavedPid]] = {}
    for entry in saved:
        rows.setdefault(entry.daemon, []).append(entry)
    names = list(expected) + sorted(name for name in rows if name not in expected)
    for daemon in names:
        mine = rows.get(daemon, [])
        instances = sorted(running.instances.get(daemon, ()))
        runs = f"running {_pids(instances)}" if instances else "not running"
        if len(mine) > 1:
            verdict.findings.append(Finding(
                Critical, f"{daemon} saved {len(mine)} times in the database "
                f"({_pids([entry.pid for entry in mine])}): one row per daemon expected",
                "check that --pid-query returns one row per daemon (a JOIN can repeat rows); "
                f"if the table really holds {len(mine)} rows for {daemon}, stop {daemon} and "
                "ask the OS4X support how to clear them before starting it again"))
            verdict.compared.append(f"{daemon}: {len(mine)} rows "
                                    f"({_pids([entry.pid for entry in mine])}), {runs}")
            continue
        row = mine[0] if mine else None
        pid = row.pid if row else None
        if row is None:
            verdict.compared.append(f"{daemon}: no row, {runs}")
        else:
            saved_text = f"pid {pid}" if pid else f"no pid ({row.raw})"
            verdict.compared.append(f"{daemon}: saved {saved_text}, {runs}")
        if not pid:
            if instances:
                how = "no row" if row is None else row.raw
                verdict.findings.append(Finding(
                    Warn, f"{daemon} {_pids(instances)} runs, but no pid is saved in the "
                    f"database ({how})",
                    f"restart {daemons.starter(daemon)} at a quiet moment so that {daemon} "
                    "saves its pid; if it saves it elsewhere, make --pid-query return that row"))
        elif pid in instances:
            continue
        elif instances:
            verdict.findings.append(Finding(
                Critical, f"{daemon} pid {pid} saved in the database, but the running {daemon} "
                f"is {_pids(instances)}: a second instance or a broken restart",
                _mismatch_advice(daemon, pid, instances, start)))
        else:
            verdict.findings.append(_stale(daemon, pid, running, start))
    return _capped(verdict)


def _mismatch_advice(daemon: str, saved: int, instances: Sequence[int],
                     start: Callable[[str], str]) -> str:
    if len(instances) > 1:
        return (f"{len(instances)} instances of {daemon} run and none has the saved pid "
                f"{saved}: stop all but one ({_pids(instances[1:])}, kill them), then restart "
                f"the last one so that it saves its pid; check the saved pids afterwards "
                "(check_os4x -v)")
    return (f"the running {daemon} (pid {instances[0]}) is not the one the database knows "
            f"(pid {saved}): restart it at a quiet moment (stop pid {instances[0]}, then start "
            f"{start(daemon)}, in forced mode if it refuses because pid "
            f"{saved} is saved), so that the database holds the running pid")


def _capped(verdict: Verdict) -> Verdict:
    """At most MAX_FINDINGS findings and MAX_LINES lines: a hostile table cannot flood the
    status line; the count of the rest keeps its worst state."""
    verdict.total = verdict.inconsistencies
    if len(verdict.findings) > MAX_FINDINGS:
        rest = verdict.findings[MAX_FINDINGS:]
        worst = Critical if any(f.state == Critical for f in rest) else Warn
        summary = Finding(worst, f"and {len(rest)} more inconsistencies in the database",
                          "check_os4x -v lists every daemon's saved and running pids")
        verdict.findings = [*verdict.findings[:MAX_FINDINGS], summary]
    if len(verdict.compared) > MAX_LINES:
        more = len(verdict.compared) - MAX_LINES
        verdict.compared = [*verdict.compared[:MAX_LINES], f"and {more} more daemons"]
    return verdict


def running_from(table: ProcessTable, report: ProcessReport,
                 saved: Sequence[SavedPid]) -> Running:
    """The Running record from the process table and the process check's report of it; asks
    the host only about saved pids that the table does not hold (a pid reused by a program
    that is not OS4X)."""
    instances = {name: [p.pid for p in found] for name, found in report.instances.items()}
    daemon_by_pid = {pid: daemons.daemon_of(p.cmdline, p.comm)  # zombies too: not running
                     for pid, p in table.processes.items()}
    outside = {row.pid for row in saved if row.pid and row.pid not in daemon_by_pid}
    alive = frozenset(pid for pid in outside if pid <= 2**31 and pid_exists(pid))
    return Running(instances, daemon_by_pid, alive)


# -- the ports in <prefix>configuration: pure --


def parse_ports(rows: Sequence[Sequence[Any]]) -> tuple[dict[str, int], list[str]]:
    """The ports among <prefix>configuration's rows, and notes on what was ignored and why."""
    configured = parse_configuration(rows, "configuration")
    notes = [note for note in configured.notes if note.split(" ", 1)[0] in PORT_KEYS]
    return configured.ports, notes


# -- the aspect: I/O --


def pid_query(settings: Settings) -> str:
    """The --pid-query with its prefix, checked again (Settings can be built without the
    options): one read-only SELECT, or DatabaseError before any server sees it."""
    from os4xmon.db.sqlguard import check_read_only  # the SQL lexer only where a query is set

    query = (settings.pid_query or "").replace("{prefix}", settings.db_prefix)
    try:
        return check_read_only(query, "--pid-query")
    except ValueError as error:
        raise DatabaseError(QUERY_REFUSED, str(error)) from None


class Database(Aspect):
    """The PIDs OS4X saved, compared with the processes; the ports it saved, for the port check."""

    name = "database"

    def __init__(self, settings: Settings, host: Host) -> None:
        self.settings = settings
        self.host = host
        self.details: list[str] = []
        self.seconds: float | None = None  # talking to the database: connect, queries, close

    def _say(self, text: str) -> str:
        return scrub(text, self.settings.db_password)

    def measure(self) -> Iterator[nagiosplugin.Metric]:
        try:
            verdict, saved = self._compare()
        except _NotConfigured:
            self.host.offer_configured(Configured())
            yield from finding_metrics(self.name, [Finding(Unknown, NOT_CONFIGURED, (
                "check_os4x --db-type ... --db-discover lists the tables and columns that may "
                "hold the PIDs, with a query to start from"))])
            yield from self._perfdata(None, None)
            return
        except DatabaseError as error:
            self.host.offer_configured(Configured())  # the port check must not wait
            state = STATES_BY_NAME[self.settings.db_error_state]
            yield from finding_metrics(self.name, [Finding(
                state, self._say(str(error)), error_advice(error.kind, "--pid-query"))])
            yield from self._perfdata(None, None)
            return
        finally:
            self.details = [self._say(line) for line in self.details]
        yield from finding_metrics(self.name, [Finding(f.state, self._say(f.message),
                                                       self._say(f.advice))
                                               for f in verdict.findings])
        with_pid = sum(1 for row in saved.rows if row.pid)
        yield from self._perfdata(with_pid, verdict.inconsistencies)
        yield headline(self.name, f"{plural(with_pid, 'saved PID')} agree")

    def _perfdata(self, saved: int | None,
                  inconsistencies: int | None) -> Iterator[nagiosplugin.Metric]:
        """The same three labels on every run; U where the database gave no answer."""
        seconds = None if self.seconds is None else round(self.seconds, 4)
        yield perfdata("db_query_time", seconds, "s")
        yield perfdata("db_pids_saved", saved)
        yield perfdata("db_inconsistencies", inconsistencies)

    def _compare(self) -> tuple[Verdict, SavedPids]:
        settings = self.settings
        if not settings.pid_query:
            raise _NotConfigured()
        table = self.host.process_table()
        params = connect_params(settings)
        deadline = Deadline(budget(settings))
        with execution.phase(f"waiting for the database ({params.where()})"):
            started = time.monotonic()
            try:
                connection = connect(params, deadline)
                try:
                    ((width, rows),) = connection.read_only([pid_query(settings)])
                    saved = parse_rows(width, rows)
                    configured = self._configuration(connection)
                finally:
                    connection.close()
            except DatabaseError as error:
                self.seconds = time.monotonic() - started  # until it failed: how long it hung
                if settings.verbose >= 3 and error.driver_text:
                    self.details.append("the driver said: " + printable(
                        error.driver_text, 2000))
                raise
            self.seconds = time.monotonic() - started
        report = self.host.process_report()
        running = running_from(table, report, saved.rows)
        start = report.expectation.start_command
        verdict = judge(saved.rows, running, report.expectation.daemons, start)
        verdict.findings.extend(stop_request_findings(configured, running.instances,
                                                      self.host.reported_not_running, start))
        self.details.extend(verdict.compared)
        if saved.ignored:
            self.details.append("ignored (not OS4X daemons): " + ", ".join(saved.ignored[:20])
                                + (f" and {len(saved.ignored) - 20} more"
                                   if len(saved.ignored) > 20 else ""))
        return verdict, saved

    def _configuration(self, connection: Connection) -> Configured:
        """Offers <prefix>configuration, read on this aspect's connection, to the host, and
        uses what the host knows (another aspect may have had it read first)."""
        self.host.offer_configured(configuration_on(connection, self.settings.db_prefix))
        configured = self.host.configured()
        self.details.extend(describe(configured))
        return configured


class _NotConfigured(DatabaseError):
    def __init__(self) -> None:
        super().__init__("database check not configured", "")


NOT_CONFIGURED = ("no --pid-query configured: set it to SQL that returns (daemon name, pid) "
                  "rows; check_os4x --db-type ... --db-discover lists the tables that may "
                  "hold the PIDs")


def build(settings: Settings, host: Host) -> list[nagiosplugin.Resource]:
    """The resource of the database check (its contexts are the shared ones)."""
    return [Database(settings, host)]
