"""The process check: every OS4X daemon running, exactly once, in the right tree, as the right user.

``assess`` is a pure function from a process table to a report with its findings, and
``timing_findings`` judges its ages against the thresholds; the Resource turns both into
findings and perfdata for the shared contexts. ``Host.process_report()`` makes the report once
per run, for every aspect that needs it.
"""

from __future__ import annotations

import nagiosplugin
from nagiosplugin.state import Critical, Ok, Warn

from os4xmon import daemons
from os4xmon.aspect import Aspect
from os4xmon.contexts import (
    Finding,
    finding_metrics,
    headline,
    perfdata,
    range_above,
    range_below,
    threshold_state,
)
from os4xmon.proctable import ProcessInfo, ProcessTable
from os4xmon.record import dataclass, field
from os4xmon.settings import Settings
from os4xmon.text import duration, pid_list, plural, printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Iterator

    from os4xmon.host import Host



@dataclass(frozen=True)
class Expectation:
    """What a site runs: derived from the settings, the input of the pure evaluation."""

    daemons: tuple[str, ...]
    user: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Expectation:
        return cls(daemons.expected_daemons(settings.no_tls, settings.isdn_controllers,
                                            settings.enterprise, settings.require_debugd),
                   settings.user)


@dataclass
class ProcessReport:
    """Everything the process check found, already decided, ready to be shown."""

    expectation: Expectation
    taken_at: float
    instances: dict[str, list[ProcessInfo]] = field(default_factory=dict)
    actions: list[ProcessInfo] = field(default_factory=list)
    os4x_processes: list[ProcessInfo] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    not_verified: list[str] = field(default_factory=list)

    def of(self, name: str) -> list[ProcessInfo]:
        return self.instances.get(name, [])

    @property
    def master(self) -> ProcessInfo | None:
        """The os4xrd instance whose uptime counts: the oldest if there are several."""
        masters = [p for p in self.of(daemons.MASTER) if p.create_time is not None]
        return min(masters, key=lambda p: p.create_time or 0.0) if masters else None

    @property
    def oldest_action(self) -> ProcessInfo | None:
        timed = [p for p in self.actions if p.create_time is not None]
        return min(timed, key=lambda p: p.create_time or 0.0) if timed else None

    def age(self, process: ProcessInfo | None) -> float:
        if process is None or process.create_time is None:
            return 0.0
        return max(self.taken_at - process.create_time, 0.0)

    def measured_age(self, process: ProcessInfo | None) -> float | None:
        """Seconds since the process started, to the millisecond, for perfdata and
        thresholds; None when there is no such process or its start is not known."""
        if process is None or process.create_time is None:
            return None
        return round(self.age(process), 3)

    @property
    def running_count(self) -> int:
        return sum(1 for name in self.expectation.daemons if len(self.of(name)) == 1)

    @property
    def total_rss(self) -> int:
        return sum(p.rss or 0 for p in self.os4x_processes)


def _describe(process: ProcessInfo) -> str:
    what = printable(process.comm, 20)
    return f"{what} pid {process.pid}"


def assess(table: ProcessTable, expectation: Expectation) -> ProcessReport:
    """Decides instances, tree, users and zombies from one snapshot; no I/O."""
    report = ProcessReport(expectation, table.taken_at)
    names = {pid: daemons.daemon_of(p.cmdline, p.comm) for pid, p in table.processes.items()}

    for pid, process in sorted(table.processes.items()):
        name = names[pid]
        if name is None or process.zombie:
            continue
        if names.get(process.ppid) != name:  # a process of D whose parent is not a process of D
            report.instances.setdefault(name, []).append(process)

    masters = {p.pid for p in report.of(daemons.MASTER)}
    worker_parents = report.of(daemons.SEND_QUEUE) + report.of(daemons.CLIENTD)
    children_of_workers = [child for parent in worker_parents
                           for child in table.children(parent.pid)]
    report.actions = [child for parent in report.of(daemons.SEND_QUEUE)
                      for child in table.children(parent.pid) if not child.zombie]

    seen = set()
    for process in [p for pid, p in sorted(table.processes.items()) if names[pid]] \
            + children_of_workers:
        if process.pid not in seen:
            seen.add(process.pid)
            report.os4x_processes.append(process)

    for name in expectation.daemons:
        found = report.of(name)
        if not found:
            report.findings.append(Finding(Critical, f"{name} not running"))
        elif len(found) > 1:
            report.findings.append(Finding(Critical, f"{name} runs {len(found)} times "
                                   f"({pid_list(p.pid for p in found)}): race conditions"))

    for name, found in sorted(report.instances.items()):
        if not daemons.is_receiver(name):
            continue
        for receiver in found:
            if receiver.ppid not in masters:
                report.findings.append(Finding(
                    Critical, f"{name} pid {receiver.pid} is not a child of the "
                    f"{daemons.MASTER} master (its parent is pid {receiver.ppid}): orphaned or "
                    "left over from an old master"))

    instance_pids = {p.pid for found in report.instances.values() for p in found}
    for process in report.os4x_processes:
        if process.zombie:
            report.findings.append(Finding(
                Warn, f"zombie {_describe(process)} (parent pid {process.ppid})"))
        elif expectation.user is not None:
            if process.username is None:
                report.not_verified.append(f"user of {_describe(process)}")
            elif process.username != expectation.user:
                parent = table.processes.get(process.ppid)
                if process.pid not in instance_pids and parent is not None \
                        and parent.username == process.username:
                    continue  # a child has its instance's user: one warning, for the instance
                report.findings.append(Finding(
                    Warn, f"{_describe(process)} runs as {printable(process.username, 32)}, "
                    f"not {expectation.user}"))
    report.not_verified.extend(table.unreadable)
    return report


