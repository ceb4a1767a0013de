"""Reading the process table: garbage in /proc and vanishing processes never raise."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from os4xmon.sources.proctable import parse_stat, read_process_table, select_candidates


@pytest.mark.unit
def test_parse_stat_real_line():
    line = parse_stat(b"3772 (os4xrd) S 3771 3771 3771 0 -1 4194624 ...")
    assert line is not None
    assert (line.comm, line.state, line.ppid) == ("os4xrd", "S", 3771)


@pytest.mark.unit
def test_parse_stat_name_with_parentheses_and_spaces():
    line = parse_stat(b"12 (a (b) c) Z 1 0")
    assert line is not None and line.comm == "a (b) c" and line.state == "Z"


@pytest.mark.unit
def test_parse_stat_garbage():
    for data in (b"", b"garbage", b"1 (x", b"1 (x) S", b"1 (x) S notanumber",
                 b"1 (x) SS 1", b"\xff\xfe\x00", b"1 (x) S -5", b") ( S 1"):
        assert parse_stat(data) is None, data


@pytest.mark.unit
def test_fake_proc_with_garbage(tmp_path):
    (tmp_path / "self").mkdir()
    for pid, content in (("10", b"10 (os4xrd) S 1 1"), ("11", b"garbage"), ("12", b""),
                         ("notapid", b"x")):
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "stat").write_bytes(content)
    (tmp_path / "13").mkdir()  # a process that exited: no stat file
    table = read_process_table(str(tmp_path))
    assert table.scanned == 1
    assert any("pid 11: stat is malformed" in text for text in table.unreadable)


@pytest.mark.unit
def test_name_pass_on_a_lying_proc(tmp_path):
    """The name pass where /proc changes under it or lies: a pid whose name changed before
    its stat was read, a listed child whose parent is another, a name with a newline, a
    children file with garbage: each is left out (as if it had exited), nothing raises."""
    from os4xmon.sources.proctable import _list_linux_by_name, children_listed

    (tmp_path / "self" / "task" / "1").mkdir(parents=True)
    (tmp_path / "self" / "task" / "1" / "children").write_bytes(b"")

    def process(pid, comm, stat, children=b""):
        (tmp_path / pid / "task" / pid).mkdir(parents=True)
        (tmp_path / pid / "comm").write_bytes(comm)
        (tmp_path / pid / "stat").write_bytes(stat)
        (tmp_path / pid / "task" / pid / "children").write_bytes(children)

    process("10", b"os4xsqd\n", b"10 (os4xsqd) S 1 1", b"11 12 x13 -14 99 ")
    process("11", b"curl\n", b"11 (curl) S 10 1")
    process("12", b"bash\n", b"12 (bash) S 1 1")  # listed, but its parent is another: reused
    process("20", b"os4xrd\n", b"20 (sleep) S 1 1")  # renamed between the two reads
    process("30", b"os4xrd\n\n", b"30 (os4xrd\n) S 1 1")  # a newline in the name itself
    process("40", b"os4xrd_tcpip\n", b"garbage")
    assert children_listed(str(tmp_path))
    unreadable: list[str] = []
    lines, scanned = _list_linux_by_name(str(tmp_path), unreadable, [])
    assert sorted(lines) == [10, 11, 30]
    assert lines[30].comm == "os4xrd\n"
    assert scanned == 6
    assert unreadable == ["pid 40: stat is malformed"]


@pytest.mark.unit
def test_candidates_are_os4x_names_and_their_children():
    from os4xmon.sources.proctable import StatLine

    listing = {1: StatLine("systemd", "S", 0), 10: StatLine("os4xsqd", "S", 1),
               11: StatLine("curl", "S", 10), 12: StatLine("bash", "S", 1)}
    assert select_candidates(listing) == {10, 11}


@pytest.mark.unit
def test_real_table_survives_processes_exiting_during_the_scan():
    # many short-lived children with OS4X's short name appear and vanish while we read
    script = ("import ctypes,os,time\n"
              "libc=ctypes.CDLL(None)\n"
              "end=time.time()+3\n"
              "while time.time()<end:\n"
              "    pid=os.fork()\n"
              "    if pid==0:\n"
              "        libc.prctl(15,b'os4xsqd',0,0,0); os._exit(0)\n"
              "    os.waitpid(pid,0)\n")
    churn = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(30):
            table = read_process_table()
            assert table.scanned > 0
            assert os.getpid() not in table.processes
    finally:
        churn.kill()
        churn.wait()


@pytest.mark.unit
def test_parse_children():
    from os4xmon.sources.proctable import parse_children

    assert parse_children(b"12 345 6789 ", 4096) == [12, 345, 6789]
    assert parse_children(b"", 4096) == []
    assert parse_children(b"12 x3 -4 5", 4096) == [12, 5]
    assert parse_children(b"12 345 67", 9) == [12, 345]  # cut at the limit: 67 may be 6789
    assert parse_children(b"12 345 ", 7) == [12, 345]


@pytest.mark.e2e
def test_the_two_cheap_passes_choose_the_same_processes(simulator):
    """The short names plus the kernel's children lists find what the full stat pass finds:
    OS4X's processes and their children, also a program an action started from a thread."""
    from helpers import free_port

    from os4xmon.sources.proctable import _list_linux, _list_linux_by_name, children_listed

    simulator.start("--isdn-controllers", "1", "--actions", "3", "--enterprise",
                    "--clientd-port", str(free_port()))
    parent = subprocess.Popen([sys.executable, "-c", (
        "import ctypes, subprocess, threading\n"
        "ctypes.CDLL(None).prctl(15, b'os4xsqd', 0, 0, 0)\n"
        "threading.Thread(target=subprocess.run, args=(['sleep', '60'],)).start()\n"
        "subprocess.run(['sleep', '61'])\n")])
    try:
        for _ in range(50):  # until both sleeps run
            by_name, scanned = _list_linux_by_name("/proc", [], [])
            sleeps = [pid for pid, line in by_name.items()
                      if line.comm == "sleep" and line.ppid == parent.pid]
            if len(sleeps) == 2:
                break
            time.sleep(0.1)
        assert len(sleeps) == 2, by_name  # the thread's child too
        assert children_listed("/proc")
        for _ in range(5):  # the simulator's actions may start or end between the two passes
            by_name, scanned = _list_linux_by_name("/proc", [], [])
            full = dict(_list_linux("/proc", [], []))
            if set(by_name) == select_candidates(full):
                break
        assert set(by_name) == select_candidates(full)
        assert scanned >= len(full)
    finally:
        subprocess.run(["pkill", "-x", "-P", str(parent.pid), "sleep"], check=False)
        parent.kill()
        parent.wait()


