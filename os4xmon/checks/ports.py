"""The port check: OFTP's ports listening, held by the right daemon, answering as OFTP should.

Which ports: a port the admin gave wins over the one OS4X saved in its database
(``host.configured()``, read when the database check runs), which wins over the default.
On the OS4X host the sockets in LISTEN state and their holders are read (sockets.py) and judged
by ``assess_listening``, a pure function; with ``--probe`` each OFTP port is also connected to
and must send the ready message (probe.py), judged by ``judge_probe``; with ``--odette-id`` each
probe also starts and normally ends a session as that monitoring partner, and the response-time
thresholds apply to the session start (``oftp_session_time``) instead. Another ``--host`` can
only be probed. A port whose daemon the process check of the same run reports as not running
is a line of the long output, not a second problem.

Perfdata labels name the role, not the number (``oftp_listening``, ``oftp2_response_time``,
``oftp2_cert_days``), so graphs survive a port change; a value that could not be measured is
``U`` (the rule in contexts.py), so the labels are the same in every state.
"""

from __future__ import annotations

import nagiosplugin
from nagiosplugin.state import Critical, Ok, Unknown

from os4xmon.checks.base import Aspect
from os4xmon.core import execution
from os4xmon.core.findings import Finding, finding_metrics, headline, perfdata
from os4xmon.core.record import dataclass, field
from os4xmon.core.settings import (
    DEFAULT_CLIENTD_PORT,
    DEFAULT_DEBUGD_PORT,
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
    Settings,
)
from os4xmon.core.text import duration, plural, printable
from os4xmon.core.thresholds import Threshold
from os4xmon.facts.identity import Identity, classify, foreign_note, installation_of
from os4xmon.os4x import daemons
from os4xmon.sources.ephemeral import EphemeralPorts, read_ephemeral_ports
from os4xmon.sources.listening import Listener
from os4xmon.sources.proctable import ProcessTable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from datetime import datetime
    from typing import Callable, Collection, Iterator, Mapping, Sequence

    from os4xmon.facts.host import Host
    from os4xmon.wire.probe import ProbeResult


MAX_PORT = 65535


@dataclass(frozen=True)
class PortSpec:
    """One port OS4X must listen on: its role (the perfdata prefix), daemon and origin."""

    role: str
    port: int
    daemon: str
    source: str = "default"
    tls: bool = False
    oftp: bool = True  # speaks OFTP: probed with --probe

    def describe(self) -> str:
        return f"port {self.port} ({self.daemon}, {self.source})"


def _database_port(configured: Mapping[str, object], key: str) -> tuple[int | None, str]:
    """A port from <prefix>configuration, or None and why it was not used."""
    if key not in configured:
        return None, ""
    value = configured[key]
    try:
        port = int(str(value).strip())
    except ValueError:
        port = 0
    if not 0 < port <= MAX_PORT:
        return None, f"{key} in the database is {printable(str(value), 20)!r}, not a port"
    return port, ""


def expected_ports(settings: Settings, configured: Mapping[str, object]
                   ) -> tuple[list[PortSpec], list[str]]:
    """The ports to check and notes for the long output (a database value that was unusable)."""
    notes: list[str] = []

    def choose(name: str, key: str | None, default: int) -> tuple[int, str]:
        given = getattr(settings, name)
        if given is not None:
            return int(given), "given"
        if key is not None:
            port, note = _database_port(configured, key)
            if note:
                notes.append(note + f"; using {default}")
            if port is not None:
                return port, "from the database"
        return default, "default"

    port, source = choose("port", "tcp_port", DEFAULT_PORT)
    specs = [PortSpec("oftp", port, daemons.TCP_RECEIVER, source)]
    if not settings.no_tls:
        port, source = choose("tls_port", "tcp_port_tls", DEFAULT_TLS_PORT)
        specs.append(PortSpec("oftp2", port, daemons.TLS_RECEIVER, source, tls=True))
    if settings.enterprise:
        port, source = choose("clientd_port", "os4xclientd_port", DEFAULT_CLIENTD_PORT)
        specs.append(PortSpec("clientd", port, daemons.CLIENTD, source, oftp=False))
    if settings.require_debugd:
        port, source = choose("debugd_port", None, DEFAULT_DEBUGD_PORT)
        specs.append(PortSpec("debugd", port, daemons.DEBUGD, source, oftp=False))
    return specs, notes


