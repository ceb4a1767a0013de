"""Issue 11, the plugin's own core under attack: misconfiguration, files, time, signals,
streams, children and the length of the first line. Each test failed on 0.1.0."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import fakedb
import nagiosplugin
import pytest
from helpers import FIXTURES, assert_status, free_port, plugin_command, run_plugin
from nagiosplugin.state import Critical

from os4xmon.checks.base import Aspect
from os4xmon.core import execution
from os4xmon.core.findings import Finding, FindingContext, finding_metrics
from os4xmon.core.statusline import Os4xSummary

MAX_SUMMARY = 300  # os4xmon.core.statusline.MAX_SUMMARY

MARGIN = 1.5  # seconds the plugin may need beyond -t to start and print


# -- misconfiguration: UNKNOWN at once, before anything is read --


@pytest.mark.parametrize(("args", "phrase"), [
    (["--checks", "isdn"], "--checks isdn needs --isdn-controllers"),
    (["--port", "4000", "--tls-port", "4000"], "--port and --tls-port are both port 4000"),
    (["--port", "6619"], "the default of --tls-port"),
    (["--enterprise", "--clientd-port", "3305"], "--clientd-port are both port 3305"),
    (["--require-debugd", "--debugd-port", "4000", "--tls-port", "4000"], "both port 4000"),
    (["--user", "no-such-user-os4x"], "--user 'no-such-user-os4x': no such user"),
    (["--isdn-controllers", "33"], "more than CAPI can have (32 controllers)"),
    (["-t", "1e20"], "more than a day"),
    (["--port", "\uff13\uff13\uff10\uff15"], "not a whole number"),
    (["--port", "3_305"], "not a whole number"),
    (["-t", "\uff13"], "not a number of seconds"),
    (["-t", "1_0"], "not a number of seconds"),
    (["--min-uptime", "1_000"], "not a duration"),
    (["--isdn-controllers", "\u0661"], "not a whole number"),  # Arabic-Indic one
])
def test_misconfiguration_is_one_unknown_line(args, phrase):
    run = run_plugin(*args, *([] if "--checks" in args else ["--checks", "processes"]))
    assert_status(run, 3, phrase)
    assert len(run.lines) == 1


@pytest.mark.parametrize("host", ["a..b", "x" * 64 + ".example", ".example"])
def test_a_host_name_that_cannot_be_a_name_is_one_line_at_once(host):
    """An empty label or one over 63 characters fails in IDNA before any DNS is asked: one
    line naming it, not a thread's traceback and a wait for the name service."""
    run = run_plugin("--checks", "ports", "-H", host, "-t", "5")
    assert_status(run, 3, f"--host {host}: not a valid host name")
    assert run.stderr == "" and len(run.lines) == 1


def test_misconfiguration_of_the_isdn_check_is_not_a_capi_verdict():
    run = run_plugin("--checks", "isdn")  # 0 controllers: nothing to check is not OK
    assert_status(run, 3, "--isdn-controllers")


def test_ports_from_the_database_are_not_judged_before_it_is_read():
    # --port 6619 may be right when the database says the TLS port is another one
    run = run_plugin("--checks", "processes", "--port", "6619", "--db-type", "mysql",
                     "-t", "2")
    assert "both port" not in run.stdout


@pytest.mark.parametrize("typed", [
    ["--db-passwor=SECRET-VALUE"], ["--db-pasword=SECRET-VALUE"],
    ["--db-pasword", "SECRET-VALUE"], ["--db-p=SECRET-VALUE"], ["--db-password=SECRET-VALUE"],
    ["SECRET-VALUE"],
])
def test_option_typos_never_echo_the_value(typed):
    run = run_plugin("--checks", "processes", *typed)
    assert_status(run, 3)
    assert "SECRET-VALUE" not in run.stdout + run.stderr
    if typed[0].startswith("--db-pas"):
        assert typed[0].split("=")[0] in run.stdout


# -- files: read with limits, before the deadline; BOM, indentation, empty password files --


def test_a_utf8_bom_in_the_config_file_is_accepted(tmp_path):
    config = tmp_path / "os4x.ini"
    config.write_bytes(b"\xef\xbb\xbf[check_os4x]\nmin-uptime = 60\n")
    run = run_plugin("--config", str(config), "--checks", "processes", "-vv")
    assert "min-uptime = 60.0 [config]" in run.stdout, run.stdout