@pytest.mark.unit
def test_parse_cmdline_forms():
    from os4xmon.sources.proctable import parse_cmdline

    assert parse_cmdline(b"/opt/os4x/bin/os4xrd\0") == ("/opt/os4x/bin/os4xrd",)
    assert parse_cmdline(b"os4xrd_tcpip     \0") == ("os4xrd_tcpip     ",)
    assert parse_cmdline(b"grep\0os4xrd\0") == ("grep", "os4xrd")
    assert parse_cmdline(b"") == ()
    assert parse_cmdline(b"\xff\xfeos4x\0") == ("\udcff\udcfeos4x",)


@pytest.mark.unit
def test_parse_real_uid():
    from os4xmon.sources.proctable import parse_real_uid

    assert parse_real_uid(b"Name:\tx\nUid:\t33\t0\t0\t0\n") == 33
    assert parse_real_uid(b"Name:\tx\n") is None
    assert parse_real_uid(b"Uid:\tgarbage\n") is None
    assert parse_real_uid(b"\x00\xff") is None


@pytest.mark.e2e
def test_native_reader_agrees_with_psutil(simulator):
    import psutil

    simulation = simulator.start("--isdn-controllers", "1")
    table = read_process_table()
    for entry in simulation.processes:
        if entry["name"] == "decoy":
            continue
        ours = table.processes[entry["pid"]]
        theirs = psutil.Process(entry["pid"])
        # psutil splits a space-padded title into words; the words must agree
        assert " ".join(ours.cmdline or ()).split() == " ".join(theirs.cmdline()).split()
        assert ours.username == theirs.username()
        assert ours.ppid == theirs.ppid()
        assert abs((ours.create_time or 0) - theirs.create_time()) < 0.05
        assert abs((ours.rss or 0) - theirs.memory_info().rss) < 0.1 * theirs.memory_info().rss


