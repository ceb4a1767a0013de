"""From the settings to a database connection: the parameters, the time it may take, and
the admin's next step when it fails. Every aspect that reads OS4X's database (the PID check, the
send queue, the configuration table) connects through these, so a failure reads the same in each.
"""

from __future__ import annotations

from os4xmon.core import execution
from os4xmon.core.settings import Settings
from os4xmon.db.drivers import (
    BAD_RESULT,
    DRIVER_FAILED,
    DRIVER_MISSING,
    LOGIN_REFUSED,
    MISSING_TABLE,
    QUERY_REFUSED,
    SILENT,
    SQL_ERROR,
    UNKNOWN_DATABASE,
    UNREACHABLE,
    ConnectParams,
)


def connect_params(settings: Settings) -> ConnectParams:
    return ConnectParams(settings.db_type or "mysql", settings.db_name, settings.db_host,
                         settings.db_port, settings.db_socket, settings.db_user,
                         settings.db_password, settings.db_ssl, settings.db_ssl_ca)


def budget(settings: Settings) -> float:
    """Seconds the database may take: its share of what -t has left (execution.share), half of
    it when the queue, the partners, ISDN, certificates or ports still have to be checked after
    the database."""
    later = any(aspect in settings.selected_checks
                for aspect in ("queue", "partners", "ports", "isdn", "certs"))
    share = execution.share(2 if later else 1)
    return max(share if share != float("inf") else settings.timeout, 0.05)


def error_advice(kind: str, option: str) -> str:
    """The admin's next step when the database itself failed, by kind of failure."""
    return {
        UNREACHABLE: "check that the database server runs and accepts connections "
                                "from this host (--db-host, --db-port, --db-socket); OS4X "
                                "needs it too",
        LOGIN_REFUSED: "check --db-user and its password (--db-password-file, "
                                  "OS4X_DB_PASSWORD or the --config file) and that the user "
                                  "may log in from this host and read the tables (GRANT "
                                  "SELECT)",
        UNKNOWN_DATABASE: "check --db-name against the database /etc/os4x.conf names",
        MISSING_TABLE: f"check --db-prefix and the tables in {option} against "
                                  "what --db-discover lists",
        SQL_ERROR: f"run {option} by hand in the database client and fix it",
        SILENT: "the server did not answer in time: look for locks or load there, "
                           "or give the check more time (-t)",
        BAD_RESULT: f"fix {option} so that it returns what the check "
                                          "expects (see --help)",
        QUERY_REFUSED: f"make {option} one SELECT (or WITH ... SELECT) that only "
                                  "reads: no second statement, no INTO, no locking clause",
        DRIVER_MISSING: "install the driver next to the plugin: python3-pymysql or "
                                   "python3-psycopg2",
        DRIVER_FAILED: "the server answered in a way the driver did not expect: "
                                  "check --db-type and --db-port (is it the database server?)",
    }.get(kind, "")
