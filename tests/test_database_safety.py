"""The database is read, never written, and never costs more than -t and a little memory:
the installed plugin against the real MariaDB and PostgreSQL, and against fake servers on
loopback that speak just enough protocol to misbehave."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from typing import Iterator

import fakedb
import pytest
from dbtools import HOST, KINDS, PID_QUERY, ScratchDatabase, reachable
from helpers import assert_status, needs_server, plugin_command, run_plugin

pytestmark = pytest.mark.server
DATABASE = ("--checks", "database")
ROWS = [("os4xrd", 11), ("os4xrd_tcpip", 12), ("os4xrd_tcpip_tls", 13), ("os4xsqd", 14)]


def scratch(kind: str) -> ScratchDatabase:
    """A database with os4x_daemon_state holding four rows, no simulator needed."""
    needs_server(reachable(kind), f"{kind} is not reachable on 127.0.0.1")
    database = ScratchDatabase(kind)
    database.create()
    database.rows("CREATE TABLE os4x_daemon_state (daemon VARCHAR(64), pid VARCHAR(32))")
    for name, pid in ROWS:
        database.rows(f"INSERT INTO os4x_daemon_state VALUES ('{name}', '{pid}')")
    return database


@pytest.fixture(params=KINDS)
def db(request: pytest.FixtureRequest) -> Iterator[ScratchDatabase]:
    database = scratch(request.param)
    yield database
    database.drop()


@pytest.fixture
def pg_db() -> Iterator[ScratchDatabase]:
    database = scratch("postgresql")
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
    read-only transaction a DELETE, PostgreSQL's a SELECT that writes (nextval)."""
    from os4xmon.db.drivers import ConnectParams, DatabaseError, Deadline, connect

    params = ConnectParams(db.kind, db.name, "127.0.0.1", 3306 if db.kind == "mysql" else 5432,
                           user="root")
    if db.kind == "mysql":
        query = "DELETE FROM os4x_daemon_state"
    else:
        db.rows("CREATE SEQUENCE os4x_counter")
        query = "SELECT nextval('os4x_counter')"
    connection = connect(params, Deadline(10))
    try:
        with pytest.raises(DatabaseError, match=r"(?i)read.only"):
            connection.read_only([query])
    finally:
        connection.close()
    assert intact(db)
    if db.kind == "postgresql":
        assert db.rows("SELECT last_value, is_called FROM os4x_counter") == [(1, False)]


@pytest.mark.parametrize("query", [PID_QUERY + ";", PID_QUERY + " -- the daemons\n",
                                   PID_QUERY + " -- the daemons", f"/* pids */ {PID_QUERY}"])
def test_the_plain_query_still_reads(db, query):
    run = run_plugin(*DATABASE, *db.plugin_args(query), "-v")
    assert run.code == 2, run.stdout  # the daemons of the rows do not run here
    assert "os4xrd: saved pid 11, not running" in run.lines


# -- memory stays bounded whatever the server sends --

PEAK = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True, env={'LANG': 'C.UTF-8', "
    "'PATH': '/usr/bin:/bin'}, cwd='/')\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.stdout.write(done.stdout)\n"
    "sys.exit(done.returncode)\n")
MEMORY_LIMIT_KIB = 64 * 1024


