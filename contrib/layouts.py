#!/usr/bin/env python3
"""Writes the per-distribution contrib files (sudoers, NRPE, Checkmk MRPE) from one table.

Distributions put the same things in different places: the plugin directory (Debian and SUSE
``/usr/lib/nagios/plugins``, RHEL ``/usr/lib64/nagios/plugins``), NRPE's include directory
(Debian ``/etc/nagios/nrpe.d``, RHEL and SUSE ``/etc/nrpe.d``) and the users the monitoring
daemons run as (Debian: ``nagios`` for NRPE, Nagios and Icinga 2; RHEL: ``nrpe``, ``nagios``
and ``icinga``; SUSE: ``nagios`` and ``icinga``). Each file is written from the layout table
and the plugin's aspects (os4xmon.core.settings.ASPECTS), so a new aspect or a new distribution
cannot be forgotten in one of them; tests/test_layouts.py fails when a committed file differs
from what this script writes. Run from the repository's top after adding an aspect:

    python3 contrib/layouts.py --write
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from os4xmon.core.settings import ASPECTS

CONTRIB = Path(__file__).resolve().parent
OPT_IN = {
    "database": "with the database check configured (db-type, pid-query in the settings)",
    "isdn": "with ISDN (isdn-controllers above 0 in the settings)",
    "queue": "with the send-queue check configured (queue-query in the settings)",
    "partners": "with the partner check configured (partner-query in the settings)",
}
"""Aspects a site may not have: without their settings they answer UNKNOWN, so every example
ships their lines commented out, each under the condition that enables it."""
SITE_CONFIG = "/etc/nagios/check_os4x.ini"
ROOT_CONFIG = "/etc/check_os4x/root.ini"

LAYOUTS = {
    "debian": {
        "title": "Debian and Ubuntu",
        "suffix": "",
        "plugins": "/usr/lib/nagios/plugins",
        "nrpe_dir": "/etc/nagios/nrpe.d",
        "nrpe_user": "nagios",
        "nrpe_reload": "systemctl reload nagios-nrpe-server",
        "sudo_users": ("nagios",),
        "users_note": "NRPE, Nagios and Icinga 2 all run as nagios",
    },
    "rhel": {
        "title": "RHEL, Rocky, AlmaLinux, Oracle Linux (EPEL packages)",
        "suffix": ".rhel",
        "plugins": "/usr/lib64/nagios/plugins",
        "nrpe_dir": "/etc/nrpe.d",
        "nrpe_user": "nrpe",
        "nrpe_reload": "systemctl reload nrpe",
        "sudo_users": ("nrpe", "icinga", "nagios"),
        "users_note": "NRPE runs as nrpe, Icinga 2 as icinga, Nagios Core as nagios",
    },
    "suse": {
        "title": "SUSE Linux Enterprise and openSUSE",
        "suffix": ".suse",
        "plugins": "/usr/lib/nagios/plugins",
        "nrpe_dir": "/etc/nrpe.d",
        "nrpe_user": "nagios",
        "nrpe_reload": "systemctl reload nrpe",
        "sudo_users": ("nagios", "icinga"),
        "users_note": "NRPE and Nagios run as nagios, Icinga 2 as icinga",
    },
}


# The stock configuration each distribution's packages install (Icinga 2, Nagios Core, NRPE,
# sudo, the monitoring plugins, Checkmk's agent), where no file of ours may land:
# tests/test_install_commands.py installs every contrib file by its documented commands into a
# tree of these files and proves none of them changed. Debian's own lists come from dpkg -L of
# the installed packages in that test; the ones here are what that cannot give.
ICINGA2_STOCK = (
    "/etc/icinga2/icinga2.conf", "/etc/icinga2/constants.conf", "/etc/icinga2/zones.conf",
    "/etc/icinga2/init.conf", "/etc/icinga2/zones.d/README",
    *(f"/etc/icinga2/conf.d/{name}.conf" for name in (
        "app", "commands", "downtimes", "groups", "hosts", "notifications", "satellite",
        "services", "templates", "timeperiods", "users")),
    *(f"/etc/icinga2/features-available/{name}.conf" for name in (
        "api", "checker", "command", "mainlog", "notification", "debuglog", "influxdb",
        "graphite", "ido-mysql", "ido-pgsql", "livestatus", "perfdata", "syslog")),
    "/etc/icinga2/scripts/mail-host-notification.sh",
    "/etc/icinga2/scripts/mail-service-notification.sh",
)
NAGIOS_OBJECTS = ("commands", "contacts", "localhost", "printer", "switch", "templates",
                  "timeperiods", "windows")
PLUGINS = ("check_disk", "check_load", "check_ping", "check_procs", "check_ssh", "check_tcp",
           "check_users", "check_nrpe", "check_http", "check_swap")
STOCK = {
    "debian": (
        "/etc/check_mk/mrpe.cfg",  # the agent's MRPE list, the admin's own lines in it
        "/etc/icingaweb2/modules/grafana/graphs.ini",
    ),
    "rhel": (
        *ICINGA2_STOCK,
        "/etc/nagios/nrpe.cfg", "/etc/nrpe.d/README",
        "/etc/nagios/nagios.cfg", "/etc/nagios/cgi.cfg", "/etc/nagios/passwd",
        "/etc/nagios/private/resource.cfg", "/etc/nagios/conf.d/README",
        *(f"/etc/nagios/objects/{name}.cfg" for name in NAGIOS_OBJECTS),
        "/etc/sudoers", "/etc/sudo.conf", "/etc/sudo-ldap.conf", "/etc/sudoers.d/README",
        *(f"/usr/lib64/nagios/plugins/{name}" for name in PLUGINS),
        "/etc/check_mk/mrpe.cfg", "/etc/icingaweb2/modules/grafana/graphs.ini",
    ),
    "suse": (
        *ICINGA2_STOCK,
        "/etc/nrpe.cfg", "/etc/nrpe.d/README",
        "/etc/nagios/nagios.cfg", "/etc/nagios/cgi.cfg", "/etc/nagios/resource.cfg",
        *(f"/etc/nagios/objects/{name}.cfg" for name in NAGIOS_OBJECTS),
        "/etc/sudoers", "/etc/sudoers.d/README",
        *(f"/usr/lib/nagios/plugins/{name}" for name in PLUGINS),
        "/etc/check_mk/mrpe.cfg", "/etc/icingaweb2/modules/grafana/graphs.ini",
    ),
}


def opt_in(aspect: str, line: str) -> str:
    """The line as it is for an aspect every site has, else commented out under its condition."""
    if aspect not in OPT_IN:
        return line
    return f"# {OPT_IN[aspect]}, uncomment:\n#{line}"


def plugin(layout: dict) -> str:
    return f"{layout['plugins']}/check_os4x"


def sudoers(layout: dict) -> str:
    commands = ", \\\n".join(f"    {plugin(layout)} --config {ROOT_CONFIG} --checks {aspect}"
                             for aspect in ASPECTS)
    selinux = ""
    if layout is LAYOUTS["rhel"]:
        selinux = ("#\n# SELinux (enforcing, the RHEL default): NRPE runs confined and may not "
                   "call sudo until\n#   setsebool -P nagios_run_sudo on\n")
    return f"""\
