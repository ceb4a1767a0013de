"""Concurrency and hygiene: many simultaneous runs agree, and the plugin leaves nothing behind."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from helpers import assert_status, free_port, plugin_command, run_plugin

pytestmark = pytest.mark.e2e

VOLATILE = re.compile(r"(master_uptime|oldest_action_age|os4x_rss|\w+_response_time)=[^ ]*")


def stable(first_line: str) -> str:
    """The first line without the values that change from one run to the next."""
    return VOLATILE.sub(r"\1=*", first_line)


def test_fifty_simultaneous_runs_agree_and_leave_nothing_behind(simulator, tmp_path):
    tcp, tls = free_port(), free_port()
    simulator.start("--port", str(tcp), "--tls-port", str(tls), "--isdn-controllers", "1")
    private = {name: tmp_path / name for name in ("home", "tmp", "cwd")}
    for directory in private.values():
        directory.mkdir()
    environment = {"PATH": os.environ["PATH"], "HOME": str(private["home"]),
                   "TMPDIR": str(private["tmp"]), "LANG": "C.UTF-8"}
    command = [*plugin_command(), "--checks", "processes,ports", "--probe", "--port", str(tcp),
               "--tls-port", str(tls), "--isdn-controllers", "1", "-t", "20"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=environment, cwd=private["cwd"])
            for _ in range(50)]
    results = [(run.wait(timeout=60), *run.communicate()) for run in runs]

    codes = {code for code, _, _ in results}
    lines = {stable(out.splitlines()[0]) for _, out, _ in results}
    assert codes == {0}, results[0]
    assert len(lines) == 1, lines
    assert all(err == "" for _, _, err in results)
    for directory in private.values():
        assert list(directory.iterdir()) == [], directory
    # no plugin process outlives its run
    leftovers = subprocess.run(["pgrep", "-f", "check_os4x --checks processes,ports"],
                               capture_output=True, text=True, check=False).stdout.split()
    assert leftovers == []


def test_a_port_that_accepts_and_resets(tmp_path):
    """A listener that accepts and resets at once (RST, not FIN): CRITICAL naming the port."""
    import socket
    import struct
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    stop = time.monotonic() + 30

    def serve() -> None:
        server.settimeout(0.5)
        while time.monotonic() < stop:
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        run = run_plugin("-H", "127.0.0.2", "--port", str(port), "--no-tls", "-t", "5")
        # 127.0.0.2 is another host to the plugin: probing only, and nothing listens there
        assert_status(run, 2, f"port {port}")
        local = run_plugin("--checks", "ports", "--probe", "--port", str(port), "--no-tls",
                           "-t", "5")
        assert_status(local, 2, f"port {port}")
        assert "reset" in local.summary or "closed" in local.summary, local.summary
    finally:
        stop = 0
        server.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to nobody")
def test_unprivileged_run_with_no_home_and_no_writable_directory(simulator):
    simulator.start("--port", str(free_port()), "--tls-port", str(free_port()))
    run = run_plugin("--checks", "processes", user="nobody",
                     env={"HOME": "/nonexistent", "TMPDIR": "/nonexistent"})
    assert_status(run, 0)
    assert not Path("/nonexistent").exists()
