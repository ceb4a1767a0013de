"""The worst day on real MariaDB and PostgreSQL: a backlog of tens of thousands of entries and a
queue table of a million rows give CRITICAL naming the partner, in both forms of the contract;
a read that -t cuts short keeps its CRITICAL; rows stream through the drivers in bounded memory.

The rows are made by the server itself (MariaDB's sequence tables, PostgreSQL's
generate_series), so that setting up a million rows takes seconds.
"""

from __future__ import annotations

import shlex
import tracemalloc
from typing import Iterator

import pytest
from dbtools import HOST, KINDS, PORTS, ScratchDatabase, reachable
from helpers import assert_status, needs_server, run_plugin

from os4xmon.checks.sendqueue.discover import SUMMARY_INDEX, SUMMARY_QUERY
from os4xmon.checks.sendqueue.fold import Fold
from os4xmon.db.drivers import SILENT, ConnectParams, DatabaseError, Deadline, connect
from os4xmon.simulator import __main__ as simulator_main
from os4xmon.simulator import database as simulated

pytestmark = pytest.mark.server
STATUS = simulated.STATUS_CODES


@pytest.fixture(params=KINDS)
def db(request: pytest.FixtureRequest) -> Iterator[ScratchDatabase]:
    kind = request.param
    needs_server(reachable(kind), f"{kind} is not reachable on 127.0.0.1")
    database = ScratchDatabase(kind)
    database.create()
    args = simulator_main.build_parser().parse_args(["run", *database.simulator_args()])
    simulated.after_start(args, simulator_main.scenario_from(args), [])  # the empty tables
    yield database
    database.drop()


def add_entries(db: ScratchDatabase, count: int, partner: str, state: str, age: int,
                tries: int, partners: int = 1) -> None:
    """count entries made by the server; with partners > 1 spread over partner0, partner1..."""
    name = {"mysql": "CONCAT('{p}', n % {k})", "postgresql": "'{p}' || (n % {k})"}[db.kind] \
        .format(p=partner, k=partners) if partners > 1 else f"'{partner}'"
    if db.kind == "mysql":
        source = f"(SELECT seq AS n FROM seq_1_to_{count}) AS s"
        stamp = f"NOW() - INTERVAL {age} SECOND"
    else:
        source = f"generate_series(1, {count}) AS s(n)"
        stamp = f"now() - interval '{age} seconds'"
    db.rows(f"INSERT INTO os4x_send_queue (id, server_id, partner, filename, status, "
            f"send_tries, queued_at) SELECT n, 0, {name}, 'file', {STATUS[state]}, {tries}, "
            f"{stamp} FROM {source}")


def check(db: ScratchDatabase, query: str, *args: str):
    return run_plugin("--checks", "queue", *db.plugin_args(None), "--queue-query", query,
                      *args, "-v")


def test_a_backlog_of_20000_entries_is_critical_naming_the_partner(db):
    add_entries(db, 20000, "ODETTE-STUCK", "taken", 5 * 3600, 12)
    add_entries(db, 50, "ACME", "new", 60, 0)
    run = check(db, simulated.QUEUE_QUERY[db.kind])
    assert_status(run, 2, "send queue: files to partner ODETTE-STUCK not leaving, an entry "
                  "taken by send queue for 5h 0m (more than 4h 0m)",
                  "partner ODETTE-STUCK unreachable, 12 send tries")
    assert run.perfdata["queue_taken"] == "20000" and run.perfdata["queue_new"] == "50"
    assert "send queue read in" in run.stdout and "20050 rows (per entry)" in run.stdout
    summary = check(db, SUMMARY_QUERY[db.kind])
    assert summary.first_line == run.first_line.replace(
        run.perfdata["queue_oldest_age"], summary.perfdata["queue_oldest_age"])  # a second on
    assert "2 rows (summary)" in summary.stdout


