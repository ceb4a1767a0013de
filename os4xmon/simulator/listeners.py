"""Ports: receivers that listen and send OFTP's ready message (issue: the port check).

It is a part of the simulator (``simulator.__main__.Part``: the hooks are described there).

``os4xrd_tcpip`` and ``os4xrd_tcpip_tls`` listen on every address (IPv4 and IPv6) and send the
real 23-byte ready message on each connection, the TLS one after a handshake with a
self-signed certificate of ``--cert-days`` lifetime (made by ``certificate``, without a crypto
library). With ``--partner ID`` the receivers also answer a Start Session (SSID) as
OS4X would: their own SSID for that monitoring partner and its password
(``--partner-password-file``), ESID 03 for another partner, ESID 04 for a wrong password; and
``--session-log FILE`` gets one JSON line per connection saying how the session ended (did the
partner send ESID 00?). ``os4xclientd`` (its instance, not its children) and ``os4xdebugd`` listen
on localhost. ``--port-fault DAEMON=FAULT`` makes one listener misbehave.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from os4xmon.core.settings import (
    DEFAULT_CLIENTD_PORT,
    DEFAULT_DEBUGD_PORT,
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
)
from os4xmon.core.values import port_number
from os4xmon.os4x import daemons
from os4xmon.simulator import certificate, proctitle, tree
from os4xmon.simulator.scenario import Scenario
from os4xmon.wire import oftp

FAULTS = {
    "not-listening": "the daemon runs but does not listen",
    "wrong-banner": "sends something that is not OFTP's ready message",
    "silent": "accepts and never sends anything",
    "close": "accepts and closes at once (after the TLS handshake on the TLS port)",
    "plain": "the TLS port speaks without TLS: the handshake fails",
    "foreign": "another program (nc) holds the port; the daemon does not listen",
    "child": "a child of the daemon holds the port, the daemon itself closed it (a lost socket)",
    "session-silent": "sends the ready message, then never answers the session start",
    "session-violation": "answers the session start with a command that breaks the protocol",
    "session-busy": "refuses every session start: ESID 08, resources not available",
    "session-huge": "answers the session start with a header that announces 16 MB",
    "session-auth": "accepts, but asks for secure authentication (SSIDAUTH Y)",
    "client-cert": "the TLS port requires a client certificate: its own (--key-file)",
}
VIOLATION = b"R|\x1b[31m\xff" + b"CHANGE DIRECTION " * 8
"""A Change Direction (R) where an SSID must come, padded with hostile bytes for the output."""
RESPONDER_ID = "O0013000000OS4XSIM"
RESPONDER_PASSWORD = "SIMPW42"
WRONG_BANNER = b"HTTP/1.0 400 Bad|Request\r\n\x1b[31m\xff"
"""Not OFTP, and hostile to a status line: a pipe, control characters, invalid UTF-8."""
FOREIGN = "nc"
CONNECTION_TIMEOUT = 5.0


@dataclass
class Config:
    ports: dict[str, int] = field(default_factory=dict)  # daemon -> port
    faults: dict[str, str] = field(default_factory=dict)  # daemon -> fault
    cert_days: float = 365.0
    workdir: str = ""
    cert_file: str = ""
    key_file: str = ""
    partner: str = ""  # the monitoring partner OS4X knows; empty: no session, ready only
    partner_password: str = ""
    partner_password_file: str = ""  # where the password is: an exec'd daemon reads it there
    session_log: str = ""


CONFIG = Config()
"""Set by before_start in the launcher; the forked receivers inherit it."""


def _faults(text: str) -> dict[str, str]:
    pairs = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        daemon, _, fault = item.partition("=")
        if fault not in FAULTS:
            raise argparse.ArgumentTypeError(
                f"{item!r}: expected DAEMON=FAULT, FAULT one of {', '.join(FAULTS)}")
        pairs[daemon] = fault
    return pairs


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                        help=f"port of os4xrd_tcpip (default {DEFAULT_PORT})")
    parser.add_argument("--tls-port", type=port_number, default=DEFAULT_TLS_PORT,
                        help=f"port of os4xrd_tcpip_tls (default {DEFAULT_TLS_PORT})")
    parser.add_argument("--clientd-port", type=port_number, default=DEFAULT_CLIENTD_PORT,
                        help=f"port of os4xclientd on localhost (default {DEFAULT_CLIENTD_PORT})")
    parser.add_argument("--debugd-port", type=port_number, default=DEFAULT_DEBUGD_PORT,
                        help=f"port of os4xdebugd on localhost (default {DEFAULT_DEBUGD_PORT})")
    parser.add_argument("--cert-days", type=float, default=365.0, metavar="DAYS",
                        help="lifetime left of the TLS certificate (negative: expired)")
    parser.add_argument("--cert-starts-in", type=float, default=None, metavar="DAYS",
                        help="the TLS certificate is valid only from DAYS from now (not yet "
                        "valid; default: since 30 days before now)")
    parser.add_argument("--cert-file", metavar="FILE",
                        help="also write the TLS certificate here (for --tls-ca)")
    parser.add_argument("--partner", default="", metavar="ODETTE_ID",
                        help="a monitoring partner the receivers accept sessions from")
    parser.add_argument("--partner-password-file", metavar="FILE",
                        help="the partner's password (first line)")
    parser.add_argument("--session-log", default="", metavar="FILE",
                        help="append one JSON line per connection: how its session ended")
    parser.add_argument("--key-file", metavar="FILE",
                        help="also write the certificate's key here (for --tls-cert/--tls-key "
                        "against the client-cert fault)")
    parser.add_argument("--port-fault", type=_faults, default={}, metavar="DAEMON=FAULT,...",
                        help="fault: " + "; ".join(f"{k}: {v}" for k, v in FAULTS.items()))


def before_start(args: argparse.Namespace, scenario: Scenario) -> None:
    CONFIG.ports = {daemons.TCP_RECEIVER: args.port, daemons.TLS_RECEIVER: args.tls_port,
                    daemons.CLIENTD: args.clientd_port, daemons.DEBUGD: args.debugd_port}
    CONFIG.faults = dict(args.port_fault)
    CONFIG.cert_days = args.cert_days
    CONFIG.partner = args.partner
    CONFIG.session_log = args.session_log
    if args.partner_password_file:
        CONFIG.partner_password_file = args.partner_password_file
        CONFIG.partner_password = _read_password(args.partner_password_file)
    if daemons.TLS_RECEIVER in scenario.daemons():
        CONFIG.workdir = tempfile.mkdtemp(prefix="os4x-sim-tls-")
        CONFIG.cert_file = os.path.join(CONFIG.workdir, "cert.pem")
        CONFIG.key_file = os.path.join(CONFIG.workdir, "key.pem")
        certificate.make_certificate(args.cert_days, CONFIG.cert_file, CONFIG.key_file,
                                     starts_in=args.cert_starts_in)
        if args.cert_file:
            shutil.copyfile(CONFIG.cert_file, args.cert_file)
        if args.key_file:
            shutil.copyfile(CONFIG.key_file, args.key_file)
    for name in CONFIG.ports:
        tree.SERVE[name] = serve
    _ports_must_be_free(scenario)


def _read_password(path: str) -> str:
    with open(path, encoding="utf-8") as stream:
        return stream.readline().rstrip("\r\n")


def child_state() -> dict[str, Any]:
    """What an exec'd daemon needs of CONFIG (a fork would have inherited it); the partner's
    password by its file, never on the daemon's command line."""
    return {"ports": CONFIG.ports, "faults": CONFIG.faults, "cert_days": CONFIG.cert_days,
            "workdir": CONFIG.workdir, "cert_file": CONFIG.cert_file,
            "key_file": CONFIG.key_file, "partner": CONFIG.partner,
            "partner_password_file": CONFIG.partner_password_file,
            "session_log": CONFIG.session_log}


