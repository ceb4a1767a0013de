"""What the test suite must leave on the host as it found it: the package database, OS4X's
directory /opt/os4x (the simulator's binaries go there), and the simulator's files in the
temporary directory. Read at the session's start (conftest.py) and by the last test
(test_zz_host_left_as_found.py)."""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile

PACKAGE_DATABASES = ("/var/lib/dpkg/status", "/var/lib/rpm/rpmdb.sqlite",
                     "/var/lib/rpm/Packages")
OS4X_DIR = "/opt/os4x"
SIMULATOR_TEMPORARY = ("os4x-sim-*", "os4x-simulator-*")


def fingerprint() -> dict[str, object]:
    """A comparable picture of what the tests could change on the host."""
    state: dict[str, object] = {}
    for path in PACKAGE_DATABASES:
        if os.path.exists(path):
            with open(path, "rb") as stream:
                state[path] = hashlib.sha256(stream.read()).hexdigest()
    tree = []
    for folder, directories, files in os.walk(OS4X_DIR):
        tree += [os.path.join(folder, name) + "/" for name in directories]
        tree += [os.path.join(folder, name) for name in files]
    state[OS4X_DIR] = sorted(tree) if os.path.isdir(OS4X_DIR) else None
    # the temporary directory the tests' simulators use: the session's own (conftest.py sets
    # TMPDIR), so that other programs writing to /tmp meanwhile do not count
    folder = tempfile.gettempdir()
    state["temporary files"] = sorted(path for pattern in SIMULATOR_TEMPORARY
                                      for path in glob.glob(os.path.join(folder, pattern)))
    return state
