"""Listening TCP sockets and the processes that hold them, read the cheap way.

On Linux the kernel lists the listening sockets on the expected ports with their inodes over
netlink (netlink.py), at a cost that does not grow with the host's connections; where netlink
is refused (some containers), its tables ``/proc/net/tcp`` and ``tcp6`` list every socket. A
process holds a socket when one of its ``/proc/<pid>/fd`` entries links to
``socket:[<inode>]``. Only the inodes of the expected ports are looked for, and first only in
the OS4X processes of the shared process table: on a healthy host that answers everything
without reading the descriptors of thousands of other processes. Only sockets left without a
holder make the scan visit every process (a foreign program on the port, or descriptors that
an unprivileged user may not read). Elsewhere psutil gives one holder per socket.
"""

from __future__ import annotations

import os
import sys

from os4xmon.core.record import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Iterable


LISTEN = "0A"
PROC = "/proc"
SOCKET_LINK = "socket:["  # what /proc/PID/fd/N links to for a socket: socket:[<inode>]


@dataclass(frozen=True)
class Entry:
    """One LISTEN line of /proc/net/tcp{,6}."""

    address: str
    port: int
    inode: int


@dataclass(frozen=True)
class Listener:
    """A listening socket on an expected port and the pids seen holding it (none: not seen)."""

    port: int
    address: str
    pids: tuple[int, ...] = ()


def _address(hex_text: str, byteorder: str) -> str:
    """/proc/net/tcp writes addresses as 32-bit words in the host's byte order."""
    raw = bytes.fromhex(hex_text)
    if byteorder == "little":
        raw = b"".join(raw[index:index + 4][::-1] for index in range(0, len(raw), 4))
    if len(raw) == 4:
        return ".".join(str(byte) for byte in raw)
    if len(raw) != 16:
        raise ValueError(f"address of {len(raw)} bytes")
    import ipaddress

    address = ipaddress.IPv6Address(raw)
    if address.ipv4_mapped:  # written the same way on every Python version
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_proc_net_tcp(text: str, byteorder: str = sys.byteorder) -> list[Entry]:
    """The LISTEN sockets of one /proc/net/tcp or tcp6 table; malformed lines are skipped."""
    entries = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != LISTEN:
            continue
        address, _, port = fields[1].partition(":")
        if len(port) != 4 or not all(char in HEX_DIGITS for char in port):  # 0CE9: 3305
            continue
        try:
            entries.append(Entry(_address(address, byteorder), int(port, 16), int(fields[9])))
        except ValueError:
            continue
    return entries


def _socket_inodes(pid: int, proc: str) -> Iterable[int]:
    """The socket inodes a process holds; nothing when it exited or may not be read."""
    directory = f"{proc}/{pid}/fd"
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        try:
            link = os.readlink(f"{directory}/{name}")
        except OSError:
            continue
        inode = link[len(SOCKET_LINK):-1]
        if link.startswith(SOCKET_LINK) and link.endswith("]") and inode.isdigit():
            yield int(inode)


def _all_pids(proc: str) -> list[int]:
    try:
        return [int(entry) for entry in os.listdir(proc) if entry.isdigit()]
    except OSError:
        return []


def holders(inodes: set[int], first: Iterable[int], proc: str = PROC) -> dict[int, set[int]]:
    """inode -> pids holding it: the ``first`` pids, then every process if some are unfound."""
    found: dict[int, set[int]] = {}
    visited = set()
    for pid in first:
        visited.add(pid)
        for inode in _socket_inodes(pid, proc):
            if inode in inodes:
                found.setdefault(inode, set()).add(pid)
    if inodes - set(found):
        for pid in _all_pids(proc):
            if pid in visited:
                continue
            for inode in _socket_inodes(pid, proc):
                if inode in inodes:
                    found.setdefault(inode, set()).add(pid)
    return found


NETLINK = "netlink (sock_diag)"
PROC_NET = "/proc/net/tcp and tcp6"
PSUTIL = "psutil"


def _from_netlink(ports: set[int], timeout: float) -> tuple[list[Entry] | None, str]:
    """The kernel's answer, or None and why it could not be had."""
    if not sys.platform.startswith("linux"):
        return None, "not Linux"
    from os4xmon.sources.netlink import NetlinkError, listening  # Linux only

    try:
        return [Entry(found.address, found.port, found.inode)
                for found in listening(ports, timeout)], ""
    except NetlinkError as error:
        return None, str(error)


def _from_proc_net(ports: set[int], proc: str) -> list[Entry] | None:
    if not os.path.exists(f"{proc}/net/tcp"):
        return None
    entries: list[Entry] = []
    for table in ("tcp", "tcp6"):
        try:
            with open(f"{proc}/net/{table}", encoding="ascii", errors="replace") as stream:
                entries.extend(entry for entry in parse_proc_net_tcp(stream.read())
                               if entry.port in ports)
        except OSError:
            continue  # no IPv6 on this host
    return entries


def read_listeners(ports: set[int], candidates: Iterable[int], proc: str = PROC,
                   timeout: float = 5.0) -> tuple[list[Listener], str]:
    """The listening sockets on the given ports, with their holders where they can be seen,
    and where they were read (netlink, else /proc/net, else psutil), for the long output."""
    entries, refused = _from_netlink(ports, timeout) if proc == PROC else (None, "")
    source = NETLINK
    if entries is None:
        entries = _from_proc_net(ports, proc)
        source = PROC_NET + (f" (netlink: {refused})" if refused else "")
    if entries is None:
        return _read_listeners_portable(ports), PSUTIL
    inodes = {entry.inode for entry in entries if entry.inode}
    found = holders(inodes, candidates, proc) if inodes else {}
    return [Listener(entry.port, entry.address, tuple(sorted(found.get(entry.inode, ()))))
            for entry in entries], source


def _read_listeners_portable(ports: set[int]) -> list[Listener]:
    from os4xmon.core import system_modules  # psutil: only where Linux's /proc is missing

    psutil = system_modules.require("psutil")

    listeners = []
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error as error:  # as OSError, which the port check reports as unseen
        raise PermissionError(f"cannot list the sockets: {error}") from None
    for connection in connections:
        if connection.status != psutil.CONN_LISTEN or not connection.laddr:
            continue
        if connection.laddr.port in ports:
            pids = (connection.pid,) if connection.pid else ()
            listeners.append(Listener(connection.laddr.port, connection.laddr.ip, pids))
    return listeners
