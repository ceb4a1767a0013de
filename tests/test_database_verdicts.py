"""The database check's pure parts on fixture rows, hostile ones included: no server needed."""

from __future__ import annotations

import decimal

import pytest
from nagiosplugin.state import Critical, Warn

from os4xmon.checks import database
from os4xmon.checks.database import Running, SavedPid, judge, parse_pid, parse_ports, parse_rows
from os4xmon.core.settings import Settings
from os4xmon.core.text import printable
from os4xmon.db import access
from os4xmon.db.drivers import BAD_RESULT, ConnectParams, DatabaseError, one_line, scrub
from os4xmon.facts.configuration import configuration_query

pytestmark = pytest.mark.unit

EXPECTED = ("os4xrd", "os4xrd_tcpip", "os4xrd_tcpip_tls", "os4xsqd")
HEALTHY = Running({"os4xrd": [100], "os4xrd_tcpip": [101], "os4xrd_tcpip_tls": [102],
                   "os4xsqd": [200]},
                  {100: "os4xrd", 101: "os4xrd_tcpip", 102: "os4xrd_tcpip_tls", 200: "os4xsqd",
                   201: "os4xsqd", 300: None})


def saved(**pids: int | None) -> list[SavedPid]:
    return [SavedPid(name, pid, "" if pid else "NULL") for name, pid in pids.items()]


def healthy_rows(**changes: int | None) -> list[SavedPid]:
    pids: dict[str, int | None] = {"os4xrd": 100, "os4xrd_tcpip": 101,
                                   "os4xrd_tcpip_tls": 102, "os4xsqd": 200}
    pids.update(changes)
    return saved(**pids)


# -- parse_pid --


@pytest.mark.parametrize(("value", "pid"), [
    (1234, 1234), ("1234", 1234), (" 42 \n", 42), (b"77", 77), (decimal.Decimal(12), 12),
    (12.0, 12), ("+5", 5), (None, None), (0, None), ("", None), ("  ", None), ("0", None),
    (2**40, 2**40),
])
def test_parse_pid_accepts_whole_numbers_and_nothing(value, pid):
    assert parse_pid(value) == pid


@pytest.mark.parametrize("value", [
    "abc", "12abc", "1e3", "0x10", "12.5", 12.5, decimal.Decimal("1.5"), -3, "-3", True,
    float("nan"), float("inf"), "١٢", "1" * 40, "12 34",
])
def test_parse_pid_refuses_anything_else(value):
    with pytest.raises(ValueError):
        parse_pid(value)


@pytest.mark.parametrize("value", [10**30, decimal.Decimal("1e30"), decimal.Decimal("1E+400"),
                                   1e30, 1e300, "9" * 300, b"1" * 31])
def test_parse_pid_refuses_huge_numbers_of_every_type_alike(value):
    with pytest.raises(ValueError, match="is too large for a PID"):
        parse_pid(value)
    assert parse_pid(10**30 - 1) == 10**30 - 1  # the largest that is still taken
    assert parse_pid("9" * 30) == 10**30 - 1  # as text too


# -- parse_rows --


def test_parse_rows_keeps_daemons_and_lists_other_names():
    result = parse_rows(2, [("os4xrd", 100), (" os4xsqd ", "200"), ("housekeeping", 1),
                            (None, 5), (b"os4xrd_tcpip", None), ("OS4XRD", 3),
                            ("os4xrd_capi_12", 0)])
    assert result.rows == [SavedPid("os4xrd", 100), SavedPid("os4xsqd", 200),
                           SavedPid("os4xrd_tcpip", None, "NULL"),
                           SavedPid("os4xrd_capi_12", None, "'0'")]
    assert result.ignored == ["housekeeping", "NULL", "OS4XRD"]


def test_parse_rows_makes_hostile_names_printable():
    result = parse_rows(2, [("x|y=1\nOS4X OK", 1), (b"\xff\xfe", 2), ("a" * 500, 3)])
    assert result.ignored[0] == "x!y=1\\nOS4X OK"
    assert result.ignored[1] == printable(b"\xff\xfe")
    assert len(result.ignored[2]) == 40
    for name in result.ignored:
        assert "\n" not in name and "|" not in name


