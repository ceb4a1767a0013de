#!/usr/bin/env python3
"""Writes the Icinga 2 CheckCommands and the Icinga Director basket from the option table
(os4xmon.cli.options.OPTIONS).

The plugin's options are declared once, in os4xmon/cli/options.py; the CheckCommand
(contrib/icinga2/check_os4x-command.conf) and the Director basket
(contrib/icinga2/director-basket.json: the command, one data field per option, data lists
for the options with fixed choices, a service template per aspect) are generated from them,
so that a new option can never be missing from either (tests/test_contrib.py and
tests/test_director.py fail when a committed file differs from what this script writes).
Run from the repository's top:

    python3 contrib/icinga2/generate.py > contrib/icinga2/check_os4x-command.conf
    python3 contrib/icinga2/generate.py --basket > contrib/icinga2/director-basket.json
    python3 contrib/icinga2/generate.py --itl > contrib/icinga2/itl/os4x.conf

The third is the same CheckCommand in the form of the Icinga Template Library's
plugins-contrib.d files (tabs, ``PluginContribDir``, one ``-v``/``-vv``/``-vvv`` argument per
level), ready to be proposed upstream; a site includes either it or check_os4x-command.conf,
not both.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from os4xmon.cli.options import GROUP_TITLES, OPTIONS, Option, check_list
from os4xmon.core.settings import ASPECTS

PREFIX = "os4x_"

HEADER = """\
/* check_os4x: Icinga 2 CheckCommands "os4x" and "os4x-sudo".
 *
 * GENERATED from os4xmon/cli/options.py by contrib/icinga2/generate.py: do not edit by hand.
 *
 * Every option of check_os4x is a custom variable "os4x_<long option, dashes as underscores>",
 * set on the host (shared by every OS4X service of it) or on the service:
 *   vars.os4x_isdn_controllers = 2      a value option: --isdn-controllers 2
 *   vars.os4x_enterprise = true         a flag: --enterprise
 *   vars.os4x_verbose = 1               0 to 3: -v, -vv, -vvv (long output, configuration,
 *                                       tracebacks)
 *   vars.os4x_checks = "processes"      one aspect per service (see check_os4x-services.conf)
 *   vars.os4x_plugin                    where check_os4x is (default
 *                                       PluginContribDir/check_os4x, the ITL's place for
 *                                       plugins that are not Monitoring Plugins)
 *   vars.os4x_host                      unset: 127.0.0.1, where the plugin runs (locally or
 *                                       on the agent)
 *
 * Why "os4x" does not default --host to $check_address$ as the ITL's network checks do: the
 * plugin must run ON the OS4X host (locally or through the agent) to see the daemons, their
 * sockets and the local database, and there 127.0.0.1 is the right address. Probing only the
 * OFTP ports from the Icinga server is what "os4x-remote" is for: it takes $check_address$ as
 * the ITL does, and checks nothing but the ports.
 *
 * The passwords are never arguments (the process list would show them): put them as
 * db-password and odette-password into the file named by vars.os4x_config (an INI file with
 * a [check_os4x] section, readable by the icinga/nagios user only), or name files that hold
 * them in vars.os4x_db_password_file and vars.os4x_odette_password_file. There is no
 * vars.os4x_db_password or vars.os4x_odette_password (see docs/session-probe.md).
 *
 * "os4x-sudo" runs the plugin as root through sudo with exactly two arguments, --config and
 * --checks, matching contrib/sudoers/check_os4x; every other setting lives in that
 * root-owned config file (see docs/deployment.md, "Running as root: sudo").
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
    if option.repeat:  # an array: the option once per element
        lines.append("      repeat_key = true")
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
      description = "the one aspect this service checks: {aspects}"
      order = 2
    }
  }
  vars.os4x_plugin = PluginContribDir + "/check_os4x"
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
        '  vars.os4x_plugin = PluginContribDir + "/check_os4x"',
        "}",
        "",
        'object CheckCommand "os4x" {',
        '  import "os4x-arguments"',
        '  command = [ "$os4x_plugin$" ]',
        "}",
        "",
        'object CheckCommand "os4x-remote" {',
        "  /* From the Icinga server or a satellite: the OFTP ports of the host's address only",
        "   * (a remote --host checks nothing else). $check_address$ as in the ITL. */",
        '  import "os4x-arguments"',
        '  import "ipv4-or-ipv6"',
        '  command = [ "$os4x_plugin$" ]',
        '  vars.os4x_host = "$check_address$"',
        '  vars.os4x_checks = "ports"',
        "}",
        "",
        SUDO.replace("{aspects}", ", ".join(ASPECTS[:-1]) + " or " + ASPECTS[-1]),
    ])
    return "\n".join(out)


