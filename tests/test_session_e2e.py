"""The session probe end to end: check_os4x logs in to the simulator's receivers as a partner.

The simulator's receivers know one monitoring partner (``--partner``, its password in a file)
and write one JSON line per connection to ``--session-log``: what they answered and how the
plugin left (``ESID 00`` for a normal end). Ports are free ones from the kernel, as in
test_ports_e2e.py. Run in a PID namespace of its own (.ci/run), as every simulator test.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time

import pytest
from helpers import assert_status, free_port, run_plugin

from os4xmon.simulator.listeners import RESPONDER_PASSWORD
from os4xmon.wire import oftp

MONITOR = "O0013000000MONIT"
PASSWORD = "MON1TOR"
MARGIN = 1.5  # seconds the plugin may need beyond -t to start and print
SESSION_LABELS = ["oftp2_cert_days", "oftp2_listening", "oftp2_response_time",
                  "oftp2_session_time", "oftp_listening", "oftp_response_time",
                  "oftp_session_time"]


def secret_file(path, text: str) -> str:
    path.write_text(text + "\n")
    path.chmod(0o600)
    return str(path)


@pytest.fixture
def site(simulator, tmp_path):
    """A simulator whose receivers know the monitoring partner; the plugin's arguments."""
    tcp, tls = free_port(), free_port()
    log = tmp_path / "sessions.jsonl"
    partner_password = secret_file(tmp_path / "partner.pw", PASSWORD)

    class Site:
        def start(self, *args: str, partner: bool = True):
            known = ("--partner", MONITOR, "--partner-password-file", partner_password) \
                if partner else ()
            return simulator.start("--port", str(tcp), "--tls-port", str(tls),
                                   "--session-log", str(log), *known, *args)

        def sessions(self) -> list[dict]:
            if not log.exists():
                return []
            return [json.loads(line) for line in log.read_text().splitlines()]

        def password_file(self, text: str = PASSWORD) -> str:
            return secret_file(tmp_path / "plugin.pw", text)

    site = Site()
    site.tcp, site.tls, site.tmp = tcp, tls, tmp_path  # type: ignore[attr-defined]
    site.args = ("--checks", "ports", "--port", str(tcp),  # type: ignore[attr-defined]
                 "--tls-port", str(tls), "--odette-id", MONITOR)
    return site


def labels(run):
    return sorted(run.perfdata)


def test_accepted_on_both_ports_and_ended_with_esid_00(site):
    site.start()
    run = run_plugin(*site.args, "--odette-password-file", site.password_file(), "-v")
    assert_status(run, 0, f"2 ports listening, 2 accepting partner {MONITOR}")
    assert labels(run) == SESSION_LABELS
    for role in ("oftp", "oftp2"):
        assert 0 < run.perf_number(f"{role}_session_time") < 5
        assert run.perf_number(f"{role}_session_time") >= run.perf_number(f"{role}_response_time")
    for port in (site.tcp, site.tls):
        assert any(line.startswith(f"port {port}: session of partner {MONITOR} accepted by "
                                   "O0013000000OS4XSIM, protocol level 5 (OFTP 2.0) in ")
                   and line.endswith("ended with ESID 00") for line in run.lines), run.stdout
    sessions = site.sessions()
    assert sorted(entry["daemon"] for entry in sessions) == ["os4xrd_tcpip", "os4xrd_tcpip_tls"]
    assert all(entry == {"daemon": entry["daemon"], "partner": MONITOR, "answer": "SSID",
                         "end": "ESID 00"} for entry in sessions)
    assert RESPONDER_PASSWORD not in run.stdout  # the responder's own password, in its SSID


def test_the_odette_id_alone_turns_on_the_probe_and_the_thresholds_judge_the_session(site):
    site.start()
    env = {"OS4X_ODETTE_PASSWORD": PASSWORD}
    run = run_plugin(*site.args, "--response-warning", "0", "--response-critical", "60",
                     env=env)
    assert_status(run, 1, f"port {site.tcp} accepted the session in ",
                  f"port {site.tls} accepted the session in ")
    assert "answered in" not in run.summary  # the ready message alone raises no second alarm
    assert re.search(r" oftp_session_time=[0-9.]+s;0;60;0( |$)", run.first_line)
    assert re.search(r" oftp_response_time=[0-9.]+s;;;0 ", run.first_line)


