#!/usr/bin/env python3
"""Writes docs/options.md, the options reference, from os4xmon.cli.options.OPTIONS.

The plugin's options are declared once, in os4xmon/cli/options.py (flags, help text, check they
belong to); this page is generated from them so that it can never miss an option or disagree
with ``check_os4x --help`` (tests/test_docs.py fails when the committed page differs from what
this script writes). After adding or changing an option, run from the repository's top:

    python3 docs/generate_options.py > docs/options.md

An example for a new option goes into EXAMPLES below; without one, the row shows the plain
``check_os4x --option VALUE`` form, so the page stays complete either way.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from os4xmon.cli.options import OPTIONS, Option

# argparse's own options: not in OPTIONS, but part of the interface
BUILTIN_ROWS = (
    ("`-h`, `--help`", "general", "all options", "`check_os4x -h`"),
    ("`-V`, `--version`", "general", "the version", "`check_os4x -V`"),
    ("`-v`, `--verbose`", "general", "`-v`: long output, one line per daemon with pid, user and "
     "age, and `what to do:` under a problem whose next step the plugin knows; `-vv`: also the "
     "configuration used and where each value came from (secrets shown as `(set)`); `-vvv`: "
     "also tracebacks",
     "`check_os4x -v`"),
)

# an example command line (or config file line) per option, by its long flag or config key
EXAMPLES = {
    "--timeout": "check_os4x -t 20",
    "--checks": "check_os4x --checks processes",
    "--config": "check_os4x --config /etc/nagios/check_os4x.ini",
    "--output": "check_os4x --output json",
    "--textfile-dir": "check_os4x --textfile-dir /var/lib/prometheus/node-exporter",
    "--user": "check_os4x --user www-data",
    "--isdn-controllers": "check_os4x --isdn-controllers 2",
    "--action-age-warning": "check_os4x --action-age-warning 1800",
    "--action-age-critical": "check_os4x --action-age-critical 7200",
    "--min-uptime": "check_os4x --min-uptime 300",
    "--port": "check_os4x --port 3305",
    "--tls-port": "check_os4x --tls-port 6619",
    "--clientd-port": "check_os4x --enterprise --clientd-port 60000",
    "--debugd-port": "check_os4x --require-debugd --debugd-port 10001",
    "--host": "check_os4x -H oftp.example.com",
    "--tls-ca": "check_os4x --probe --tls-ca /etc/ssl/certs/ca-certificates.crt",
    "--response-warning": "check_os4x --probe --response-warning 2",
    "--response-critical": "check_os4x --probe --response-critical 5",
    "--cert-warning": "check_os4x --probe --cert-warning 45",
    "--cert-critical": "check_os4x --probe --cert-critical 14",
    "--cert-file": "check_os4x --cert-file '/opt/os4x/cert/*.pem' --cert-file /etc/os4x/tls.der",
    "--crl-file": "check_os4x --crl-file '/opt/os4x/cert/*.crl'",
    "--cert-query": "check_os4x --db-type mysql --cert-query \"SELECT partner, 'encryption', "
                    "enc_cert FROM {prefix}partner_certificates\"",
    "--cert-dir": "check_os4x --cert-dir /opt/os4x/cert",
    "--crl-max-age": "check_os4x --checks certs --crl-max-age 36h",
    "--db-type": "check_os4x --db-type mariadb",
    "--db-host": "check_os4x --db-host 127.0.0.1",
    "--db-port": "check_os4x --db-port 5433",
    "--db-socket": "check_os4x --db-socket /run/mysqld/mysqld.sock",
    "--db-name": "check_os4x --db-name os4x",
    "--db-user": "check_os4x --db-user nagios",
    "db-password": "db-password = s3cret",
    "--db-password-file": "check_os4x --db-password-file /etc/nagios/os4x-db.pw",
    "--db-ssl-ca": "check_os4x --db-ssl-ca /etc/ssl/db-ca.pem",
    "--pid-query": "check_os4x --pid-query 'SELECT daemon, pid FROM {prefix}daemon_state'",
    "--db-prefix": "check_os4x --db-prefix acme_",
    "--db-discover": "check_os4x --db-type mysql --db-discover",
    "--db-error-state": "check_os4x --db-error-state critical",
    "--capi-file": "check_os4x --isdn-controllers 2 --capi-file /proc/capi/controller",
    "--capiinfo": "check_os4x --isdn-controllers 1 --capiinfo /usr/bin/capiinfo",
    "--capi-source": "check_os4x --isdn-controllers 1 --capi-source capiinfo",
    "--queue-query": "check_os4x --db-type mysql --queue-query \"SELECT partner, CASE status "
                     "WHEN 0 THEN 'new' ... END, TIMESTAMPDIFF(SECOND, queued_at, NOW()), "
                     "send_tries FROM {prefix}send_queue\"",
    "--queue-age-warning": "check_os4x --queue-age-warning 7200",
    "--queue-age-critical": "check_os4x --queue-age-critical 8h",
    "--queue-tries-warning": "check_os4x --queue-tries-warning 5",
    "--queue-tries-critical": "check_os4x --queue-tries-critical 20",
    "--queue-length-warning": "check_os4x --queue-length-warning 200",
    "--queue-length-critical": "check_os4x --queue-length-critical 1000",
    "--ack-age-warning": "check_os4x --ack-age-warning 1d",
    "--ack-age-critical": "check_os4x --ack-age-critical 3d",
    "--partner-query": "check_os4x --db-type mysql --partner-query \"SELECT partner, direction, "
                       "age, failures, reason FROM ...\" (see partners.md)",
    "--silence-warning": "check_os4x --silence-warning 26h",
    "--silence-critical": "check_os4x --silence-critical 3d",
    "--partner-silence": "check_os4x --partner-silence ODETTE-AUDI=4h,1d --partner-silence "
                         "ODETTE-BMW/in=3d",
    "--failures-warning": "check_os4x --failures-warning 3",
    "--failures-critical": "check_os4x --failures-critical 10",
    "--partner": "check_os4x --checks partners --partner ODETTE-VW",
}

HEADER = """\
<!-- GENERATED from os4xmon/cli/options.py by docs/generate_options.py: do not edit by hand.
     After adding an option: python3 docs/generate_options.py > docs/options.md -->
