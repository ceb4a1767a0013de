"""The installed check_os4x against the simulator's receivers and its CAPI files.

The simulator writes <state-file>.capi/controller (kernel CAPI's list) and
<state-file>.capi/capiinfo (a fake capiinfo); the plugin reads them through --capi-file and
--capiinfo. These tests see the whole host: run them in their own PID namespace (.ci/run).
"""

from __future__ import annotations

import os
import shutil

import pytest
from helpers import FIXTURES, assert_status, run_plugin

pytestmark = pytest.mark.e2e

ISDN = ("--checks", "isdn")
LABELS = {"capi_controllers_found", "capi_controllers_running", "capi_b_channels"}


DEFAULT_CAPI_FILE = "/proc/capi/controller"


def capi_file(sim) -> str:
    return f"{sim.state_file}.capi/controller"


def capiinfo(sim) -> str:
    return f"{sim.state_file}.capi/capiinfo"


def userspace(sim) -> tuple:
    """Options for userspace CAPI: no kernel file, the simulator's capiinfo."""
    return ("--capi-source", "capiinfo", "--capiinfo", capiinfo(sim))


def test_two_running_controllers_with_two_receivers_are_ok(simulator):
    sim = simulator.start("--isdn-controllers", "2")
    run = run_plugin(*ISDN, "--isdn-controllers", "2", "--capi-file", capi_file(sim), "-v")
    assert_status(run, 0, "2 CAPI controllers running")
    assert run.perfdata == {"capi_controllers_found": "2", "capi_controllers_running": "2",
                            "capi_b_channels": "U"}
    receivers = sim.pids("os4xrd_capi_0") + sim.pids("os4xrd_capi_1")
    assert any(line.startswith("CAPI controller 1 (b1pci): running b1pci-e000")
               and line.endswith(f"receiver os4xrd_capi_0 pid {receivers[0]}")
               for line in run.lines)
    assert any(line.endswith(f"receiver os4xrd_capi_1 pid {receivers[1]}") for line in run.lines)


def test_more_controllers_than_expected_are_ok_and_listed(simulator):
    sim = simulator.start("--isdn-controllers", "2", "--capi-states", "running,running,detected")
    run = run_plugin(*ISDN, "--isdn-controllers", "2", "--capi-file", capi_file(sim), "-v")
    assert_status(run, 0, "2 CAPI controllers running")
    assert run.perfdata["capi_controllers_found"] == "3"
    assert any(line.startswith("CAPI controller 3 (b1pci): detected ")
               and line.endswith("not used by OS4X (--isdn-controllers 2)") for line in run.lines)


def test_processes_and_isdn_together_are_ok(simulator):
    sim = simulator.start("--isdn-controllers", "2")
    run = run_plugin("--checks", "processes,isdn", "--isdn-controllers", "2",
                     "--capi-file", capi_file(sim))
    assert_status(run, 0, "6 daemons running, 2 CAPI controllers running")
    assert set(run.perfdata) >= LABELS


def test_userspace_capi_through_capiinfo_is_ok_with_b_channels(simulator):
    sim = simulator.start("--isdn-controllers", "2")
    run = run_plugin(*ISDN, "--isdn-controllers", "2", *userspace(sim))
    assert_status(run, 0, "2 CAPI controllers running")
    assert run.perfdata["capi_b_channels"] == "4"


def test_auto_finds_capiinfo_on_path_when_the_kernel_file_is_absent(simulator):
    sim = simulator.start("--isdn-controllers", "1")
    path = f"{sim.state_file}.capi:{os.environ.get('PATH', '/usr/bin:/bin')}"
    if os.path.exists(DEFAULT_CAPI_FILE):
        pytest.skip("this host has kernel CAPI")
    run = run_plugin(*ISDN, "--isdn-controllers", "1", "-v", env={"PATH": path})
    assert_status(run, 0, "1 CAPI controller running")
    assert any(line.startswith(f"capiinfo: {capiinfo(sim)}, ") for line in run.lines)


def test_detected_controller_is_critical_naming_it(simulator):
    sim = simulator.start("--isdn-controllers", "2", "--capi-states", "running,detected")
    run = run_plugin(*ISDN, "--isdn-controllers", "2", "--capi-file", capi_file(sim))
    assert_status(run, 2, "CAPI controller 2 (b1pci) is detected, not running")
    assert run.perfdata["capi_controllers_running"] == "1"


def test_missing_controller_is_critical_naming_it(simulator):
    sim = simulator.start("--isdn-controllers", "2", "--capi-states", "running,missing")
    for source in (("--capi-file", capi_file(sim)), userspace(sim)):
        run = run_plugin(*ISDN, "--isdn-controllers", "2", *source)
        assert_status(run, 2, "CAPI controller 2 missing from ", "(1 of 2 expected found)")


def test_missing_receiver_is_critical_naming_it(simulator):
    sim = simulator.start("--isdn-controllers", "2", "--missing", "os4xrd_capi_1")
    run = run_plugin(*ISDN, "--isdn-controllers", "2", "--capi-file", capi_file(sim))
    assert_status(run, 2, "CAPI controller 2 (b1pci) running, but its receiver "
                  "os4xrd_capi_1 is not running")


