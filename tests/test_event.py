"""os4x-event's pure parts: what an event means, the INI file, the requests it would send."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from os4xmon.event import config as event_config
from os4xmon.event.events import (
    CRITICAL,
    OK,
    UNKNOWN,
    WARNING,
    EventError,
    decode,
    partner_name,
    service_name,
)
from os4xmon.event.main import read_arguments
from os4xmon.event.senders import SendError, command_line, icinga_body

pytestmark = pytest.mark.unit


# -- events --


@pytest.mark.parametrize(("reason", "state", "words"), [
    ("00", OK, "ended normally (ESID 00)"),
    ("0", OK, "ended normally (ESID 00)"),
    ("04", CRITICAL, "ended with ESID 04: invalid password"),
    ("09", CRITICAL, "ended with ESID 09: time out"),
    ("99", CRITICAL, "ended with ESID 99: unspecified abort code"),
    ("55", CRITICAL, "ended with ESID 55: a reason code RFC 5024 does not define"),
])
def test_end_session(reason, state, words):
    event = decode("end-session", ["ACME", "3", reason])
    assert (event.state, event.partner) == (state, "ACME")
    assert event.text == f"OFTP session with partner ACME {words}"


@pytest.mark.parametrize("reason", ["", "x", "100", "-1", "4.0", "\uff10\uff14"])
def test_end_session_refuses_a_reason_that_is_no_code(reason):
    with pytest.raises(EventError, match="ESID reason"):
        decode("end-session", ["ACME", "3", reason])


def test_end_session_needs_its_arguments():
    with pytest.raises(EventError, match="PARTNER INDEX ESID-REASON"):
        decode("end-session", ["ACME", "3"])


def test_queue_blocked_is_a_warning_naming_the_file():
    event = decode("queue-blocked", ["BOLT", "/opt/os4x/out/invoice.edi"])
    assert (event.state, event.partner) == (WARNING, "BOLT")
    assert "partner BOLT blocked (file /opt/os4x/out/invoice.edi)" in event.text
    assert decode("queue-blocked", ["BOLT"]).text.startswith(
        "send queue entry for partner BOLT blocked: ")


def test_licence_is_a_warning_of_the_host():
    event = decode("licence", ["expires", "in", "30", "days"])
    assert (event.state, event.partner, event.text) == (
        WARNING, None, "OS4X licence: expires in 30 days")
    assert decode("licence", []).text == "OS4X licence: OS4X reports a licence event"


@pytest.mark.parametrize("name", ["start-receive", "START-RECEIVE", "start_receive"])
def test_the_synchronous_start_receive_role_is_refused(name):
    with pytest.raises(EventError, match="must not be OS4X's start-receive script"):
        decode(name, ["ACME", "1", "file"])


def test_an_unknown_event_is_refused():
    with pytest.raises(EventError, match="unknown event 'ACME'"):
        decode("ACME", ["1", "00"])


@pytest.mark.parametrize(("raw", "name"), [
    ("ACME", "ACME"), ("AC;ME", "AC_ME"), ("a!b|c\nd", "a_b_c_d"), ("O0013 x.y-z", "O0013 x.y-z"),
    ("x" * 60, "x" * 40)])
def test_partner_names_are_safe_in_a_service_name(raw, name):
    assert partner_name(raw) == name


@pytest.mark.parametrize("raw", ["", "   ", ";;"[:0], "..."])
def test_an_unusable_partner_name_is_refused(raw):
    with pytest.raises(EventError):
        partner_name(raw)


@pytest.mark.parametrize(("template", "partner", "name"), [
    (None, "ACME", "OS4X partner ACME"),
    (None, None, "OS4X"),
    ("OFTP {partner}", "ACME", "OFTP ACME"),
    ("OFTP {partner}", None, "OS4X"),
    ("OS4X events", "ACME", "OS4X events"),  # one service per host
    ("OS4X events", None, "OS4X events"),
])
def test_service_names(template, partner, name):
    assert service_name(template, partner) == name


def test_states_are_the_nagios_codes():
    assert (OK, WARNING, CRITICAL, UNKNOWN) == (0, 1, 2, 3)


# -- the command line --


def test_only_config_is_an_option():
    assert read_arguments(["--config", "/x.ini", "end-session", "A", "1", "00"]) == (
        "/x.ini", "end-session", ["A", "1", "00"])
    assert read_arguments(["licence", "--config", "y"]) == (
        event_config.DEFAULT_PATH, "licence", ["--config", "y"])


def test_a_password_option_is_refused_without_its_value():
    with pytest.raises(EventError) as caught:
        read_arguments(["--api-password=Sekr3t-value", "licence"])
    assert "Sekr3t" not in str(caught.value) and "--api-password" in str(caught.value)


# -- the INI file --


def write(tmp_path: Path, text: str, mode: int = 0o600) -> str:
    path = tmp_path / "event.ini"
    path.write_text(text)
    path.chmod(mode)
    return str(path)


GOOD = """[os4x-event]
icinga2-api = https://icinga.example.com:5665
api-user = os4x-event
api-password = Sekr3t-value
ca-file = /var/lib/icinga2/certs/ca.crt
host-name = oftp1
"""


def test_a_good_file(tmp_path):
    config = event_config.load(write(tmp_path, GOOD))
    assert (config.api_host, config.api_port, config.api_user, config.host_name) == (
        "icinga.example.com", 5665, "os4x-event", "oftp1")
    assert config.ttl == event_config.DEFAULT_TTL
    assert "Sekr3t" not in repr(config)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_file_others_may_read_is_refused(tmp_path, mode):
    with pytest.raises(event_config.ConfigError, match="chmod 600"):
        event_config.load(write(tmp_path, GOOD, mode))


@pytest.mark.parametrize(("change", "message"), [
    ("icinga2-api = http://icinga:5665", "must be https"),
    ("icinga2-api = https://icinga:5665/v1", "give only"),
    ("icinga2-api = https://user@icinga:5665", "give only"),
    ("ttl = 0", "ttl"),
    ("ttl = soon", "ttl"),
    ("api-pasword = x", "unknown key"),
])
def test_mistakes_are_one_line(tmp_path, change, message):
    key = change.split(" = ")[0]
    text = "\n".join(line for line in GOOD.splitlines() if not line.startswith(key + " ="))
    with pytest.raises(event_config.ConfigError, match=message) as caught:
        event_config.load(write(tmp_path, text + "\n" + change + "\n"))
    assert "Sekr3t" not in str(caught.value)


def test_the_api_needs_user_and_password(tmp_path):
    text = GOOD.replace("api-password = Sekr3t-value\n", "")
    with pytest.raises(event_config.ConfigError, match="api-user and api-password"):
        event_config.load(write(tmp_path, text))


def test_a_server_is_needed(tmp_path):
    with pytest.raises(event_config.ConfigError, match="icinga2-api or nagios-command-file"):
        event_config.load(write(tmp_path, "[os4x-event]\nhost-name = x\n"))


def test_the_host_name_defaults_to_this_host(tmp_path):
    config = event_config.load(write(tmp_path, "[os4x-event]\nnagios-command-file = /x\n"))
    assert config.host_name == os.uname().nodename


# -- what is sent --


def test_the_icinga_request_selects_one_service_by_variables():
    config = event_config.parse(GOOD, "x")
    body = icinga_body(config, 'OS4X partner A"B', CRITICAL, "text")
    assert body["filter"] == "host.name==os4x_host && service.name==os4x_service"
    assert body["filter_vars"] == {"os4x_host": "oftp1", "os4x_service": 'OS4X partner A"B'}
    assert (body["exit_status"], body["ttl"], body["type"]) == (2, 90000, "Service")
    assert "Sekr3t" not in json.dumps(body)


def test_the_nagios_command():
    config = event_config.parse("[os4x-event]\nnagios-command-file = /x\nhost-name = oftp1\n",
                                "x")
    assert command_line(config, "OS4X partner ACME", 2, "ended; badly", 1700000000.9) == (
        b"[1700000000] PROCESS_SERVICE_CHECK_RESULT;oftp1;OS4X partner ACME;2;ended; badly\n")


def test_a_host_name_that_would_split_the_nagios_command_is_refused():
    config = event_config.parse("[os4x-event]\nnagios-command-file = /x\nhost-name = a;b\n", "x")
    with pytest.raises(SendError):
        command_line(config, "OS4X", 0, "x", 0)


def test_it_imports_nothing_of_the_plugin():
    """The event path stays small: no nagiosplugin, no psutil, no database driver."""
    code = ("import sys; import os4xmon.event.main; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('nagiosplugin', 'psutil', 'pymysql', 'psycopg2')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_a_hanging_delivery_is_left_behind_in_time(tmp_path, monkeypatch):
    """Whatever blocks the sender (a DNS lookup no timeout reaches), run() returns in time
    and says so in syslog."""
    import socket as sockets
    import time

    from os4xmon.event import main as event_main

    catcher = sockets.socket(sockets.AF_UNIX, sockets.SOCK_DGRAM)
    catcher.bind(str(tmp_path / "log"))
    catcher.settimeout(1)
    path = write(tmp_path, f"[os4x-event]\nnagios-command-file = /x\nsyslog-socket = "
                           f"{tmp_path / 'log'}\n")
    monkeypatch.setattr(event_main, "deliver", lambda *args: time.sleep(30))
    started = time.monotonic()
    event_main.run(["--config", path, "licence"], started)
    assert time.monotonic() - started < event_main.WORK_SECONDS + 0.3
    message = catcher.recv(4096).decode()
    catcher.close()
    assert "no answer within 1.5 s, result of licence not delivered" in message
