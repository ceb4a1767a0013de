"""<prefix>configuration's stop requests and ports (pure), how they explain a daemon that is
not running, and how Host hands them from the database aspect to the others."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nagiosplugin.state import Critical, Warn

from os4xmon.core.findings import Finding, daemon_not_running
from os4xmon.core.text import printable
from os4xmon.facts import configuration
from os4xmon.facts.host import Host

pytestmark = pytest.mark.unit

# -- stop requests --


def test_parse_configuration():
    table = configuration.parse_configuration(
        [("tcp_port", "3305"), ("os4xclientd_port", "61000"), ("os4xsqd_stop_req", "1"),
         ("os4xrd_stop_req", "0"), ("other", "x")], "os4x_configuration")
    assert table.ports == {"tcp_port": 3305, "os4xclientd_port": 61000}
    assert table.stop_requests == {"os4xsqd_stop_req": "1"}
    assert table.stop_request("os4xsqd") == "os4xsqd_stop_req"
    assert table.stop_request("os4xrd_tcpip") is None


@pytest.mark.parametrize(("value", "requested", "note"), [
    ("", False, False), ("0", False, False), (" 2 ", True, False), ("yes", False, True),
    ("-1", False, True)])
def test_stop_request_values(value, requested, note):
    table = configuration.parse_configuration([("os4xrd_stop_req", value)], "t")
    assert ("os4xrd_stop_req" in table.stop_requests) == requested
    assert bool(table.notes) == note


def test_explain_not_running_asks_only_when_needed():
    asked = []

    def lazy():
        asked.append(1)
        return configuration.parse_configuration([("os4xrd_stop_req", "1")], "os4x_configuration")

    plain = [Finding(Critical, "os4xsqd runs 2 times (pids 1, 2): race conditions")]
    assert configuration.explain_not_running(plain, lazy) == plain and not asked
    findings = [Finding(Critical, "os4xrd not running", subject=daemon_not_running("os4xrd")),
                Finding(Critical, "os4xrd_tcpip not running",
                        subject=daemon_not_running("os4xrd_tcpip")),
                Finding(Critical, "os4xsqd not running", "start it",
                        daemon_not_running("os4xsqd"))]
    explained = configuration.explain_not_running(findings, lazy)
    assert [f.message for f in explained] == [
        "os4xrd not running: stop requested in os4x_configuration (os4xrd_stop_req)",
        "os4xrd_tcpip not running: stop requested in os4x_configuration (os4xrd_stop_req)",
        "os4xsqd not running"]
    assert explained[1].advice.endswith("start /opt/os4x/bin/os4xrd; if the stop is wanted "
                                        "(maintenance), schedule a downtime")
    assert explained[2].advice == "start it" and len(asked) == 1
    assert [f.says_not_running() for f in explained] == ["os4xrd", "os4xrd_tcpip", "os4xsqd"]


def test_what_a_finding_is_about_is_data_never_its_text():
    def table():
        return configuration.parse_configuration([("os4xrd_stop_req", "1")], "t")

    worded = [Finding(Critical, "os4xrd not running")]  # the words alone mean nothing
    assert configuration.explain_not_running(worded, table) == worded
    (tagged,) = configuration.explain_not_running(
        [Finding(Critical, "the master is gone", subject=daemon_not_running("os4xrd"))], table)
    assert tagged.message == "the master is gone: stop requested in t (os4xrd_stop_req)"


def test_advice_starts_the_installation_checked():
    from os4xmon.os4x import daemons

    start = daemons.start_commands("/srv/os4x/bin/", "/etc/os4x-b.conf")
    (finding,) = configuration.explain_not_running(
        [Finding(Critical, "os4xrd_tcpip not running",
                 subject=daemon_not_running("os4xrd_tcpip"))],
        lambda: configuration.parse_configuration([("os4xrd_stop_req", "1")], "t"), start)
    assert "start /srv/os4x/bin/os4xrd -C /etc/os4x-b.conf;" in finding.advice
    assert daemons.start_command("os4xsqd") == "/opt/os4x/bin/os4xsqd"
    assert daemons.start_command("os4xsqd", "/opt/b", "/etc/my os4x.conf") == \
        "/opt/b/os4xsqd -C '/etc/my os4x.conf'"


def test_explain_without_database_changes_nothing():
    findings = [Finding(Critical, "os4xsqd not running")]
    assert configuration.explain_not_running(findings, lambda: None) == findings


def test_stop_request_findings():
    table = configuration.parse_configuration([("os4xrd_stop_req", "1"), ("os4xsqd_stop_req", "1")],
                                           "os4x_configuration")
    findings = configuration.stop_request_findings(table, {"os4xrd": [10]}, lambda daemon: True)
    assert [(f.state, f.message) for f in findings] == [
        (Warn, "os4xrd pid 10 will exit after its time slice: stop requested in "
               "os4x_configuration (os4xrd_stop_req)")]
    alone = configuration.stop_request_findings(table, {}, lambda daemon: False)
    assert [f.message for f in alone] == [
        "os4xrd not running: stop requested in os4x_configuration (os4xrd_stop_req)",
        "os4xsqd not running: stop requested in os4x_configuration (os4xsqd_stop_req)"]


@given(st.lists(st.tuples(st.sampled_from((*configuration.KEYS, "x")),
                          st.one_of(st.none(), st.text(max_size=12), st.binary(max_size=12))),
                max_size=10))
def test_hostile_configuration_never_raises(raw):
    table = configuration.parse_configuration(raw, "t")
    for line in configuration.describe(table):
        assert line == printable(line, 10**6) or "\\" in line


def test_host_reads_the_configuration_once_whoever_asks_first(monkeypatch):
    from os4xmon.core.settings import Settings

    calls = []

    def reader(settings):
        calls.append(1)
        return configuration.parse_configuration([("os4xclientd_port", "61000")], "t")

    monkeypatch.setattr(configuration, "read_configuration", reader)
    assert Host().configured() == configuration.Configured()  # no database check: nothing read
    assert not calls
    settings = Settings(checks=("processes", "database"), db_type="mysql", pid_query="SELECT 1")
    host = Host(settings)
    first = host.configured()  # the process check asks first: read on its own connection
    assert host.configured() is first and calls == [1]
    assert first.ports == {"os4xclientd_port": 61000}
    host.offer_configured(configuration.Configured({"tcp_port": 1}))  # the database check's, later
    assert host.configured() is first
    other = Host(settings)
    other.offer_configured(configuration.Configured({"tcp_port": 1}))  # the database check first
    assert other.configured().ports == {"tcp_port": 1} and calls == [1]


def test_a_read_cut_by_the_timeout_leaves_the_verdicts_as_they_are():
    from os4xmon.core.execution import CheckTimeout

    def trickling():
        raise CheckTimeout("reading os4x_configuration")

    findings = [Finding(Critical, "os4xsqd not running", "start it")]
    assert configuration.explain_not_running(findings, trickling) == findings
