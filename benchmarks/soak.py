#!/usr/bin/env python3
"""The plugin run thousands of times against a simulated OS4X host whose daemons stop, restart,
duplicate, get replaced and recover between runs: does any run give a state the scenario does
not call for, and does anything pile up?

    python benchmarks/soak.py [--runs 2000] [--per-phase 10] [--log soak.jsonl] [--isolate]

The scenario cycles through phases; each phase changes the simulated host once (with the
simulator's own start/stop/replace commands and signals), then runs the plugin
``--per-phase`` times and holds every run to the state and the words the phase calls for:

    healthy             OK        all daemons up
    stopped             CRITICAL  os4xsqd stopped with SIGSTOP ("os4xsqd not running")
    resumed             OK        SIGCONT
    missing             CRITICAL  the host restarted without os4xsqd ("os4xsqd not running")
    restarted           OK        the simulator stopped and started again
    duplicate           CRITICAL  a second os4xsqd ("os4xsqd runs 2 times")
    replaced            WARNING   os4xsqd's binary replaced on disk ("runs an old binary")
    down                CRITICAL  no OS4X at all ("os4xrd not running")

For every run it records the state and first line, the plugin's peak memory (its rusage), and
after it: the file descriptors open in the whole PID namespace, the processes that are neither
the simulator's nor the soak's own (children the plugin left behind), zombies, and the files in
the plugin's private TMPDIR. Nothing may grow: the figures of the last cycle are compared with
those of the first. One JSON line per run goes to ``--log``; a summary (Markdown) to stdout;
exit 1 when a run broke the scenario or something leaked.

Run it as root in a namespace of its own (``--isolate``: private PID, mount and network
namespaces with a tmpfs on /opt/os4x, as the tests do), so that the simulator's ports and
binary directory are nobody else's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(sys.executable).parent
CHECKS = ["--checks", "processes,ports", "--probe"]
PHASES = (  # name, exit code, words the first line must hold
    ("healthy", 0, "OS4X OK - "),
    ("stopped", 2, "os4xsqd not running"),
    ("resumed", 0, "OS4X OK - "),
    ("missing", 2, "os4xsqd not running"),
    ("restarted", 0, "OS4X OK - "),
    ("duplicate", 2, "os4xsqd runs 2 times"),
    ("replaced", 1, "runs an old binary"),
    ("down", 2, "os4xrd not running"),
)


class Host:
    """The simulated OS4X host, driven through os4x-simulator's commands."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.state_file: str | None = None
        self.count = 0

    def simulator(self, *args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "os4xmon.simulator", *args],
                              capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise SystemExit(f"os4x-simulator {args[0]} failed: {done.stderr.strip()}")

    def start(self, *args: str) -> None:
        self.stop()
        self.count += 1
        self.state_file = str(self.work / f"sim{self.count}.json")
        self.simulator("start", "--state-file", self.state_file, *args)

    def stop(self) -> None:
        if self.state_file:
            self.simulator("stop", "--state-file", self.state_file)
            self.state_file = None
        reap()

    def processes(self) -> list[dict[str, int]]:
        """The simulated processes, the launcher among them."""
        if not self.state_file:
            return []
        with open(self.state_file, encoding="utf-8") as stream:
            state = json.load(stream)
        found: list[dict[str, int]] = state["processes"]
        return [*found, {"name": "launcher", "pid": state["launcher"]}]

    def pid(self, name: str) -> int:
        return next(p["pid"] for p in self.processes() if p["name"] == name)

    def enter(self, phase: str) -> None:
        """Changes the host as the phase says."""
        if phase in ("healthy", "restarted"):
            self.start()
        elif phase == "stopped":
            os.kill(self.pid("os4xsqd"), signal.SIGSTOP)
        elif phase == "resumed":
            os.kill(self.pid("os4xsqd"), signal.SIGCONT)
        elif phase == "missing":
            self.start("--missing", "os4xsqd")
        elif phase == "duplicate":
            self.start("--duplicate", "os4xsqd")
        elif phase == "replaced":
            self.start()
            self.simulator("replace", "--state-file", str(self.state_file), "--daemon", "os4xsqd")
        elif phase == "down":
            self.stop()
        time.sleep(0.3)  # a signal takes effect a moment after kill() returns
        reap()


def reap() -> None:
    """As PID 1 of the namespace the soak inherits every orphan: reap the zombies among them."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_plugin(tmpdir: Path) -> dict[str, object]:
    """One run: exit code, first line, wall seconds, peak memory from the child's rusage."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "TMPDIR": str(tmpdir)}
    if os.environ.get("PYTHONPATH"):  # a snapshot of the code under test
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    started = time.monotonic()
    process = subprocess.Popen([str(HERE / "check_os4x"), *CHECKS], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env, cwd="/")
    assert process.stdout is not None
    output = process.stdout.read().decode("utf-8", "replace")
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status) if hasattr(
        os, "waitstatus_to_exitcode") else status >> 8
    return {"code": process.returncode, "first": (output.splitlines() or [""])[0],
            "seconds": round(time.monotonic() - started, 4), "rss_kib": usage.ru_maxrss}


