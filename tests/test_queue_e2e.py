"""The installed check_os4x's send queue check against real MariaDB and PostgreSQL.

The simulator's database part writes an OS4X-like send queue (status codes, timestamps, send
tries) into a throw-away database; the plugin reads it with the simulator's worked CASE query.
Every verdict, threshold and bad state runs on both systems.
"""

from __future__ import annotations

from typing import Iterator

import pytest
from dbtools import KINDS, ScratchDatabase, reachable
from helpers import assert_status, needs_server, run_plugin

from os4xmon.simulator import __main__ as simulator_main
from os4xmon.simulator import database as simulated

pytestmark = pytest.mark.server
LABELS = {"queue_new", "queue_taken", "queue_waiting", "queue_blocked", "queue_oldest_age",
          "queue_max_tries"}


@pytest.fixture(params=KINDS)
def db(request: pytest.FixtureRequest) -> Iterator[ScratchDatabase]:
    kind = request.param
    needs_server(reachable(kind), f"{kind} is not reachable on 127.0.0.1")
    database = ScratchDatabase(kind)
    database.create()  # queries of literal rows need a database to connect to
    yield database
    database.drop()


def fill(db: ScratchDatabase, *entries: str, extra: tuple[str, ...] = ()) -> None:
    """Lays out the simulator's OS4X-like database with these queue entries, no processes."""
    args = simulator_main.build_parser().parse_args(
        ["run", *db.simulator_args(), *extra,
         *(item for entry in entries for item in ("--queue-entry", entry))])
    simulated.after_start(args, simulator_main.scenario_from(args), [])


def check(db: ScratchDatabase, *args: str, query: str | None = None):
    run = run_plugin("--checks", "queue", *db.plugin_args(None), "--queue-query",
                     query or simulated.QUEUE_QUERY[db.kind], *args, "-v")
    assert set(run.perfdata) >= LABELS, run.first_line
    return run


def test_healthy_queue_is_ok(db):
    fill(db, "ACME:new:60:0", "ACME:taken:120:1", "ACME:waiting:600:0", "BOLT:sent:900000:2")
    run = check(db)
    assert_status(run, 0, "3 entries pending in the send queue, oldest 2m ")
    assert run.perfdata == {"queue_new": "1", "queue_taken": "1", "queue_waiting": "1",
                            "queue_blocked": "0", "queue_oldest_age": run.perfdata[
                                "queue_oldest_age"], "queue_max_tries": "1"}
    assert 115 <= run.perf_number("queue_oldest_age") <= 180
    assert "send queue, partner BOLT: new 0, taken 0, waiting 0, blocked 0, sent 1" in run.lines


def test_empty_queue_is_ok(db):
    fill(db)
    run = check(db)
    assert_status(run, 0, "0 entries pending in the send queue")
    assert run.perfdata["queue_oldest_age"] == "U"  # nothing pending: no age, not 0


@pytest.mark.parametrize(("age", "code", "word"), [(5000, 1, "WARNING"),
                                                   (20000, 2, "CRITICAL")])
def test_old_entry_names_the_partner(db, age, code, word):
    fill(db, "ACME:new:60:0", f"STUCK:taken:{age}:0")
    run = check(db)
    assert_status(run, code, "send queue: files to partner STUCK not leaving, an entry taken "
                  "by send queue for")
    assert run.first_line.startswith(f"OS4X {word} - send queue: files to partner STUCK")
    assert "what to do: check the connection to partner STUCK" in run.stdout


def test_age_thresholds_are_options(db):
    fill(db, "ACME:new:700:0")
    assert_status(check(db), 0)
    assert_status(check(db, "--queue-age-warning", "600"), 1, "partner ACME not leaving")
    run = check(db, "--queue-age-warning", "300", "--queue-age-critical", "600")
    assert_status(run, 2, "(more than 10m 0s)")
    assert "queue_oldest_age=7" in run.first_line and ";300;600;0" in run.first_line


@pytest.mark.parametrize(("tries", "code"), [(3, 0), (4, 1), (10, 1), (11, 2)])
def test_send_tries_say_partner_unreachable(db, tries, code):
    fill(db, "ACME:new:10:1", f"FAR:waiting:10:{tries}", "GONE:sent:10:99")
    run = check(db)
    assert_status(run, code)
    assert run.perfdata["queue_max_tries"] == str(tries)
    if code:
        assert f"send queue: partner FAR unreachable, {tries} send tries of a pending entry" \
            in run.first_line