# -- the Icinga Director basket --

NAMESPACE = uuid.UUID("2f6f0b8e-6a3c-4d0c-9a55-0c0e4f3e7a11")  # stable uuids across runs
DATATYPE = "Icinga\\Module\\Director\\DataType\\DataType"


def stable_uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


def choices(option: Option) -> tuple[str, ...] | None:
    """The fixed values an option takes, for a Director data list; None for free values."""
    if option.convert is check_list:
        return ASPECTS
    return getattr(option.convert, "allowed", None)


def datatype(option: Option) -> str:
    if option.convert is None:
        return DATATYPE + "Boolean"
    if option.repeat:  # Icinga 2 repeats the key for each element of an array
        return DATATYPE + "Array"
    if choices(option):
        return DATATYPE + "Datalist"
    if option.convert.__name__ in ("whole_number", "port_number"):
        return DATATYPE + "Number"
    return DATATYPE + "String"


def list_name(option: Option) -> str:
    return f"check_os4x {option.key}"


def basket() -> str:
    options = [option for option in OPTIONS if option.on_command_line]
    fields: dict[str, dict] = {}
    lists: dict[str, dict] = {}
    ids: dict[str, int] = {}
    verbose = {"varname": PREFIX + "verbose", "caption": "OS4X: verbose",
               "description": "long output (-v): what was checked, what to do, what was not "
                              "verified",
               "datatype": DATATYPE + "Boolean", "format": None, "settings": {},
               "category": None, "uuid": stable_uuid("Datafield", "verbose")}
    for number, option in enumerate(options, start=1):
        settings: dict[str, str] = {}
        allowed = choices(option)
        if allowed:
            name = list_name(option)
            settings = {"behavior": "strict", "data_type": "string", "datalist": name}
            lists[name] = {
                "list_name": name, "owner": "check_os4x",
                "entries": [{"entry_name": value, "entry_value": value, "format": "string",
                             "allowed_roles": None} for value in allowed],
                "uuid": stable_uuid("DataList", name)}
        fields[str(number)] = {
            "varname": variable(option), "caption": f"OS4X: {option.flags[-1][2:]}",
            "description": option.help, "datatype": datatype(option), "format": None,
            "settings": settings, "category": None,
            "uuid": stable_uuid("Datafield", option.dest)}
        ids[option.dest] = number
    fields[str(len(options) + 1)] = verbose
    verbose_id = len(options) + 1

    arguments: dict[str, dict] = {"-v": {"set_if": f"${PREFIX}verbose$", "order": "0",
                                         "description": verbose["description"]}}
    for order, option in enumerate(options, start=1):
        key = "set_if" if option.convert is None else "value"
        arguments[option.flags[-1]] = {key: f"${variable(option)}$", "order": str(order),
                                       "description": option.help}
        if option.repeat:  # an array: the option once per element
            arguments[option.flags[-1]]["repeat_key"] = True

    def field_refs(dests: list[str], required: tuple[str, ...] = ()) -> list[dict]:
        return [{"datafield_id": ids[dest], "is_required": "y" if dest in required else "n",
                 "var_filter": None} for dest in dests]

    command = {
        "object_name": "os4x", "object_type": "object", "methods_execute": "PluginCheck",
        "command": "check_os4x", "arguments": arguments, "disabled": False,
        "fields": [*field_refs([option.dest for option in options]),
                   {"datafield_id": verbose_id, "is_required": "n", "var_filter": None}],
        "imports": [], "is_string": None, "timeout": "60", "vars": {}, "zone": None,
        "uuid": stable_uuid("Command", "os4x")}
    templates = {}
    for aspect in ASPECTS:
        mine = [option.dest for option in options if option.group in ("general", aspect)]
        if aspect in ("ports", "certs", "partners"):  # the probe reads the database's ports
            # when it has them; certs reads the partner certificates from it (--cert-query);
            # the partners read the transfer logs there
            mine += [option.dest for option in options if option.group == "database"]
        if aspect == "certs":  # the days left are the probe's thresholds
            mine += ["cert_warning", "cert_critical"]
        name = f"os4x-{aspect}"
        templates[name] = {
            "object_name": name, "object_type": "template", "check_command": "os4x",
            "check_interval": "60", "retry_interval": "30", "max_check_attempts": "3",
            "enable_perfdata": True, "disabled": False, "imports": [],
            "fields": field_refs([dest for dest in ids if dest in mine and dest != "checks"]),
            "notes": f"check_os4x: {GROUP_TITLES.get(aspect, aspect)}",
            "vars": {PREFIX + "checks": aspect}, "zone": None,
            "uuid": stable_uuid("ServiceTemplate", name)}
    document = {"Command": {"os4x": command}, "DataList": lists, "Datafield": fields,
                "ServiceTemplate": templates}
    return json.dumps(document, indent=4, sort_keys=True) + "\n"


