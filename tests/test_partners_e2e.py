"""The installed check_os4x's partner check against real MariaDB and PostgreSQL.

The simulator's database part writes a partner list, a send log and a receive log into a
throw-away database; the plugin reads them with the simulator's worked query. Every verdict
runs on both systems, through the real plugin.
"""

from __future__ import annotations

import socket
from typing import Iterator

import pytest
from dbtools import KINDS, ScratchDatabase, reachable, silent_server
from helpers import assert_status, needs_server, run_plugin

from os4xmon.simulator import __main__ as simulator_main
from os4xmon.simulator import database as simulated
from os4xmon.simulator.transferlog import PARTNER_QUERY

pytestmark = pytest.mark.server
LABELS = {"partners", "partners_silent", "partners_failing", "partner_silence_max"}
THRESHOLDS = ("--silence-warning", "1d", "--silence-critical", "3d", "--failures-warning", "3",
              "--failures-critical", "10")


@pytest.fixture(params=KINDS)
def db(request: pytest.FixtureRequest) -> Iterator[ScratchDatabase]:
    kind = request.param
    needs_server(reachable(kind), f"{kind} is not reachable on 127.0.0.1")
    database = ScratchDatabase(kind)
    database.create()
    yield database
    database.drop()


def fill(db: ScratchDatabase, *args: str) -> None:
    """Lays out the simulator's OS4X-like database with these log options, no processes."""
    parsed = simulator_main.build_parser().parse_args(["run", *db.simulator_args(), *args])
    simulated.after_start(parsed, simulator_main.scenario_from(parsed), [])


def check(db: ScratchDatabase, *args: str, thresholds=THRESHOLDS, query: str | None = None):
    run = run_plugin("--checks", "partners", *db.plugin_args(None), "--partner-query",
                     query or PARTNER_QUERY[db.kind], *thresholds, *args, "-v")
    assert set(run.perfdata) >= LABELS, run.stdout
    return run


def item(run, label: str) -> str:
    """The whole perfdata item of label: value, unit, warn, crit, min."""
    items = dict(part.split("=", 1) for part in run.first_line.split(" | ", 1)[1].split())
    return items[label]


def entries(*texts: str) -> list[str]:
    return [word for text in texts for word in ("--log-entry", text)]


def test_partners_that_send_and_receive_are_ok(db):
    fill(db, *entries("in:ACME:ok:600", "out:ACME:ok:300", "in:BOLT:ok:60",
                      "out:BOLT:failed:30:ESID 09 time out", "out:BOLT:ok:120"))
    run = check(db)
    assert_status(run, 0, "2 partners: files flow, none silent or failing")
    assert run.perfdata["partners"] == "2" and run.perfdata["partners_silent"] == "0"
    assert 595 <= run.perf_number("partner_silence_max") <= 700
    assert item(run, "partner_silence_max").endswith("s;86400;259200;0")
    assert any(line.startswith("partner BOLT, out: OK, last sent 2m") and
               "1 failed in the window, last: ESID 09 time out" in line for line in run.lines)


def test_the_scenario_every_fault_named_worst_first(db):
    fill(db, "--log-scenario", "partners")
    run = check(db)
    assert_status(run, 2)
    problems = [line for line in run.lines if line.startswith(("CRITICAL: ", "WARNING: "))]
    assert problems[0] == "CRITICAL: nothing ever sent to NEVER-SENT: no successful transfer " \
                          "in the log"
    assert problems[1:] == ["WARNING: nothing received from SILENT-IN for 2d 0h (more than 1d)",
                            "WARNING: 7 failed sends to FAILING in the window (more than 3), "
                            "last: ESID 04 invalid password"]
    assert run.first_line.startswith("OS4X CRITICAL - nothing ever sent to NEVER-SENT")
    assert (run.perfdata["partners"], run.perfdata["partners_silent"],
            run.perfdata["partners_failing"]) == ("4", "2", "1")
    assert any(line.startswith("  what to do: ask SILENT-IN whether it sent anything")
               for line in run.lines)
    assert any(line.startswith("  what to do: read the send log for FAILING") for line in run.lines)
    partner_lines = [line for line in run.lines if line.startswith("partner ")]
    assert len(partner_lines) == 8 and partner_lines[0].startswith("partner NEVER-SENT, out: "
                                                                   "CRITICAL, last sent never")


@pytest.mark.parametrize(("age", "code"), [(3600, 0), (90000, 1), (300000, 2)])
def test_silence_in_one_direction(db, age, code):
    fill(db, *entries(f"in:AUDI:ok:{age}", "out:AUDI:ok:60"))
    run = check(db)
    assert_status(run, code)
    if code:
        assert run.first_line.startswith(f"OS4X {('', 'WARNING', 'CRITICAL')[code]} - nothing "
                                         "received from AUDI for ")


