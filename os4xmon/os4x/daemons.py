"""The OS4X daemons: their names, which ones a site expects, and how a process is recognised.

Pure functions of data. The master ``os4xrd`` forks the receivers, which rewrite their command
line to their name padded with spaces, while the kernel's short name (``comm``) of each stays
``os4xrd``. So a process is daemon D when the first word of its command line, path and padding
stripped, is exactly D; the kernel's short name decides only when the command line is empty or
unreadable (zombies, kernel-denied reads). docs/development.md lists the daemons and their roles.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Callable, Sequence


MASTER = "os4xrd"
TCP_RECEIVER = "os4xrd_tcpip"
TLS_RECEIVER = "os4xrd_tcpip_tls"
SEND_QUEUE = "os4xsqd"
CLIENTD = "os4xclientd"
DEBUGD = "os4xdebugd"
FETCH_QUEUE = "os4xfqd"
OFFLINE_HANDLING = "os4x_oftp2_offlinehandling"

COMM_LENGTH = 15  # the kernel keeps this many characters of a process's short name

CAPI_PREFIX = "os4xrd_capi_"
_FIXED_NAMES = frozenset(
    {MASTER, TCP_RECEIVER, TLS_RECEIVER, SEND_QUEUE, CLIENTD, DEBUGD, FETCH_QUEUE,
     OFFLINE_HANDLING})
WORKER_PARENTS = (SEND_QUEUE, CLIENTD, FETCH_QUEUE)
"""Daemons whose children are their jobs (actions, fetches), not instances of anything."""
DEFAULT_CONFIG = "/etc/os4x.conf"
"""The configuration file of an OS4X binary started without ``-C``."""
DEFAULT_BIN_DIR = "/opt/os4x/bin"


def capi_receiver(index: int) -> str:
    """Receiver of CAPI controller index+1: os4xrd_capi_0 serves controller 1."""
    return f"os4xrd_capi_{index}"


def capi_index(name: str) -> int | None:
    """The n of os4xrd_capi_<n> (0 to 9999, no leading zero), or None for any other name."""
    digits = name[len(CAPI_PREFIX):]
    if not name.startswith(CAPI_PREFIX) or not (digits.isascii() and digits.isdigit()) \
            or len(digits) > 4 or (digits.startswith("0") and digits != "0"):
        return None
    return int(digits)


def is_daemon_name(name: str) -> bool:
    return name in _FIXED_NAMES or capi_index(name) is not None


def is_receiver(name: str) -> bool:
    """Receivers are forked by the os4xrd master and must stay its children."""
    return name.startswith(MASTER + "_") and is_daemon_name(name)


def expected_daemons(no_tls: bool, isdn_controllers: int, enterprise: bool,
                     require_debugd: bool, fetch_queue: bool = False) -> tuple[str, ...]:
    """The daemons that must run, each exactly once, in the order an admin thinks of them."""
    names = [MASTER, TCP_RECEIVER]
    if not no_tls:
        names.append(TLS_RECEIVER)
    names.extend(capi_receiver(index) for index in range(isdn_controllers))
    names.append(SEND_QUEUE)
    if enterprise:
        names.append(CLIENTD)
    if fetch_queue:
        names.append(FETCH_QUEUE)
    if require_debugd:
        names.append(DEBUGD)
    return tuple(names)


def first_word(cmdline: Sequence[str]) -> str:
    """First word of a command line, path stripped: what OS4X's receivers rewrite theirs to.

    Handles the forms /proc gives: arguments split on NUL, a rewritten title padded with spaces
    (or NULs) in one argument, and a title with its arguments joined by spaces.
    """
    words = " ".join(cmdline).replace("\0", " ").split()
    return words[0].rsplit("/", 1)[-1] if words else ""


def daemon_of(cmdline: Sequence[str] | None, comm: str) -> str | None:
    """The OS4X daemon a process is, or None: exact match on the command line's first word.

    The short name (comm) decides only when the command line is empty or unreadable; the kernel
    cuts it to 15 characters, so os4xrd_tcpip_tls shows as os4xrd_tcpip_tl there.
    """
    word = first_word(cmdline) if cmdline else ""
    if word:
        return word if is_daemon_name(word) else _spaced_path_name(cmdline or ())
    if is_daemon_name(comm):
        return comm
    if len(comm) == COMM_LENGTH:
        for name in _FIXED_NAMES:
            if len(name) > COMM_LENGTH and name[:COMM_LENGTH] == comm:
                return name
    return None


def _spaced_path_name(cmdline: Sequence[str]) -> str | None:
    """The daemon an absolute path with spaces names (``/opt/my os4x/bin/os4xrd``), or None.

    The first argument of an exec'd daemon is its path, whole, even when a directory's name has
    spaces: its last component decides, as for any path.
    """
    first = cmdline[0].rstrip(" \0") if cmdline else ""
    if not first.startswith("/") or " " not in first:
        return None
    words = first.split(" ")
    for end in range(2, len(words) + 1):
        name = " ".join(words[:end]).rsplit("/", 1)[-1]
        if is_daemon_name(name):
            return name
    return None


def looks_like_os4x(comm: str) -> bool:
    """Cheap first filter on the short name: every OS4X daemon's short name starts with os4x."""
    return comm.startswith("os4x")