# -- the ITL's plugins-contrib.d form --

ITL_HEADER = """\
/* check_os4x | the CheckCommand "os4x" in the form of the Icinga Template Library's
 * plugins-contrib.d. GENERATED from os4xmon/cli/options.py by contrib/icinga2/generate.py --itl.
 *
 * Include either this file or contrib/icinga2/check_os4x-command.conf (the same command, plus
 * "os4x-remote" and "os4x-sudo"), not both. Every option is the custom variable
 * os4x_<long option, dashes as underscores>; passwords are never arguments (put them into the
 * file of os4x_config, see docs/deployment.md).
 */
"""


def itl_argument(option: Option) -> list[str]:
    lines = [f"\t\t{quote(option.flags[-1])} = {{"]
    key = "set_if" if option.convert is None else "value"
    lines.append(f"\t\t\t{key} = {quote('$' + variable(option) + '$')}")
    lines.append(f"\t\t\tdescription = {quote(option.help)}")
    lines.append("\t\t}")
    return lines


def itl() -> str:
    out = [ITL_HEADER, 'object CheckCommand "os4x" {',
           '\tcommand = [ PluginContribDir + "/check_os4x" ]', "", "\targuments = {"]
    for option in OPTIONS:
        if option.on_command_line:
            out.extend(itl_argument(option))
    for level in (1, 2, 3):
        out.append(f'\t\t"-{"v" * level}" = {{')
        out.append(f'\t\t\tset_if = {{{{ macro("${PREFIX}verbose$") == {level} }}}}')
        if level == 1:
            out.append('\t\t\tdescription = "Verbosity: 1 long output, 2 also the '
                       'configuration used, 3 also tracebacks (Accepted values: `1`, `2` or '
                       '`3`). Defaults to none."')
        out.append("\t\t}")
    out.extend(["\t}", "}", ""])
    return "\n".join(out)


if __name__ == "__main__":
    if sys.argv[1:] == ["--basket"]:
        sys.stdout.write(basket())
    elif sys.argv[1:] == ["--itl"]:
        sys.stdout.write(itl())
    else:
        sys.stdout.write(generate())
