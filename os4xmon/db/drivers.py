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
import re
import select
import time

from os4xmon.core import system_modules
from os4xmon.core.record import dataclass, field
from os4xmon.core.text import duration, printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, List, Protocol, Sequence, Tuple

    Rows = List[Tuple[Any, ...]]

    class Folder(Protocol):
        """What :meth:`Connection.fold` hands the rows to, one at a time as they arrive."""

        def columns(self, width: int) -> None:
            """The result's number of columns, before any row: raise to refuse the result."""

        def add(self, row: Sequence[Any]) -> None:
            """One row, folded into the caller's figures and then dropped."""



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


SCRUB_MIN = 4
"""Passwords shorter than this are never scrubbed: starring every 'a' of a message would tell
the password by its absence. The drivers never put the password into a message; scrubbing is
the second wall, for messages that echo what the admin typed (a user named like the password)."""
SCRUB_ANYWHERE = 8
"""From this length on, the password is starred wherever it appears, inside words too; shorter
ones only where they stand alone, between non-alphanumeric characters."""


def scrub(text: str, secret: str | None) -> str:
    """Removes the password from any text, however the driver quoted or escaped it."""
    if not secret or len(secret) < SCRUB_MIN:
        return text

    def quote(text: str) -> str:
        return text.replace("'", "\\'").replace('"', '\\"')

    forms: set[str] = set()
    for base in (secret, repr(secret)[1:-1], secret.replace("\\", "\\\\")):
        for variant in (base, quote(base), quote(base.replace("\\'", "'"))):
            forms.update((variant, printable(variant, 10**6)))
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= SCRUB_ANYWHERE:
            text = text.replace(form, "********")
        elif form:
            text = re.sub(rf"(?<![^\W_]){re.escape(form)}(?![^\W_])", "********", text)
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