def timing_findings(report: ProcessReport, action_age_warning: float | None = None,
                    action_age_critical: float | None = None,
                    min_uptime: float | None = None) -> list[Finding]:
    """The oldest os4xsqd action against its age thresholds, the master's uptime against
    --min-uptime; nothing to say when there is no action or no master. No I/O."""
    findings = []
    oldest, age = report.oldest_action, report.measured_age(report.oldest_action)
    if oldest is not None and age is not None:
        state = threshold_state(age, range_above(action_age_warning),
                                range_above(action_age_critical))
        if state != Ok:
            findings.append(Finding(
                state, f"{daemons.SEND_QUEUE} action pid {oldest.pid} "
                f"({printable(oldest.comm, 20)}) running for {duration(age)}: hung?"))
    master, uptime = report.master, report.measured_age(report.master)
    if master is not None and uptime is not None:
        state = threshold_state(uptime, range_below(min_uptime))
        if state != Ok:
            findings.append(Finding(
                state, f"{daemons.MASTER} master pid {master.pid} started {duration(uptime)} "
                "ago: restarting?"))
    return findings


def long_output(report: ProcessReport) -> list[str]:
    """One line per daemon with pid, user and age, then what was not required or not verified."""
    lines = []
    expected = report.expectation.daemons
    shown = list(expected) + sorted(n for n in report.instances if n not in expected)
    for name in shown:
        found = report.of(name)
        note = "" if name in expected else " (running, not required"
        if name == daemons.DEBUGD and name not in expected:
            note += "; it is costly: stop it when support no longer needs it"
        note += ")" if note else ""
        if not found:
            lines.append(f"{name}: not running")
        for process in found:
            user = printable(process.username, 32) if process.username else "user unknown"
            lines.append(f"{name}: pid {process.pid}, {user}, "
                         f"up {duration(report.age(process))}, parent {process.ppid}{note}")
    if report.of(daemons.SEND_QUEUE):
        oldest = report.oldest_action
        tail = (f", oldest pid {oldest.pid} ({printable(oldest.comm, 20)}) running "
                f"{duration(report.age(oldest))}") if oldest else ""
        lines.append(f"{daemons.SEND_QUEUE} actions: {len(report.actions)}{tail}")
    if report.not_verified:
        lines.append("not verified (run as root or as the OS4X user to see these): "
                     + "; ".join(report.not_verified[:10])
                     + (f"; and {len(report.not_verified) - 10} more"
                        if len(report.not_verified) > 10 else ""))
    return lines


class Processes(Aspect):
    """The daemons of OS4X in the process table."""

    name = "processes"

    def __init__(self, settings: Settings, host: Host) -> None:
        self.settings = settings
        self.host = host
        self.details: list[str] = []

    def measure(self) -> Iterator[nagiosplugin.Metric]:
        table = self.host.process_table()
        if table.hidden:
            raise nagiosplugin.CheckError(f"cannot see the OS4X processes: {table.hidden}")
        report = self.host.process_report()
        settings = self.settings
        self.details = long_output(report)
        for name in report.expectation.daemons:
            yield perfdata(name, len(report.of(name)), critical="1:1")
        yield from finding_metrics(self.name, report.findings + timing_findings(
            report, settings.action_age_warning, settings.action_age_critical,
            settings.min_uptime))
        yield perfdata("actions", len(report.actions))
        yield perfdata("oldest_action_age", report.measured_age(report.oldest_action), "s",
                       warning=range_above(settings.action_age_warning),
                       critical=range_above(settings.action_age_critical))
        yield perfdata("master_uptime", report.measured_age(report.master), "s",
                       warning=range_below(settings.min_uptime))
        yield perfdata("os4x_rss", report.total_rss, "B")
        yield perfdata("zombies", sum(p.zombie for p in report.os4x_processes))
        yield headline(self.name, f"{plural(report.running_count, 'daemon')} running")


def build(settings: Settings, host: Host) -> list[nagiosplugin.Resource]:
    """The resource of the process check (its contexts are the shared ones)."""
    return [Processes(settings, host)]
