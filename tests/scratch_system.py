"""A throwaway copy of the host's system directories for the package tests.

The .deb is installed with apt-get as an admin does, but never into the host's package
database: the test process moves into a mount namespace of its own and lays an overlay over
/usr and the package manager's directories in /var, backed by a tmpfs. apt, dpkg and every
program the tests start (their children inherit the namespace) see the package installed;
the host sees none of it, and unmounting throws it all away.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

CLONE_NEWNS = 0x00020000
OVERLAID = ("/usr", "/var/lib/dpkg", "/var/lib/apt", "/var/cache", "/var/log")
"""What installing and purging a package writes: its files, dpkg's and apt's state, the man
and apt caches, dpkg.log."""


def own_mount_namespace() -> str | None:
    """Moves this process into a mount namespace of its own, its mounts private (None), or
    says why it cannot."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        return f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}"
    done = subprocess.run(["mount", "--make-rprivate", "/"], capture_output=True, text=True,
                          check=False)
    return None if done.returncode == 0 else f"mount --make-rprivate /: {done.stderr.strip()}"


@contextlib.contextmanager
def overlaid_system() -> Iterator[dict[str, Path]]:
    """The host's /usr and package state, writable here and discarded at the end; yields
    where each overlaid directory's writes land (to prove they landed there)."""
    reason = own_mount_namespace()
    if reason:
        raise OSError(f"no private mount namespace for the package tests: {reason}")
    work = Path(tempfile.mkdtemp(prefix="check_os4x-overlay-"))
    mounted: list[str] = []
    uppers: dict[str, Path] = {}
    try:
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(work)], check=True)
        mounted.append(str(work))
        for index, directory in enumerate(OVERLAID):
            upper, scratch = work / f"upper{index}", work / f"work{index}"
            upper.mkdir()
            scratch.mkdir()
            subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            f"lowerdir={directory},upperdir={upper},workdir={scratch}",
                            directory], check=True, capture_output=True, text=True)
            mounted.append(directory)
            uppers[directory] = upper
        yield uppers
    finally:
        for directory in reversed(mounted):
            subprocess.run(["umount", "--lazy", directory], check=False)
        work.rmdir()
