"""The installed check_os4x against the simulator's real processes: OK and every failure.

These tests see the whole host: run them with no other simulator running (.ci/run gives the
suite its own PID namespace).
"""

from __future__ import annotations

import os
import shutil
import time

import pytest
from helpers import assert_status, free_port, run_plugin

pytestmark = pytest.mark.e2e

PROCESSES = ("--checks", "processes")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run daemons as others")


def test_no_os4x_on_this_host_is_critical_naming_every_daemon():
    run = run_plugin(*PROCESSES)
    assert_status(run, 2, "os4xrd not running", "os4xrd_tcpip not running",
                  "os4xrd_tcpip_tls not running", "os4xsqd not running")


def test_healthy_simulator_is_ok_with_stable_perfdata(simulator):
    # os4xclientd's default port 60000 may be held by an outgoing connection (ephemeral range)
    simulator.start("--isdn-controllers", "2", "--enterprise", "--actions", "3",
                    "--clientd-port", str(free_port()))
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
    assert run.summary.count("runs as") == 1  # its two actions run as nobody too: one warning


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


# -- whose processes: impostors, stopped daemons, hidden tables, replaced binaries,
# installations and os4xfqd --

def _impostor(tmp_path, name: str, user: str):
    """A copy of sleep called like a daemon, outside OS4X's binary directory, run by user."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    directory = Path(tempfile.mkdtemp(prefix="os4x-impostor-"))  # any user may run it
    directory.chmod(0o755)
    binary = directory / name
    shutil.copy(shutil.which("sleep") or "/bin/sleep", binary)
    process = subprocess.Popen([str(binary), "1000"], user=user)
    time.sleep(0.3)
    return process


@as_root
@pytest.mark.parametrize(("impostor_user", "plugin_user"), [
    ("nobody", None), ("root", None), ("nobody", "nobody"), ("daemon", "nobody")])
def test_an_impostor_never_stands_in_for_a_missing_daemon(simulator, tmp_path, impostor_user,
                                                         plugin_user):
    simulator.start("--missing", "os4xsqd")
    impostor = _impostor(tmp_path, "os4xsqd", impostor_user)
    try:
        run = run_plugin(*PROCESSES, "-v", user=plugin_user)
    finally:
        impostor.kill()
        impostor.wait()
        shutil.rmtree(os.path.dirname(impostor.args[0]), ignore_errors=True)
    assert_status(run, 2, "os4xsqd not running", f"os4xsqd pid {impostor.pid} is not OS4X's")
    assert run.perfdata["os4xsqd"] == "0"
    assert any(line.startswith("  what to do: find out what pid") for line in run.lines)


@as_root
@pytest.mark.parametrize("plugin_user", [None, "nobody"])
def test_a_stopped_daemon_is_not_running(simulator, plugin_user):
    sim = simulator.start("--stopped", "os4xsqd")
    run = run_plugin(*PROCESSES, "-v", user=plugin_user)
    pid = sim.pid("os4xsqd")
    assert_status(run, 2, f"os4xsqd not running: pid {pid} is stopped (state T")
    assert run.perfdata["os4xsqd"] == "0"
    assert f"  what to do: resume it with 'kill -CONT {pid}'" in run.stdout


def test_a_daemon_stopped_later_is_not_running(simulator):
    import signal

    sim = simulator.start()
    pid = sim.pid("os4xsqd")
    os.kill(pid, signal.SIGSTOP)
    time.sleep(0.2)  # the signal takes effect a moment after kill() returns
    run = run_plugin(*PROCESSES)
    os.kill(pid, signal.SIGCONT)
    assert_status(run, 2, f"os4xsqd not running: pid {pid} is stopped (state T")


@as_root
@pytest.mark.parametrize("options", ["hidepid=1", "hidepid=2", "hidepid=4", "hidepid=noaccess",
                                     "hidepid=invisible", "hidepid=ptraceable",
                                     "hidepid=2,subset=pid"])
def test_hidden_processes_are_unknown_never_critical(tmp_path, options):
    """A private /proc with the option, the simulator's daemons running, the plugin as nobody."""
    import subprocess
    import sys
    from pathlib import Path

    plugin = str(Path(sys.executable).parent / "check_os4x")
    state = tmp_path / "state.json"
    script = (f"{sys.executable} -m os4xmon.simulator start --state-file {state} --no-decoys "
              f"--port {free_port()} --tls-port {free_port()} >/dev/null && "
              f"mount -t proc -o {options} proc /proc && "
              f"runuser -u nobody -- {plugin} --checks processes; echo exit=$?")
    done = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c",
                           script], capture_output=True, text=True, timeout=90, check=False,
                          cwd="/")
    assert "exit=3" in done.stdout, done.stdout + done.stderr
    assert done.stdout.startswith("OS4X UNKNOWN - cannot see the OS4X processes: "), done.stdout


