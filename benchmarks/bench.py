#!/usr/bin/env python3
"""check_os4x beside its alternatives, interleaved in one run so the machine's noise cancels.

    python benchmarks/bench.py [--rounds 15] [--loads 0,1000,5000] [--markdown]

For each process-table load (extra ``sleep`` processes this script starts and always stops),
every command runs once per round, in turn; the table shows the median wall time and the peak
resident memory of each (from ``os.wait4``'s rusage of that very child), then the ratios the
performance targets are stated in. A simulated OS4X host (``os4x-simulator``) runs throughout.
"""

from __future__ import annotations

import argparse
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


def commands(ports: tuple[int, int]) -> dict[str, list[str]]:
    plugin = str(HERE / "check_os4x")
    port_args = ["--port", str(ports[0]), "--tls-port", str(ports[1])]
    table = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import floor (nagiosplugin, psutil)": [sys.executable, "-c",
                                                "import nagiosplugin, psutil"],
        "check_os4x --checks processes": [plugin, "--checks", "processes"],
        "check_os4x --checks processes,ports": [plugin, "--checks", "processes,ports",
                                                *port_args],
        "check_os4x --checks processes,ports --probe": [plugin, "--checks", "processes,ports",
                                                        "--probe", *port_args],
        "ps -e -o pid,ppid,comm,args": ["ps", "-e", "-o", "pid,ppid,comm,args"],
    }
    if (PLUGINS / "check_procs").exists():
        table["check_procs -C os4xrd"] = [str(PLUGINS / "check_procs"), "-C", "os4xrd"]
    if (PLUGINS / "check_tcp").exists():
        table["check_tcp -p <port>"] = [str(PLUGINS / "check_tcp"), "-H", "127.0.0.1", "-p",
                                        str(ports[0])]
    return table


def measure(table: dict[str, list[str]], rounds: int) -> dict[str, tuple[float, int]]:
    times: dict[str, list[float]] = {name: [] for name in table}
    memory = {name: peak_memory(argv) for name, argv in table.items()}  # also warms caches
    for _ in range(rounds):
        for name, argv in table.items():
            times[name].append(run_once(argv))
    return {name: (statistics.median(times[name]), memory[name]) for name in table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--loads", default="0,1000,5000")
    parser.add_argument("--markdown", action="store_true", help="print a README table")
    args = parser.parse_args()
    loads = [int(load) for load in args.loads.split(",")]

    ports = (free_port(), free_port())
    state_file = tempfile.mktemp(prefix="os4x-bench-", suffix=".json")
    start_simulator(state_file, ports)
    results: dict[int, dict[str, tuple[float, int]]] = {}
    try:
        for load in loads:
            with ExtraProcesses(load):
                results[load] = measure(commands(ports), args.rounds)
    finally:
        stop_simulator(state_file)

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    print(f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; "
          f"{args.rounds} rounds, median; {processes_now()} processes on the host at "
          "the end (without the extra ones)")
    names = list(next(iter(results.values())))
    header = ["command"] + [f"+{load} processes" for load in loads] + ["peak RSS"]
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

    def ratio(load: int, name: str, base: str) -> str:
        if load not in results or name not in results[load] or base not in results[load]:
            return "n/a"
        return f"{results[load][name][0] / results[load][base][0]:.2f}"

    floor = "import floor (nagiosplugin, psutil)"
    both = "check_os4x --checks processes,ports"
    alone = "check_os4x --checks processes"
    most = max(loads)
    print()
    print(f"{both} / import floor, +0: {ratio(0, both, floor)} (target <= 1.2)")
    print(f"{alone} / ps, +{most}: {ratio(most, alone, 'ps -e -o pid,ppid,comm,args')} "
          "(target <= 0.8)")
    if shutil.which("check_procs", path=str(PLUGINS)):
        print(f"{alone} / check_procs, +0: {ratio(0, alone, 'check_procs -C os4xrd')}")
    peak = max(rss for load in results.values() for name, (_, rss) in load.items()
               if name.startswith("check_os4x"))
    print(f"check_os4x peak RSS: {peak / 2**20:.1f} MiB  (target <= 30 MiB)")


if __name__ == "__main__":
    main()