# Options

[Back to the README](../README.md).

Every option can also be set in the `[check_os4x]` section of an INI file given with
`--config FILE`, under its long name without dashes (`isdn-controllers = 2`, `enterprise = yes`);
the command line wins. This keeps site settings and secrets off the command line and out of the
process list. `contrib/nrpe/check_os4x.ini` lists every key, commented, with an example value.
The "check" column names the aspect an option belongs to ([processes](processes.md),
[ports](ports.md), [database](database.md), [isdn](isdn.md), [queue](queue.md),
[certs](certificates.md), [partners](partners.md)). A DURATION is seconds, or a number with
`s`, `m`, `h` or `d` (`90m`, `26h`, `2d`); an option marked "repeat the option" may be given
several times (in the config file: one value per key, except `partner` and `partner-silence`,
whose values are separated by blanks).

"""

FOOTER = """
Bad input (an unknown option, a non-numeric or negative number, an unknown check name, an
unreadable config file) gives exit code 3 and one line that says what to fix, for example
`OS4X UNKNOWN - argument --isdn-controllers: 'two' is not a whole number (see check_os4x --help)`.

## Output

Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. The first line is
`OS4X <STATE> - <summary> | <perfdata>`; on a problem the summary lists every problem, worst
first. Where several aspects disagree, CRITICAL wins over UNKNOWN, so a database that cannot be
reached never hides a daemon that stopped. Perfdata stays on the first line at every verbosity.
"""


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("\n", " "))


def name(option: Option) -> str:
    """The long flag, or the config key of an option that is config-file only."""
    return option.flags[-1] if option.on_command_line else option.key


def flags(option: Option) -> str:
    if not option.on_command_line:
        return f"`{option.key}`"
    shown = [f"`{flag}`" for flag in option.flags]
    if option.metavar:
        shown[-1] = f"`{option.flags[-1]} {option.metavar}`"
    return ", ".join(shown)


def example(option: Option) -> str:
    if name(option) in EXAMPLES:
        return EXAMPLES[name(option)]
    if not option.on_command_line:
        return f"{option.key} = {option.metavar or 'yes'}"
    if option.convert is None:
        return f"check_os4x {option.flags[-1]}"
    return f"check_os4x {option.flags[-1]} {option.metavar or 'VALUE'}"


def generate() -> str:
    lines = ["| option | check | meaning | example |", "|---|---|---|---|"]
    lines += [f"| {flag} | {group} | {meaning} | {ex} |" for flag, group, meaning, ex in
              BUILTIN_ROWS]
    for option in OPTIONS:
        lines.append(f"| {flags(option)} | {option.group} | {cell(option.help)} | "
                     f"`{example(option).replace('|', chr(92) + '|')}` |")
    return HEADER + "\n".join(lines) + "\n" + FOOTER


if __name__ == "__main__":
    sys.stdout.write(generate())
