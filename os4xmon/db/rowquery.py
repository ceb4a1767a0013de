"""One admin query, streamed the one way every row-reading aspect reads it.

The send queue (``--queue-query``), the partners (``--partner-query``) and the partner
certificates (``--cert-query``) each run an admin's SQL whose answer may be of any size. Each
needs the same steps: the connection options (:mod:`os4xmon.db.access`), the guard
(:func:`os4xmon.db.sqlguard.check_read_only`), a :class:`~os4xmon.db.drivers.Deadline` taken
from ``-t``, and the drivers' read-only stream, whose rows are folded as they arrive and let go
(no row cap: only the deadline bounds the read). :class:`StreamedQuery` is those steps, below the
aspects, so that no check module needs to import another and each keeps only its fold.
"""

from __future__ import annotations

import time

from os4xmon.core import execution
from os4xmon.core.settings import Settings
from os4xmon.db.access import connect_params
from os4xmon.db.drivers import QUERY_REFUSED, DatabaseError, Deadline, connect

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, Sequence

    Row = Sequence[Any]
    Begin = Callable[[int], Callable[[Row], object]]


def refusal(query: str, option: str) -> str | None:
    """Why the query is not one plain read-only statement, or None when it is: the shared
    guard (os4xmon.db.sqlguard); the read-only transaction stays the second wall."""
    try:
        guarded(query, option)
    except DatabaseError as error:
        return error.detail
    return None


def guarded(query: str, option: str) -> str:
    """The query checked again (Settings can be built without the options): one read-only
    SELECT, or DatabaseError before any server sees it."""
    from os4xmon.db.sqlguard import check_read_only  # the SQL lexer only where a query is set

    try:
        return check_read_only(query, option)
    except ValueError as error:
        raise DatabaseError(QUERY_REFUSED, str(error)) from None


class StreamedQuery:
    """One guarded admin query, its rows handed to a fold as they arrive.

    ``seconds`` is how long the read took, set also when it failed half-way (the aspect says
    how far it came). ``begin(width)`` is called once the number of columns is known, before
    any row, and returns what each row is given; it may raise DatabaseError (a contract of
    other columns), which ends the read.
    """

    def __init__(self, settings: Settings, query: str, option: str, what: str) -> None:
        self.settings = settings
        self.query = query
        self.option = option
        self.what = what  # the phase a timeout reports: "waiting for <what> (<where>)"
        self.seconds: float | None = None

    def run(self, seconds: float, begin: Begin) -> None:
        """Streams every row into begin's fold within seconds; DatabaseError says what failed,
        and what was folded before it stays folded."""
        sql = guarded(self.query.replace("{prefix}", self.settings.db_prefix), self.option)
        params = connect_params(self.settings)
        deadline = Deadline(max(seconds, 0.05))
        with execution.phase(f"waiting for {self.what} ({params.where()})"):
            started = time.monotonic()
            try:
                connection = connect(params, deadline)
                try:
                    with connection.stream(sql) as rows:
                        add = begin(rows.width)
                        for row in rows:
                            add(row)
                finally:
                    connection.close()
            finally:
                self.seconds = time.monotonic() - started