@dataclass(frozen=True)
class Owner:
    """A process holding a socket, as far as the plugin knows it."""

    pid: int
    name: str  # printable
    daemon: str | None = None  # the OS4X daemon it is, if any
    instance: bool = False  # a daemon whose parent is not a process of the same daemon


def owners_from_table(pids: Sequence[int], table: ProcessTable,
                      identities: Mapping[int, Identity] | None = None) -> dict[int, Owner]:
    """Owners of the pids the process table knows: OS4X processes and their children.

    With the process check's classification (``identities``), a daemon of another installation
    or an impostor is named as such and never counts as this installation's holder.
    """
    owners = {}
    for pid in pids:
        process = table.processes.get(pid)
        if process is None:
            continue
        identity = identities.get(pid) if identities else None
        note = foreign_note(identity) if identity else ""
        if note:
            owners[pid] = Owner(pid, f"{identity.daemon} ({note})")  # type: ignore[union-attr]
            continue
        daemon = daemons.daemon_of(process.cmdline, process.comm)
        parent = table.processes.get(process.ppid)
        parent_daemon = daemons.daemon_of(parent.cmdline, parent.comm) if parent else None
        name = daemon or printable(daemons.first_word(process.cmdline or ()) or process.comm, 32)
        owners[pid] = Owner(pid, name, daemon, daemon is not None and parent_daemon != daemon)
    return owners


def foreign_owner(pid: int) -> Owner:
    """A holder outside the process table (not OS4X): its short name from the system."""
    try:
        import psutil
    except ImportError:  # the single file without the system's psutil: Linux's /proc
        try:
            with open(f"/proc/{pid}/comm", "rb") as stream:
                name = printable(stream.read(64).decode("utf-8", "replace").strip(), 32)
        except OSError:
            name = ""
        return Owner(pid, name or "a process")
    try:
        name = printable(psutil.Process(pid).name(), 32)
    except (psutil.Error, OSError):
        name = "a process"
    return Owner(pid, name)


@dataclass
class ListeningReport:
    findings: list[Finding] = field(default_factory=list)
    listening: dict[str, bool] = field(default_factory=dict)
    unverified: list[int] = field(default_factory=list)  # ports whose holder was not visible
    lines: list[str] = field(default_factory=list)


def assess_listening(specs: Sequence[PortSpec], listeners: Sequence[Listener],
                     owners: Mapping[int, Owner], stopped: Collection[str] = (), *,
                     ephemeral: EphemeralPorts | None = None,
                     start: Callable[[str], str] = daemons.start_command) -> ListeningReport:
    """Decides, from the listening sockets and their holders, which ports are wrong; no I/O.

    ``stopped``: daemons another check of this run already reports as not running; their
    silent ports are a line of the long output, not a second problem. ``ephemeral``: the
    host's ephemeral port range, where an outgoing connection may take a port whose daemon is
    down (said in the long output, and in the advice when the port does not listen).
    ``start``: how a daemon is started on the installation checked, for the advice.
    """
    report = ListeningReport()
    for spec in specs:
        mine = [listener for listener in listeners if listener.port == spec.port]
        report.listening[spec.role] = bool(mine)
        exposed = ephemeral if ephemeral is not None and ephemeral.exposes(spec.port) else None
        if exposed is not None:
            report.lines.append(_exposed_line(spec, exposed))
        if not mine and spec.daemon in stopped:
            report.lines.append(f"{spec.describe()}: not listening, {spec.daemon} not running "
                                "(reported by the process check)")
            continue
        if not mine:
            report.findings.append(Finding(
                Critical, f"port {spec.port} not listening ({spec.daemon} should)",
                f"check that {spec.daemon} runs (the process check) and read its log: it may "
                f"have failed to bind port {spec.port} ({spec.source}); if another installation "
                f"or program had the port then, restart {start(spec.daemon)} once it is free"
                + (_reserve_advice(spec, exposed) if exposed is not None else "")))
            report.lines.append(f"{spec.describe()}: not listening")
            continue
        addresses = ", ".join(sorted({listener.address for listener in mine}))
        pids = sorted({pid for listener in mine for pid in listener.pids})
        known = [owners.get(pid, Owner(pid, "a process")) for pid in pids]
        for owner in known:
            if owner.daemon == spec.daemon and owner.instance:
                continue
            if owner.daemon == spec.daemon:
                message = (f"port {spec.port} held by a child of {spec.daemon} (pid "
                           f"{owner.pid}), not by its instance")
                advice = (f"the {spec.daemon} instance lost port {spec.port} to its child pid "
                          f"{owner.pid}: restart {start(spec.daemon)} at a "
                          "quiet moment")
            else:
                message = f"port {spec.port} held by {owner.name} pid {owner.pid}, " \
                          f"not {spec.daemon}"
                advice = (f"{owner.name} pid {owner.pid} holds port {spec.port}: stop it or "
                          f"move it to another port (ss -ltnp 'sport = :{spec.port}' shows "
                          f"it), then restart {start(spec.daemon)} so that "
                          f"{spec.daemon} listens there")
            report.findings.append(Finding(Critical, message, advice))
        if any(not listener.pids for listener in mine):
            report.unverified.append(spec.port)
        held = ", ".join(f"{owner.name} pid {owner.pid}" for owner in known)
        report.lines.append(f"{spec.describe()}: listening on {addresses}; "
                            + (f"held by {held}" if held else "holder not visible"))
    return report