def test_tries_thresholds_are_options(db):
    fill(db, "FAR:new:10:2")
    assert_status(check(db, "--queue-tries-warning", "1", "--queue-tries-critical", "5"), 1,
                  "partner FAR unreachable, 2 send tries")
    assert_status(check(db, "--queue-tries-warning", "0", "--queue-tries-critical", "1"), 2)


def test_queue_length_names_the_partner_with_most_entries(db):
    fill(db, "ACME:new:1:0", "BUSY:new:1:0", "BUSY:taken:1:0", "BUSY:waiting:1:0",
         "ACME:sent:1:0", "ACME:blocked:1:0")
    assert_status(check(db), 1, "blocked")  # no length threshold by default
    run = check(db, "--queue-length-warning", "2", "--queue-length-critical", "3")
    assert_status(run, 2, "send queue: 4 entries pending (more than 3), most for partner "
                  "BUSY (3)")
    assert_status(check(db, "--queue-length-warning", "3"), 1, "4 entries pending")


def test_waiting_for_eerp(db):
    fill(db, "SLOW:waiting:90000:0", "ACME:waiting:100:0")
    assert_status(check(db), 0)  # no default: EERPs may take days by contract
    run = check(db, "--ack-age-warning", "3600", "--ack-age-critical", "86400")
    assert_status(run, 2, "send queue: partner SLOW has not acknowledged (EERP) a file for 1d 1h")
    assert "what to do: ask partner SLOW whether it received the file" in run.stdout
    assert_status(check(db, "--ack-age-warning", "3600"), 1, "partner SLOW has not acknowledged")


def test_blocked_entries_warn_with_partner_and_count(db):
    fill(db, "LOCKED:blocked:10:0", "LOCKED:blocked:10:0", "OTHER:blocked:10:0")
    run = check(db)
    assert_status(run, 1, "send queue: 2 entries blocked for partner LOCKED (1 more for 1 other "
                  "partner)")
    assert run.perfdata["queue_blocked"] == "3"
    assert "what to do: look at the blocked entries of partner LOCKED" in run.stdout


def test_sent_entries_never_alarm(db):
    fill(db, "OLD:sent:99999999:50", "OLD:sent:99999999:50")
    run = check(db, "--queue-length-warning", "0")
    assert_status(run, 0, "0 entries pending")
    assert run.perfdata["queue_max_tries"] == "0"


def test_web_labels_are_states_too(db):
    query = ("SELECT 'ACME', 'New In Queue', 5, 0 UNION ALL SELECT 'ACME', "
             "'taken by send queue', 5, 0 UNION ALL SELECT 'ACME', "
             "'WAITING FOR REMOTE ACKNOWLEDGE', 5, 0 UNION ALL SELECT 'ACME', "
             "'successfully sent', 5, 0 UNION ALL SELECT 'ACME', ' Blocked ', 5, 0")
    run = check(db, query=query)
    assert_status(run, 1, "1 entry blocked for partner ACME")
    assert [run.perfdata[f"queue_{state}"] for state in ("new", "taken", "waiting")] == \
        ["1", "1", "1"]


def test_unknown_state_is_unknown_naming_it(db):
    fill(db, "ACME:new:5:0", "ACME:7:5:0")
    run = check(db)
    assert_status(run, 3, "send queue: 1 row unusable: row 2 (partner ACME): state 'status 7' "
                  "is not one of new, taken, waiting, blocked, sent")


def test_a_bad_row_does_not_hide_a_stuck_partner(db):
    fill(db, "STUCK:new:99999:0", "ACME:9:5:0")
    run = check(db)
    assert_status(run, 2, "partner STUCK not leaving", "1 row unusable")


def test_negative_age_is_unknown(db):
    fill(db, "FUTURE:new:-3600:0")
    assert_status(check(db), 3, "row 1 (partner FUTURE): age -3", "is negative")


@pytest.mark.parametrize(("row", "said"), [
    ("'P', 'new', 'soon', 1", "age 'soon' is not a number"),
    ("'P', 'new', 5, 'many'", "send tries 'many' is not a number"),
    ("'P', 'new', 5, -2", "send tries -2 is negative"),
    ("'P', 'new', NULL, 1", "age is NULL"),
    ("NULL, 'new', 5, 1", "partner is NULL"),
    ("'P', NULL, 5, 1", "state is NULL"),
    ("'P', 'new', 5, 2.5", "send tries 2.5 is not a whole number"),
])
def test_hostile_values_are_a_clear_unknown(db, row, said):
    run = check(db, query=f"SELECT {row}")
    assert_status(run, 3, said)
    assert "Traceback" not in run.stdout


def test_partner_names_are_escaped(db):
    fill(db, "EVIL\x07|crit=1\nX:blocked:5:0")
    run = check(db)
    assert_status(run, 1, "blocked for partner EVIL\\x07!crit=1\\nX")
    assert run.first_line.count("|") == 1


