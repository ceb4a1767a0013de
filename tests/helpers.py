"""Shared test helpers: run the installed plugin, start the simulator, read the output.

Integration tests run the installed ``check_os4x`` as a subprocess, as Nagios would. The
simulator's processes are real and the plugin sees the whole host, so tests that start a
simulator must not run beside another OS4X-like process: conftest.py puts the suite into its
own PID namespace when it can, and otherwise skips them, naming what is in the way.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
IN_CI = bool(os.environ.get("CI"))


def load_script(path: Path) -> Any:
    """A generator script of the repository (contrib/, docs/) as a module, to test its output."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plugin_command() -> list[str]:
    """The installed check_os4x next to this interpreter (as pip installed it)."""
    found = shutil.which("check_os4x", path=str(Path(sys.executable).parent))
    if not found:
        pytest.fail("check_os4x is not installed next to the test interpreter: "
                    "pip install -e '.[test]'")
    return [found]


@dataclass
class PluginRun:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    @property
    def first_line(self) -> str:
        return self.lines[0] if self.lines else ""

    @property
    def summary(self) -> str:
        return self.first_line.split(" | ", 1)[0]

    @property
    def perfdata(self) -> dict[str, str]:
        """label -> value with unit, from the first line."""
        if " | " not in self.first_line:
            return {}
        items = {}
        for item in self.first_line.split(" | ", 1)[1].split():
            label, _, rest = item.partition("=")
            items[label.strip("'")] = rest.split(";")[0]
        return items

    def perf_number(self, label: str) -> float:
        return float(re.match(r"-?[0-9.]+", self.perfdata[label]).group(0))  # type: ignore


SIMULATED_BIN_DIR: list[str] = []
"""Where the running simulator exec'd its daemons from, when not OS4X's default directory
(without root it cannot write /opt/os4x/bin): run_plugin passes it as --bin-dir."""