def _exposed_line(spec: PortSpec, ephemeral: EphemeralPorts) -> str:
    return (f"port {spec.port} ({spec.daemon}) lies in this host's ephemeral port range "
            f"{ephemeral.low}-{ephemeral.high} and is not reserved: an outgoing connection may "
            f"take it while {spec.daemon} is down")


def _reserve_advice(spec: PortSpec, ephemeral: EphemeralPorts) -> str:
    value = ephemeral.reserving(spec.port)
    return (f"; port {spec.port} lies in this host's ephemeral port range {ephemeral.low}-"
            f"{ephemeral.high}, where any outgoing connection may take it while {spec.daemon} "
            f"is down (ss -tanp 'sport = :{spec.port}' shows who has it): reserve it with "
            f"sysctl -w net.ipv4.ip_local_reserved_ports={value} and the same setting in "
            "/etc/sysctl.d/")


def unseen_sockets(error: OSError) -> str:
    where = printable(error.filename or "/proc/net", 60)
    return (f"cannot see the listening sockets: {where}: "
            f"{printable(error.strerror or str(error), 60)} (netlink refused, and "
            "/proc mounted with subset=pid or hidepid, or a container without /proc/net)")


class Ports(Aspect):
    """The ports of OS4X: listening sockets and their holders, and with --probe the answers."""

    name = "ports"

    def __init__(self, settings: Settings, host: Host) -> None:
        self.settings = settings
        self.host = host
        self.local = settings.local_host
        self.session = settings.odette_id is not None
        self.probing = settings.probe or not self.local or self.session
        self.details: list[str] = []
        self.client_cert = (settings.tls_cert, settings.tls_key or settings.tls_cert) \
            if settings.tls_cert else None
        self.debug_details: list[str] = []

    def _specs(self) -> list[PortSpec]:
        specs, notes = expected_ports(self.settings, self.host.configured().ports)
        self.details.extend(notes)
        if not self.local:
            specs = [spec for spec in specs if spec.oftp]
        return specs

    def _stopped(self, specs: list[PortSpec]) -> set[str]:
        """The daemons of these ports that the process check of this run reports as stopped."""
        if not self.local:
            return set()
        return {spec.daemon for spec in specs if self.host.reported_not_running(spec.daemon)}

    def _listening(self, specs: list[PortSpec]) -> ListeningReport:
        from os4xmon.sources.listening import read_listeners  # a remote --host reads none

        with execution.phase("reading the process table"):
            table = self.host.process_table()
        with execution.phase("reading the listening sockets"):
            try:
                listeners, source = read_listeners({spec.port for spec in specs},
                                                   sorted(table.processes),
                                                   timeout=execution.share())
            except OSError as error:  # neither netlink nor /proc/net: cannot see, not down
                return ListeningReport(findings=[Finding(Unknown, unseen_sockets(error))])
        self.debug_details.append(f"listening sockets read from {source}")
        pids = sorted({pid for listener in listeners for pid in listener.pids})
        owners = owners_from_table(pids, table,
                                   classify(table, installation_of(self.settings)))
        owners.update({pid: foreign_owner(pid) for pid in pids if pid not in owners})
        return assess_listening(specs, listeners, owners, self._stopped(specs),
                                ephemeral=read_ephemeral_ports(),
                                start=daemons.start_commands(self.settings.bin_dir,
                                                             self.settings.os4x_config))

    def measure(self) -> Iterator[nagiosplugin.Metric]:
        specs = self._specs()
        findings: list[Finding] = []
        if self.local:
            report = self._listening(specs)
            findings.extend(report.findings)
            self.details.extend(report.lines)
            if report.unverified:
                self.details.append(
                    "owners not verified (run as root to see them): "
                    + ", ".join(f"port {port}" for port in report.unverified))
            for spec in specs if report.listening else ():
                yield perfdata(f"{spec.role}_listening", int(report.listening[spec.role]),
                               maximum=1)
        else:
            self.details.append(f"{printable(self.settings.host, 60)} is another host: probed "
                                "only; listening sockets and their holders not checked")
        answering = 0
        measured: list[Finding] = []  # thresholds first, as the first line always had them
        if self.probing:
            settings = self.settings
            probed = [spec for spec in specs if spec.oftp]
            stopped = self._stopped(probed)
            for spec, result in zip(probed, self._probe(probed)):
                judged = judge_probe(spec, result, settings, self.session)
                if spec.daemon in stopped and result.seconds is None:
                    self.details.extend(f"{finding.message} ({spec.daemon} not running, "
                                        "reported by the process check)"
                                        for finding in judged.failures)
                else:
                    findings.extend(judged.failures)
                measured.extend(judged.thresholds)
                limits = ProbeThresholds.from_settings(settings)
                if self.session:
                    answering += judged.session_seconds is not None and not result.problem
                    yield perfdata(f"{spec.role}_response_time", judged.seconds, "s")
                    yield limits.response.perfdata(f"{spec.role}_session_time",
                                                   judged.session_seconds, "s")
                else:
                    answering += result.seconds is not None
                    yield limits.response.perfdata(f"{spec.role}_response_time", judged.seconds,
                                                   "s")
                if spec.tls:
                    yield limits.cert_days.perfdata(f"{spec.role}_cert_days", judged.cert_days,
                                                    minimum=None)
        yield from finding_metrics(self.name, measured + findings)
        yield headline(self.name, self._headline(specs, answering))

    def _probe(self, specs: list[PortSpec]) -> Iterator[ProbeResult]:
        from datetime import datetime, timezone

        from os4xmon.wire.probe import probe  # sockets and TLS only for runs that probe

        now = datetime.now(timezone.utc)
        for index, spec in enumerate(specs):
            budget = execution.share(len(specs) - index)  # a silent port cannot starve the next
            budget = budget if budget != float("inf") else self.settings.timeout
            waiting = "the TLS handshake and " if spec.tls else ""
            waiting += "the session start" if self.session else "the ready message"
            with execution.phase(f"waiting for {waiting} on port {spec.port}"):
                result = probe(self.settings.host, spec.port, budget, tls=spec.tls,
                               ca_file=self.settings.tls_ca, now=now,
                               odette_id=self.settings.odette_id,
                               odette_password=self.settings.odette_password or "",
                               client_cert=self.client_cert)
            if result.seconds is not None:
                self.details.append(f"port {spec.port}: ready message in "
                                    f"{result.seconds:.3f}s")
            self.details.extend(result.notes)
            if result.cert_not_after is not None:
                self.details.append(f"port {spec.port}: certificate valid until "
                                    f"{result.cert_not_after:%Y-%m-%d %H:%M} UTC")
            yield result

    def _headline(self, specs: list[PortSpec], answering: int) -> str:
        verb = f"accepting partner {printable(self.settings.odette_id or '', 25)}" \
            if self.session else "answering"
        if not self.local:
            return f"{plural(answering, 'port')} {verb} on {printable(self.settings.host, 60)}"
        text = f"{plural(len(specs), 'port')} listening"
        return text + (f", {answering} {verb}" if self.probing else "")


