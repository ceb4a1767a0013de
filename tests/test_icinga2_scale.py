"""Icinga 2 at scale: the ITL form of the CheckCommand, and master -> satellite -> agent.

Both are validated by the real ``icinga2 daemon -C``: the ITL file (contrib/icinga2/itl, made
by generate.py --itl from the option table) with a service that sets every kind of variable;
the master of contrib/icinga2/distributed with the contrib command and services synced through
the global zone, where every OS4X service of the agent's host must be executed by the agent
(command_endpoint); and the satellite's and the agent's own zones.conf.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from deploy_helpers import CONTRIB, chown_tree, nagios_directory
from helpers import load_script
from test_icinga2 import ICINGA2, Icinga, need_icinga

DISTRIBUTED = CONTRIB / "icinga2" / "distributed"
AGENT = "oftp1.example.com"


@pytest.mark.unit
def test_the_itl_file_is_generated_from_the_options():
    generator = load_script(CONTRIB / "icinga2" / "generate.py")
    committed = (CONTRIB / "icinga2" / "itl" / "os4x.conf").read_text(encoding="utf-8")
    assert committed == generator.itl(), (
        "contrib/icinga2/itl/os4x.conf is stale: python3 contrib/icinga2/generate.py --itl "
        "> contrib/icinga2/itl/os4x.conf")


@pytest.mark.unit
def test_the_itl_file_has_every_option_but_the_passwords():
    from os4xmon.cli.options import OPTIONS

    text = (CONTRIB / "icinga2" / "itl" / "os4x.conf").read_text(encoding="utf-8")
    for option in OPTIONS:
        assert (f'"{option.flags[-1]}" = {{' in text) == option.on_command_line, option.dest
    assert "password\"" not in text.replace("password-file", "")


ITL_SITE = (
    "const ZoneName = NodeName",
    "object Endpoint NodeName { }",
    "object Zone ZoneName { endpoints = [ NodeName ] }",
    'include "os4x-itl.conf"',
    'object Host "oftp1" { check_command = "dummy"',
    '  vars.os4x_checks = "processes"; vars.os4x_timeout = 20',
    "  vars.os4x_no_tls = true; vars.os4x_verbose = 2 }",
    'apply Service "os4x" { check_command = "os4x"; assign where host.name == "oftp1" }',
)
"""A site that uses the ITL command: a host whose variables set a value, a flag, -vv."""


class Node(Icinga):
    """An Icinga 2 node confined to a directory, with a NodeName and a zones.d of its own."""

    def __init__(self, directory: Path, name: str) -> None:
        super().__init__(directory)
        self.name = name

    def defines(self) -> list[str]:
        own = [f"-DNodeName={self.name}", f"-DZonesDir={self.etc / 'zones.d'}"]
        return [item for item in super().defines() if not item.startswith("-DNodeName=")] + own

    def write(self, *lines: str) -> None:
        (self.etc / "icinga2.conf").write_text("\n".join([
            'const PluginDir = "/usr/lib/nagios/plugins"',
            'const PluginContribDir = "/usr/lib/nagios/plugins"',
            "include <itl>",
            "include <plugins>",
            *lines, ""]))
        chown_tree(self.directory)

    def checked(self) -> str:
        done = self.validate()
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr
        return done.stdout


def services(node: Node) -> dict[str, str]:
    """Service name -> its object block, from what the last validation compiled."""
    text = node.objects("Service")
    return {block.split("'")[0]: block for block in text.split("Object '")[1:]}


@pytest.mark.server
def test_icinga2_validates_the_itl_command():
    need_icinga()
    with nagios_directory("os4x-icinga2-itl-") as directory:
        node = Node(directory, "os4x-itl")
        shutil.copy(CONTRIB / "icinga2" / "itl" / "os4x.conf", node.etc / "os4x-itl.conf")
        node.write(*ITL_SITE)
        node.checked()
        compiled = services(node)
    assert list(compiled) == ["oftp1!os4x"]


@pytest.mark.server
def test_icinga2_rejects_a_broken_itl_command():
    """The validation can fail: a typo in the generated form is caught."""
    need_icinga()
    with nagios_directory("os4x-icinga2-itl-bad-") as directory:
        node = Node(directory, "os4x-itl")
        text = (CONTRIB / "icinga2" / "itl" / "os4x.conf").read_text()
        (node.etc / "os4x-itl.conf").write_text(text.replace("set_if", "set_iff", 1))
        node.write(*ITL_SITE)
        done = node.validate()
        assert done.returncode != 0 and "set_iff" in done.stdout, done.stdout[-2000:]


@pytest.mark.server
def test_icinga2_validates_master_satellite_agent():
    need_icinga()
    with nagios_directory("os4x-icinga2-master-") as directory:
        node = Node(directory, "master1.example.com")
        shutil.copy(DISTRIBUTED / "master" / "zones.conf", node.etc / "zones.conf")
        shutil.copytree(DISTRIBUTED / "master" / "zones.d", node.etc / "zones.d")
        global_zone = node.etc / "zones.d" / "global-templates"
        global_zone.mkdir()
        for name in ("command.conf", "services.conf"):
            shutil.copy(CONTRIB / "icinga2" / name, global_zone / name)
        node.write('const ZoneName = "master"', 'include "zones.conf"')
        node.checked()
        compiled = services(node)
    assert sorted(compiled) == [f"{AGENT}!os4x ports", f"{AGENT}!os4x processes"]
    for block in compiled.values():
        assert f'command_endpoint = "{AGENT}"' in block, block
        assert 'zone = "os4x-dmz"' in block, block  # scheduled by the satellite
        assert 'check_command = "os4x"' in block


@pytest.mark.server
@pytest.mark.parametrize(("role", "name", "zone"), [
    ("satellite", "satellite1.example.com", "os4x-dmz"), ("agent", AGENT, AGENT)])
def test_icinga2_validates_each_nodes_zones(role, name, zone):
    need_icinga()
    with nagios_directory(f"os4x-icinga2-{role}-") as directory:
        node = Node(directory, name)
        shutil.copy(DISTRIBUTED / role / "zones.conf", node.etc / "zones.conf")
        node.write(f'const ZoneName = "{zone}"', 'include "zones.conf"')
        node.checked()
        zones = subprocess.run([*ICINGA2, "object", "list", "--type", "Zone", *node.defines()],
                               capture_output=True, text=True, timeout=60, check=True).stdout
    assert f"Object '{zone}' of type 'Zone'" in zones
    assert "Object 'global-templates' of type 'Zone'" in zones
