#!/usr/bin/env python3
"""The send queue on the worst day, beside what users would write by hand.

    python benchmarks/worstday.py queue   [--rounds 7] [--sizes 10000,100000,1000000]
    python benchmarks/worstday.py aspects [--rounds 15]     (as root: a namespace of its own)

``queue``: on MariaDB and PostgreSQL (127.0.0.1, root, as the tests use them) it makes queue
tables of each size (90 % sent entries, the rest new for 40 partners but 1 % (at most 1,000)
for one stuck partner; the server makes the rows) with the index of docs/queue.md, then times, in
turn each round, Debian's ``check_mysql_query`` / ``check_pgsql`` (monitoring-plugins-standard)
and ``check_os4x --checks queue`` running **the same summary query**; the median wall time and
the peak resident memory (GNU time) of each. Then the per-entry form over 200,000 pending
rows: wall time, peak memory (``/usr/bin/time -v``), and whether it named the partner within
the default ``-t``.

``aspects``: every aspect at once (processes, ports with ``--probe``, database, queue, isdn)
against a simulated OS4X host, beside ``python -c "import nagiosplugin, pymysql"`` (the floor
of any Python plugin that reads MySQL). It runs itself again in private PID, mount and network
namespaces (the simulator's ports and /opt/os4x are nobody else's); the database is reached
through a socat bridge to its Unix socket there, which adds a little to that row.

Prints Markdown for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLUGINS = Path("/usr/lib/nagios/plugins")
HERE = Path(sys.executable).parent
DATABASE = "os4x_bench"
HOST = "127.0.0.1"
PORTS = {"mysql": 3306, "postgresql": 5432}
NAMES = {10000: "q10k_", 100000: "q100k_", 1000000: "q1m_", 200000: "p200k_"}


def admin(kind: str, database: str | None = None):
    if kind == "mysql":
        import pymysql

        return pymysql.connect(host=HOST, port=PORTS[kind], user="root", password="",
                               database=database, autocommit=True)
    import psycopg2

    connection = psycopg2.connect(host=HOST, port=PORTS[kind], user="root",
                                  dbname=database or "postgres")
    connection.autocommit = True
    return connection


def execute(kind: str, sql: str, database: str | None = DATABASE) -> None:
    connection = admin(kind, database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def make_table(kind: str, prefix: str, rows: list[tuple[int, str, int, int, int]]) -> None:
    """A send queue table of the simulator's layout: (count, partner, status, age, tries) runs,
    each made by the server, and the index of docs/queue.md."""
    from os4xmon.checks.sendqueue.discover import SUMMARY_INDEX

    table = f"{prefix}send_queue"
    stamp = "TIMESTAMP" if kind == "mysql" else "TIMESTAMP WITH TIME ZONE"
    execute(kind, f"DROP TABLE IF EXISTS {table}")
    execute(kind, f"CREATE TABLE {table} (id INTEGER NOT NULL, server_id INTEGER NOT NULL "
            "DEFAULT 0, partner VARCHAR(64), filename VARCHAR(255), status INTEGER NOT NULL, "
            f"send_tries INTEGER NOT NULL DEFAULT 0, queued_at {stamp} NULL)")
    for count, partner, status, age, tries in rows:
        if kind == "mysql":
            name = f"CONCAT('{partner}', seq % 40)" if partner.endswith("-") else f"'{partner}'"
            source, when = f"seq_1_to_{count}", f"NOW() - INTERVAL {age} SECOND"
            number = "seq"
        else:
            name = f"'{partner}' || (n % 40)" if partner.endswith("-") else f"'{partner}'"
            source, when = f"generate_series(1, {count}) AS s(n)", \
                f"now() - interval '{age} seconds'"
            number = "n"
        execute(kind, f"INSERT INTO {table} SELECT {number}, 0, {name}, 'file', {status}, "
                f"{tries}, {when} FROM {source}")
    execute(kind, SUMMARY_INDEX[kind].format(prefix=prefix))
    if kind == "postgresql":
        execute(kind, f"VACUUM ANALYZE {table}")


def setup(kind: str, sizes: list[int]) -> None:
    if kind == "mysql":
        execute(kind, f"CREATE DATABASE IF NOT EXISTS {DATABASE}", None)
    else:
        connection = admin(kind)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if not cursor.fetchall():
                cursor.execute(f"CREATE DATABASE {DATABASE}")
        connection.close()
    for size in sizes:
        stuck = min(1000, size // 100)
        sent = size * 9 // 10
        make_table(kind, NAMES[size], [(sent, "PARTNER-", 2, 86400, 0),
                                       (size - sent - stuck, "PARTNER-", 0, 30, 0),
                                       (stuck, "ODETTE-STUCK", 0, 6 * 3600, 4)])
    make_table(kind, NAMES[200000], [(190000, "PARTNER-", 0, 30, 1),
                                     (10000, "ODETTE-STUCK", 1, 5 * 3600, 12)])


def summary_query(kind: str, prefix: str) -> str:
    from os4xmon.checks.sendqueue.discover import SUMMARY_QUERY

    return SUMMARY_QUERY[kind].replace("{prefix}", prefix)


def commands(kind: str, prefix: str) -> dict[str, list[str]]:
    """The hand-written check and check_os4x, the same summary query."""
    query = summary_query(kind, prefix)
    plugin = [str(HERE / "check_os4x"), "--checks", "queue", "--db-type", kind, "--db-host",
              HOST, "--db-port", str(PORTS[kind]), "--db-user", "root", "--db-name", DATABASE,
              "--db-prefix", prefix, "--queue-query", SUMMARY_QUERY_TEXT[kind]]
    if kind == "mysql":
        by_hand = [str(PLUGINS / "check_mysql_query"), "-H", HOST, "-u", "root", "-d",
                   DATABASE, "-q", query]
        return {"check_mysql_query": by_hand, "check_os4x (mysql)": plugin}
    by_hand = [str(PLUGINS / "check_pgsql"), "-H", HOST, "-l", "root", "-d", DATABASE,
               "-q", query]
    return {"check_pgsql": by_hand, "check_os4x (postgresql)": plugin}


def _summary_text() -> dict[str, str]:
    from os4xmon.checks.sendqueue.discover import SUMMARY_QUERY

    return dict(SUMMARY_QUERY)


SUMMARY_QUERY_TEXT = _summary_text()


def wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def gnu_time(argv: list[str]) -> tuple[int, int, str]:
    """(peak resident KiB, exit code, first line) through /usr/bin/time -v."""
    done = subprocess.run(["/usr/bin/time", "-v", *argv], capture_output=True, text=True,
                          check=False)
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    code = re.search(r"Exit status: (\d+)", done.stderr)
    return (int(found.group(1)) if found else 0, int(code.group(1)) if code else done.returncode,
            (done.stdout.splitlines() or [""])[0])


def queue_bench(rounds: int, sizes: list[int]) -> None:
    for kind in ("mysql", "postgresql"):
        setup(kind, sizes)
    print(f"Send queue, summary form, {rounds} rounds, median wall time (peak memory):\n")
    print("| rows | check_mysql_query | check_os4x (MariaDB) | ratio | check_pgsql | "
          "check_os4x (PostgreSQL) | ratio |")
    print("|---|---|---|---|---|---|---|")
    for size in sizes:
        runs = {**commands("mysql", NAMES[size]), **commands("postgresql", NAMES[size])}
        for argv in runs.values():
            wall(argv)  # warm the server's caches and the page cache
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(rounds):
            for name, argv in runs.items():
                times[name].append(wall(argv))
        if size == max(sizes):
            largest = statistics.median(times["check_mysql_query"])
        cells = []
        names = list(runs)
        for by_hand, ours in ((names[0], names[1]), (names[2], names[3])):
            a, b = statistics.median(times[by_hand]), statistics.median(times[ours])
            mem_a, _, _ = gnu_time(runs[by_hand])
            mem_b, code, first = gnu_time(runs[ours])
            assert code == 2 and "ODETTE-STUCK" in first, first
            cells += [f"{a * 1000:.0f} ms ({mem_a / 1024:.1f} MiB)",
                      f"{b * 1000:.0f} ms ({mem_b / 1024:.1f} MiB)", f"{b / a:.2f}"]
        print(f"| {size:,} | " + " | ".join(cells) + " |")
    floor(rounds, largest, max(sizes), NAMES[max(sizes)])
    print("\nPer-entry form, 200,000 pending rows streamed (default -t 10 s):\n")
    print("| database | wall time | peak memory | state, first words |")
    print("|---|---|---|---|")
    from os4xmon.simulator.database import QUEUE_QUERY

    for kind in ("mysql", "postgresql"):
        argv = [str(HERE / "check_os4x"), "--checks", "queue", "--db-type", kind, "--db-host",
                HOST, "--db-port", str(PORTS[kind]), "--db-user", "root", "--db-name",
                DATABASE, "--db-prefix", NAMES[200000], "--queue-query", QUEUE_QUERY[kind]]
        seconds = statistics.median(wall(argv) for _ in range(3))
        memory, code, first = gnu_time(argv)
        print(f"| {kind} | {seconds:.2f} s | {memory / 1024:.1f} MiB | exit {code}: "
              f"{first.split(' | ')[0][:90]} |")


def floor(rounds: int, by_hand: float, size: int, prefix: str) -> None:
    """What any Python plugin pays before and besides the query, beside what 1.25 times
    check_mysql_query leaves it at the largest size: the query's own time is check_mysql_query
    on the table less check_mysql_query on SELECT 1 (its start, connection and login)."""
    start = [str(PLUGINS / "check_mysql_query"), "-H", HOST, "-u", "root", "-d", DATABASE,
             "-q", "SELECT 1"]
    python = str(HERE / "python")
    runs = {
        "`check_mysql_query -q 'SELECT 1'` (its start, connection and login)": start,
        "`python -I -c pass` (the interpreter's start)": [python, "-I", "-c", "pass"],
        "`python -c pass` (with site-packages, as a plugin starts)": [python, "-c", "pass"],
        "`python -c 'import nagiosplugin'`": [python, "-c", "import nagiosplugin"],
        "`python -c 'import pymysql'`": [python, "-c", "import pymysql"],
        "`benchmarks/bare_client.py` (log in, send the query, import nagiosplugin while the "
        "server counts, count the rows: nothing a plugin must do besides)":
            [python, "-I", str(Path(__file__).with_name("bare_client.py")), HOST, "3306",
             "root", DATABASE, summary_query("mysql", prefix)],
    }
    for argv in runs.values():
        wall(argv)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, argv in runs.items():
            times[name].append(wall(argv))
    medians = {name: statistics.median(values) for name, values in times.items()}
    query = by_hand - medians[next(iter(runs))]
    print(f"\nWhat 1.25 x check_mysql_query leaves a Python plugin at {size:,} rows: "
          f"{by_hand * 1250:.0f} ms in all, of which the query itself takes about "
          f"{query * 1000:.0f} ms: {(by_hand * 1.25 - query) * 1000:.0f} ms for everything else, "
          "even if every library loaded while the server counts.\n")
    print("| command | median wall time |")
    print("|---|---|")
    for name, seconds in medians.items():
        print(f"| {name} | {seconds * 1000:.1f} ms |")


def aspects_bench(rounds: int) -> None:
    """Every aspect at once against the simulator, beside the interpreter's floor."""
    work = Path(tempfile.mkdtemp(prefix="aspects-"))
    state = str(work / "sim.json")
    name = "os4x_bench_sim"
    subprocess.run([sys.executable, "-m", "os4xmon.simulator", "start", "--state-file", state,
                    "--isdn-controllers", "2", "--db-type", "mysql", "--db-host", HOST,
                    "--db-port", "3306", "--db-name", name, "--queue-entry", "ACME:new:60:0",
                    "--queue-entry", "BOLT:waiting:600:0"], check=True, capture_output=True)
    capi = f"{state}.capi"
    from os4xmon.simulator.database import QUEUE_QUERY

    try:
        every = [str(HERE / "check_os4x"), "--checks", "processes,ports,database,queue,isdn",
                 "--probe", "--isdn-controllers", "2", "--capi-file", f"{capi}/controller",
                 "--capiinfo", f"{capi}/capiinfo", "--db-type", "mysql", "--db-host", HOST,
                 "--db-user", "root", "--db-name", name, "--pid-query",
                 "SELECT daemon, pid FROM {prefix}daemon_state",
                 "--queue-query", QUEUE_QUERY["mysql"]]
        floor = [sys.executable, "-c", "import nagiosplugin, pymysql"]
        memory, code, first = gnu_time(every)
        print(f"check_os4x, every aspect: exit {code}: {first.split(' | ')[0][:120]}\n")
        times: dict[str, list[float]] = {"floor": [], "every": []}
        for _ in range(rounds):
            times["floor"].append(wall(floor))
            times["every"].append(wall(every))
        a, b = statistics.median(times["floor"]), statistics.median(times["every"])
        floor_memory, _, _ = gnu_time(floor)
        print("| command | median wall time | peak memory |")
        print("|---|---|---|")
        print(f"| `python -c \"import nagiosplugin, pymysql\"` | {a * 1000:.0f} ms | "
              f"{floor_memory / 1024:.1f} MiB |")
        print(f"| check_os4x, every aspect (processes, ports --probe, database, queue, isdn) "
              f"| {b * 1000:.0f} ms | {memory / 1024:.1f} MiB |")
        print(f"\nratio {b / a:.2f}")
    finally:
        subprocess.run([sys.executable, "-m", "os4xmon.simulator", "stop", "--state-file",
                        state], check=False, capture_output=True)


