#!/usr/bin/env python3
"""check_os4x beside its alternatives, interleaved in one run so the machine's noise cancels.

    python benchmarks/bench.py [--rounds 15] [--loads 0,1000,5000] [--connections 9000]
                               [--pyz dist/check_os4x.pyz] [--markdown]

For each load on the host (extra ``sleep`` processes, or extra established TCP connections on
loopback, which this script opens and always closes), every command runs once per round, in
turn; the table shows the median wall time and the peak resident memory of each (through GNU
time), then the ratios the performance targets are stated in: the ratio of the medians, and
for two commands of one load also the median of each round's ratio ("paired"), which a drift
of the machine's speed during the load does not move. A simulated OS4X host
(``os4x-simulator``) runs throughout. The single-file build is measured when ``--pyz`` names
one, or when ``packaging/build pyz`` can make it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLUGINS = Path("/usr/lib/nagios/plugins")
HERE = Path(sys.executable).parent
REPOSITORY = Path(__file__).resolve().parent.parent
FLOOR = "python -c 'import nagiosplugin'"
BOTH = "check_os4x --checks processes,ports"
PORTS = "check_os4x --checks ports"
ALONE = "check_os4x --checks processes"
PYZ = "check_os4x.pyz --checks processes,ports"
PS = "ps -e -o pid,ppid,comm,args"
CERTS = "check_os4x --checks certs, 2,000 certificates"
CERT_COUNT = 2000


def certificate_directory() -> str:
    """A directory of 2,000 certificates, half PEM, half DER, of varied lifetimes: made with
    the simulator's encoder (no crypto library), 20 signed ones written 100 times each."""
    from datetime import datetime, timedelta, timezone

    from os4xmon.simulator import certificate

    directory = tempfile.mkdtemp(prefix="os4x-bench-certs-")
    now = datetime.now(timezone.utc)
    made = [certificate.issued_certificate(f"Partner {n}", "Bench CA", n + 1,
                                           now - timedelta(days=30),
                                           now + timedelta(days=40 + 15 * n))
            for n in range(20)]
    for number in range(CERT_COUNT):
        der = made[number % len(made)]
        if number % 2:
            Path(directory, f"p{number:04}.pem").write_text(certificate.pem(der))
        else:
            Path(directory, f"p{number:04}.der").write_bytes(der)
    return directory


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_once(argv: list[str]) -> float:
    """Wall seconds of one run of argv."""
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def peak_memory(argv: list[str]) -> int:
    """Peak resident memory in bytes, through /usr/bin/time: a child forked from this Python
    process would count this process's own pages in its rusage until it executes."""
    if not Path("/usr/bin/time").exists():
        return 0
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    return int(done.stderr.strip().splitlines()[-1]) * 1024


def processes_now() -> int:
    return sum(1 for entry in os.listdir("/proc") if entry.isdigit())


def start_simulator(state_file: str, ports: tuple[int, int]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "os4xmon.simulator", "start", "--state-file", state_file,
         "--port", str(ports[0]), "--tls-port", str(ports[1])],
        capture_output=True, text=True, check=False)
    if done.returncode != 0:  # a simulator without the port options: processes only
        subprocess.run([sys.executable, "-m", "os4xmon.simulator", "start", "--state-file",
                        state_file], check=True, capture_output=True)


def stop_simulator(state_file: str) -> None:
    subprocess.run([sys.executable, "-m", "os4xmon.simulator", "stop", "--state-file",
                    state_file], check=False, capture_output=True)


class ExtraProcesses:
    """Plain sleep processes that fill the process table; always reaped, even on Ctrl-C."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> ExtraProcesses:
        for _ in range(self.count):
            self.processes.append(subprocess.Popen(["sleep", "3600"]))
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGKILL)
        for process in self.processes:
            process.wait()


HOLD_CONNECTIONS = """
import resource, socket, sys
count = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
wanted = 2 * count + 1024
if soft < wanted:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1024)
held = []
for _ in range(count):
    held.append(socket.create_connection(server.getsockname()))
    held.append(server.accept()[0])
