"""The simulated binary directory: OS4X's daemons as copies of this Python interpreter.

The process check trusts a process only if its executable (``/proc/PID/exe``) lies in OS4X's
binary directory, so each simulated daemon is exec'd from ``<bin dir>/<daemon>``, a copy of
the interpreter (a symlink would not do: the kernel shows the link's target). Replacing one of
these files while the daemon runs is what an update without restart looks like: the kernel then
shows ``/proc/PID/exe`` as ``<path> (deleted)``.

A directory is used only if it holds none of OS4X's binaries, or is marked as the simulator's
(``MARKER``): the simulator never overwrites a file it did not put there (a real OS4X). Several
simulators may share a directory: each launcher registers itself (``USERS``), and the last one
to stop removes every file the simulator added, and the directories it created.
"""

from __future__ import annotations

import contextlib
import fcntl
import filecmp
import os
import shutil
import sys

from os4xmon.os4x import daemons

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator

MARKER = ".os4x-simulator"
USERS = ".os4x-simulator.users"
"""One file per launcher that uses the directory (``<pid namespace>-<pid>``), locked while it
or a process it started runs."""
EXECUTED = (daemons.MASTER, daemons.SEND_QUEUE, daemons.CLIENTD, daemons.DEBUGD,
            daemons.FETCH_QUEUE)
"""The daemons OS4X starts from its binary directory (receivers and actions are forks)."""


def interpreter() -> str:
    return os.path.realpath(sys.executable)


def _copy_in(source: str, target: str) -> None:
    """Puts a copy at target in one step (rename), as an update puts a new binary in place."""
    temporary = f"{target}.{os.getpid()}.new"
    shutil.copyfile(source, temporary)
    os.chmod(temporary, 0o755)  # noqa: S103 - a binary directory's files are world-executable
    os.replace(temporary, target)


def _make_dirs(path: str) -> list[str]:
    """Creates path and its missing parents; returns the ones it created, outermost first."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    created = []
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o755)
            created.append(directory)
    return created


def _me() -> str:
    """This launcher's registration: unique across PID namespaces sharing the directory."""
    return f"{os.stat('/proc/self/ns/pid').st_ino}-{os.getpid()}"


HELD: list[int] = []
"""The open registration, locked shared for as long as the launcher or any process it
started (they inherit it, across exec) runs: the kernel drops the lock when the last one
ends, however it ends, so a killed launcher in a PID namespace that is gone is seen as gone."""


def _register(users: str) -> None:
    fd = os.open(os.path.join(users, _me()), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_SH)
    os.set_inheritable(fd, True)  # the daemons run from the copies: they keep it in use
    HELD.append(fd)


def _in_use(path: str) -> bool:
    """Whether some process still holds the registration at path."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def _locked(bin_dir: str, create: bool) -> Iterator[int | None]:
    """The marker, held under an exclusive lock (None when absent and not to be created)."""
    marker = os.path.join(bin_dir, MARKER)
    while True:
        try:
            fd = os.open(marker, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
        except FileNotFoundError:
            yield None
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:  # not removed by the last user while we waited
            break
        os.close(fd)
    try:
        yield fd
    finally:
        os.close(fd)


def install(bin_dir: str) -> None:
    """Makes bin_dir hold a runnable copy of the interpreter for every daemon OS4X exec's, and
    registers this process as one of the directory's users (``release`` at stop)."""
    created = _make_dirs(bin_dir)
    marker = os.path.join(bin_dir, MARKER)
    if not os.path.exists(marker):
        foreign = [name for name in EXECUTED if os.path.lexists(os.path.join(bin_dir, name))]
        if foreign:
            raise SystemExit(f"os4x-simulator: {bin_dir} holds {', '.join(foreign)} that the "
                             "simulator did not put there (a real OS4X?): give another "
                             "--bin-dir")
    with _locked(bin_dir, create=True) as fd:
        assert fd is not None  # created
        if os.fstat(fd).st_size == 0:
            os.write(fd, b"binaries of os4x-simulator: copies of a Python interpreter, removed "
                     b"when the last simulator stops\n"
                     + b"".join(b"created " + os.fsencode(path) + b"\n" for path in created))
        users = os.path.join(bin_dir, USERS)
        os.makedirs(users, exist_ok=True)
        _register(users)
        source = interpreter()
        for name in EXECUTED:
            target = os.path.join(bin_dir, name)
            if not os.path.exists(target) or not filecmp.cmp(source, target, shallow=False):
                _copy_in(source, target)


def release(bin_dir: str) -> None:
    """This launcher no longer uses bin_dir; the last user removes what the simulator added:
    the copies, the marker, and the directories it created."""
    with _locked(bin_dir, create=False) as fd:
        if fd is None:
            return
        users = os.path.join(bin_dir, USERS)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(users, _me()))
        while HELD:
            os.close(HELD.pop())
        left = False
        for user in os.listdir(users) if os.path.isdir(users) else ():
            if _in_use(os.path.join(users, user)):
                left = True
            else:  # a launcher that was killed, with every process it started
                os.unlink(os.path.join(users, user))
        if left:
            return
        with os.fdopen(os.dup(fd), "rb") as stream:  # paths as bytes: any name works
            created = [os.fsdecode(line[len(b"created "):].rstrip(b"\n")) for line in stream
                       if line.startswith(b"created ")]
        for name in os.listdir(bin_dir):
            if name in EXECUTED or (name.endswith(".new") and name.split(".")[0] in EXECUTED):
                os.unlink(os.path.join(bin_dir, name))
        with contextlib.suppress(OSError):
            os.rmdir(users)
        os.unlink(os.path.join(bin_dir, MARKER))
    for directory in reversed(created):
        with contextlib.suppress(OSError):  # not empty: someone else's files stay
            os.rmdir(directory)


def replace(bin_dir: str, name: str) -> str:
    """An update without restart: a new file at the daemon's path; the running one keeps the
    old, now deleted, file."""
    if not os.path.exists(os.path.join(bin_dir, MARKER)):
        raise SystemExit(f"os4x-simulator: {bin_dir} is not the simulator's binary directory")
    target = os.path.join(bin_dir, name)
    _copy_in(interpreter(), target)
    return target


def child_environment() -> dict[str, str]:
    """What a copy of the interpreter outside its prefix needs to find the standard library and
    the packages this one uses (the copy has no venv beside it)."""
    import os4xmon  # where this package lies, for the copies' PYTHONPATH

    package_root = os.path.dirname(os.path.dirname(os.path.abspath(os4xmon.__file__)))
    paths = [package_root] + [entry for entry in sys.path if entry and os.path.isdir(entry)]
    environment = dict(os.environ)
    environment["PYTHONHOME"] = sys.base_prefix
    environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return environment
