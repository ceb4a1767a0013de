"""One snapshot of the process table, read once and shared by every aspect.

Reading is the only I/O here, and it is built for hosts with thousands of processes: a cheap pass
over every process (short name and parent only: one small read per process on Linux), then full
details (command line, user, start time, memory) only for the candidates, which are the
processes whose short name starts with ``os4x`` and their children (os4xsqd's actions may run
other programs). Processes that vanish or deny access while being read never raise: a vanished
process is left out, a denied detail stays None and is reported as not verified.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Iterator, Mapping, NamedTuple, Sequence

from os4xmon.daemons import looks_like_os4x

PROC = "/proc"


@dataclass(frozen=True)
class ProcessInfo:
    """What the plugin knows of one process; None where it could not be read."""

    pid: int
    ppid: int
    comm: str
    cmdline: tuple[str, ...] | None = None
    username: str | None = None
    create_time: float | None = None
    rss: int | None = None
    zombie: bool = False


@dataclass(frozen=True)
class ProcessTable:
    """The processes of interest, by pid, and when and how completely they were read."""

    processes: Mapping[int, ProcessInfo]
    taken_at: float
    scanned: int = 0  # how many processes the cheap pass saw
    unreadable: tuple[str, ...] = ()  # what could not be read, for the long output
    children_by_pid: Mapping[int, tuple[int, ...]] = field(default_factory=dict)

    def children(self, pid: int) -> list[ProcessInfo]:
        return [self.processes[child] for child in self.children_by_pid.get(pid, ())
                if child in self.processes]


class StatLine(NamedTuple):
    comm: str
    state: str
    ppid: int


def parse_stat(data: bytes) -> StatLine | None:
    """Parses /proc/<pid>/stat: ``pid (comm) state ppid ...``; None for anything malformed.

    The short name may itself contain spaces and parentheses, so it ends at the last ``)``.
    """
    start = data.find(b"(")
    end = data.rfind(b")")
    if start < 0 or end < start:
        return None
    rest = data[end + 1:].split()
    if len(rest) < 2 or len(rest[0]) != 1:
        return None
    try:
        ppid = int(rest[1])
    except ValueError:
        return None
    if ppid < 0:
        return None
    comm = data[start + 1:end].decode("utf-8", errors="backslashreplace")
    return StatLine(comm, rest[0].decode("ascii", errors="replace"), ppid)


def _list_linux(proc: str, unreadable: list[str]) -> Iterator[tuple[int, StatLine]]:
    """Every process's (pid, stat line), straight from /proc: the cheap pass on Linux."""
    try:
        entries = os.listdir(proc)
    except OSError as error:
        unreadable.append(f"{proc}: {error.strerror}")
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/stat", "rb") as stream:
                data = stream.read(4096)
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited between listing and reading
        except OSError as error:
            unreadable.append(f"pid {entry}: stat: {error.strerror}")
            continue
        line = parse_stat(data)
        if line is None:
            unreadable.append(f"pid {entry}: stat is malformed")
            continue
        yield int(entry), line


def _list_portable(unreadable: list[str]) -> Iterator[tuple[int, StatLine]]:
    """The cheap pass through psutil, for AIX, Solaris and other systems without Linux's /proc."""
    import psutil

    for process in psutil.process_iter(["ppid", "name", "status"]):
        info = process.info
        if info.get("name") is None or info.get("ppid") is None:
            unreadable.append(f"pid {process.pid}: name or parent denied")
            continue
        state = "Z" if info.get("status") == psutil.STATUS_ZOMBIE else "S"
        yield process.pid, StatLine(info["name"], state, info["ppid"])


def select_candidates(listing: Mapping[int, StatLine]) -> set[int]:
    """The OS4X-looking processes and their children: the only ones worth a detailed read."""
    chosen = {pid for pid, line in listing.items() if looks_like_os4x(line.comm)}
    chosen.update(pid for pid, line in listing.items() if line.ppid in chosen)
    return chosen


def _details(pid: int, line: StatLine, unreadable: list[str]) -> ProcessInfo | None:
    """Full details of one candidate; None when it exited meanwhile."""
    import psutil

    zombie = line.state == "Z"
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            cmdline: tuple[str, ...] | None = None
            if not zombie:
                try:
                    cmdline = tuple(process.cmdline())
                except psutil.AccessDenied:
                    unreadable.append(f"pid {pid} ({line.comm}): command line denied")
            try:
                username: str | None = process.username()
            except (psutil.AccessDenied, KeyError):
                username = None
                unreadable.append(f"pid {pid} ({line.comm}): user denied")
            try:
                create_time: float | None = process.create_time()
            except psutil.AccessDenied:
                create_time = None
            rss: int | None = None
            if not zombie:
                try:
                    rss = process.memory_info().rss
                except psutil.AccessDenied:
                    unreadable.append(f"pid {pid} ({line.comm}): memory denied")
            if process.ppid() != line.ppid and not zombie:
                return None  # the pid was reused between the two passes: not the one listed
    except psutil.ZombieProcess:
        return ProcessInfo(pid, line.ppid, line.comm, zombie=True)
    except psutil.NoSuchProcess:
        return None
    return ProcessInfo(pid, line.ppid, line.comm, cmdline, username, create_time, rss, zombie)


def read_process_table(proc: str = PROC) -> ProcessTable:
    """Reads the host's process table once; never raises for a process that misbehaves."""
    unreadable: list[str] = []
    taken_at = time.time()
    source = _list_linux(proc, unreadable) if os.path.isdir(f"{proc}/self") \
        else _list_portable(unreadable)
    listing: dict[int, StatLine] = dict(source)
    processes = [info for info in (_details(pid, listing[pid], unreadable)
                                   for pid in sorted(select_candidates(listing)))
                 if info is not None]
    return table_from(processes, taken_at, scanned=len(listing), unreadable=unreadable)


def table_from(processes: list[ProcessInfo], taken_at: float, scanned: int | None = None,
               unreadable: Sequence[str] = ()) -> ProcessTable:
    """The table of the given processes: what a real read returns, and what fixtures build."""
    children: dict[int, list[int]] = {}
    for info in processes:
        children.setdefault(info.ppid, []).append(info.pid)
    return ProcessTable(
        processes={info.pid: info for info in processes},
        taken_at=taken_at,
        scanned=len(processes) if scanned is None else scanned,
        unreadable=tuple(unreadable),
        children_by_pid={pid: tuple(kids) for pid, kids in children.items()},
    )