def test_an_indented_line_never_joins_the_password(tmp_path):
    config = tmp_path / "os4x.ini"
    config.write_text("[check_os4x]\ndb-password = first\n  db-user = second-half\n")
    config.chmod(0o600)
    run = run_plugin("--config", str(config), "--checks", "processes")
    assert_status(run, 3, "a line after db-password is indented")
    assert "first" not in run.stdout and "second-half" not in run.stdout


def test_an_empty_password_file_does_not_silently_override_the_environment(tmp_path):
    empty = tmp_path / "password"
    empty.write_text("")
    empty.chmod(0o600)
    run = run_plugin("--checks", "processes", "--db-password-file", str(empty), "-vv",
                     env={"OS4X_DB_PASSWORD": "from-the-environment"})
    assert "db-password = (set) [environment]" in run.stdout, run.stdout
    assert f"--db-password-file {empty} is empty: using OS4X_DB_PASSWORD" in run.stdout
    assert "from-the-environment" not in run.stdout


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "large", "directory"])
@pytest.mark.parametrize("option", ["--config", "--db-password-file"])
def test_hostile_files_are_unknown_at_once(tmp_path, kind, option):
    path = tmp_path / "file"
    if kind == "dev-zero":
        path = Path("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)  # nobody ever writes: a blocking open would wait forever
    elif kind == "large":
        path.write_text("[check_os4x]\n" + "# comment\n" * 10000)
    else:
        path.mkdir()
    run = run_plugin(option, str(path), "--checks", "processes", "-t", "2", timeout=15)
    assert_status(run, 3, f"cannot read {option} {path}: ")
    assert len(run.lines) == 1


# -- time: one budget; what was found survives a timeout --


class _Gone(Aspect):
    name = "gone"

    def measure(self):
        yield from finding_metrics(self.name, [Finding(Critical, "os4xrd not running")])


class _Hanging(Aspect):
    name = "hanging"

    def measure(self):
        with execution.phase("waiting for the hanging thing"):
            time.sleep(30)
        yield from ()


def test_a_critical_found_before_the_timeout_stays(capsys):
    check = nagiosplugin.Check(_Gone(), _Hanging(), FindingContext(), Os4xSummary())
    with pytest.raises(SystemExit) as ended:
        execution.execute(check, 1.0, 0)
    first = capsys.readouterr().out.splitlines()[0]
    assert ended.value.code == 2
    assert first.startswith("OS4X CRITICAL - os4xrd not running, hanging: no result within "
                            "the 1s timeout (-t) while waiting for the hanging thing"), first


def test_aspects_after_a_timeout_are_not_started(capsys):
    check = nagiosplugin.Check(_Hanging(), _Gone(), FindingContext(), Os4xSummary())
    with pytest.raises(SystemExit) as ended:
        execution.execute(check, 1.0, 0)
    first = capsys.readouterr().out.splitlines()[0]
    assert ended.value.code == 3
    assert "gone not checked: no time left within -t" in first


@pytest.mark.unit
def test_share_divides_what_is_left(monkeypatch):
    monkeypatch.setattr(execution, "_deadline", [time.monotonic() + 10.0])
    assert execution.share(1) == pytest.approx(9.8, abs=0.05)
    assert execution.share(4) == pytest.approx(2.45, abs=0.05)
    monkeypatch.setattr(execution, "_deadline", [])
    assert execution.share(3) == float("inf")  # outside a run: the caller's own limit applies


@contextlib.contextmanager
def trickling_server():
    """Accepts, announces a 255-byte MySQL packet and sends it one byte every 0.3 s: a
    per-read timeout never fires."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        connections = []
        while not stop.is_set():
            with contextlib.suppress(OSError):
                connection = listener.accept()[0]
                connection.send(b"\xff\x00\x00\x00")  # packet header: 255 bytes follow
                connections.append(connection)
            for connection in connections:
                with contextlib.suppress(OSError):
                    connection.send(b"\x0a")
            stop.wait(0.3)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_trickling_database_does_not_hide_the_missing_daemons():
    with trickling_server() as port:
        run = run_plugin("--checks", "processes,database", "--db-type", "mysql",
                         "--db-host", "127.0.0.1", "--db-port", str(port),
                         "--pid-query", "SELECT 1, 2", "-t", "3", "-v", timeout=30)
    assert run.seconds < 3 + MARGIN, run.seconds
    assert_status(run, 2, "os4xrd not running")
    assert any(line.startswith("UNKNOWN: ") and "database" in line for line in run.lines), \
        run.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network and mount namespaces")
def test_a_silent_name_server_is_bounded_by_the_timeout(tmp_path):
    """getaddrinfo waits in C, where the alarm cannot reach it: it runs in a thread that is
    waited for no longer than its share of -t."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:5 attempts:3\n")
    plugin = " ".join(plugin_command())
    sink = ("import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            "s.bind(('127.0.0.1', 53)); time.sleep(60)")
    script = (f"ip link set lo up && (python3 -c \"{sink}\" & echo $! > {tmp_path}/sink) && "
              f"sleep 0.3 && mount --bind {resolv} /etc/resolv.conf && "
              f"{plugin} -H oftp.os4x-test.example -t 3 --no-tls; echo exit=$?; "
              f"kill $(cat {tmp_path}/sink)")
    started = time.monotonic()
    done = subprocess.run(["unshare", "--net", "--mount", "sh", "-c", script],
                          capture_output=True, text=True, timeout=60, check=False, cwd="/")
    seconds = time.monotonic() - started
    assert "exit=3" in done.stdout, done.stdout + done.stderr
    assert done.stdout.startswith("OS4X UNKNOWN - --host oftp.os4x-test.example: no answer "
                                  "from the name service within"), done.stdout
    assert seconds < 3 + 0.3 + MARGIN + 1, seconds


# -- signals, streams, children --


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stream:
            return stream.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_ends_with_one_line_and_kills_capiinfo(tmp_path, signal_number):
    hang = tmp_path / "capiinfo"
    hang.write_text(f"#!/bin/sh\necho $$ > {tmp_path}/pid\nsleep 60 &\n"
                    f"echo $! > {tmp_path}/child\nwait\n")
    hang.chmod(0o755)
    process = subprocess.Popen(
        [*plugin_command(), "--checks", "isdn", "--isdn-controllers", "1", "--capi-source",
         "capiinfo", "--capiinfo", str(hang), "-t", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not (tmp_path / "child").exists() or not (tmp_path / "child").read_text().strip():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    time.sleep(0.1)
    process.send_signal(signal_number)
    out, err = process.communicate(timeout=20)
    name = signal.Signals(signal_number).name
    assert process.returncode == 3, (out, err)
    assert out.startswith(f"OS4X UNKNOWN - stopped by {name} while waiting for {hang}"), out
    assert len(out.splitlines()) == 1 and err == ""
    for which in ("pid", "child"):
        pid = int((tmp_path / which).read_text())
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), f"{which} {pid} survived the plugin"


def _run_with_stdout(stdout, close: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([*plugin_command(), "--checks", "processes"], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=30, check=False,
                          preexec_fn=(lambda: os.close(1)) if close else None)


@pytest.mark.unit
def test_a_closed_stdout_ends_with_3_and_no_traceback():
    done = _run_with_stdout(None, close=True)
    assert (done.returncode, done.stderr) == (3, "")


@pytest.mark.unit
def test_a_full_stdout_ends_with_3_and_no_traceback():
    with open("/dev/full", "w") as full:
        done = _run_with_stdout(full)
    assert (done.returncode, done.stderr) == (3, "")


@pytest.mark.unit
def test_a_broken_pipe_ends_with_3_and_no_traceback():
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = _run_with_stdout(writer)
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (3, "")


def test_capiinfo_gets_no_secret_from_the_environment(tmp_path):
    dump = tmp_path / "environment"
    capiinfo = tmp_path / "capiinfo"
    capiinfo.write_text(f"#!/bin/sh\nenv > {dump}\n"
                        f"cat {FIXTURES / 'capi' / 'capiinfo_one_misdn.txt'}\n")
    capiinfo.chmod(0o755)
    run_plugin("--checks", "isdn", "--isdn-controllers", "1", "--capi-source", "capiinfo",
               "--capiinfo", str(capiinfo),
               env={"OS4X_DB_PASSWORD": "pw-from-env", "VAULT_PASSWORD": "vault",
                    "API_TOKEN": "token", "HARMLESS": "kept"})
    seen = dump.read_text()
    for secret in ("pw-from-env", "vault", "token", "OS4X_DB_PASSWORD"):
        assert secret not in seen
    assert "HARMLESS=kept" in seen and "LC_ALL=C" in seen


def test_capiinfo_that_answered_but_left_a_child_is_judged_on_its_answer(tmp_path):
    capiinfo = tmp_path / "capiinfo"
    capiinfo.write_text(f"#!/bin/sh\ncat {FIXTURES / 'capi' / 'capiinfo_one_misdn.txt'}\n"
                        f"sleep 60 &\necho $! > {tmp_path}/child\n")
    capiinfo.chmod(0o755)
    run = run_plugin("--checks", "isdn", "--isdn-controllers", "1", "--capi-source",
                     "capiinfo", "--capiinfo", str(capiinfo), "-t", "20", "-v")
    assert "no answer" not in run.stdout and "killed" not in run.summary, run.stdout
    assert "CAPI controller" in run.summary, run.stdout
    assert not _alive(int((tmp_path / "child").read_text()))


# -- the first line stays readable --


@pytest.mark.unit
def test_fit_counts_what_does_not_fit():
    from os4xmon.core.statusline import fit

    parts = [f"os4xrd_capi_{number} not running" for number in range(100)]
    text = fit(parts)
    assert len(text) <= MAX_SUMMARY
    shown = text.count("not running")
    assert text.endswith(f", +{100 - shown} more")
    assert fit(["short", "also short"]) == "short, also short"
    assert len(fit(["x" * 1000])) <= MAX_SUMMARY


def test_many_problems_keep_the_first_line_short_and_list_all_below():
    run = run_plugin("--checks", "processes", "--isdn-controllers", "32")
    assert_status(run, 2, "os4xrd not running", " more")
    assert len(run.summary) <= MAX_SUMMARY + 30, len(run.summary)
    assert "CRITICAL: os4xrd_capi_31 not running" in run.lines  # without -v


NO_NETLINK = ("import socket, sys\n"
              "def deny(event, args):\n"
              "    if event == 'socket.__new__' and args[1] == socket.AF_NETLINK:\n"
              "        raise PermissionError(1, 'Operation not permitted')\n"
              "sys.addaudithook(deny)\n"
              "from os4xmon.cli.main import main\n"
              "main(sys.argv[1:])\n")


def run_without_proc_net(*, netlink: bool) -> subprocess.CompletedProcess:
    """The port check as nobody under /proc mounted with subset=pid (no /proc/net), with the
    kernel's netlink answer allowed or refused (as some containers refuse it)."""
    import shlex

    plugin = shlex.join(plugin_command() if netlink else [sys.executable, "-c", NO_NETLINK])
    ports = f"--port {free_port()} --tls-port {free_port()}"  # nothing listens there
    script = ("mount -t proc -o subset=pid proc /proc && "
              f"runuser -u nobody -- {plugin} --checks ports {ports} -vv; echo exit=$?")
    done = subprocess.run(["unshare", "--mount", "--pid", "--fork", "sh", "-c", script],
                          capture_output=True, text=True, timeout=60, check=False, cwd="/")
    if "subset" in done.stderr and "exit=" not in done.stdout:
        pytest.skip("this kernel has no subset=pid")
    return done


@pytest.mark.unit
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private /proc mount")
def test_without_proc_net_the_port_check_asks_the_kernel():
    """/proc mounted with subset=pid has no /proc/net; netlink does not need it, so the port
    check still sees the listening sockets (here: none on OS4X's ports, CRITICAL)."""
    done = run_without_proc_net(netlink=True)
    assert "exit=2" in done.stdout, done.stdout + done.stderr
    assert done.stdout.startswith("OS4X CRITICAL - port "), done.stdout
    assert "not listening (os4xrd_tcpip should)" in done.stdout.splitlines()[0]
    assert "listening sockets read from netlink (sock_diag)" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.unit
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private /proc mount")
def test_without_proc_net_and_netlink_the_port_check_is_unknown_not_a_crash():
    """Neither netlink nor /proc/net: the sockets cannot be seen, which is UNKNOWN naming the
    cause, never a traceback or a false CRITICAL."""
    done = run_without_proc_net(netlink=False)
    assert "exit=3" in done.stdout, done.stdout + done.stderr
    assert done.stdout.startswith("OS4X UNKNOWN - cannot see the listening sockets: "), \
        done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_several_addresses_share_one_budget(monkeypatch):
    """A name with two addresses, the first silent (its accept queue is full, so SYNs are
    dropped): the second still gets its part of the budget, and the whole stays within it."""
    from os4xmon.core import netwait

    port = free_port()
    working = socket.socket()
    working.bind(("127.0.0.2", port))
    working.listen(8)
    monkeypatch.setitem(netwait._answers, "two.os4x-test",
                        [(socket.AF_INET, ("127.0.0.1", 0)), (socket.AF_INET, ("127.0.0.2", 0))])
    try:
        with fakedb.black_hole("127.0.0.1", port):  # further SYNs to it go unanswered
            started = time.monotonic()
            connection = netwait.connect("two.os4x-test", port, 3.0)
            seconds = time.monotonic() - started
        assert connection.getpeername() == ("127.0.0.2", port)
        connection.close()
        assert seconds < 3.0, seconds  # the first address got only its part
    finally:
        working.close()


@pytest.mark.parametrize("option", ["--tls-ca", "--tls-cert", "--db-ssl-ca"])
def test_a_named_certificate_file_that_does_not_exist_is_a_usage_error(tmp_path, option):
    run = run_plugin("--checks", "ports", "--probe", option, str(tmp_path / "none.pem"))
    assert_status(run, 3, f"{option} {tmp_path / 'none.pem'} does not exist")


def test_three_hundred_zombies_keep_the_first_line_readable(capsys):
    """300 zombie actions under a healthy os4xsqd (a 14 KB first line on 0.1.0): the status
    text stops near 300 characters, and every zombie is in the long output."""
    from os4xmon.cli import read_settings as options
    from os4xmon.cli.assemble import build_check
    from os4xmon.facts.host import Host
    from os4xmon.sources.proctable import ProcessInfo, table_from

    class FixedHost(Host):
        def __init__(self, table):
            super().__init__()
            self._table = table

    binary = "/opt/os4x/bin/"
    processes = [ProcessInfo(10, 1, "os4xrd", (binary + "os4xrd",), "root", 1.0, 1),
                 ProcessInfo(11, 10, "os4xrd_tcpip", (binary + "os4xrd_tcpip",), "root", 1.0, 1),
                 ProcessInfo(12, 10, "os4xrd_tcpip_tls", (binary + "os4xrd_tcpip_tls",), "root",
                             1.0, 1),
                 ProcessInfo(13, 1, "os4xsqd", (binary + "os4xsqd",), "root", 1.0, 1)]
    processes += [ProcessInfo(1000 + index, 13, "os4xsqd", None, "root", 1.0, 0, zombie=True)
                  for index in range(300)]
    settings = options.parse(["--checks", "processes"], environ={})
    check = build_check(settings, FixedHost(table_from(processes, 1000.0)))
    with pytest.raises(SystemExit) as ended:
        execution.execute(check, 30, 0)
    lines = capsys.readouterr().out.splitlines()
    summary = lines[0].split(" | ", 1)[0]
    assert ended.value.code == 1, lines[0]
    assert len(summary) <= MAX_SUMMARY + 30, summary
    assert summary.endswith(" more"), summary
    assert sum(line.startswith("WARNING: zombie") for line in lines[1:]) == 300


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private mount of /etc/hosts")
def test_a_name_with_a_silent_first_address_still_gets_probed(tmp_path):
    """The probe of a name with two addresses, the first silent: on 0.1.0 the first took the
    whole budget (and the run ended in the alarm); now the second still answers within -t."""
    from os4xmon.wire import oftp

    port = free_port()
    working = socket.socket()
    working.bind(("127.0.0.2", port))
    working.listen(8)
    stop = threading.Event()

    def serve() -> None:
        working.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                connection = working.accept()[0]
                connection.sendall(oftp.READY)
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 two.os4x-test\n127.0.0.2 two.os4x-test\n")
    plugin = " ".join(plugin_command())
    script = (f"mount --bind {hosts} /etc/hosts && {plugin} --checks ports --probe --no-tls "
              f"-H two.os4x-test --port {port} -t 4 -v; echo exit=$?")
    try:
        with fakedb.black_hole("127.0.0.1", port):  # the first address: SYNs dropped
            done = subprocess.run(["unshare", "--mount", "sh", "-c", script],
                                  capture_output=True, text=True, timeout=60, check=False,
                                  cwd="/")
    finally:
        stop.set()
        thread.join()
        working.close()
    assert f"port {port}: ready message in" in done.stdout, done.stdout + done.stderr
    assert "no result within" not in done.stdout
