"""The process check's decisions, on process tables in ps's format (tests/fixtures/ps)."""

from __future__ import annotations

from pathlib import Path

import pytest
from nagiosplugin.state import Critical, Warn

from os4xmon.checks.processes import Timing, long_output, timing_findings
from os4xmon.core.thresholds import Threshold
from os4xmon.facts.process_report import Expectation, assess
from os4xmon.sources.proctable import ProcessInfo, ProcessTable, table_from

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent / "fixtures" / "ps"
NOW = 1_800_000_000.0
STANDARD = Expectation(("os4xrd", "os4xrd_tcpip", "os4xrd_tcpip_tls", "os4xsqd"))


def timing(action_warning: float | None, action_critical: float | None,
           min_uptime: float | None = None) -> Timing:
    return Timing(Threshold.above(action_warning, action_critical), Threshold.below(min_uptime))


def load_ps(name: str, as_root: bool = True) -> ProcessTable:
    """Reads `ps -e -o user,pid,ppid,stat,etimes,comm,args` output into a process table.

    As root the plugin reads every executable: OS4X's short names run /opt/os4x/bin/<comm>
    (a receiver's is its master's binary), the others /usr/bin/<comm>. As another user none
    can be read."""
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
            zombie=zombie, state=stat[0],
            exe=None if zombie or not as_root else
            f"/opt/os4x/bin/{comm}" if comm.startswith("os4x") else f"/usr/bin/{comm}"))
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


def test_a_wrong_user_is_one_warning_per_instance_not_per_action():
    """OS4X's binary run by another user is not OS4X's daemon (it may carry LD_PRELOAD): the
    daemon is missing, the instance named once, an action that changed user on its own."""
    binary = "/opt/os4x/bin/os4xsqd"
    processes = [ProcessInfo(30, 1, "os4xsqd", (binary,), "nobody", NOW - 9, exe=binary),
                 ProcessInfo(31, 30, "os4xsqd", (binary,), "nobody", NOW - 5, exe=binary),
                 ProcessInfo(32, 30, "os4xsqd", (binary,), "nobody", NOW - 4, exe=binary),
                 ProcessInfo(33, 30, "os4xsqd", (binary,), "root", NOW - 3, exe=binary)]
    report = assess(table_from(processes, NOW), Expectation(("os4xsqd",), "www-data"))
    assert messages(report)[0] == (Critical, "os4xsqd not running")
    assert [message for state, message in messages(report) if state == Warn] == [
        "os4xsqd pid 30 runs as nobody, not www-data: not counted as os4xsqd",
        "os4xsqd pid 33 runs as root, not www-data"]  # an action that changed user: its own


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
        ProcessInfo(10, 1, "os4xrd", ("/opt/os4x/bin/os4xrd",), "www-data", NOW - 5, 1,
                    exe="/opt/os4x/bin/os4xrd"),
        ProcessInfo(11, 10, "os4xrd", ("os4xrd_tcpip",), "evil|user\nx", NOW - 5, 1,
                    exe="/opt/os4x/bin/os4xrd"),
    ], NOW)
    report = assess(table, Expectation(("os4xrd", "os4xrd_tcpip"), "www-data"))
    assert report.findings[0].message == "os4xrd_tcpip not running"
    for finding in report.findings:  # and the receiver of another user, named escaped
        assert "|" not in finding.message and "\n" not in finding.message


def test_ages_against_thresholds_name_the_process():
    report = assess(load_ps("healthy.txt"), STANDARD)
    assert timing_findings(report, timing(3600, 7200, 60)) == []
    assert [(f.state, f.message) for f in timing_findings(report, timing(30, 60, 7201))] == [
        (Warn, "os4xsqd action pid 3790 (os4xsqd) running for 40s: hung?"),
        (Warn, "os4xrd master pid 3771 started 2h 0m ago: restarting?")]
    assert timing_findings(report, timing(None, 10))[0].state == Critical


def test_nothing_running_has_no_age_and_no_timing_verdict():
    """No action and no master: the ages are not measured (perfdata U), not 0 s."""
    report = assess(table_from([], NOW), STANDARD)
    assert report.measured_age(report.oldest_action) is None
    assert report.measured_age(report.master) is None
    assert timing_findings(report, timing(0, 0, 1e9)) == []
# -- whose processes: identity, states, binaries, installations, advice --