@as_root
def test_subset_pid_alone_hides_no_process(tmp_path):
    """subset=pid takes /proc/net and /proc/stat away, not processes: the answer stays true."""
    import subprocess
    import sys
    from pathlib import Path

    plugin = str(Path(sys.executable).parent / "check_os4x")
    state = tmp_path / "state.json"
    script = (f"{sys.executable} -m os4xmon.simulator start --state-file {state} --no-decoys "
              f"--port {free_port()} --tls-port {free_port()} >/dev/null && "
              "mount -t proc -o subset=pid proc /proc && "
              f"runuser -u nobody -- {plugin} --checks processes --min-uptime 3600; "
              "echo exit=$?")
    done = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c",
                           script], capture_output=True, text=True, timeout=90, check=False,
                          cwd="/")
    assert done.stdout.startswith("OS4X OK - 4 daemons running"), done.stdout + done.stderr


def _bin_dir(tmp_path, name: str) -> str:
    path = os.path.join(os.fsencode(tmp_path), os.fsencode(name))
    return os.fsdecode(path)


ODD_BIN_DIRS = [pytest.param("bin", id="plain"), pytest.param("opt os4x/bin", id="spaces"),
                pytest.param(b"bin-\xff\xfe", id="non-utf8")]


@as_root
@pytest.mark.parametrize("name", ODD_BIN_DIRS)
def test_a_replaced_binary_is_a_warning_naming_it(simulator, tmp_path, name):
    bin_dir = _bin_dir(tmp_path, os.fsdecode(name))
    tmp_path.chmod(0o755)
    sim = simulator.start("--bin-dir", bin_dir)
    ok = run_plugin(*PROCESSES, "--bin-dir", bin_dir)
    assert_status(ok, 0, "4 daemons running")
    simulator.replace(sim, "os4xsqd")
    run = run_plugin(*PROCESSES, "--bin-dir", bin_dir, "-v")
    pid = sim.pid("os4xsqd")
    assert_status(run, 1, f"os4xsqd pid {pid} runs an old binary: ",
                  "/os4xsqd was replaced on disk on ")
    assert "\\xff\\xfe" in run.summary if isinstance(name, bytes) else True
    assert run.perfdata["replaced_binaries"] == "1"
    assert "  what to do: restart os4xsqd so that it runs the installed " in run.stdout
    assert sorted(run.perfdata) == sorted(ok.perfdata)

    as_nobody = run_plugin(*PROCESSES, "--bin-dir", bin_dir, "-v", user="nobody")
    assert_status(as_nobody, 0, "4 daemons running")
    assert any(line.startswith("not verified") and "binaries of os4xrd pid" in line
               for line in as_nobody.lines), as_nobody.stdout

    simulator.stop_all()  # the restart: the daemons run the installed binary again
    simulator.start("--bin-dir", bin_dir)
    assert_status(run_plugin(*PROCESSES, "--bin-dir", bin_dir), 0, "4 daemons running")


@as_root
def test_replaced_binary_state_option(simulator, tmp_path):
    bin_dir = str(tmp_path / "bin")
    sim = simulator.start("--bin-dir", bin_dir)
    simulator.replace(sim, "os4xsqd")
    critical = run_plugin(*PROCESSES, "--bin-dir", bin_dir, "--replaced-binary-state",
                          "critical")
    assert_status(critical, 2, "os4xsqd pid")
    silent = run_plugin(*PROCESSES, "--bin-dir", bin_dir, "--replaced-binary-state", "ok", "-v")
    assert_status(silent, 0, "4 daemons running")
    assert silent.perfdata["replaced_binaries"] == "1"
    assert any("runs an old binary" in line and "(--replaced-binary-state ok)" in line
               for line in silent.lines)


@as_root
def test_a_replaced_master_is_reported_once_not_with_its_receivers(simulator, tmp_path):
    bin_dir = str(tmp_path / "bin")
    sim = simulator.start("--bin-dir", bin_dir, "--isdn-controllers", "1")
    simulator.replace(sim, "os4xrd")
    run = run_plugin(*PROCESSES, "--bin-dir", bin_dir, "--isdn-controllers", "1", "-v")
    assert_status(run, 1, f"os4xrd pid {sim.pid('os4xrd')} runs an old binary")
    assert run.summary.count("old binary") == 1
    assert run.perfdata["replaced_binaries"] == "1"
    assert "(its receivers restart with it)" in run.stdout


def test_daemons_outside_the_bin_dir_are_not_oftp_daemons(simulator, tmp_path):
    simulator.start()
    run = run_plugin(*PROCESSES, "--bin-dir", str(tmp_path))
    assert_status(run, 2, "os4xrd not running", "is not OS4X's: its binary ")