def restore(state: dict[str, Any]) -> None:
    for key, value in state.items():
        setattr(CONFIG, key, value)
    if CONFIG.partner_password_file:
        CONFIG.partner_password = _read_password(CONFIG.partner_password_file)
    for name in CONFIG.ports:
        tree.SERVE[name] = serve


OPTION_OF = {daemons.TCP_RECEIVER: "--port", daemons.TLS_RECEIVER: "--tls-port",
             daemons.CLIENTD: "--clientd-port", daemons.DEBUGD: "--debugd-port"}


def _ports_must_be_free(scenario: Scenario) -> None:
    """Stops the start when a port the simulator will listen on is taken: on a host where
    OS4X (or another simulator) runs, the simulated receivers could not listen, and the plugin
    would see the other program's sockets instead. Says which port, and how to choose another."""
    running = scenario.daemons()
    for name, port in CONFIG.ports.items():
        fault = CONFIG.faults.get(name)
        if name not in running or fault == "not-listening":
            continue
        if daemons.is_receiver(name) and daemons.MASTER not in running \
                and name not in scenario.orphan:
            continue  # without its master the receiver never starts
        try:
            _listen(port, local=name in (daemons.CLIENTD, daemons.DEBUGD)).close()
        except OSError as error:
            raise SystemExit(
                f"os4x-simulator: port {port} for {name} is already in use on this host "
                f"(another OS4X or simulator?): {error.strerror}; choose another with "
                f"{OPTION_OF.get(name, '--port')}") from None