def with_processes(table: ProcessTable, *extra: ProcessInfo, drop: tuple[int, ...] = ()
                   ) -> ProcessTable:
    processes = {pid: p for pid, p in table.processes.items() if pid not in drop}
    processes.update({p.pid: p for p in extra})
    return table_from(list(processes.values()), NOW)


def finding_for(report, phrase: str):
    return next(f for f in report.findings if phrase in f.message)


def test_an_impostor_by_its_binary_never_stands_in_for_the_daemon():
    sleep = ProcessInfo(5000, 1, "os4xsqd", ("/tmp/x/os4xsqd", "1000"), "www-data", NOW - 9, 1,
                        exe="/tmp/x/os4xsqd")
    report = assess(with_processes(load_ps("healthy.txt"), sleep, drop=(3780, 3790, 3791)),
                    STANDARD)
    assert (Critical, "os4xsqd not running") in messages(report)
    impostor = finding_for(report, "pid 5000")
    assert impostor.state == Warn
    assert impostor.message == ("os4xsqd pid 5000 is not OS4X's: its binary /tmp/x/os4xsqd is "
                                "not in /opt/os4x/bin; not counted as os4xsqd")
    assert "ls -l /proc/5000/exe" in impostor.advice and "--bin-dir" in impostor.advice
    assert report.running_count == 3


def test_an_impostor_by_its_user_where_the_binary_cannot_be_read():
    table = load_ps("healthy.txt", as_root=False)
    other = ProcessInfo(5000, 1, "os4xsqd", ("os4xsqd",), "games", NOW - 9, 1)
    report = assess(with_processes(table, other), STANDARD)  # no --user: the master's user
    assert finding_for(report, "pid 5000").message == (
        "os4xsqd pid 5000 is not OS4X's: it runs as games, not as the OS4X user www-data, and "
        "its binary cannot be read; not counted as os4xsqd")
    assert [p.pid for p in report.of("os4xsqd")] == [3780]
    assert any("binaries of os4xrd pid 3771" in line for line in long_output(report))


def test_the_bin_dir_given_or_its_real_path_both_count():
    table = load_ps("healthy.txt")
    linked = Expectation(STANDARD.daemons, bin_dirs=("/srv/os4x/bin", "/opt/os4x/bin"))
    assert messages(assess(table, linked)) == []
    elsewhere = Expectation(STANDARD.daemons, bin_dirs=("/srv/os4x/bin",))
    assert (Critical, "os4xrd not running") in messages(assess(table, elsewhere))


def test_stopped_and_traced_daemons_do_not_run():
    table = load_ps("healthy.txt")
    stopped = dict(table.processes)
    stopped[3780] = ProcessInfo(**{**vars_of(stopped[3780]), "state": "T"})
    stopped[3772] = ProcessInfo(**{**vars_of(stopped[3772]), "state": "t"})
    report = assess(table_from(list(stopped.values()), NOW), STANDARD)
    found = messages(report)
    assert (Critical, "os4xsqd not running: pid 3780 is stopped (state T: stopped by a signal "
            "(SIGSTOP) or job control)") in found
    assert (Critical, "os4xrd_tcpip not running: pid 3772 is stopped (state t: stopped by a "
            "debugger (tracing stop))") in found
    assert report.running_count == 2
    assert "kill -CONT 3780" in finding_for(report, "pid 3780").advice


def test_a_stopped_second_instance_is_critical_beside_the_running_one():
    table = load_ps("healthy.txt")
    extra = ProcessInfo(3999, 1, "os4xsqd", ("/opt/os4x/bin/os4xsqd",), "www-data", NOW - 5, 1,
                        state="T", exe="/opt/os4x/bin/os4xsqd")
    report = assess(with_processes(table, extra), STANDARD)
    assert messages(report) == [(Critical, "os4xsqd pid 3999 is stopped (state T: stopped by a "
                                 "signal (SIGSTOP) or job control) while pid 3780 runs: a second "
                                 "instance that races once resumed")]


def test_uninterruptible_sleep_is_noted_not_alarmed():
    table = load_ps("healthy.txt")
    processes = dict(table.processes)
    processes[3780] = ProcessInfo(**{**vars_of(processes[3780]), "state": "D"})
    report = assess(table_from(list(processes.values()), NOW), STANDARD)
    assert messages(report) == []
    assert any(line.startswith("os4xsqd pid 3780 was in uninterruptible sleep (state D)")
               for line in long_output(report))


def vars_of(process: ProcessInfo) -> dict:
    from os4xmon.core.record import fields

    return {item.name: getattr(process, item.name) for item in fields(process)}


