"""One admin query, read the one way every row-reading aspect reads it.

An aspect that runs an admin's SQL (``--cert-query``; ``--pid-query`` and ``--queue-query``
do the same steps in their own modules) needs the connection options (:mod:`os4xmon.db.access`),
the guard (:func:`os4xmon.db.sqlguard.check_read_only`), the drivers' read-only transaction and
a :class:`~os4xmon.db.drivers.Deadline` taken from ``-t``: :func:`read_rows` is those steps,
below the aspects, so that no check module needs to import another.
"""

from __future__ import annotations

import time

from os4xmon.core import execution
from os4xmon.core.settings import Settings
from os4xmon.db.access import connect_params
from os4xmon.db.drivers import QUERY_REFUSED, DatabaseError, Deadline, connect

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Sequence


def guarded(query: str, option: str) -> str:
    """The query checked again (Settings can be built without the options): one read-only
    SELECT, or DatabaseError before any server sees it."""
    from os4xmon.db.sqlguard import check_read_only  # the SQL lexer only where a query is set

    try:
        return check_read_only(query, option)
    except ValueError as error:
        raise DatabaseError(QUERY_REFUSED, str(error)) from None


def read_rows(settings: Settings, query: str, option: str, seconds: float,
              what: str) -> tuple[int, Sequence[Sequence[Any]], float]:
    """(columns, rows, seconds taken) of one guarded query in a read-only transaction, bounded
    by seconds; DatabaseError says what failed. ``what`` names the phase a timeout reports."""
    sql = guarded(query.replace("{prefix}", settings.db_prefix), option)
    params = connect_params(settings)
    deadline = Deadline(max(seconds, 0.05))
    with execution.phase(f"waiting for {what} ({params.where()})"):
        started = time.monotonic()
        connection = connect(params, deadline)
        try:
            ((width, rows),) = connection.read_only([sql])
        finally:
            connection.close()
    return width, rows, time.monotonic() - started
