"""The compiled libraries (psycopg2, psutil) from the system's Python, where sys.path lacks them.

The single file ``check_os4x.pyz`` holds only pure Python: psycopg2 and psutil are compiled for
one interpreter and come from the distribution (``python3-psycopg2``, ``python3-psutil``). Run as
``python3 -I -S check_os4x.pyz`` (the safe way for a monitoring daemon), the system's
dist-packages is not on sys.path. :class:`SystemModules` looks there for exactly these two
top-level names, and only after every other finder failed, so a copy on sys.path (a venv, the
package) always wins and nothing else from dist-packages can be picked up by accident. It only
trusts directories that root owns and no one else can write, all the way up to ``/``: a
directory writable by another user would let that user run code as the monitoring user.

Where no copy exists, :func:`require` turns the ImportError into one line that names the
package to install.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Sequence

INSTALL = {
    "psycopg2": "apt-get install python3-psycopg2, dnf install python3-psycopg2, "
                "zypper install python3-psycopg2 or pip install psycopg2-binary",
    "psutil": "apt-get install python3-psutil, dnf install python3-psutil, "
              "zypper install python3-psutil or pip install psutil",
}
"""The compiled libraries the system may provide, and how to install each."""


class MissingModule(Exception):
    """A compiled library the check needs here is not installed for this interpreter."""


def trusted(path: str) -> bool:
    """True when root owns the directory and each one above it, and no one else may write."""
    path = os.path.abspath(path)
    while True:
        try:
            status = os.stat(path)
        except OSError:
            return False
        if status.st_uid != 0 or status.st_mode & 0o022:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def system_directories() -> list[str]:
    """The system interpreter's own site directories (Debian's dist-packages, RHEL's
    site-packages under lib64 and lib), whichever are trustworthy."""
    import site

    prefixes = [sys.base_prefix, sys.base_exec_prefix]
    try:
        found = site.getsitepackages(prefixes)
    except AttributeError:  # pragma: no cover - a site module without getsitepackages
        found = []
    return [path for path in dict.fromkeys(found) if os.path.isdir(path) and trusted(path)]


class SystemModules:
    """A finder of last resort for the compiled libraries in :data:`INSTALL`."""

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if name not in INSTALL:
            return None
        from importlib.machinery import PathFinder

        return PathFinder.find_spec(name, system_directories())


def allow_system_modules() -> None:
    """Lets psycopg2 and psutil come from the system's Python when sys.path has none."""
    if not any(isinstance(finder, SystemModules) for finder in sys.meta_path):
        sys.meta_path.append(SystemModules())


def require(name: str) -> ModuleType:
    """Imports a compiled library, or raises MissingModule with what to install."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as error:
        version = ".".join(str(part) for part in sys.version_info[:2])
        raise MissingModule(f"{name} is not installed for {sys.implementation.name} {version} "
                            f"({error}): {INSTALL.get(name, 'pip install ' + name)}") from None