def test_a_million_rows_summed_up_by_the_server_name_the_partner(db):
    add_entries(db, 900000, "PARTNER-", "sent", 86400, 0, partners=40)
    add_entries(db, 99000, "PARTNER-", "new", 30, 0, partners=40)
    add_entries(db, 1000, "ODETTE-STUCK", "new", 6 * 3600, 4)
    discover = run_plugin(*db.plugin_args(None), "--db-discover")
    shown = next(line for line in discover.lines if line.startswith("    --queue-query "))
    (query,) = shlex.split(shown.split("--queue-query ", 1)[1])
    assert query == SUMMARY_QUERY[db.kind]  # --db-discover shows the query that works here
    index = discover.lines[discover.lines.index(shown) + 2].strip()
    assert index == SUMMARY_INDEX[db.kind].format(prefix="os4x_") + ";"
    db.rows(index.rstrip(";"))
    db.rows(("ANALYZE TABLE" if db.kind == "mysql" else "ANALYZE") + " os4x_send_queue")
    # the index is what the server reads: the plan names it (PostgreSQL's for a cursor too,
    # which is how the plugin reads)
    sql = query.replace("{prefix}", "os4x_")
    if db.kind == "mysql":
        plan = " ".join(str(value) for row in db.rows(f"EXPLAIN {sql}") for value in row)
    else:
        plan = " ".join(row[0] for row in db.rows(f"EXPLAIN DECLARE c NO SCROLL CURSOR FOR {sql}"))
    assert index.split()[2] in plan, plan
    run = check(db, query, "-t", "30")
    assert_status(run, 2, "send queue: files to partner ODETTE-STUCK not leaving, an entry new "
                  "in queue for 6h 0m", "partner ODETTE-STUCK unreachable, 4 send tries")
    assert run.perfdata["queue_new"] == "100000"
    assert "41 rows (summary)" in run.stdout


def slow_rows(kind: str, count: int) -> str:
    """A per-entry query whose server makes each row wait a little: a slow answer of many rows."""
    if kind == "mysql":
        return (f"SELECT 'STUCK', 'taken', 99999 + SLEEP(0.002), 12 "
                f"FROM seq_1_to_{count}")
    return (f"SELECT 'STUCK', 'taken', 99999 + length(pg_sleep(0.002)::text), 12 "
            f"FROM generate_series(1, {count})")


def test_a_read_cut_short_by_the_timeout_keeps_its_critical(db):
    run = check(db, slow_rows(db.kind, 20000), "-t", "4")
    assert_status(run, 2, "send queue: files to partner STUCK not leaving")
    assert "send queue: database silent" in run.stdout, run.stdout
    assert " rows, judged above" in run.stdout
    assert run.seconds < 4 + 1.5
    assert run.perfdata["queue_taken"] == "U"


def params(db: ScratchDatabase) -> ConnectParams:
    return ConnectParams(db.kind, db.name, HOST, PORTS[db.kind], user="root")


def stream_peak(db: ScratchDatabase, count: int) -> tuple[int, int]:
    """Rows streamed from the server into a fold: (rows, the peak of Python's memory)."""
    query = {"mysql": f"SELECT CONCAT('P', seq % 37), 'new', seq % 1000, 0 "
                      f"FROM seq_1_to_{count}",
             "postgresql": f"SELECT 'P' || (n % 37), 'new', n % 1000, 0 "
                           f"FROM generate_series(1, {count}) AS s(n)"}[db.kind]
    connection = connect(params(db), Deadline(60))
    try:
        tracemalloc.start()
        with connection.stream(query) as rows:
            fold = Fold(rows.width).add_all(rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        connection.close()
    return fold.rows, peak


def test_rows_stream_through_the_driver_in_bounded_memory(db):
    small_rows, small = stream_peak(db, 1000)
    rows, peak = stream_peak(db, 40000)  # kept as a list: several MiB
    assert (small_rows, rows) == (1000, 40000)
    assert peak < small + 256 * 1024, (small, peak)


def test_the_stream_raises_in_words_with_the_rows_counted(db):
    connection = connect(params(db), Deadline(2))
    try:
        with connection.stream(slow_rows(db.kind, 5000)) as rows:
            fold = Fold(rows.width)
            with pytest.raises(DatabaseError) as failed:
                for row in rows:
                    fold.add(row)
    finally:
        connection.close()
    assert failed.value.kind == SILENT
    assert 0 < rows.count == fold.rows < 5000
