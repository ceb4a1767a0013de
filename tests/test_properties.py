"""Property tests: whatever the watched system says, no exception escapes and the output stays
one valid status line with well-formed perfdata and an exit code in 0..3."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from os4xmon.cli import read_settings as options
from os4xmon.cli.assemble import build_check
from os4xmon.core import execution
from os4xmon.core.text import printable
from os4xmon.facts.host import Host
from os4xmon.os4x import daemons
from os4xmon.sources.proctable import (
    ProcessInfo,
    parse_cmdline,
    parse_real_uid,
    parse_stat,
    table_from,
)

pytestmark = pytest.mark.unit

STATUS = re.compile(r"^OS4X (OK|WARNING|CRITICAL|UNKNOWN) - [^|\n]*( \| (?P<perf>.*))?$")
PERF_ITEM = re.compile(r"^(?P<label>[^'= ]+|'[^'=]+')=(?P<value>-?[0-9.]+|U)(?P<uom>[a-zA-Z%]*)"
                       r"(;[^;]*){0,4}$")
NAMES = st.sampled_from(["os4xrd", "os4xrd_tcpip", "os4xrd_tcpip_tls", "os4xrd_capi_0",
                         "os4xsqd", "os4xclientd", "os4xdebugd", "grep", "bash", "os4xrd.sh"])
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40) | \
    st.binary(max_size=40).map(lambda raw: raw.decode("utf-8", "surrogateescape"))


def assert_valid_output(text: str, code: object) -> None:
    assert code in (0, 1, 2, 3)
    first = text.splitlines()[0]
    match = STATUS.match(first)
    assert match, first
    for item in (match.group("perf") or "").split():
        assert PERF_ITEM.match(item), item


@given(st.binary(max_size=300))
def test_parse_stat_never_raises(data):
    line = parse_stat(data)
    assert line is None or line.ppid >= 0


@given(st.binary(max_size=300))
def test_parse_cmdline_and_status_never_raise(data):
    assert isinstance(parse_cmdline(data), tuple)
    uid = parse_real_uid(data)
    assert uid is None or uid >= 0


@given(st.one_of(st.none(), st.lists(TEXT, max_size=4).map(tuple)), TEXT)
def test_daemon_of_is_exact_or_none(cmdline, comm):
    name = daemons.daemon_of(cmdline, comm)
    assert name is None or daemons.is_daemon_name(name)


@given(TEXT, st.integers(min_value=0, max_value=80))
def test_printable_is_one_safe_line(text, limit):
    shown = printable(text, limit)
    assert "|" not in shown and "\n" not in shown and "\r" not in shown
    assert len(shown) <= max(limit, 3)
    shown.encode("utf-8")  # no lone surrogates reach the output


@given(st.lists(st.text(max_size=30), max_size=6))
def test_any_arguments_give_settings_or_a_usage_error(argv):
    try:
        options.parse(argv, environ={})
    except options.UsageError as error:
        assert "\n" not in str(error)
    except SystemExit:  # --help or --version among the random words
        pass


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
@given(st.text(max_size=200))
def test_any_config_file_gives_settings_or_a_usage_error(tmp_path, content):
    config = tmp_path / "c.ini"
    config.write_text(content, encoding="utf-8")
    try:
        options.parse(["--config", str(config)], environ={})
    except options.UsageError as error:
        assert "\n" not in str(error)


PROCESS = st.builds(
    ProcessInfo,
    pid=st.integers(min_value=1, max_value=60),
    ppid=st.integers(min_value=0, max_value=60),
    comm=st.one_of(NAMES, TEXT),
    cmdline=st.one_of(st.none(), st.lists(st.one_of(NAMES, TEXT), max_size=3).map(tuple)),
    username=st.one_of(st.none(), st.sampled_from(["root", "www-data"]), TEXT),
    create_time=st.one_of(st.none(), st.floats(min_value=0, max_value=2e9)),
    rss=st.one_of(st.none(), st.integers(min_value=0, max_value=2**40)),
    zombie=st.booleans(),
)


class FixedHost(Host):
    def __init__(self, settings_, table):
        super().__init__(settings_)
        self._table = table


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
@given(st.lists(PROCESS, max_size=25, unique_by=lambda p: p.pid),
       st.sampled_from([[], ["--user", "www-data"], ["--isdn-controllers", "1", "--enterprise"],
                        ["--action-age-warning", "10", "--min-uptime", "100", "-v"]]))
def test_any_process_table_gives_one_valid_status_line(capsys, processes, args):
    table = table_from(processes, 2e9)
    settings_ = options.parse(["--checks", "processes", *args], environ={})
    check = build_check(settings_, FixedHost(settings_, table))
    with pytest.raises(SystemExit) as ended:
        execution.execute(check, 30, settings_.verbose)
    assert_valid_output(capsys.readouterr().out, ended.value.code)


THRESHOLD = st.one_of(st.floats(min_value=0, max_value=1e12, allow_nan=False),
                      st.integers(min_value=0, max_value=10**12)).map(repr)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=80)
@given(st.fixed_dictionaries({}, optional={
    "--action-age-warning": THRESHOLD, "--action-age-critical": THRESHOLD,
    "--min-uptime": THRESHOLD, "--response-warning": THRESHOLD,
    "--response-critical": THRESHOLD, "--cert-warning": THRESHOLD,
    "--cert-critical": THRESHOLD}))
def test_any_thresholds_give_a_usage_error_or_valid_ranges(capsys, chosen):
    """Any number an admin may type becomes a Nagios range nagiosplugin accepts, or one
    clear line (1e-06 once crashed the range parser)."""
    argv = ["--checks", "processes"] + [item for pair in chosen.items() for item in pair]
    try:
        settings_ = options.parse(argv, environ={})
    except options.UsageError as error:
        assert "\n" not in str(error)
        return
    table = table_from([ProcessInfo(10, 1, "os4xrd", ("/opt/os4x/bin/os4xrd",), "root",
                                    1.0, 1),
                        ProcessInfo(11, 1, "os4xsqd", ("/opt/os4x/bin/os4xsqd",), "root",
                                    1.0, 1),
                        ProcessInfo(12, 11, "os4xsqd", ("/opt/os4x/bin/os4xsqd",), "root",
                                    5.0, 1)], 2e9)
    check = build_check(settings_, FixedHost(settings_, table))
    with pytest.raises(SystemExit) as ended:
        execution.execute(check, 30, 0)
    output = capsys.readouterr().out
    assert_valid_output(output, ended.value.code)
    assert "internal error" not in output


DB_VALUE = st.one_of(st.none(), TEXT, st.binary(max_size=20), st.integers(-2**70, 2**70),
                     st.floats(allow_nan=True), st.sampled_from(["os4xrd", "os4xsqd", "0", ""]))


@given(st.lists(st.tuples(DB_VALUE, DB_VALUE), max_size=30),
       st.dictionaries(st.sampled_from(["os4xrd", "os4xrd_tcpip", "os4xsqd"]),
                       st.lists(st.integers(1, 99), max_size=3), max_size=3))
def test_any_database_rows_give_findings_or_one_clear_error(rows, instances):
    from os4xmon.checks.database import DatabaseError, Running, judge, parse_rows

    try:
        saved = parse_rows(2, rows)
    except DatabaseError as error:
        assert "\n" not in str(error) and "|" not in str(error)
        return
    verdict = judge(saved.rows, Running(instances), ["os4xrd", "os4xrd_tcpip", "os4xsqd"])
    for finding in verdict.findings:
        assert "\n" not in finding.message and "|" not in finding.message
    for name in saved.ignored:
        assert "\n" not in name and "|" not in name


@given(st.lists(st.tuples(st.sampled_from(["tcp_port", "tcp_port_tls", "other", ""]),
                          DB_VALUE), max_size=6))
def test_any_configuration_rows_give_valid_ports_only(rows):
    from os4xmon.checks.database import parse_ports

    ports, notes = parse_ports(rows)
    assert set(ports) <= {"tcp_port", "tcp_port_tls"}
    assert all(1 <= port <= 65535 for port in ports.values())
    assert all("\n" not in note for note in notes)