def replaced(table: ProcessTable, *pids: int) -> ProcessTable:
    processes = dict(table.processes)
    for pid in pids:
        old = processes[pid]
        processes[pid] = ProcessInfo(**{**vars_of(old), "exe": f"{old.exe} (deleted)"})
    return table_from(list(processes.values()), NOW)


def test_a_replaced_binary_names_daemon_pid_path_and_date():
    table = replaced(load_ps("healthy.txt"), 3780, 3790)  # os4xsqd and its forked action
    since = {"/opt/os4x/bin/os4xsqd": NOW - 3600}
    report = assess(table, STANDARD, since)
    (finding,) = report.findings
    assert finding.state == Warn
    assert finding.message.startswith("os4xsqd pid 3780 runs an old binary: /opt/os4x/bin/"
                                      "os4xsqd was replaced on disk on ")
    assert finding.message.endswith(" (the new file's date)")
    assert finding.advice.startswith("restart os4xsqd so that it runs the installed "
                                     "/opt/os4x/bin/os4xsqd: stop pid 3780, then "
                                     "/opt/os4x/bin/os4xsqd")
    assert [p.pid for p in report.replaced] == [3780]  # the action is no second report
    removed = assess(table, STANDARD, {"/opt/os4x/bin/os4xsqd": None})
    assert "os4xsqd was removed from disk" in removed.findings[0].message
    unreadable = assess(table, STANDARD, {})
    assert "(the new file could not be read)" in unreadable.findings[0].message


def test_a_replaced_master_is_one_finding_not_one_per_receiver():
    table = replaced(load_ps("healthy.txt"), 3771, 3772, 3773, 3774)
    report = assess(table, STANDARD, {"/opt/os4x/bin/os4xrd": NOW - 60})
    assert [f.message.split(":")[0] for f in report.findings] == [
        "os4xrd pid 3771 runs an old binary"]
    assert "(its receivers restart with it)" in report.findings[0].advice


def test_replaced_binary_state_critical_and_ok():
    table = replaced(load_ps("healthy.txt"), 3780)
    louder = Expectation(STANDARD.daemons, replaced_state="critical")
    assert assess(table, louder, {}).findings[0].state == Critical
    silent = assess(table, Expectation(STANDARD.daemons, replaced_state="ok"), {})
    assert silent.findings == [] and len(silent.replaced) == 1
    assert any("(--replaced-binary-state ok)" in line for line in long_output(silent))


def test_installations_by_their_configuration_file():
    table = load_ps("two_installations.txt")
    default = assess(table, STANDARD)
    assert messages(default) == []
    assert {name: [p.pid for p in found] for name, found in default.instances.items()} == {
        "os4xrd": [3771], "os4xrd_tcpip": [3772], "os4xrd_tcpip_tls": [3773],
        "os4xsqd": [3780]}
    assert ("another installation (-C /etc/os4x-b.conf), not checked here: os4xrd pid 4771, "
            "os4xrd_tcpip pid 4772, os4xrd_tcpip_tls pid 4773, os4xsqd pid 4780, "
            "os4xfqd pid 4800") in long_output(default)
    other = Expectation((*STANDARD.daemons, "os4xfqd"), config="/etc/os4x-b.conf")
    second = assess(table, other)
    assert messages(second) == []
    assert [p.pid for p in second.of("os4xrd_tcpip")] == [4772]  # inherited from its master
    assert [p.pid for p in second.actions] == [4790]


def test_a_missing_daemon_of_another_installation_is_started_with_its_file():
    table = with_processes(load_ps("two_installations.txt"), drop=(4780, 4790))
    report = assess(table, Expectation(STANDARD.daemons, config="/etc/os4x-b.conf"))
    missing = finding_for(report, "os4xsqd not running")
    assert missing.advice.startswith("start it as OS4X does: /opt/os4x/bin/os4xsqd -C "
                                     "/etc/os4x-b.conf;")


def test_the_fetch_queue_daemon_runs_once_when_required():
    table = load_ps("healthy.txt")
    required = Expectation((*STANDARD.daemons, "os4xfqd"))
    assert (Critical, "os4xfqd not running") in messages(assess(table, required))
    fqd = ProcessInfo(3800, 1, "os4xfqd", ("/opt/os4x/bin/os4xfqd",), "www-data", NOW - 9, 1,
                      exe="/opt/os4x/bin/os4xfqd")
    listed = assess(with_processes(table, fqd), STANDARD)
    assert messages(listed) == []
    assert any(line.startswith("os4xfqd: pid 3800") and "not required" in line
               for line in long_output(listed))


