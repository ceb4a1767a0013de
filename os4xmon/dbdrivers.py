"""MySQL/MariaDB and PostgreSQL behind one small interface, every wait bounded by a deadline.

Only this module imports PyMySQL or psycopg2, and only inside ``connect``: a check that does not
look at the database never pays for the drivers. Every failure becomes a :class:`DatabaseError`
with a *kind* (what went wrong, for the admin) and one line of the driver's message with the
password taken out.

Why the deadline is enforced here and not by the plugin's alarm: libpq waits inside C and retries
on EINTR, so a SIGALRM would only be seen once the server answers, which a silent server never
does. psycopg2 therefore runs in "green" mode, where every wait is a ``select`` in Python
(:func:`_wait_pg`) that stops at the deadline; PyMySQL is pure Python on sockets, whose connect
and read timeouts are set to what is left of the deadline before each step. The server is also
told to give up (``statement_timeout``), so an abandoned query does not keep running there.
"""

from __future__ import annotations

import contextlib
import os
import select
import time

from os4xmon.record import dataclass, field
from os4xmon.text import duration, printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, List, Sequence, Tuple

    Rows = List[Tuple[Any, ...]]



MAX_ROWS = 10000
"""Rows read from any one query at most: OS4X has a handful of daemons, so a query that returns
more is wrong, and reading all of them could cost the memory and time of the monitoring host."""

MYSQL_SOCKET = "/run/mysqld/mysqld.sock"
"""Where Debian's MariaDB and MySQL listen locally; used when neither host nor socket is set."""

# kinds of failure: each starts the one line the admin reads
UNREACHABLE = "database unreachable"
LOGIN_REFUSED = "database login refused"
UNKNOWN_DATABASE = "database not found"
MISSING_TABLE = "database table missing"
SQL_ERROR = "database SQL error"
SILENT = "database silent"
BAD_RESULT = "database query result unusable"
QUERY_REFUSED = "database query refused"
DRIVER_MISSING = "database driver missing"
DRIVER_FAILED = "database driver failed"


class DatabaseError(Exception):
    """A failure of the database, already put into words that contain no secret.

    ``where`` names the server and database; ``driver_text`` keeps the driver's whole message
    (scrubbed) for -vvv.
    """

    def __init__(self, kind: str, detail: str = "", where: str = "",
                 driver_text: str = "") -> None:
        head = f"{kind} ({where})" if where else kind
        super().__init__(f"{head}: {detail}" if detail else head)
        self.kind = kind
        self.detail = detail
        self.driver_text = driver_text


@dataclass(frozen=True)
class ConnectParams:
    """Where and how to connect; the password is never shown (repr=False)."""

    db_type: str  # mysql or postgresql
    name: str
    host: str | None = None
    port: int | None = None
    socket: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl: bool = False
    ssl_ca: str | None = None

    def where(self) -> str:
        """'mysql at 127.0.0.1:3306' or 'postgresql at /run/postgresql': for messages."""
        if self.socket:
            place = self.socket
        elif self.host:
            place = self.host + (f":{self.port}" if self.port else "")
        else:
            place = "local socket" if self.port is None else f"localhost:{self.port}"
        return f"{self.db_type} {printable(self.name, 40)} at {printable(place, 60)}"


def scrub(text: str, secret: str | None) -> str:
    """Removes the password from any text, however the driver quoted or escaped it."""
    if not secret:
        return text

    def quote(text: str) -> str:
        return text.replace("'", "\\'").replace('"', '\\"')

    forms: set[str] = set()
    for base in (secret, repr(secret)[1:-1], secret.replace("\\", "\\\\")):
        for variant in (base, quote(base), quote(base.replace("\\'", "'"))):
            forms.update((variant, printable(variant, 10**6)))
    for form in sorted(forms, key=len, reverse=True):
        if form:
            text = text.replace(form, "********")
    return text


