"""What OS4X's configuration table tells the other aspects: its ports and its stop requests.

``<prefix>configuration`` holds (name, value) rows. Besides the ports (``tcp_port``,
``tcp_port_tls``, ``os4xclientd_port``) it holds OS4X's way to stop a daemon without kill
rights: a non-zero ``os4xrd_stop_req`` or ``os4xsqd_stop_req`` makes that daemon exit after
its next time slice. A daemon missing because someone asked it to stop is still CRITICAL, but
the admin must read why; a daemon that still runs with a stop pending is about to go.

These facts cross aspects: the database aspect reads them, the process aspect explains its
"not running" with them. They travel through ``Host`` (``host.configured()``), which reads
the table lazily when the process aspect asks before the database aspect has run. Everything
here is pure.
"""

from __future__ import annotations

from nagiosplugin.state import Critical, Warn

from os4xmon.core import execution
from os4xmon.core.execution import CheckTimeout
from os4xmon.core.findings import Finding, daemon_not_running
from os4xmon.core.record import dataclass, field
from os4xmon.core.settings import Settings
from os4xmon.core.text import database_text, pid_list, printable
from os4xmon.core.values import port_number, whole_number
from os4xmon.os4x import daemons

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, Mapping, Sequence

    from os4xmon.db.drivers import Connection


PORT_KEYS = ("tcp_port", "tcp_port_tls", "os4xclientd_port")
STOP_KEYS = {daemons.MASTER: "os4xrd_stop_req", daemons.SEND_QUEUE: "os4xsqd_stop_req"}
KEYS = PORT_KEYS + tuple(STOP_KEYS.values())


@dataclass(frozen=True)
class Configured:
    """The rows of <prefix>configuration the plugin uses, validated; empty when the database
    check does not run or the table could not be read (the notes say why)."""

    ports: dict[str, int] = field(default_factory=dict)  # key -> port
    notes: tuple[str, ...] = ()  # what was ignored and why, for the long output
    stop_requests: dict[str, str] = field(default_factory=dict)  # key -> its non-zero value
    table: str = "configuration"

    def stop_request(self, daemon: str) -> str | None:
        """The key whose stop request concerns daemon (the os4xrd master's stops its
        receivers too), if one is set."""
        key = stop_key(daemon)
        return key if key in self.stop_requests else None

    def where(self, key: str) -> str:
        return f"{self.table} ({key})"


def stop_key(daemon: str) -> str | None:
    if daemon == daemons.MASTER or daemons.is_receiver(daemon):
        return STOP_KEYS[daemons.MASTER]
    return STOP_KEYS.get(daemon)



def parse_configuration(rows: Sequence[Sequence[Any]], table: str) -> Configured:
    """The ports and stop requests among the rows; a value that is not what OS4X writes is
    ignored with a note, never guessed."""
    found: dict[str, list[str]] = {}
    for row in rows:
        if len(row) < 2:
            continue
        key = database_text(row[0]).strip()
        if key in KEYS:
            found.setdefault(key, []).append(database_text(row[1]).strip())
    ports: dict[str, int] = {}
    stop_requests: dict[str, str] = {}
    notes: list[str] = []
    for key in KEYS:
        values = sorted(set(found.get(key, [])))
        if len(values) > 1:
            notes.append(f"{key} saved with different values "
                         f"({', '.join(printable(v, 12) for v in values)}): ignored")
            continue
        if not values:
            continue
        try:
            if key in PORT_KEYS:
                ports[key] = port_number(values[0])
            elif values[0] and whole_number(values[0]) != 0:
                stop_requests[key] = printable(values[0], 12)
        except ValueError as error:
            notes.append(f"{key} ignored: {printable(str(error), 60)}")
    return Configured(ports, tuple(notes), stop_requests, table)


def describe(configured: Configured) -> list[str]:
    """Lines for the long output: the notes, the ports and the stop requests."""
    lines = list(configured.notes)
    lines.append(f"ports in {configured.table}: " + (", ".join(
        f"{key} = {value}" for key, value in sorted(configured.ports.items())) or "none"))
    lines.append(f"stop requests in {configured.table}: " + (", ".join(
        f"{key} = {value}" for key, value in sorted(configured.stop_requests.items()))
        or "none"))
    return lines


def _restart_advice(daemon: str, key: str, configured: Configured,
                    start: Callable[[str], str]) -> str:
    return (f"the stop was asked for in {configured.where(key)} = "
            f"{configured.stop_requests[key]}: if {daemon} should run, set {key} to 0 there and "
            f"start {start(daemon)}; if the stop is wanted (maintenance), schedule a "
            "downtime")