@dataclass(frozen=True)
class ProbeThresholds:
    """The probe's two thresholds, made once from the settings for verdict and perfdata."""

    response: Threshold  # seconds to the ready message (with --odette-id: the session start)
    cert_days: Threshold  # days of the TLS certificate left

    @classmethod
    def from_settings(cls, settings: Settings) -> ProbeThresholds:
        return cls(Threshold.above(settings.response_warning, settings.response_critical),
                   Threshold.below(settings.cert_warning, settings.cert_critical))


@dataclass
class ProbeVerdict:
    """One probe, judged: what failed, what broke a threshold, and the values for perfdata."""

    seconds: float | None = None  # to the ready message, rounded; None: not measured
    cert_days: float | None = None
    session_seconds: float | None = None  # to the responder's SSID, with --odette-id
    failures: list[Finding] = field(default_factory=list)
    thresholds: list[Finding] = field(default_factory=list)


def judge_probe(spec: PortSpec, result: ProbeResult, settings: Settings,
                session: bool = False) -> ProbeVerdict:
    """A failed probe is CRITICAL (or UNKNOWN when it says nothing about OS4X); a measured
    response time (with a session probe: the session start) or certificate lifetime is held
    against its thresholds. No I/O."""
    verdict = ProbeVerdict(
        None if result.seconds is None else round(result.seconds, 4),
        None if result.cert_days is None else round(result.cert_days, 1),
        session_seconds=None if result.session_seconds is None
        else round(result.session_seconds, 4))
    if result.problem:
        verdict.failures.append(Finding(Critical, result.problem, result.advice or probe_advice(
            spec, settings.host, result.problem)))
    elif result.unknown:
        verdict.failures.append(Finding(Unknown, result.unknown, UNJUDGED_ADVICE))
    limits = ProbeThresholds.from_settings(settings)
    timed = verdict.session_seconds if session else verdict.seconds
    if timed is not None:
        state = limits.response.state(timed)
        if state != Ok:
            what = "accepted the session in" if session else "answered in"
            verdict.thresholds.append(Finding(
                state, f"port {spec.port} {what} {duration(timed)}",
                f"see why port {spec.port} is slow: the host's load, OS4X's database, "
                "the network between here and there"))
    if spec.tls and verdict.cert_days is not None:
        days = verdict.cert_days
        state = limits.cert_days.state(days)
        if state != Ok:
            verdict.thresholds.append(Finding(state, (
                f"TLS certificate of port {spec.port} expired {-days:.0f} days ago" if days < 0
                else f"TLS certificate of port {spec.port} expires in {days:.0f} days"),
                cert_advice(spec.port, days, result.cert_not_after)))
    if spec.tls and result.cert_not_yet_valid and result.cert_not_before is not None:
        verdict.thresholds.append(Finding(
            Critical, f"TLS certificate of port {spec.port} not yet valid: from "
            f"{result.cert_not_before:%Y-%m-%d %H:%M} UTC",
            "OFTP2 partners refuse a certificate before its start: check this host's clock, or "
            "install the certificate that is valid now"))
    return verdict


