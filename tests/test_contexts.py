"""The shared contexts and the Host's facts: the seams every aspect uses, on plain data."""

from __future__ import annotations

import nagiosplugin
import pytest
from nagiosplugin.state import Critical, Ok, Unknown, Warn

from os4xmon.checks.ports import PortSpec, assess_listening, judge_probe
from os4xmon.cli.read_settings import parse
from os4xmon.core.findings import PerfdataContext, perfdata
from os4xmon.core.thresholds import threshold_state
from os4xmon.facts.host import Configured, Host
from os4xmon.sources.proctable import ProcessInfo, table_from
from os4xmon.wire.probe import ProbeResult

pytestmark = pytest.mark.unit


def written(metric) -> str:
    return str(PerfdataContext().performance(metric, nagiosplugin.Resource()))


def test_perfdata_writes_thresholds_and_u_for_what_was_not_measured():
    assert written(perfdata("oldest_action_age", 12.5, "s", warning="3600",
                            critical="7200")) == "oldest_action_age=12.5s;3600;7200;0"
    assert written(perfdata("oldest_action_age", None, "s", warning="3600")) == \
        "oldest_action_age=U;3600;;0"
    assert written(perfdata("os4xrd", 0, critical="1:1")) == "os4xrd=0;;1:1;0"
    assert written(perfdata("oftp2_cert_days", None, minimum=None, warning="30:",
                            critical="7:")) == "oftp2_cert_days=U;30:;7:"
    assert written(perfdata("oftp_listening", 1, maximum=1)) == "oftp_listening=1;;;0;1"


@pytest.mark.parametrize(("value", "state"), [(5, Ok), (3600, Ok), (3601, Warn), (7201, Critical)])
def test_threshold_state_as_nagios_ranges(value, state):
    assert threshold_state(value, "3600", "7200") == state
    assert threshold_state(value) == Ok


def test_threshold_below():
    assert threshold_state(10, "600:") == Warn and threshold_state(601, "600:") == Ok


def test_probe_verdicts_name_the_port():
    settings = parse(["--response-warning", "1", "--cert-critical", "20"], environ={})
    tls = PortSpec("oftp2", 6619, "os4xrd_tcpip_tls", tls=True)
    slow = judge_probe(tls, ProbeResult(6619, seconds=1.5, cert_days=10.04), settings)
    assert [(f.state, f.message) for f in slow.thresholds] == [
        (Warn, "port 6619 answered in 1.5s"),
        (Critical, "TLS certificate of port 6619 expires in 10 days")]
    assert slow.failures == [] and (slow.seconds, slow.cert_days) == (1.5, 10.0)
    expired = judge_probe(tls, ProbeResult(6619, problem="x", cert_days=-3.0), settings)
    assert [f.message for f in expired.thresholds] == [
        "TLS certificate of port 6619 expired 3 days ago"]
    assert [f.state for f in expired.failures] == [Critical] and expired.seconds is None
    unresolved = judge_probe(tls, ProbeResult(6619, unknown="no such host"), settings)
    assert [f.state for f in unresolved.failures] == [Unknown] and unresolved.thresholds == []


def test_a_tls_certificate_in_its_last_day_has_not_expired_yet():
    from os4xmon.checks.ports import cert_advice

    settings = parse([], environ={})
    tls = PortSpec("oftp2", 6619, "os4xrd_tcpip_tls", tls=True)
    last = judge_probe(tls, ProbeResult(6619, seconds=0.1, cert_days=0.0), settings)
    assert [f.message for f in last.thresholds] == [
        "TLS certificate of port 6619 expires in 0 days"]
    assert cert_advice(6619, 0.0, None).startswith("renew the TLS certificate of port 6619 "
                                                   "before 0 days")
    assert cert_advice(6619, -0.5, None).startswith("renew the TLS certificate of port 6619 now")


def test_a_probe_that_failed_on_the_certificate_is_told_to_look_at_it():
    from os4xmon.checks.ports import probe_advice

    tls = PortSpec("oftp2", 6619, "os4xrd_tcpip_tls", tls=True)
    assert probe_advice(tls, "h", "port 6619: TLS certificate verify failed").startswith(
        "look at the certificate (openssl s_client -connect h:6619 shows it")
    assert probe_advice(tls, "h", "port 6619: no ready message").startswith(
        "connect by hand (openssl s_client -connect h:6619)")