def test_wrong_password(site):
    site.start()
    run = run_plugin(*site.args, "--odette-password-file", site.password_file("WRONG"), "-v")
    assert_status(run, 2, f"partner {MONITOR} refused on port {site.tcp}: invalid password "
                  "(ESID 04)", f"partner {MONITOR} refused on port {site.tls}: invalid "
                  "password (ESID 04)")
    assert "  what to do: make the password in --odette-password-file" in run.stdout
    assert labels(run) == SESSION_LABELS
    assert run.perfdata["oftp_session_time"] == "U"
    assert [entry["answer"] for entry in site.sessions()] == ["ESID 04", "ESID 04"]


def test_unknown_partner(site):
    site.start()
    run = run_plugin("--checks", "ports", "--port", str(site.tcp), "--no-tls", "--odette-id",
                     "O0013000000OTHER", "-v", env={"OS4X_ODETTE_PASSWORD": PASSWORD})
    assert_status(run, 2, f"partner O0013000000OTHER refused on port {site.tcp}: user code not "
                  "known (ESID 03)")
    assert f"port {site.tcp}: the ESID says 'partner not known'" in run.lines
    assert "add the monitoring partner O0013000000OTHER" in run.stdout


def test_protocol_violation_is_shown_escaped_and_still_ended_with_an_esid(site):
    site.start("--port-fault", "os4xrd_tcpip=session-violation")
    run = run_plugin(*site.args, "--odette-password-file", site.password_file(), "-v")
    assert_status(run, 2, f"unexpected answer to the session start on port {site.tcp}: "
                  "'R!\\x1b[31m\\xffCHANGE DIRECTION ", "command 'R', not SSID or ESID")
    assert "\x1b" not in run.stdout and "\udcff" not in run.stdout
    assert "..." in run.summary  # cut short
    ends = {entry["daemon"]: entry["end"] for entry in site.sessions()}
    assert ends == {"os4xrd_tcpip": "ESID 02", "os4xrd_tcpip_tls": "ESID 00"}


def test_a_header_announcing_16_mb_is_not_read(site):
    site.start("--port-fault", "os4xrd_tcpip_tls=session-huge")
    run = run_plugin(*site.args, "--odette-password-file", site.password_file(), "-t", "5")
    assert_status(run, 2, f"unexpected answer to the session start on port {site.tls}: ",
                  "Stream Transmission Header length 16777215, not 5 to 100003")
    assert run.seconds < 5


def test_resources_not_available_and_secure_authentication(site):
    site.start("--port-fault", "os4xrd_tcpip=session-busy,os4xrd_tcpip_tls=session-auth")
    run = run_plugin(*site.args, "--odette-password-file", site.password_file(), "-v")
    assert_status(run, 2, f"partner {MONITOR} refused on port {site.tcp}: resources not "
                  "available (ESID 08)", f"port {site.tls} asks partner {MONITOR} for secure "
                  "authentication")
    assert "switch secure authentication off" in run.stdout
    assert {entry["daemon"]: entry["end"] for entry in site.sessions()}[
        "os4xrd_tcpip_tls"] == "ESID 12"


def test_silent_receiver_ends_within_the_timeout(site):
    site.start("--port-fault", "os4xrd_tcpip=session-silent")
    run = run_plugin(*site.args, "--odette-password-file", site.password_file(), "-t", "3")
    assert_status(run, 2, f"no answer to the session start of partner {MONITOR} within ",
                  f"s on port {site.tcp}")
    assert run.seconds < 3 + MARGIN
    assert labels(run) == SESSION_LABELS
    assert run.summary.count("no answer") == 1  # the TLS port still accepted
    assert run.perf_number("oftp2_session_time") > 0


def test_a_receiver_that_only_sends_the_ready_message_is_told_apart(site):
    site.start(partner=False)
    run = run_plugin(*site.args, "--odette-password-file", site.password_file(), "-v")
    assert_status(run, 2, f"port {site.tcp} closed the connection after the session start of "
                  f"partner {MONITOR}, without SSID or ESID")
    ready_only = run_plugin(*site.args[:-2], "--probe")
    assert_status(ready_only, 0, "2 ports listening, 2 answering")


