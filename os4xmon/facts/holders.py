"""Who holds a listening socket: OS4X's daemon, a child of it, another installation, an
impostor or another program, and which daemons run in another network namespace (a container).

Facts the port check judges; the process table and the identity classification come from
``facts.identity``, the short name of a process outside the table from the system. Only
``foreign_owner`` does I/O.
"""

from __future__ import annotations

from os4xmon.core.record import dataclass
from os4xmon.core.text import printable
from os4xmon.facts.identity import Identity, foreign_note
from os4xmon.os4x import daemons

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Collection, Mapping, Sequence

    from os4xmon.sources.proctable import ProcessTable


@dataclass(frozen=True)
class Owner:
    """A process holding a socket, as far as the plugin knows it."""

    pid: int
    name: str  # printable
    daemon: str | None = None  # the OS4X daemon it is, if any
    instance: bool = False  # a daemon whose parent is not a process of the same daemon
    ancestors: tuple[int, ...] = ()  # its parent, grandparent, ... (a few, as far as known)


MAX_ANCESTORS = 8
"""Generations looked up for a holder: a worker or event script is a child or grandchild."""


def ancestors_of(pid: int, table: ProcessTable) -> tuple[int, ...]:
    """The pids above pid, from the process table, then from /proc for the rest: I/O."""
    from os4xmon.sources.proctable import parse_stat  # only a holder's family needs it

    found: list[int] = []
    current = pid
    while len(found) < MAX_ANCESTORS and current > 1:
        process = table.processes.get(current)
        if process is not None:
            parent = process.ppid
        else:
            try:
                with open(f"/proc/{current}/stat", "rb") as stream:
                    line = parse_stat(stream.read(4096))
            except OSError:
                break
            if line is None:
                break
            parent = line.ppid
        if parent <= 0 or parent in found:
            break
        found.append(parent)
        current = parent
    return tuple(found)


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
        owners[pid] = Owner(pid, name, daemon, daemon is not None and parent_daemon != daemon,
                            ancestors_of(pid, table))
    return owners


def in_other_network_namespace(table: ProcessTable,
                               names: Collection[str]) -> dict[str, tuple[int, str]]:
    """The daemons of these names that run in another network namespace than the plugin
    (OS4X in a container on this host): name -> (pid, namespace); no I/O."""
    found: dict[str, tuple[int, str]] = {}
    if not table.own_net_ns:
        return found
    for pid, process in sorted(table.processes.items()):
        name = daemons.daemon_of(process.cmdline, process.comm)
        if name is not None and name in names and process.net_ns \
                and process.net_ns != table.own_net_ns \
                and not process.zombie:
            found.setdefault(name, (pid, process.net_ns))
    return found


def foreign_owner(pid: int, table: ProcessTable | None = None) -> Owner:
    """A holder outside the process table (not OS4X): its short name from the system, and
    its ancestors (an event script is a child of a daemon)."""
    owner = _named_owner(pid)
    if table is None:
        return owner
    return Owner(owner.pid, owner.name, ancestors=ancestors_of(pid, table))


def _named_owner(pid: int) -> Owner:
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
