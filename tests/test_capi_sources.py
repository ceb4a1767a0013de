"""The bounded edges of the ISDN check: the file read and real capiinfo-like programs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import FIXTURES

from os4xmon.sources.capi import SourceError, read_controller_file, run_capiinfo

pytestmark = pytest.mark.unit

CAPI = FIXTURES / "capi"


def script(tmp_path: Path, body: str, name: str = "capiinfo") -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            return stream.read().split(b") ", 1)[1][:1] != b"Z"
    except OSError:
        return False


def test_normal_output_and_exit_code(tmp_path):
    run = run_capiinfo(script(tmp_path, f"cat {CAPI / 'capiinfo_two_avm.txt'}\n"), 5)
    assert run.returncode == 0 and not run.timed_out and not run.overflow
    assert run.stdout == (CAPI / "capiinfo_two_avm.txt").read_bytes()


def test_not_installed_on_stderr_with_exit_2(tmp_path):
    run = run_capiinfo(script(
        tmp_path, "echo 'capi not installed - No such device (19)' >&2\nexit 2\n"), 5)
    assert (run.returncode, run.stdout) == (2, b"")
    assert run.stderr == b"capi not installed - No such device (19)\n"


def test_hanging_capiinfo_is_killed_with_its_children_in_time(tmp_path):
    pidfile = tmp_path / "child.pid"
    program = script(tmp_path, f"sleep 3600 &\necho $! > {pidfile}\nwait\n")
    started = time.monotonic()
    run = run_capiinfo(program, 1.0)
    assert time.monotonic() - started < 3
    assert run.timed_out and run.returncode is None
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), "the hanging capiinfo's child survived"


def test_closing_its_output_and_staying_is_a_hang_too(tmp_path):
    run = run_capiinfo(script(tmp_path, "exec >/dev/null 2>&1\nsleep 3600\n"), 0.5)
    assert run.timed_out and run.returncode is None


def test_endless_output_is_cut_at_the_limit(tmp_path):
    run = run_capiinfo(script(tmp_path, "exec yes garbage\n"), 10, limit=4096)
    assert run.overflow and run.returncode is None
    assert len(run.stdout) == 4097


def test_no_shell_between_the_plugin_and_capiinfo(tmp_path):
    odd = script(tmp_path, "echo ran\n", name="capi info; touch pwned")
    run = run_capiinfo(odd, 5)
    assert run.stdout == b"ran\n"
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("make", [
    lambda tmp: str(tmp / "nonexistent"),
    lambda tmp: str(tmp),  # a directory
    lambda tmp: (tmp / "plain").write_text("x") and str(tmp / "plain"),  # not executable
])
def test_a_program_that_cannot_start_raises_source_error(tmp_path, make):
    with pytest.raises(SourceError, match="cannot run "):
        run_capiinfo(make(tmp_path), 5)


def test_read_controller_file(tmp_path):
    assert read_controller_file(str(CAPI / "proc_two_running.txt")).startswith(b"1 b1pci ")
    assert len(read_controller_file("/dev/zero", limit=100)) == 101
    with pytest.raises(SourceError) as missing:
        read_controller_file(str(tmp_path / "none"))
    assert missing.value.missing and str(missing.value).endswith("does not exist")
    with pytest.raises(SourceError, match="cannot read") as directory:
        read_controller_file(str(tmp_path))
    assert not directory.value.missing


def test_no_timer_read_outside_execution():
    """One time budget: execution.share() hands out the time; no aspect module reads a timer."""
    from pathlib import Path

    import os4xmon

    for module in Path(os4xmon.__file__).parent.rglob("*.py"):
        if module.name == "execution.py":
            continue
        text = module.read_text(encoding="utf-8")
        assert "getitimer" not in text and "setitimer" not in text, module.name