def one_line(error: BaseException | str, secret: str | None, limit: int = 200) -> str:
    """The first meaningful line of a driver's message, scrubbed and made printable."""
    text = str(error) if not isinstance(error, str) else error
    if isinstance(error, BaseException) and getattr(error, "args", None) and \
            len(error.args) == 2 and isinstance(error.args[0], int):
        text = str(error.args[1])  # PyMySQL: (code, message)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[0] if lines else type(error).__name__
    return printable(scrub(line, secret), limit)


class Deadline:
    """A point in monotonic time that every wait of one connection must respect."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def left_or_fail(self, doing: str) -> float:
        left = self.left()
        if left <= 0:
            raise DatabaseError(SILENT, self.silence(doing))
        return left

    def silence(self, doing: str) -> str:
        return f"no answer within {duration(self.seconds)} while {doing}"


def _unexpected(error: Exception, params: ConnectParams, doing: str) -> DatabaseError:
    """What a driver raised outside its own error classes (a server speaking another
    protocol can do that): still one scrubbed line, still --db-error-state's state."""
    return DatabaseError(DRIVER_FAILED, f"{type(error).__name__} while {doing}: "
                         f"{one_line(error, params.password)}", params.where(),
                         scrub(str(error), params.password))


class Connection:
    """An open connection that runs read-only queries; subclasses hide the driver."""

    def __init__(self, params: ConnectParams, deadline: Deadline) -> None:
        self.params = params
        self.deadline = deadline

    def read_only(self, queries: Sequence[str]) -> list[tuple[int, Rows]]:
        """Runs each query in one read-only transaction: (number of columns, rows) each,
        at most MAX_ROWS + 1 rows (one more tells that there were too many).

        A failing query ends the transaction: its error is raised, earlier results are lost.
        """
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


# -- MySQL / MariaDB through PyMySQL --

MYSQL_LOGIN_CODES = {1044, 1045, 1698, 1130, 1251, 2059, 1129, 1226}
MYSQL_UNREACHABLE_CODES = {2002, 2003, 2005, 2006, 2013, 2026}


def _mysql_error(error: Exception, params: ConnectParams, doing: str,
                 deadline: Deadline) -> DatabaseError:
    code = error.args[0] if error.args and isinstance(error.args[0], int) else None
    line = one_line(error, params.password)
    full = scrub(str(error), params.password)
    where = params.where()
    if "timed out" in str(error) or isinstance(error, TimeoutError):
        return DatabaseError(SILENT, deadline.silence(doing), where, full)
    if code in MYSQL_LOGIN_CODES:
        return DatabaseError(LOGIN_REFUSED, line, where, full)
    if code == 1049:
        return DatabaseError(UNKNOWN_DATABASE, line, where, full)
    if code == 1146:
        return DatabaseError(MISSING_TABLE, line, "", full)
    if code in MYSQL_UNREACHABLE_CODES or code is None or code >= 2000:
        return DatabaseError(UNREACHABLE, line, where, full)
    return DatabaseError(SQL_ERROR, line, "", full)


def _run_queries(cursor: Any, queries: Sequence[str],
                 before_each: Callable[[str], object]) -> list[tuple[int, Rows]]:
    """Each query's column count and at most MAX_ROWS + 1 rows (one more tells "too many");
    before_each bounds the wait that follows by what is left of the deadline."""
    results = []
    for query in queries:
        before_each("running the query")
        cursor.execute(query)
        results.append((len(cursor.description or ()), list(cursor.fetchmany(MAX_ROWS + 1))))
    return results


