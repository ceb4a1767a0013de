"""PyMySQL's connection with three walls it lacks: a deadline, a byte cap and a closed mouth.

- **Deadline, not per read.** PyMySQL's read timeout applies to each ``recv``: a server that
  sends one byte every half second never times out. Here every ``recv`` is given what is left of
  the deadline, the name is resolved within it, and each address of a host name gets its share
  of it, not the whole budget (:func:`os4xmon.core.netwait.connect`).
- **Byte cap.** PyMySQL joins the 16 MB packets of one message for as long as the server sends
  them; here a connection reads at most :data:`MAX_BYTES`, so a server that streams an endless
  packet costs a few MiB, not all the memory of the monitoring host. A streamed answer
  (``cap_each_message``, set by :meth:`os4xmon.db.mysql.MysqlConnection.stream`) may be of any
  length, since its rows are folded and let go: there the cap holds for each message (one row).
- **No password to an impostor.** Any local user who binds port 3306 while the database
  restarts can ask for ``mysql_clear_password`` (or ``dialog``, or ``sha256_password``, or the
  public-key round of ``caching_sha2_password``, which encrypts to a key the server chooses).
  The password leaves in any such form only over TLS with a verified server (``--db-ssl-ca``).

Imported only by :mod:`os4xmon.db.mysql` when a MySQL connection is made.
"""

from __future__ import annotations

import io
import socket

import pymysql
import pymysql.connections
import pymysql.protocol

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable
else:
    Any = object


MAX_BYTES = 8 * 1024 * 1024
"""Bytes one connection reads from the server at most: 10,000 rows of (name, pid) are well
under a MiB; 8 MiB leaves room for long names and keeps the plugin's memory small."""

_Base: Any = pymysql.connections.Connection  # private methods are overridden: no stubs for them

CLEAR_TEXT_PLUGINS = (b"mysql_clear_password", b"dialog", b"sha256_password")
CR_AUTH_PLUGIN_ERR = 2061
CLIENT_SSL = 0x800  # the client refuses the server's authentication method


class TooMuchData(Exception):
    """The server sent more than MAX_BYTES on one connection."""


class _DeadlineReader(io.RawIOBase):
    """The socket as a file whose every recv waits no longer than the deadline allows."""

    def __init__(self, sock: socket.socket, left: Callable[[], float],
                 counter: list[int]) -> None:
        super().__init__()
        self.sock = sock
        self.left = left
        self.counter = counter

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.left()
        if left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        count = self.sock.recv_into(buffer)
        self.counter[0] += count
        if self.counter[0] > MAX_BYTES:
            raise TooMuchData(f"the server sent more than {MAX_BYTES // 1024 // 1024} MiB")
        return count


def open_tcp(host: str, port: int, left: Callable[[], float]) -> socket.socket:
    """A TCP connection to host:port within what is left: the name resolved in a thread that
    cannot hang the plugin, and each of several addresses given an equal share of what is
    left, so a first address that swallows its SYNs does not use up the whole budget."""
    from os4xmon.core import netwait  # sockets only once a connection is made

    remaining = left()
    if remaining <= 0:
        raise socket.timeout("timed out")
    sock = netwait.connect(host, port, remaining)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    return sock


class GuardedConnection(_Base):
    """Made with defer_connect=True; :meth:`open` sets the deadline and connects."""

    _left: Callable[[], float]
    _trusted = False  # TLS with a verified server: the password may travel in clear inside
    _authenticating = False
    _tls_required = False
    _auth_plugin_name: str
    cap_each_message = False  # the byte cap for each message, not the whole connection

    def open_guarded(self, left: Callable[[], float], trusted: bool,
                     tls_required: bool) -> None:
        self._left = left
        self._trusted = trusted
        self._tls_required = tls_required
        self._received = [0]
        self._reader_for: Any = None
        sock = None
        if not self.unix_socket:
            try:
                sock = open_tcp(self.host, self.port, left)
            except OSError as error:
                raise pymysql.err.OperationalError(
                    2003, f"Can't connect to MySQL server on {self.host!r} ({error})") from None
        self.connect(sock)
        if sock is not None:
            self.host_info = f"socket {self.host}:{self.port}"

    # -- every read within the deadline and the byte cap --

    def _read_bytes(self, num_bytes: int) -> bytes:
        if self._reader_for is not self._sock:  # a new socket: after connect or TLS
            raw = _DeadlineReader(self._sock, self._left, self._received)
            self._rfile = io.BufferedReader(raw, 16384)
            self._reader_for = self._sock
        data: bytes = super()._read_bytes(num_bytes)
        return data

    def _read_packet(self, packet_type: Any = pymysql.protocol.MysqlPacket) -> Any:
        if self.cap_each_message:
            self._received[0] = 0  # plus what the 16 KiB read-ahead already holds
        return super()._read_packet(packet_type)

    def _write_bytes(self, data: bytes) -> None:
        left = self._left()
        if left <= 0:
            raise pymysql.err.OperationalError(2013, "timed out")
        self._write_timeout = left  # sendall: one timeout for the whole send
        self._current_timeout = None  # the reader changed it behind PyMySQL's back
        super()._write_bytes(data)

    # -- no clear-text password unless the server is verified --

    def _get_server_information(self) -> None:
        super()._get_server_information()
        if not self._trusted and self._auth_plugin_name == "sha256_password":
            # PyMySQL would put the clear password into its first answer over any TLS; a
            # native scramble reveals nothing, and a real sha256 server switches, refused below
            self._auth_plugin_name = "mysql_native_password"

    def _request_authentication(self) -> None:
        if self._tls_required and not self.server_capabilities & CLIENT_SSL:
            # PyMySQL before 1.2 went on in the clear, password and all
            self._force_close()
            raise pymysql.err.OperationalError(
                2026, "SSL is required (--db-ssl) but the server does not offer it")
        self._authenticating = True
        try:
            super()._request_authentication()
        finally:
            self._authenticating = False

    def _process_auth(self, plugin_name: bytes, auth_packet: Any, handler: Any = None) -> Any:
        if not self._trusted and plugin_name in CLEAR_TEXT_PLUGINS:
            self._refuse(plugin_name.decode("ascii", "replace"))
        if handler is None:  # PyMySQL before 1.1 takes no handler
            return super()._process_auth(plugin_name, auth_packet)
        return super()._process_auth(plugin_name, auth_packet, handler)

    def write_packet(self, payload: bytes) -> None:
        if self._authenticating and not self._trusted and self.password and (
                payload == self.password + b"\0" or payload in (b"\1", b"\2")):
            # the full round of caching_sha2_password: the password in clear over unverified
            # TLS, or a request for the server's key to encrypt it to
            self._refuse("caching_sha2_password full authentication")
        super().write_packet(payload)

    def _refuse(self, method: str) -> None:
        self._force_close()
        raise pymysql.err.OperationalError(
            CR_AUTH_PLUGIN_ERR, f"the server asks for the password by {method}, which would "
            "hand it over readable: refused, since the connection is not TLS with a verified "
            "server (use --db-ssl-ca)")