def namespace_figures(host: Host, tmpdir: Path) -> dict[str, int]:
    """What could pile up: fds in the namespace, stray processes, zombies, temporary files."""
    known = {p["pid"] for p in host.processes()} | {os.getpid()}
    fds = strays = zombies = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds += len(os.listdir(f"/proc/{entry}/fd"))
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as stream:
                fields = stream.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/comm", encoding="utf-8", errors="replace") as stream:
                comm = stream.read().strip()
        except OSError:
            continue
        if fields[0] == "Z":
            zombies += 1
        elif int(entry) not in known and comm not in ("socat", "sh") and \
                not comm.startswith("os4x") and not _descends(int(entry), known):
            strays += 1
    return {"fds": fds, "strays": strays, "zombies": zombies,
            "tmp_files": sum(1 for _ in tmpdir.rglob("*"))}


def _descends(pid: int, known: set[int]) -> bool:
    """Whether pid is a child (an action, a worker) of a simulated process."""
    for _ in range(8):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stream:
                pid = int(stream.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid in known:
            return True
        if pid <= 1:
            return False
    return False


def isolate(argv: list[str]) -> None:
    """Runs this script again in private PID, mount and network namespaces."""
    script = ("mount -t tmpfs tmpfs /opt/os4x; ip link set lo up; "
              'exec "$0" "$@"')
    os.makedirs("/opt/os4x", exist_ok=True)
    os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", "--net", "--pid",
                          "--fork", "--mount-proc", "env", "SOAK_ISOLATED=1", "sh", "-c",
                          script, sys.executable, __file__, *argv])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--per-phase", type=int, default=10)
    parser.add_argument("--log", default="soak.jsonl")
    parser.add_argument("--isolate", action="store_true")
    args, rest = parser.parse_known_args()
    if args.isolate and not os.environ.get("SOAK_ISOLATED"):
        isolate([a for a in sys.argv[1:] if a != "--isolate"] + rest)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    tmpdir = work / "plugin-tmp"
    tmpdir.mkdir()
    host = Host(work)
    results: list[dict[str, object]] = []
    started = time.monotonic()
    try:
        with open(args.log, "w", encoding="utf-8") as log:
            number = 0
            while number < args.runs:
                for phase, code, words in PHASES:
                    if number >= args.runs:
                        break
                    host.enter(phase)
                    for _ in range(args.per_phase):
                        if number >= args.runs:
                            break
                        number += 1
                        run = run_plugin(tmpdir)
                        reap()
                        run.update(namespace_figures(host, tmpdir))
                        run.update(n=number, phase=phase, expected=code,
                                   ok=run["code"] == code and words in str(run["first"]))
                        results.append(run)
                        log.write(json.dumps(run) + "\n")
                        log.flush()
    finally:
        host.stop()
        shutil.rmtree(work, ignore_errors=True)
    return report(results, time.monotonic() - started)


def report(results: list[dict[str, object]], seconds: float) -> int:
    """The summary in Markdown; 1 when a run broke the scenario or something grew."""
    wrong = [r for r in results if not r["ok"]]
    cycle = len(PHASES)

    def phase_figure(rows: list[dict[str, object]], key: str) -> int:
        return max(int(str(r[key])) for r in rows) if rows else 0

    first = results[: cycle * 10 * 2]
    last = results[-cycle * 10 * 2:]
    print(f"soak: {len(results)} runs in {seconds / 60:.1f} min on {platform.node()} "
          f"({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}), "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| phase | runs | expected | as expected | peak memory (max) | seconds (max) |")
    print("|---|---|---|---|---|---|")
    for phase, code, _ in PHASES:
        rows = [r for r in results if r["phase"] == phase]
        if not rows:
            continue
        good = sum(1 for r in rows if r["ok"])
        print(f"| {phase} | {len(rows)} | {['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'][code]} | "
              f"{good} | {phase_figure(rows, 'rss_kib') / 1024:.1f} MiB | "
              f"{max(float(str(r['seconds'])) for r in rows):.2f} |")
    leaks = []
    print("\n| after each run | first two cycles (max) | last two cycles (max) |")
    print("|---|---|---|")
    for key in ("fds", "strays", "zombies", "tmp_files"):
        a, b = phase_figure(first, key), phase_figure(last, key)
        print(f"| {key} | {a} | {b} |")
        if key != "fds" and b:
            leaks.append(key)
    for phase, _, _ in PHASES:  # the same host in the same phase: the same descriptors
        a = phase_figure([r for r in first if r["phase"] == phase], "fds")
        b = phase_figure([r for r in last if r["phase"] == phase], "fds")
        if a and b > a:
            leaks.append(f"fds in phase {phase} ({a} -> {b})")
    for r in wrong[:20]:
        print(f"\nunexpected: run {r['n']} ({r['phase']}): exit {r['code']}: {r['first']}")
    print(f"\n{len(wrong)} runs not as the scenario calls for; leaks: {', '.join(leaks) or 'none'}")
    return 1 if wrong or leaks else 0


if __name__ == "__main__":
    sys.exit(main())