def test_two_installations_each_checked_on_its_own(simulator):


    first = simulator.start("--port", str(free_port()), "--tls-port", str(free_port()))
    second_ports = (free_port(), free_port())
    second = simulator.start("--config", "/etc/os4x-b.conf", "--port", str(second_ports[0]),
                             "--tls-port", str(second_ports[1]), "--no-decoys")
    default = run_plugin(*PROCESSES, "-v")
    assert_status(default, 0, "4 daemons running")
    assert default.perfdata["os4xrd"] == "1"
    assert any(line.startswith("another installation (-C /etc/os4x-b.conf), not checked here: "
                               f"os4xrd pid {second.pid('os4xrd')}") for line in default.lines)
    other = run_plugin(*PROCESSES, "--os4x-config", "/etc/os4x-b.conf", "-v")
    assert_status(other, 0, "4 daemons running")
    assert any(line.startswith(f"os4xrd: pid {second.pid('os4xrd')},") for line in other.lines)
    assert any(f"os4xrd pid {first.pid('os4xrd')}" in line and "/etc/os4x.conf" in line
               for line in other.lines)
    # a port of this installation held by the other one's receiver is not ours
    ports = run_plugin("--checks", "ports", "--port", str(second_ports[0]), "--no-tls")
    assert_status(ports, 2, f"port {second_ports[0]} held by os4xrd_tcpip (of another OS4X "
                  "installation (-C /etc/os4x-b.conf))")


def test_a_missing_daemon_of_another_installation_says_how_to_start_it(simulator):
    simulator.start("--config", "/etc/os4x-b.conf", "--missing", "os4xsqd", "--no-decoys")
    run = run_plugin(*PROCESSES, "--os4x-config", "/etc/os4x-b.conf", "-v")
    assert_status(run, 2, "os4xsqd not running")
    assert ("  what to do: start it as OS4X does: /opt/os4x/bin/os4xsqd -C /etc/os4x-b.conf"
            in run.stdout)


def test_fetch_queue_daemon(simulator):
    sim = simulator.start("--fetch-queue")
    required = run_plugin(*PROCESSES, "--fetch-queue")
    assert_status(required, 0, "5 daemons running")
    assert required.perfdata["os4xfqd"] == "1"
    listed = run_plugin(*PROCESSES, "-v")
    assert_status(listed, 0, "4 daemons running")
    assert any(line.startswith(f"os4xfqd: pid {sim.pid('os4xfqd')},")
               and "not required" in line for line in listed.lines)
    simulator.stop_all()
    simulator.start()
    missing = run_plugin(*PROCESSES, "--fetch-queue", "-v")
    assert_status(missing, 2, "os4xfqd not running")
    assert "what to do: start it as OS4X does: /opt/os4x/bin/os4xfqd" in missing.stdout


def test_a_second_instance_names_the_younger_pid_to_stop(simulator):
    sim = simulator.start("--duplicate", "os4xsqd")
    run = run_plugin(*PROCESSES, "-v")
    older, younger = sim.pids("os4xsqd")  # started one after the other: pid order is age order
    assert_status(run, 2, "os4xsqd runs 2 times")
    advice = next(line for line in run.lines if line.startswith("  what to do: stop the younger"))
    assert f"kill {younger}; keep pid {older}" in advice
    assert "check that the PID OS4X saved in its database" in advice


@as_root
def test_a_receiver_is_named_by_its_command_line_name(simulator):
    sim = simulator.start("--run-as", "os4xrd_tcpip=nobody")
    run = run_plugin(*PROCESSES, "--user", "root")
    assert_status(run, 1, f"os4xrd_tcpip pid {sim.pid('os4xrd_tcpip')} runs as nobody, not root")
    assert "os4xrd pid" not in run.summary


def test_a_daemon_held_by_a_debugger_is_not_running(simulator):
    """PTRACE_ATTACH, as gdb -p does: the daemon waits in a tracing stop (state t)."""
    import ctypes
    import ctypes.util

    ptrace_attach, ptrace_detach = 16, 17
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    sim = simulator.start()
    pid = sim.pid("os4xsqd")
    if libc.ptrace(ptrace_attach, pid, None, None) != 0:
        pytest.skip(f"ptrace refused: {os.strerror(ctypes.get_errno())}")
    try:
        os.waitpid(pid, 0)  # the tracee reports its stop to the tracer
        run = run_plugin(*PROCESSES)
    finally:
        libc.ptrace(ptrace_detach, pid, None, None)
    assert_status(run, 2, f"os4xsqd not running: pid {pid} is stopped (state t: stopped by a "
                  "debugger")
