"""The database is read, never written, and never costs more than -t and a little memory:
the installed plugin against the real MariaDB and PostgreSQL, and against fake servers on
loopback that speak just enough protocol to misbehave (issue 11)."""

from __future__ import annotations

from typing import Iterator

import pytest
from dbtools import KINDS, PID_QUERY, ScratchDatabase, reachable
from helpers import assert_status, needs_server, run_plugin

pytestmark = pytest.mark.server
DATABASE = ("--checks", "database")
ROWS = [("os4xrd", 11), ("os4xrd_tcpip", 12), ("os4xrd_tcpip_tls", 13), ("os4xsqd", 14)]


@pytest.fixture(params=KINDS)
def db(request: pytest.FixtureRequest) -> Iterator[ScratchDatabase]:
    """A database with os4x_daemon_state holding four rows, no simulator needed."""
    kind = request.param
    needs_server(reachable(kind), f"{kind} is not reachable on 127.0.0.1")
    database = ScratchDatabase(kind)
    database.create()
    database.rows("CREATE TABLE os4x_daemon_state (daemon VARCHAR(64), pid VARCHAR(32))")
    for name, pid in ROWS:
        database.rows(f"INSERT INTO os4x_daemon_state VALUES ('{name}', '{pid}')")
    yield database
    database.drop()


def intact(db: ScratchDatabase) -> bool:
    return sorted((name, int(pid)) for name, pid in
                  db.rows("SELECT daemon, pid FROM os4x_daemon_state")) == ROWS


# -- the database is read, never written --

WRITES = {
    "drop": "DROP TABLE os4x_daemon_state",
    "truncate": "TRUNCATE TABLE os4x_daemon_state",
    "create": "CREATE TABLE os4x_evil AS SELECT * FROM os4x_daemon_state",
    "several statements": "ROLLBACK; START TRANSACTION READ WRITE; "
                          "DELETE FROM os4x_daemon_state; COMMIT",
    "select then drop": "SELECT daemon, pid FROM os4x_daemon_state; DROP TABLE os4x_daemon_state",
    "data-modifying CTE": "WITH gone AS (DELETE FROM os4x_daemon_state RETURNING daemon, pid) "
                          "SELECT daemon, pid FROM gone",
    "select into": "SELECT daemon, pid INTO os4x_evil FROM os4x_daemon_state",
    "hidden by a dialect": "SELECT daemon, pid FROM os4x_daemon_state WHERE 1--1; "
                           "DROP TABLE os4x_daemon_state",
}


@pytest.mark.parametrize("query", WRITES.values(), ids=list(WRITES))
def test_a_writing_query_is_refused_before_it_reaches_the_server(db, query):
    run = run_plugin(*DATABASE, *db.plugin_args(query))
    assert_status(run, 3, "--pid-query: the query must be one read-only SELECT")
    assert len(run.lines) == 1
    assert intact(db)
    tables = "SHOW TABLES" if db.kind == "mysql" else \
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    assert [row[0] for row in db.rows(tables)] == ["os4x_daemon_state"]


def test_the_read_only_transaction_is_the_second_wall(db):
    """Past the guard (Settings built in code), the server itself refuses to write: MariaDB's
    read-only transaction; PostgreSQL's too, and DECLARE CURSOR takes only a SELECT."""
    from os4xmon.dbdrivers import ConnectParams, DatabaseError, query_with

    params = ConnectParams(db.kind, db.name, "127.0.0.1", 3306 if db.kind == "mysql" else 5432,
                           user="root")
    with pytest.raises(DatabaseError, match=r"(?i)read.only|syntax error at or near \"DELETE\""):
        query_with(params, 10, ["DELETE FROM os4x_daemon_state"])
    assert intact(db)


def test_the_plain_query_still_reads(db):
    run = run_plugin(*DATABASE, *db.plugin_args(PID_QUERY + ";"), "-v")
    assert run.code == 2, run.stdout  # the daemons of the rows do not run here
    assert "os4xrd: saved pid 11, not running" in run.lines