@pytest.mark.parametrize(("failures", "code"), [(3, 0), (4, 1), (11, 2)])
def test_failing_sends(db, failures, code):
    fill(db, *entries("in:VW:ok:60", "out:VW:ok:120",
                      *(f"out:VW:failed:{30 + n}:ESID 04 invalid password"
                        for n in range(failures))))
    run = check(db)
    assert_status(run, code)
    if code:
        assert f"{failures} failed sends to VW in the window (more than " \
               f"{3 if code == 1 else 10}), last: ESID 04 invalid password" in run.first_line


def test_failures_outside_the_window_do_not_count(db):
    fill(db, *entries("in:VW:ok:60", "out:VW:ok:120",
                      *(f"out:VW:failed:{2 * 86400 + n}:ESID 04" for n in range(20))))
    assert_status(check(db), 0)


@pytest.mark.parametrize(("thresholds", "code"), [
    (("--silence-warning", "1d"), 1), (("--silence-critical", "3d"), 2),
    (("--failures-warning", "5"), 0)])
def test_a_partner_that_never_sent_is_silent_beyond_any_threshold(db, thresholds, code):
    fill(db, "--log-partner", "NEW", *entries("in:ACME:ok:1", "out:ACME:ok:1"))
    run = check(db, thresholds=thresholds)
    assert_status(run, code)
    if code:
        assert "nothing ever received from NEW: no successful transfer in the log" in run.stdout
        assert "nothing ever sent to NEW: no successful transfer in the log" in run.stdout


def test_inactive_partners_are_left_out_by_the_query(db):
    fill(db, "--log-inactive", "GONE", *entries("in:ACME:ok:1", "out:ACME:ok:1"))
    assert_status(check(db), 0, "1 partner:")


def test_a_partners_own_rhythm(db):
    fill(db, *entries("in:WEEKLY:ok:400000", "out:WEEKLY:ok:60", "in:DAILY:ok:60",
                      "out:DAILY:ok:60"))
    assert_status(check(db), 2, "nothing received from WEEKLY")
    run = check(db, "--partner-silence", "WEEKLY/in=8d,10d")
    assert_status(run, 0)
    run = check(db, "--partner-silence", "WEEKLY=2d")  # its own: only a warning, both ways
    assert_status(run, 1, "nothing received from WEEKLY for 4d 15h (more than 2d)")


def test_one_partner_with_its_perfdata(db):
    fill(db, "--log-scenario", "partners")
    run = check(db, "--partner", "FAILING")
    assert_status(run, 1, "7 failed sends to FAILING")
    assert "SILENT-IN" not in run.stdout and "NEVER-SENT" not in run.stdout
    assert run.perfdata["partners"] == "1"
    assert 895 <= run.perf_number("FAILING_in_age") <= 1000
    assert 17995 <= run.perf_number("FAILING_out_age") <= 18100
    assert item(run, "FAILING_out_age").endswith("s;86400;259200;0")
    assert item(run, "FAILING_failures") == "7;3;10;0"
    run = check(db, "--partner", "NEVER-SENT")
    assert_status(run, 2, "nothing ever sent to NEVER-SENT")
    assert item(run, "NEVER_SENT_out_age") == "U;86400;259200;0"


def test_a_named_partner_the_query_does_not_return_is_unknown(db):
    fill(db, "--log-scenario", "partners")
    run = check(db, "--partner", "ACME", "--partner", "ACMEE")
    assert_status(run, 3, "partner ACMEE is not among the rows of --partner-query")
    assert run.perfdata["ACMEE_in_age"].startswith("U")
    assert run.perf_number("ACME_in_age") > 0


def test_bad_rows_and_no_rows_are_unknown(db):
    fill(db, *entries("in:ACME:ok:1"))
    run = check(db, query="SELECT 'A', 'sideways', 5, 0")
    assert_status(run, 3, "partners: 1 row unusable: row 1 (partner A): direction 'sideways'")
    run = check(db, query="SELECT name, 'in', 5, 0 FROM {prefix}partner WHERE 1 = 0")
    assert_status(run, 3, "--partner-query returned no rows")
    run = check(db, query="SELECT 'A', 'in', 5")
    assert_status(run, 3, "--partner-query returns 3 columns, expected 4 or 5")


def test_a_writing_query_never_reaches_the_server(db):
    fill(db, *entries("in:ACME:ok:1"))
    for query in ("DELETE FROM os4x_send_log", "SELECT 1; DELETE FROM os4x_send_log",
                  "SELECT name, 'in', 1, 0 FROM os4x_partner FOR UPDATE"):
        run = run_plugin("--checks", "partners", *db.plugin_args(None), "--partner-query",
                         query, *THRESHOLDS)
        assert_status(run, 3, "--partner-query")
    assert db.rows("SELECT COUNT(*) FROM os4x_receive_log") == [(1,)]


def test_a_refused_query_is_refused_before_any_connection():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(0.5)
        run = run_plugin("--checks", "partners", "--db-type", "mysql", "--db-host", "127.0.0.1",
                         "--db-port", str(listener.getsockname()[1]), "--partner-query",
                         "UPDATE os4x_partner SET active = 0", *THRESHOLDS)
        assert_status(run, 3, "--partner-query: the query must be one read-only SELECT")
        with pytest.raises(socket.timeout):
            listener.accept()