def isolate() -> None:
    """This script again, in private PID, mount and network namespaces, the databases bridged."""
    script = ("mount -t tmpfs tmpfs /opt/os4x; ip link set lo up; "
              "socat TCP-LISTEN:3306,bind=127.0.0.1,fork,reuseaddr "
              "UNIX-CONNECT:/run/mysqld/mysqld.sock & "
              "socat TCP-LISTEN:5432,bind=127.0.0.1,fork,reuseaddr "
              "UNIX-CONNECT:/var/run/postgresql/.s.PGSQL.5432 & sleep 0.3; "
              'exec "$0" "$@"')
    os.makedirs("/opt/os4x", exist_ok=True)
    os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", "--net", "--pid",
                          "--fork", "--mount-proc", "env", "BENCH_ISOLATED=1", "sh", "-c",
                          script, sys.executable, __file__, *sys.argv[1:]])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("queue", "aspects"))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    if args.what == "aspects" and not os.environ.get("BENCH_ISOLATED"):
        isolate()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}: "
          f"{platform.machine()}, {os.cpu_count()} CPUs, {_cpu()}, Python "
          f"{platform.python_version()}\n")
    if args.what == "queue":
        queue_bench(args.rounds, [int(size) for size in args.sizes.split(",")])
    else:
        aspects_bench(args.rounds)
    return 0


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