# -- what to do: pure, one function per kind of problem --

UNJUDGED_ADVICE = "check --host, --tls-ca and -t: the port itself was not judged"


def probe_advice(spec: PortSpec, host: str, problem: str) -> str:
    """The next step when a probe failed: how to look by hand."""
    shown = printable(host, 60)
    by_hand = (f"openssl s_client -connect {shown}:{spec.port}" if spec.tls
               else f"telnet {shown} {spec.port}")
    if "certificate" in problem:
        return (f"look at the certificate ({by_hand} shows it, its issuer and dates): renew it "
                "if it expired, and make --tls-ca name the CA that signed it")
    return (f"connect by hand ({by_hand}): {spec.daemon} must send OFTP's ready message "
            "'IODETTE FTP READY'; read its log, and check that nothing (a firewall, a proxy, "
            "another program) stands between")


def cert_advice(port: int, days: float, not_after: datetime | None) -> str:
    """Renew before the date the certificate ends (the days left when the date is unknown)."""
    date = f"{not_after:%Y-%m-%d %H:%M} UTC" if not_after else f"{days:.0f} days"
    if days < 0:
        return (f"renew the TLS certificate of port {port} now (it expired {date}): OFTP2 "
                "partners refuse the session; install it in OS4X and send it to partners that "
                "check it")
    return (f"renew the TLS certificate of port {port} before {date}, install it in OS4X and "
            "send it to partners that check it, in time for them to install it")


def build(settings: Settings, host: Host) -> list[nagiosplugin.Resource]:
    """The resource of the port check (its contexts are the shared ones)."""
    return [Ports(settings, host)]
