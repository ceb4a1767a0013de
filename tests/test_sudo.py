"""The real sudo with contrib/sudoers/check_os4x: the nagios user runs exactly the plugin as root.

The rule is installed for the test's lifetime into /etc/sudoers.d, with the installed plugin's
path and a root-only config file substituted, and always removed. It must let nagios run each
aspect's command as root without a password, and refuse any other argument.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from deploy_helpers import (
    CONTRIB,
    INSTALLED_PLUGIN,
    MONITORING_USER,
    installed_plugin,
    need_program,
    need_root_and_user,
)
from helpers import PluginRun, assert_status, needs_server

pytestmark = pytest.mark.server
ROOT_CONFIG = "/etc/check_os4x/root.ini"


@pytest.fixture(scope="module")
def sudo_rule() -> Iterator[tuple[str, str]]:
    need_root_and_user()
    need_program("sudo", "sudo")
    visudo = need_program("visudo", "sudo")
    needs_server(Path("/etc/sudoers.d").is_dir(), "no /etc/sudoers.d")
    directory = Path(tempfile.mkdtemp(prefix="os4x-sudo-", dir="/tmp"))
    rule = Path(f"/etc/sudoers.d/check_os4x_test_{os.getpid()}")
    try:
        directory.chmod(0o755)
        root_config = directory / "root.ini"
        root_config.write_text("[check_os4x]\ntimeout = 20\n")
        root_config.chmod(0o600)
        text = (CONTRIB / "sudoers" / "check_os4x").read_text()
        text = text.replace(INSTALLED_PLUGIN, installed_plugin()).replace(
            ROOT_CONFIG, str(root_config))
        candidate = directory / "rule"
        candidate.write_text(text)
        checked = subprocess.run([visudo, "-c", "-f", str(candidate)], capture_output=True,
                                 text=True, timeout=30, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        candidate.chmod(0o440)
        shutil.copy(candidate, rule)  # only a file visudo accepted goes into sudoers.d
        yield installed_plugin(), str(root_config)
    finally:
        with contextlib.suppress(FileNotFoundError):
            rule.unlink()
        shutil.rmtree(directory, ignore_errors=True)


def as_nagios_with_sudo(*command: str) -> PluginRun:
    done = subprocess.run(["runuser", "-u", MONITORING_USER, "--", "sudo", "-n", *command],
                          capture_output=True, text=True, timeout=60, check=False, cwd="/",
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
    return PluginRun(done.returncode, done.stdout, done.stderr, 0.0)


def test_nagios_runs_the_plugin_as_root(sudo_rule, simulator):
    plugin, root_config = sudo_rule
    simulator.start()
    run = as_nagios_with_sudo(plugin, "--config", root_config, "--checks", "processes")
    assert_status(run, 0, "4 daemons running")
    for aspect in ("ports", "database", "isdn"):  # allowed: the plugin answers, not sudo
        other = as_nagios_with_sudo(plugin, "--config", root_config, "--checks", aspect)
        assert other.first_line.startswith("OS4X "), other.stdout + other.stderr


@pytest.mark.parametrize("extra", [
    ("--checks", "processes", "--capiinfo", "/bin/sh"),
    ("--checks", "processes", "-v"),
    ("--checks", "processes,ports"),
])
def test_any_other_argument_is_refused(sudo_rule, extra):
    plugin, root_config = sudo_rule
    run = as_nagios_with_sudo(plugin, "--config", root_config, *extra)
    assert run.code != 0 and "OS4X" not in run.stdout, run.stdout
    assert "sudo" in run.stderr, run.stderr


def test_another_config_file_is_refused(sudo_rule):
    plugin, _ = sudo_rule
    run = as_nagios_with_sudo(plugin, "--config", "/etc/shadow", "--checks", "processes")
    assert run.code != 0 and "OS4X" not in run.stdout and "root:" not in run.stdout


def test_visudo_accepts_the_sudoers_file():
    visudo = need_program("visudo", "sudo")
    done = subprocess.run([str(visudo), "-c", "-f", str(CONTRIB / "sudoers" / "check_os4x")],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
