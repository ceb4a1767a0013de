"""Listening TCP sockets straight from the kernel, as ``ss -ltn`` gets them (NETLINK_SOCK_DIAG).

Reading ``/proc/net/tcp`` makes the kernel walk and format every TCP socket of the host, so its
cost grows with every established connection. A sock_diag dump asks only for state LISTEN, and
the kernel then walks only its listening hash; a bytecode filter (``INET_DIAG_REQ_BYTECODE``)
also drops, in the kernel, every listener that is not on one of the ports asked for. Written
with ``struct`` from the kernel's headers (linux/netlink.h, linux/sock_diag.h,
linux/inet_diag.h); every reply is length-checked, so a truncated or hostile one raises
:class:`NetlinkError` instead of a traceback or a hang.

It talks to the kernel through ``_socket``, the C module that ``socket`` wraps: the wrapper
adds enums, ``makefile`` and ``sendfile`` (3 ms of import on every run), none of which a
netlink dump uses.
"""

from __future__ import annotations

import _socket
import errno
import os
import struct
import time

from os4xmon.core.record import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Iterable, Iterator

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300  # NLM_F_ROOT | NLM_F_MATCH
NLMSG_ERROR = 2
NLMSG_DONE = 3
TCP_LISTEN = 10
INET_DIAG_REQ_BYTECODE = 1
INET_DIAG_BC_JMP = 1
INET_DIAG_BC_S_GE = 2
INET_DIAG_BC_S_LE = 3

NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
NLATTR_HEADER = struct.Struct("=HH")  # length, type
BC_OP = struct.Struct("=BBH")  # code, yes, no: jumps in bytes; a port sits in a follow-on op
# inet_diag_req_v2: family, protocol, extensions, pad, states, then inet_diag_sockid:
# source and destination port (in network byte order), two 16-byte addresses, interface, cookie
REQUEST = struct.Struct("=BBBxIHH16s16sI8s")
# inet_diag_msg: family, state, timer, retransmits, inet_diag_sockid, expires, read queue,
# write queue, uid, inode
MESSAGE = struct.Struct("=BBBBHH16s16sI8sIIIII")

MAX_PORTS = 64  # the bytecode's jumps are bytes; the plugin asks for at most four ports
MAX_REPLY_BYTES = 4 * 1024 * 1024  # a host with more listening sockets than this is not sane
RECEIVE_BUFFER = 65536
MAX_WAIT = 5.0  # seconds; the kernel answers in microseconds, this bounds a wedged one
NO_FAMILY = (errno.ENOENT, errno.EAFNOSUPPORT)  # what a kernel without IPv6 answers


