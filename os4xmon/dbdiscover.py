"""``--db-discover``: helps an admin write ``--pid-query`` (OS4X's PID table is not documented).

It lists, from the information schema, the tables of the OS4X database whose table or column
names suggest PIDs or daemons, with a query to start from, and the ports saved in
``<prefix>configuration``. It only reads (in a read-only transaction), prints, and exits: 0 when
it could look, 3 with one ``OS4X UNKNOWN`` line when it could not.
"""

from __future__ import annotations

import re

from os4xmon import runtime
from os4xmon.database import configuration_query, connect_params, parse_ports
from os4xmon.dbdrivers import DatabaseError, Deadline, connect, scrub
from os4xmon.queue import discover_lines
from os4xmon.record import dataclass, field
from os4xmon.settings import Settings
from os4xmon.text import printable

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


@dataclass
class Table:
    name: str
    columns: list[tuple[str, str]] = field(default_factory=list)  # (column, type)

    def hinted(self) -> bool:
        return bool(HINTS.search(self.name)) or any(HINTS.search(c) for c, _ in self.columns)

    def suggestion(self, prefix: str) -> str | None:
        """A --pid-query to start from, when one column looks like a name and one like a pid."""
        pids = [c for c, _ in self.columns if PID_HINTS.search(c)]
        names = [c for c, _ in self.columns if NAME_HINTS.search(c) and c not in pids]
        if not pids or not names:
            return None
        table = "{prefix}" + self.name[len(prefix):] if self.name.startswith(prefix) \
            else self.name
        return f"SELECT {names[0]}, {pids[0]} FROM {table}"  # noqa: S608 - printed, not run


def candidates(rows: Sequence[Sequence[Any]]) -> list[Table]:
    """The tables whose name or columns suggest PIDs or daemons, from information_schema rows."""
    tables: dict[str, Table] = {}
    for row in rows:
        table, column, kind = (printable(str(value), 64) for value in row[:3])
        tables.setdefault(table, Table(table)).columns.append((column, kind))
    return [table for table in tables.values() if table.hinted()]


def report(settings: Settings, tables: list[Table], all_tables: int,
           ports: dict[str, int], notes: list[str]) -> list[str]:
    """What --db-discover prints: pure, so it can be tested on fixture rows."""
    prefix = settings.db_prefix
    lines = [f"{all_tables} tables in database {printable(settings.db_name, 64)}; "
             f"{len(tables)} may hold PIDs or daemons (table or column names with pid, daemon, "
             "process, lock, running, instance or service):"]
    for table in tables:
        lines.append(f"  {table.name}")
        lines.extend(f"    {column} {kind}" + ("   <--" if HINTS.search(column) else "")
                     for column, kind in table.columns)
        suggestion = table.suggestion(prefix)
        if suggestion:
            lines.append(f"    try: --pid-query '{suggestion}'")
    if not tables:
        lines.append("  none: look for the table that holds one row per daemon, and ask the "
                     "OS4X vendor which it is")
    lines.append(f"ports in {prefix}configuration: " + (", ".join(
        f"{key} = {value}" for key, value in sorted(ports.items())) or "none"))
    lines.extend(f"  {note}" for note in notes)
    lines.append("then check it: check_os4x --checks database --pid-query '...' -v")
    return lines


def discover(settings: Settings) -> NoReturn:
    """Prints what may hold the PIDs and the configured ports, then exits; changes nothing."""
    if not settings.db_type:
        runtime.fail("--db-discover needs --db-type (and the connection options) "
                     "(see check_os4x --help)")
    params = connect_params(settings)
    share = runtime.share()
    deadline = Deadline(max(share if share != float("inf") else settings.timeout, 0.05))
    try:
        connection = connect(params, deadline)
        try:
            ((_, columns),) = connection.read_only([COLUMNS[params.db_type]])
            try:
                ((_, port_rows),) = connection.read_only(
                    [configuration_query(settings.db_prefix)])
                ports, notes = parse_ports(port_rows)
            except DatabaseError as error:
                ports, notes = {}, [str(error)]
        finally:
            connection.close()
    except DatabaseError as error:
        runtime.fail(scrub(str(error), settings.db_password))
    tables = candidates(columns)
    lines = report(settings, tables, len({row[0] for row in columns}), ports, notes)
    lines[-1:-1] = discover_lines(columns, settings.db_prefix)
    runtime.emit([scrub(line, settings.db_password) for line in lines], 0)