def _peak_memory() -> int:
    """The process's peak resident memory in bytes (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Deadline:
    """A point in monotonic time that every wait of one connection must respect."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.memory = _peak_memory()  # what reading the answers may add to is measured from

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

    def fold(self, query: str, folder: Folder) -> int:
        """Runs one query in a read-only transaction and hands each row to folder as it
        arrives, with no row limit: the caller's memory grows with what it keeps (figures per
        partner), not with the rows. Returns the rows read. A result that is not read to its
        end (the deadline, or the folder refused it) drops the connection, which rolls back."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


FOLD_BATCH = 500
"""Rows fetched at once while folding: round trips stay few, memory stays a batch."""


# -- MySQL / MariaDB through PyMySQL --

MYSQL_LOGIN_CODES = {1044, 1045, 1698, 1130, 1251, 2059, 2061, 1129, 1226}
MYSQL_UNREACHABLE_CODES = {2002, 2003, 2005, 2006, 2013, 2026}


def _mysql_error(error: Exception, params: ConnectParams, doing: str,
                 deadline: Deadline) -> DatabaseError:
    code = error.args[0] if error.args and isinstance(error.args[0], int) else None
    line = one_line(error, params.password)
    full = scrub(str(error), params.password)
    where = params.where()
    if "timed out" in str(error) or isinstance(error, TimeoutError) or code in (1969, 3024):
        # 1969 MariaDB's max_statement_time, 3024 MySQL's max_execution_time
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

            from os4xmon.db import mysqlwire  # with PyMySQL, which it patches
        except ImportError as error:
            raise DatabaseError(DRIVER_MISSING, f"PyMySQL: {printable(str(error))}") from None
        self._errors: tuple[type[Exception], ...] = (pymysql.MySQLError, OSError)
        self._too_much = mysqlwire.TooMuchData
        self._unbuffered = pymysql.cursors.SSCursor
        self._spent = False  # a result left unread: the connection was dropped, not drained
        kwargs: dict[str, Any] = {
            # the bytes the mysql client sends for a UTF-8 terminal: 'pässwort' and '€' work
            "user": params.user or "", "password": _utf8(params.password or ""),
            "database": params.name, "charset": "utf8mb4", "autocommit": False,
            "connect_timeout": max(deadline.left_or_fail("connecting"), 0.001),
            "read_timeout": max(deadline.left(), 0.001),
            "write_timeout": max(deadline.left(), 0.001),
            "defer_connect": True,
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
            self._conn = mysqlwire.GuardedConnection(**kwargs)
            self._conn.open_guarded(deadline.left, trusted=bool(params.ssl_ca),
                                    tls_required=bool(params.ssl or params.ssl_ca))
        except self._too_much as error:
            raise DatabaseError(BAD_RESULT, f"{error} while connecting", params.where()) \
                from None
        except self._errors as error:
            raise _mysql_error(error, params, "connecting", deadline) from None
        except Exception as error:
            raise _unexpected(error, params, "connecting") from None
        server = getattr(self._conn, "server_version", "") or ""
        # the server gives up on the query when the plugin does (PostgreSQL: statement_timeout)
        self._limit = "SET SESSION max_statement_time = {:.3f}" if "MariaDB" in server \
            else "SET SESSION max_execution_time = {:.0f}"
        self._scale = 1.0 if "MariaDB" in server else 1000.0

    def _bound(self, doing: str) -> None:
        # PyMySQL applies these to each read and write that follows; mysqlwire bounds each
        # recv by the deadline itself
        left = self.deadline.left_or_fail(doing)
        self._conn._read_timeout = left
        self._conn._write_timeout = left

    def _server_limit(self, cursor: Any) -> None:
        """max_statement_time (MariaDB) or max_execution_time (MySQL 5.7.8+): what is left of
        the deadline, so a query the plugin gave up on does not keep running on the server."""
        left = self.deadline.left_or_fail("setting the statement time limit")
        try:
            cursor.execute(self._limit.format(max(left, 0.001) * self._scale))
        except self._errors as error:
            code = error.args[0] if error.args else None
            if code not in (1193, 1064):  # unknown variable / syntax: an older server
                raise

    def read_only(self, queries: Sequence[str]) -> list[tuple[int, Rows]]:
        if self._spent:
            raise DatabaseError(BAD_RESULT, "the connection was closed after a result of more "
                                f"than {MAX_ROWS} rows")
        try:
            with self._conn.cursor() as cursor:
                self._bound("setting the statement time limit")
                self._server_limit(cursor)
                self._bound("starting a read-only transaction")
                cursor.execute("START TRANSACTION READ ONLY")
            results = []
            for query in queries:
                self._bound("running the query")
                results.append(self._unbuffered_rows(query))
                if self._spent:
                    return results
            self._bound("ending the transaction")
            self._conn.rollback()
        except self._too_much as error:
            self.close()
            raise DatabaseError(BAD_RESULT, f"{error} for one query", self.params.where()) \
                from None
        except self._errors as error:
            raise _mysql_error(error, self.params, "querying", self.deadline) from None
        except DatabaseError:
            raise  # already in words: the deadline ran out, or too much came
        except Exception as error:
            raise _unexpected(error, self.params, "querying") from None
        return results

    def fold(self, query: str, folder: Folder) -> int:
        if self._spent:
            raise DatabaseError(BAD_RESULT, "the connection was closed after an unfinished "
                                "result")
        count = 0
        try:
            with self._conn.cursor() as cursor:
                self._bound("setting the statement time limit")
                self._server_limit(cursor)
                self._bound("starting a read-only transaction")
                cursor.execute("START TRANSACTION READ ONLY")
            self._bound("running the query")
            cursor = self._conn.cursor(self._unbuffered)
            self._spent = True  # until the result is read to its end: never drain it
            try:
                cursor.execute(query)
                folder.columns(len(cursor.description or ()))
                while True:
                    self._bound("reading the rows")
                    batch = cursor.fetchmany(FOLD_BATCH)
                    if not batch:
                        break
                    for row in batch:
                        folder.add(row)
                    count += len(batch)
                self._spent = False
            finally:
                if self._spent:
                    self._abandon(cursor)
            cursor.close()
            self._bound("ending the transaction")
            self._conn.rollback()
        except self._too_much as error:
            self.close()
            raise DatabaseError(BAD_RESULT, f"{error} for one query", self.params.where()) \
                from None
        except self._errors as error:
            self.close()
            raise _mysql_error(error, self.params, "querying", self.deadline) from None
        except DatabaseError:
            self.close()
            raise  # already in words: the deadline ran out, or the folder refused the result
        except Exception as error:
            self.close()
            raise _unexpected(error, self.params, "querying") from None
        return count

    def _abandon(self, cursor: Any) -> None:
        """Leaves an unfinished result unread: its close() and __del__ would drain the rest
        (millions of rows, or a silent server); the connection is dropped instead."""
        result = getattr(cursor, "_result", None)
        if result is not None:
            result.unbuffered_active = False
        cursor.connection = None
        self.close()

    def _unbuffered_rows(self, query: str) -> tuple[int, Rows]:
        """The rows as they arrive (an unbuffered cursor), at most MAX_ROWS + 1: a query that
        returns millions costs the memory of 10,001 rows. A result cut short is not drained
        (that would read the millions): the connection is dropped, which rolls back."""
        cursor = self._conn.cursor(self._unbuffered)
        cursor.execute(query)
        width = len(cursor.description or ())
        rows = list(cursor.fetchmany(MAX_ROWS + 1))
        if len(rows) > MAX_ROWS:
            self._spent = True
            result = getattr(cursor, "_result", None)
            if result is not None:  # its close() and __del__ would drain the rest
                result.unbuffered_active = False
            cursor.connection = None
            self.close()
        else:
            cursor.close()
        return width, rows

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a broken connection may fail to close
            if self._spent:
                self._conn._force_close()
            else:
                self._conn.close()


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeError:
        return False
    return True


def _utf8(text: str) -> bytes:
    """The password's bytes: UTF-8, and bytes that came undecodable (surrogateescape) as they
    were; never an encoding error, whose message would show a character of the password."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeError:  # a lone surrogate no decoder made: a wrong password, said so
        return text.encode("utf-8", "replace")


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
        if deadline is not None and _peak_memory() - deadline.memory > PG_MAX_GROWTH:
            raise psycopg2.OperationalError(f"{TOO_MUCH} {PG_MAX_GROWTH // 1024 // 1024} MiB")
        left = deadline.left() if deadline else None
        if left is not None and left <= 0:
            raise psycopg2.OperationalError("timed out")
        if state == extensions.POLL_READ:
            select.select([connection.fileno()], [], [], left)
        elif state == extensions.POLL_WRITE:
            select.select([], [connection.fileno()], [], left)
        else:
            raise psycopg2.OperationalError(f"unexpected poll state {state}")


