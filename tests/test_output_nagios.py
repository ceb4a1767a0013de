"""The default output, byte for byte: other formats must never change what Nagios reads."""

from __future__ import annotations

import pytest
from output_fixture import check

from os4xmon.core import execution

pytestmark = pytest.mark.unit


def run(capsys, verbose: int, **kwargs) -> tuple[object, str]:
    with pytest.raises(SystemExit) as stop:
        execution.execute(check(**kwargs), 10.0, verbose, ("timeout = 10.0 [default]",),
                          ("WARNING: a configuration warning",))
    return stop.value.code, capsys.readouterr().out


PERFDATA = ("master_uptime=U;600:;;0 oftp_listening=1;;;0;1 oldest_action_age=7200.5s;3600;"
            "14400;0 os4x_rss=52428800B;;;0 os4xrd=1;;1:1;0 queue_new=0;;;0 "
            "queue_oldest_age=0s;3600;14400;0")


def test_a_problem_with_a_failed_aspect(capsys):
    assert run(capsys, 0) == (1, (
        "OS4X WARNING - os4xsqd action pid 4711 runs for 2h, ports check failed: RuntimeError: "
        "port table unreadable | " + PERFDATA.replace("oftp_listening=1;;;0;1 ", "") + "\n"))


def test_a_problem_at_verbose_two(capsys):
    code, out = run(capsys, 2, failing=False)
    assert code == 1
    assert out == (
        "OS4X WARNING - os4xsqd action pid 4711 runs for 2h | " + PERFDATA + "\n"
        "WARNING: os4xsqd action pid 4711 runs for 2h\n"
        "  what to do: look at pid 4711\n"
        "WARNING: a configuration warning\n"
        "os4xrd pid 100 running since 2026-12-01\n"
        "send queue, partner ACME: new 0\n"
        "configuration:\n"
        "  timeout = 10.0 [default]\n")


def test_ok(capsys):
    assert run(capsys, 0, problem=False, failing=False) == (0, (
        "OS4X OK - 7 daemons running, 0 entries pending in the send queue, 2 ports listening | "
        + PERFDATA + "\n"))


def test_a_failure_before_the_run(capsys):
    with pytest.raises(SystemExit) as stop:
        execution.fail("--port: 'x' is not a port")
    assert (stop.value.code, capsys.readouterr().out) == (
        3, "OS4X UNKNOWN - --port: 'x' is not a port\n")
