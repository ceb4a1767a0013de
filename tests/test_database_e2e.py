"""The installed check_os4x against real MariaDB and PostgreSQL servers and the simulator.

Every test runs on both systems: the same situation must give the same verdict. The simulator
saves its real daemons' PIDs (and the faults asked for) in a throw-away database; the plugin
reads them with the simulator's --pid-query. Run in a private PID namespace (.ci/run does).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
from typing import Iterator

import pytest
from dbtools import (
    KINDS,
    PID_QUERY,
    ScratchDatabase,
    closed_port,
    reachable,
    silent_server,
    unique,
)
from helpers import assert_status, free_port, needs_server, run_plugin

pytestmark = pytest.mark.server
DATABASE = ("--checks", "database")
LABELS = {"db_query_time", "db_pids_saved", "db_inconsistencies"}
SECRET = "Pw-7f3e9cA2xQ"


def start(simulator, db: ScratchDatabase, *args: str):
    return simulator.start("--no-decoys", *db.simulator_args(), *args)


def launcher_pid(simulation) -> int:
    with open(simulation.state_file, encoding="utf-8") as stream:
        return int(json.load(stream)["launcher"])


def assert_labels(run) -> None:
    assert set(run.perfdata) >= LABELS, run.first_line


# -- verdicts --


def test_healthy_host_is_ok_and_reads_the_ports(simulator, db):
    start(simulator, db)
    run = run_plugin(*DATABASE, *db.plugin_args(), "-v")
    assert_status(run, 0, "4 saved PIDs agree")
    assert run.perfdata["db_pids_saved"] == "4"
    assert run.perfdata["db_inconsistencies"] == "0"
    assert run.perf_number("db_query_time") > 0
    assert "ports in os4x_configuration: tcp_port = 3305, tcp_port_tls = 6619" in run.lines


def test_processes_and_database_together(simulator, db):
    start(simulator, db, "--isdn-controllers", "1")
    run = run_plugin("--checks", "processes,database", "--isdn-controllers", "1",
                     *db.plugin_args())
    assert_status(run, 0, "5 daemons running", "5 saved PIDs agree")


def test_stale_pid_of_a_stopped_daemon_says_forced_mode(simulator, db):
    start(simulator, db, "--missing", "os4xsqd", "--db-stale", "os4xsqd")
    run = run_plugin(*DATABASE, *db.plugin_args())
    assert_status(run, 2, "saved in the database, but no process has that pid",
                  "check that no os4xsqd runs, then start os4xsqd in forced mode")
    assert re.match(r"OS4X CRITICAL - os4xsqd pid \d+ saved", run.first_line)
    assert run.perfdata["db_inconsistencies"] == "1"


def test_pid_reused_by_another_program(simulator, db):
    sim = start(simulator, db, "--missing", "os4xsqd", "--db-wrong", "os4xsqd")
    launcher = launcher_pid(sim)
    run = run_plugin(*DATABASE, *db.plugin_args())
    assert_status(run, 2, f"os4xsqd pid {launcher} saved in the database, but pid {launcher} "
                  "is another program (pid reused)", "forced mode")


def test_pid_differs_from_the_running_instance(simulator, db):
    sim = start(simulator, db, "--db-wrong", "os4xsqd")
    launcher, running = launcher_pid(sim), sim.pid("os4xsqd")
    run = run_plugin(*DATABASE, *db.plugin_args())
    assert_status(run, 2, f"os4xsqd pid {launcher} saved in the database, but the running "
                  f"os4xsqd is pid {running}")


@pytest.mark.parametrize(("fault", "shown"), [("null", "NULL"), ("zero", "'0'"),
                                              ("empty", "''"), ("no-row", "no row")])
def test_running_daemon_without_saved_pid_is_a_warning(simulator, db, fault, shown):
    sim = start(simulator, db, f"--db-{fault}", "os4xrd_tcpip")
    run = run_plugin(*DATABASE, *db.plugin_args())
    assert_status(run, 1, f"os4xrd_tcpip pid {sim.pid('os4xrd_tcpip')} runs, but no pid is "
                  f"saved in the database ({shown})")
    assert run.perfdata["db_pids_saved"] == "3"
    assert run.perfdata["db_inconsistencies"] == "1"


def test_two_rows_for_one_daemon(simulator, db):
    sim = start(simulator, db, "--db-duplicate-row", "os4xrd")
    run = run_plugin(*DATABASE, *db.plugin_args())
    assert_status(run, 2, f"os4xrd saved 2 times in the database (pids {sim.pid('os4xrd')}, ")


def test_other_names_are_ignored_and_listed_at_v(simulator, db):
    start(simulator, db, "--db-foreign", "housekeeping,os4xrd_tcp")
    run = run_plugin(*DATABASE, *db.plugin_args(), "-v")
    assert_status(run, 0, "4 saved PIDs agree")
    assert "ignored (not OS4X daemons): housekeeping, os4xrd_tcp" in run.lines


def test_an_unexpected_daemon_with_a_row_is_compared(simulator, db):
    start(simulator, db, "--db-stale", "os4xdebugd")
    run = run_plugin(*DATABASE, *db.plugin_args())
    assert_status(run, 2, "os4xdebugd pid", "start os4xdebugd in forced mode")


def test_every_problem_at_once_worst_first(simulator, db):
    start(simulator, db, "--missing", "os4xsqd", "--db-stale", "os4xsqd",
          "--db-null", "os4xrd_tcpip")
    run = run_plugin("--checks", "processes,database", *db.plugin_args())
    assert_status(run, 2, "os4xsqd not running", "forced mode", "no pid is saved")
    assert run.summary.index("forced mode") < run.summary.index("no pid is saved")


# -- failures of the database itself --


def test_pid_that_is_not_a_number(simulator, db):
    start(simulator, db, "--db-garbage", "os4xsqd")
    run = run_plugin(*DATABASE, *db.plugin_args())
    assert_status(run, 3, "database query result unusable: the PID saved for os4xsqd is not a "
                  "PID: 'running' is not a whole number")
    assert_labels(run)
    assert run.perfdata["db_pids_saved"] == "U"


@pytest.mark.parametrize("state", ["critical", "warning"])
def test_db_error_state_changes_the_state_of_failures(simulator, db, state):
    start(simulator, db, "--db-garbage", "os4xsqd")
    run = run_plugin(*DATABASE, *db.plugin_args(), "--db-error-state", state)
    assert_status(run, {"critical": 2, "warning": 1}[state], "database query result unusable")


def test_unreachable_server(db):
    port = closed_port()
    args = db.plugin_args()
    args[args.index("--db-port") + 1] = str(port)
    run = run_plugin(*DATABASE, *args)
    assert_status(run, 3, f"database unreachable ({db.kind} {db.name} at 127.0.0.1:{port})")
    assert len(run.lines) == 1
    assert_labels(run)


def test_unknown_database(db):
    run = run_plugin(*DATABASE, *db.plugin_args())  # never created
    assert_status(run, 3, f"database not found ({db.kind} {db.name} at 127.0.0.1:")


def test_refused_login(simulator, db):
    start(simulator, db)
    user = db.add_user(SECRET)
    args = db.plugin_args()
    args[args.index("--db-user") + 1] = user + "x"
    run = run_plugin(*DATABASE, *args, env={"OS4X_DB_PASSWORD": SECRET})
    assert_status(run, 3, "database login refused", user + "x")


def test_missing_table(simulator, db):
    start(simulator, db)
    run = run_plugin(*DATABASE, *db.plugin_args("SELECT daemon, pid FROM {prefix}pids"))
    assert_status(run, 3, "database table missing", "os4x_pids")


def test_sql_error(simulator, db):
    start(simulator, db)
    run = run_plugin(*DATABASE, *db.plugin_args("SELECT daemon, pid FROM {prefix}daemon_state "
                                                "WHERE ORDER"))
    assert_status(run, 3, "database SQL error", "ORDER")


def test_wrong_number_of_columns(simulator, db):
    start(simulator, db)
    run = run_plugin(*DATABASE, *db.plugin_args("SELECT daemon FROM {prefix}daemon_state"))
    assert_status(run, 3, "--pid-query returns 1 column, expected 2 (daemon name, pid)")


def test_the_query_runs_read_only(simulator, db):
    start(simulator, db)
    run = run_plugin(*DATABASE, *db.plugin_args("DELETE FROM {prefix}daemon_state"))
    assert_status(run, 3, "--pid-query: the query must be one read-only SELECT")
    assert len(db.rows("SELECT daemon, pid FROM os4x_daemon_state")) == 4


def test_silent_server_ends_within_the_timeout(db):
    with silent_server() as port:
        args = db.plugin_args()
        args[args.index("--db-port") + 1] = str(port)
        run = run_plugin(*DATABASE, *args, "-t", "3", timeout=30)
    assert_status(run, 3, "database silent", "no answer within", "while connecting")
    assert run.seconds < 3 + 1.5, run.seconds
    assert len(run.lines) == 1
    assert_labels(run)
    assert run.perf_number("db_query_time") >= 1  # how long it waited, not U
    assert run.perfdata["db_pids_saved"] == "U"


def test_slow_query_ends_within_the_timeout(simulator, db):
    start(simulator, db)
    sleep = "SLEEP(30)" if db.kind == "mysql" else "pg_sleep(30)"
    run = run_plugin(*DATABASE, *db.plugin_args(f"SELECT 'os4xrd', {sleep}"), "-t", "2",
                     timeout=30)
    assert_status(run, 3, "database silent", "while querying")
    assert run.seconds < 2 + 1.5, run.seconds


def test_server_speaking_another_protocol(db):
    """An SSH server's banner and binary noise where the database should be."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def babble() -> None:
        while True:
            try:
                peer, _ = listener.accept()
            except OSError:
                return
            with contextlib.suppress(OSError):
                peer.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n" + bytes(range(256)) * 4)
                peer.recv(100)
            peer.close()

    threading.Thread(target=babble, daemon=True).start()
    args = db.plugin_args()
    args[args.index("--db-port") + 1] = str(listener.getsockname()[1])
    try:
        run = run_plugin(*DATABASE, *args, "-t", "5")
    finally:
        listener.close()
    assert_status(run, 3, "database unreachable")
    assert len(run.lines) == 1
    assert_labels(run)


