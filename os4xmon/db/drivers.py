"""MySQL/MariaDB and PostgreSQL behind one small interface, every wait bounded by a deadline.

This module holds what both drivers share: the failures put into words (:class:`DatabaseError`),
where to connect (:class:`ConnectParams`), the deadline, the password scrubber, and the
interface of a connection (:class:`Connection`): :meth:`Connection.read_only` for small answers
(a PID table, the configuration) and :meth:`Connection.stream` for answers of any size, read as
they arrive (a send queue of a million entries). The drivers themselves are
:mod:`os4xmon.db.mysql` (PyMySQL) and :mod:`os4xmon.db.postgresql` (psycopg2), imported only
inside :func:`connect`: a check that does not look at the database never pays for them. Every
failure becomes a :class:`DatabaseError` with a *kind* (what went wrong, for the admin) and one
line of the driver's message with the password taken out.

Why the deadline is enforced here and not by the plugin's alarm: libpq waits inside C and retries
on EINTR, so a SIGALRM would only be seen once the server answers, which a silent server never
does. psycopg2 therefore runs in "green" mode, where every wait is a ``select`` in Python that
stops at the deadline; PyMySQL is pure Python on sockets, whose every ``recv`` is given what is
left of the deadline (:mod:`os4xmon.db.mysqlwire`). The server is also told to give up
(``statement_timeout``, ``max_statement_time``), so an abandoned query does not keep running
there.
"""

from __future__ import annotations

import re
import time

from os4xmon.core.record import dataclass, field
from os4xmon.core.text import duration, printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, Iterator, List, Sequence, Tuple

    Rows = List[Tuple[Any, ...]]



MAX_ROWS = 10000
"""Rows :meth:`Connection.read_only` reads from any one query at most: OS4X has a handful of
daemons, so a PID query that returns more is wrong, and keeping all of them could cost the
memory and time of the monitoring host. Answers that may be large (the send queue, partners,
certificates) are read with :meth:`Connection.stream`, which keeps no rows and has no cap."""

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


class RowStream:
    """The rows of one query as they arrive, for a caller that folds each row into figures and
    lets it go: memory stays bounded by what the caller keeps, not by the number of rows.

    Made by :meth:`Connection.stream`; use it as a context manager and iterate it::

        with connection.stream(sql) as rows:
            if rows.width != 4: ...            # the number of columns, known before any row
            for row in rows:                   # tuples, fetched in batches behind the scenes
                fold(row)
        # rows.count: the rows yielded so far

    There is no row cap: only the deadline bounds the read. When it runs out, or the server
    fails half-way, iterating raises :class:`DatabaseError` (kind SILENT for the deadline) and
    ``count`` says how many rows came before: the caller keeps what it folded from them (a
    CRITICAL already found stays CRITICAL) and says that the answer was cut short after
    ``count`` rows. Leaving the ``with`` block ends the read-only transaction, or drops the
    connection when rows were left unread (draining them could take the rest of the deadline).
    """

    def __init__(self, width: int, batches: Iterator[Sequence[tuple[Any, ...]]],
                 finish: Callable[[bool], None]) -> None:
        self.width = width
        self.count = 0
        self.complete = False  # every row was read
        self._batches = batches
        self._finish = finish

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for batch in self._batches:
            for row in batch:
                self.count += 1
                yield row
        self.complete = True

    def __enter__(self) -> RowStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._finish(self.complete)


STREAM_BATCH = 500
"""Rows fetched at once by :meth:`Connection.stream` (PostgreSQL: one FETCH of its server-side
cursor; MySQL reads row by row from the socket anyway): with rows of at most 16 KiB as text
(the PostgreSQL wrapper refuses bigger ones; MySQL: mysqlwire.MAX_BYTES per message), what is
held at once stays a few MiB in the worst case and a few dozen KiB for a send queue's rows."""


class Connection:
    """An open connection that runs read-only queries; subclasses hide the driver."""

    def __init__(self, params: ConnectParams, deadline: Deadline) -> None:
        self.params = params
        self.deadline = deadline

    def read_only(self, queries: Sequence[str]) -> list[tuple[int, Rows]]:
        """Runs each query in one read-only transaction: (number of columns, rows) each,
        at most MAX_ROWS + 1 rows (one more tells that there were too many).

        A failing query ends the transaction: its error is raised, earlier results are lost.
        For answers that may be large, use :meth:`stream`.
        """
        raise NotImplementedError

    def stream(self, query: str) -> RowStream:
        """Runs one query in a read-only transaction and hands its rows over as they arrive
        (an unbuffered cursor on MySQL, a server-side cursor on PostgreSQL), bounded by the
        deadline only: see :class:`RowStream`. Raises :class:`DatabaseError` when the query
        fails before its first row (SQL error, missing table, no answer in time)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


DRIVERS = {"mysql": "os4xmon.db.mysql", "postgresql": "os4xmon.db.postgresql"}
"""The module of each --db-type; each has a ``connect(params, deadline)``."""


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeError:
        return False
    return True


def connect(params: ConnectParams, deadline: Deadline) -> Connection:
    """Opens a connection, or raises DatabaseError; no wait outlives the deadline."""
    import importlib  # the driver's module only when a database is asked: import cost

    try:
        module = DRIVERS[params.db_type]
    except KeyError:
        raise DatabaseError(DRIVER_MISSING, f"no driver for {params.db_type!r}") from None
    opened: Connection = importlib.import_module(module).connect(params, deadline)
    return opened
