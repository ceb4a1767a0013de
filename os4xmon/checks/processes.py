"""The process check: every OS4X daemon running, exactly once, in the right tree, as the right user.

The report (``facts.process_report.assess``: instances, identity, findings) is made once per run
by ``Host.process_report()``; ``timing_findings`` judges its ages against the thresholds, and
the Resource turns both into findings and perfdata for the shared contexts.
"""

from __future__ import annotations

import nagiosplugin
from nagiosplugin.state import Ok

from os4xmon.checks.base import Aspect
from os4xmon.core.findings import Finding, finding_metrics, headline, perfdata
from os4xmon.core.record import dataclass
from os4xmon.core.settings import Settings
from os4xmon.core.text import duration, plural, printable
from os4xmon.core.thresholds import NO_THRESHOLD, Threshold
from os4xmon.facts.configuration import explain_not_running
from os4xmon.facts.process_report import ProcessReport, describe, stopped
from os4xmon.os4x import daemons
from os4xmon.sources.proctable import ProcessInfo

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Iterator

    from os4xmon.facts.host import Host


INSTANCES = Threshold(critical="1:1")
"""Each expected daemon exactly once: the rule of ``assess``, written beside each count."""


@dataclass(frozen=True)
class Timing:
    """The process check's two thresholds, made once from the settings."""

    action_age: Threshold = NO_THRESHOLD  # the oldest os4xsqd action, seconds
    master_uptime: Threshold = NO_THRESHOLD  # the os4xrd master, seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> Timing:
        return cls(Threshold.above(settings.action_age_warning, settings.action_age_critical),
                   Threshold.below(settings.min_uptime))


def timing_findings(report: ProcessReport, timing: Timing) -> list[Finding]:
    """The oldest os4xsqd action against its age thresholds, the master's uptime against
    --min-uptime; nothing to say when there is no action or no master. No I/O."""
    findings = []
    oldest, age = report.oldest_action, report.measured_age(report.oldest_action)
    if oldest is not None and age is not None:
        state = timing.action_age.state(age)
        if state != Ok:
            findings.append(Finding(
                state, f"{daemons.SEND_QUEUE} action pid {oldest.pid} "
                f"({printable(oldest.comm, 20)}) running for {duration(age)}: hung?",
                f"look at what pid {oldest.pid} waits for (the partner's connection, a file, "
                f"the database); if it is stuck, stop it (kill {oldest.pid}): {daemons.SEND_QUEUE} "
                "retries the entry"))
    master, uptime = report.master, report.measured_age(report.master)
    if master is not None and uptime is not None:
        state = timing.master_uptime.state(uptime)
        if state != Ok:
            findings.append(Finding(
                state, f"{daemons.MASTER} master pid {master.pid} started {duration(uptime)} "
                "ago: restarting?",
                "something restarts OS4X's receivers: look at the system log and OS4X's log "
                "for why the master exited before"))
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
        if name == daemons.FETCH_QUEUE and name not in expected:
            note += "; give --fetch-queue if this site licenses it"
        note += ")" if note else ""
        if not found:
            lines.append(f"{name}: not running")
        for process in found:
            user = printable(process.username, 32) if process.username else "user unknown"
            state = f", state {process.state}" if stopped(process) else ""
            lines.append(f"{name}: pid {process.pid}, {user}, "
                         f"up {duration(report.age(process))}, parent {process.ppid}"
                         f"{state}{note}")
    if report.of(daemons.SEND_QUEUE):
        oldest = report.oldest_action
        tail = (f", oldest pid {oldest.pid} ({printable(oldest.comm, 20)}) running "
                f"{duration(report.age(oldest))}") if oldest else ""
        lines.append(f"{daemons.SEND_QUEUE} actions: {len(report.actions)}{tail}")
    by_config: dict[str, list[ProcessInfo]] = {}
    for process in report.others:
        by_config.setdefault(report.identities[process.pid].config, []).append(process)
    for config, processes in sorted(by_config.items()):
        lines.append(f"another installation (-C {printable(config, 120)}), not checked here: "
                     + ", ".join(f"{describe(report, p)}"
                                 + ("" if report.identities[p.pid].genuine is not False
                                    else " (not OS4X's)") for p in processes[:20])
                     + (f" and {len(processes) - 20} more" if len(processes) > 20 else ""))
    lines.extend(report.notes)
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
        if table.hidden and not runs_as(self.settings.user):
            raise nagiosplugin.CheckError(f"cannot see the OS4X processes: {table.hidden}")
        report = self.host.process_report()
        settings = self.settings
        self.details = long_output(report)
        timing = Timing.from_settings(settings)
        for name in report.expectation.daemons:
            yield INSTANCES.perfdata(name, len(report.running(name)))
        yield from finding_metrics(self.name, explain_not_running(
            report.findings + timing_findings(report, timing), self.host.configured,
            report.expectation.start_command))
        yield perfdata("actions", len(report.actions))
        yield timing.action_age.perfdata("oldest_action_age",
                                         report.measured_age(report.oldest_action), "s")
        yield timing.master_uptime.perfdata("master_uptime", report.measured_age(report.master),
                                            "s")
        yield perfdata("os4x_rss", report.total_rss, "B")
        yield perfdata("zombies", sum(p.zombie for p in report.os4x_processes))
        yield perfdata("replaced_binaries", len(report.replaced))
        yield headline(self.name, f"{plural(report.running_count, 'daemon')} running")


def runs_as(user: str | None) -> bool:
    """Whether the plugin itself runs as the OS4X user: then hidepid hides nothing of OS4X's."""
    if user is None:
        return False
    import os

    from os4xmon.sources.proctable import user_name  # pwd only when --user is given

    return user_name(os.geteuid()) == user


def build(settings: Settings, host: Host) -> list[nagiosplugin.Resource]:
    """The resource of the process check (its contexts are the shared ones)."""
    return [Processes(settings, host)]
