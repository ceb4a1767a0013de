"""Makes a Python process look like an OS4X daemon in the process table (Linux only).

OS4X's receivers are forked from the master and rewrite their command line in place: argv
memory holds ``os4xrd_tcpip`` and padding spaces, while the kernel's short name stays
``os4xrd``. This module does the same thing the C daemons do: it overwrites the argv area
(found through /proc/self/stat's arg_start and arg_end) and sets the short name with prctl.
"""

from __future__ import annotations

import ctypes
import ctypes.util

PR_SET_NAME = 15


def argv_area() -> tuple[int, int]:
    """Start and end address of this process's argv memory (fields 48 and 49 of stat)."""
    with open("/proc/self/stat", "rb") as stream:
        data = stream.read()
    fields = data[data.rindex(b")") + 2:].split()
    return int(fields[45]), int(fields[46])


def area_size() -> int:
    start, end = argv_area()
    return end - start


def set_cmdline(title: str | tuple, pad: bool) -> None:
    """Rewrites /proc/self/cmdline to title: padded with spaces (a rewritten title, as the
    receivers do) or followed by NULs (an exec'd program's path, and its arguments when title
    is a tuple: NUL-separated, as exec leaves them)."""
    import os

    start, end = argv_area()
    size = end - start
    parts = (title,) if isinstance(title, str) else title
    raw = b"\0".join(os.fsencode(part) for part in parts)[: size - 1]
    filler = b" " if pad else b"\0"
    ctypes.memmove(start, raw + filler * (size - 1 - len(raw)) + b"\0", size)


def set_comm(name: str) -> None:
    """Sets the kernel's short name (15 characters at most), what ps -o comm and lsof show."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
