"""Every command block of README.md and docs/ is run by a test, or says it is an excerpt.

A block a reader pastes into a shell carries a marker on the line above it:
``<!-- tested by tests/test_install_commands.py -->`` (its install commands run into the stock
configuration trees there), ``<!-- tested by tests/test_docs_commands.py -->`` (run here, as
written: the simulator's scenarios started and stopped, every check_os4x line run against
them), or ``<!-- excerpt: why -->`` (shown, not runnable as it stands: a host name, output that
differs on every run, a build that takes minutes). A new block without one fails here.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from doc_blocks import ROOT, Block, blocks, commands, pages
from helpers import plugin_command, start_when_ports_free

RUNNERS = {"tested by tests/test_docs_commands.py", "tested by tests/test_install_commands.py"}


def command_blocks() -> list[Block]:
    return [block for page in pages() for block in blocks(page) if block.is_commands]


def marked(runner: str) -> list[Block]:
    return [block for block in command_blocks() if block.marker == f"tested by {runner}"]


@pytest.mark.unit
def test_every_command_block_is_run_by_a_test_or_marked_as_an_excerpt():
    unmarked = [block.where for block in command_blocks()
                if block.marker != "excerpt" and block.marker not in RUNNERS]
    assert not unmarked, (
        "command blocks without <!-- excerpt: why --> or <!-- tested by tests/... --> above "
        f"them: {unmarked}")


@pytest.mark.unit
def test_the_blocks_said_to_install_do_install():
    """A block marked as tested by test_install_commands.py has a command that test runs."""
    import test_install_commands as installing

    for block in marked("tests/test_install_commands.py"):
        installs = [command for command in commands(block.text)
                    if installing.writes_into_the_stock_roots(command)]
        assert installs, f"{block.where}: no command installs into the stock configuration"


class Runner:
    """Runs a block's commands as written: os4x-simulator start/run/stop/replace and
    check_os4x; the simulator's state files and binary directories go to a scratch directory
    (a path the block names is mapped there, so later commands find it)."""

    def __init__(self, scratch: Path, where: str) -> None:
        self.scratch = scratch
        self.where = where
        self.paths: dict[str, str] = {}
        self.running: list[str] = []

    def mapped(self, path: str) -> str:
        if path not in self.paths:
            self.paths[path] = str(self.scratch / f"{len(self.paths)}-{Path(path).name}")
        return self.paths[path]

    def simulator(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "os4xmon.simulator", *args],
                              capture_output=True, text=True, timeout=90, check=False, cwd=ROOT)

    def stop_all(self) -> None:
        while self.running:
            self.simulator("stop", "--state-file", self.running.pop())

    def start(self, args: list[str]) -> str:
        if "--help" in args:
            done = self.simulator("start", *args)
            assert done.returncode == 0 and done.stdout.startswith("usage:"), self.where
            return ""
        if "--config" not in args:  # a new scenario; a second installation runs beside
            self.stop_all()
        words = list(args)
        for option in ("--state-file", "--bin-dir", "--capi-dir"):
            if option in words:
                index = words.index(option) + 1
                words[index] = self.mapped(words[index])
        if "--state-file" not in words:
            words += ["--state-file", self.mapped(f"sim{len(self.paths)}.json")]
        state_file = words[words.index("--state-file") + 1]
        done = start_when_ports_free(lambda: self.simulator("start", *words))
        assert done.returncode == 0, f"{self.where}: os4x-simulator start {args}: {done.stderr}"
        self.running.append(state_file)
        with open(state_file, encoding="utf-8") as stream:
            assert json.load(stream)["processes"], self.where
        return state_file

    def run(self, command: str) -> None:
        words = shlex.split(command)
        program, args = words[0], words[1:]
        if program == "os4x-simulator" and args[:1] in (["start"], ["run"]):
            self.start(args[1:])
            if args[0] == "run":  # foreground until Ctrl-C: here, started and stopped
                self.stop_all()
        elif program == "os4x-simulator" and args[:1] in (["stop"], ["replace"]):
            index = args.index("--state-file") + 1
            given = args[index]
            args[index] = self.paths.get(given) or (self.running[-1] if self.running else given)
            done = self.simulator(*args)
            assert done.returncode == 0, f"{self.where}: {command}: {done.stderr}"
            if args[0] == "stop" and args[index] in self.running:
                self.running.remove(args[index])
        elif program == "check_os4x":
            args = [self.paths.get(arg, arg) for arg in args]
            for index, arg in enumerate(args):  # <state file>.capi/controller and the like
                for given, mapped in self.paths.items():
                    if arg.startswith(given + "."):
                        args[index] = mapped + arg[len(given):]
            done = subprocess.run([*plugin_command(), *args], capture_output=True, text=True,
                                  timeout=90, check=False, cwd="/")
            assert done.returncode in (0, 1, 2, 3), f"{self.where}: {command}: {done.stderr}"
            assert "Traceback" not in done.stdout + done.stderr, f"{self.where}: {command}"
            if "--help" not in args:
                assert done.stdout.startswith("OS4X "), f"{self.where}: {command}: {done.stdout}"
        else:
            pytest.fail(f"{self.where}: `{command}`: this test runs os4x-simulator and "
                        "check_os4x only; mark the block as an excerpt or run it elsewhere")


@pytest.mark.e2e
@pytest.mark.parametrize("block", marked("tests/test_docs_commands.py"),
                         ids=lambda block: block.where)
def test_the_block_runs_as_written(block: Block, tmp_path: Path):
    runner = Runner(tmp_path, block.where)
    try:
        for command in commands(block.text):
            runner.run(command)
    finally:
        runner.stop_all()