def config_of(cmdline: Sequence[str] | None) -> str | None:
    """The file named by ``-C FILE`` (or ``-CFILE``) on a command line; None without ``-C``.

    Every OS4X binary takes ``-C`` for its configuration file, which tells installations apart
    on one host. A command line exec'd with arguments keeps them NUL-separated (a path with
    spaces stays whole); a title written into one string is split on white space.
    """
    if not cmdline:
        return None
    args = [arg for arg in cmdline if arg.strip(" \0")]
    if len(args) == 1:
        args = args[0].replace("\0", " ").split()
    for index, arg in enumerate(args[1:], start=1):
        if arg == "-C":
            return args[index + 1] if index + 1 < len(args) else None
        if arg.startswith("-C") and len(arg) > 2:
            return arg[2:]
    return None


def same_file_name(first: str, second: str) -> bool:
    """Whether two configuration or binary paths name one file as written (``//``, ``/./``)."""
    import posixpath

    return posixpath.normpath(first) == posixpath.normpath(second)


def strip_deleted(exe: str) -> tuple[str, bool]:
    """/proc/PID/exe's target without the kernel's `` (deleted)`` mark, and whether it had it.

    The kernel appends the mark when the file the process runs was removed or replaced on disk
    (an update copied a new binary in, and the daemon was not restarted).
    """
    mark = " (deleted)"
    return (exe[: -len(mark)], True) if exe.endswith(mark) else (exe, False)


def starter(daemon: str) -> str:
    """The binary that starts daemon: the os4xrd master forks its receivers."""
    return MASTER if is_receiver(daemon) else daemon


def start_command(daemon: str, bin_dir: str = DEFAULT_BIN_DIR,
                  config: str = DEFAULT_CONFIG) -> str:
    """How OS4X starts daemon on the installation checked, as a shell line to paste: the binary
    of --bin-dir (the master's for a receiver), with -C for a configuration file other than
    /etc/os4x.conf (--os4x-config), so that advice never starts another installation's."""
    import shlex  # only when advice is written

    from os4xmon.core.text import printable  # only when advice is written

    binary = shlex.quote(printable(f"{bin_dir.rstrip('/')}/{starter(daemon)}", 200))
    if same_file_name(config, DEFAULT_CONFIG):
        return binary
    return f"{binary} -C {shlex.quote(printable(config, 200))}"


def start_commands(bin_dir: str, config: str) -> Callable[[str], str]:
    """start_command for one installation: what the verdicts take to write their advice."""
    return lambda daemon: start_command(daemon, bin_dir, config)