@pytest.mark.parametrize("width", [0, 1, 3])
def test_parse_rows_needs_two_columns(width):
    with pytest.raises(DatabaseError) as caught:
        parse_rows(width, [])
    assert caught.value.kind == BAD_RESULT
    assert f"returns {width} column" in str(caught.value)


def test_parse_rows_names_the_daemon_with_a_bad_pid():
    with pytest.raises(DatabaseError) as caught:
        parse_rows(2, [("os4xrd", 1), ("os4xsqd", "running\n|x")])
    message = str(caught.value)
    assert message.startswith("database query result unusable: the PID saved for os4xsqd is "
                              "not a PID: ")
    assert "\n" not in message and "|" not in message


def test_parse_rows_ignores_a_bad_pid_of_a_foreign_name():
    assert parse_rows(2, [("housekeeping", "n/a")]).ignored == ["housekeeping"]


# -- judge --


def states(verdict) -> list:
    return [finding.state for finding in verdict.findings]


def test_everything_agrees():
    verdict = judge(healthy_rows(), HEALTHY, EXPECTED)
    assert verdict.findings == []
    assert verdict.inconsistencies == 0
    assert "os4xsqd: saved pid 200, running pid 200" in verdict.compared


def test_stale_pid_of_a_daemon_that_does_not_run():
    running = Running({**HEALTHY.instances, "os4xsqd": []}, {})
    verdict = judge(healthy_rows(os4xsqd=4242), running, EXPECTED)
    assert verdict.findings == [database.Finding(
        Critical, "os4xsqd pid 4242 saved in the database, but no process has that pid: "
        "check that no os4xsqd runs, then start os4xsqd in forced mode")]


def test_stale_pid_reused_by_another_daemon():
    running = Running({**HEALTHY.instances, "os4xsqd": []}, {101: "os4xrd_tcpip"})
    (finding,) = judge(healthy_rows(os4xsqd=101), running, EXPECTED).findings
    assert finding.state == Critical
    assert finding.message.startswith("os4xsqd pid 101 saved in the database, but pid 101 is "
                                      "now os4xrd_tcpip (pid reused): check that no os4xsqd")


def test_stale_pid_reused_by_another_program():
    running = Running({**HEALTHY.instances, "os4xsqd": []}, {}, frozenset({555}))
    (finding,) = judge(healthy_rows(os4xsqd=555), running, EXPECTED).findings
    assert "pid 555 is another program (pid reused)" in finding.message
    assert "forced mode" in finding.message


def test_saved_pid_of_a_non_instance_process_of_the_daemon():
    running = Running({**HEALTHY.instances, "os4xsqd": []}, {201: "os4xsqd"})
    (finding,) = judge(healthy_rows(os4xsqd=201), running, EXPECTED).findings
    assert "pid 201 is not a running os4xsqd instance" in finding.message


@pytest.mark.parametrize("pid", [None, 0])
def test_running_without_a_saved_pid_is_a_warning(pid):
    rows = healthy_rows()
    rows[1] = SavedPid("os4xrd_tcpip", None, "NULL" if pid is None else "'0'")
    (finding,) = judge(rows, HEALTHY, EXPECTED).findings
    assert finding.state == Warn
    assert finding.message.startswith("os4xrd_tcpip pid 101 runs, but no pid is saved")


def test_running_without_a_row_is_a_warning():
    rows = [row for row in healthy_rows() if row.daemon != "os4xsqd"]
    (finding,) = judge(rows, HEALTHY, EXPECTED).findings
    assert finding == database.Finding(
        Warn, "os4xsqd pid 200 runs, but no pid is saved in the database (no row)")


def test_not_running_and_nothing_saved_is_left_to_the_process_check():
    running = Running({**HEALTHY.instances, "os4xsqd": []})
    rows = [row for row in healthy_rows() if row.daemon != "os4xsqd"]
    assert judge(rows, running, EXPECTED).findings == []


def test_saved_pid_differs_from_the_running_instance():
    (finding,) = judge(healthy_rows(os4xsqd=201), HEALTHY, EXPECTED).findings
    assert finding == database.Finding(
        Critical, "os4xsqd pid 201 saved in the database, but the running os4xsqd is pid 200: "
        "a second instance or a broken restart")


def test_two_rows_for_one_daemon():
    rows = [*healthy_rows(), SavedPid("os4xsqd", None, "NULL")]
    (finding,) = judge(rows, HEALTHY, EXPECTED).findings
    assert finding.state == Critical
    assert finding.message == ("os4xsqd saved 2 times in the database (pids 200, none): one "
                               "row per daemon expected")


