"""Which OS4X processes run, and what the process table says of them: the process report.

``assess`` is a pure function from one snapshot of the process table to a report: the instances
of each daemon (identity by binary, installation and user), the send queue's actions, and the
findings about them (not running, running twice, stopped, orphaned, impostors, wrong user,
replaced binaries). ``Host.process_report()`` makes it once per run; the process check shows it,
and the database, ISDN and port checks read its instances instead of assessing again.
"""

from __future__ import annotations

from nagiosplugin.state import Critical, Ok, Warn

from os4xmon.core.findings import STATES_BY_NAME, Finding, daemon_not_running
from os4xmon.core.record import dataclass, field
from os4xmon.core.settings import Settings
from os4xmon.core.text import pid_list, pids_with_verb, printable
from os4xmon.facts.identity import Identity, Installation, bin_dirs_of, classify
from os4xmon.os4x import daemons
from os4xmon.os4x.daemons import DEFAULT_BIN_DIR, DEFAULT_CONFIG
from os4xmon.sources.proctable import ProcessInfo, ProcessTable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Mapping


@dataclass(frozen=True)
class Expectation:
    """What a site runs: derived from the settings, the input of the pure evaluation."""

    daemons: tuple[str, ...]
    user: str | None = None
    config: str = DEFAULT_CONFIG  # --os4x-config: the installation checked
    bin_dirs: tuple[str, ...] = (DEFAULT_BIN_DIR,)  # --bin-dir, then its real path
    replaced_state: str = "warning"  # --replaced-binary-state

    @classmethod
    def from_settings(cls, settings: Settings) -> Expectation:
        return cls(daemons.expected_daemons(settings.no_tls, settings.isdn_controllers,
                                            settings.enterprise, settings.require_debugd,
                                            settings.fetch_queue),
                   settings.user, settings.os4x_config, bin_dirs_of(settings.bin_dir),
                   settings.replaced_binary_state)

    @property
    def installation(self) -> Installation:
        return Installation(self.config, self.bin_dirs, self.user)

    def start_command(self, name: str) -> str:
        """How OS4X starts a daemon of this installation, as a shell line."""
        return daemons.start_command(name, self.bin_dirs[0], self.config)


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
    identities: dict[int, Identity] = field(default_factory=dict)
    impostors: list[ProcessInfo] = field(default_factory=list)
    others: list[ProcessInfo] = field(default_factory=list)  # of other installations
    replaced: list[ProcessInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

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

    def running(self, name: str) -> list[ProcessInfo]:
        """The instances of a daemon that run: a stopped one (state T or t) does not."""
        return [p for p in self.of(name) if not stopped(p)]

    @property
    def running_count(self) -> int:
        return sum(1 for name in self.expectation.daemons if len(self.running(name)) == 1)

    @property
    def total_rss(self) -> int:
        return sum(p.rss or 0 for p in self.os4x_processes)

    def name_of(self, process: ProcessInfo) -> str:
        """A process's daemon name (a receiver's command-line name, never os4xrd), else comm."""
        identity = self.identities.get(process.pid)
        return identity.daemon if identity and identity.daemon else printable(process.comm, 20)


STOPPED_STATES = {"T": "stopped by a signal (SIGSTOP) or job control",
                  "t": "stopped by a debugger (tracing stop)"}
"""States in which a process exists but does not run: a daemon in them serves nobody."""


def stopped(process: ProcessInfo) -> bool:
    return process.state in STOPPED_STATES and not process.zombie


def when(timestamp: float | None) -> str:
    """A moment as the admin's clock shows it: 2026-11-30 02:10."""
    if timestamp is None:
        return "an unknown time"
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def describe(report: ProcessReport, process: ProcessInfo) -> str:
    return f"{report.name_of(process)} pid {process.pid}"


def _halted(process: ProcessInfo) -> str:
    return f"pid {process.pid} is stopped (state {process.state}: " \
           f"{STOPPED_STATES[process.state]})"


def _resume_advice(processes: list[ProcessInfo]) -> str:
    pids = " ".join(str(p.pid) for p in processes)
    return (f"resume it with 'kill -CONT {pids}' if it was stopped by a signal; if a debugger "
            f"holds it (TracerPid in /proc/{processes[0].pid}/status), detach the debugger")


def _start_advice(expectation: Expectation, name: str) -> str:
    if daemons.is_receiver(name):
        text = (f"the {daemons.MASTER} master starts its receivers: restart it "
                f"({expectation.start_command(daemons.MASTER)}) and check OS4X's system log "
                "for why the receiver exited")
        if daemons.capi_index(name) is not None:
            text += "; for an ISDN receiver, check its CAPI controller (--checks isdn)"
        return text
    return (f"start it as OS4X does: {expectation.start_command(name)}; if it refuses because "
            "another daemon must be running, compare the PID saved in OS4X's database "
            "(--checks database) and start it in forced mode once no instance runs")


def _duplicate_advice(expectation: Expectation, name: str, found: list[ProcessInfo]) -> str:
    """The younger instances are the ones to stop: the oldest is the one OS4X most likely saved."""
    by_age = sorted(found, key=lambda p: (p.create_time or 0.0, p.pid))
    keep, extra = by_age[0], by_age[1:]
    which = "; ".join(f"pid {p.pid}, started {when(p.create_time)}" for p in extra)
    return (f"stop the younger {'instance' if len(extra) == 1 else 'instances'} ({which}): "
            f"kill {' '.join(str(p.pid) for p in extra)}; keep pid {keep.pid} (started "
            f"{when(keep.create_time)}); afterwards check that the PID OS4X saved in its "
            f"database for {name} is {keep.pid} (--checks database)")


def _since(binary: str, replaced_since: Mapping[str, float | None]) -> str:
    if binary not in replaced_since:
        return "was replaced or removed on disk (the new file could not be read)"
    moment = replaced_since[binary]
    if moment is None:
        return "was removed from disk"
    return f"was replaced on disk on {when(moment)} (the new file's date)"


def assess(table: ProcessTable, expectation: Expectation,
           replaced_since: Mapping[str, float | None] | None = None) -> ProcessReport:
    """Decides identity, instances, tree, users, states and binaries from one snapshot; no I/O.

    ``replaced_since`` maps the binary of a process whose executable was replaced to the new
    file's modification time (None: no file there any more), as the Resource read it.
    """
    replaced_since = replaced_since or {}
    report = ProcessReport(expectation, table.taken_at)
    report.identities = identities = classify(table, expectation.installation)

    for pid, process in sorted(table.processes.items()):
        identity = identities[pid]
        if identity.daemon is None or process.zombie or not identity.instance:
            continue
        if not identity.ours:
            report.others.append(process)
        elif identity.genuine is False:
            report.impostors.append(process)
        else:
            report.instances.setdefault(identity.daemon, []).append(process)

    masters = {p.pid for p in report.of(daemons.MASTER)}
    worker_parents = [p for name in daemons.WORKER_PARENTS for p in report.of(name)]
    children_of_workers = [child for parent in worker_parents
                           for child in table.children(parent.pid)]
    report.actions = [child for parent in report.of(daemons.SEND_QUEUE)
                      for child in table.children(parent.pid) if not child.zombie]

    seen = set()
    for process in [p for pid, p in sorted(table.processes.items())
                    if identities[pid].daemon and identities[pid].ours
                    and identities[pid].genuine is not False] + children_of_workers:
        if process.pid not in seen:
            seen.add(process.pid)
            report.os4x_processes.append(process)

    _judge_instances(report)
    _judge_impostors(report)

    for name, found in sorted(report.instances.items()):
        if not daemons.is_receiver(name):
            continue
        for receiver in found:
            if receiver.ppid not in masters:
                report.findings.append(Finding(
                    Critical, f"{name} pid {receiver.pid} is not a child of the "
                    f"{daemons.MASTER} master (its parent is pid {receiver.ppid}): orphaned or "
                    "left over from an old master",
                    f"stop it (kill {receiver.pid}); it answers partners for a master that is "
                    f"gone; if {name} is then missing, restart the master "
                    f"({expectation.start_command(daemons.MASTER)})"))

    instance_pids = {p.pid for found in report.instances.values() for p in found}
    user = printable(expectation.user, 32) if expectation.user is not None else None
    expected_instances = {p.pid for name in expectation.daemons for p in report.of(name)}
    for process in report.os4x_processes:
        if process.zombie:
            parent = table.processes.get(process.ppid)
            parent_name = describe(report, parent) if parent else f"pid {process.ppid}"
            report.findings.append(Finding(
                Warn, f"zombie {describe(report, process)} (parent pid {process.ppid})",
                f"nothing to kill: {parent_name} has not collected its exited child; it goes "
                f"away when {parent_name} collects it or exits; if zombies pile up, restart "
                "that daemon"))
            continue
        if stopped(process) and process.pid not in expected_instances:
            report.findings.append(Finding(
                Warn, f"{report.name_of(process)} {_halted(process)}",
                _resume_advice([process])))
        if process.state == "D":
            report.notes.append(
                f"{describe(report, process)} was in uninterruptible sleep (state D) when "
                "the table was read: waiting for a disk or network file system; one snapshot "
                "cannot tell a moment from a hang, so this is no alarm (a hung action shows in "
                "oldest_action_age, a hung receiver fails --probe)")
        if user is not None:
            if process.username is None:
                report.not_verified.append(f"user of {describe(report, process)}")
            elif process.username != expectation.user:
                parent = table.processes.get(process.ppid)
                if process.pid not in instance_pids and parent is not None \
                        and parent.username == process.username:
                    continue  # a child has its instance's user: one warning, for the instance
                report.findings.append(Finding(
                    Warn, f"{describe(report, process)} runs as "
                    f"{printable(process.username, 32)}, not {user}",
                    f"restart {report.name_of(process)} as {user}, the OS4X user (or give "
                    "--user the site's OS4X user if it was changed on purpose)"))

    _judge_binaries(report, replaced_since)
    report.not_verified.extend(table.unreadable)
    return report


def _judge_instances(report: ProcessReport) -> None:
    """Every expected daemon exactly once, running (a stopped process does not run)."""
    expectation = report.expectation
    for name in expectation.daemons:
        found = report.of(name)
        running = report.running(name)
        halted = [p for p in found if stopped(p)]
        if not running:
            message = f"{name} not running"
            if halted:
                message += ": " + "; ".join(_halted(p) for p in halted)
                advice = _resume_advice(halted)
            else:
                advice = _start_advice(expectation, name)
            report.findings.append(Finding(Critical, message, advice,
                                           daemon_not_running(name)))
            continue
        if len(running) > 1:
            report.findings.append(Finding(
                Critical, f"{name} runs {len(running)} times "
                f"({pid_list(p.pid for p in running)}): race conditions",
                _duplicate_advice(expectation, name, running)))
        for process in halted:
            report.findings.append(Finding(
                Critical, f"{name} {_halted(process)} while "
                f"{pids_with_verb((p.pid for p in running), 'runs', 'run')}: a second instance "
                "that races once resumed",
                f"stop it (kill {process.pid}; 'kill -CONT {process.pid}' lets it handle the "
                "signal), then check the PID OS4X saved in its database"))


def _judge_impostors(report: ProcessReport) -> None:
    for process in report.impostors:
        identity = report.identities[process.pid]
        user = printable(process.username, 32) if process.username else "an unknown user"
        binary = printable(identity.binary, 120) if identity.binary else "unreadable"
        report.findings.append(Finding(
            Warn, f"{identity.daemon} pid {process.pid} is not OS4X's: {identity.reason}; "
            f"not counted as {identity.daemon}",
            f"find out what pid {process.pid} is (user {user}, binary {binary}: "
            f"ls -l /proc/{process.pid}/exe as root) and stop it if it is not OS4X's; OS4X's "
            f"binaries are in {printable(report.expectation.bin_dirs[0], 120)} (--bin-dir)"))


def _judge_binaries(report: ProcessReport, replaced_since: Mapping[str, float | None]) -> None:
    """Daemons running a binary that was replaced on disk, and what could not be verified."""
    expectation = report.expectation
    state = STATES_BY_NAME.get(expectation.replaced_state, Warn)
    replaced_masters = set()
    unverified = []
    for name, found in report.instances.items():
        for process in found:
            identity = report.identities[process.pid]
            if identity.genuine is None:
                unverified.append(process)
            if identity.replaced and name == daemons.MASTER:
                replaced_masters.add(process.pid)
    for name, found in sorted(report.instances.items(), key=lambda item: item[0]):
        for process in found:
            identity = report.identities[process.pid]
            if not identity.replaced or process.ppid in replaced_masters:
                continue  # a receiver restarts with its replaced master: said once, there
            report.replaced.append(process)
            binary = identity.binary or ""
            message = (f"{name} pid {process.pid} runs an old binary: {printable(binary, 120)} "
                       f"{_since(binary, replaced_since)}")
            advice = f"restart {name} so that it runs the installed {printable(binary, 120)}"
            if name == daemons.MASTER:
                advice += " (its receivers restart with it)"
            advice += f": stop pid {process.pid}, then {expectation.start_command(name)}"
            if state == Ok:
                report.notes.append(f"{message} (--replaced-binary-state ok)")
            else:
                report.findings.append(Finding(state, message, advice))
    if unverified:
        report.not_verified.append(
            "binaries of " + ", ".join(describe(report, p) for p in unverified[:6])
            + (f" and {len(unverified) - 6} more" if len(unverified) > 6 else "")
            + " (replaced binaries and impostors running as the OS4X user)")


def replaced_files(table: ProcessTable) -> dict[str, float | None]:
    """The modification time of each binary a process runs in a replaced version: I/O.

    None: no file at that path any more (removed); left out: the file could not be read.
    """
    import os

    found: dict[str, float | None] = {}
    for process in table.processes.values():
        if process.exe is None:
            continue
        binary, replaced = daemons.strip_deleted(process.exe)
        if not replaced or binary in found:
            continue
        try:
            found[binary] = os.stat(binary).st_mtime
        except FileNotFoundError:
            found[binary] = None
        except OSError:
            pass
    return found