def _tls_context(ca_file: str | None) -> Any:
    """TLS to the server: verified (chain and host name) with a CA file, else encrypted only."""
    import ssl

    if ca_file:
        try:
            return ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as error:
            raise DatabaseError(UNREACHABLE, f"cannot use --db-ssl-ca {printable(ca_file)}: "
                                f"{printable(str(error))}") from None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class MysqlConnection(Connection):
    def __init__(self, params: ConnectParams, deadline: Deadline) -> None:
        super().__init__(params, deadline)
        try:
            import pymysql
        except ImportError as error:
            raise DatabaseError(DRIVER_MISSING, f"PyMySQL: {printable(str(error))}") from None
        self._errors: tuple[type[Exception], ...] = (pymysql.MySQLError, OSError)
        kwargs: dict[str, Any] = {
            "user": params.user or "", "password": params.password or "",
            "database": params.name, "charset": "utf8mb4", "autocommit": False,
            "connect_timeout": max(deadline.left_or_fail("connecting"), 0.001),
            "read_timeout": max(deadline.left(), 0.001),
            "write_timeout": max(deadline.left(), 0.001),
        }
        if params.socket:
            kwargs["unix_socket"] = params.socket
        elif params.host:
            kwargs["host"] = params.host
        elif params.port is None and os.path.exists(MYSQL_SOCKET):
            kwargs["unix_socket"] = MYSQL_SOCKET
        else:
            kwargs["host"] = "localhost"
        if params.port:
            kwargs["port"] = params.port
        if params.ssl or params.ssl_ca:
            kwargs["ssl"] = _tls_context(params.ssl_ca)
        try:
            self._conn = pymysql.connect(**kwargs)
        except self._errors as error:
            raise _mysql_error(error, params, "connecting", deadline) from None
        except Exception as error:
            raise _unexpected(error, params, "connecting") from None

    def _bound(self, doing: str) -> None:
        # PyMySQL applies these to each read and write that follows
        left = self.deadline.left_or_fail(doing)
        self._conn._read_timeout = left  # type: ignore[attr-defined]
        self._conn._write_timeout = left  # type: ignore[attr-defined]

    def read_only(self, queries: Sequence[str]) -> list[tuple[int, Rows]]:
        try:
            with self._conn.cursor() as cursor:
                self._bound("starting a read-only transaction")
                cursor.execute("START TRANSACTION READ ONLY")
                results = _run_queries(cursor, queries, self._bound)
                self._bound("ending the transaction")
                self._conn.rollback()
        except self._errors as error:
            raise _mysql_error(error, self.params, "querying", self.deadline) from None
        except Exception as error:
            raise _unexpected(error, self.params, "querying") from None
        return results

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a broken connection may fail to close
            self._conn.close()


# -- PostgreSQL through psycopg2, in green mode so that Python does every wait --

_pg_deadline: list[Deadline] = []


def _wait_pg(connection: Any) -> None:
    """psycopg2's wait callback: poll the connection, select() no longer than the deadline."""
    import psycopg2
    from psycopg2 import extensions

    deadline = _pg_deadline[-1] if _pg_deadline else None  # None: another user of psycopg2
    while True:
        state = connection.poll()
        if state == extensions.POLL_OK:
            return
        left = deadline.left() if deadline else None
        if left is not None and left <= 0:
            raise psycopg2.OperationalError("timed out")
        if state == extensions.POLL_READ:
            select.select([connection.fileno()], [], [], left)
        elif state == extensions.POLL_WRITE:
            select.select([], [connection.fileno()], [], left)
        else:
            raise psycopg2.OperationalError(f"unexpected poll state {state}")


PG_LOGIN_PHRASES = ("password authentication failed", "no pg_hba.conf entry", "role ",
                    "authentication failed", "password", "permission denied for database",
                    "peer authentication", "ident authentication")


def _pg_error(error: Exception, params: ConnectParams, doing: str,
              deadline: Deadline) -> DatabaseError:
    code = getattr(error, "pgcode", None) or ""
    line = one_line(error, params.password)
    text = str(error)
    full = scrub(text, params.password)
    where = params.where()
    if text.strip() == "timed out" or code == "57014":
        return DatabaseError(SILENT, deadline.silence(doing), where, full)
    if code == "42P01":
        return DatabaseError(MISSING_TABLE, line, "", full)
    if code.startswith("28") or (doing == "connecting" and "FATAL" in text
                                 and any(p in text for p in PG_LOGIN_PHRASES)
                                 and "database \"" not in text):
        return DatabaseError(LOGIN_REFUSED, _without_prefix(line), where, full)
    if code == "3D000" or (doing == "connecting" and "database \"" in text
                           and "does not exist" in text):
        return DatabaseError(UNKNOWN_DATABASE, _without_prefix(line), where, full)
    if doing == "connecting" or not code or code.startswith("08"):
        return DatabaseError(UNREACHABLE, _without_prefix(line), where, full)
    return DatabaseError(SQL_ERROR, line, "", full)