def test_the_password_in_no_output_at_vvv(site, tmp_path):
    site.start()
    config = tmp_path / "check.ini"
    config.write_text(f"[check_os4x]\nodette-password = {PASSWORD}\n")
    config.chmod(0o644)  # readable by others: a warning, which must not show the password
    runs = [
        run_plugin(*site.args, "--config", str(config), "-vvv"),
        run_plugin(*site.args, "--odette-password-file", site.password_file(), "-vvv"),
        run_plugin(*site.args, "-vvv", env={"OS4X_ODETTE_PASSWORD": PASSWORD}),
        run_plugin(*site.args, "-vvv", "--host", "localhost", "--timeout", "0.01",
                   env={"OS4X_ODETTE_PASSWORD": PASSWORD}),
        run_plugin(*site.args[:-1], "O0013000000OTHER", "-vvv",
                   env={"OS4X_ODETTE_PASSWORD": PASSWORD}),
    ]
    assert runs[0].code == 0 and "odette-password = (set) [config]" in runs[0].stdout
    assert f"WARNING: {config} holds the monitoring partner's password" in runs[0].stdout
    assert "odette-password = (set) [password file]" in runs[1].stdout
    assert "odette-password = (set) [environment]" in runs[2].stdout
    for run in runs:
        assert PASSWORD not in run.stdout + run.stderr, run.stdout


def test_the_password_reaches_no_child_process(site, tmp_path):
    """capiinfo is the one child the plugin starts: its environment holds no password."""
    dump = tmp_path / "env.txt"
    fake = tmp_path / "capiinfo"
    fake.write_text(f"#!/bin/sh\nenv > {dump}\necho 'Number of Controllers : 0'\n")
    fake.chmod(0o755)
    run_plugin("--checks", "isdn", "--isdn-controllers", "1", "--capi-source", "capiinfo",
               "--capiinfo", str(fake), env={"OS4X_ODETTE_PASSWORD": PASSWORD,
                                             "OS4X_DB_PASSWORD": "dbsecret"})
    environment = dump.read_text()
    assert "OS4X_ODETTE_PASSWORD" not in environment and PASSWORD not in environment
    assert "dbsecret" not in environment


@pytest.mark.parametrize("argv", [
    ["--odette-password", PASSWORD], [f"--odette-password={PASSWORD}"],
    [f"--odette-pass={PASSWORD}"], ["--odette-passw", PASSWORD],
])
def test_the_password_is_refused_on_the_command_line(site, argv):
    run = run_plugin(*site.args, *argv)
    assert_status(run, 3, "--odette-password is not accepted on the command line")
    assert "--odette-password-file, OS4X_ODETTE_PASSWORD or odette-password in the --config " \
           "file" in run.summary
    assert PASSWORD not in run.stdout + run.stderr


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["--odette-id", "O001 MONIT"], {"OS4X_ODETTE_PASSWORD": PASSWORD}, "is not an ODETTE ID"),
    (["--odette-id", "O" * 26], {"OS4X_ODETTE_PASSWORD": PASSWORD}, "is not an ODETTE ID"),
    (["--odette-id", MONITOR], {}, "--odette-id needs the monitoring partner's password"),
    (["--odette-id", MONITOR], {"OS4X_ODETTE_PASSWORD": "TOOLONG123"},
     "OS4X_ODETTE_PASSWORD: the ODETTE password must be 1 to 8 printable ASCII characters"),
    (["--odette-id", MONITOR], {"OS4X_ODETTE_PASSWORD": "tab\tpw"}, "(its value is not shown)"),
])
def test_misconfiguration_is_unknown_without_echoing_the_password(argv, env, message):
    run = run_plugin("--checks", "ports", *argv, env=env)
    assert_status(run, 3, message)
    for value in env.values():
        assert value not in run.stdout