def test_wrong_column_count_is_unknown(db):
    assert_status(check(db, query="SELECT 'P', 'new', 5"), 3,
                  "--queue-query returns 3 columns, expected 4 (partner, state, age in seconds, "
                  "send tries) or 5 (partner, state, count, oldest age in seconds, most send "
                  "tries)")


def test_a_writing_query_never_reaches_the_server(db):
    fill(db, "ACME:new:5:0")
    table = "os4x_send_queue"
    for query in (f"DELETE FROM {table}", f"SELECT 1; DELETE FROM {table}",
                  f"SELECT partner, 'new', 1, 1 FROM {table}; DROP TABLE {table}"):
        # refused before any server sees it: by the aspect (checks.base.query_setup_problem)
        # here, or by the shared SQL guard when it checks the option itself (no perfdata)
        run = run_plugin("--checks", "queue", *db.plugin_args(None), "--queue-query", query)
        assert_status(run, 3, "--queue-query")
    assert db.rows(f"SELECT COUNT(*) FROM {table}") == [(1,)]


def test_prefix_and_missing_table(db):
    fill(db, "ACME:new:5:0", extra=("--db-prefix", "site2_"))
    assert_status(check(db, "--db-prefix", "site2_"), 0, "1 entry pending")
    run = check(db)  # os4x_send_queue does not exist
    assert_status(run, 3, "send queue: database table missing")
    assert "what to do: check --db-prefix" in run.stdout


def test_unreachable_database_follows_db_error_state(db):
    run = run_plugin("--checks", "queue", "--db-type", db.kind, "--db-host", "127.0.0.1",
                     "--db-port", "1", "--queue-query", "SELECT 1, 2, 3, 4",
                     "--db-error-state", "critical", "-t", "5")
    assert_status(run, 2, "send queue: database unreachable")
    assert set(run.perfdata) >= LABELS
    assert run.perfdata["queue_new"] == "U"


def test_queue_check_without_query_says_what_to_configure(db):
    run = run_plugin("--checks", "queue", *db.plugin_args(None))
    assert_status(run, 3, "send queue check not configured: set --queue-query")
    assert set(run.perfdata) >= LABELS


def test_queue_query_selects_the_queue_check_by_default(db):
    fill(db, "ACME:new:5:0")
    run = run_plugin(*db.plugin_args(), "--queue-query", simulated.QUEUE_QUERY[db.kind],
                     "-vv")
    assert "checks run = processes,ports,database,queue" in run.stdout
    assert run.perfdata["queue_new"] == "1"  # the processes are missing: not OK, but read


def test_discover_lists_the_send_queue_columns(db):
    fill(db, "ACME:new:5:0")
    run = run_plugin(*db.plugin_args(None), "--db-discover")
    assert run.code == 0, run.stdout
    assert "send queue: os4x_send_queue, columns for --queue-query (partner, state, age in " \
        "seconds, send tries; map the status with CASE, see docs/queue.md):" in run.lines
    shown = [line.split()[0] for line in run.lines if line.startswith("    ")]
    for column in ("partner", "status", "send_tries", "queued_at", "server_id"):
        assert column in shown, run.stdout
    assert "ports in os4x_configuration: tcp_port = 3305, tcp_port_tls = 6619" in run.lines
    then = next(i for i, line in enumerate(run.lines) if line.startswith("then check it"))
    assert then > run.lines.index("send queue: os4x_send_queue, columns for --queue-query "
                                  "(partner, state, age in seconds, send tries; map the status "
                                  "with CASE, see docs/queue.md):")
    assert any("GRANT SELECT ON" in line and "os4x_send_queue" in line
               for line in run.lines[then:]), run.stdout  # the monitoring user reads it too


def test_discover_without_send_queue_says_so(db):
    run = run_plugin(*db.plugin_args(None), "--db-discover")
    assert "send queue: no table os4x_send_queue; --queue-query must name the table that " \
        "holds the entries to send" in run.lines


@pytest.mark.parametrize("kind", KINDS)
def test_a_silent_server_ends_within_the_timeout(kind):
    from dbtools import silent_server

    with silent_server() as port:
        run = run_plugin("--checks", "queue", "--db-type", kind, "--db-host", "127.0.0.1",
                         "--db-port", str(port), "--queue-query", "SELECT 1, 2, 3, 4",
                         "-t", "3")
    assert_status(run, 3, "send queue: database silent")
    assert run.seconds < 3 + 1.5
    assert run.perfdata["queue_oldest_age"] == "U"
