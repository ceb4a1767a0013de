"""Fixtures, the test tiers, and the suite's private PID namespace.

The helpers themselves live in helpers.py so that test modules can import them.

The plugin sees every process of the machine: a real OS4X, or another person's simulator,
running beside the tests would change what the end-to-end tests see. So, as root on Linux, the
suite re-executes itself under ``unshare --pid --fork --mount-proc`` (as .ci/run does by hand)
and sees only its own processes. Where it cannot (not root, no unshare, or
CHECK_OS4X_TEST_NAMESPACE=off), the tests that run the plugin against the host are skipped when
OS4X-like processes run, with their pids and names; under CI that skip is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from dbtools import KINDS, ScratchDatabase, reachable
from helpers import IN_CI, SimulatorControl, needs_server
from host_state import fingerprint

from os4xmon.os4x import daemons

NAMESPACE_ENV = "CHECK_OS4X_TEST_NAMESPACE"
"""off: never re-execute; entered: set by the re-execution itself (never twice)."""
TIERS = ("unit", "e2e", "server")


# -- fixtures --

HOST_AT_START: dict[str, object] = {}
LAST = "test_zz_host_left_as_found.py"
"""The module that checks the host is as the session found it: always run last."""


def pytest_sessionstart(session: pytest.Session) -> None:
    HOST_AT_START.update(fingerprint())


@pytest.fixture
def host_at_start() -> dict[str, object]:
    return HOST_AT_START



@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[SimulatorControl]:
    control = SimulatorControl(tmp_path)
    yield control
    control.stop_all()


@pytest.fixture(params=KINDS)
def db(request: pytest.FixtureRequest) -> Iterator[ScratchDatabase]:
    """A uniquely named database on MariaDB, then on PostgreSQL, not yet created (the simulator
    creates it, or the test with db.create()); dropped afterwards with its users."""
    kind = request.param
    needs_server(reachable(kind), f"{kind} is not reachable on 127.0.0.1 (see the README, "
                 "'Run the tests')")
    database = ScratchDatabase(kind)
    yield database
    database.drop()


# -- the private PID namespace --


def in_private_namespace() -> bool:
    """PID 1 is the init of a PID namespace: under unshare --fork that is pytest itself."""
    return os.getpid() == 1


def namespace_command() -> list[str] | None:
    """unshare's command line, when this process may and can make a PID namespace."""
    if (os.environ.get(NAMESPACE_ENV) or in_private_namespace() or os.geteuid() != 0
            or not sys.platform.startswith("linux")):
        return None
    unshare = shutil.which("unshare", path="/usr/bin:/bin:/usr/sbin:/sbin:"
                           + os.environ.get("PATH", ""))
    if not unshare:
        return None
    command = [unshare, "--pid", "--fork", "--mount-proc"]
    try:  # a container may forbid it: then the suite runs here, and says what disturbs it
        probe = subprocess.run([*command, "true"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return command if probe.returncode == 0 else None


SESSION_TMP: list[str] = []


def private_temporary_directory() -> None:
    """The session's own temporary directory (TMPDIR, inherited by every simulator and plugin
    the tests start), readable by the monitoring users: what the tests leave in it is theirs
    alone, whatever else on the host writes to /tmp at the same time; removed at the end."""
    import tempfile

    path = tempfile.mkdtemp(prefix="check_os4x-tests-")
    os.chmod(path, 0o755)  # nobody and nagios run the plugin in the tests
    os.environ["TMPDIR"] = tempfile.tempdir = path
    SESSION_TMP.append(path)


def pytest_unconfigure(config: pytest.Config) -> None:
    for path in SESSION_TMP:
        shutil.rmtree(path, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    """Re-executes the same pytest command inside a private PID namespace when it can; the
    process that runs the tests gets a temporary directory of its own."""
    command = namespace_command()
    if command is None:
        private_temporary_directory()
        return
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend_global_capture(in_=True)  # the new process writes to the real terminal
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(config.invocation_params.dir)
    os.execve(command[0], [*command, sys.executable, "-m", "pytest",
                           *config.invocation_params.args],
              {**os.environ, NAMESPACE_ENV: "entered"})


def os4x_processes_outside() -> list[tuple[int, str]]:
    """(pid, daemon) of every process the plugin would take for an OS4X daemon."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as stream:
                cmdline = stream.read().split(b"\0")
            with open(f"/proc/{entry}/comm", "rb") as stream:
                comm = stream.read().strip()
        except OSError:
            continue
        words = tuple(word.decode("utf-8", "replace") for word in cmdline if word)
        name = daemons.daemon_of(words or None, comm.decode("utf-8", "replace"))
        if name:
            found.append((int(entry), name))
    return sorted(found)


def pytest_report_header(config: pytest.Config) -> str:
    if in_private_namespace():
        return "PID namespace: private (the tests see only their own processes)"
    return ("PID namespace: shared with the host (run as root with unshare for a private one); "
            "end-to-end tests are skipped while OS4X-like processes run")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Outside a private namespace, the host's OS4X-like processes would disturb every test
    that runs the plugin: those tests are skipped, naming the processes."""
    items.sort(key=lambda item: item.path.name == LAST)  # stable: the rest keep their order
    for item in items:  # a test without a tier is end to end until someone says otherwise
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(pytest.mark.e2e)
    if in_private_namespace() or not sys.platform.startswith("linux"):
        return
    disturbing = os4x_processes_outside()
    if not disturbing:
        return
    listed = ", ".join(f"pid {pid} {name}" for pid, name in disturbing)
    skip = pytest.mark.skip(reason=(
        f"OS4X-like processes run on this host and would disturb the plugin's view: {listed}. "
        "Run the tests as root (they then use a private PID namespace, with unshare), or stop "
        "these processes"))
    for item in items:
        if item.get_closest_marker("unit") is None:
            item.add_marker(skip)


# -- CI --


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI (the CI variable set) every test must run: a skip is turned into a failure, so
    a missing server, program or privilege can never pass unnoticed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"CI runs every test, and this one was skipped: {report.longrepr}"
