"""The README's test command passes beside a real OS4X: a foreign os4xsqd, running outside the
tests, is invisible to them (private PID namespace), or named in every skip where it cannot be.

Each test starts such a foreign process here, then runs a nested pytest, which sees it as
running outside: the nested run must make its own namespace (the healthy test passes, where
the foreign os4xsqd would make it "runs 2 times"), or, told not to, skip with pid and name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from helpers import assert_status, free_port, needs_server, run_plugin

pytestmark = pytest.mark.e2e

TOP = Path(__file__).resolve().parent.parent
HEALTHY = "tests/test_isolation.py::test_a_healthy_simulator_on_free_ports_is_ok"


@pytest.fixture
def foreign_os4xsqd(tmp_path: Path) -> Iterator[int]:
    """A process the plugin takes for os4xsqd: its short name and its command line's first
    word are os4xsqd (sleep, started through a link of that name)."""
    link = tmp_path / "os4xsqd"
    link.symlink_to(shutil.which("sleep") or "/bin/sleep")
    process = subprocess.Popen([str(link), "600"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def nested_pytest(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("CI", "CHECK_OS4X_TEST_NAMESPACE", "PYTEST_ADDOPTS")}
    env.update(environment)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs",
                           *args], cwd=TOP, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_a_healthy_simulator_on_free_ports_is_ok(simulator):
    """What the nested runs below run: a foreign os4xsqd in view would make it 'runs 2 times'.
    Free ports, so that OS4X or a simulator holding 3305 on this host does not skip it."""
    simulator.start("--port", str(free_port()), "--tls-port", str(free_port()))
    assert_status(run_plugin("--checks", "processes"), 0, "4 daemons running")


def test_the_suite_makes_its_own_pid_namespace_beside_a_foreign_os4xsqd(foreign_os4xsqd):
    needs_server(os.geteuid() == 0 and bool(shutil.which("unshare")),
                 "needs root and unshare to make a PID namespace")
    done = nested_pytest(HEALTHY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PID namespace: private" in done.stdout
    assert "1 passed" in done.stdout, done.stdout


def test_without_a_namespace_the_disturbing_processes_are_named(foreign_os4xsqd):
    done = nested_pytest(HEALTHY, "tests/test_text.py", CHECK_OS4X_TEST_NAMESPACE="off")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PID namespace: shared with the host" in done.stdout
    assert f"pid {foreign_os4xsqd} os4xsqd" in done.stdout, done.stdout
    assert "1 skipped" in done.stdout and "passed" in done.stdout  # unit tests still run
    under_ci = nested_pytest(HEALTHY, CHECK_OS4X_TEST_NAMESPACE="off", CI="true")
    assert under_ci.returncode == 1, under_ci.stdout  # CI: a skip is a failure
    assert f"pid {foreign_os4xsqd} os4xsqd" in under_ci.stdout
