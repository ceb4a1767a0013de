"""Listening TCP sockets and the processes that hold them, read the cheap way.

On Linux the kernel lists the listening sockets on the expected ports with their inodes over
netlink (netlink.py), at a cost that does not grow with the host's connections; where netlink
is refused (some containers), its tables ``/proc/net/tcp`` and ``tcp6`` list every socket. A
process holds a socket when one of its ``/proc/<pid>/fd`` entries links to
``socket:[<inode>]``. Only the inodes of the expected ports are looked for, and first only in
the OS4X processes of the shared process table: on a healthy host that answers everything
without reading the descriptors of thousands of other processes. Only sockets left without a
holder make the scan visit the other processes (a foreign program on the port, or descriptors
that an unprivileged user may not read): those of the socket's owner (the kernel names its
uid) first, and it stops once every socket has a holder, or at its deadline (1,500 processes
with 2,000 descriptors each took 45 s to read in full). Elsewhere psutil gives one holder per
socket.
"""

from __future__ import annotations

import os
import sys

from os4xmon.core.record import dataclass, field

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
    uid: int | None = field(default=None, compare=False)  # the socket's owner


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
            entries.append(Entry(_address(address, byteorder), int(port, 16), int(fields[9]),
                                 int(fields[7]) if fields[7].isdigit() else None))
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


@dataclass
class HolderSearch:
    """The result of a holder search: inode -> pids, and whether the deadline cut it short."""

    found: dict[int, set[int]] = field(default_factory=dict)
    stopped: str = ""  # why the search ended before every socket had a holder


def _owner_uid(pid: int, proc: str) -> int | None:
    try:
        return os.stat(f"{proc}/{pid}").st_uid
    except OSError:
        return None


def holders(inodes: set[int], first: Iterable[int], proc: str = PROC,
            owners: Iterable[int] = (), deadline: float | None = None) -> HolderSearch:
    """inode -> pids holding it: every ``first`` pid, then the other processes only while an
    inode has no holder, those of the sockets' owners (``owners``: uids) first, until the
    deadline (``time.monotonic()``)."""
    import time

    search = HolderSearch()
    found = search.found
    visited = set()

    def visit(pid: int) -> None:
        visited.add(pid)
        for inode in _socket_inodes(pid, proc):
            if inode in inodes:
                found.setdefault(inode, set()).add(pid)

    for pid in first:
        visit(pid)
    if not inodes - set(found):
        return search
    uids = set(owners)
    rest = [pid for pid in _all_pids(proc) if pid not in visited]
    if uids:  # the socket's owner usually still holds it: look there first
        rest.sort(key=lambda pid: _owner_uid(pid, proc) not in uids)
    for count, pid in enumerate(rest):
        if deadline is not None and time.monotonic() > deadline:
            search.stopped = (f"the holder search stopped at its time limit after {count} of "
                              f"{len(rest)} other processes")
            break
        visit(pid)
        if not inodes - set(found):
            break
    return search


NETLINK = "netlink (sock_diag)"
PROC_NET = "/proc/net/tcp and tcp6"
PSUTIL = "psutil"


def _from_netlink(ports: set[int], timeout: float) -> tuple[list[Entry] | None, str]:
    """The kernel's answer, or None and why it could not be had."""
    if not sys.platform.startswith("linux"):
        return None, "not Linux"
    from os4xmon.sources.netlink import NetlinkError, listening  # Linux only

    try:
        return [Entry(found.address, found.port, found.inode, found.uid)
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
    import time

    started = time.monotonic()
    entries, refused = _from_netlink(ports, timeout) if proc == PROC else (None, "")
    source = NETLINK
    if entries is None:
        entries = _from_proc_net(ports, proc)
        source = PROC_NET + (f" (netlink: {refused})" if refused else "")
    if entries is None:
        return _read_listeners_portable(ports), PSUTIL
    inodes = {entry.inode for entry in entries if entry.inode}
    owners = {entry.uid for entry in entries if entry.uid is not None}
    # half of the time at most: what is left is the probe's and the other aspects'
    search = holders(inodes, candidates, proc, owners, started + timeout / 2) if inodes \
        else HolderSearch()
    if search.stopped:
        source += f"; {search.stopped}"
    return [Listener(entry.port, entry.address, tuple(sorted(search.found.get(entry.inode, ()))))
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