def test_a_second_instance_names_the_younger_one_to_stop():
    report = assess(load_ps("duplicate_master.txt"), STANDARD)
    advice = report.findings[0].advice
    assert advice.startswith("stop the younger instance (pid 6001, started ")
    assert "): kill 6001; keep pid 3771 (started " in advice
    assert "keep pid 3771" in advice and "(--checks database)" in advice


def test_every_process_finding_has_advice():
    for name in ("orphan_zombie.txt", "duplicate_master.txt", "hostile.txt"):
        report = assess(load_ps(name), Expectation(STANDARD.daemons, "www-data"))
        assert report.findings
        assert all(finding.advice for finding in report.findings), name


def test_the_user_option_is_escaped_in_messages():
    report = assess(load_ps("healthy.txt"), Expectation(STANDARD.daemons, "evil|x\nroot"))
    assert report.findings
    for finding in report.findings:
        assert "|" not in finding.message and "\n" not in finding.message


def test_plural_pids_read_as_english():
    from os4xmon.core.text import pid_list, pids_with_verb

    assert pid_list([4, 3]) == "pids 3, 4"
    assert pids_with_verb([4, 3], "runs", "run") == "pids 3, 4 run"
    assert pids_with_verb([3], "runs", "run") == "pid 3 runs"
    report = assess(load_ps("duplicate_master.txt"), STANDARD)
    assert "runs 2 times (pids 3771, 6001)" in report.findings[0].message


def test_ports_judge_holders_by_the_same_classification():
    from os4xmon.checks.ports import PortSpec, assess_listening, owners_from_table
    from os4xmon.facts.identity import Installation, classify
    from os4xmon.sources.listening import Listener

    table = load_ps("two_installations.txt")
    identities = classify(table, Installation())
    owners = owners_from_table([4772], table, identities)
    listeners = [Listener(3305, "0.0.0.0", (4772,))]
    report = assess_listening([PortSpec("oftp", 3305, "os4xrd_tcpip")], listeners, owners)
    assert [f.message for f in report.findings] == [
        "port 3305 held by os4xrd_tcpip (of another OS4X installation (-C /etc/os4x-b.conf)) "
        "pid 4772, not os4xrd_tcpip"]


def test_an_impostor_master_is_nobodys_reference_user():
    fake = ProcessInfo(100, 1, "os4xrd", ("/tmp/os4xrd",), "games", NOW - 99999, 1,
                       exe="/tmp/os4xrd")
    table = with_processes(load_ps("healthy.txt"), fake)
    report = assess(table, STANDARD)
    assert [p.pid for p in report.of("os4xrd")] == [3771]
    assert [p.pid for p in report.impostors] == [100]
    assert report.master is not None and report.master.pid == 3771


def test_naming_the_default_file_with_c_is_the_default_installation():
    master = ProcessInfo(3771, 1, "os4xrd", ("/opt/os4x/bin/os4xrd", "-C", "/etc//os4x.conf"),
                         "www-data", NOW - 9, 1, exe="/opt/os4x/bin/os4xrd")
    table = with_processes(load_ps("healthy.txt"), master)
    assert messages(assess(table, STANDARD)) == []


# --- whose binary: the very file (device and inode), the same mount namespace, the user ---

BIN = "/opt/os4x/bin"
FILES = (("os4xrd", (8, 100), NOW - 86400), ("os4xsqd", (8, 200), NOW - 600),
         ("os4xsqd.old", (8, 199), NOW - 86400))
MOUNT = "mnt:[4026531841]"


USERS = "user:[4026531837]"


def identity_table(*processes: ProcessInfo) -> ProcessTable:
    return table_from([ProcessInfo(10, 1, "os4xrd", (f"{BIN}/os4xrd",), "root", NOW - 50,
                                   exe=f"{BIN}/os4xrd", exe_id=(8, 100), mnt_ns=MOUNT,
                                   user_ns=USERS),
                       *processes], NOW, own_mnt_ns=MOUNT, own_user_ns=USERS)


def sqd(**changes) -> ProcessInfo:
    values = dict(pid=20, ppid=1, comm="os4xsqd", cmdline=(f"{BIN}/os4xsqd",), username="root",
                  create_time=NOW - 40, exe=f"{BIN}/os4xsqd", exe_id=(8, 200), mnt_ns=MOUNT,
                  user_ns=USERS)
    values.update(changes)
    return ProcessInfo(**values)  # type: ignore[arg-type]


