"""The ``check_os4x`` command: options in, one status line and an exit code out."""

from __future__ import annotations

import sys

from os4xmon import runtime
from os4xmon.options import UsageError, parse, verbosity_hint

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import NoReturn, Sequence



def main(argv: Sequence[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = verbosity_hint(args)
    try:
        settings = parse(args)
    except UsageError as error:
        runtime.fail(f"{error} (see check_os4x --help)", verbose)
    except Exception as error:
        runtime.fail(f"internal error while reading options: {type(error).__name__}: {error}",
                     verbose)

    try:
        if settings.db_discover:  # prints what may hold the PIDs, then exits
            from os4xmon.dbdiscover import discover

            discover(settings)
        from os4xmon.aspects import build_check
        from os4xmon.host import Host

        check = build_check(settings, Host(settings))
    except Exception as error:
        runtime.fail(f"internal error while setting up: {type(error).__name__}: {error}",
                     settings.verbose)
    runtime.execute(check, settings.timeout, settings.verbose, settings.describe(),
                    settings.warnings)
