"""The simulated binary directory: OS4X's daemons as copies of this Python interpreter.

The process check trusts a process only if its executable (``/proc/PID/exe``) lies in OS4X's
binary directory, so each simulated daemon is exec'd from ``<bin dir>/<daemon>``, a copy of
the interpreter (a symlink would not do: the kernel shows the link's target). Replacing one of
these files while the daemon runs is what an update without restart looks like: the kernel then
shows ``/proc/PID/exe`` as ``<path> (deleted)``.

A directory is used only if it is empty, new, or marked as the simulator's (``MARKER``): the
simulator never overwrites a real OS4X installation's binaries. Existing copies are kept as they
are (several simulators may share a directory); nothing is removed at stop.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import sys

from os4xmon.os4x import daemons

MARKER = ".os4x-simulator"
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


def install(bin_dir: str) -> None:
    """Makes bin_dir hold a runnable copy of the interpreter for every daemon OS4X exec's."""
    os.makedirs(bin_dir, mode=0o755, exist_ok=True)
    marker = os.path.join(bin_dir, MARKER)
    if not os.path.exists(marker):
        foreign = [name for name in EXECUTED if os.path.lexists(os.path.join(bin_dir, name))]
        if foreign:
            raise SystemExit(f"os4x-simulator: {bin_dir} holds {', '.join(foreign)} that the "
                             "simulator did not put there (a real OS4X?): give another "
                             "--bin-dir")
        with open(marker, "w", encoding="utf-8") as stream:
            stream.write("binaries of os4x-simulator: copies of a Python interpreter\n")
    source = interpreter()
    for name in EXECUTED:
        target = os.path.join(bin_dir, name)
        if not os.path.exists(target) or not filecmp.cmp(source, target, shallow=False):
            _copy_in(source, target)


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
