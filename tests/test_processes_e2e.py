"""The installed check_os4x against the simulator's real processes: OK and every failure.

These tests see the whole host: run them with no other simulator running (.ci/run gives the
suite its own PID namespace).
"""

from __future__ import annotations

import os
import time

import pytest
from helpers import assert_status, run_plugin

PROCESSES = ("--checks", "processes")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run daemons as others")


def test_no_os4x_on_this_host_is_critical_naming_every_daemon():
    run = run_plugin(*PROCESSES)
    assert_status(run, 2, "os4xrd not running", "os4xrd_tcpip not running",
                  "os4xrd_tcpip_tls not running", "os4xsqd not running")


def test_healthy_simulator_is_ok_with_stable_perfdata(simulator):
    simulator.start("--isdn-controllers", "2", "--enterprise", "--actions", "3")
    run = run_plugin(*PROCESSES, "--isdn-controllers", "2", "--enterprise")
    assert_status(run, 0, "7 daemons running")
    perf = run.perfdata
    for daemon in ("os4xrd", "os4xrd_tcpip", "os4xrd_tcpip_tls", "os4xrd_capi_0",
                   "os4xrd_capi_1", "os4xsqd", "os4xclientd"):
        assert perf[daemon] == "1", daemon
    assert "os4xrd=1;;1:1;0" in run.first_line
    assert perf["actions"] == "3"  # the decoys and os4xclientd's child are not counted
    assert perf["zombies"] == "0"
    assert run.perf_number("os4x_rss") > 0
    assert 0 < run.perf_number("master_uptime") < 120  # started by this test
    assert 0 < run.perf_number("oldest_action_age") <= run.perf_number("master_uptime")
    assert perf["oldest_action_age"].endswith("s")


def test_labels_do_not_change_with_the_state(simulator):
    simulator.start()
    ok = run_plugin(*PROCESSES)
    simulator.stop_all()
    simulator.start("--missing", "os4xsqd", "--zombie")
    bad = run_plugin(*PROCESSES)
    assert ok.code == 0 and bad.code == 2
    assert sorted(ok.perfdata) == sorted(bad.perfdata)


def test_long_output_one_line_per_daemon(simulator):
    sim = simulator.start("--debugd")
    run = run_plugin(*PROCESSES, "-v")
    assert_status(run, 0)
    master = sim.pid("os4xrd")
    assert any(line.startswith(f"os4xrd: pid {master}, root, up ") for line in run.lines)
    assert any(line.startswith("os4xdebugd: pid ") and "not required" in line
               and "costly" in line for line in run.lines)
    assert any(line.startswith("os4xsqd actions: 2, oldest pid") for line in run.lines)


def test_vv_shows_the_configuration_without_secrets(tmp_path):
    config = tmp_path / "c.ini"
    config.write_text("[check_os4x]\ndb-password = hunter2\nuser = www-data\n")
    run = run_plugin(*PROCESSES, "--config", str(config), "-vv")
    assert "configuration:" in run.lines
    assert "  user = www-data [config]" in run.lines
    assert "  db-password = (set) [config]" in run.lines
    assert "hunter2" not in run.stdout


@pytest.mark.parametrize("daemon", ["os4xrd_tcpip", "os4xrd_tcpip_tls", "os4xsqd"])
def test_missing_daemon_is_critical(simulator, daemon):
    simulator.start("--missing", daemon)
    run = run_plugin(*PROCESSES)
    assert_status(run, 2, f"{daemon} not running")
    assert run.perfdata[daemon] == "0"


def test_missing_master(simulator):
    simulator.start("--missing", "os4xrd")
    run = run_plugin(*PROCESSES)
    assert_status(run, 2, "os4xrd not running")


def test_missing_isdn_receiver(simulator):
    simulator.start("--isdn-controllers", "1")
    run = run_plugin(*PROCESSES, "--isdn-controllers", "2")
    assert_status(run, 2, "os4xrd_capi_1 not running")


@pytest.mark.parametrize("daemon", ["os4xrd", "os4xrd_tcpip", "os4xsqd"])
def test_second_instance_is_critical_naming_the_pids(simulator, daemon):
    sim = simulator.start("--duplicate", daemon)
    run = run_plugin(*PROCESSES)
    pids = ", ".join(str(pid) for pid in sim.pids(daemon))
    assert_status(run, 2, f"{daemon} runs 2 times (pids {pids}): race conditions")
    assert run.perfdata[daemon] == "2"


