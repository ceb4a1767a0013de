"""What every aspect that reads OS4X's database shares: the connection options taken from the
settings, and the admin's next step when the database itself fails.

Here, below the checks, so that the send queue and the partner check use the database
aspect's options without importing the database check (no check imports another).
"""

from __future__ import annotations

from os4xmon.core.settings import Settings
from os4xmon.db.drivers import ConnectParams


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
