"""``--db-discover``: helps an admin write ``--pid-query`` (OS4X's PID table is not documented).

It lists, from the information schema, the tables of the OS4X database whose table or column
names suggest PIDs or daemons, with a query to start from, the ports saved in
``<prefix>configuration``, and the ``GRANT SELECT`` statements for a monitoring user that can read
only those tables. It only reads (in a read-only transaction), prints, and exits: 0 when it could
look, 3 with one ``OS4X UNKNOWN`` line when it could not; within the same ``-t`` as a check.

Table and column names come from the database, so they are hostile: every name in a suggested
command is quoted for SQL and the whole argument for the shell (a column named
``pid' $(touch x) '`` stays a name), and a name that is not printable gets no suggestion.
"""

from __future__ import annotations

import re
import shlex

from os4xmon.checks.database import parse_ports
from os4xmon.checks.partners import aspect as partners
from os4xmon.checks.sendqueue.discover import discover_lines
from os4xmon.core import execution
from os4xmon.core.record import dataclass, field
from os4xmon.core.settings import Settings
from os4xmon.core.text import printable
from os4xmon.db.access import connect_params
from os4xmon.db.drivers import DatabaseError, Deadline, connect, scrub
from os4xmon.db.sqlguard import FORBIDDEN_WORDS, check_read_only
from os4xmon.facts.configuration import configuration_query

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, NoReturn, Sequence


HINTS = re.compile(r"pid|daemon|process|proc|lock|running|instance|service", re.IGNORECASE)
NAME_HINTS = re.compile(r"daemon|process|proc|name|service|program", re.IGNORECASE)
PID_HINTS = re.compile(r"pid", re.IGNORECASE)

COLUMNS = {
    "mysql": "SELECT table_name, column_name, data_type FROM information_schema.columns "
             "WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position",
    "postgresql": "SELECT table_name, column_name, data_type FROM information_schema.columns "
                  "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
}


PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
RESERVED = set(FORBIDDEN_WORDS) | {"SELECT", "FROM", "WHERE", "ORDER", "GROUP", "TABLE", "USER",
                                   "WITH", "FOR", "KEY", "AS", "ON", "IN", "IS", "BY"}
MONITORING_USER = "nagios"


def quote_name(name: str, db_type: str) -> str:
    """A table or column name as SQL: bare when plainly safe, else quoted (backticks for
    MySQL, double quotes for PostgreSQL), the quote character doubled inside."""
    if PLAIN_NAME.fullmatch(name) and name.upper() not in RESERVED:
        return name
    quote = "`" if db_type == "mysql" else '"'
    return quote + name.replace(quote, quote * 2) + quote