PG_BATCH = 100
"""Rows per FETCH from the server-side cursor: what libpq holds at once (100 x PG_MAX_ROW)."""

PG_MAX_ROW = 16384
"""Bytes of one row (as text) that the server may send; (daemon name, pid) is a few dozen."""

MAX_BYTES = 8 * 1024 * 1024
"""Bytes of one query's rows kept at most (MySQL: mysqlwire.MAX_BYTES per connection)."""

PG_ROW_LIMIT = ("SELECT q.* FROM ({query}\n) AS q WHERE CASE WHEN octet_length(q::text) > {limit} "
                "THEN CAST(octet_length(q::text)::text || ' bytes in one row' AS int) = 0 "
                "ELSE true END")
"""The admin's query (already checked: one SELECT) wrapped so that the server itself refuses
a huge row, with an error that names its size (a row-dependent cast, so no constant folding).
The newline ends a -- comment at the query's end before the wrapper goes on."""

PG_MAX_GROWTH = 24 * 1024 * 1024
"""Bytes the plugin's peak memory may grow while libpq reads one answer: a row of one huge
value cannot be refused by counting rows, so the wait between reads looks at the memory."""

TOO_MUCH = "the server sent more than"
CLEAR_TEXT_REFUSED = ("the server asks for the password in clear text, which would hand it "
                      "over readable: refused, since the connection is not TLS with a "
                      "verified server (use --db-ssl-ca)")

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
    if "requested a cleartext password" in text or "requirement failed" in text:
        return DatabaseError(LOGIN_REFUSED, CLEAR_TEXT_REFUSED, where, full)
    if text.startswith(TOO_MUCH):
        return DatabaseError(BAD_RESULT, f"{line} while {doing}", where, full)
    if code == "22P02" and "bytes in one row" in text:
        size = re.search(r"(\d+) bytes in one row", text)
        return DatabaseError(BAD_RESULT, f"a row of {size.group(1) if size else 'too many'} "
                             f"bytes (more than {PG_MAX_ROW})", where, full)
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


def _addresses(host: str, seconds: float) -> list[str]:
    """The addresses of a host name, in the resolver's order, resolved within seconds (in a
    thread: getaddrinfo cannot be interrupted); none for a path or a list of hosts (libpq's
    own syntax) or a name that does not resolve (libpq then says so)."""
    import socket

    from os4xmon.core import netwait  # sockets only once a connection is made

    if host.startswith("/") or "," in host:
        return []
    try:
        found = netwait.resolve(host, seconds)
    except netwait.NameTimeout:
        raise socket.timeout("timed out") from None
    except (OSError, UnicodeError):
        return []
    addresses: list[str] = []
    for _, sockaddr in found:
        if str(sockaddr[0]) not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses


def _small_receive_buffer(fd: int) -> None:
    """libpq reads all that the socket holds before it returns to the wait callback, which
    looks at the memory: a small kernel buffer makes each of those reads small."""
    import socket

    with contextlib.suppress(OSError):
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, PG_RECEIVE_BUFFER)
        finally:
            sock.close()


PG_RECEIVE_BUFFER = 256 * 1024


def _pg_arguments(params: ConnectParams, deadline: Deadline,
                  libpq_version: int) -> dict[str, Any]:
    """libpq's connection parameters: the server's own time limit, read-only, where to go."""
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
    if not params.ssl_ca and libpq_version >= 160000:
        # AuthenticationCleartextPassword would hand the password to whoever holds the
        # port; libpq 16 can refuse it (older libpq cannot: see docs/database.md)
        kwargs["require_auth"] = "!password"
    for value in (params.user, params.password, params.name):
        if value is not None and not _encodable(value):
            raise DatabaseError(LOGIN_REFUSED, "the user, password or database name is not "
                                "valid text (an undecodable byte)", params.where())
    return kwargs