print("ready", flush=True)
sys.stdin.read()  # until the benchmark closes this pipe, or exits
"""


class ExtraConnections:
    """Established TCP connections on loopback, both ends held by a helper process; always
    closed (the helper exits when its stdin closes).

    Not held by the benchmark itself: every command it starts would then pay for a copy of
    18,000 descriptors (1 to 2 ms each, check_tcp and ``python -c pass`` alike), which is
    the benchmark's cost, not the host's."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.helper: subprocess.Popen[str] | None = None

    def __enter__(self) -> ExtraConnections:
        if not self.count:
            return self
        self.helper = subprocess.Popen([sys.executable, "-c", HOLD_CONNECTIONS, str(self.count)],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.helper.stdout is not None
        if self.helper.stdout.readline().strip() != "ready":
            self.__exit__()
            raise RuntimeError(f"could not open {self.count} connections on loopback")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.helper is None:
            return
        assert self.helper.stdin is not None
        with contextlib.suppress(OSError):
            self.helper.stdin.close()
        try:
            self.helper.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.helper.kill()
            self.helper.wait()
        self.helper = None


def build_pyz(given: str | None) -> str | None:
    """The single-file build to measure: the one given, else one built now, else None."""
    if given:
        return given
    build = REPOSITORY / "packaging" / "build"
    if not build.exists():
        return None
    done = subprocess.run([str(build), "pyz"], cwd=REPOSITORY, capture_output=True,
                          check=False)
    built = REPOSITORY / "dist" / "check_os4x.pyz"
    return str(built) if done.returncode == 0 and built.exists() else None


def commands(ports: tuple[int, int], pyz: str | None,
             cert_dir: str | None = None) -> dict[str, list[str]]:
    plugin = str(HERE / "check_os4x")
    port_args = ["--port", str(ports[0]), "--tls-port", str(ports[1])]
    table = {
        "python -c pass": [sys.executable, "-c", "pass"],
        FLOOR: [sys.executable, "-c", "import nagiosplugin"],
        "import floor (nagiosplugin, psutil)": [sys.executable, "-c",
                                                "import nagiosplugin, psutil"],
        ALONE: [plugin, "--checks", "processes"],
        PORTS: [plugin, "--checks", "ports", *port_args],
        BOTH: [plugin, "--checks", "processes,ports", *port_args],
        "check_os4x --checks processes,ports --probe": [plugin, "--checks", "processes,ports",
                                                        "--probe", *port_args],
        PS: ["ps", "-e", "-o", "pid,ppid,comm,args"],
    }
    if cert_dir:
        table[CERTS] = [plugin, "--checks", "certs", "--cert-dir", cert_dir]
    if pyz:  # run by the same interpreter as the installed package, for a fair ratio
        table[PYZ] = [sys.executable, pyz, "--checks", "processes,ports", *port_args]
    if (PLUGINS / "check_procs").exists():
        table["check_procs -C os4xrd"] = [str(PLUGINS / "check_procs"), "-C", "os4xrd"]
    if (PLUGINS / "check_tcp").exists():
        table["check_tcp -p <port>"] = [str(PLUGINS / "check_tcp"), "-H", "127.0.0.1", "-p",
                                        str(ports[0])]
    return table


def measure(table: dict[str, list[str]],
            rounds: int) -> tuple[dict[str, tuple[float, int]], dict[str, list[float]]]:
    """Per command: (median wall seconds, peak RSS), and every round's time in order."""
    times: dict[str, list[float]] = {name: [] for name in table}
    memory = {name: peak_memory(argv) for name, argv in table.items()}  # also warms caches
    for _ in range(rounds):
        for name, argv in table.items():
            times[name].append(run_once(argv))
    return {name: (statistics.median(times[name]), memory[name]) for name in table}, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--loads", default="0,1000,5000", help="extra processes")
    parser.add_argument("--connections", type=int, default=9000,
                        help="extra established TCP connections (0: none)")
    parser.add_argument("--pyz", help="a check_os4x.pyz to measure (default: build one)")
    parser.add_argument("--markdown", action="store_true", help="print a README table")
    args = parser.parse_args()
    loads = [f"+{int(load)} processes" for load in args.loads.split(",")]
    if args.connections:
        loads.append(f"+{args.connections} connections")
    pyz = build_pyz(args.pyz)
    cert_dir = certificate_directory()

    ports = (free_port(), free_port())
    state_file = tempfile.mktemp(prefix="os4x-bench-", suffix=".json")
    start_simulator(state_file, ports)
    results: dict[str, dict[str, tuple[float, int]]] = {}
    rounds: dict[str, dict[str, list[float]]] = {}
    try:
        for load in loads:
            count = int(load.split()[0])
            processes = count if load.endswith("processes") else 0
            connections = count if load.endswith("connections") else 0
            with ExtraProcesses(processes), ExtraConnections(connections):
                results[load], rounds[load] = measure(commands(ports, pyz, cert_dir),
                                                      args.rounds)
    finally:
        stop_simulator(state_file)
        shutil.rmtree(cert_dir, ignore_errors=True)

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    print(f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; "
          f"{args.rounds} rounds, median; {processes_now()} processes on the host at "
          "the end (without the extra ones)")
    names = list(next(iter(results.values())))
    header = ["command", *loads, "peak RSS"]
    rows = [[name] + [f"{results[load][name][0] * 1000:.1f} ms" for load in loads]
            + [f"{max(results[load][name][1] for load in loads) / 2**20:.1f} MiB"]
            for name in names]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))

    def ratio(name: str, load: str, base: str, base_load: str | None = None) -> str:
        """The ratio of the medians; within one load also the median of each round's ratio,
        which the machine's drift over the minutes of a load does not move (paired)."""
        base_load = base_load or load
        if name not in results.get(load, {}) or base not in results.get(base_load, {}):
            return "n/a"
        text = f"{results[load][name][0] / results[base_load][base][0]:.2f}"
        if base_load == load:
            paired = statistics.median(mine / theirs for mine, theirs
                                       in zip(rounds[load][name], rounds[load][base]))
            text += f" (paired: {paired:.2f})"
        return text

    idle = loads[0]
    most = max((load for load in loads if load.endswith("processes")),
               key=lambda load: int(load.split()[0]))
    print()
    print(f"{BOTH} / {FLOOR}, {idle}: {ratio(BOTH, idle, FLOOR)} (target <= 1.35)")
    if args.connections:
        busy = loads[-1]
        print(f"{PORTS}, {busy} / {idle}: {ratio(PORTS, busy, PORTS, idle)} "
              "(target <= 1.15)")
    print(f"{ALONE} / ps, {most}: {ratio(ALONE, most, PS)} (target <= 0.5)")
    print(f"{PYZ} / installed package, {idle}: {ratio(PYZ, idle, BOTH)} (target <= 1.15)")
    if shutil.which("check_procs", path=str(PLUGINS)):
        print(f"{ALONE} / check_procs, {idle}: {ratio(ALONE, idle, 'check_procs -C os4xrd')}")
    # the certs check loads cryptography (about 10 MiB more): its own line, its own target
    peak = max(rss for load in results.values() for name, (_, rss) in load.items()
               if name.startswith("check_os4x") and name != CERTS)
    print(f"check_os4x peak RSS: {peak / 2**20:.1f} MiB  (target <= 30 MiB)")
    if CERTS in results[idle]:
        seconds, rss = results[idle][CERTS]
        print(f"{CERTS}, {idle}: {seconds * 1000:.0f} ms, {rss / 2**20:.1f} MiB (target: "
              "within the default -t of 10 s)")


if __name__ == "__main__":
    main()