def test_two_identical_rows_are_still_two_rows():
    rows = [*healthy_rows(), SavedPid("os4xrd", 100)]
    assert states(judge(rows, HEALTHY, EXPECTED)) == [Critical]


def test_saved_pid_among_two_running_instances_is_left_to_the_process_check():
    running = Running({**HEALTHY.instances, "os4xsqd": [200, 300]})
    assert judge(healthy_rows(), running, EXPECTED).findings == []


def test_daemons_in_the_rows_are_compared_even_when_not_expected():
    rows = [*healthy_rows(), SavedPid("os4xdebugd", 999), SavedPid("os4xrd_capi_0", 0, "'0'")]
    verdict = judge(rows, HEALTHY, EXPECTED)
    (finding,) = verdict.findings
    assert finding.message.startswith("os4xdebugd pid 999 saved in the database")
    assert "os4xrd_capi_0: saved no pid ('0'), not running" in verdict.compared


def test_every_finding_names_daemon_and_pid_first():
    running = Running({"os4xrd": [100], "os4xrd_tcpip": [101], "os4xsqd": [200]})
    rows = [SavedPid("os4xrd", 7), SavedPid("os4xrd_tcpip", None, "NULL"),
            SavedPid("os4xrd_tcpip_tls", 8), SavedPid("os4xsqd", 200), SavedPid("os4xsqd", 9)]
    verdict = judge(rows, running, EXPECTED)
    assert states(verdict) == [Critical, Warn, Critical, Critical]
    assert verdict.inconsistencies == 4
    for finding in verdict.findings:
        daemon = finding.message.split()[0]
        assert daemon in EXPECTED
        assert "pid" in finding.message.split(":")[0]


# -- parse_ports --


def test_ports_read_and_checked():
    ports, notes = parse_ports([("tcp_port", "3305"), ("tcp_port_tls", " 6619 "),
                                ("other", "1")])
    assert ports == {"tcp_port": 3305, "tcp_port_tls": 6619}
    assert notes == []


@pytest.mark.parametrize(("value", "note"), [
    ("http", "'http' is not a whole number"), ("0", "'0' is not a TCP port"),
    ("70000", "'70000' is not a TCP port"), ("-1", "'-1' is negative"),
    (None, "'' is not a whole number"), ("3305|x=1", "'3305!x=1' is not a whole number"),
])
def test_garbage_ports_are_ignored_with_a_note(value, note):
    ports, notes = parse_ports([("tcp_port", value), ("tcp_port_tls", "6619")])
    assert ports == {"tcp_port_tls": 6619}
    assert len(notes) == 1 and notes[0].startswith("tcp_port ignored: ")
    assert note in notes[0]


def test_conflicting_ports_are_ignored_and_repeated_equal_ones_kept():
    ports, notes = parse_ports([("tcp_port", "1"), ("tcp_port", "2"),
                                ("tcp_port_tls", "6619"), ("tcp_port_tls", "6619"), ("x",)])
    assert ports == {"tcp_port_tls": 6619}
    assert notes == ["tcp_port saved with different values (1, 2): ignored"]


# -- secrets and messages --


def test_scrub_removes_every_form_of_the_password():
    secret = "p'w\n|x"
    text = f"user {secret} and {secret!r} and p\\'w\\n|x"
    assert secret not in scrub(text, secret)
    assert "p\\'w\\n" not in scrub(text, secret)
    assert scrub("nothing", None) == "nothing"
    assert scrub("nothing", "") == "nothing"


def test_one_line_takes_the_first_line_scrubbed():
    error = Exception('connection failed: FATAL:  role "hunter2" does not exist\n\tmore')
    assert one_line(error, "hunter2") == 'connection failed: FATAL:  role "********" does not exist'
    assert one_line(Exception(1045, "Access denied for hunter2"), "hunter2") == \
        "Access denied for ********"


def test_connect_params_never_show_the_password():
    params = ConnectParams("mysql", "os4x", "db.example", 3306, user="u", password="hunter2")
    assert "hunter2" not in repr(params)
    assert params.where() == "mysql os4x at db.example:3306"
    assert ConnectParams("postgresql", "os4x").where() == "postgresql os4x at local socket"
    assert ConnectParams("mysql", "os4x", socket="/run/m.sock").where() == \
        "mysql os4x at /run/m.sock"