def _without_prefix(line: str) -> str:
    """libpq's 'connection to server at "h", port 5432 failed: FATAL:  x' -> 'x'."""
    _, found, rest = line.partition(" failed: ")
    text = rest if found else line
    return " ".join(text.replace("FATAL:", "").split()) or line


class PostgresConnection(Connection):
    def __init__(self, params: ConnectParams, deadline: Deadline) -> None:
        super().__init__(params, deadline)
        try:
            import psycopg2
            from psycopg2 import extensions
        except ImportError as error:
            raise DatabaseError(DRIVER_MISSING, f"psycopg2: {printable(str(error))}") from None
        self._errors: tuple[type[Exception], ...] = (psycopg2.Error, OSError)
        extensions.set_wait_callback(_wait_pg)
        milliseconds = max(int(deadline.left() * 1000), 1)
        kwargs: dict[str, Any] = {
            "dbname": params.name,
            "options": f"-c statement_timeout={milliseconds} "
                       "-c default_transaction_read_only=on",
            "application_name": "check_os4x",
            "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
            "keepalives_count": 2,
        }
        port = params.port
        if params.socket:  # libpq wants the directory; the file's name carries the port
            directory, name = os.path.split(params.socket)
            if name.startswith(".s.PGSQL."):
                kwargs["host"] = directory
                suffix = name[len(".s.PGSQL."):]
                if port is None and suffix.isdigit():
                    port = int(suffix)
            else:
                kwargs["host"] = params.socket
        elif params.host:
            kwargs["host"] = params.host
        for key, value in (("port", port), ("user", params.user),
                           ("password", params.password)):
            if value is not None:
                kwargs[key] = value
        if params.ssl or params.ssl_ca:
            kwargs["sslmode"] = "verify-full" if params.ssl_ca else "require"
            if params.ssl_ca:
                kwargs["sslrootcert"] = params.ssl_ca
        deadline.left_or_fail("connecting")
        _pg_deadline.append(deadline)
        try:
            self._conn = psycopg2.connect(**kwargs)
            self._conn.set_session(readonly=True, autocommit=False)
        except self._errors as error:
            _pg_deadline.pop()
            raise _pg_error(error, params, "connecting", deadline) from None
        except Exception as error:
            _pg_deadline.pop()
            raise _unexpected(error, params, "connecting") from None

    def read_only(self, queries: Sequence[str]) -> list[tuple[int, Rows]]:
        try:
            with self._conn.cursor() as cursor:
                results = _run_queries(cursor, queries, self.deadline.left_or_fail)
            self._conn.rollback()
        except self._errors as error:
            raise _pg_error(error, self.params, "querying", self.deadline) from None
        except Exception as error:
            raise _unexpected(error, self.params, "querying") from None
        return results

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a broken connection may fail to close
            self._conn.close()
        if _pg_deadline:
            _pg_deadline.pop()


DRIVERS: dict[str, Callable[[ConnectParams, Deadline], Connection]] = {
    "mysql": MysqlConnection,
    "postgresql": PostgresConnection,
}


def connect(params: ConnectParams, deadline: Deadline) -> Connection:
    """Opens a connection, or raises DatabaseError; no wait outlives the deadline."""
    try:
        driver = DRIVERS[params.db_type]
    except KeyError:
        raise DatabaseError(DRIVER_MISSING, f"no driver for {params.db_type!r}") from None
    return driver(params, deadline)


def query_with(params: ConnectParams, seconds: float, queries: Sequence[str],
               ) -> list[tuple[int, Rows]]:
    """Connects, runs the queries in one read-only transaction, closes."""
    deadline = Deadline(seconds)
    connection = connect(params, deadline)
    try:
        return connection.read_only(queries)
    finally:
        connection.close()