class PostgresConnection(Connection):
    def __init__(self, params: ConnectParams, deadline: Deadline) -> None:
        super().__init__(params, deadline)
        try:
            import psycopg2
            from psycopg2 import extensions
        except ImportError as error:
            raise DatabaseError(DRIVER_MISSING, f"psycopg2: {printable(str(error))} "
                                f"({system_modules.INSTALL['psycopg2']})") from None
        self._errors: tuple[type[Exception], ...] = (psycopg2.Error, OSError)
        extensions.set_wait_callback(_wait_pg)
        kwargs = _pg_arguments(params, deadline, extensions.libpq_version())
        deadline.left_or_fail("connecting")
        try:
            addresses = _addresses(params.host, deadline.left()) \
                if params.host and not params.socket else []
        except OSError:  # the name service stayed silent
            raise DatabaseError(SILENT, deadline.silence("resolving the host name"),
                                params.where()) from None
        for index, address in enumerate(addresses or [None]):
            # each address gets its share of what is left: libpq in green mode would give the
            # first one all of it, and a firewalled first address would hide the others
            share = Deadline(deadline.left() / max(len(addresses) - index, 1))
            share.seconds, share.memory = deadline.seconds, deadline.memory
            if address:
                kwargs["hostaddr"] = address
            _pg_deadline.append(share)
            try:
                self._conn = psycopg2.connect(**kwargs)
                self._conn.set_session(readonly=True, autocommit=False)
                _small_receive_buffer(self._conn.fileno())
            except self._errors as error:
                _pg_deadline.pop()
                failure = _pg_error(error, params, "connecting", deadline)
                if failure.kind in (SILENT, UNREACHABLE) and index + 1 < len(addresses):
                    continue
                raise failure from None
            except Exception as error:
                _pg_deadline.pop()
                raise _unexpected(error, params, "connecting") from None
            _pg_deadline[-1] = deadline
            break

    def read_only(self, queries: Sequence[str]) -> list[tuple[int, Rows]]:
        try:
            results = []
            for number, query in enumerate(queries):
                self.deadline.left_or_fail("running the query")
                results.append(self._rows_in_batches(query, number))
            self._conn.rollback()
        except self._errors as error:
            raise _pg_error(error, self.params, "querying", self.deadline) from None
        except DatabaseError:
            raise  # already in words: the deadline ran out, or too much came
        except Exception as error:
            raise _unexpected(error, self.params, "querying") from None
        return results

    def fold(self, query: str, folder: Folder) -> int:
        count = 0
        try:
            self.deadline.left_or_fail("running the query")
            with self._conn.cursor(name="check_os4x_fold") as cursor:
                cursor.execute(PG_ROW_LIMIT.format(query=query, limit=PG_MAX_ROW))
                width = 0
                while True:
                    self.deadline.left_or_fail("reading the rows")
                    batch = cursor.fetchmany(FOLD_BATCH)
                    if count == 0:  # a named cursor knows its columns after the first FETCH
                        width = len(cursor.description or ())
                        folder.columns(width)
                    if not batch:
                        break
                    for row in batch:
                        folder.add(row)
                    count += len(batch)
            self._conn.rollback()
        except self._errors as error:
            raise _pg_error(error, self.params, "querying", self.deadline) from None
        except DatabaseError:
            raise  # already in words: the deadline ran out, or the folder refused the result
        except Exception as error:
            raise _unexpected(error, self.params, "querying") from None
        return count

    def _rows_in_batches(self, query: str, number: int) -> tuple[int, Rows]:
        """A server-side cursor (DECLARE ... CURSOR inside the read-only transaction) read in
        batches up to MAX_ROWS + 1: libpq keeps a whole result in memory, and a query of five
        million rows cost 300 MB that way. The server refuses a row above PG_MAX_ROW bytes
        (libpq would take a 1 GB value whole), and the rows kept stay under MAX_BYTES."""
        rows: Rows = []
        size = 0
        with self._conn.cursor(name=f"check_os4x_{number}") as cursor:
            cursor.execute(PG_ROW_LIMIT.format(query=query, limit=PG_MAX_ROW))
            while len(rows) <= MAX_ROWS:
                batch = cursor.fetchmany(min(PG_BATCH, MAX_ROWS + 1 - len(rows)))
                if not batch:
                    break
                size += sum(len(str(value)) for row in batch for value in row)
                if size > MAX_BYTES:
                    raise DatabaseError(BAD_RESULT, f"{TOO_MUCH} {MAX_BYTES // 1024 // 1024} "
                                        "MiB for one query", self.params.where())
                rows.extend(batch)
            width = len(cursor.description or ())
        return width, rows

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