def explain_not_running(findings: Sequence[Finding],
                        configured: Callable[[], Configured | None],
                        start: Callable[[str], str] = daemons.start_command) -> list[Finding]:
    """The process aspect's "D not running" findings, with the stop request that explains
    them; still CRITICAL. ``configured`` is asked only when such a finding exists (it may
    have to read the database). The explanation is optional, the verdicts are not: when -t
    runs out while the database is read, the findings are returned as they are."""
    candidates = [finding for finding in findings
                  if finding.state == Critical and _not_running(finding) is not None]
    if not candidates:
        return list(findings)
    try:
        table = configured()
    except CheckTimeout:  # a database that trickles: the daemon is still reported missing
        return list(findings)
    if table is None:
        return list(findings)
    explained = []
    for finding in findings:
        daemon = _not_running(finding) if finding in candidates else None
        key = table.stop_request(daemon) if daemon else None
        if daemon is None or key is None:
            explained.append(finding)
            continue
        advice = _restart_advice(daemon, key, table, start)
        explained.append(Finding(
            finding.state, f"{finding.message}: stop requested in {table.where(key)}",
            advice + (f"; {finding.advice}" if finding.advice else ""), finding.subject))
    return explained


def _not_running(finding: Finding) -> str | None:
    """The daemon a "not running" finding is about, if its stop may be requested."""
    daemon = finding.says_not_running()
    return daemon if daemon is not None and stop_key(daemon) is not None else None


def stop_request_findings(configured: Configured, instances: Mapping[str, Sequence[int]],
                          reported_elsewhere: Callable[[str], bool],
                          start: Callable[[str], str] = daemons.start_command) -> list[Finding]:
    """A daemon that runs while its stop request is set: WARNING, it is about to exit. One
    that does not run: CRITICAL here only when the process check does not report it already
    (``reported_elsewhere(daemon)``)."""
    findings = []
    for daemon, key in STOP_KEYS.items():
        if key not in configured.stop_requests:
            continue
        running = sorted(instances.get(daemon, ()))
        if running:
            findings.append(Finding(
                Warn, f"{daemon} {pid_list(running)} will exit after its time slice: stop "
                f"requested in {configured.where(key)}",
                f"if the stop is not wanted, set {key} to 0 in {configured.table} now; if it "
                f"is (maintenance), schedule a downtime: {daemon} will be reported not running"))
        elif not reported_elsewhere(daemon):
            findings.append(Finding(
                Critical, f"{daemon} not running: stop requested in {configured.where(key)}",
                _restart_advice(daemon, key, configured, start), daemon_not_running(daemon)))
    return findings


# -- reading the table: I/O --


def configuration_query(prefix: str) -> str:
    keys = ", ".join(f"'{key}'" for key in KEYS)
    return f"SELECT name, value FROM {prefix}configuration WHERE name IN ({keys})"  # noqa: S608


def configuration_on(connection: Connection, prefix: str) -> Configured:
    """Ports and stop requests from <prefix>configuration; a failure here is only a note."""
    from os4xmon.db.drivers import DatabaseError  # the drivers only for runs that read it

    table = f"{prefix}configuration"
    try:
        ((_, rows),) = connection.read_only([configuration_query(prefix)])
    except DatabaseError as error:
        return Configured(notes=(f"ports and stop requests not read from {table}: {error}",),
                          table=table)
    return parse_configuration(rows, table)


def read_configuration(settings: Settings) -> Configured:
    """<prefix>configuration on a connection of its own: for an aspect that asks before the
    database check has run (the process check explaining a stopped daemon, the port check).
    A failure is only a note (the database check reports the database)."""
    # the drivers only for runs that read the database
    from os4xmon.db.access import budget, connect_params
    from os4xmon.db.drivers import DatabaseError, Deadline, connect, scrub

    table = f"{settings.db_prefix}configuration"
    params = connect_params(settings)
    with execution.phase(f"reading {table} ({params.where()})"):
        try:
            connection = connect(params, Deadline(budget(settings)))
        except DatabaseError as error:
            return Configured(notes=(scrub(f"ports and stop requests not read from {table}: "
                                           f"{error}", settings.db_password),), table=table)
        try:
            configured = configuration_on(connection, settings.db_prefix)
        finally:
            connection.close()
    return Configured(configured.ports, tuple(scrub(note, settings.db_password)
                                              for note in configured.notes),
                      configured.stop_requests, table)