def _listen(port: int, local: bool) -> socket.socket:
    """A listening socket: localhost only, or every IPv4 and IPv6 address at once."""
    if local:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        address: tuple = ("127.0.0.1", port)
    else:
        try:
            server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            address = ("::", port)
        except OSError:  # no IPv6 on this host
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            address = ("0.0.0.0", port)  # noqa: S104 - a receiver listens on every address
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(address)
    server.listen(16)
    return server


def _server_tls(fault: str | None = None) -> Any:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CONFIG.cert_file, CONFIG.key_file)
    if fault == "client-cert":  # trusts only its own self-signed certificate
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(CONFIG.cert_file)
    return context


def _answer(connection: socket.socket, fault: str | None, tls: Any, held: list,
            name: str = "") -> None:
    """One incoming connection, answered as the fault says."""
    connection.settimeout(CONNECTION_TIMEOUT)
    if tls is not None and fault != "plain":
        connection = tls.wrap_socket(connection, server_side=True)
    if fault == "silent":
        held.append(connection)
        del held[:-32]  # keep the newest few open; older ones close
        return
    if fault == "wrong-banner":
        connection.sendall(WRONG_BANNER)
    elif fault != "close":
        connection.sendall(oftp.READY)
        if CONFIG.partner and _session(connection, fault, held, name):
            return
    connection.close()


def _read_command(connection: socket.socket) -> bytes | None:
    """One exchange buffer from the initiator; None when it closed, was silent or not OFTP."""
    header = _read_exactly(connection, oftp.HEADER_LENGTH)
    try:
        length = oftp.parse_header(header)
    except ValueError:
        return None
    if length > oftp.MAX_ANSWER:
        return None
    command = _read_exactly(connection, length)
    return command if len(command) == length else None


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        try:
            chunk = connection.recv(size - len(data))
        except OSError:
            return data
        if not chunk:
            return data
        data += chunk
    return data