def sql_text(text: str) -> str:
    """A string literal for either dialect's GRANT statements."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass
class Table:
    name: str  # as the database spells it: hostile; printable() it before showing it
    columns: list[tuple[str, str]] = field(default_factory=list)  # (column, type), the same

    def hinted(self) -> bool:
        return bool(HINTS.search(self.name)) or any(HINTS.search(c) for c, _ in self.columns)

    def printable_names(self) -> bool:
        return all(printable(name, 64) == name
                   for name in (self.name, *(column for column, _ in self.columns)))

    def suggestion(self, prefix: str, db_type: str = "mysql") -> str | None:
        """A --pid-query to start from, when one column looks like a name and one like a pid;
        None when the names are not printable or the query would not pass the guard."""
        pids = [c for c, _ in self.columns if PID_HINTS.search(c)]
        names = [c for c, _ in self.columns if NAME_HINTS.search(c) and c not in pids]
        if not pids or not names or not self.printable_names():
            return None
        if self.name.startswith(prefix) and PLAIN_NAME.fullmatch(self.name):
            table = "{prefix}" + self.name[len(prefix):]
        else:
            table = quote_name(self.name, db_type)
        query = (f"SELECT {quote_name(names[0], db_type)}, "  # noqa: S608 - printed, not run
                 f"{quote_name(pids[0], db_type)} FROM {table}")
        try:
            return check_read_only(query, "--pid-query")
        except ValueError:
            return None


def candidates(rows: Sequence[Sequence[Any]]) -> list[Table]:
    """The tables whose name or columns suggest PIDs or daemons, from information_schema rows."""
    tables: dict[str, Table] = {}
    for row in rows:
        table, column, kind = (str(value) for value in row[:3])
        tables.setdefault(table, Table(table)).columns.append((column, kind))
    return [table for table in tables.values() if table.hinted()]


def client_host(user_function: str | None) -> str:
    """The host part of MySQL's USER() ('nagios@127.0.0.1'): where the server sees this
    connection come from, so the account made for the plugin is the one it logs in as (with
    skip_name_resolve a TCP connection from 127.0.0.1 is not 'localhost'); localhost when the
    server did not say."""
    host = (user_function or "").rpartition("@")[2]
    return host if host and printable(host, 255) == host else "localhost"


def grants(settings: Settings, tables: Sequence[str], host: str = "localhost") -> list[str]:
    """The statements that make a monitoring user who can read these tables and nothing else;
    for MySQL, an account at host, where the plugin connects from."""
    db_type = settings.db_type or "mysql"
    user = settings.db_user if settings.db_user and settings.db_user != "root" \
        else MONITORING_USER
    if db_type == "mysql":
        account = f"{sql_text(user)}@{sql_text(host)}"
        database = quote_name(settings.db_name, "mysql")
        lines = [f"CREATE USER {account} IDENTIFIED BY '...';"]
        lines += [f"GRANT SELECT ON {database}.{quote_name(table, 'mysql')} TO {account};"
                  for table in tables]
        return lines
    role = quote_name(user, "postgresql")
    database = quote_name(settings.db_name, "postgresql")
    lines = [f"CREATE ROLE {role} LOGIN PASSWORD '...';",
             f"GRANT CONNECT ON DATABASE {database} TO {role};",
             # the schema and table grants act in the database psql is connected to
             f"\\c {database}",
             f"GRANT USAGE ON SCHEMA public TO {role};"]
    lines += [f"GRANT SELECT ON {quote_name(table, 'postgresql')} TO {role};"
              for table in tables]
    return lines


def report(settings: Settings, tables: list[Table], all_tables: int,
           ports: dict[str, int], notes: list[str], *, queue_lines: Sequence[str] = (),
           queue_table: str | None = None, host: str = "localhost",
           log_lines: Sequence[str] = (), log_tables: Sequence[str] = ()) -> list[str]:
    """What --db-discover prints: pure, so it can be tested on fixture rows. ``queue_lines``
    describe the send queue's table, ``queue_table`` names it where it exists (the monitoring
    user reads it for --queue-query); ``log_lines`` and ``log_tables`` the same for the
    transfer logs (--partner-query)."""
    prefix = settings.db_prefix
    lines = [f"{all_tables} tables in database {printable(settings.db_name, 64)}; "
             f"{len(tables)} may hold PIDs or daemons (table or column names with pid, daemon, "
             "process, lock, running, instance or service):"]
    readable = [f"{prefix}configuration"]
    for table in tables:
        lines.append(f"  {printable(table.name, 64)}")
        lines.extend(f"    {printable(column, 64)} {printable(kind, 64)}"
                     + ("   <--" if HINTS.search(column) else "")
                     for column, kind in table.columns)
        suggestion = table.suggestion(prefix, settings.db_type or "mysql")
        if suggestion:
            lines.append(f"    try: --pid-query {shlex.quote(suggestion)}")
            readable.insert(-1, table.name)
    if not tables:
        lines.append("  none: look for the table that holds one row per daemon, and ask the "
                     "OS4X vendor which it is")
    lines.append(f"ports in {prefix}configuration: " + (", ".join(
        f"{key} = {value}" for key, value in sorted(ports.items())) or "none"))
    lines.extend(f"  {note}" for note in notes)
    lines.extend(queue_lines)
    if queue_table:
        readable.append(queue_table)
    lines.extend(log_lines)
    readable.extend(table for table in log_tables if printable(table, 64) == table)
    lines.append("then check it: check_os4x --checks database --pid-query '...' -v")
    if (settings.db_type or "mysql") == "mysql":
        lines.append("a monitoring user that can read only these tables, connecting from "
                     f"{printable(host, 255)} as this run did (as the database's admin):")
    else:
        lines.append("a monitoring user that can read only these tables (as the database's "
                     "admin, in psql):")
    lines.extend(f"  {line}" for line in grants(settings, readable, host))
    if not [table for table in readable
            if table not in (f"{prefix}configuration", queue_table, *log_tables)]:
        lines.append("  and GRANT SELECT on the table your --pid-query reads, nothing more")
    return lines


def discover(settings: Settings) -> NoReturn:
    """Prints what may hold the PIDs and the configured ports, then exits; changes nothing."""
    if not settings.db_type:
        execution.fail("--db-discover needs --db-type (and the connection options) "
                     "(see check_os4x --help)")
    params = connect_params(settings)
    share = execution.share()
    deadline = Deadline(max(share if share != float("inf") else settings.timeout, 0.05))
    try:
        connection = connect(params, deadline)
        try:
            ((_, columns),) = connection.read_only([COLUMNS[params.db_type]])
            host = "localhost"
            if params.db_type == "mysql":
                ((_, who),) = connection.read_only(["SELECT USER()"])
                host = client_host(str(who[0][0]) if who and who[0] else None)
            try:
                ((_, port_rows),) = connection.read_only(
                    [configuration_query(settings.db_prefix)])
                ports, notes = parse_ports(port_rows)
            except DatabaseError as error:
                ports, notes = {}, [str(error)]
        finally:
            connection.close()
    except DatabaseError as error:
        execution.fail(scrub(str(error), settings.db_password))
    tables = candidates(columns)
    queue_table = f"{settings.db_prefix}send_queue"
    present = next((str(row[0]) for row in columns
                    if str(row[0]).lower() == queue_table.lower()), None)
    lines = report(settings, tables, len({row[0] for row in columns}), ports, notes,
                   queue_lines=discover_lines(columns, settings.db_prefix, params.db_type),
                   queue_table=present, host=host,
                   log_lines=partners.discover_lines(columns, settings.db_prefix),
                   log_tables=list(partners.log_tables(columns, settings.db_prefix)))
    execution.emit([scrub(line, settings.db_password) for line in lines], 0)
