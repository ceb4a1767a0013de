"""The probe: connect to an OFTP port as a partner would, read the ready message, hang up.

With an ODETTE ID it logs in instead of hanging up: it sends a Start Session (SSID) as that
monitoring partner, reads the responder's SSID or End Session (ESID), and always leaves with an
ESID of its own (reason 00 after a session was accepted), so that OS4X logs a normal session.
After the SSIDs the probe is the idle Speaker, which RFC 5024 lets end the session at once
(section 3.4.4, normal release), so it never hands OS4X the turn to send.
The password goes into the SSID and nowhere else: no message, note or exception carries it.

Every wait has a deadline within the plugin's own time limit, so a silent peer becomes a
CRITICAL that says what did not come, not an UNKNOWN timeout. ``ssl`` is imported only when a
TLS port is probed. The result carries problems as sentences; ports.py decides states.
"""

from __future__ import annotations

import socket
import time
from datetime import datetime, timezone

from os4xmon.core import netwait
from os4xmon.core.record import dataclass, field
from os4xmon.core.text import printable
from os4xmon.wire import oftp, x509

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
    cert_not_before: datetime | None = None
    cert_not_yet_valid: bool = False  # notBefore after the moment of the probe
    notes: list[str] = field(default_factory=list)
    session_seconds: float | None = None  # connect to the responder's SSID; None: no session
    responder: oftp.SessionStart | None = None
    advice: str = ""  # the admin's next step for the problem


def connect_host(host: str) -> str:
    """--host as the socket layer wants it: IPv6 literals may come in brackets."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _wait(budget: float) -> str:
    return f"{budget:.1f}s"


def _tls_context(ca_file: str | None, client_cert: tuple[str, str] | None = None) -> Any:
    import ssl

    if ca_file:
        context = ssl.create_default_context(cafile=ca_file)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_cert:  # for servers that require one (--tls-cert, --tls-key)
        context.load_cert_chain(client_cert[0], client_cert[1])
    return context


TLS_ALERTS = {
    "CERTIFICATE_REQUIRED": "the server requires a client certificate (--tls-cert, --tls-key)",
    "BAD_CERTIFICATE": "the server rejected the client certificate",
    "UNKNOWN_CA": "the server does not trust the CA of the client certificate",
    "CERTIFICATE_EXPIRED": "the server says the client certificate has expired",
    "HANDSHAKE_FAILURE": "the server refused the handshake (it may require a client "
                         "certificate: --tls-cert, --tls-key)",
}


def tls_alert(error: OSError) -> str | None:
    """What a TLS alert from the server means, or None when the error is no alert."""
    reason = str(getattr(error, "reason", None) or "")
    if "ALERT" not in reason:
        return None
    for key, meaning in TLS_ALERTS.items():
        if key in reason:
            return f"{meaning} (TLS alert {key.lower()})"
    return f"the server sent the TLS alert {printable(reason.lower(), 60)}"


def _handshake(sock: socket.socket, host: str, ca_file: str | None, *, result: ProbeResult,
               deadline: float, budget: float,
               client_cert: tuple[str, str] | None = None) -> socket.socket | None:
    """The TLS handshake with SNI; None (and result.problem) when it fails."""
    import ssl

    port = result.port
    try:
        context = _tls_context(ca_file, client_cert)
    except (OSError, ssl.SSLError) as error:
        files = ", ".join(printable(name, 80) for name in (ca_file, *(client_cert or ())) if name)
        result.unknown = f"--tls-ca/--tls-cert/--tls-key {files}: {error}"
        return None
    sock.settimeout(max(deadline - time.monotonic(), 0.001))
    try:
        wrapped = context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as error:
        reason = printable(error.verify_message or str(error), 80)
        result.problem = f"TLS certificate of port {port} not accepted: {reason}"
        return None
    except ssl.SSLError as error:
        reason = tls_alert(error) or printable(error.reason or str(error), 80)
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
            result.cert_not_before, result.cert_not_after = x509.validity(der)
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
        except OSError as error:  # reset, or a TLS error after the handshake: the peer is gone
            alert = tls_alert(error)  # TLS 1.3: a required client certificate is missed here
            if alert:
                return f"port {port}: {alert}"
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


REFUSAL_ADVICE = {
    3: "add the monitoring partner {partner} to OS4X's partners (see docs/session-probe.md), "
       "or correct --odette-id",
    4: "make the password in --odette-password-file, OS4X_ODETTE_PASSWORD or odette-password "
       "the one OS4X has for partner {partner}",
    8: "OS4X refused for want of resources: look at its receive log and the machine's load; "
       "real partners are refused as well",
    10: "compare the monitoring partner's settings in OS4X (protocol, compression, restart) with "
        "a plain OFTP 2.0 partner",
    12: "switch secure authentication off for the monitoring partner {partner} in OS4X",
}
"""The admin's next step after an End Session, by its reason code."""

DRAIN_SECONDS = 1.0
"""How long to wait, after our ESID, for the responder to close first (it reads the ESID)."""
DRAIN_BYTES = 4096


def _receive(sock: socket.socket, want: int, deadline: float) -> tuple[bytes, str]:
    """Up to want bytes before deadline, and how it ended: '' (all came), closed, timeout."""
    data = b""
    while len(data) < want:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, "timeout"
        sock.settimeout(left)
        try:
            chunk = sock.recv(min(want - len(data), 65536))
        except socket.timeout:
            return data, "timeout"
        except OSError:  # reset, or a TLS error: the peer is gone
            chunk = b""
        if not chunk:
            return data, "closed"
        data += chunk
    return data, ""