def _log(record: dict[str, Any]) -> None:
    if not CONFIG.session_log:
        return
    line = (json.dumps(record) + "\n").encode()
    descriptor = os.open(CONFIG.session_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


def _end_of(command: bytes | None) -> str:
    """How the initiator left: 'ESID 00', 'closed without ESID', or what it sent instead."""
    if command is None:
        return "closed without ESID"
    try:
        answer = oftp.parse_answer(command)
    except oftp.AnswerError:
        return "not an ESID"
    return f"ESID {answer.reason:02d}" if isinstance(answer, oftp.SessionEnd) else "SSID again"


def _session(connection: socket.socket, fault: str | None, held: list, name: str) -> bool:
    """Answers a Start Session as OS4X would; True when the connection is held open (silent)."""
    first = _read_command(connection)
    record: dict[str, Any] = {"daemon": name}
    try:
        ssid = oftp.parse_ssid(first) if first else None
    except oftp.AnswerError:
        ssid = None
    if ssid is None:
        record.update(answer=None, end="closed before SSID" if first is None else "no SSID")
        _log(record)
        return False
    record["partner"] = ssid.code
    if fault == "session-silent":
        record.update(answer=None, end="held")
        _log(record)
        held.append(connection)
        del held[:-32]
        return True
    reply, accepted = _reply(ssid, fault)
    connection.sendall(reply)
    record["answer"] = "SSID" if accepted else (fault or _end_of(reply[4:]))
    record["end"] = _end_of(_read_command(connection)) if accepted or fault in (
        "session-violation", "session-huge") else "we sent ESID"
    _log(record)
    return False


def _reply(ssid: oftp.SessionStart, fault: str | None) -> tuple[bytes, bool]:
    """The responder's answer to an SSID (with its header), and whether it accepts."""
    if fault == "session-violation":
        return oftp.frame(VIOLATION), False
    if fault == "session-huge":
        return b"\x10\xff\xff\xff" + b"X" * 64, False
    if fault == "session-busy":
        return oftp.frame(oftp.encode_esid(8)), False
    if ssid.code != CONFIG.partner:
        return oftp.frame(oftp.encode_esid(3, "partner not known")), False
    if ssid.password != CONFIG.partner_password:
        return oftp.frame(oftp.encode_esid(4)), False
    answer = oftp.encode_ssid(RESPONDER_ID, RESPONDER_PASSWORD,
                              buffer_size=min(ssid.buffer_size, 99999) or 128,
                              credit=min(max(ssid.credit, 1), 999), level=min(ssid.level, 5),
                              authentication=fault == "session-auth")
    return oftp.frame(answer), True


def serve(name: str, scenario: Scenario) -> None:
    """The body of a listening daemon, run in its own process once it looks right."""
    fault = CONFIG.faults.get(name)
    if fault in ("not-listening", "foreign"):
        tree.idle()
    tls = _server_tls(fault) if name == daemons.TLS_RECEIVER and fault != "plain" else None
    try:
        server = _listen(CONFIG.ports[name], local=name in (daemons.CLIENTD, daemons.DEBUGD))
    except OSError as error:  # a second instance (--duplicate), or the port is taken
        sys.stderr.write(f"simulator: {name} cannot listen on {CONFIG.ports[name]}: {error}\n")
        tree.idle()
    if fault == "child":  # the socket lives on in a child only, as after a bad fork
        tree.spawn(lambda: _accept(server, None, tls, name))
        server.close()
        tree.idle()
    _accept(server, fault, tls, name)


def _accept(server: socket.socket, fault: str | None, tls: Any, name: str) -> None:
    held: list = []
    while True:
        connection, _ = server.accept()
        try:
            _answer(connection, fault, tls, held, name)
        except OSError:  # a probe that hung up, a failed handshake: the next one
            with contextlib.suppress(OSError):
                connection.close()


def _foreign(port: int) -> None:
    """Another program on OS4X's port, as `nc -l` would be."""
    proctitle.set_comm(FOREIGN)
    proctitle.set_cmdline(f"{FOREIGN} -l -p {port}", False)
    server = _listen(port, local=False)
    while True:
        connection, _ = server.accept()
        connection.close()


LISTEN = "0A"
"""TCP_LISTEN in the st column of /proc/net/tcp."""


def _listening_ports() -> set[int]:
    """The ports this host listens on, from the kernel's own tables (the simulator trusts its
    host; the plugin's hardened reader is for the plugin)."""
    found: set[int] = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError), open(f"/proc/net/{table}", encoding="ascii") as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 3 and fields[3] == LISTEN and ":" in fields[1]:
                    with contextlib.suppress(ValueError):
                        found.add(int(fields[1].rsplit(":", 1)[1], 16))
    return found


def after_start(args: argparse.Namespace, scenario: Scenario,
                processes: list[dict[str, int]]) -> None:
    """Starts foreign holders, then waits until every port that should listen does.

    Only the ports of daemons that were started count: a receiver whose master is missing
    never listens, and waiting for it would cost the whole deadline.
    """
    running = {str(process["name"]) for process in processes}
    wanted = set()
    for name, port in CONFIG.ports.items():
        fault = CONFIG.faults.get(name)
        if fault == "foreign":
            pid = tree.spawn(lambda port=port: _foreign(port))  # type: ignore[misc]
            processes.append({"name": FOREIGN, "pid": pid,  # type: ignore[dict-item]
                              "ppid": os.getpid()})
            wanted.add(port)
        elif name in running and fault != "not-listening":
            wanted.add(port)
    deadline = time.monotonic() + 10
    while wanted - _listening_ports():
        if time.monotonic() > deadline:
            sys.stderr.write(f"simulator: not listening: {sorted(wanted - _listening_ports())}\n")
            return
        time.sleep(0.02)


def on_stop(args: argparse.Namespace) -> None:
    if CONFIG.workdir:
        shutil.rmtree(CONFIG.workdir, ignore_errors=True)