def peak_memory(*args: str, timeout: float = 60) -> tuple[int, int, str]:
    """(exit code, peak resident KiB of the plugin, its first line): the plugin alone in a
    child of a fresh interpreter, so RUSAGE_CHILDREN measures only it."""
    command = [sys.executable, "-c", PEAK, *plugin_command(), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    lines = done.stdout.splitlines()
    return done.returncode, int(lines[0]), lines[1] if len(lines) > 1 else done.stderr[-500:]


def test_millions_of_rows_cost_little_memory(db):
    if db.kind == "mysql":
        query = ("WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                 "WHERE i < 1500) SELECT 'os4xrd', a.i * 10000 + b.i FROM n a, n b")
    else:
        query = "SELECT 'os4xrd', n FROM generate_series(1, 5000000) AS n"
    code, kib, line = peak_memory(*DATABASE, *db.plugin_args(query), "-t", "30")
    assert code == 3, line
    assert "returns more than 10000 rows" in line
    assert kib < MEMORY_LIMIT_KIB, f"{kib} KiB"


def test_one_huge_value_costs_little_memory_on_postgresql(pg_db):
    """(MariaDB's own max_allowed_packet refuses a value this big; its byte cap is tested
    with wide rows and the endless packet.)"""
    code, kib, line = peak_memory(*DATABASE, *pg_db.plugin_args(
        "SELECT 'os4xrd', repeat('x', 200000000)"), "-t", "30")
    assert code == 3, line
    assert "database query result unusable" in line and "a row of 200000009 bytes" in line
    assert kib < MEMORY_LIMIT_KIB, f"{kib} KiB"


def test_many_wide_rows_cost_little_memory(db):
    if db.kind == "mysql":
        query = ("WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                 "WHERE i < 5000) SELECT 'os4xrd', REPEAT('x', 10000) FROM n")
    else:
        query = "SELECT 'os4xrd', repeat('x', 10000) FROM generate_series(1, 5000)"
    code, kib, line = peak_memory(*DATABASE, *db.plugin_args(query), "-t", "30")
    assert code == 3, line
    assert "the server sent more than 8 MiB" in line
    assert kib < MEMORY_LIMIT_KIB, f"{kib} KiB"


def test_an_endless_mysql_packet_costs_little_memory():
    with fakedb.impostor(fakedb.mysql_endless_packet) as server:
        code, kib, line = peak_memory(*DATABASE, "--db-type", "mysql", "--db-host", HOST,
                                      "--db-port", str(server.port), "--pid-query", PID_QUERY,
                                      "-t", "20")
    assert code == 3, line
    assert "the server sent more than 8 MiB" in line
    assert kib < MEMORY_LIMIT_KIB, f"{kib} KiB"


# -- every wait bounded by the deadline, not per read --

IMPOSTOR_ARGS = ("--db-host", HOST, "--db-user", "nagios", "--db-name", "os4x",
                 "--pid-query", PID_QUERY)


def test_a_server_dripping_bytes_ends_within_the_timeout():
    with fakedb.impostor(fakedb.mysql_drip) as server:
        run = run_plugin(*DATABASE, "--db-type", "mysql", "--db-port", str(server.port),
                         *IMPOSTOR_ARGS, "-t", "3", timeout=60)
    assert_status(run, 3, "database silent", "no answer within")
    assert run.seconds < 3 + 1.5, run.seconds


def test_discover_ends_within_the_timeout_too():
    with fakedb.impostor(fakedb.mysql_drip) as server:
        run = run_plugin("--db-type", "mysql", "--db-port", str(server.port), *IMPOSTOR_ARGS,
                         "--db-discover", "-t", "3", timeout=60)
    assert_status(run, 3, "database silent")
    assert run.seconds < 3 + 1.5, run.seconds


def test_a_query_the_plugin_gave_up_on_stops_on_the_server(db):
    marker = f"gave_up_{uuid.uuid4().hex[:12]}"
    sleep = "SLEEP(30)" if db.kind == "mysql" else "pg_sleep(30)"
    run = run_plugin(*DATABASE, *db.plugin_args(f"SELECT 'os4xrd', {sleep} AS {marker}"),
                     "-t", "2", timeout=30)
    assert_status(run, 3, "database silent", "while querying")
    time.sleep(1)
    if db.kind == "mysql":
        running = db.rows("SELECT id FROM information_schema.processlist WHERE info LIKE "
                          f"'%{marker}%' AND id <> CONNECTION_ID()")
    else:
        running = db.rows("SELECT pid FROM pg_stat_activity WHERE query LIKE "
                          f"'%{marker}%' AND pid <> pg_backend_pid() AND state = 'active'")
    assert running == []


# -- no clear-text password to an impostor --

SECRET = "Pw-7f3e9cA2xQ"
MYSQL_TRICKS = {
    "mysql_clear_password": fakedb.mysql_switch_to(b"mysql_clear_password"),
    "dialog": fakedb.mysql_switch_to(b"dialog", b"\x04Password: "),
    "sha256_password": fakedb.mysql_switch_to(b"sha256_password", b"abcdefghijklmnopqrst\0"),
    "caching_sha2 full authentication": fakedb.mysql_full_authentication,
}


@pytest.mark.parametrize("scenario", MYSQL_TRICKS.values(), ids=list(MYSQL_TRICKS))
def test_a_mysql_impostor_never_gets_the_password(scenario):
    with fakedb.impostor(scenario) as server:
        run = run_plugin(*DATABASE, "--db-type", "mysql", "--db-port", str(server.port),
                         *IMPOSTOR_ARGS, "-t", "5", env={"OS4X_DB_PASSWORD": SECRET})
        time.sleep(0.3)
        received = bytes(server.received)
    assert_status(run, 3, "database login refused", "--db-ssl-ca")
    assert received, "the plugin never talked to the impostor"
    assert SECRET.encode() not in received
    assert b"\x01\x00\x00\x03\x02" not in received  # no request for the impostor's RSA key
    assert b"\x01\x00\x00\x03\x01" not in received


@pytest.mark.parametrize(("flags", "wants_tls"), [((), False), (("--db-ssl",), True)],
                         ids=["no --db-ssl", "--db-ssl"])
def test_tls_is_used_when_asked_and_only_then(flags, wants_tls):
    """PyMySQL 1.2 tries TLS on its own when a server offers it ("preferred"): an unverified
    handshake nobody asked for, paid with loading the system's CA store on every run."""
    with fakedb.impostor(fakedb.mysql_offering_tls) as server:
        run = run_plugin(*DATABASE, "--db-type", "mysql", "--db-port", str(server.port),
                         *IMPOSTOR_ARGS, *flags, "-t", "5")
        time.sleep(0.3)
        received = bytes(server.received)
    first = received[4:4 + int.from_bytes(received[:3], "little")]  # the client's 1st packet
    assert run.code == 3, run.stdout
    assert len(first) >= 32, f"the plugin sent no answer to the greeting: {run.stdout}"
    asks_tls = bool(int.from_bytes(first[:4], "little") & fakedb.CLIENT_SSL)
    assert asks_tls == wants_tls
    assert (len(first) == 32) == wants_tls  # an SSLRequest, or the login itself


def test_a_postgresql_impostor_never_gets_the_password():
    import psycopg2.extensions

    if psycopg2.extensions.libpq_version() < 160000:
        pytest.skip("libpq before 16 cannot refuse a clear-text password request")
    with fakedb.impostor(fakedb.postgres_clear_text) as server:
        run = run_plugin(*DATABASE, "--db-type", "postgresql", "--db-port", str(server.port),
                         *IMPOSTOR_ARGS, "-t", "5", env={"OS4X_DB_PASSWORD": SECRET})
        time.sleep(0.3)
        received = bytes(server.received)
    assert_status(run, 3, "database login refused", "clear text", "--db-ssl-ca")
    assert b"nagios" in received  # the startup message came
    assert SECRET.encode() not in received


@pytest.fixture
def mysql_db() -> Iterator[ScratchDatabase]:
    database = scratch("mysql")
    yield database
    database.drop()


@pytest.mark.parametrize("password", ["pässwort", "€uro-Paß", "日本語のパスワード"])
def test_a_non_ascii_password_logs_in_to_mariadb(mysql_db, password):
    """As the mysql client does: the password's UTF-8 bytes (PyMySQL sends Latin-1)."""
    user = mysql_db.add_user(password)
    args = mysql_db.plugin_args()
    args[args.index("--db-user") + 1] = user
    run = run_plugin(*DATABASE, *args, "-v", env={"OS4X_DB_PASSWORD": password})
    assert "os4xrd: saved pid 11, not running" in run.lines, run.stdout
    assert "login refused" not in run.stdout


def test_an_undecodable_password_shows_no_character_of_it(mysql_db):
    user = mysql_db.add_user("pässwort")
    args = mysql_db.plugin_args()
    args[args.index("--db-user") + 1] = user
    environment = {b"OS4X_DB_PASSWORD": b"p\xe4\xff-secret-\xe9", b"LANG": b"C.UTF-8",
                   b"PATH": os.environ.get("PATH", "/usr/bin:/bin").encode()}
    done = subprocess.run([*plugin_command(), *DATABASE, *args, "-vvv"], env=environment,
                          capture_output=True, timeout=60, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 3, output
    assert b"database login refused" in output
    assert b"secret" not in output and b"\\xe4" not in output and b"\\xff" not in output
    assert b"Traceback" not in output


# -- --db-discover: quoted suggestions, least-privilege grants, the same deadline --


def discover_lines(db: ScratchDatabase) -> list[str]:
    run = run_plugin(*db.plugin_args(query=None), "--db-discover")
    assert run.code == 0, run.stdout + run.stderr
    return run.lines


def test_the_printed_grants_make_a_user_that_reads_only_what_it_needs(db):
    db.rows("CREATE TABLE os4x_configuration (name VARCHAR(255), value VARCHAR(255))")
    db.rows("CREATE TABLE os4x_secret (x VARCHAR(10))")
    lines = discover_lines(db)
    start = next(index for index, line in enumerate(lines)
                 if line.startswith("a monitoring user that can read only these tables"))
    user = f"mon_{uuid.uuid4().hex[:10]}"
    db.users.append(user)
    for line in lines[start + 1:]:
        statement = line.strip().replace("'...'", "'Mon-Pw-4x'").replace("nagios", user)
        if statement.startswith("\\c "):
            continue  # psql's: db.rows runs in the database already
        statement = re.sub(r"@'[^']*'", "@'%'", statement)  # the account DROP USER drops
        db.rows(statement)
    args = db.plugin_args()
    args[args.index("--db-user") + 1] = user
    run = run_plugin(*DATABASE, *args, "-v", env={"OS4X_DB_PASSWORD": "Mon-Pw-4x"})
    assert "os4xrd: saved pid 11, not running" in run.lines, run.stdout
    other = run_plugin(*DATABASE, *db.plugin_args("SELECT x, 1 FROM os4x_secret")[:-2],
                       "--pid-query", "SELECT x, 1 FROM os4x_secret", "--db-user", user,
                       env={"OS4X_DB_PASSWORD": "Mon-Pw-4x"})
    assert_status(other, 3, "denied")


def test_a_hostile_column_name_in_a_suggestion_stays_a_name(db, tmp_path):
    quote = "`" if db.kind == "mysql" else '"'
    db.rows("CREATE TABLE os4x_daemon_pids (daemon VARCHAR(64), "
            f"{quote}pid' $(touch x) '{quote} INT)")
    db.rows("INSERT INTO os4x_daemon_pids VALUES ('os4xrd', 11)")
    (line,) = [line for line in discover_lines(db) if "daemon_pids" in line and "try:" in line]
    argument = line.split("try: --pid-query ", 1)[1]
    command = " ".join(shlex.quote(word) for word in [*plugin_command(), *DATABASE,
                                                     *db.plugin_args(query=None), "-v"])
    done = subprocess.run(["sh", "-c", f"{command} --pid-query {argument}"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert not (tmp_path / "x").exists()
    assert "os4xrd: saved pid 11, not running" in done.stdout.splitlines(), done.stdout


@pytest.mark.parametrize("kind", KINDS)
def test_each_address_of_a_name_gets_a_share_of_the_budget_not_all_of_it(tmp_path, kind):
    """multi.test resolves to two black holes first, then to a server: the third is reached
    within -t (PyMySQL and libpq alone gave the first address the whole budget)."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a private /etc/hosts (unshare --mount)")
    if kind == "postgresql":
        import psycopg2.extensions

        if psycopg2.extensions.libpq_version() < 160000:
            pytest.skip("the impostor's refusal needs libpq 16")
    scenario = fakedb.mysql_switch_to(b"mysql_clear_password") if kind == "mysql" \
        else fakedb.postgres_clear_text
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n127.0.0.2 multi.test\n127.0.0.3 multi.test\n"
                     "127.0.0.4 multi.test\n")
    with fakedb.impostor(scenario, "127.0.0.4") as server, \
            fakedb.black_hole("127.0.0.2", server.port), \
            fakedb.black_hole("127.0.0.3", server.port):
        command = " ".join(shlex.quote(word) for word in [
            *plugin_command(), *DATABASE, "--db-type", kind, "--db-host", "multi.test",
            "--db-port", str(server.port), "--db-user", "nagios", "--pid-query", PID_QUERY,
            "-t", "4"])
        started = time.monotonic()
        done = subprocess.run(["unshare", "--mount", "sh", "-c",
                               f"mount --bind {hosts} /etc/hosts && exec {command}"],
                              capture_output=True, text=True, timeout=60, check=False,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                   "OS4X_DB_PASSWORD": SECRET, "LANG": "C.UTF-8"})
        seconds = time.monotonic() - started
    assert done.returncode == 3, done.stdout + done.stderr
    assert "database login refused" in done.stdout, done.stdout  # the third address answered
    assert seconds < 4 + 1.5, seconds