@pytest.mark.e2e
def test_the_psutil_table_agrees_with_the_native_one(simulator):
    """Where there is no Linux /proc (AIX, Solaris), psutil reads the table: the same
    processes, with the same facts, as the native reader finds on Linux."""
    simulation = simulator.start("--isdn-controllers", "1", "--actions", "2", "--zombie")
    native = read_process_table()
    portable = read_process_table("/nonexistent")  # no <proc>/self: the psutil path
    ours = {entry["pid"] for entry in simulation.processes if entry["name"] != "decoy"}
    assert ours <= set(native.processes)
    assert set(native.processes) == set(portable.processes)
    for pid in ours:
        mine, theirs = native.processes[pid], portable.processes[pid]
        assert (mine.ppid, mine.comm, mine.zombie, mine.state, mine.exe, mine.username) == \
            (theirs.ppid, theirs.comm, theirs.zombie, theirs.state, theirs.exe,
             theirs.username), pid
        assert " ".join(mine.cmdline or ()).split() == " ".join(theirs.cmdline or ()).split()
    assert any(info.zombie for info in portable.processes.values())


@pytest.mark.unit
def test_hidepid_is_recognised():
    from os4xmon.sources.proctable import hidden_by_mount

    plain = b"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    invisible = b"129 111 0:42 / /proc rw,nosuid - proc proc rw,hidepid=invisible\n"
    numeric = b"129 111 0:42 / /proc rw - proc proc rw,hidepid=2,gid=115\n"
    noaccess = b"129 111 0:42 / /proc rw - proc proc rw,hidepid=noaccess\n"
    assert hidden_by_mount(plain, [1000]) is None
    assert "hidepid=invisible" in (hidden_by_mount(invisible, [1000]) or "")
    assert hidden_by_mount(numeric, [115]) is None  # the gid= group may see everything
    assert "hidepid=2" in (hidden_by_mount(numeric, [1000]) or "")
    assert "hidepid=noaccess" in (hidden_by_mount(noaccess, [1000]) or "")  # stat denied too
    for value in (b"1", b"4", b"ptraceable"):
        assert hidden_by_mount(noaccess.replace(b"noaccess", value), [1000]) is not None
    subset = b"129 111 0:42 / /proc rw - proc proc rw,subset=pid\n"
    assert hidden_by_mount(subset, [1000]) is None  # hides /proc/net, not processes
    assert hidden_by_mount(b"garbage\n\xff - x\n", [0]) is None


@pytest.mark.unit
def test_hidepid_the_last_mount_on_proc_counts():
    from os4xmon.sources.proctable import hidden_by_mount

    stacked = (b"45 43 0:21 / /proc rw,relatime - proc proc rw\n"
               b"63 45 0:39 / /proc rw,nosuid - proc proc rw,hidepid=invisible\n")
    assert hidden_by_mount(stacked, [1000]) is not None
    assert hidden_by_mount(b"\n".join(reversed(stacked.splitlines())), [1000]) is None


def test_state_and_executable_are_read(simulator):
    import json
    import signal
    import time

    simulation = simulator.start("--no-decoys")
    with open(simulation.state_file, encoding="utf-8") as stream:
        state = json.load(stream)
    pid = simulation.pid("os4xsqd")
    os.kill(pid, signal.SIGSTOP)
    try:
        for _ in range(100):  # the signal takes effect a moment after kill() returns
            table = read_process_table()
            if table.processes[pid].state == "T":
                break
            time.sleep(0.02)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert table.processes[pid].state == "T"
    assert table.processes[pid].exe == os.path.join(state["bin_dir"], "os4xsqd")
    receiver = table.processes[simulation.pid("os4xrd_tcpip")]
    assert receiver.state == "S"
    assert receiver.exe == os.path.join(state["bin_dir"], "os4xrd")  # its master's binary
