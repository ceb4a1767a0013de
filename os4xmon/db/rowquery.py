"""One admin query, read the one way every row-reading aspect reads it.

The database, queue and certificate aspects each run an admin's SQL (``--pid-query``,
``--queue-query``, ``--cert-query``) with the same connection options, through the same guard
(:func:`os4xmon.db.sqlguard.check_read_only`), the drivers' read-only transaction and a
:class:`~os4xmon.db.drivers.Deadline` taken from ``-t``. Those pieces live here, below the
aspects, so that no check module needs to import another.
"""

from __future__ import annotations

import time

from os4xmon.core import execution
from os4xmon.core.settings import Settings
from os4xmon.db.drivers import QUERY_REFUSED, ConnectParams, DatabaseError, Deadline, connect

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Sequence


def connect_params(settings: Settings) -> ConnectParams:
    """The --db-* options as the drivers take them."""
    return ConnectParams(settings.db_type or "mysql", settings.db_name, settings.db_host,
                         settings.db_port, settings.db_socket, settings.db_user,
                         settings.db_password, settings.db_ssl, settings.db_ssl_ca)


def error_advice(kind: str, option: str) -> str:
    """The admin's next step when the database itself failed, by kind of failure."""
    return {
        "database unreachable": "check that the database server runs and accepts connections "
                                "from this host (--db-host, --db-port, --db-socket); OS4X "
                                "needs it too",
        "database login refused": "check --db-user and its password (--db-password-file, "
                                  "OS4X_DB_PASSWORD or the --config file) and that the user "
                                  "may log in from this host and read the tables (GRANT "
                                  "SELECT)",
        "database not found": "check --db-name against the database /etc/os4x.conf names",
        "database table missing": f"check --db-prefix and the tables in {option} against "
                                  "what --db-discover lists",
        "database SQL error": f"run {option} by hand in the database client and fix it",
        "database silent": "the server did not answer in time: look for locks or load there, "
                           "or give the check more time (-t)",
        "database query result unusable": f"fix {option} so that it returns what the check "
                                          "expects (see --help)",
        "database query refused": f"make {option} one SELECT (or WITH ... SELECT) that only "
                                  "reads: no second statement, no INTO, no locking clause",
        "database driver missing": "install the driver next to the plugin: python3-pymysql or "
                                   "python3-psycopg2",
        "database driver failed": "the server answered in a way the driver did not expect: "
                                  "check --db-type and --db-port (is it the database server?)",
    }.get(kind, "")


def guarded(query: str, option: str) -> str:
    """The query checked again (Settings can be built without the options): one read-only
    SELECT, or DatabaseError before any server sees it."""
    from os4xmon.db.sqlguard import check_read_only

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
