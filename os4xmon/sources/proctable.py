"""One snapshot of the process table, read once and shared by every aspect.

Reading is the only I/O here, and it is built for hosts with thousands of processes: a cheap pass
over every process (its short name: one small read of ``/proc/PID/comm`` per process on Linux,
and the children of the OS4X-looking ones as the kernel lists them; where it lists none, one read
of ``/proc/PID/stat`` per process for name and parent), then full details (command line, user,
start time, memory, state, executable) only for the candidates, which are the processes whose
short name starts with ``os4x`` and their children (os4xsqd's actions may run other programs).
On Linux both passes read /proc directly: psutil alone costs more to import than the whole scan
of a normal host; other systems go through psutil. Processes that vanish or deny access while
being read never raise: a vanished process is left out, a denied detail stays None and is
reported as not verified.
"""

from __future__ import annotations

import contextlib
import os
import time

from os4xmon.core.record import dataclass, field
from os4xmon.os4x.daemons import looks_like_os4x

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Iterator, Mapping, Sequence


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
    state: str = "S"  # /proc/PID/stat's state letter: R, S, D, T (stopped), t (traced), Z...
    exe: str | None = None  # /proc/PID/exe's target, `` (deleted)`` kept; None: not readable
    exe_id: tuple[int, int] | None = None  # the executable's device and inode, in any namespace
    mnt_ns: str | None = None  # /proc/PID/ns/mnt ("mnt:[4026531841]"); None: not readable
    net_ns: str | None = None  # /proc/PID/ns/net
    user_ns: str | None = None  # /proc/PID/ns/user: another one is an unprivileged unshare -U


@dataclass(frozen=True)
class ProcessTable:
    """The processes of interest, by pid, and when and how completely they were read."""

    processes: Mapping[int, ProcessInfo]
    taken_at: float
    scanned: int = 0  # how many processes the cheap pass saw
    unreadable: tuple[str, ...] = ()  # what could not be read, for the long output
    children_by_pid: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    hidden: str | None = None  # why other users' processes cannot be seen at all, if so
    own_mnt_ns: str | None = None  # the plugin's own mount namespace; None: not known
    own_net_ns: str | None = None  # the plugin's own network namespace
    own_user_ns: str | None = None

    def children(self, pid: int) -> list[ProcessInfo]:
        return [self.processes[child] for child in self.children_by_pid.get(pid, ())
                if child in self.processes]


@dataclass(frozen=True)
class StatLine:
    """The fields of /proc/<pid>/stat the plugin uses."""

    comm: str
    state: str
    ppid: int
    start_ticks: int = 0  # clock ticks after boot
    rss_pages: int = 0


def parse_stat(data: bytes) -> StatLine | None:
    """Parses /proc/<pid>/stat: ``pid (comm) state ppid ...``; None for anything malformed.

    The short name may itself contain spaces and parentheses, so it ends at the last ``)``.
    """
    start = data.find(b"(")
    end = data.rfind(b")")
    if start < 0 or end < start:
        return None
    rest = data[end + 1:].split(None, 22)  # fields 3 to 24 (rss); the other 28 are not used
    if len(rest) < 2 or len(rest[0]) != 1:
        return None
    try:
        ppid = int(rest[1])
        start_ticks = int(rest[19]) if len(rest) > 21 else 0
        rss_pages = int(rest[21]) if len(rest) > 21 else 0
    except ValueError:
        return None
    if ppid < 0:
        return None
    comm = data[start + 1:end].decode("utf-8", errors="backslashreplace")
    return StatLine(comm, rest[0].decode("ascii", errors="replace"), ppid, start_ticks,
                    rss_pages)


def parse_cmdline(data: bytes) -> tuple[str, ...]:
    """/proc/<pid>/cmdline: NUL-separated arguments, decoded as psutil does (surrogateescape)."""
    if data.endswith(b"\0"):
        data = data[:-1]
    return tuple(part.decode("utf-8", errors="surrogateescape") for part in data.split(b"\0")) \
        if data else ()


def parse_real_uid(status: bytes) -> int | None:
    """The real uid from /proc/<pid>/status (its owner on disk changes with setuid daemons)."""
    for line in status.splitlines():
        if line.startswith(b"Uid:"):
            fields = line.split()
            return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
    return None


HIDING = (b"1", b"noaccess", b"2", b"invisible", b"4", b"ptraceable")
"""hidepid= values that keep an unprivileged user from seeing other users' processes."""


