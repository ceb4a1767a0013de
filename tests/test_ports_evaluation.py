"""The port check's decisions and parsers, on data: no sockets, no processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nagiosplugin.state import Critical

from os4xmon.checks.ports import (
    Owner,
    PortSpec,
    assess_listening,
    expected_ports,
    owners_from_table,
)
from os4xmon.cli.read_settings import parse
from os4xmon.sources.ephemeral import EphemeralPorts
from os4xmon.sources.ephemeral import parse as parse_ephemeral
from os4xmon.sources.listening import Entry, Listener, parse_proc_net_tcp
from os4xmon.sources.proctable import ProcessInfo, table_from
from os4xmon.wire.probe import connect_host

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent / "fixtures" / "proc_net"
TCP = PortSpec("oftp", 3305, "os4xrd_tcpip")
CLIENTD = PortSpec("clientd", 60000, "os4xclientd", oftp=False)


def ports(argv, configured=None):
    specs, notes = expected_ports(parse(argv, environ={}), configured or {})
    return [(spec.role, spec.port, spec.source) for spec in specs], notes


def test_defaults():
    assert ports([]) == ([("oftp", 3305, "default"), ("oftp2", 6619, "default")], [])


def test_database_ports_replace_the_defaults():
    found, _ = ports([], {"tcp_port": 4305, "tcp_port_tls": "7619"})
    assert found == [("oftp", 4305, "from the database"), ("oftp2", 7619, "from the database")]


def test_given_ports_win_over_the_database():
    found, _ = ports(["--port", "5305", "--tls-port", "5619"],
                     {"tcp_port": 4305, "tcp_port_tls": 4619})
    assert found == [("oftp", 5305, "given"), ("oftp2", 5619, "given")]


def test_given_in_the_config_file_wins_too(tmp_path):
    config = tmp_path / "check.ini"
    config.write_text("[check_os4x]\nport = 5305\n")
    found, _ = ports(["--config", str(config)], {"tcp_port": 4305})
    assert found[0] == ("oftp", 5305, "given")


@pytest.mark.parametrize("value", ["", "abc", "0", "70000", "-1", "33|05\n"])
def test_unusable_database_value_falls_back_with_a_note(value):
    found, notes = ports(["--no-tls"], {"tcp_port": value})
    assert found == [("oftp", 3305, "default")]
    assert len(notes) == 1 and "tcp_port in the database" in notes[0]
    assert "|" not in notes[0] and "\n" not in notes[0]


def test_no_tls_enterprise_and_debugd():
    found, _ = ports(["--no-tls", "--enterprise", "--require-debugd", "--clientd-port", "61000"])
    assert found == [("oftp", 3305, "default"), ("clientd", 61000, "given"),
                     ("debugd", 10001, "default")]


def test_remote_host_selects_ports_only_unless_checks_given():
    assert parse(["--host", "oftp.example.com"], environ={}).selected_checks == ("ports",)
    assert parse(["--host", "::1"], environ={}).selected_checks == ("processes", "ports")
    assert parse(["--host", "oftp.example.com", "--checks", "ports,processes"],
                 environ={}).selected_checks == ("processes", "ports")


# --- listening and owners ----------------------------------------------------------------

RIGHT = Owner(3772, "os4xrd_tcpip", "os4xrd_tcpip", True)


def findings(specs, listeners, owners):
    report = assess_listening(specs, listeners, owners)
    return [(f.state, f.message) for f in report.findings], report


def test_listening_and_held_by_the_daemon():
    found, report = findings([TCP], [Listener(3305, "::", (3772,))], {3772: RIGHT})
    assert found == [] and report.listening == {"oftp": True} and report.unverified == []
    assert report.lines == ["port 3305 (os4xrd_tcpip, default): listening on ::; held by "
                            "os4xrd_tcpip pid 3772"]


def test_not_listening_names_port_and_daemon():
    found, report = findings([TCP], [Listener(3306, "::", (1,))], {})
    assert found == [(Critical, "port 3305 not listening (os4xrd_tcpip should)")]
    assert report.listening == {"oftp": False}


def test_foreign_holder_is_named_with_its_pid():
    found, _ = findings([TCP], [Listener(3305, "0.0.0.0", (999,))], {999: Owner(999, "nc")})
    assert found == [(Critical, "port 3305 held by nc pid 999, not os4xrd_tcpip")]


def test_another_os4x_daemon_on_the_port_is_wrong_too():
    tls = Owner(3773, "os4xrd_tcpip_tls", "os4xrd_tcpip_tls", True)
    found, _ = findings([TCP], [Listener(3305, "::", (3773,))], {3773: tls})
    assert found == [(Critical, "port 3305 held by os4xrd_tcpip_tls pid 3773, not os4xrd_tcpip")]


def test_clientd_child_holding_the_port():
    parent = Owner(500, "os4xclientd", "os4xclientd", True)
    child = Owner(501, "os4xclientd", "os4xclientd", False)
    found, _ = findings([CLIENTD], [Listener(60000, "127.0.0.1", (500, 501))],
                        {500: parent, 501: child})
    assert found == [(Critical, "port 60000 held by a child of os4xclientd (pid 501), not by "
                      "its instance")]


def test_invisible_holder_is_not_verified_not_wrong():
    found, report = findings([TCP], [Listener(3305, "::", ())], {})
    assert found == [] and report.unverified == [3305]
    assert report.lines[0].endswith("listening on ::; holder not visible")


DEFAULT_RANGE = EphemeralPorts(32768, 60999)


def test_a_silent_port_in_the_ephemeral_range_says_how_to_reserve_it():
    report = assess_listening([CLIENTD, TCP], [], {}, ephemeral=DEFAULT_RANGE)
    clientd, tcp = report.findings
    assert clientd.message == "port 60000 not listening (os4xclientd should)"
    assert "port 60000 lies in this host's ephemeral port range 32768-60999" in clientd.advice
    assert "sysctl -w net.ipv4.ip_local_reserved_ports=60000 and the same setting in " \
        "/etc/sysctl.d/" in clientd.advice
    assert "ephemeral" not in tcp.advice  # 3305 lies below the range
    assert report.lines[0] == ("port 60000 (os4xclientd) lies in this host's ephemeral port "
                               "range 32768-60999 and is not reserved: an outgoing connection "
                               "may take it while os4xclientd is down")


def test_a_reserved_port_is_safe_and_the_advice_keeps_what_is_reserved():
    reserved = EphemeralPorts(32768, 60999, ((50000, 50010), (60000, 60000)))
    report = assess_listening([CLIENTD], [], {}, ephemeral=reserved)
    assert "ephemeral" not in report.findings[0].advice
    other = EphemeralPorts(32768, 60999, ((50000, 50010),))
    (finding,) = assess_listening([CLIENTD], [], {}, ephemeral=other).findings
    assert "net.ipv4.ip_local_reserved_ports=50000-50010,60000 " in finding.advice


@pytest.mark.parametrize(("port_range", "reserved", "expected"), [
    ("32768\t60999\n", "\n", EphemeralPorts(32768, 60999)),
    ("1024 65000", "60000,61000-61010\n", EphemeralPorts(1024, 65000,
                                                          ((60000, 60000), (61000, 61010)))),
    ("60999 32768", "", None), ("32768", "", None), ("a b", "", None),
    ("32768 60999", "1-x", None), ("32768 60999", "70000", None), ("0 10", "", None),
    ("32768 60999", "61010-61000", None), ("1" * 4000 + " 2", "", None),
])
def test_parse_ephemeral_ranges(port_range, reserved, expected):
    assert parse_ephemeral(port_range, reserved) == expected


@given(st.text(max_size=60), st.text(max_size=60))
def test_parse_ephemeral_never_raises(port_range, reserved):
    parse_ephemeral(port_range, reserved)


def test_owners_from_the_process_table():
    table = table_from([
        ProcessInfo(3771, 1, "os4xrd", ("/opt/os4x/bin/os4xrd",)),
        ProcessInfo(3772, 3771, "os4xrd", ("os4xrd_tcpip" + " " * 40,)),
        ProcessInfo(500, 1, "os4xclientd", ("/opt/os4x/bin/os4xclientd",)),
        ProcessInfo(501, 500, "os4xclientd", ("/opt/os4x/bin/os4xclientd",)),
        ProcessInfo(502, 500, "sh", ("/bin/sh", "-c", "job|x")),
    ], 0.0)
    owners = owners_from_table([3772, 500, 501, 502, 4242], table)
    assert owners[3772] == Owner(3772, "os4xrd_tcpip", "os4xrd_tcpip", True)
    assert owners[500].instance and not owners[501].instance
    assert owners[502] == Owner(502, "sh", None, False)
    assert 4242 not in owners


# --- /proc/net/tcp -----------------------------------------------------------------------

def test_parse_proc_net_tcp_listen_lines_only():
    entries = parse_proc_net_tcp((FIXTURES / "tcp.txt").read_text(), "little")
    assert entries == [Entry("0.0.0.0", 3305, 41001), Entry("127.0.0.1", 60000, 41002)]


def test_parse_proc_net_tcp6():
    entries = parse_proc_net_tcp((FIXTURES / "tcp6.txt").read_text(), "little")
    assert entries == [Entry("::", 6619, 42001), Entry("::1", 10001, 42002),
                       Entry("::ffff:127.0.0.1", 3305, 42003)]


def test_parse_big_endian_host():
    line = "   0: 7F000001:0CE9 00000000:0000 0A 0:0 00:0 0 33 0 7 1"
    assert parse_proc_net_tcp("header\n" + line, "big") == [Entry("127.0.0.1", 3305, 7)]


@given(st.text(max_size=400))
def test_parse_proc_net_tcp_never_raises(text):
    for entry in parse_proc_net_tcp(text):
        assert 0 <= entry.port <= 65535  # four hex digits, whatever the rest of the line


# --- time --------------------------------------------------------------------------------

def test_budgets_share_the_time_left(monkeypatch):
    """Each probe takes its share from the one budget (execution.share): a silent first port
    cannot starve the second."""
    import time

    from os4xmon.core import execution

    monkeypatch.setattr(execution, "_deadline", [time.monotonic() + 10.0])
    assert execution.share(2) == pytest.approx(4.9, abs=0.05)
    assert execution.share(1) == pytest.approx(9.8, abs=0.05)
    monkeypatch.setattr(execution, "_deadline", [time.monotonic() - 1.0])
    assert execution.share(2) == 0.0


@pytest.mark.parametrize(("host", "address"), [
    ("[::1]", "::1"), ("::1", "::1"), ("oftp.example.com", "oftp.example.com"),
    ("192.0.2.1", "192.0.2.1")])
def test_connect_host_strips_brackets(host, address):
    assert connect_host(host) == address


@pytest.mark.parametrize(("value", "text"), [
    (0.000001, "0.000001"), (1e-9, "0"), (3600, "3600"), (2.5, "2.5"), (1e7, "10000000")])
def test_thresholds_never_in_exponent_notation(value, text):
    from nagiosplugin.range import Range

    from os4xmon.core.thresholds import plain_number, range_above, range_below

    assert plain_number(value) == text
    Range(range_above(value))
    Range(range_below(value))


def test_parse_proc_net_tcp_skips_ports_that_are_not_four_hex_digits():
    lines = ["header"] + [f"   0: 7F000001:{port} 00000000:0000 0A 0:0 00:0 0 33 0 7 1"
                          for port in ("-001", "10CE9", "CE9", "0CE9")]
    assert parse_proc_net_tcp("\n".join(lines), "big") == [Entry("127.0.0.1", 3305, 7)]
