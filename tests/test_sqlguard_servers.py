"""The SQL guard reads comments and strings exactly as the real MariaDB and PostgreSQL do:
every character from U+0001 to U+00FF after ``--`` and inside a line comment, compared with
the servers' own answer; the escapes found that way refused end to end; and the PostgreSQL
session's string syntax fixed whatever the database or role says."""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest
from dbtools import PORTS, ScratchDatabase, admin, reachable
from helpers import assert_status, needs_server, run_plugin

from os4xmon.db import sqlguard
from os4xmon.db.drivers import ConnectParams, DatabaseError, Deadline, connect

pytestmark = pytest.mark.server
CHARACTERS = [chr(code) for code in range(1, 256)]  # NUL: refused by the guard outright


def dialects(kind: str) -> list[Any]:
    return [dialect for dialect in sqlguard.DIALECTS if dialect.postgres == (kind != "mysql")]


def server_reads_as_comment(connection: Any, sql: str | bytes) -> bool:
    """True when the server answers 100: what followed the comment start was a comment."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall()) == [(100,)]
    except Exception:
        if hasattr(connection, "rollback"):
            connection.rollback()
        return False


def guard_reads_as_comment(sql: str, dialect: Any) -> bool:
    """The guard's own reading of the one comment start in sql: it starts there, and no
    character before the final ")" ends it."""
    start = min(index for index in (sql.find("--"), sql.find("#")) if index >= 0)
    return sqlguard._line_comment(sql, start, dialect) \
        and sqlguard._line_end(sql, start, dialect) == len(sql)


PROBES = {
    # does -- followed by c start a comment? (if not, "--c)" is always a syntax error)
    "starts": "SELECT 100 --{c})",
    # does c end a comment started by "-- "? (if it does, ")" is a syntax error)
    "continues": "SELECT 100 -- x{c})",
}


@pytest.fixture(params=["mysql", "postgresql"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    needs_server(reachable(request.param), f"{request.param} is not reachable")
    connection = admin(request.param)
    yield request.param, connection
    connection.close()


@pytest.mark.parametrize("probe", list(PROBES))
def test_every_character_after_dashes_is_read_as_the_server_reads_it(server, probe):
    kind, connection = server
    probes = dict(PROBES, hash="SELECT 100 # x{c})") if kind == "mysql" else PROBES
    differences = []
    for name, template in probes.items():
        if name != probe and not (probe == "continues" and name == "hash"):
            continue
        for char in CHARACTERS:
            sql = template.format(c=char)
            truth = server_reads_as_comment(connection, sql)
            for dialect in dialects(kind):
                if guard_reads_as_comment(sql, dialect) != truth:
                    differences.append((name, hex(ord(char)), dialect.name, truth))
    assert differences == []


def test_raw_bytes_after_dashes_are_read_as_mariadb_reads_them():
    """A byte 0x80..0xFF that is not UTF-8 (an undecodable argument, surrogate-escaped) after
    --: MariaDB (utf8mb4) starts no comment there, and neither does the guard."""
    needs_server(reachable("mysql"), "mysql is not reachable")
    connection = admin("mysql")
    try:
        for code in range(0x80, 0x100):
            sql = b"SELECT 100 --" + bytes([code]) + b")"
            text = sql.decode("utf-8", "surrogateescape")
            for dialect in dialects("mysql"):
                assert not guard_reads_as_comment(text, dialect), hex(code)
            assert not server_reads_as_comment(connection, sql), hex(code)
    finally:
        connection.close()


def test_the_measured_classes_are_the_ones_named():
    """What the comparison above found, said once: MariaDB starts a comment at -- and a blank,
    a control character or DEL (0x7f), never at U+0080..U+00FF; PostgreSQL ends one at \\r."""
    measured = {chr(code) for code in range(1, 33)} | {"\x7f"}
    assert measured == sqlguard.MYSQL_COMMENT_AFTER_DASHES
    assert set(sqlguard.LINE_ENDS[True]) == {"\n", "\r"}
    assert sqlguard.LINE_ENDS[False] == "\n"


def scratch(kind: str) -> ScratchDatabase:
    needs_server(reachable(kind), f"{kind} is not reachable")
    database = ScratchDatabase(kind)
    database.create()
    database.rows("CREATE TABLE os4x_daemon_state (daemon VARCHAR(64), pid VARCHAR(32))")
    database.rows("INSERT INTO os4x_daemon_state VALUES ('os4xrd', '11')")
    return database


@pytest.fixture
def pg_off() -> Iterator[ScratchDatabase]:
    """A PostgreSQL database whose admin set standard_conforming_strings = off for it."""
    database = scratch("postgresql")
    database.rows(f"ALTER DATABASE {database.name} SET standard_conforming_strings = off")
    yield database
    database.drop()


# '\' , ' is one string where backslashes escape, and # an operator; in every other reading
# the ; are inside strings. Wrapped by the driver, the server ran COMMIT, a read-write
# transaction and the DELETE: the table was emptied.
PG_OFF_ATTACK = ("SELECT daemon, pid FROM os4x_daemon_state WHERE '\\' , ' <> 'x' OR 1 # '1\n'"
                 " = 0) AS q; COMMIT; BEGIN READ WRITE; DELETE FROM os4x_daemon_state; COMMIT; "
                 "BEGIN; DECLARE x CURSOR FOR SELECT * FROM (SELECT 1 -- '")
# PostgreSQL ends a -- comment at \r; MySQL (and the old guard) only at \n
PG_CR_ATTACK = ("SELECT daemon, pid FROM os4x_daemon_state -- x\r) AS q; COMMIT; "
                "BEGIN READ WRITE; DELETE FROM os4x_daemon_state; COMMIT; BEGIN; "
                "DECLARE x CURSOR FOR SELECT * FROM (SELECT 1")


@pytest.mark.parametrize("query", [PG_OFF_ATTACK, PG_CR_ATTACK], ids=["backslash", "cr"])
def test_postgresql_escapes_are_refused_and_the_table_stays(pg_off, query):
    run = run_plugin("--checks", "database", *pg_off.plugin_args(query))
    assert_status(run, 3, "--pid-query: the query must be one read-only SELECT")
    assert pg_off.rows("SELECT count(*) FROM os4x_daemon_state") == [(1,)]


def test_the_postgresql_session_reads_strings_as_the_guard_does(pg_off):
    """Past the guard (called in code), the session's own string syntax stops the attack:
    the connection sets standard_conforming_strings = on, above the database's and the
    role's setting."""
    password = "secret-" + uuid.uuid4().hex[:8]
    user = pg_off.add_user(password)
    pg_off.rows(f"ALTER ROLE {user} SET standard_conforming_strings = off")
    for who, secret in (("root", None), (user, password)):
        params = ConnectParams("postgresql", pg_off.name, "127.0.0.1", PORTS["postgresql"],
                               user=who, password=secret)
        connection = connect(params, Deadline(10))
        try:
            assert connection.read_only(
                ["SELECT current_setting('standard_conforming_strings')"]) == [(1, [("on",)])]
            with pytest.raises(DatabaseError, match="syntax error"):  # one statement
                connection.read_only([PG_OFF_ATTACK])
        finally:
            connection.close()
    assert pg_off.rows("SELECT count(*) FROM os4x_daemon_state") == [(1,)]


def test_the_mariadb_del_comment_writes_no_file():
    database = scratch("mysql")
    target = f"/tmp/os4x_outfile_{uuid.uuid4().hex}"
    query = f"SELECT 1 --\x7f '\n/* /* */ INTO OUTFILE '{target}' -- ' */"
    try:
        run = run_plugin("--checks", "database", *database.plugin_args(query))
        assert_status(run, 3, "--pid-query: the query must be one read-only SELECT",
                      "INTO is not allowed")
        assert database.rows(f"SELECT LOAD_FILE('{target}')") == [(None,)]
    finally:
        database.drop()