def test_tls_required_never_falls_back_to_plain(db):
    """The servers of the tests have no TLS: --db-ssl must fail, not connect in the clear."""
    run = run_plugin(*DATABASE, *db.plugin_args(), "--db-ssl")
    assert_status(run, 3, "database unreachable", "SSL")


def test_no_query_configured_says_what_to_configure(db):
    run = run_plugin(*DATABASE, *db.plugin_args(query=None))
    assert_status(run, 3, "no --pid-query configured", "--db-discover")
    assert run.perfdata == {"db_query_time": "U", "db_pids_saved": "U",
                            "db_inconsistencies": "U"}


def test_huge_result_is_cut_and_refused(simulator, db):
    start(simulator, db)
    if db.kind == "mysql":
        query = ("WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                 "WHERE i < 150) SELECT 'os4xrd', a.i * 1000 + b.i FROM n a, n b")
    else:
        query = "SELECT 'os4xrd', n FROM generate_series(1, 20000) AS n"
    run = run_plugin(*DATABASE, *db.plugin_args(query))
    assert_status(run, 3, "--pid-query returns more than 10000 rows, expected one per daemon")


def test_unprivileged_plugin_gives_the_same_verdict(simulator, db):
    if os.geteuid() != 0:
        pytest.skip("needs root to run the plugin as nobody")
    start(simulator, db, "--missing", "os4xsqd", "--db-stale", "os4xsqd")
    run = run_plugin(*DATABASE, *db.plugin_args(), user="nobody")
    assert_status(run, 2, "forced mode")