def run_plugin(*args: str, user: str | None = None, env: dict[str, str] | None = None,
               timeout: float = 60, stdin: str | None = None,
               prefix: Sequence[str] = ()) -> PluginRun:
    """prefix: a command that runs the plugin (``nsenter --net=...``: another host)."""
    command = plugin_command() + list(args)
    if SIMULATED_BIN_DIR and "--bin-dir" not in args:
        command += ["--bin-dir", SIMULATED_BIN_DIR[-1]]
    if user:
        runuser = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"
        command = [runuser, "-u", user, "--", *command]
    command = [*prefix, *command]
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    environment.update(env or {})
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=environment, input=stdin, check=False, cwd="/")
    return PluginRun(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def assert_status(run: PluginRun, code: int, *phrases: str) -> None:
    """Exit code, the OS4X prefix of the first line, and phrases that must be in its summary."""
    states = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
    detail = f"\n--- stdout ---\n{run.stdout}\n--- stderr ---\n{run.stderr}"
    assert run.code == code, f"exit {run.code}, expected {code}{detail}"
    assert run.first_line.startswith(f"OS4X {states[code]} - "), detail
    for phrase in phrases:
        assert phrase in run.summary, f"{phrase!r} not in the summary{detail}"
    assert "Traceback" not in run.stdout + run.stderr, detail


@dataclass
class Simulation:
    state_file: str
    processes: list[dict[str, int]] = field(default_factory=list)

    def pids(self, name: str) -> list[int]:
        return sorted(p["pid"] for p in self.processes if p["name"] == name)

    def pid(self, name: str) -> int:
        (pid,) = self.pids(name)
        return pid


def reap_orphans() -> None:
    """Reaps the zombies that were orphaned to us when we are PID 1 of a PID namespace.

    Under ``unshare --pid --fork`` pytest is the namespace's init: every orphan (a stopped
    simulator's launcher, an action of a killed os4xsqd, a daemon's worker) becomes its child,
    and an unreaped ``os4xsqd`` zombie would make every later test see a zombie OS4X process.
    """
    if os.getpid() != 1:
        return
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as stream:
                fields = stream.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and fields[1] == "1":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(int(entry), os.WNOHANG)


HELD_PORTS: set[str] = set()
"""Ports that stayed taken for a whole PORT_GRACE: another program's (a simulator or OS4X
beside the suite). Later starts that need them give up at once instead of waiting again."""


def start_when_ports_free(start: Callable[[], subprocess.CompletedProcess[str]]
                          ) -> subprocess.CompletedProcess[str]:
    """A simulator start, tried again for PORT_GRACE seconds while a port it needs is taken:
    the last test's processes may still be ending on a loaded machine, and a port in the
    ephemeral range (os4xclientd's 60000) may be the local end of another test's connection
    for a moment. A port that stayed taken that long is another program's for the session:
    the test is skipped (a PID namespace does not separate ports: a real OS4X or another
    person's simulator holds it), which CI turns into a failure."""
    waited_until = time.monotonic() + PORT_GRACE
    while True:
        done = start()
        taken = re.search(r"port (\d+) for \S+ is already in use on this host", done.stderr)
        if taken is None:
            return done
        if taken.group(1) in HELD_PORTS or time.monotonic() > waited_until:
            HELD_PORTS.add(taken.group(1))
            needs_server(False, done.stderr.strip())
        reap_orphans()
        time.sleep(0.25)


class SimulatorControl:
    """Starts simulated OS4X hosts for a test and always stops them afterwards."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.running: list[Simulation] = []
        reap_orphans()  # a clean process table, whatever the tests before left behind

    def start(self, *args: str, prefix: Sequence[str] = ()) -> Simulation:
        state_file = str(self.tmp_path / f"sim{len(self.running)}.json")
        done = start_when_ports_free(lambda: subprocess.run(
            [*prefix, sys.executable, "-m", "os4xmon.simulator", "start", "--state-file",
             state_file, *args], capture_output=True, text=True, timeout=60, check=False))
        assert done.returncode == 0, done.stderr
        with open(state_file, encoding="utf-8") as stream:
            state = json.load(stream)
        simulation = Simulation(state_file, state["processes"])
        self.running.append(simulation)
        if "--bin-dir" not in args and state.get("bin_dir") != "/opt/os4x/bin":
            SIMULATED_BIN_DIR.append(state["bin_dir"])
        return simulation

    def replace(self, simulation: Simulation, daemon: str) -> None:
        """An update without restart: a new binary on disk while the daemon runs."""
        done = subprocess.run(
            [sys.executable, "-m", "os4xmon.simulator", "replace", "--state-file",
             simulation.state_file, "--daemon", daemon],
            capture_output=True, text=True, errors="backslashreplace", timeout=60, check=False)
        assert done.returncode == 0, done.stderr

    def stop_all(self) -> None:
        for simulation in self.running:
            subprocess.run([sys.executable, "-m", "os4xmon.simulator", "stop", "--state-file",
                            simulation.state_file], capture_output=True, timeout=30,
                           check=False)
            for process in simulation.processes:  # belt and braces: nothing may be left
                with contextlib.suppress(OSError):
                    os.kill(process["pid"], signal.SIGKILL)
        self.running.clear()
        SIMULATED_BIN_DIR.clear()
        reap_orphans()


PORT_GRACE = 10.0
"""Seconds a simulator start waits for OS4X's default ports while the processes of the test
before it are still ending (a loaded machine can take that long to tear a tree down)."""


def free_port() -> int:
    """A port free on IPv4 and IPv6, as the simulator's dual-stack listener needs it."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        probe.bind(("::", 0))
        return int(probe.getsockname()[1])


def needs_server(available: bool, reason: str) -> None:
    """Skips a test whose server is missing; under CI that is a failure, not a skip."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI: {reason}")
    pytest.skip(reason)


def write_fixture_lines(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
