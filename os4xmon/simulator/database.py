"""Database: an OS4X-like schema with the daemons' PIDs (issue: the database check).

With ``--db-type`` the simulator writes, once its processes run, the PID of each daemon instance
into a MariaDB/MySQL or PostgreSQL database laid out like OS4X's (created when missing)::

    os4x_configuration(name VARCHAR(255), value VARCHAR(255))   tcp_port, tcp_port_tls,
                                                     os4xrd_stop_req, os4xsqd_stop_req,
                                                     os4xclientd_port (when given)
    os4x_daemon_state(daemon VARCHAR(64), pid VARCHAR(32))       one row per daemon
    os4x_send_queue(id, server_id, partner, filename, status, send_tries, queued_at)

OS4X's real PID table is not documented; this one is the simulator's design, matched by
``--pid-query 'SELECT daemon, pid FROM {prefix}daemon_state'``. ``pid`` is text so that the
faults can save what a broken installation might: NULL, '', 0 or words. Every PID row is
rewritten at each start, so one database can serve run after run.

The send queue holds the entries given with ``--queue-entry PARTNER:STATE:AGE:TRIES``; its
``status`` is a number, as in a typical OS4X schema (0 new in queue, 1 taken by send queue,
2 successfully sent, 3 blocked, 4 waiting for remote acknowledge), read with :data:`QUEUE_QUERY`.

The transfer logs (partners, send log, receive log) are laid out by
:mod:`os4xmon.simulator.transferlog`, read with its ``PARTNER_QUERY``.

It is a part of the simulator (``simulator.__main__.Part``: the hooks are described there).
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Iterator

from os4xmon.core.settings import DEFAULT_PORT, DEFAULT_TLS_PORT, Settings
from os4xmon.core.values import identifier
from os4xmon.os4x import daemons
from os4xmon.simulator import transferlog
from os4xmon.simulator.scenario import Scenario

PID_TABLE = "daemon_state"
PID_QUERY = "SELECT daemon, pid FROM {prefix}daemon_state"
"""The --pid-query that reads the simulator's PID table."""

QUEUE_TABLE = "send_queue"
STATUS_CODES = {"new": 0, "taken": 1, "sent": 2, "blocked": 3, "waiting": 4}
QUEUE_QUERY = {
    "mysql": "SELECT partner, CASE status WHEN 0 THEN 'new' WHEN 1 THEN 'taken' "
             "WHEN 2 THEN 'sent' WHEN 3 THEN 'blocked' WHEN 4 THEN 'waiting' "
             "ELSE CONCAT('status ', status) END, TIMESTAMPDIFF(SECOND, queued_at, NOW()), "
             "send_tries FROM {prefix}send_queue WHERE server_id = 0",
    "postgresql": "SELECT partner, CASE status WHEN 0 THEN 'new' WHEN 1 THEN 'taken' "
                  "WHEN 2 THEN 'sent' WHEN 3 THEN 'blocked' WHEN 4 THEN 'waiting' "
                  "ELSE 'status ' || status END, "
                  "CAST(EXTRACT(EPOCH FROM now() - queued_at) AS BIGINT), "
                  "send_tries FROM {prefix}send_queue WHERE server_id = 0",
}
"""The --queue-query that reads the simulator's send queue, for each kind of database."""
STOP_REQUESTS = ("os4xrd", "os4xsqd")

DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}
FAULTS = (
    ("stale", "save a PID that no process has (the daemon died without clearing it)"),
    ("wrong", "save the PID of another process (the launcher) instead of the daemon's"),
    ("null", "save NULL as the PID"),
    ("zero", "save 0 as the PID"),
    ("empty", "save '' as the PID"),
    ("no-row", "save no row at all"),
    ("duplicate-row", "save two rows, the second one with a stale PID"),
    ("garbage", "save words instead of a PID"),
)


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def queue_entry(text: str) -> tuple[str, int, int, int]:
    """PARTNER:STATE[:AGE[:TRIES]] -> (partner, status code, age in seconds, send tries).

    STATE is new, taken, waiting, blocked, sent or a raw status number (an unknown state);
    AGE may be negative (an entry from the future, as a broken clock makes one).
    """
    parts = text.rsplit(":", 3) if text.count(":") >= 3 else text.split(":")
    partner, state = parts[0], parts[1] if len(parts) > 1 else "new"
    try:
        code = STATUS_CODES[state] if state in STATUS_CODES else int(state)
        age = int(parts[2]) if len(parts) > 2 else 0
        tries = int(parts[3]) if len(parts) > 3 else 0
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not PARTNER:STATE[:AGE[:TRIES]]") \
            from None
    return partner, code, age, tries


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("database (the PIDs OS4X saves)")
    group.add_argument("--db-type", choices=("mysql", "mariadb", "postgresql"),
                       help="write the PIDs into this kind of database (default: none)")
    group.add_argument("--db-host", default="127.0.0.1", help="server (default 127.0.0.1)")
    group.add_argument("--db-port", type=int, help="server port (default 3306 or 5432)")
    group.add_argument("--db-socket", metavar="PATH", help="the server's Unix socket instead of "
                       "--db-host (MySQL/MariaDB: the socket file, e.g. "
                       "/run/mysqld/mysqld.sock, the plugin's default; PostgreSQL: its "
                       "directory, e.g. /var/run/postgresql)")
    group.add_argument("--db-name", type=identifier, default="os4x_sim",
                       help="database, created when missing (default os4x_sim)")
    group.add_argument("--db-user", default="root",
                       help="user that may create it (default root; password from "
                       "OS4X_DB_PASSWORD)")
    group.add_argument("--db-prefix", type=identifier, default=Settings().db_prefix,
                       help=f"table prefix (default {Settings().db_prefix})")
    group.add_argument("--db-tcp-port", default=str(DEFAULT_PORT),
                       help="tcp_port saved in the configuration (text: may be garbage; "
                       f"default {DEFAULT_PORT})")
    group.add_argument("--db-tcp-port-tls", default=str(DEFAULT_TLS_PORT),
                       help="tcp_port_tls saved in the configuration (text: may be garbage; "
                       f"default {DEFAULT_TLS_PORT})")
    group.add_argument("--db-stop-request", type=_names, default=(), metavar="LIST",
                       help="daemons (os4xrd, os4xsqd) whose <daemon>_stop_req is 1 in the "
                       "configuration (the others: 0)")
    group.add_argument("--db-clientd-port", default=None, metavar="TEXT",
                       help="os4xclientd_port saved in the configuration (default: no row)")
    group.add_argument("--queue-entry", type=queue_entry, action="append", default=[],
                       metavar="PARTNER:STATE[:AGE[:TRIES]]",
                       help="a send queue entry (repeat the option): STATE new, taken, "
                       "waiting, blocked, sent or a raw status number; AGE in seconds")
    transferlog.add_options(group)
    group.add_argument("--db-no-configuration", action="store_true",
                       help="fault: no <prefix>configuration table")
    group.add_argument("--db-foreign", type=_names, default=(), metavar="LIST",
                       help="rows for names that are not OS4X daemons")
    group.add_argument("--db-drop", action="store_true",
                       help="drop the database when the simulator stops")
    for fault, meaning in FAULTS:
        group.add_argument(f"--db-{fault}", type=_names, default=(), metavar="LIST",
                           dest=f"db_fault_{fault.replace('-', '_')}",
                           help=f"fault: for these daemons, {meaning}")


def before_start(args: argparse.Namespace, scenario: Scenario) -> None:
    """Nothing to prepare: the PIDs are known only once the processes run."""


def free_pid() -> int:
    """A PID that no process has: counted down from the top of the kernel's range."""
    try:
        with open("/proc/sys/kernel/pid_max", encoding="ascii") as stream:
            top = int(stream.read())
    except (OSError, ValueError):
        top = 32768
    for pid in range(top - 1, 300, -1):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    raise RuntimeError("no free pid")


def pid_rows(args: argparse.Namespace, processes: list[dict[str, int]],
             launcher: int, stale: int) -> list[tuple[str, str | None]]:
    """(daemon, pid as saved) for every daemon instance, with the chosen faults applied."""
    first: dict[str, int] = {}
    for process in processes:
        name = str(process["name"])
        if daemons.is_daemon_name(name):
            first[name] = min(first.get(name, process["pid"]), process["pid"])

    def faulty(fault: str) -> tuple[str, ...]:
        return tuple(getattr(args, f"db_fault_{fault}", ()))

    rows: list[tuple[str, str | None]] = []
    names = sorted(set(first) | {name for fault, _ in FAULTS for name in faulty(
        fault.replace("-", "_"))})
    for name in names:
        if name in faulty("no_row"):
            continue
        pid: str | None = str(first[name]) if name in first else str(stale)
        if name in faulty("stale"):
            pid = str(stale)
        elif name in faulty("wrong"):
            pid = str(launcher)
        elif name in faulty("null"):
            pid = None
        elif name in faulty("zero"):
            pid = "0"
        elif name in faulty("empty"):
            pid = ""
        elif name in faulty("garbage"):
            pid = "running"
        rows.append((name, pid))
        if name in faulty("duplicate_row"):
            rows.append((name, str(stale)))
    rows.extend((name, str(launcher)) for name in args.db_foreign)
    return rows


def admin_connection(args: argparse.Namespace, database: str | None) -> Any:
    """A writable connection as the admin user, to the server or to one database."""
    password = os.environ.get("OS4X_DB_PASSWORD", "")
    port = args.db_port or DEFAULT_PORTS[_kind(args)]
    if _kind(args) == "mysql":
        import pymysql

        where = {"unix_socket": args.db_socket} if args.db_socket else {"host": args.db_host}
        return pymysql.connect(**where, port=port, user=args.db_user,
                               password=password, database=database, autocommit=True,
                               connect_timeout=10)
    import psycopg2

    connection = psycopg2.connect(host=args.db_socket or args.db_host, port=port,
                                  user=args.db_user,
                                  password=password or None,
                                  dbname=database or "postgres", connect_timeout=10)
    connection.autocommit = True
    return connection


