"""The real database servers the database tests use, and throw-away databases and users on them.

MariaDB on 127.0.0.1:3306 as root with an empty password, PostgreSQL on 127.0.0.1:5432 with
trust authentication for root: what .ci/run provides. Every test makes its own uniquely named
database (other people's tests use the same servers at the same time) and drops it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

KINDS = ("mysql", "postgresql")
PORTS = {"mysql": 3306, "postgresql": 5432}
HOST = "127.0.0.1"
PID_QUERY = "SELECT daemon, pid FROM {prefix}daemon_state"


def admin(kind: str, database: str | None = None) -> Any:
    """A writable autocommit connection as root."""
    if kind == "mysql":
        import pymysql

        return pymysql.connect(host=HOST, port=PORTS[kind], user="root", password="",
                               database=database, autocommit=True, connect_timeout=5)
    import psycopg2

    connection = psycopg2.connect(host=HOST, port=PORTS[kind], user="root",
                                  dbname=database or "postgres", connect_timeout=5)
    connection.autocommit = True
    return connection


def reachable(kind: str) -> bool:
    try:
        admin(kind).close()
    except Exception:
        return False
    return True


def execute(kind: str, sql: str, database: str | None = None,
            values: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
    connection = admin(kind, database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            return list(cursor.fetchall()) if cursor.description else []
    finally:
        connection.close()


def unique(stem: str) -> str:
    return f"{stem}_{os.getpid()}_{uuid.uuid4().hex[:10]}"


@dataclass
class ScratchDatabase:
    """One throw-away database; users created through it are dropped with it."""

    kind: str
    name: str = field(default_factory=lambda: unique("os4x_t"))
    users: list[str] = field(default_factory=list)

    def plugin_args(self, query: str | None = PID_QUERY) -> list[str]:
        args = ["--db-type", self.kind, "--db-host", HOST, "--db-port", str(PORTS[self.kind]),
                "--db-user", "root", "--db-name", self.name]
        return args + (["--pid-query", query] if query else [])

    def simulator_args(self) -> list[str]:
        return ["--db-type", self.kind, "--db-host", HOST, "--db-port", str(PORTS[self.kind]),
                "--db-name", self.name]

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return execute(self.kind, sql, self.name)

    def create(self) -> None:
        execute(self.kind, f"CREATE DATABASE {self.name}")

    def add_user(self, password: str, name: str | None = None) -> str:
        """A user with a password that may read this database."""
        user = name or unique("os4x_u")[:30]
        self.users.append(user)
        if self.kind == "mysql":
            execute(self.kind, f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", values=(password,))
            execute(self.kind, f"GRANT SELECT ON {self.name}.* TO '{user}'@'%'")
        else:
            execute(self.kind, f"CREATE ROLE {user} LOGIN PASSWORD %s", values=(password,))
            execute(self.kind, f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}",
                    self.name)
        return user

    def drop(self) -> None:
        with contextlib.suppress(Exception):
            if self.kind == "postgresql":
                execute(self.kind, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", values=(self.name,))
            execute(self.kind, f"DROP DATABASE IF EXISTS {self.name}")
        for user in self.users:
            with contextlib.suppress(Exception):
                if self.kind == "mysql":
                    execute(self.kind, f"DROP USER IF EXISTS '{user}'@'%'")
                else:
                    execute(self.kind, f"DROP ROLE IF EXISTS {user}")


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A loopback listener that accepts connections and never says a word: its port."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(16)  # the kernel completes the handshakes; nobody ever reads or writes
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    probe = socket.socket()
    probe.bind((HOST, 0))
    port = probe.getsockname()[1]
    probe.close()
    return port