def hidden_by_mount(mountinfo: bytes, groups: Sequence[int], proc: str = PROC) -> str | None:
    """Why /proc hides other users' processes from this unprivileged run, or None.

    With ``hidepid=2`` (``invisible``) the processes of OS4X's user are simply not listed, so
    every daemon would look stopped: the check must say it cannot see, not that they stopped.
    The last mount on /proc is the one in effect (mounts stack). ``hidepid=1`` (noaccess) lists
    the pids but denies every file under them, ``stat`` included; ``hidepid=4`` (ptraceable)
    shows only the processes this user may trace: all of them hide OS4X's processes from a
    user that is not OS4X's. ``subset=pid`` alone hides /proc/net and /proc/stat, not processes.
    """
    effective = None
    for line in mountinfo.splitlines():
        left, _, right = line.partition(b" - ")
        fields, super_fields = left.split(), right.split()
        if len(fields) < 5 or len(super_fields) < 3 or fields[4].decode(errors="replace") != proc:
            continue
        if super_fields[0] == b"proc":
            effective = dict(item.partition(b"=")[::2] for item in super_fields[2].split(b","))
    if effective is None or effective.get(b"hidepid") not in HIDING:
        return None
    gid = effective.get(b"gid", b"")
    if gid.isdigit() and int(gid) in groups:
        return None
    return (f"{proc} is mounted with hidepid={effective[b'hidepid'].decode()}, which hides "
            "other users' processes: run the plugin as root (see the sudo rule) or add its "
            "user to the group of the mount's gid= option")


def _read(path: str, limit: int = 65536) -> bytes:
    """One file of /proc in few system calls; OSError (vanished, denied) for the caller."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        return os.read(descriptor, limit)
    finally:
        os.close(descriptor)


def _process_file(proc: str, entry: str, name: str, *, limit: int, unreadable: list[str],
                  denied: list[int]) -> bytes | None:
    """One small file of a process; None when it exited or cannot be read (noted)."""
    try:
        return _read(f"{proc}/{entry}/{name}", limit)
    except (FileNotFoundError, ProcessLookupError):
        return None  # exited between listing and reading
    except PermissionError as error:  # hidepid=1: listed, but nothing under it readable
        unreadable.append(f"pid {entry}: {name}: {error.strerror}")
        denied.append(int(entry))
        return None
    except OSError as error:
        unreadable.append(f"pid {entry}: {name}: {error.strerror}")
        return None


def _stat_line(proc: str, entry: str, unreadable: list[str],
               denied: list[int]) -> StatLine | None:
    """One process's stat line; None when it exited, is denied or is malformed (noted)."""
    data = _process_file(proc, entry, "stat", limit=4096, unreadable=unreadable,
                         denied=denied)
    if data is None:
        return None
    line = parse_stat(data)
    if line is None:
        unreadable.append(f"pid {entry}: stat is malformed")
    return line


def _pids(proc: str, unreadable: list[str]) -> list[str]:
    try:
        return [entry for entry in os.listdir(proc) if entry.isdigit()]
    except OSError as error:
        unreadable.append(f"{proc}: {error.strerror}")
        return []


def _list_linux(proc: str, unreadable: list[str],
                denied: list[int]) -> Iterator[tuple[int, StatLine]]:
    """Every process's (pid, stat line): the cheap pass where the kernel lists no children."""
    for entry in _pids(proc, unreadable):
        line = _stat_line(proc, entry, unreadable, denied)
        if line is not None:
            yield int(entry), line


def children_listed(proc: str) -> bool:
    """Whether the kernel lists each thread's children (``/proc/PID/task/TID/children``,
    CONFIG_PROC_CHILDREN: Debian's, RHEL's and SUSE's kernels have it)."""
    try:
        thread = os.listdir(f"{proc}/self/task")[0]
    except (OSError, IndexError):
        return False
    return os.path.exists(f"{proc}/self/task/{thread}/children")


def parse_children(data: bytes, limit: int) -> list[int]:
    """The pids of a ``children`` file: numbers separated by spaces; a word cut off at the
    read limit is dropped, not taken for another pid."""
    words = data.split()
    if len(data) >= limit and words and not data[-1:].isspace():
        words.pop()
    return [int(word) for word in words if word.isdigit()]