# -- the password --


def test_password_from_file_reaches_the_server_and_nowhere_else(simulator, db, tmp_path):
    start(simulator, db)
    user = db.add_user(SECRET)
    secret_file = tmp_path / "pw"
    secret_file.write_text(SECRET + "\n")
    args = db.plugin_args()
    args[args.index("--db-user") + 1] = user
    run = run_plugin(*DATABASE, *args, "--db-password-file", str(secret_file), "-vvv")
    assert_status(run, 0, "4 saved PIDs agree")
    assert SECRET not in run.stdout + run.stderr


@pytest.fixture
def mysql_db() -> Iterator[ScratchDatabase]:
    """MariaDB only: the PostgreSQL of the tests trusts 127.0.0.1 and checks no password."""
    needs_server(reachable("mysql"), "mysql is not reachable on 127.0.0.1")
    database = ScratchDatabase("mysql")
    yield database
    database.drop()


def test_wrong_password_is_refused_on_mysql(simulator, mysql_db):
    db = mysql_db
    start(simulator, db)
    user = db.add_user(SECRET)
    args = db.plugin_args()
    args[args.index("--db-user") + 1] = user
    run = run_plugin(*DATABASE, *args, "-vvv", env={"OS4X_DB_PASSWORD": SECRET + "-wrong"})
    assert_status(run, 3, "database login refused", "Access denied")
    assert SECRET not in run.stdout + run.stderr


