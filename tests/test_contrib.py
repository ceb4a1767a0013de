"""The contrib files cover every option and every aspect, and cannot drift from the plugin.

The real programs prove them in test_nrpe.py, test_icinga2.py and test_sudo.py; these tests
read the files and need nothing installed.
"""

from __future__ import annotations

import re

import pytest
from deploy_helpers import CONTRIB, INSTALLED_PLUGIN, nrpe_commands
from helpers import load_script

from os4xmon.cli.options import OPTIONS
from os4xmon.cli.read_settings import parse
from os4xmon.core.settings import ASPECTS

pytestmark = pytest.mark.unit

ICINGA = CONTRIB / "icinga2"


def load_generator():
    return load_script(ICINGA / "generate.py")


def command_arguments() -> dict[str, str]:
    """The arguments block of the "os4x-arguments" template: flag -> its definition."""
    text = (ICINGA / "check_os4x-command.conf").read_text()
    block = text.split('template CheckCommand "os4x-arguments"', 1)[1].split(
        'object CheckCommand "os4x"', 1)[0]
    return dict(re.findall(r'^    "([^"]+)" = \{\n(.*?)^    \}', block, re.M | re.S))


def test_committed_command_conf_is_what_the_generator_writes():
    expected = load_generator().generate()
    assert (ICINGA / "check_os4x-command.conf").read_text() == expected, (
        "contrib/icinga2/check_os4x-command.conf is stale: "
        "python3 contrib/icinga2/generate.py > contrib/icinga2/check_os4x-command.conf")


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.dest)
def test_every_option_is_a_custom_variable_with_a_description(option):
    arguments = command_arguments()
    flag = option.flags[-1]
    if not option.on_command_line:  # the password: never an argument
        assert flag not in arguments
        assert f"$os4x_{option.dest}$" not in (ICINGA / "check_os4x-command.conf").read_text()
        return
    definition = arguments[flag]
    macro = f'"$os4x_{option.dest}$"'
    if option.convert is None:
        assert f"set_if = {macro}" in definition
    else:
        assert f"value = {macro}" in definition
    assert f'description = "{option.help}"' in definition


def test_verbosity_and_the_sudo_command():
    arguments = command_arguments()
    assert "$os4x_verbose$" in arguments["(verbosity)"]
    text = (ICINGA / "check_os4x-command.conf").read_text()
    sudo = text.split('object CheckCommand "os4x-sudo"', 1)[1]
    assert '"/usr/bin/sudo", "-n", "$os4x_plugin$"' in sudo
    assert sorted(re.findall(r'^    "(--[a-z-]+)" = \{', sudo, re.M)) == ["--checks", "--config"]


def test_one_icinga_service_per_aspect_with_the_agent_case():
    text = (ICINGA / "check_os4x-services.conf").read_text()
    for aspect in ASPECTS:
        assert f'apply Service "os4x {aspect}"' in text
        assert f'vars.os4x_checks = "{aspect}"' in text
    assert "command_endpoint = host.vars.agent_endpoint" in text


def test_nrpe_commands_are_fixed_per_aspect():
    commands = nrpe_commands()
    one_partner = {name: line for name, line in commands.items()
                   if name.startswith("check_os4x_partner_")}  # the example of one partner
    assert sorted(set(commands) - set(one_partner)) == sorted(f"check_os4x_{aspect}"
                                                              for aspect in ASPECTS)
    for name, line in commands.items():
        aspect = "partners" if name in one_partner else name[len("check_os4x_"):]
        assert line.startswith(f"{INSTALLED_PLUGIN} --config /etc/nagios/check_os4x.ini "
                               f"--checks {aspect}")
    assert all(line.endswith(" --partner ODETTE-VW") for line in one_partner.values())
    text = (CONTRIB / "nrpe" / "check_os4x.cfg").read_text()
    assert "$ARG" not in text and "dont_blame_nrpe" in text  # only in the comment saying no
    assert "-m 0600" in text and "-o nagios" in text


def test_example_ini_names_every_option_and_parses(tmp_path):
    text = (CONTRIB / "nrpe" / "check_os4x.ini").read_text()
    keys = re.findall(r"^#([a-z0-9-]+) = ", text, re.M)
    assert sorted(keys) == sorted([o.key for o in OPTIONS if o.dest != "config"] + ["verbose"])
    # uncommented, the example is a valid configuration (files that exist only on a site aside)
    active = re.sub(r"^#([a-z-]+ = )", r"\1", text, flags=re.M)
    active = re.sub(r"^(db-password-file|odette-password-file|tls-ca|tls-cert|tls-key|db-ssl-ca|"
                    r"textfile-dir) "
                    r"= .*$", "", active, flags=re.M)
    path = tmp_path / "example.ini"
    path.write_text(active)
    settings = parse(["--config", str(path)], environ={})
    assert settings.isdn_controllers == 0 and settings.user == "www-data"
    assert settings.db_password == "change-me"
    assert (settings.odette_id, settings.odette_password) == ("O0013000000MONIT", "CHANGEME")


def test_nagios_commands_and_a_service_per_aspect():
    text = (CONTRIB / "nagios" / "check_os4x.cfg").read_text()
    defined = re.findall(r"command_name\s+(\S+)", text)
    assert sorted(defined) == ["check_os4x", "check_os4x_nrpe"]
    used = re.findall(r"check_command\s+(\S+)", text)
    for aspect in ASPECTS:
        assert any(re.fullmatch(f"check_os4x!{aspect}(!.*)?", command) for command in used)
        assert f"check_os4x_nrpe!{aspect}" in used
    assert all(command.split("!")[0] in defined for command in used)
    nrpe_remote = re.search(r"check_nrpe .* -c check_os4x_\$ARG1\$", text)
    assert nrpe_remote, "the NRPE command must name the contrib NRPE commands"


def sudoers_commands() -> list[str]:
    text = (CONTRIB / "sudoers" / "check_os4x").read_text()
    alias = text.split("Cmnd_Alias CHECK_OS4X =", 1)[1].split("\n\n", 1)[0]
    return [part.strip() for part in alias.replace("\\\n", " ").split(",")]


def test_sudoers_allows_exactly_one_command_per_aspect_and_no_wildcard():
    commands = sudoers_commands()
    assert commands == [f"{INSTALLED_PLUGIN} --config /etc/check_os4x/root.ini --checks {a}"
                        for a in ("processes", "ports", "database", "isdn", "queue", "certs",
                                  "partners")]
    assert sorted(a for a in ASPECTS) == sorted(c.split()[-1] for c in commands)
    for command in commands:
        assert not set("*?[]\\") & set(command), command
    text = (CONTRIB / "sudoers" / "check_os4x").read_text()
    assert "nagios ALL = (root) NOPASSWD: CHECK_OS4X" in text
    # the NRPE example and Icinga's os4x-sudo call exactly these
    nrpe = (CONTRIB / "nrpe" / "check_os4x.cfg").read_text()
    assert f"/usr/bin/sudo -n {commands[0]}" in nrpe
    assert '"/etc/check_os4x/root.ini"' in (ICINGA / "check_os4x-command.conf").read_text()


def test_the_deployment_page_names_only_contrib_files_that_exist():
    page = (CONTRIB.parent / "docs" / "deployment.md").read_text()
    named = set(re.findall(r"contrib/[A-Za-z0-9_./-]+[A-Za-z0-9_]", page))
    assert len(named) >= 7
    for path in named:
        assert (CONTRIB.parent / path).is_file(), path