# check_os4x as root, for the monitoring users of {layout['title']}
# ({layout['users_note']}).
# GENERATED by contrib/layouts.py: do not edit by hand.
#
# Worth it only where the plugin cannot see enough as the monitoring user: /proc mounted with
# hidepid (other users' processes are hidden), the owner of a listening socket of another user
# (whether os4xrd_tcpip itself holds port 3305) and the executables of the daemons (replaced
# binaries, impostors). Without root the check still runs and lists in its long output (-v)
# what it could not verify.
#
# Exactly these commands, nothing else: a full path and fixed arguments. No wildcard: "*" in
# sudoers also matches spaces, so "check_os4x *" would let the monitoring user add
# "--capiinfo /tmp/x" (a program run as root) or "--config /etc/shadow". Every setting is in
# {ROOT_CONFIG}, owned by root, mode 0600. The plugin, its Python environment
# and that file must not be writable by the monitoring users.
#
# Install, from the repository's top (in the packages: from the documentation's examples/):
#   install -o root -g root -m 0440 contrib/sudoers/check_os4x{layout['suffix']} \\
#       /etc/sudoers.d/check_os4x
#   visudo -c -f /etc/sudoers.d/check_os4x
#   install -d -o root -g root -m 0755 /etc/check_os4x
#   install -o root -g root -m 0600 contrib/nrpe/check_os4x.ini {ROOT_CONFIG}
# and use the Icinga 2 command "os4x-sudo" (vars.os4x_root = true) or NRPE's sudo line.
{selinux}
Cmnd_Alias CHECK_OS4X = \\
{commands}

