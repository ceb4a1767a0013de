"""<prefix>configuration explains and configures: stop requests and os4xclientd_port, against
real MariaDB and PostgreSQL and the simulator's real processes.

The stop request is read by the database aspect and explains the process aspect's "not
running" through Host, whatever order the aspects run in.
"""

from __future__ import annotations

import re

import pytest
from dbtools import ScratchDatabase
from helpers import assert_status, free_port, run_plugin

pytestmark = pytest.mark.server



def start(simulator, db: ScratchDatabase, *args: str):
    return simulator.start("--no-decoys", *db.simulator_args(), *args)


def test_stopped_on_request_is_critical_and_says_why(simulator, db):
    start(simulator, db, "--missing", "os4xsqd", "--db-stop-request", "os4xsqd")
    run = run_plugin("--checks", "processes,database", *db.plugin_args(), "-v")
    assert_status(run, 2, "os4xsqd not running: stop requested in os4x_configuration "
                  "(os4xsqd_stop_req)")
    assert run.summary.count("os4xsqd not running") == 1  # not said twice by two aspects
    assert "what to do: the stop was asked for in os4x_configuration (os4xsqd_stop_req) = 1: " \
        "if os4xsqd should run, set os4xsqd_stop_req to 0 there and start " \
        "/opt/os4x/bin/os4xsqd" in run.stdout
    assert "stop requests in os4x_configuration: os4xsqd_stop_req = 1" in run.lines


def test_stopped_on_request_with_the_database_aspect_alone(simulator, db):
    start(simulator, db, "--missing", "os4xsqd", "--db-stop-request", "os4xsqd")
    run = run_plugin("--checks", "database", *db.plugin_args())
    assert_status(run, 2, "os4xsqd not running: stop requested in os4x_configuration "
                  "(os4xsqd_stop_req)")


def test_not_running_without_stop_request_says_nothing_of_it(simulator, db):
    start(simulator, db, "--missing", "os4xsqd", "--db-stop-request", "os4xrd")
    run = run_plugin("--checks", "processes,database", *db.plugin_args())
    assert_status(run, 2, "os4xsqd not running")
    assert "os4xsqd not running:" not in run.summary
    assert re.search(r"os4xrd pid \d+ will exit after its time slice: stop requested in "
                     r"os4x_configuration \(os4xrd_stop_req\)", run.summary), run.summary


def test_running_with_stop_request_is_a_warning(simulator, db):
    sim = start(simulator, db, "--db-stop-request", "os4xsqd")
    run = run_plugin("--checks", "processes,database", *db.plugin_args(), "-v")
    assert_status(run, 1, f"os4xsqd pid {sim.pid('os4xsqd')} will exit after its time slice: "
                  "stop requested in os4x_configuration (os4xsqd_stop_req)")
    assert "what to do: if the stop is not wanted, set os4xsqd_stop_req to 0 in " \
        "os4x_configuration now" in run.stdout


def test_stop_request_zero_is_no_request(simulator, db):
    start(simulator, db)  # both rows saved as 0
    run = run_plugin("--checks", "processes,database", *db.plugin_args(), "-v")
    assert_status(run, 0)
    assert "stop requests in os4x_configuration: none" in run.lines


def test_clientd_port_from_the_configuration_table(simulator, db):
    tcp, tls, clientd = free_port(), free_port(), free_port()
    start(simulator, db, "--enterprise", "--port", str(tcp), "--tls-port", str(tls),
          "--db-tcp-port", str(tcp), "--db-tcp-port-tls", str(tls),
          "--clientd-port", str(clientd), "--db-clientd-port", str(clientd))
    args = ("--checks", "ports,database", "--enterprise", *db.plugin_args(), "-v")
    run = run_plugin(*args)
    assert_status(run, 0)
    assert any(line.startswith(f"port {clientd} (os4xclientd, from the database): listening")
               for line in run.lines), run.stdout
    elsewhere = free_port()  # the command line wins
    given = run_plugin(*args, "--clientd-port", str(elsewhere))
    assert_status(given, 2, f"port {elsewhere} not listening (os4xclientd should)")


def test_garbage_clientd_port_is_a_note(simulator, db):
    # 60000, os4xclientd's default, lies in Linux's ephemeral range: an outgoing connection
    # may hold it, so the simulator listens on a free port
    start(simulator, db, "--enterprise", "--clientd-port", str(free_port()),
          "--db-clientd-port", "sixty thousand")
    run = run_plugin("--checks", "database", *db.plugin_args(), "-v")
    assert_status(run, 0)
    assert any("os4xclientd_port ignored" in line for line in run.lines), run.stdout