def test_missing_receiver_is_reported_once_when_processes_run_too(simulator):
    sim = simulator.start("--isdn-controllers", "2", "--missing", "os4xrd_capi_1")
    run = run_plugin("--checks", "processes,isdn", "--isdn-controllers", "2",
                     "--capi-file", capi_file(sim), "-v")
    assert_status(run, 2, "os4xrd_capi_1 not running")
    assert run.summary.count("os4xrd_capi_1") == 1, run.summary
    assert any(line.endswith("(reported by the process check)") for line in run.lines)


def test_absent_capi_is_critical_with_its_reason(simulator):
    sim = simulator.start("--isdn-controllers", "1", "--capiinfo-output", "not-installed")
    run = run_plugin(*ISDN, "--isdn-controllers", "1", *userspace(sim))
    assert_status(run, 2, "CAPI not installed: No such file or directory (2), says capiinfo")
    assert set(run.perfdata) == LABELS


def test_no_kernel_capi_and_no_capiinfo_is_critical(tmp_path):
    if os.path.exists(DEFAULT_CAPI_FILE):
        pytest.skip("this host has kernel CAPI")
    run = run_plugin(*ISDN, "--isdn-controllers", "1", env={"PATH": str(tmp_path)})
    assert_status(run, 2, f"no CAPI: {DEFAULT_CAPI_FILE} does not exist: kernel CAPI not "
                  "loaded and capiinfo is not on PATH")


def test_a_given_capi_file_that_does_not_exist_is_a_usage_error(tmp_path):
    """The admin named the file: its absence is a typo, not a host without CAPI (UNKNOWN at
    once, not CRITICAL)."""
    run = run_plugin(*ISDN, "--isdn-controllers", "1", "--capi-file", str(tmp_path / "none"),
                     env={"PATH": str(tmp_path)})
    assert_status(run, 3, f"--capi-file {tmp_path / 'none'} does not exist")
    assert len(run.lines) == 1


def test_hanging_capiinfo_ends_within_the_timeout(simulator):
    sim = simulator.start("--isdn-controllers", "1", "--capiinfo-output", "hang")
    run = run_plugin(*ISDN, "--isdn-controllers", "1", *userspace(sim), "-t", "3")
    assert_status(run, 3, "capiinfo gave no answer within ", "s (killed): CAPI hanging?")
    assert run.seconds < 3 + 2
    assert set(run.perfdata) == LABELS


def test_garbage_from_capiinfo_never_crashes(simulator):
    sim = simulator.start("--isdn-controllers", "1", "--capiinfo-output", "garbage")
    run = run_plugin(*ISDN, "--isdn-controllers", "1", *userspace(sim), "-v")
    assert_status(run, 3, "capiinfo printed binary data, not capiinfo's output: "
                  "'\\xff\\xfe\\x00\\x01GARBAGE\\x1b[2J!=U;;")  # bytes escaped as the docs say
    assert "\x1b" not in run.stdout and "\ufffd" not in run.stdout
    assert set(run.perfdata) == LABELS


@pytest.mark.parametrize(("fixture", "code", "phrase"), [
    ("proc_binary.bin", 3, "is not a CAPI controller list: line 1 "),
    ("proc_truncated.txt", 3, "unreadable: line 2 is cut short: '2 t1isa '"),
    ("proc_control_chars.txt", 3, "unreadable: line 2 "),
    ("proc_empty.txt", 2, "no CAPI controller found in "),
    ("proc_unknown_state.txt", 2, "CAPI controller 1 (b1pci) in unknown state '???'"),
])
def test_hostile_controller_files_never_crash(simulator, tmp_path, fixture, code, phrase):
    simulator.start("--isdn-controllers", "2")
    target = tmp_path / "controller"
    shutil.copy(FIXTURES / "capi" / fixture, target)
    run = run_plugin(*ISDN, "--isdn-controllers", "2", "--capi-file", str(target), "-vv")
    assert_status(run, code, phrase)
    assert set(run.perfdata) == LABELS
    assert "\x1b" not in run.stdout and "\x00" not in run.stdout


def test_unreadable_controller_file_is_unknown(tmp_path):
    target = tmp_path / "controller"
    shutil.copy(FIXTURES / "capi" / "proc_two_running.txt", target)
    target.chmod(0o600)
    if os.geteuid() != 0:
        pytest.skip("needs root to run the plugin as nobody")
    run = run_plugin(*ISDN, "--isdn-controllers", "2", "--capi-file", str(target),
                     user="nobody")
    assert_status(run, 3, f"cannot read {target}: Permission denied")


def test_capiinfo_source_without_capiinfo_is_unknown(tmp_path):
    run = run_plugin(*ISDN, "--isdn-controllers", "1", "--capi-source", "capiinfo",
                     env={"PATH": str(tmp_path)})
    assert_status(run, 3, "capiinfo not found on PATH: install it or give --capiinfo PATH")


def test_simulator_writes_the_states_asked_for_and_cleans_up(simulator):
    sim = simulator.start("--capi-states", "running,missing,loading")
    with open(capi_file(sim), encoding="utf-8") as stream:
        lines = stream.read().splitlines()
    assert [line.split()[:3] for line in lines] == [["1", "b1pci", "running"],
                                                    ["3", "b1pci", "loading"]]
    assert lines[0] == "1 b1pci      running  b1pci-e000       B1 3.07-01 0xe000 19"
    simulator.stop_all()
    assert not os.path.exists(f"{sim.state_file}.capi")