def test_orphaned_receiver_is_critical(simulator):
    sim = simulator.start("--orphan", "os4xrd_tcpip_tls")
    run = run_plugin(*PROCESSES)
    orphan = sim.pid("os4xrd_tcpip_tls")
    assert_status(run, 2, f"os4xrd_tcpip_tls pid {orphan} is not a child of the os4xrd master")


def test_zombie_is_a_warning_naming_it(simulator):
    sim = simulator.start("--zombie")
    run = run_plugin(*PROCESSES)
    zombie = sim.pid("zombie")
    assert_status(run, 1, f"zombie os4xsqd pid {zombie} (parent pid {sim.pid('os4xsqd')})")
    assert run.perfdata["zombies"] == "1"
    assert run.perfdata["actions"] == "2"


@as_root
def test_wrong_user_is_a_warning(simulator):
    sim = simulator.start("--run-as", "os4xsqd=nobody")
    run = run_plugin(*PROCESSES, "--user", "root")
    assert_status(run, 1, f"os4xsqd pid {sim.pid('os4xsqd')} runs as nobody, not root")
    assert "os4xrd pid" not in run.summary


def test_every_problem_worst_first(simulator):
    simulator.start("--zombie", "--missing", "os4xrd_tcpip")
    run = run_plugin(*PROCESSES)
    assert_status(run, 2)
    assert run.summary.index("os4xrd_tcpip not running") < run.summary.index("zombie")


def test_hung_action_by_age(simulator):
    simulator.start()
    time.sleep(1.2)
    warning = run_plugin(*PROCESSES, "--action-age-warning", "1")
    assert_status(warning, 1, "os4xsqd action pid", "hung?")
    assert "oldest_action_age=" in warning.first_line and ";1;" in warning.first_line
    critical = run_plugin(*PROCESSES, "--action-age-warning", "0.5",
                          "--action-age-critical", "1")
    assert_status(critical, 2, "hung?")
    relaxed = run_plugin(*PROCESSES, "--action-age-warning", "3600")
    assert_status(relaxed, 0)


def test_restart_loop_by_master_uptime(simulator):
    sim = simulator.start()
    run = run_plugin(*PROCESSES, "--min-uptime", "3600")
    assert_status(run, 1, f"os4xrd master pid {sim.pid('os4xrd')} started", "restarting?")
    assert "master_uptime=" in run.first_line and ";3600:;" in run.first_line


def test_min_uptime_is_silent_when_the_master_is_missing(simulator):
    simulator.start("--missing", "os4xrd")
    run = run_plugin(*PROCESSES, "--min-uptime", "3600")
    assert_status(run, 2, "os4xrd not running")
    assert "restarting" not in run.summary
    assert "master_uptime=U;3600:;;0 " in run.first_line + " "  # not measured, not 0s


def test_no_action_running_has_no_age(simulator):
    simulator.start("--actions", "0")
    run = run_plugin(*PROCESSES, "--action-age-warning", "60")
    assert_status(run, 0)
    assert run.perfdata["actions"] == "0"
    assert "oldest_action_age=U;60;;0 " in run.first_line + " "


@as_root
def test_unprivileged_plugin_counts_root_daemons_the_same(simulator):
    simulator.start("--isdn-controllers", "1")
    as_root_run = run_plugin(*PROCESSES, "--isdn-controllers", "1")
    as_nobody = run_plugin(*PROCESSES, "--isdn-controllers", "1", "-v", user="nobody")
    assert_status(as_nobody, 0, "5 daemons running")
    for label in ("os4xrd", "os4xrd_tcpip", "os4xrd_capi_0", "os4xsqd", "actions"):
        assert as_nobody.perfdata[label] == as_root_run.perfdata[label]


def test_timeout_is_one_unknown_line():
    run = run_plugin(*PROCESSES, "-t", "0.000001")
    assert_status(run, 3, "no result within the 1e-06s timeout (-t) while")
    assert len(run.lines) == 1


@as_root
def test_hidepid_makes_the_unprivileged_check_unknown_not_critical(tmp_path):
    """In a private mount namespace /proc hides other users' processes: the plugin must say it
    cannot see, not that the daemons stopped."""
    import subprocess
    import sys
    from pathlib import Path

    plugin = str(Path(sys.executable).parent / "check_os4x")
    script = ("mount -o remount,hidepid=2 /proc && "
              f"runuser -u nobody -- {plugin} --checks processes; echo exit=$?")
    done = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c",
                           script], capture_output=True, text=True, timeout=60, check=False,
                          cwd="/")
    assert "exit=3" in done.stdout, done.stdout + done.stderr
    assert done.stdout.startswith("OS4X UNKNOWN - cannot see the OS4X processes: "
                                  "/proc is mounted with hidepid=invisible"), done.stdout