def _end_session(sock: socket.socket, reason: int, deadline: float) -> bool:
    """Sends our ESID, then lets the responder close first (bounded); whether it was sent."""
    try:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(oftp.frame(oftp.encode_esid(reason)))
    except OSError:
        return False
    _receive(sock, DRAIN_BYTES, min(deadline, time.monotonic() + DRAIN_SECONDS))
    return True


def _session(sock: socket.socket, port: int, odette_id: str, password: str, *,
             result: ProbeResult, started: float, deadline: float, budget: float) -> str | None:
    """Start Session as the monitoring partner and end it; a problem sentence, or None."""
    partner = printable(odette_id, oftp.ID_LENGTH)
    ours = oftp.encode_ssid(odette_id, password)
    try:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(oftp.frame(ours))
    except OSError:
        return f"port {port} closed the connection before the session start of partner " \
               f"{partner}"

    def unexpected(received: bytes, why: str, reason: int) -> str:
        _end_session(sock, reason, deadline)
        return f"unexpected answer to the session start on port {port}: " \
               f"{oftp.shown(oftp.masked(received, password))} ({why})"

    header, end = _receive(sock, oftp.HEADER_LENGTH, deadline)
    if not header:
        if end == "timeout":
            return f"no answer to the session start of partner {partner} within " \
                   f"{_wait(budget)} on port {port}"
        result.advice = "OS4X closes without an answer when it cannot read its partners: " \
                        "look at its receive log and at the database check"
        return f"port {port} closed the connection after the session start of partner " \
               f"{partner}, without SSID or ESID"
    if end:
        return f"answer to the session start on port {port} cut short: {oftp.shown(header)}"
    try:
        length = oftp.parse_header(header)
    except ValueError as error:
        more, _ = _receive(sock, oftp.SHOWN, min(deadline, time.monotonic() + 0.2))
        return unexpected(header + more, str(error), oftp.BUFFER_SIZE_ERROR)
    if length > oftp.MAX_ANSWER:  # never read what a hostile header announces
        more, _ = _receive(sock, oftp.SHOWN, min(deadline, time.monotonic() + 0.2))
        return unexpected(header + more, f"the header announces {length} octets; an SSID or "
                          f"ESID has at most {oftp.MAX_ANSWER}", oftp.BUFFER_SIZE_ERROR)
    command, end = _receive(sock, length, deadline)
    if end:
        how = "then closed" if end == "closed" else f"then nothing within {_wait(budget)}"
        return f"answer to the session start on port {port} cut short: " \
               f"{oftp.shown(oftp.masked(command, password))} ({len(command)} of {length} " \
               f"octets, {how})"
    if command == ours:
        return unexpected(command, "our own SSID, echoed", oftp.PROTOCOL_VIOLATION)
    try:
        answer = oftp.parse_answer(command)
    except oftp.AnswerError as error:
        return unexpected(command, str(error), error.reason)
    if isinstance(answer, oftp.SessionEnd):
        result.advice = REFUSAL_ADVICE.get(answer.reason, "").format(partner=partner)
        if answer.text:
            result.notes.append(f"port {port}: the ESID says '{answer.text}'")
        return f"partner {partner} refused on port {port}: {answer.describe()}"
    result.session_seconds = time.monotonic() - started
    result.responder = answer
    if answer.authentication:  # RFC 5024 5.3.2: no negotiation, the initiator must abort
        _end_session(sock, oftp.AUTHENTICATION_INCOMPATIBLE, deadline)
        result.advice = REFUSAL_ADVICE[12].format(partner=partner)
        return f"port {port} asks partner {partner} for secure authentication, which the " \
               "session probe does not do"
    ended = _end_session(sock, oftp.NORMAL, deadline)
    result.notes.append(f"port {port}: session of partner {partner} accepted by "
                        f"{answer.describe()} in {result.session_seconds:.3f}s; "
                        + ("ended with ESID 00" if ended else "closed before our ESID 00"))
    return None


def probe(host: str, port: int, budget: float, *, tls: bool = False,
          ca_file: str | None = None, now: datetime | None = None,
          odette_id: str | None = None, odette_password: str = "",
          client_cert: tuple[str, str] | None = None) -> ProbeResult:
    """Connects, (handshakes,) reads and verifies the ready message within budget seconds;
    with an ODETTE ID, then starts a session as that partner and ends it normally."""
    result = ProbeResult(port)
    if budget < MIN_BUDGET:
        result.unknown = f"no time left within -t to probe port {port}"
        return result
    started = time.monotonic()
    deadline = started + budget
    address = connect_host(host)
    try:
        sock = netwait.connect(address, port, budget)  # DNS and every address share budget
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
                                      client_cert=client_cert,
                                      budget=budget)
        if conversation is not None:
            result.problem = _read_ready(conversation, port, deadline, budget)
            if result.problem is None:
                result.seconds = time.monotonic() - started
                if odette_id:
                    result.problem = _session(conversation, port, odette_id, odette_password,
                                              result=result, started=started,
                                              deadline=deadline, budget=budget)
            if conversation is not sock:
                conversation.close()
    finally:
        sock.close()
    if result.cert_not_after is not None:
        moment = now or datetime.now(timezone.utc)
        result.cert_days = (result.cert_not_after - moment).total_seconds() / 86400
        result.cert_not_yet_valid = result.cert_not_before is not None \
            and result.cert_not_before > moment
    return result