def test_a_bad_password_file_is_named_but_not_shown(tmp_path):
    long_one = secret_file(tmp_path / "long.pw", "MUCHTOOLONG")
    run = run_plugin("--checks", "ports", "--odette-id", MONITOR, "--odette-password-file",
                     long_one)
    assert_status(run, 3, f"--odette-password-file {long_one}: the ODETTE password must be")
    assert "MUCHTOOLONG" not in run.stdout
    missing = run_plugin("--checks", "ports", "--odette-id", MONITOR, "--odette-password-file",
                         str(tmp_path / "missing"))
    assert_status(missing, 3, "cannot read --odette-password-file ")


class HostileResponder:
    """A listener on 127.0.0.2 (another host to the plugin): the ready message, then
    reply(the probe's SSID), then for then_stream seconds a stream of zeros; it keeps what
    the probe sent until it hung up."""

    def __init__(self, reply, then_stream: float = 0.0) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.2", 0))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.reply, self.then_stream = reply, then_stream
        self.received = b""
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        connection, _ = self.server.accept()
        with connection, contextlib.suppress(OSError):
            connection.settimeout(5)
            connection.sendall(oftp.READY)
            while len(self.received) < 65:
                chunk = connection.recv(65 - len(self.received))
                if not chunk:
                    return
                self.received += chunk
            connection.sendall(self.reply(self.received))
            deadline = time.monotonic() + self.then_stream
            while time.monotonic() < deadline:
                connection.sendall(b"\0" * 65536)
            while chunk:
                chunk = connection.recv(4096)
                self.received += chunk
        self.server.close()

    def run(self, *args: str):
        return run_plugin("--checks", "ports", "--host", "127.0.0.2", "--port", str(self.port),
                          "--no-tls", "--odette-id", MONITOR, *args,
                          env={"OS4X_ODETTE_PASSWORD": PASSWORD})


@pytest.mark.unit
def test_an_allowed_but_oversized_buffer_is_not_read_to_its_end():
    """100003 octets announced, then a stream of zeros: the probe reads a few and leaves."""
    responder = HostileResponder(lambda ssid: b"\x10\x01\x86\xa3X", then_stream=3.0)
    run = responder.run("-t", "6")
    assert_status(run, 2, f"unexpected answer to the session start on port {responder.port}",
                  "the header announces 99999 octets; an SSID or ESID has at most 1006")
    assert run.seconds < 3 + MARGIN


@pytest.mark.unit
def test_an_oversized_answer_still_gets_our_esid():
    responder = HostileResponder(lambda ssid: b"\x10\x00\x10\x00" + b"X" * 100)
    run = responder.run()
    assert_status(run, 2, "the header announces 4092 octets")
    responder.thread.join(10)
    assert responder.received.endswith(oftp.frame(oftp.encode_esid(oftp.BUFFER_SIZE_ERROR)))


@pytest.mark.unit
def test_an_echo_of_our_own_ssid_is_not_a_login():
    responder = HostileResponder(lambda ssid: ssid)
    run = responder.run()
    assert_status(run, 2, "our own SSID, echoed")
    assert PASSWORD not in run.stdout
    responder.thread.join(10)
    assert responder.received.endswith(oftp.frame(oftp.encode_esid(oftp.PROTOCOL_VIOLATION)))


@pytest.mark.unit
def test_vv_masks_the_password_wherever_it_appears(tmp_path):
    from os4xmon.cli.read_settings import parse

    settings = parse(["--odette-id", MONITOR, "--user", PASSWORD, "--odette-password-file",
                      secret_file(tmp_path / "pw", PASSWORD)], environ={})
    lines = "\n".join(settings.describe())
    assert PASSWORD not in lines and "odette_password=" not in repr(settings)
    assert "odette-password = (set) [password file]" in lines and "user = ********" in lines


@pytest.mark.unit
@pytest.mark.parametrize("argv", [
    ["--odette-password-file", "/nonexistent"], ["--odette-password-f=/nonexistent"],
    ["--db-password-file=/nonexistent"],
])
def test_the_password_file_options_are_not_mistaken_for_passwords(argv):
    from os4xmon.cli.read_settings import UsageError, parse

    with pytest.raises(UsageError, match=r"cannot read --(odette|db)-password-file /nonexistent"):
        parse(["--odette-id", MONITOR, *argv], environ={"OS4X_ODETTE_PASSWORD": PASSWORD})