def _children(proc: str, pid: int) -> list[int]:
    """The children of every thread of pid (a thread's fork is the thread's child)."""
    limit = 1 << 20
    try:
        threads = os.listdir(f"{proc}/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for thread in threads:
        with contextlib.suppress(OSError):
            found += parse_children(_read(f"{proc}/{pid}/task/{thread}/children", limit), limit)
    return found


def _list_linux_by_name(proc: str, unreadable: list[str],
                        denied: list[int]) -> tuple[dict[int, StatLine], int]:
    """The candidates' stat lines, and how many processes were looked at: the cheap pass
    where the kernel lists children.

    Every process's short name (``/proc/PID/comm``, cheaper for the kernel to give than
    ``stat`` and nothing to parse), then ``stat`` of those that look like OS4X's and of their
    children, as the kernel lists them. A pid whose name or parent changed between the reads
    was reused: left out, as if it had exited first.
    """
    entries = _pids(proc, unreadable)
    looking: list[tuple[str, str]] = []
    for entry in entries:
        name = _process_file(proc, entry, "comm", limit=64, unreadable=unreadable,
                             denied=denied)
        if name is None:
            continue
        name = name[:-1] if name.endswith(b"\n") else name  # the kernel's one newline
        comm = name.decode("utf-8", errors="backslashreplace")
        if looks_like_os4x(comm):
            looking.append((entry, comm))
    lines: dict[int, StatLine] = {}
    for entry, comm in looking:
        line = _stat_line(proc, entry, unreadable, denied)
        if line is not None and line.comm == comm:
            lines[int(entry)] = line
    for parent in list(lines):
        for child in _children(proc, parent):
            if child in lines:
                continue
            line = _stat_line(proc, str(child), unreadable, denied)
            if line is not None and line.ppid == parent:
                lines[child] = line
    return lines, len(entries)


PSUTIL_STATES = {"zombie": "Z", "stopped": "T", "tracing-stop": "t", "disk-sleep": "D",
                 "running": "R"}
"""psutil's status names, as the state letters of Linux's /proc/PID/stat."""


def _list_portable(unreadable: list[str]) -> Iterator[tuple[int, StatLine]]:
    """The cheap pass through psutil, for AIX, Solaris and other systems without Linux's /proc."""
    from os4xmon.core import system_modules  # psutil: only where Linux's /proc is missing

    psutil = system_modules.require("psutil")

    for process in psutil.process_iter(["ppid", "name", "status"]):
        info = process.info
        if info.get("name") is None or info.get("ppid") is None:
            unreadable.append(f"pid {process.pid}: name or parent denied")
            continue
        state = PSUTIL_STATES.get(info.get("status") or "", "S")
        yield process.pid, StatLine(info["name"], state, info["ppid"])


def pid_exists(pid: int) -> bool:
    """Whether a process has this pid: signal 0, as psutil does on POSIX, without psutil's
    import (compiled, so absent from the single file)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except (OSError, OverflowError):
        return False
    return True


def select_candidates(listing: Mapping[int, StatLine]) -> set[int]:
    """The OS4X-looking processes and their children: the only ones worth a detailed read."""
    chosen = {pid for pid, line in listing.items() if looks_like_os4x(line.comm)}
    chosen.update(pid for pid, line in listing.items() if line.ppid in chosen)
    return chosen


class LinuxClock:
    """Turns /proc's start ticks into epoch seconds: boot time from /proc/stat, read once."""

    def __init__(self, proc: str) -> None:
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.page_size = os.sysconf("SC_PAGE_SIZE")
        self.boot_time: float | None = None
        try:
            for line in _read(f"{proc}/stat", 1 << 20).splitlines():
                if line.startswith(b"btime "):
                    self.boot_time = float(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass

    def epoch(self, start_ticks: int) -> float | None:
        return None if self.boot_time is None else self.boot_time + start_ticks / self.ticks


_user_names: dict[int, str] = {}


def user_name(uid: int) -> str:
    """The name of uid (or the number, as ps shows it, for a uid without a passwd entry)."""
    if uid not in _user_names:
        import pwd

        try:
            _user_names[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:
            _user_names[uid] = str(uid)
    return _user_names[uid]


def _details_linux(proc: str, pid: int, line: StatLine, clock: LinuxClock,
                   unreadable: list[str]) -> ProcessInfo | None:
    """Full details of one candidate from /proc; None when it exited or its pid was reused."""
    base = f"{proc}/{pid}"
    zombie = line.state == "Z"
    cmdline: tuple[str, ...] | None = None
    username: str | None = None
    try:
        if not zombie:
            try:
                cmdline = parse_cmdline(_read(f"{base}/cmdline"))
            except PermissionError:
                unreadable.append(f"pid {pid} ({line.comm}): command line denied")
        try:
            uid = parse_real_uid(_read(f"{base}/status"))
            username = None if uid is None else user_name(uid)
        except PermissionError:
            unreadable.append(f"pid {pid} ({line.comm}): user denied")
        exe = None
        with contextlib.suppress(OSError):  # denied (another user's process), or a zombie
            exe = os.readlink(f"{base}/exe")
        exe_id = None
        with contextlib.suppress(OSError):  # the very file, whatever path its namespace shows
            status = os.stat(f"{base}/exe")
            exe_id = (status.st_dev, status.st_ino)
        spaces = [_namespace(base, kind) for kind in ("mnt", "net", "user")]
        again = parse_stat(_read(f"{base}/stat", 4096))
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError as error:
        unreadable.append(f"pid {pid} ({line.comm}): {error.strerror}")
        return None
    if again is None or again.start_ticks != line.start_ticks:
        return None  # exited, and the pid now belongs to another process
    return ProcessInfo(pid, line.ppid, line.comm, cmdline, username,
                       clock.epoch(line.start_ticks),
                       None if zombie else line.rss_pages * clock.page_size, zombie,
                       again.state, exe, exe_id, *spaces)


def _namespace(base: str, kind: str) -> str | None:
    try:
        return os.readlink(f"{base}/ns/{kind}")
    except OSError:  # denied (another user's process), or no namespaces here
        return None


def _details_psutil(pid: int, line: StatLine, unreadable: list[str]) -> ProcessInfo | None:
    """Full details of one candidate through psutil, where there is no Linux /proc."""
    from os4xmon.core import system_modules  # psutil: only where Linux's /proc is missing

    psutil = system_modules.require("psutil")

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
            exe: str | None = None
            if not zombie:
                with contextlib.suppress(psutil.AccessDenied, OSError):
                    exe = process.exe() or None
            if process.ppid() != line.ppid and not zombie:
                return None  # the pid was reused between the two passes: not the one listed
    except psutil.ZombieProcess:
        return ProcessInfo(pid, line.ppid, line.comm, zombie=True)
    except psutil.NoSuchProcess:
        return None
    return ProcessInfo(pid, line.ppid, line.comm, cmdline, username, create_time, rss, zombie,
                       line.state, exe)


def read_process_table(proc: str = PROC) -> ProcessTable:
    """Reads the host's process table once; never raises for a process that misbehaves."""
    unreadable: list[str] = []
    taken_at = time.time()
    linux = os.path.isdir(f"{proc}/self")
    denied: list[int] = []
    if linux and children_listed(proc):
        listing, scanned = _list_linux_by_name(proc, unreadable, denied)
        candidates = sorted(listing)
    else:
        listing = dict(_list_linux(proc, unreadable, denied) if linux
                       else _list_portable(unreadable))
        scanned = len(listing)
        candidates = sorted(select_candidates(listing))
    if linux:
        clock = LinuxClock(proc)
        found = [_details_linux(proc, pid, listing[pid], clock, unreadable) for pid in candidates]
    else:
        found = [_details_psutil(pid, listing[pid], unreadable) for pid in candidates]
    processes = [info for info in found if info is not None]
    hidden = None
    if linux and os.geteuid() != 0:
        with contextlib.suppress(OSError):
            hidden = hidden_by_mount(_read(f"{proc}/self/mountinfo", 1 << 20),
                                     [os.getegid(), *os.getgroups()], proc)
        if hidden is None and denied:
            hidden = (f"{proc}/PID/comm or stat of {len(denied)} processes cannot be read (pid "
                      f"{denied[0]}...): run the plugin as root (see the sudo rule)")
    return table_from(processes, taken_at, scanned=scanned, unreadable=unreadable,
                      hidden=hidden, **({f"own_{kind}_ns": _namespace(f"{proc}/self", kind)
                                         for kind in ("mnt", "net", "user")} if linux else {}))


def table_from(processes: list[ProcessInfo], taken_at: float, scanned: int | None = None,
               unreadable: Sequence[str] = (), hidden: str | None = None, *,
               own_mnt_ns: str | None = None, own_net_ns: str | None = None,
               own_user_ns: str | None = None) -> ProcessTable:
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
        hidden=hidden,
        own_mnt_ns=own_mnt_ns,
        own_net_ns=own_net_ns,
        own_user_ns=own_user_ns,
    )
