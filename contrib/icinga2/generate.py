#!/usr/bin/env python3
"""Writes contrib/icinga2/command.conf, the Icinga 2 CheckCommands, from os4xmon.options.OPTIONS.

The plugin's options are declared once, in os4xmon/options.py; the CheckCommand is generated
from them so that a new option can never be missing from it (tests/test_contrib.py fails when
the committed file differs from what this script writes). Run from the repository's top:

    python3 contrib/icinga2/generate.py > contrib/icinga2/command.conf
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from os4xmon.options import OPTIONS, Option

PREFIX = "os4x_"

HEADER = """\
/* check_os4x: Icinga 2 CheckCommands "os4x" and "os4x-sudo".
 *
 * GENERATED from os4xmon/options.py by contrib/icinga2/generate.py: do not edit by hand.
 *
 * Every option of check_os4x is a custom variable "os4x_<long option, dashes as underscores>",
 * set on the host (shared by every OS4X service of it) or on the service:
 *   vars.os4x_isdn_controllers = 2      a value option: --isdn-controllers 2
 *   vars.os4x_enterprise = true         a flag: --enterprise
 *   vars.os4x_verbose = 1               0 to 3: -v, -vv, -vvv (long output, configuration,
 *                                       tracebacks)
 *   vars.os4x_checks = "processes"      one aspect per service (see services.conf)
 *   vars.os4x_plugin                    where check_os4x is (default PluginDir/check_os4x)
 *   vars.os4x_host                      unset: 127.0.0.1, where the plugin runs (locally or
 *                                       on the agent); "$address$" probes the ports from afar
 *                                       and checks nothing else
 *
 * The passwords are never arguments (the process list would show them): put them as
 * db-password and odette-password into the file named by vars.os4x_config (an INI file with
 * a [check_os4x] section, readable by the icinga/nagios user only), or name files that hold
 * them in vars.os4x_db_password_file and vars.os4x_odette_password_file. There is no
 * vars.os4x_db_password or vars.os4x_odette_password (see docs/session-probe.md).
 *
 * "os4x-sudo" runs the plugin as root through sudo with exactly two arguments, --config and
 * --checks, matching contrib/sudoers/check_os4x; every other setting lives in that
 * root-owned config file (see the README, "Deployment").
 */
"""


def quote(text: str) -> str:
    """An Icinga 2 string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def variable(option: Option) -> str:
    return PREFIX + option.dest


def argument(option: Option, order: int) -> list[str]:
    flag = option.flags[-1]  # the long name: the interface admins rely on
    macro = f"${variable(option)}$"
    lines = [f"    {quote(flag)} = {{"]
    if option.convert is None:
        lines.append(f"      set_if = {quote(macro)}")
    else:
        lines.append(f"      value = {quote(macro)}")
    lines.append(f"      description = {quote(option.help)}")
    lines.append(f"      order = {order}")
    lines.append("    }")
    return lines


VERBOSITY = """\
    "(verbosity)" = {
      set_if = {{ macro("$os4x_verbose$") in [ true, 1, 2, 3, "1", "2", "3" ] }}
      value = {{
        var level = macro("$os4x_verbose$")
        if (level in [ 3, "3" ]) { return "-vvv" }
        if (level in [ 2, "2" ]) { return "-vv" }
        return "-v"
      }}
      skip_key = true
      description = "0 to 3: -v long output, -vv also the configuration used, -vvv also tracebacks"
      order = 0
    }"""

SUDO = """\
object CheckCommand "os4x-sudo" {
  /* Exactly the commands of contrib/sudoers/check_os4x: sudo refuses any other argument. */
  command = [ "/usr/bin/sudo", "-n", "$os4x_plugin$" ]
  arguments = {
    "--config" = {
      value = "$os4x_sudo_config$"
      required = true
      description = "root-owned INI file with every site setting (sudo allows no other option)"
      order = 1
    }
    "--checks" = {
      value = "$os4x_checks$"
      required = true
      description = "the one aspect this service checks: processes, ports, database or isdn"
      order = 2
    }
  }
  vars.os4x_plugin = PluginDir + "/check_os4x"
  vars.os4x_sudo_config = "/etc/check_os4x/root.ini"
}
"""


def generate() -> str:
    out = [HEADER, 'template CheckCommand "os4x-arguments" {', "  arguments = {", VERBOSITY]
    for order, option in enumerate(OPTIONS, start=1):
        if not option.on_command_line:
            continue  # secrets: config file only
        out.extend(argument(option, order))
    out.extend([
        "  }",
        '  vars.os4x_plugin = PluginDir + "/check_os4x"',
        "}",
        "",
        'object CheckCommand "os4x" {',
        '  import "os4x-arguments"',
        '  command = [ "$os4x_plugin$" ]',
        "}",
        "",
        SUDO,
    ])
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(generate())
