"""The ``check_os4x`` command: options in, one status line and an exit code out.

The order matters: the streams are made safe and the signals handled first; options and the
files they name are read with size limits before the -t alarm is armed (they cannot wait);
then the alarm is armed and everything that can wait (DNS for --host, every aspect) runs
within it, each step taking its share from ``execution.share()``.
"""

from __future__ import annotations

import gc
import sys

from os4xmon.cli.options import DEFAULTS
from os4xmon.cli.read_settings import UsageError, output_hint, parse, verbosity_hint
from os4xmon.core import execution
from os4xmon.core.text import printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import NoReturn, Sequence

    from os4xmon.core.settings import Settings


def main(argv: Sequence[str] | None = None) -> NoReturn:
    if hasattr(gc, "freeze"):  # CPython; PyPy's collector has no freeze
        gc.freeze()  # what is imported lives until exit: no collection need walk it again
    gc.enable()  # the entry (os4xmon.cli.run, check_os4x.py) let it rest during the imports
    execution.guard_streams()
    execution.handle_signals()
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = verbosity_hint(args)
    if output_hint(args) != "nagios":  # a usage error is written in the format asked for
        _select_output(output_hint(args), None, ())
    try:
        _run(args, verbose)
    except execution.Interrupted as stop:
        execution.kill_children()
        execution.fail(f"stopped by {stop.signal_name} while {stop.phase}", verbose)
    except execution.CheckTimeout as stop:
        execution.fail(execution.timeout_message(stop.phase), verbose)
    raise AssertionError("unreachable")  # _run always exits


def _run(args: list[str], verbose: int) -> NoReturn:
    try:
        settings = parse(args)
    except UsageError as error:
        execution.fail(f"{error} (see check_os4x --help)", verbose)
    except Exception as error:
        execution.fail(f"internal error while reading options: {type(error).__name__}: {error}",
                     verbose)

    if settings.output != "nagios" or settings.textfile_dir:
        _select_output(settings.output, settings.textfile_dir, settings.selected_checks)
    execution.arm(settings.timeout)
    try:
        settings = locate(settings)
    except UsageError as error:
        execution.fail(f"{error} (see check_os4x --help)", settings.verbose)
    if settings.output != "nagios" or settings.textfile_dir:
        _select_output(settings.output, settings.textfile_dir, settings.selected_checks)
    try:
        if settings.db_discover:  # prints what may hold the PIDs, then exits
            from os4xmon.cli.db_discover import discover  # only --db-discover needs it

            discover(settings)
        # after the options: a usage error pays for no aspect, a run for the selected ones only
        from os4xmon.cli.assemble import build_check
        from os4xmon.facts.host import Host

        check = build_check(settings, Host(settings))
    except Exception as error:
        execution.fail(f"internal error while setting up: {type(error).__name__}: {error}",
                     settings.verbose)
    execution.execute(check, settings.timeout, settings.verbose, settings.describe(),
                    settings.warnings)


def _select_output(name: str, textfile_dir: str | None, aspects: Sequence[str]) -> None:
    from os4xmon import output  # only runs with another format or a textfile pay for it

    output.select(name, textfile_dir, aspects)


def locate(settings: Settings) -> Settings:
    """Decides once whether --host is this machine (by its addresses), and checks what only
    makes sense on it; a name that does not resolve is one UNKNOWN line, not one per port."""
    host = printable(settings.host, 80)
    if settings.host == "127.0.0.1":
        local = True
    else:
        import socket

        from os4xmon.core import netwait  # sockets and DNS only for a --host to resolve

        try:
            with execution.phase(f"resolving --host {host}"):
                local = netwait.is_local(settings.host, execution.share(2))
        except socket.gaierror as error:  # not a usage error: DNS may be down for a while
            execution.fail(f"--host {host}: {printable(str(error.strerror), 80)}",
                         settings.verbose)
    if settings.user and local:
        _check_user(settings.user)
    if local:
        _check_installation_paths(settings)
    return settings.replaced(host_is_local=local)


def _check_installation_paths(settings: Settings) -> None:
    """A --bin-dir or --os4x-config given that does not exist here is a typo, not a missing
    OS4X: every daemon would look "not running" (or another installation's)."""
    import os
    import stat

    for flag, value, default, directory in (
            ("--bin-dir", settings.bin_dir, DEFAULTS.bin_dir, True),
            ("--os4x-config", settings.os4x_config, DEFAULTS.os4x_config, False)):
        if value == default:
            continue  # no OS4X here at all is the process check's CRITICAL
        try:
            is_directory = stat.S_ISDIR(os.stat(value).st_mode)
        except (FileNotFoundError, NotADirectoryError, ValueError):
            raise UsageError(f"{flag} {printable(value, 100)} does not exist on this host: "
                             "give the path of the OS4X installation to check") from None
        except OSError:
            continue  # not visible to this user: the checks say what they cannot verify
        if is_directory != directory:
            kind = "a directory" if directory else "a file"
            raise UsageError(f"{flag} {printable(value, 100)} is not {kind}")


def _check_user(name: str) -> None:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        if not name.isdigit():
            raise UsageError(f"--user {printable(name, 40)!r}: no such user on this host") \
                from None
        try:
            pwd.getpwuid(int(name))
        except (KeyError, OverflowError):
            raise UsageError(f"--user {name}: no such user id on this host") from None
