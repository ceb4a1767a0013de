"""MySQL and MariaDB through PyMySQL (imported here only, when a connection is made), behind
:class:`os4xmon.db.drivers.Connection`; :mod:`os4xmon.db.mysqlwire` adds the deadline on every
``recv``, the byte cap and the refusal to hand the password over readable."""

from __future__ import annotations

import contextlib
import os

from os4xmon.core.text import printable
from os4xmon.db.drivers import (
    BAD_RESULT,
    DRIVER_MISSING,
    LOGIN_REFUSED,
    MAX_ROWS,
    MISSING_TABLE,
    MYSQL_SOCKET,
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
    _unexpected,
    one_line,
    scrub,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Iterator, Sequence, Tuple

    from os4xmon.db.drivers import Rows

    Batch = Sequence[Tuple[Any, ...]]


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
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA store to load: nothing verified
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _import_pymysql_without_rsa() -> None:
    """PyMySQL imports ``cryptography`` (a fifth of the plugin's start) only to encrypt the
    password to a key the server sends, which mysqlwire refuses anyway (over verified TLS the
    password goes in clear inside it): PyMySQL's auth module is imported with that import
    failing, as on a host without ``cryptography``, and everyone else may import it as usual."""
    import sys

    if "pymysql._auth" in sys.modules or "cryptography" in sys.modules:
        return
    sys.modules["cryptography"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import pymysql._auth  # noqa: F401 - imported now, without cryptography
    finally:
        del sys.modules["cryptography"]


class MysqlConnection(Connection):
    def __init__(self, params: ConnectParams, deadline: Deadline) -> None:
        super().__init__(params, deadline)
        try:
            _import_pymysql_without_rsa()
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
        elif "ssl_disabled" in mysqlwire.GuardedConnection.__init__.__code__.co_varnames:
            # PyMySQL 1.2 tries TLS when none is asked for ("preferred"): it loads the system's
            # CA store on every run (18 ms here) for an unverified handshake that proves
            # nothing; TLS is what --db-ssl and --db-ssl-ca ask for, on every PyMySQL alike
            kwargs["ssl_disabled"] = True
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

    def _unbuffered_rows(self, query: str) -> tuple[int, Rows]:
        """The rows as they arrive (an unbuffered cursor), at most MAX_ROWS + 1: a query that
        returns millions costs the memory of 10,001 rows. A result cut short is not drained
        (that would read the millions): the connection is dropped, which rolls back."""
        cursor = self._conn.cursor(self._unbuffered)
        cursor.execute(query)
        width = len(cursor.description or ())
        rows = list(cursor.fetchmany(MAX_ROWS + 1))
        if len(rows) > MAX_ROWS:
            self._abandon(cursor)
        else:
            cursor.close()
        return width, rows

    def stream(self, query: str) -> RowStream:
        if self._spent:
            raise DatabaseError(BAD_RESULT, "the connection was closed after a result that was "
                                "not read to its end")
        try:
            with self._conn.cursor() as cursor:
                self._bound("setting the statement time limit")
                self._server_limit(cursor)
                self._bound("starting a read-only transaction")
                cursor.execute("START TRANSACTION READ ONLY")
            self._bound("running the query")
            self._conn.cap_each_message = True  # bytes per row, not per answer: no row cap
            cursor = self._conn.cursor(self._unbuffered)
            cursor.execute(query)
        except Exception as error:
            raise self._failure(error) from None
        return RowStream(len(cursor.description or ()), self._batches(cursor),
                         lambda complete: self._finish(cursor, complete))

    def _batches(self, cursor: Any) -> Iterator[Batch]:
        while True:
            try:
                self._bound("reading the rows")
                batch = cursor.fetchmany(STREAM_BATCH)
            except Exception as error:
                raise self._failure(error, "reading the rows") from None
            if not batch:
                return
            yield batch

    def _finish(self, cursor: Any, complete: bool) -> None:
        """All rows read: the transaction ends; else the connection is dropped, not drained."""
        self._conn.cap_each_message = False  # read_only's cap is per answer again
        if complete:
            try:
                cursor.close()
                self._bound("ending the transaction")
                self._conn.rollback()
                return
            except Exception:  # noqa: S110 - dropped below, which rolls back too
                pass
        self._abandon(cursor)

    def _abandon(self, cursor: Any) -> None:
        self._spent = True
        result = getattr(cursor, "_result", None)
        if result is not None:  # its close() and __del__ would drain the rest
            result.unbuffered_active = False
        cursor.connection = None
        self.close()

    def _failure(self, error: Exception, doing: str = "running the query") -> DatabaseError:
        """Any error of a read as a DatabaseError in words."""
        if isinstance(error, DatabaseError):
            return error  # already in words: the deadline ran out
        if isinstance(error, self._too_much):
            return DatabaseError(BAD_RESULT, f"{error} in one row", self.params.where())
        if isinstance(error, self._errors):
            return _mysql_error(error, self.params, doing, self.deadline)
        return _unexpected(error, self.params, doing)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a broken connection may fail to close
            if self._spent:
                self._conn._force_close()
            else:
                self._conn.close()


def _utf8(text: str) -> bytes:
    """The password's bytes: UTF-8, and bytes that came undecodable (surrogateescape) as they
    were; never an encoding error, whose message would show a character of the password."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeError:  # a lone surrogate no decoder made: a wrong password, said so
        return text.encode("utf-8", "replace")




def connect(params: ConnectParams, deadline: Deadline) -> Connection:
    """A connection to MySQL or MariaDB, or DatabaseError; within the deadline."""
    return MysqlConnection(params, deadline)