WHOSE = Expectation(("os4xrd", "os4xsqd"), files=FILES)


def test_the_very_file_in_the_same_namespace_as_the_masters_user_is_os4x():
    assert messages(assess(identity_table(sqd()), WHOSE)) == []


@pytest.mark.parametrize(("changes", "reason"), [
    ({"exe_id": (9, 200)}, f"its binary {BIN}/os4xsqd is not the file of that name in {BIN} "
                           "(another device and inode)"),
    ({"mnt_ns": "mnt:[4026532999]", "user_ns": "user:[4026532998]"},
     f"it runs in a user and mount namespace of its own (mnt:[4026532999], the plugin's is "
     f"{MOUNT}), where {BIN} may be any other directory"),
    ({"mnt_ns": "mnt:[4026532999]", "exe_id": (9, 200)},  # unshare -m by root: the inode says
     f"its binary {BIN}/os4xsqd is not the file of that name in {BIN} (another device and "
     "inode)"),
])
def test_a_path_in_the_binary_directory_is_not_proof(changes, reason):
    """unshare -Urm and a tmpfs over the binary directory: the path looks right."""
    report = assess(identity_table(sqd(**changes)), WHOSE)
    assert messages(report)[:2] == [
        (Critical, "os4xsqd not running"),
        (Warn, f"os4xsqd pid 20 is not OS4X's: {reason}; not counted as os4xsqd")]


def test_the_very_file_in_another_mount_namespace_of_the_same_users_is_os4x():
    """systemd's PrivateTmp (NRPE on Debian) puts the plugin, or OS4X, into a mount namespace
    of its own: the device and inode still prove the binary."""
    assert messages(assess(identity_table(sqd(mnt_ns="mnt:[4026532999]")), WHOSE)) == []


def test_without_user_the_masters_user_is_the_os4x_user_for_every_daemon():
    report = assess(identity_table(sqd(username="nobody")), WHOSE)
    assert messages(report) == [
        (Critical, "os4xsqd not running"),
        (Warn, "os4xsqd pid 20 runs as nobody, not root: not counted as os4xsqd")]


def test_a_binary_reached_by_a_symlink_is_named_by_the_admins_path():
    """/opt/os4x/bin/os4xsqd -> ../v2.5/os4xsqd: the kernel shows the versioned path."""
    report = assess(identity_table(sqd(exe="/opt/os4x/v2.5/os4xsqd")), WHOSE)
    assert messages(report) == []
    assert report.identities[20].binary == f"{BIN}/os4xsqd"


def test_an_update_by_rename_is_a_replaced_binary():
    """mv os4xsqd os4xsqd.old; cp new os4xsqd: the daemon runs os4xsqd.old, no (deleted)."""
    report = assess(identity_table(sqd(exe=f"{BIN}/os4xsqd.old", exe_id=(8, 199))), WHOSE)
    (finding,) = report.findings
    assert finding.state == Warn
    assert finding.message.startswith(f"os4xsqd pid 20 runs an old binary: {BIN}/os4xsqd.old, "
                                      f"no longer the file {BIN}/os4xsqd (renamed; the new file "
                                      "is dated ")
    assert f"runs the installed {BIN}/os4xsqd" in finding.advice


@pytest.mark.parametrize(("name", "note"), [
    ("os4xdebugd", "; it is costly: stop it when support no longer needs it)"),
    ("os4xfqd", "; give --fetch-queue if this site licenses it)"),
])
def test_a_daemon_running_but_not_required_says_what_to_do_about_it(name, note):
    extra = ProcessInfo(3799, 1, name, (f"/opt/os4x/bin/{name}",), "www-data", NOW - 60, 4096,
                        exe=f"/opt/os4x/bin/{name}")
    lines = long_output(assess(with_processes(load_ps("healthy.txt"), extra), STANDARD))
    (line,) = [line for line in lines if line.startswith(f"{name}: pid 3799")]
    assert line.endswith(f"(running, not required{note}")
    required = Expectation((*STANDARD.daemons, name))
    lines = long_output(assess(with_processes(load_ps("healthy.txt"), extra), required))
    (line,) = [line for line in lines if line.startswith(f"{name}: pid 3799")]
    assert "not required" not in line and "costly" not in line and "licenses" not in line
