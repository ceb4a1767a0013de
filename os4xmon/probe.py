"""The probe: connect to an OFTP port as a partner would, read the ready message, hang up.

Every wait has a deadline within the plugin's own time limit, so a silent peer becomes a
CRITICAL that says what did not come, not an UNKNOWN timeout. ``ssl`` is imported only when a
TLS port is probed. The result carries problems as sentences; ports.py decides states.
"""

from __future__ import annotations

import socket
import time
from datetime import datetime, timezone

from os4xmon import oftp, x509
from os4xmon.record import dataclass, field
from os4xmon.text import printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any


MIN_BUDGET = 0.05
"""Seconds below which a probe is not tried: it could only fail, and not for OS4X's fault."""


@dataclass
class ProbeResult:
    """What one probe of one port found."""

    port: int
    seconds: float | None = None  # until the ready message was verified; None: it was not
    problem: str | None = None  # a CRITICAL sentence naming the port
    unknown: str | None = None  # a failure that says nothing about OS4X (name not resolved)
    cert_days: float | None = None
    cert_not_after: datetime | None = None
    notes: list[str] = field(default_factory=list)


def connect_host(host: str) -> str:
    """--host as the socket layer wants it: IPv6 literals may come in brackets."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _wait(budget: float) -> str:
    return f"{budget:.1f}s"


def _tls_context(ca_file: str | None) -> Any:
    import ssl

    if ca_file:
        return ssl.create_default_context(cafile=ca_file)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _handshake(sock: socket.socket, host: str, ca_file: str | None, *, result: ProbeResult,
               deadline: float, budget: float) -> socket.socket | None:
    """The TLS handshake with SNI; None (and result.problem) when it fails."""
    import ssl

    port = result.port
    try:
        context = _tls_context(ca_file)
    except (OSError, ssl.SSLError) as error:
        result.unknown = f"--tls-ca {printable(ca_file or '', 80)}: {error}"
        return None
    sock.settimeout(max(deadline - time.monotonic(), 0.001))
    try:
        wrapped = context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as error:
        reason = printable(error.verify_message or str(error), 80)
        result.problem = f"TLS certificate of port {port} not accepted: {reason}"
        return None
    except ssl.SSLError as error:
        reason = printable(error.reason or str(error), 80)
        result.problem = f"TLS handshake on port {port} failed: {reason}"
        return None
    except socket.timeout:
        result.problem = f"no TLS handshake within {_wait(budget)} on port {port}"
        return None
    except OSError as error:
        reason = "the peer closed the connection" if not error.strerror else error.strerror
        result.problem = f"TLS handshake on port {port} failed: {printable(reason, 80)}"
        return None
    if ca_file:
        result.notes.append(f"port {port}: TLS chain and name verified against "
                            f"{printable(ca_file, 80)}")
    else:
        result.notes.append(f"port {port}: TLS chain not verified (no --tls-ca)")
    der = wrapped.getpeercert(binary_form=True)
    if der:
        try:
            result.cert_not_after = x509.not_after(der)
        except ValueError as error:
            result.notes.append(f"port {port}: certificate not readable: {error}")
    return wrapped


def _read_ready(sock: socket.socket, port: int, deadline: float, budget: float) -> str | None:
    """Reads up to the 23 bytes of the ready message; a problem sentence, or None when right."""
    buffer = b""
    while len(buffer) < oftp.READY_LENGTH:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(oftp.READY_LENGTH - len(buffer))
        except socket.timeout:
            break
        except OSError:  # reset, or a TLS error after the handshake: the peer is gone
            chunk = b""
        if not chunk:
            if not buffer:
                return f"port {port} closed the connection at once, without a ready message"
            problem = oftp.ready_problem(buffer)
            return f"wrong ready message on port {port}: {oftp.shown(buffer)} ({problem}, " \
                   "then closed)"
        buffer += chunk
        problem = oftp.ready_problem(buffer, complete=False)
        if problem:
            return f"wrong ready message on port {port}: {oftp.shown(buffer)} ({problem})"
    if not buffer:
        return f"no ready message within {_wait(budget)} on port {port}"
    problem = oftp.ready_problem(buffer)
    if problem:
        return f"ready message on port {port} cut short within {_wait(budget)}: " \
               f"{oftp.shown(buffer)} ({problem})"
    return None


def probe(host: str, port: int, budget: float, *, tls: bool = False,
          ca_file: str | None = None, now: datetime | None = None) -> ProbeResult:
    """Connects, (handshakes,) reads and verifies the ready message within budget seconds."""
    result = ProbeResult(port)
    if budget < MIN_BUDGET:
        result.unknown = f"no time left within -t to probe port {port}"
        return result
    started = time.monotonic()
    deadline = started + budget
    address = connect_host(host)
    try:
        sock = socket.create_connection((address, port), timeout=budget)
    except socket.gaierror as error:
        result.unknown = f"--host {printable(host, 60)}: {printable(str(error.strerror), 60)}"
        return result
    except ConnectionRefusedError:
        result.problem = f"port {port} refused the connection"
        return result
    except socket.timeout:
        result.problem = f"no connection to port {port} within {_wait(budget)}"
        return result
    except OSError as error:
        result.problem = f"no connection to port {port}: " \
                         f"{printable(error.strerror or str(error), 60)}"
        return result
    try:
        conversation: socket.socket | None = sock
        if tls:
            conversation = _handshake(sock, address, ca_file, result=result, deadline=deadline,
                                      budget=budget)
        if conversation is not None:
            result.problem = _read_ready(conversation, port, deadline, budget)
            if result.problem is None:
                result.seconds = time.monotonic() - started
            if conversation is not sock:
                conversation.close()
    finally:
        sock.close()
    if result.cert_not_after is not None:
        moment = now or datetime.now(timezone.utc)
        result.cert_days = (result.cert_not_after - moment).total_seconds() / 86400
    return result