def test_a_tls_certificate_not_yet_valid_is_critical_whatever_the_thresholds():
    from datetime import datetime, timezone

    settings = parse(["--cert-warning", "0", "--cert-critical", "0"], environ={})
    tls = PortSpec("oftp2", 6619, "os4xrd_tcpip_tls", tls=True)
    start = datetime(2027, 1, 2, 3, 4, tzinfo=timezone.utc)
    early = judge_probe(tls, ProbeResult(6619, seconds=0.1, cert_days=300.0,
                                         cert_not_before=start, cert_not_yet_valid=True),
                        settings)
    assert [(f.state, f.message) for f in early.thresholds] == [
        (Critical, "TLS certificate of port 6619 not yet valid: from 2027-01-02 03:04 UTC")]
    valid = judge_probe(tls, ProbeResult(6619, seconds=0.1, cert_days=300.0,
                                         cert_not_before=start), settings)
    assert valid.thresholds == []


def test_a_stopped_daemon_is_a_line_not_a_second_problem():
    spec = PortSpec("oftp", 3305, "os4xrd_tcpip")
    quiet = assess_listening([spec], [], {}, stopped={"os4xrd_tcpip"})
    assert quiet.findings == [] and quiet.listening == {"oftp": False}
    assert quiet.lines == ["port 3305 (os4xrd_tcpip, default): not listening, os4xrd_tcpip "
                           "not running (reported by the process check)"]
    (alone,) = assess_listening([spec], [], {}).findings
    assert alone.message == "port 3305 not listening (os4xrd_tcpip should)"


class CountingHost(Host):
    """A Host on a fixed table that counts how often the table is read."""

    def __init__(self, settings, processes):
        super().__init__(settings)
        self.reads = 0
        self.processes = processes

    def process_table(self):
        if self._table is None:
            self.reads += 1
            self._table = table_from(self.processes, 1000.0)
        return self._table


MASTER = ProcessInfo(10, 1, "os4xrd", ("/opt/os4x/bin/os4xrd",), "root", 900.0, 1)
TCP_RECEIVER = ProcessInfo(11, 10, "os4xrd", ("os4xrd_tcpip",), "root", 900.0, 1)


def test_host_makes_the_process_report_once():
    host = CountingHost(parse([], environ={}), [MASTER, TCP_RECEIVER])
    assert host.process_report() is host.process_report()
    assert host.reads == 1
    assert [p.pid for p in host.process_report().of("os4xrd_tcpip")] == [11]


def test_host_knows_what_the_process_check_reports_as_stopped():
    both = CountingHost(parse(["--checks", "processes,ports"], environ={}), [MASTER])
    assert both.reported_not_running("os4xrd_tcpip")
    assert not both.reported_not_running("os4xrd")
    assert not both.reported_not_running("os4xclientd")  # not expected: nobody reports it
    ports_only = CountingHost(parse(["--checks", "ports"], environ={}), [MASTER])
    assert not ports_only.reported_not_running("os4xrd_tcpip")
    assert ports_only.reads == 0  # it did not even look


def test_configured_without_the_database_check_is_empty_and_offers_keep_the_first():
    host = Host(parse(["--checks", "ports", "--db-type", "mysql", "--pid-query", "SELECT 1"],
                      environ={}))
    assert host.configured() == Configured()  # database not selected: no connection
    offered = Host(parse([], environ={}))
    offered.offer_configured(Configured({"tcp_port": 4305}))
    offered.offer_configured(Configured({"tcp_port": 9999}))
    assert offered.configured().ports == {"tcp_port": 4305}



def test_one_threshold_gives_the_verdict_and_the_perfdata_fields():
    from os4xmon.core.thresholds import Threshold

    age = Threshold.above(3600, 7200)
    assert [age.state(value) for value in (3600, 3601, 7200, 7201)] == [Ok, Warn, Warn, Critical]
    reading = age.perfdata("oldest_action_age", 10.0, "s").value
    assert (reading.warning, reading.critical) == ("3600", "7200")
    days = Threshold.below(30, 7)
    assert [days.state(value) for value in (31, 30, 29, 7, 6.9)] == [Ok, Ok, Warn, Warn, Critical]
    reading = days.perfdata("oftp2_cert_days", None).value
    assert (reading.value, reading.warning, reading.critical) == (None, "30:", "7:")
    assert Threshold.above(None).state(1e12) == Ok


# -- the words every aspect shares --


def test_a_limit_is_said_as_the_admin_wrote_it():
    from os4xmon.core.text import limit_text

    assert [limit_text(value) for value in (2, 2.0, 2.5, 0.25, 3600)] == [
        "2", "2", "2.5", "0.25", "3600"]


def test_unusable_rows_name_the_first_and_count_the_rest():
    from os4xmon.core.findings import unusable_rows

    finding = unusable_rows("partners", 5, ["row 1: x", "row 2: y"], "fix it")
    assert (finding.state, finding.message, finding.advice) == (
        Unknown, "partners: 5 rows unusable: row 1: x; row 2: y; and 3 more", "fix it")
    assert unusable_rows("send queue", 1, ["row 7: z"], "").message == \
        "send queue: 1 row unusable: row 7: z"
