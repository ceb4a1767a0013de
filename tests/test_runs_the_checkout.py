"""The tests run this checkout's code, never a stale installed copy.

The end-to-end tests run the installed ``check_os4x`` command (as Nagios would) and the
simulator: with a plain ``pip install .`` they would run the copy made at install time, and an
edit would pass unseen. The contributor steps install in editable mode (``pip install -e``):
the command then imports the package from the checkout, which this test proves by asking the
command's own interpreter, started as the command starts, where os4xmon comes from.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import plugin_command

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
WHERE = ("import os4xmon.cli.main as main, os4xmon.simulator.__main__ as simulator; "
         "print(main.__file__); print(simulator.__file__)")


def test_the_installed_command_imports_the_checkout():
    command = Path(plugin_command()[0])
    shebang = command.read_text(encoding="utf-8", errors="replace").splitlines()[0]
    assert shebang.startswith("#!"), shebang
    interpreter = shebang[2:].split()
    done = subprocess.run([*interpreter, "-c", WHERE], capture_output=True, text=True,
                          check=False, cwd="/", timeout=60)  # not the checkout's directory
    assert done.returncode == 0, done.stderr
    for path in done.stdout.split():
        assert Path(path).resolve().is_relative_to(ROOT), (
            f"{command} runs {path}, not this checkout ({ROOT}): pip install -e '.[test]'")


def test_the_test_interpreter_imports_the_checkout():
    import os4xmon

    assert Path(os4xmon.__file__).resolve().is_relative_to(ROOT)
    assert Path(sys.executable).parent == Path(plugin_command()[0]).parent
