"""The process check's decisions, on process tables in ps's format (tests/fixtures/ps)."""

from __future__ import annotations

from pathlib import Path

from nagiosplugin.state import Critical, Warn

from os4xmon.processes import Expectation, assess, long_output, timing_findings
from os4xmon.proctable import ProcessInfo, ProcessTable, table_from

FIXTURES = Path(__file__).parent / "fixtures" / "ps"
NOW = 1_800_000_000.0
STANDARD = Expectation(("os4xrd", "os4xrd_tcpip", "os4xrd_tcpip_tls", "os4xsqd"))


def load_ps(name: str) -> ProcessTable:
    """Reads `ps -e -o user,pid,ppid,stat,etimes,comm,args` output into a process table."""
    processes = []
    for line in (FIXTURES / name).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        user, pid, ppid, stat, age, comm, *rest = line.split(None, 6)
        args = line.split(None, 6)[6] if len(rest) else ""
        zombie = stat.startswith("Z")
        processes.append(ProcessInfo(
            pid=int(pid), ppid=int(ppid), comm=comm,
            cmdline=(args,) if args and not zombie else (),
            username=user, create_time=NOW - float(age), rss=None if zombie else 4096,
            zombie=zombie))
    return table_from(processes, NOW)


def messages(report):
    return [(finding.state, finding.message) for finding in report.findings]


def test_healthy_host_has_no_findings():
    report = assess(load_ps("healthy.txt"), STANDARD)
    assert messages(report) == []
    assert report.running_count == 4
    assert [p.pid for p in report.actions] == [3790, 3791]  # a fork and an exec'd program
    assert report.age(report.oldest_action) == 40
    assert report.age(report.master) == 7200


def test_decoys_and_lookalikes_are_not_daemons():
    report = assess(load_ps("hostile.txt"), STANDARD)
    assert report.instances == {}
    assert (Critical, "os4xrd not running") in messages(report)


def test_second_master_is_critical_and_its_fork_is_not_an_instance():
    report = assess(load_ps("duplicate_master.txt"), STANDARD)
    assert messages(report) == [
        (Critical, "os4xrd runs 2 times (pids 3771, 6001): race conditions")]


def test_orphaned_receiver_and_zombie_action():
    report = assess(load_ps("orphan_zombie.txt"), Expectation(STANDARD.daemons, "www-data"))
    found = messages(report)
    assert (Critical, "os4xrd_tcpip pid 3772 is not a child of the os4xrd master (its parent "
            "is pid 1): orphaned or left over from an old master") in found
    assert (Warn, "zombie os4xsqd pid 3795 (parent pid 3780)") in found
    assert (Warn, "os4xsqd pid 3796 runs as root, not www-data") in found
    assert [p.pid for p in report.actions] == [3796]  # the zombie is no action


def test_zombie_master_is_not_an_instance():
    table = table_from([ProcessInfo(10, 1, "os4xrd", (), "root", NOW - 5, None, True)], NOW)
    report = assess(table, STANDARD)
    assert (Critical, "os4xrd not running") in messages(report)
    assert (Warn, "zombie os4xrd pid 10 (parent pid 1)") in messages(report)


def test_pid_reuse_a_recycled_pid_is_judged_by_what_runs_now():
    # pid 3772 once was os4xrd_tcpip; now it is a shell: the receiver is gone, not duplicated
    table = load_ps("healthy.txt")
    processes = dict(table.processes)
    processes[3772] = ProcessInfo(3772, 3771, "bash", ("bash",), "www-data", NOW - 1, 10)
    report = assess(table_from(list(processes.values()), NOW), STANDARD)
    assert messages(report) == [(Critical, "os4xrd_tcpip not running")]


def test_unknown_user_is_reported_as_not_verified():
    table = table_from([ProcessInfo(10, 1, "os4xrd", ("/opt/os4x/bin/os4xrd",), None,
                                    NOW - 5, None)], NOW)
    report = assess(table, Expectation(("os4xrd",), "www-data"))
    assert messages(report) == []
    assert any("user of os4xrd pid 10" in line for line in long_output(report))


def test_long_output_names_pid_user_and_age():
    lines = long_output(assess(load_ps("healthy.txt"), STANDARD))
    assert "os4xrd: pid 3771, www-data, up 2h 0m, parent 1" in lines
    assert any(line.startswith("os4xrd_capi_0: pid 3774") and "not required" in line
               for line in lines)
    assert "os4xsqd actions: 2, oldest pid 3790 (os4xsqd) running 40s" in lines


def test_hostile_titles_are_escaped_in_messages():
    table = table_from([
        ProcessInfo(10, 1, "os4xrd", ("/opt/os4x/bin/os4xrd",), "www-data", NOW - 5, 1),
        ProcessInfo(11, 10, "os4xrd", ("os4xrd_tcpip",), "evil|user\nx", NOW - 5, 1),
    ], NOW)
    report = assess(table, Expectation(("os4xrd", "os4xrd_tcpip"), "www-data"))
    (finding,) = report.findings
    assert "|" not in finding.message and "\n" not in finding.message


def test_wrong_user_is_reported_once_per_instance_not_per_child():
    """An os4xsqd running as the wrong user with two actions is one warning, not three; a
    child under another wrong user than its instance's is reported on its own."""
    table = table_from([
        ProcessInfo(10, 1, "os4xsqd", ("/opt/os4x/bin/os4xsqd",), "nobody", NOW - 50, 1),
        ProcessInfo(11, 10, "os4xsqd", ("/opt/os4x/bin/os4xsqd",), "nobody", NOW - 5, 1),
        ProcessInfo(12, 10, "os4xsqd", ("/opt/os4x/bin/os4xsqd",), "nobody", NOW - 5, 1),
        ProcessInfo(13, 10, "sh", ("/bin/sh",), "root", NOW - 5, 1),
    ], NOW)
    report = assess(table, Expectation(("os4xsqd",), "www-data"))
    assert messages(report) == [(Warn, "os4xsqd pid 10 runs as nobody, not www-data"),
                                (Warn, "sh pid 13 runs as root, not www-data")]


def test_ages_against_thresholds_name_the_process():
    report = assess(load_ps("healthy.txt"), STANDARD)
    assert timing_findings(report, 3600, 7200, 60) == []
    assert [(f.state, f.message) for f in timing_findings(report, 30, 60, 7201)] == [
        (Warn, "os4xsqd action pid 3790 (os4xsqd) running for 40s: hung?"),
        (Warn, "os4xrd master pid 3771 started 2h 0m ago: restarting?")]
    assert timing_findings(report, None, 10)[0].state == Critical


def test_nothing_running_has_no_age_and_no_timing_verdict():
    """No action and no master: the ages are not measured (perfdata U), not 0 s."""
    report = assess(table_from([], NOW), STANDARD)
    assert report.measured_age(report.oldest_action) is None
    assert report.measured_age(report.master) is None
    assert timing_findings(report, 0, 0, 1e9) == []