# -- the budget and the query --


def test_budget_leaves_a_margin_and_a_share_for_later_aspects(monkeypatch):
    import time

    from os4xmon.core import execution

    monkeypatch.setattr(execution, "_deadline", [time.monotonic() + 10.0])
    alone = Settings(timeout=10, checks=("database",))
    assert access.budget(alone) == pytest.approx(9.8, abs=0.05)
    with_ports = Settings(timeout=10, checks=("database", "ports"))
    assert access.budget(with_ports) == pytest.approx(4.9, abs=0.05)
    monkeypatch.setattr(execution, "_deadline", [time.monotonic() - 1.0])
    assert access.budget(Settings(timeout=0.1, checks=("database",))) == 0.05
    monkeypatch.setattr(execution, "_deadline", [])  # outside a run: -t itself
    assert access.budget(Settings(timeout=7, checks=("database",))) == 7


def test_prefix_is_replaced_everywhere_in_the_query():
    settings = Settings(pid_query="SELECT d, p FROM {prefix}a JOIN {prefix}b", db_prefix="x_")
    assert database.pid_query(settings) == "SELECT d, p FROM x_a JOIN x_b"
    assert "FROM x_configuration WHERE name IN ('tcp_port', 'tcp_port_tls', " \
        "'os4xclientd_port', 'os4xrd_stop_req', 'os4xsqd_stop_req')" in \
        configuration_query("x_")


# -- --db-discover's report --


def test_discover_picks_tables_by_name_and_suggests_a_query():
    from os4xmon.cli import db_discover

    rows = [("os4x_daemon_state", "daemon", "varchar"), ("os4x_daemon_state", "pid", "int"),
            ("os4x_partner", "id", "int"), ("os4x_partner", "name", "varchar"),
            ("os4x_locks", "holder", "varchar"), ("weird|table\n", "x", "int")]
    tables = db_discover.candidates(rows)
    assert [table.name for table in tables] == ["os4x_daemon_state", "os4x_locks"]
    assert tables[0].suggestion("os4x_") == "SELECT daemon, pid FROM {prefix}daemon_state"
    assert tables[1].suggestion("os4x_") is None
    lines = db_discover.report(Settings(db_name="os4x"), tables, 3, {"tcp_port": 3305},
                              ["tcp_port_tls ignored: 'x' is not a whole number"])
    assert lines[0].startswith("3 tables in database os4x; 2 may hold PIDs or daemons")
    assert "    pid int   <--" in lines
    assert "ports in os4x_configuration: tcp_port = 3305" in lines
    assert all("\n" not in line for line in lines)


def test_too_many_rows_is_an_unusable_result():
    from os4xmon.db.drivers import MAX_ROWS

    rows = [("os4xrd", 1)] * (MAX_ROWS + 1)
    with pytest.raises(DatabaseError, match="more than 10000 rows"):
        parse_rows(2, rows)
    assert len(parse_rows(2, rows[:MAX_ROWS]).rows) == MAX_ROWS


def test_many_rows_for_one_daemon_keep_the_line_short():
    rows = [SavedPid("os4xrd", pid) for pid in range(1, 1001)]
    (finding,) = judge(rows, HEALTHY, EXPECTED[:1]).findings
    assert finding.message == ("os4xrd saved 1000 times in the database (pids 1, 2, 3, 4, 5 "
                               "and 995 more): one row per daemon expected")


def test_exactly_five_pids_are_all_shown():
    rows = [SavedPid("os4xrd", pid) for pid in range(1, 6)]
    (finding,) = judge(rows, HEALTHY, EXPECTED[:1]).findings
    assert "(pids 1, 2, 3, 4, 5): one row" in finding.message


def test_the_advice_for_one_other_instance_and_for_several():
    one = Running({**HEALTHY.instances, "os4xsqd": [200]}, HEALTHY.daemon_by_pid)
    (finding,) = judge(healthy_rows(os4xsqd=999), one, EXPECTED).findings
    assert finding.advice.startswith("the running os4xsqd (pid 200) is not the one the database")