class NetlinkError(Exception):
    """The kernel refused sock_diag (some containers), or sent a reply that makes no sense."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code  # the errno the kernel answered with, if it answered with one


@dataclass(frozen=True)
class Socket:
    """A listening TCP socket as the kernel reports it."""

    address: str
    port: int
    inode: int
    uid: int | None = field(default=None, compare=False)  # the socket's owner


def port_filter(ports: Iterable[int]) -> bytes:
    """Bytecode that accepts a socket whose local port is one of ``ports``.

    For each port but the last: ``S_GE p`` and ``S_LE p``, both jumping to the next port's test
    when they fail, then a ``JMP`` to the end (accept). The last port's tests jump past the end
    when they fail (reject). The kernel's audit follows the "yes" jumps, so each of them leads
    to the next op and every "no" target lies on that chain, as inet_diag_bc_audit requires.
    """
    wanted = sorted(set(ports))
    if not wanted or len(wanted) > MAX_PORTS or not all(0 < port < 65536 for port in wanted):
        raise ValueError("1 to 64 TCP ports")
    length = 20 * (len(wanted) - 1) + 16
    code = b""
    for index, port in enumerate(wanted):
        left = length - len(code)  # bytes from this port's first op to the end
        last = index == len(wanted) - 1
        fail_first, fail_second = (left + 4, left - 8 + 4) if last else (20, 12)
        code += BC_OP.pack(INET_DIAG_BC_S_GE, 8, fail_first) + BC_OP.pack(0, 0, port)
        code += BC_OP.pack(INET_DIAG_BC_S_LE, 8, fail_second) + BC_OP.pack(0, 0, port)
        if not last:
            code += BC_OP.pack(INET_DIAG_BC_JMP, 4, left - 16)
    return code


def dump_request(family: int, ports: Iterable[int], sequence: int) -> bytes:
    """One SOCK_DIAG_BY_FAMILY dump request: TCP sockets in LISTEN on ``ports``."""
    bytecode = port_filter(ports)
    body = REQUEST.pack(family, _socket.IPPROTO_TCP, 0, 1 << TCP_LISTEN, 0, 0, b"", b"", 0, b"")
    attribute = NLATTR_HEADER.pack(NLATTR_HEADER.size + len(bytecode),
                                   INET_DIAG_REQ_BYTECODE) + bytecode
    payload = body + attribute
    return NLMSG_HEADER.pack(NLMSG_HEADER.size + len(payload), SOCK_DIAG_BY_FAMILY,
                             NLM_F_REQUEST | NLM_F_DUMP, sequence, 0) + payload


def _address(family: int, raw: bytes) -> str:
    """Dotted IPv4, or IPv6 as inet_ntop writes it (``::ffff:1.2.3.4`` for a mapped one)."""
    if family == _socket.AF_INET:
        return _socket.inet_ntop(_socket.AF_INET, raw[:4])
    return _socket.inet_ntop(_socket.AF_INET6, raw)


def parse_reply(data: bytes, sequence: int) -> tuple[list[Socket], bool]:
    """The sockets in one datagram of a dump, and whether the dump is complete (NLMSG_DONE)."""
    sockets: list[Socket] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < NLMSG_HEADER.size:
            raise NetlinkError("truncated netlink header")
        length, kind, _flags, seq, _port = NLMSG_HEADER.unpack_from(data, offset)
        if length < NLMSG_HEADER.size or offset + length > len(data):
            raise NetlinkError(f"netlink message of {length} bytes in a reply of {len(data)}")
        if seq != sequence:
            raise NetlinkError(f"netlink reply to request {seq}, not {sequence}")
        body = data[offset + NLMSG_HEADER.size:offset + length]
        if kind == NLMSG_DONE:
            return sockets, True
        if kind == NLMSG_ERROR:
            code = struct.unpack_from("=i", body)[0] if len(body) >= 4 else 0
            if code == 0:  # an acknowledgement, not an error
                return sockets, True
            reason = os.strerror(-code) if -4096 < code < 0 else str(code)
            raise NetlinkError(f"the kernel refused: {reason}", -code)
        if kind != SOCK_DIAG_BY_FAMILY:
            raise NetlinkError(f"unexpected netlink message type {kind}")
        if len(body) < MESSAGE.size:
            raise NetlinkError(f"inet_diag_msg of {len(body)} bytes")
        family, state, *_, sport, _dport, source, _dest, _if, _cookie, _expires, _rq, _wq, \
            uid, inode = MESSAGE.unpack_from(body)
        if family not in (_socket.AF_INET, _socket.AF_INET6) or state != TCP_LISTEN:
            raise NetlinkError(f"a socket of family {family} in state {state} was not asked for")
        sockets.append(Socket(_address(family, source), _socket.ntohs(sport), inode, uid))
        offset += (length + 3) & ~3  # NLMSG_ALIGN
    return sockets, False


def _dump(family: int, ports: set[int], deadline: float, sequence: int) -> Iterator[Socket]:
    channel = _socket.socket(_socket.AF_NETLINK, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC,
                             NETLINK_SOCK_DIAG)
    try:
        channel.settimeout(max(deadline - time.monotonic(), 0.001))
        channel.sendto(dump_request(family, ports, sequence), (0, 0))
        received = 0
        while True:
            channel.settimeout(max(deadline - time.monotonic(), 0.001))
            data = channel.recv(RECEIVE_BUFFER)
            received += len(data)
            if not data or received > MAX_REPLY_BYTES:
                raise NetlinkError("the netlink dump did not end")
            found, done = parse_reply(data, sequence)
            yield from found
            if done:
                return
    finally:
        channel.close()


def listening(ports: set[int], timeout: float) -> list[Socket]:
    """The listening TCP sockets (IPv4 and IPv6) on ``ports``.

    Raises NetlinkError where sock_diag is refused or answers nonsense, so that the caller
    can fall back to /proc/net/tcp; a wait longer than ``timeout`` raises it too.
    """
    deadline = time.monotonic() + min(timeout, MAX_WAIT)
    found: list[Socket] = []
    for sequence, family in enumerate((_socket.AF_INET, _socket.AF_INET6), 1):
        try:
            found.extend(item for item in _dump(family, ports, deadline, sequence)
                         if item.port in ports)
        except NetlinkError as error:
            if family == _socket.AF_INET6 and error.code in NO_FAMILY:
                continue  # a kernel without IPv6 has no IPv6 listeners
            raise
        except (OSError, struct.error, ValueError) as error:  # socket.timeout is an OSError
            raise NetlinkError(f"{type(error).__name__}: {error}") from None
    return found