def test_password_is_scrubbed_from_driver_messages_at_vvv(simulator, db, tmp_path):
    """A refused login whose user name is the password: the driver's message contains it."""
    start(simulator, db)
    config = tmp_path / "check.ini"
    config.write_text(f"[check_os4x]\ndb-password = {SECRET}\n")
    args = db.plugin_args()
    args[args.index("--db-user") + 1] = SECRET
    run = run_plugin(*DATABASE, *args, "--config", str(config), "-vvv")
    assert_status(run, 3, "database login refused", "********")
    assert SECRET not in run.stdout + run.stderr
    assert "the driver said:" in run.stdout


def test_password_is_not_accepted_on_the_command_line(db):
    run = run_plugin(*DATABASE, *db.plugin_args(), "--db-password", SECRET)
    assert_status(run, 3, "not accepted on the command line")
    assert SECRET not in run.stdout + run.stderr


# -- the ports, handed to the port check in the same run --


def test_ports_reach_the_host_object(simulator, db):
    start(simulator, db, "--db-tcp-port", "4305", "--db-tcp-port-tls", " 7619 ")
    code = (
        "import sys\n"
        "from os4xmon.checks import database\n"
        "from os4xmon.cli import read_settings as options\n"
        "from os4xmon.facts.host import Host\n"
        "settings = options.parse(sys.argv[1:])\n"
        "host = Host(settings)\n"
        "aspect = database.build(settings, host)[0]\n"
        "metrics = list(aspect.measure())\n"
        "print(sorted(host.configured().ports.items()))\n")
    done = subprocess.run([sys.executable, "-c", code, *DATABASE, *db.plugin_args()],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "[('tcp_port', 4305), ('tcp_port_tls', 7619)]", done.stderr


def test_ports_do_not_depend_on_the_database_check_running_first(simulator, db):
    """Host reads the ports itself when the port check asks before the database check ran,
    and the database check's own read (one connection) is kept when it ran first."""
    start(simulator, db, "--db-tcp-port", "4305", "--db-tcp-port-tls", "7619")
    code = (
        "import sys\n"
        "from os4xmon.checks import database\n"
        "from os4xmon.cli import read_settings as options\n"
        "from os4xmon.facts.host import Host\n"
        "settings = options.parse(sys.argv[1:])\n"
        "first = Host(settings).configured()\n"
        "host = Host(settings)\n"
        "list(database.build(settings, host)[0].measure())\n"
        "print(sorted(first.ports.items()) == sorted(host.configured().ports.items()),"
        " sorted(first.ports.items()))\n")
    done = subprocess.run([sys.executable, "-c", code, "--checks", "database,ports",
                           *db.plugin_args()],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "True [('tcp_port', 4305), ('tcp_port_tls', 7619)]", \
        done.stderr


def test_garbage_ports_are_ignored_and_noted(simulator, db):
    start(simulator, db, "--db-tcp-port", "http", "--db-tcp-port-tls", "70000")
    run = run_plugin(*DATABASE, *db.plugin_args(), "-v")
    assert_status(run, 0)
    assert "tcp_port ignored: 'http' is not a whole number" in run.lines
    assert "tcp_port_tls ignored: '70000' is not a TCP port (1-65535)" in run.lines
    assert "ports in os4x_configuration: none" in run.lines


def test_missing_configuration_table_is_only_a_note(simulator, db):
    start(simulator, db, "--db-no-configuration")
    run = run_plugin(*DATABASE, *db.plugin_args(), "-v")
    assert_status(run, 0, "4 saved PIDs agree")
    assert any(line.startswith("ports and stop requests not read from os4x_configuration: "
                               "database table missing") for line in run.lines), run.stdout


def test_prefix_is_used_for_every_table(simulator, db):
    start(simulator, db, "--db-prefix", "acme_")
    run = run_plugin(*DATABASE, *db.plugin_args(), "--db-prefix", "acme_", "-v")
    assert_status(run, 0, "4 saved PIDs agree")
    assert "ports in acme_configuration: tcp_port = 3305, tcp_port_tls = 6619" in run.lines


def test_labels_are_the_same_on_ok_and_failure(simulator, db):
    start(simulator, db)
    ok = run_plugin(*DATABASE, *db.plugin_args())
    bad = run_plugin(*DATABASE, *db.plugin_args("SELECT daemon FROM {prefix}daemon_state"))
    assert ok.code == 0 and bad.code == 3
    assert sorted(ok.perfdata) == sorted(bad.perfdata) == sorted(LABELS)


# -- import cost --

IMPORTS = (
    "import sys\n"
    "from os4xmon.cli.main import main as cli\n"
    "try:\n"
    "    cli(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print('drivers:', 'pymysql' in sys.modules, 'psycopg2' in sys.modules)\n")


def _drivers_imported(*args: str) -> str:
    done = subprocess.run([sys.executable, "-c", IMPORTS, *args], capture_output=True,
                          text=True, timeout=60, check=False)
    return done.stdout.strip().splitlines()[-1]


def test_a_processes_only_run_imports_no_driver():
    assert _drivers_imported("--checks", "processes") == "drivers: False False"


@pytest.mark.parametrize("kind", KINDS)
def test_a_database_run_imports_only_its_driver(kind):
    expected = "drivers: True False" if kind == "mysql" else "drivers: False True"
    assert _drivers_imported("--checks", "database", "--db-type", kind, "--pid-query",
                             PID_QUERY, "--db-host", "127.0.0.1", "--db-port",
                             str(closed_port())) == expected


# -- --db-discover --


def test_discover_lists_the_pid_table_and_the_ports(simulator, db):
    start(simulator, db, "--db-foreign", "housekeeping")
    db.rows("CREATE TABLE os4x_partner (id INT, partner_name VARCHAR(64))")
    before = db.rows("SELECT daemon, pid FROM os4x_daemon_state ORDER BY daemon, pid")
    run = run_plugin(*db.plugin_args(query=None), "--db-discover")
    assert run.code == 0, run.stdout
    assert "os4x_daemon_state" in run.lines[1]
    assert "try: --pid-query 'SELECT daemon, pid FROM {prefix}daemon_state'" in run.stdout
    ports = run.lines.index("ports in os4x_configuration: tcp_port = 3305, tcp_port_tls = 6619")
    assert "os4x_partner" not in "\n".join(run.lines[:ports])  # not a PID candidate
    assert "  os4x_partner" in run.lines[ports:]  # a transfer log's table (--partner-query)
    assert db.rows("SELECT daemon, pid FROM os4x_daemon_state ORDER BY daemon, pid") == before


def test_the_printed_grants_pasted_into_the_client_make_the_user_the_plugin_is(simulator, db):
    """What --db-discover prints, pasted into the database's own client as an admin does
    (mysql; psql connected to the postgres database), makes a user the plugin then logs in
    as, over the same connection: the account's host is the one the server saw (not always
    'localhost'), and psql is told which database the schema grants belong to."""
    start(simulator, db)
    run = run_plugin(*db.plugin_args(query=None), "--db-discover")
    assert run.code == 0, run.stdout
    start_line = next(index for index, line in enumerate(run.lines)
                      if line.startswith("a monitoring user that can read only these tables"))
    pasted = [line.strip() for line in run.lines[start_line + 1:]
              if line.startswith("  ") and not line.startswith("  and ")]
    user, password = unique("os4x_g")[:30], "grant-test-pw"
    script = "\n".join(pasted).replace("nagios", user).replace("'...'", f"'{password}'")
    account = re.search(r"@'([^']+)'", script)
    host = account.group(1) if db.kind == "mysql" and account else None
    if db.kind == "mysql":
        client = ["mysql", "-h", "127.0.0.1", "-P", "3306", "-u", "root"]
    else:
        client = ["psql", "-h", "127.0.0.1", "-U", "root", "-d", "postgres", "-v",
                  "ON_ERROR_STOP=1"]
        db.users.append(user)  # dropped after the database, which holds its grants
    try:
        pasted_in = subprocess.run(client, input=script + "\n", capture_output=True,
                                   text=True, check=False, timeout=60)
        assert pasted_in.returncode == 0, script + "\n" + pasted_in.stderr
        args = [*db.plugin_args()]
        args[args.index("--db-user") + 1] = user
        check = run_plugin(*DATABASE, *args, env={"OS4X_DB_PASSWORD": password})
        assert_status(check, 0, "saved PIDs agree")
    finally:
        if host:
            with contextlib.suppress(Exception):
                subprocess.run([*client, "-e", f"DROP USER IF EXISTS '{user}'@'{host}'"],
                               capture_output=True, check=False, timeout=60)


SOCKETS = {"mysql": ("/run/mysqld/mysqld.sock", "/run/mysqld/mysqld.sock"),
           "postgresql": ("/var/run/postgresql", "/var/run/postgresql/.s.PGSQL.5432")}
"""--db-socket's value for each server, and the socket file that shows it listens."""


def test_the_simulator_and_the_plugin_over_the_local_socket(simulator, db):
    """The plugin's default for MySQL/MariaDB is the local socket: the simulator can use it
    too (--db-socket), and both agree over it."""
    value, socket_file = SOCKETS[db.kind]
    needs_server(os.path.exists(socket_file), f"no {db.kind} socket at {socket_file}")
    simulator.start("--no-decoys", "--db-type", db.kind, "--db-socket", value, "--db-name",
                    db.name)
    run = run_plugin(*DATABASE, "--db-type", db.kind, "--db-socket", value, "--db-user", "root",
                     "--db-name", db.name, "--pid-query", PID_QUERY)
    assert_status(run, 0, "saved PIDs agree")


def test_discover_failure_is_one_line(db):
    run = run_plugin(*db.plugin_args(query=None), "--db-discover")
    assert_status(run, 3, "database not found")
    assert len(run.lines) == 1


def test_discover_needs_a_database_type():
    run = run_plugin("--db-discover")
    assert_status(run, 3, "--db-discover needs --db-type")


def test_saved_pid_of_a_zombie_child_differs_from_the_running_instance(simulator, db):
    """The zombie is an exited os4xsqd action: it carries os4xsqd's name but is no instance."""
    sim = simulator.start("--no-decoys", "--zombie", *db.simulator_args())
    zombie = sim.pid("zombie")
    db.rows(f"UPDATE os4x_daemon_state SET pid = '{zombie}' WHERE daemon = 'os4xsqd'")
    run = run_plugin(*DATABASE, *db.plugin_args())
    assert_status(run, 2, f"os4xsqd pid {zombie} saved in the database, but the running "
                  f"os4xsqd is pid {sim.pid('os4xsqd')}")


def test_ports_from_the_database_drive_the_port_check(simulator, db):
    """One run, every aspect: the ports OS4X saved are the ones the port check looks at."""
    tcp, tls = free_port(), free_port()
    start(simulator, db, "--port", str(tcp), "--tls-port", str(tls), "--isdn-controllers", "1",
          "--db-tcp-port", str(tcp), "--db-tcp-port-tls", str(tls))
    capi = simulator.running[-1].state_file + ".capi"
    everything = ("--checks", "processes,ports,database,isdn", "--isdn-controllers", "1",
                  "--capi-file", f"{capi}/controller", *db.plugin_args())
    run = run_plugin(*everything, "--probe", "-v")
    assert_status(run, 0, "5 daemons running", "5 saved PIDs agree")
    assert any(line.startswith(f"port {tcp} (os4xrd_tcpip, from the database): listening")
               for line in run.lines), run.stdout
    # a port given by the admin wins over the database's
    elsewhere = free_port()
    given = run_plugin(*everything, "--port", str(elsewhere))
    assert_status(given, 2, f"port {elsewhere} not listening (os4xrd_tcpip should)")
