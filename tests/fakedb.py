"""Impostor database servers on loopback: just enough MySQL or PostgreSQL protocol to ask for
the password in clear text, stream an endless packet, or drip one byte at a time.

Each records every byte the client sent, so a test can tell whether the password left.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from typing import Callable, Iterator

HOST = "127.0.0.1"

# MySQL capability flags a 5.7-like server announces (no SSL: an impostor need not offer it)
CAPABILITIES = (0x1 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x80000 | 0x200000)


def mysql_packet(sequence: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([sequence]) + payload


CLIENT_SSL = 0x800


def mysql_greeting(plugin: bytes = b"mysql_native_password",
                   capabilities: int = CAPABILITIES) -> bytes:
    salt = b"abcdefgh" + b"ijklmnopqrst"
    payload = (b"\x0a" + b"5.7.44-impostor\0" + struct.pack("<I", 7) + salt[:8] + b"\0"
               + struct.pack("<H", capabilities & 0xFFFF) + b"\x21" + struct.pack("<H", 2)
               + struct.pack("<H", capabilities >> 16) + bytes([21]) + b"\0" * 10
               + salt[8:] + b"\0" + plugin + b"\0")
    return mysql_packet(0, payload)


def read_mysql_packet(peer: socket.socket) -> bytes:
    header = _exactly(peer, 4)
    return _exactly(peer, int.from_bytes(header[:3], "little"))


def _exactly(peer: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = peer.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class Impostor:
    """A listener whose every connection runs scenario(peer, self); what came is recorded."""

    def __init__(self, scenario: Callable[[socket.socket, Impostor], None],
                 host: str = HOST) -> None:
        self.scenario = scenario
        self.received = bytearray()
        self.listener = socket.socket()
        self.listener.bind((host, 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def recv(self, peer: socket.socket, count: int = 65536) -> bytes:
        data = peer.recv(count)
        self.received += data
        return data

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                peer, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._run, args=(peer,), daemon=True).start()

    def _run(self, peer: socket.socket) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            peer.settimeout(60)
            self.scenario(peer, self)
        with contextlib.suppress(OSError):
            # whatever else the client still sends is recorded too
            peer.settimeout(1)
            while self.recv(peer):
                pass
        peer.close()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


@contextlib.contextmanager
def impostor(scenario: Callable[[socket.socket, Impostor], None],
             host: str = HOST) -> Iterator[Impostor]:
    server = Impostor(scenario, host)
    try:
        yield server
    finally:
        server.close()


def _record_packet(peer: socket.socket, server: Impostor) -> bytes:
    header = _exactly(peer, 4)
    payload = _exactly(peer, int.from_bytes(header[:3], "little"))
    server.received += header + payload
    return payload


def mysql_switch_to(plugin: bytes, data: bytes = b"") -> Callable[[socket.socket, Impostor],
                                                                  None]:
    """Greets as mysql_native_password, then switches to plugin and records the answer."""
    def scenario(peer: socket.socket, server: Impostor) -> None:
        peer.sendall(mysql_greeting())
        _record_packet(peer, server)  # the handshake response
        peer.sendall(mysql_packet(2, b"\xfe" + plugin + b"\0" + data))
        _record_packet(peer, server)  # the password, if the client gives it
        peer.sendall(mysql_packet(4, b"\xff\x15\x04#28000Access denied"))
    return scenario


def mysql_full_authentication(peer: socket.socket, server: Impostor) -> None:
    """caching_sha2_password: 'perform full authentication' (the client would send the password
    in clear over TLS, or ask for the server's RSA key to encrypt it to)."""
    peer.sendall(mysql_greeting(b"caching_sha2_password"))
    _record_packet(peer, server)
    peer.sendall(mysql_packet(2, b"\x01\x04"))
    _record_packet(peer, server)
    peer.sendall(mysql_packet(4, b"\xff\x15\x04#28000Access denied"))


def mysql_offering_tls(peer: socket.socket, server: Impostor) -> None:
    """A server that offers TLS: records the client's first answer (an SSLRequest when the
    client wants TLS, else its login), then refuses the login."""
    peer.sendall(mysql_greeting(capabilities=CAPABILITIES | CLIENT_SSL))
    _record_packet(peer, server)
    peer.sendall(mysql_packet(2, b"\xff\x15\x04#28000Access denied"))


def mysql_endless_packet(peer: socket.socket, server: Impostor) -> None:
    """After the handshake, packets of 16 MB - 1 (each says 'more follows'), forever."""
    peer.sendall(mysql_greeting())
    _record_packet(peer, server)
    chunk = b"\0" * 65536
    sequence = 2
    while True:
        peer.sendall(struct.pack("<I", 0xFFFFFF)[:3] + bytes([sequence % 256]))
        for _ in range(0xFFFFFF // len(chunk)):
            peer.sendall(chunk)
        peer.sendall(b"\0" * (0xFFFFFF % len(chunk)))
        sequence += 1


def mysql_drip(peer: socket.socket, server: Impostor) -> None:
    """The greeting, one byte every 0.3 seconds: each read gets its byte, none times out."""
    for byte in mysql_greeting():
        peer.sendall(bytes([byte]))
        time.sleep(0.3)
    time.sleep(60)


def postgres_clear_text(peer: socket.socket, server: Impostor) -> None:
    """Refuses TLS and GSS encryption, then asks for AuthenticationCleartextPassword."""
    while True:
        length = struct.unpack("!I", _exactly(peer, 4))[0]
        body = _exactly(peer, length - 4)
        server.received += body
        code = struct.unpack("!I", body[:4])[0]
        if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest
            peer.sendall(b"N")
            continue
        break  # the startup message
    peer.sendall(b"R" + struct.pack("!II", 8, 3))
    kind = _exactly(peer, 1)
    length = struct.unpack("!I", _exactly(peer, 4))[0]
    server.received += kind + _exactly(peer, length - 4)
    message = b"SFATAL\0C28P01\0Mpassword authentication failed\0\0"
    peer.sendall(b"E" + struct.pack("!I", len(message) + 4) + message)


@contextlib.contextmanager
def black_hole(host: str, port: int) -> Iterator[None]:
    """A listener whose accept queue is full: the kernel drops every new SYN, so a connect
    hangs as on a firewalled address."""
    listener = socket.socket()
    listener.bind((host, port))
    listener.listen(0)
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect((host, port))
        fillers.append(filler)
    time.sleep(0.2)
    try:
        yield
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
