"""PostgreSQL through psycopg2 (imported here only, when a connection is made), behind
:class:`os4xmon.db.drivers.Connection`, in green mode so that Python does every wait: libpq
waits inside C and retries on EINTR, so only a wait callback (:func:`_wait_pg`) that selects no
longer than the deadline can stop at it."""

from __future__ import annotations

import contextlib
import os
import re
import select

from os4xmon.core import system_modules
from os4xmon.core.text import printable
from os4xmon.db.drivers import (
    BAD_RESULT,
    DRIVER_MISSING,
    LOGIN_REFUSED,
    MAX_ROWS,
    MISSING_TABLE,
    SILENT,
    SQL_ERROR,
    STREAM_BATCH,
    UNKNOWN_DATABASE,
    UNREACHABLE,
    Connection,
    ConnectParams,
    DatabaseError,
    Deadline,
    RowStream,
    _encodable,
    _peak_memory,
    _unexpected,
    one_line,
    scrub,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Iterator, Sequence, Tuple

    from os4xmon.db.drivers import Rows

    Batch = Sequence[Tuple[Any, ...]]


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

    def stream(self, query: str) -> RowStream:
        """A server-side cursor as in :meth:`_rows_in_batches`, fetched STREAM_BATCH rows at a
        time for as long as rows come and the deadline lasts; no rows are kept."""
        try:
            self.deadline.left_or_fail("running the query")
            cursor = self._conn.cursor(name="check_os4x_stream")
            cursor.execute(PG_ROW_LIMIT.format(query=query, limit=PG_MAX_ROW))
            first = cursor.fetchmany(STREAM_BATCH)  # the columns are known after a FETCH
        except Exception as error:
            raise self._failure(error) from None
        return RowStream(len(cursor.description or ()), self._batches(cursor, first),
                         self._finish)

    def _batches(self, cursor: Any, first: Batch) -> Iterator[Batch]:
        batch = first
        while batch:
            yield batch
            try:
                self.deadline.left_or_fail("reading the rows")
                batch = cursor.fetchmany(STREAM_BATCH)
            except Exception as error:
                raise self._failure(error, "reading the rows") from None

    def _finish(self, complete: bool) -> None:
        """The transaction ends (and the cursor with it); after a failure the connection is
        closed, which the server notices as well (statement_timeout stops it anyway)."""
        if complete:
            with contextlib.suppress(Exception):
                self._conn.rollback()
                return
        self.close()

    def _failure(self, error: Exception, doing: str = "running the query") -> DatabaseError:
        """Any error of a read as a DatabaseError in words."""
        if isinstance(error, DatabaseError):
            return error
        if isinstance(error, self._errors):
            return _pg_error(error, self.params, doing, self.deadline)
        return _unexpected(error, self.params, doing)

    def close(self) -> None:
        if getattr(self, "_closed", False):
            return
        self._closed = True
        with contextlib.suppress(Exception):  # a broken connection may fail to close
            self._conn.close()
        if _pg_deadline:
            _pg_deadline.pop()




def connect(params: ConnectParams, deadline: Deadline) -> Connection:
    """A connection to PostgreSQL, or DatabaseError; within the deadline."""
    return PostgresConnection(params, deadline)
