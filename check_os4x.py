#!/usr/bin/env python3
"""check_os4x: the plugin's one entry file.

It runs in three places: as ``__main__.py`` inside ``check_os4x.pyz`` (the single file that
holds the plugin and its pure-Python libraries), as ``/usr/lib/nagios/plugins/check_os4x`` from
the Debian and RPM packages, and copied beside an installed ``check_os4x`` package. Wherever it
runs, it answers in one plugin line: an interpreter older than Python 3.8 or a missing library
is ``OS4X UNKNOWN`` with what to install, never a traceback.

Old interpreters must be able to parse this file (and ``os4xmon/__init__.py``) to say so: no
f-strings, no annotations, type comments only.
"""

import os
import sys

PACKAGES = {
    # module: (Debian/Ubuntu package, RHEL package (EPEL for nagiosplugin), pip requirement)
    "nagiosplugin": ("python3-nagiosplugin", "python3-nagiosplugin", "nagiosplugin"),
}


def use_precompiled():
    # type: () -> None
    """Inside the pyz: the bytecode compiled at build time for this interpreter, then the
    sources, placed after the standard library and before site-packages.

    A zip cannot cache bytecode, so the build stores ``pyc/<cache tag>/`` trees (one per
    interpreter it had); an interpreter without one reads the sources at the zip's root. After
    the standard library: zipimport is pure Python, and the hundred standard modules a run
    imports would each be looked for in the zip first. Before site-packages: the libraries the
    file bundles win over other versions installed on the host.
    """
    archive = getattr(globals().get("__loader__"), "archive", None)
    if not archive or sys.version_info < (3, 8):
        return
    tag = sys.implementation.cache_tag
    ours = ([os.path.join(archive, "pyc", tag)] if tag else []) + [archive]
    rest = [path for path in sys.path if path != archive]
    stdlib = os.path.dirname(os.__file__)
    position = rest.index(stdlib) + 1 if stdlib in rest else 0
    while position < len(rest) and rest[position].startswith(stdlib + os.sep):
        position += 1  # lib-dynload
    sys.path[:] = rest[:position] + ours + rest[position:]


def missing(error):
    # type: (ImportError) -> None
    """The UNKNOWN line for a library that is not importable, naming what to install."""
    if sys.version_info < (3, 8):  # noqa: UP036 - old interpreters run this file
        sys.stdout.write("OS4X UNKNOWN - check_os4x needs Python 3.8 or newer, this is "
                         + ".".join(str(part) for part in sys.version_info[:3]) + "\n")
        sys.exit(3)
    name = (getattr(error, "name", None) or "").split(".")[0]
    debian, rhel, pip = PACKAGES.get(name, ("", "", ""))
    if debian:
        hint = "apt-get install " + debian + ", dnf install " + rhel + " or pip install " + pip
    elif name == "os4xmon":
        hint = ("this file runs an installed check_os4x: apt-get install ./check-os4x_*.deb, "
                "dnf install ./check_os4x-*.rpm or pip install check_os4x; or copy the single "
                "file check_os4x.pyz instead")
    else:
        hint = "reinstall check_os4x, or use the single file check_os4x.pyz"
    sys.stdout.write("OS4X UNKNOWN - check_os4x cannot import " + (name or str(error))
                     + ": " + hint + "\n")
    sys.exit(3)


def run():
    # type: () -> None
    use_precompiled()
    import gc

    gc.disable()  # the imports make thousands of objects and no garbage; main() turns it on
    try:
        # os4xmon/__init__.py comes first: on a Python older than 3.8 it prints the line, exit 3
        from os4xmon.cli.main import main
        from os4xmon.core import system_modules
    except ImportError as error:
        missing(error)
    system_modules.allow_system_modules()
    main()


if __name__ == "__main__":
    run()
