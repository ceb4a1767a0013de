"""Fault injection across the aspects: the plugin never lies, hangs, crashes or leaks.

Faults here are real: a database connection killed by the server in the middle of the query,
a TLS port that answers with noise, everything slow at once, the password looked for in the
process list while the plugin runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time

import pytest
from dbtools import execute, silent_server
from helpers import assert_status, free_port, needs_server, plugin_command, run_plugin

MARGIN = 1.5  # seconds the plugin may need beyond -t to start and print


def kill_the_query(kind: str, marker: str, after: float) -> threading.Thread:
    """Kills, from the server's side, the connection that runs a query containing marker."""

    def kill() -> None:
        time.sleep(after)
        if kind == "mysql":
            rows = execute(kind, "SELECT ID FROM information_schema.PROCESSLIST "
                           "WHERE INFO LIKE %s AND ID <> CONNECTION_ID()",
                           values=(f"%{marker}%",))
            for (connection,) in rows:
                execute(kind, f"KILL {int(connection)}")
        else:
            execute(kind, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE %s AND pid <> pg_backend_pid()", values=(f"%{marker}%",))

    thread = threading.Thread(target=kill)
    thread.start()
    return thread


@pytest.mark.server
def test_database_connection_killed_in_the_middle_of_the_query(db):
    db.create()
    marker = "SLEEP(20)" if db.kind == "mysql" else "pg_sleep(20)"
    query = (f"SELECT 'os4xrd', 1 FROM (SELECT {marker}) AS waiting" if db.kind == "mysql"
             else f"SELECT 'os4xrd', 1 FROM {marker}")
    killer = kill_the_query(db.kind, marker, after=1.0)
    run = run_plugin("--checks", "database", *db.plugin_args(query), "-t", "10", timeout=60)
    killer.join()
    assert_status(run, 3)
    assert len(run.lines) == 1
    assert run.seconds < 10, run.seconds  # it noticed the loss, it did not wait for -t
    assert run.perfdata["db_pids_saved"] == "U"


@pytest.mark.e2e
def test_tls_port_answering_with_noise(simulator):
    """A peer on the TLS port that sends bytes that are no TLS at all."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    done = threading.Event()

    def babble() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            connection.sendall(os.urandom(64) + b"\x15\x03\x01\x00\x02\x02\x28" * 3)
            time.sleep(0.2)
            connection.close()

    thread = threading.Thread(target=babble, daemon=True)
    thread.start()
    try:
        run = run_plugin("--checks", "ports", "--probe", "--port", str(free_port()),
                         "--tls-port", str(port), "-t", "5")
    finally:
        done.set()
        listener.close()
    assert_status(run, 2, f"port {port}")
    assert "TLS handshake" in run.summary, run.summary  # the failed step, named
    assert len(run.lines) == 1


@pytest.mark.e2e
def test_everything_slow_at_once_still_ends_in_time(simulator, tmp_path):
    """A silent database, a silent OFTP port and a hanging capiinfo in one run with -t 4."""
    hang = tmp_path / "capiinfo"
    hang.write_text("#!/bin/sh\nexec sleep 60\n")
    hang.chmod(0o755)
    silent_port = socket.socket()
    silent_port.bind(("127.0.0.1", 0))
    silent_port.listen(8)
    try:
        with silent_server() as db_port:
            run = run_plugin(
                "--checks", "processes,ports,database,isdn", "--probe", "--no-tls",
                "--port", str(silent_port.getsockname()[1]),
                "--db-type", "mysql", "--db-host", "127.0.0.1", "--db-port", str(db_port),
                "--pid-query", "SELECT 1, 2",
                "--isdn-controllers", "1", "--capi-source", "capiinfo", "--capiinfo", str(hang),
                "-t", "4", timeout=60)
    finally:
        silent_port.close()
    assert run.seconds < 4 + MARGIN, run.seconds
    assert_status(run, 2, "os4xrd not running")  # CRITICAL outranks the UNKNOWNs
    # the status text stays readable; what did not fit is counted, and listed below it
    assert len(run.lines) == 1 or " more" in run.summary, run.stdout
    for waited in ("database", "capiinfo"):
        assert waited in run.stdout, run.stdout


@pytest.mark.server
def test_password_never_in_the_process_list_environment_or_output(db, tmp_path):
    """While the plugin waits on a silent server, neither ps nor its output shows the secret."""
    db.create()
    secret = "Zq-93kd-unique-secret"
    password_file = tmp_path / "pw"
    password_file.write_text(secret + "\n")
    password_file.chmod(0o600)
    with silent_server() as port:
        args = db.plugin_args()
        args[args.index("--db-port") + 1] = str(port)
        command = [*plugin_command(), "--checks", "database", *args, "--db-password-file",
                   str(password_file), "-t", "3", "-vvv"]
        running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env={"PATH": os.environ["PATH"]})
        time.sleep(1)
        table = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True,
                               check=True).stdout
        out, err = running.communicate(timeout=30)
    assert "check_os4x" in table  # it was running when the table was read
    assert secret not in table
    assert secret not in out + err
    assert out.startswith("OS4X UNKNOWN - ")


@pytest.mark.e2e
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the plugin as nagios")
def test_nagios_user_against_root_daemons_counts_right_and_says_what_it_could_not_verify(
        simulator):
    import pwd

    try:
        pwd.getpwnam("nagios")
    except KeyError:
        needs_server(False, "the nagios user (from nagios-nrpe-server) does not exist")
    tcp, tls = free_port(), free_port()
    simulator.start("--port", str(tcp), "--tls-port", str(tls), "--isdn-controllers", "1")
    args = ("--checks", "processes,ports", "--port", str(tcp), "--tls-port", str(tls),
            "--isdn-controllers", "1", "--user", "root", "-v")
    as_root = run_plugin(*args)
    as_nagios = run_plugin(*args, user="nagios")
    assert_status(as_root, 0, "5 daemons running")
    assert_status(as_nagios, 0, "5 daemons running")
    for label in ("os4xrd", "os4xrd_tcpip", "os4xrd_tcpip_tls", "os4xrd_capi_0", "os4xsqd",
                  "actions", "oftp_listening", "oftp2_listening", "zombies"):
        assert as_nagios.perfdata[label] == as_root.perfdata[label], label
    assert any("not verified" in line for line in as_nagios.lines), as_nagios.stdout
    assert not any("not verified" in line for line in as_root.lines), as_root.stdout
