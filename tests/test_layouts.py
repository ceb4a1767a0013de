"""The per-distribution files (sudoers, NRPE, Checkmk MRPE): generated, complete, loadable.

contrib/layouts.py writes them from one table of distribution layouts and the plugin's
aspects; the real sudo's visudo parses each sudoers file, and every command line in them is
one the plugin accepts.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess

import pytest
from deploy_helpers import CONTRIB
from helpers import load_script, needs_server

from os4xmon.cli.read_settings import parse
from os4xmon.core.settings import ASPECTS


def load_layouts():
    return load_script(CONTRIB / "layouts.py")


LAYOUTS = load_layouts()


def test_committed_files_are_what_the_generator_writes():
    for path, text in LAYOUTS.files().items():
        assert path.is_file(), f"{path} is missing: python3 contrib/layouts.py --write"
        assert path.read_text() == text, f"{path} is stale: python3 contrib/layouts.py --write"


def command_lines(path) -> list[str]:
    """The plugin invocations of a sudoers, NRPE or MRPE file, commented ones included."""
    return re.findall(r"(/usr/lib(?:64)?/nagios/plugins/check_os4x [^,\n\\]+)",
                      path.read_text())


@pytest.mark.parametrize("name", sorted(LAYOUTS.LAYOUTS))
def test_each_layout_covers_every_aspect_with_its_own_paths_and_users(name):
    layout = LAYOUTS.LAYOUTS[name]
    suffix, plugins = layout["suffix"], layout["plugins"]
    for path in (CONTRIB / "sudoers" / f"check_os4x{suffix}",
                 CONTRIB / "nrpe" / f"check_os4x{suffix}.cfg",
                 CONTRIB / "checkmk" / f"check_os4x-mrpe{suffix}.cfg"):
        lines = command_lines(path)
        aspects = [line.split("--checks ")[1].split()[0] for line in lines]
        assert set(aspects) == set(ASPECTS), path
        assert all(line.startswith(f"{plugins}/check_os4x ") for line in lines), path
        for line in lines:
            assert not set("*?[]$`") & set(line), line  # fixed arguments only
    sudoers = (CONTRIB / "sudoers" / f"check_os4x{suffix}").read_text()
    granted = re.findall(r"^(\S+) ALL = \(root\) NOPASSWD: CHECK_OS4X$", sudoers, re.M)
    assert granted == list(layout["sudo_users"])
    nrpe = (CONTRIB / "nrpe" / f"check_os4x{suffix}.cfg").read_text()
    assert f"{layout['nrpe_dir']}/check_os4x.cfg" in nrpe
    assert f"-o {layout['nrpe_user']} -g {layout['nrpe_user']} -m 0600" in nrpe


def test_rhel_uses_lib64_the_nrpe_and_icinga_users_and_says_how_selinux_allows_sudo():
    sudoers = (CONTRIB / "sudoers" / "check_os4x.rhel").read_text()
    assert "/usr/lib64/nagios/plugins/check_os4x" in sudoers
    assert "nrpe ALL" in sudoers and "icinga ALL" in sudoers
    assert "setsebool -P nagios_run_sudo on" in sudoers
    assert "/etc/nrpe.d/check_os4x.cfg" in (CONTRIB / "nrpe" / "check_os4x.rhel.cfg").read_text()


@pytest.mark.parametrize("path", sorted(LAYOUTS.files()), ids=lambda path: path.name)
def test_every_command_line_is_one_the_plugin_accepts(path, tmp_path):
    config = tmp_path / "check_os4x.ini"
    config.write_text("[check_os4x]\nisdn-controllers = 1\n"  # a site with ISDN
                      "db-type = mysql\npartner-query = SELECT 1\nfailures-warning = 3\n")
    for line in command_lines(path):
        arguments = shlex.split(line)[1:]
        arguments[arguments.index("--config") + 1] = str(config)
        settings = parse(arguments, environ={})
        assert len(settings.selected_checks) == 1, line


def test_mrpe_service_names_are_single_words():
    for path in sorted((CONTRIB / "checkmk").glob("check_os4x-mrpe*.cfg")):
        for line in path.read_text().splitlines():
            if line and not line.startswith("#"):
                name, command = line.split(" ", 1)
                assert re.fullmatch(r"OS4X_[a-z]+", name), line
                assert command.startswith("/usr/lib"), line


@pytest.mark.server
@pytest.mark.parametrize("name", sorted(LAYOUTS.LAYOUTS))
def test_visudo_accepts_each_sudoers_file(name):
    visudo = shutil.which("visudo", path="/usr/sbin:/sbin:" + os.environ.get("PATH", ""))
    needs_server(bool(visudo), "visudo is missing: apt-get install sudo")
    path = CONTRIB / "sudoers" / f"check_os4x{LAYOUTS.LAYOUTS[name]['suffix']}"
    done = subprocess.run([str(visudo), "-c", "-f", str(path)], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