def test_exactly_as_many_inconsistencies_as_shown_need_no_more_line():
    count = database.MAX_FINDINGS
    rows = [SavedPid(f"os4xrd_capi_{index}", 10**6 + index) for index in range(count)]
    verdict = judge(rows, HEALTHY, ())
    assert len(verdict.findings) == count and not verdict.findings[-1].message.startswith("and")
    rows = [SavedPid(f"os4xrd_capi_{index}", 10**6 + index) for index in range(database.MAX_LINES)]
    assert not judge(rows, HEALTHY, ()).compared[-1].startswith("and")


def test_a_flood_of_daemon_names_is_capped_but_counted():
    rows = [SavedPid(f"os4xrd_capi_{index}", 10**6 + index) for index in range(500)]
    verdict = judge(rows, HEALTHY, ())
    assert len(verdict.findings) == database.MAX_FINDINGS + 1
    assert verdict.findings[-1] == database.Finding(
        Critical, "and 490 more inconsistencies in the database")
    assert verdict.inconsistencies == 500
    assert len(verdict.compared) == database.MAX_LINES + 1


def test_unexpected_driver_errors_become_one_scrubbed_line():
    from os4xmon.db import drivers

    params = ConnectParams("mysql", "os4x", "db", 3306, password="hunter2")
    error = drivers._unexpected(UnicodeDecodeError("utf-8", b"hunter2\xff", 7, 8, "hunter2"),
                                  params, "querying")
    assert error.kind == drivers.DRIVER_FAILED
    assert str(error).startswith("database driver failed (mysql os4x at db:3306): "
                                 "UnicodeDecodeError while querying: ")
    assert "hunter2" not in str(error) + error.driver_text


# -- the database check's advice --


def test_every_database_finding_has_advice():
    from os4xmon.checks.database import Running, SavedPid
    from os4xmon.checks.database import judge as judge_pids

    saved = [SavedPid("os4xrd", 10), SavedPid("os4xrd_tcpip", 99999),
             SavedPid("os4xsqd", 20), SavedPid("os4xsqd", 21), SavedPid("os4xclientd", 30)]
    running = Running({"os4xrd": [11, 12], "os4xrd_tcpip_tls": [13], "os4xclientd": [31]})
    verdict = judge_pids(saved, running, ["os4xrd", "os4xrd_tcpip", "os4xrd_tcpip_tls",
                                          "os4xsqd", "os4xclientd"])
    assert len(verdict.findings) == 5
    for finding in verdict.findings:
        assert finding.advice and "|" not in finding.advice, finding
    by_daemon = {f.message.split()[0]: f.advice for f in verdict.findings}
    assert "start /opt/os4x/bin/os4xrd in forced mode" in by_daemon["os4xrd_tcpip"]
    assert by_daemon["os4xrd"].startswith("2 instances of os4xrd run and none has the saved "
                                          "pid 10: stop all but one (pid 12")
    assert "restart os4xrd at a quiet moment so that os4xrd_tcpip_tls saves its pid" \
        in by_daemon["os4xrd_tcpip_tls"]


def test_every_kind_of_database_failure_has_advice():
    from os4xmon.db import drivers
    from os4xmon.db.access import error_advice

    kinds = [value for name, value in vars(drivers).items()
             if name.isupper() and isinstance(value, str) and value.startswith("database ")]
    assert len(kinds) >= 9
    for kind in kinds:
        assert error_advice(kind, "--queue-query"), kind


def test_the_host_is_asked_only_about_saved_pids_the_table_does_not_hold():
    """A saved pid of a process outside the table is 'alive' (reused by another program) when
    it exists; one in the table is OS4X's and never asked; one above 2**31 is no pid."""
    import os
    from types import SimpleNamespace

    from os4xmon.sources.proctable import ProcessInfo, table_from

    table = table_from([ProcessInfo(100, 1, "os4xrd", ("/opt/os4x/bin/os4xrd",))], 0.0)
    rows = [SavedPid("os4xrd", 100), SavedPid("os4xsqd", os.getpid()),
            SavedPid("os4xrd_tcpip", 2**31), SavedPid("os4xrd_tcpip_tls", 2**31 + 1)]
    report = SimpleNamespace(instances={})  # the one field running_from reads
    running = database.running_from(table, report, rows)  # type: ignore[arg-type]
    assert running.daemon_by_pid == {100: "os4xrd"}
    assert os.getpid() in running.alive and 100 not in running.alive
    assert 2**31 + 1 not in running.alive
