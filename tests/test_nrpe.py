"""The real NRPE daemon with contrib/nrpe/check_os4x.cfg, asked by the real check_nrpe.

nrpe runs on a free loopback port with the contrib command lines (the plugin's and the config
file's paths substituted), as the nagios user, the way the package runs it; check_nrpe asks it
for each command while the simulator shows a scenario. What NRPE passes on must be what the
plugin says when run directly: the state, the first line and the perfdata.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
from deploy_helpers import (
    INSTALLED_PLUGIN,
    MONITORING_USER,
    free_port,
    installed_plugin,
    nagios_directory,
    need_program,
    need_root_and_user,
    nrpe_commands,
    stable_view,
    stop_daemon,
    write_site_config,
)
from helpers import PluginRun, assert_status, run_plugin

pytestmark = pytest.mark.server

CHECK_NRPE = "/usr/lib/nagios/plugins/check_nrpe"
SITE_CONFIG = "/etc/nagios/check_os4x.ini"


class Nrpe:
    def __init__(self, directory: Path, program: str = "nrpe") -> None:
        self.program = program
        self.directory = directory
        self.port = free_port()
        self.site_config = write_site_config(directory / "check_os4x.ini",
                                             "[check_os4x]\ntimeout = 20\n")
        self.commands = {
            name: line.replace(INSTALLED_PLUGIN, installed_plugin())
                      .replace(SITE_CONFIG, str(self.site_config))
            for name, line in nrpe_commands().items()}
        self.config = directory / "nrpe.cfg"
        self.config.write_text("\n".join([
            f"pid_file={directory}/nrpe.pid",
            f"server_port={self.port}",
            "server_address=127.0.0.1",
            "allowed_hosts=127.0.0.1",
            f"nrpe_user={MONITORING_USER}",
            f"nrpe_group={MONITORING_USER}",
            "dont_blame_nrpe=0",
            "allow_bash_command_substitution=0",
            "command_timeout=60",
            "connection_timeout=60",
            "debug=0",
            *(f"command[{name}]={line}" for name, line in self.commands.items()),
            "",
        ]))
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.directory / "nrpe.out", "wb")  # noqa: SIM115 - lives with the daemon
        self.process = subprocess.Popen([self.program, "-c", str(self.config), "-f"], stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.directory / "nrpe.out").read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        pytest.fail("nrpe did not listen within 15 s")

    def stop(self) -> None:
        stop_daemon(self.process, grace=10)

    def ask(self, *args: str) -> PluginRun:
        started = time.monotonic()
        done = subprocess.run([CHECK_NRPE, "-H", "127.0.0.1", "-p", str(self.port), "-t", "60",
                               *args], capture_output=True, text=True, timeout=90, check=False)
        return PluginRun(done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def direct(self, name: str) -> PluginRun:
        """The same command line, run directly as the nagios user, as nrpe runs it."""
        return run_plugin(*self.commands[name].split()[1:], user=MONITORING_USER)


@pytest.fixture(scope="module")
def nrpe() -> Iterator[Nrpe]:
    need_root_and_user()
    program = need_program("nrpe", "nagios-nrpe-server")
    need_program(CHECK_NRPE, "nagios-nrpe-plugin")
    with nagios_directory("os4x-nrpe-") as directory:
        daemon = Nrpe(directory, program)
        daemon.start()
        try:
            yield daemon
        finally:
            daemon.stop()


def test_as_shipped_only_the_aspects_every_site_has_are_active():
    """database, isdn and queue answer UNKNOWN where a site lacks them: commented out."""
    assert sorted(nrpe_commands(every_aspect=False)) == ["check_os4x_certs", "check_os4x_ports",
                                                         "check_os4x_processes"]


def test_the_contrib_file_has_a_command_per_aspect(nrpe):
    assert sorted(nrpe.commands) == ["check_os4x_certs", "check_os4x_database",
                                     "check_os4x_isdn", "check_os4x_partner_ODETTE_VW",
                                     "check_os4x_partners", "check_os4x_ports",
                                     "check_os4x_processes", "check_os4x_queue"]
    version = nrpe.ask()
    assert version.code == 0 and version.stdout.startswith("NRPE v"), version.stdout


SCENARIOS = [
    pytest.param((), 0, "4 daemons running", id="ok"),
    pytest.param(("--missing", "os4xsqd"), 2, "os4xsqd not running", id="missing-os4xsqd"),
    pytest.param(("--zombie",), 1, "zombie os4xsqd", id="zombie"),
]


@pytest.mark.parametrize(("scenario", "code", "phrase"), SCENARIOS)
def test_state_first_line_and_perfdata_pass_through(nrpe, simulator, scenario, code, phrase):
    simulator.start(*scenario)
    direct = nrpe.direct("check_os4x_processes")
    remote = nrpe.ask("-c", "check_os4x_processes")
    assert_status(direct, code, phrase)
    assert_status(remote, code, phrase)
    assert stable_view(remote.stdout) == stable_view(direct.stdout)
    assert "os4xsqd=" in remote.first_line and "zombies=" in remote.first_line


def test_every_command_gives_the_state_the_plugin_gives(nrpe, simulator):
    simulator.start()
    for name in nrpe.commands:
        direct = nrpe.direct(name)
        remote = nrpe.ask("-c", name)
        assert remote.code == direct.code, f"{name}: {remote.stdout!r} vs {direct.stdout!r}"
        assert remote.first_line.split(" | ")[0] == direct.first_line.split(" | ")[0], name
        assert remote.first_line.startswith("OS4X "), name


def test_no_arguments_and_no_other_commands(nrpe):
    """dont_blame_nrpe stays 0: a client can neither add options nor run anything else."""
    smuggled = nrpe.ask("-c", "check_os4x_processes", "-a", "--capiinfo", "/bin/sh")
    assert smuggled.code == 3 and "OS4X" not in smuggled.stdout, smuggled.stdout
    unknown = nrpe.ask("-c", "check_os4x_everything")
    assert unknown.code == 3 and "not defined" in unknown.stdout, unknown.stdout