def _kind(args: argparse.Namespace) -> str:
    return "mysql" if args.db_type in ("mysql", "mariadb") else "postgresql"


def _create_database(args: argparse.Namespace) -> None:
    connection = admin_connection(args, None)
    try:
        with connection.cursor() as cursor:
            if _kind(args) == "mysql":
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {args.db_name}")
            else:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.db_name,))
                if not cursor.fetchall():
                    cursor.execute(f"CREATE DATABASE {args.db_name}")
    finally:
        connection.close()


def statements(args: argparse.Namespace, rows: list[tuple[str, str | None]],
               ) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The SQL that lays the database out like OS4X's and saves the PIDs.

    Table names come from --db-prefix, checked to be a plain identifier (S608 is safe here).
    """
    prefix = args.db_prefix
    configuration, state = f"{prefix}configuration", f"{prefix}{PID_TABLE}"
    queue = f"{prefix}{QUEUE_TABLE}"
    settings = [("tcp_port", args.db_tcp_port), ("tcp_port_tls", args.db_tcp_port_tls)]
    settings += [(f"{daemon}_stop_req", "1" if daemon in args.db_stop_request else "0")
                 for daemon in STOP_REQUESTS]
    if args.db_clientd_port is not None:
        settings.append(("os4xclientd_port", args.db_clientd_port))
    if args.db_no_configuration:
        yield f"DROP TABLE IF EXISTS {configuration}", ()
    else:
        yield (f"CREATE TABLE IF NOT EXISTS {configuration} "
               "(name VARCHAR(255) NOT NULL, value VARCHAR(255))"), ()
        keys = ", ".join(f"'{key}'" for key in (
            "tcp_port", "tcp_port_tls", "os4xclientd_port",
            *(f"{daemon}_stop_req" for daemon in STOP_REQUESTS)))
        yield f"DELETE FROM {configuration} WHERE name IN ({keys})", ()  # noqa: S608
        for key, value in settings:
            yield (f"INSERT INTO {configuration} (name, value) "  # noqa: S608
                   "VALUES (%s, %s)"), (key, value)
    yield (f"CREATE TABLE IF NOT EXISTS {state} "
           "(daemon VARCHAR(64) NOT NULL, pid VARCHAR(32))"), ()
    yield f"DELETE FROM {state}", ()  # noqa: S608
    for name, pid in rows:
        yield f"INSERT INTO {state} (daemon, pid) VALUES (%s, %s)", (name, pid)  # noqa: S608
    yield from queue_statements(args, queue)
    yield from transferlog.statements(args, _kind(args) == "mysql")


def queue_statements(args: argparse.Namespace, queue: str,
                     ) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The send queue, emptied and filled with --queue-entry's entries, queued AGE ago."""
    mysql = _kind(args) == "mysql"
    stamp = "TIMESTAMP" if mysql else "TIMESTAMP WITH TIME ZONE"
    yield (f"CREATE TABLE IF NOT EXISTS {queue} (id INTEGER NOT NULL, "
           "server_id INTEGER NOT NULL DEFAULT 0, partner VARCHAR(64), filename VARCHAR(255), "
           f"status INTEGER NOT NULL, send_tries INTEGER NOT NULL DEFAULT 0, queued_at {stamp} "
           "NULL)"), ()
    yield f"DELETE FROM {queue}", ()  # noqa: S608
    ago = "NOW() - INTERVAL %s SECOND" if mysql else "now() - %s * interval '1 second'"
    for number, (partner, code, age, tries) in enumerate(args.queue_entry, 1):
        yield (f"INSERT INTO {queue} (id, partner, filename, status, send_tries, "  # noqa: S608
               f"queued_at) VALUES (%s, %s, %s, %s, %s, {ago})"), (
                   number, partner, f"/opt/os4x/out/file{number}.edi", code, tries, age)


def after_start(args: argparse.Namespace, scenario: Scenario,
                processes: list[dict[str, int]]) -> None:
    """Creates the database when missing and saves every instance's PID (and the faults)."""
    if not args.db_type:
        return
    _create_database(args)
    rows = pid_rows(args, processes, os.getpid(), free_pid())
    connection = admin_connection(args, args.db_name)
    try:
        with connection.cursor() as cursor:
            for sql, values in statements(args, rows):
                cursor.execute(sql, values or None)
    finally:
        connection.close()


def on_stop(args: argparse.Namespace) -> None:
    """Drops the database when asked to (--db-drop)."""
    if not args.db_type or not args.db_drop:
        return
    connection = admin_connection(args, None)
    try:
        with connection.cursor() as cursor:
            if _kind(args) == "postgresql":
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = %s AND pid <> pg_backend_pid()", (args.db_name,))
            cursor.execute(f"DROP DATABASE IF EXISTS {args.db_name}")
    finally:
        connection.close()