def test_missing_table_and_unreachable_database(db):
    run = check(db)  # no tables laid out
    assert_status(run, 3, "partners: database table missing")
    assert "what to do: check --db-prefix" in run.stdout
    run = run_plugin("--checks", "partners", "--db-type", db.kind, "--db-host", "127.0.0.1",
                     "--db-port", "1", "--partner-query", "SELECT 1, 2, 3, 4", *THRESHOLDS,
                     "--db-error-state", "critical", "-t", "5")
    assert_status(run, 2, "partners: database unreachable")
    assert run.perfdata["partners"] == "U"


@pytest.mark.parametrize("kind", KINDS)
def test_a_silent_server_ends_within_the_timeout(kind):
    with silent_server() as port:
        run = run_plugin("--checks", "partners", "--db-type", kind, "--db-host", "127.0.0.1",
                         "--db-port", str(port), "--partner-query", "SELECT 1, 2, 3, 4",
                         *THRESHOLDS, "-t", "3")
    assert_status(run, 3, "partners: database silent")
    assert run.seconds < 3 + 1.5


def test_the_config_file_holds_the_repeated_options(db, tmp_path):
    fill(db, "--log-scenario", "partners")
    config = tmp_path / "check_os4x.ini"
    config.write_text("[check_os4x]\n"
                      f"partner-query = {PARTNER_QUERY[db.kind]}\n"
                      "silence-warning = 1d\n"
                      "partner-silence = SILENT-IN/in=3d NEVER-SENT/out=,1h\n"
                      "partner = SILENT-IN FAILING\n")
    config.chmod(0o600)
    run = run_plugin("--checks", "partners", *db.plugin_args(None), "--config", str(config))
    assert_status(run, 0, "2 partners: files flow")
    assert set(run.perfdata) >= {"SILENT_IN_in_age", "FAILING_failures"}


def test_the_query_selects_the_partner_check_by_default(db):
    fill(db, "--log-scenario", "partners")
    run = run_plugin(*db.plugin_args(None), "--partner-query", PARTNER_QUERY[db.kind],
                     *THRESHOLDS, "-vv")
    assert "checks run = processes,ports,database,partners" in run.stdout
    assert run.perfdata["partners"] == "4"


def test_discover_lists_the_transfer_log_columns(db):
    fill(db, "--log-scenario", "partners")
    run = run_plugin(*db.plugin_args(None), "--db-discover")
    assert run.code == 0, run.stdout
    start = run.lines.index("transfer logs: tables for --partner-query (partner, direction, "
                            "seconds since the last success, failed transfers in the window[, "
                            "reason]; worked queries in docs/partners.md):")
    listed = run.lines[start:]
    for table in ("os4x_partner", "os4x_send_log", "os4x_receive_log"):
        assert f"  {table}" in listed
    assert any(line.startswith("    finished_at timestamp") for line in listed), listed
    assert not any(line == "  os4x_send_queue" for line in listed)
    for table in ("os4x_partner", "os4x_send_log", "os4x_receive_log"):
        assert any("GRANT SELECT ON" in line and table in line for line in run.lines), table


def test_5000_partners_within_the_default_timeout(db):
    """Scale through the real drivers: 5,000 healthy partners and the scenario's four, 10,008
    rows (more than the other queries' 10,000-row limit: these are folded, not kept)."""
    fill(db, "--log-scenario", "partners", "--log-partners", "5000")
    run = check(db)
    assert_status(run, 2, "nothing ever sent to NEVER-SENT")
    assert run.perfdata["partners"] == "5004"
    assert sum(1 for line in run.lines if line.startswith("partner ")) == 10008
    assert any(line.startswith("transfer logs read in ") and "10008 rows" in line
               for line in run.lines)


ROWS = {"mysql": "SELECT CONCAT('P', seq), 'in', seq, 0 FROM seq_1_to_{n}",
        "postgresql": "SELECT 'P' || g, 'in', g, 0 FROM generate_series(1, {n}) g"}


def test_too_many_partners_end_the_read_midway_with_one_line(db):
    """The folder refuses the result while rows still arrive: the connection is dropped, not
    drained (MariaDB's unbuffered result, PostgreSQL's server-side cursor)."""
    run = check(db, query=ROWS[db.kind].format(n=25000))
    assert_status(run, 3, "--partner-query returns more than 20000 partners: one row per "
                  "partner and direction (GROUP BY)")
    assert run.perfdata["partners"] == "U"
    assert run.stderr == ""  # no driver complaining while it is dropped


def test_many_rows_of_few_partners_are_folded(db):
    few = {"mysql": "SELECT CONCAT('P', seq % 7), 'in', seq, 0 FROM seq_1_to_30000",
           "postgresql": "SELECT 'P' || (g % 7), 'in', g, 0 FROM generate_series(1, 30000) g"}
    run = check(db, query=few[db.kind], thresholds=("--failures-warning", "1"))
    assert_status(run, 0, "7 partners: files flow")
    assert any(line.startswith("transfer logs read in ") and "30000 rows, 7 partners" in line
               for line in run.lines), run.stdout