Defaults!CHECK_OS4X !requiretty
""" + "".join(f"{user} ALL = (root) NOPASSWD: CHECK_OS4X\n" for user in layout["sudo_users"])


def nrpe(layout: dict) -> str:
    commands = "\n".join(opt_in(aspect, f"command[check_os4x_{aspect}]={plugin(layout)} "
                                 f"--config {SITE_CONFIG} --checks {aspect}")
                          for aspect in ASPECTS)
    sudo = "\n".join(f"#command[check_os4x_{aspect}]=/usr/bin/sudo -n {plugin(layout)} "
                     f"--config {ROOT_CONFIG} --checks {aspect}" for aspect in ASPECTS)
    user = layout["nrpe_user"]
    target = f"{layout['nrpe_dir']}/check_os4x.cfg"
    return f"""\
# check_os4x for NRPE on {layout['title']}: one command per aspect, fixed arguments
# (no dont_blame_nrpe). GENERATED by contrib/layouts.py: do not edit by hand.
#
# Install, from the repository's top (in the packages: from the documentation's examples/):
#   install -o root -g root -m 0644 contrib/nrpe/check_os4x{layout['suffix']}.cfg {target}
#   install -o {user} -g {user} -m 0600 contrib/nrpe/check_os4x.ini {SITE_CONFIG}
#   {layout['nrpe_reload']}
# The site settings, the database password included, live in check_os4x.ini, owned by the
# user NRPE runs as ({user}), mode 0600, as the plugin's own warning asks; no setting is
# on a command line. From the Nagios or Icinga server:
#   check_nrpe -H os4x.example.com -c check_os4x_processes

{commands}

# One partner as its own service (the partners check with --partner; its thresholds, such as
# partner-silence, stay in check_os4x.ini): one fixed line per partner, since NRPE takes no
# argument from the network. From the server: check_nrpe ... -c check_os4x_partner_ODETTE_VW
#command[check_os4x_partner_ODETTE_VW]={plugin(layout)} --config {SITE_CONFIG} \
--checks partners --partner ODETTE-VW

# As root, through sudo (contrib/sudoers/check_os4x{layout['suffix']}; settings in the
# root-only file):
{sudo}
"""


def mrpe(layout: dict) -> str:
    lines = "\n".join(opt_in(aspect, f"OS4X_{aspect} {plugin(layout)} --config "
                              f"/etc/check_mk/check_os4x.ini --checks {aspect}")
                       for aspect in ASPECTS)
    return f"""\
# check_os4x for Checkmk's MRPE on {layout['title']}: one service per aspect.
# GENERATED by contrib/layouts.py: do not edit by hand.
#
# Install on the OS4X host, where the Checkmk agent runs (as root), from the repository's top
# (in the packages: from the documentation's examples/); the first line appends to the
# agent's own MRPE list, the admin's lines in it stay:
#   cat contrib/checkmk/check_os4x-mrpe{layout['suffix']}.cfg >> /etc/check_mk/mrpe.cfg
#   install -o root -g root -m 0600 contrib/nrpe/check_os4x.ini /etc/check_mk/check_os4x.ini
# then discover the services on the Checkmk server ("MRPE OS4X_processes" and so on). The
# agent runs MRPE as root: the settings file is root's, mode 0600, and holds the database
# password. Perfdata passes through into Checkmk's graphs. The database, isdn, queue and
# partners lines are commented out: uncomment each where the site has it (see the note above it).

{lines}
"""


def files() -> dict[Path, str]:
    """Every generated file: its path and its text."""
    out: dict[Path, str] = {}
    for layout in LAYOUTS.values():
        suffix = layout["suffix"]
        out[CONTRIB / "sudoers" / f"check_os4x{suffix}"] = sudoers(layout)
        out[CONTRIB / "nrpe" / f"check_os4x{suffix}.cfg"] = nrpe(layout)
        out[CONTRIB / "checkmk" / f"check_os4x-mrpe{suffix}.cfg"] = mrpe(layout)
    return out


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python3 contrib/layouts.py --write")
    for path, text in files().items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path.relative_to(CONTRIB.parent))
