#!/usr/bin/env python3
"""Writes the Grafana dashboard for check_os4x's perfdata and the icingaweb2-module-grafana
graph configuration, from one list of perfdata families.

Icinga 2's InfluxdbWriter stores each perfdata item as a point of the measurement named after
the check command (``os4x``, ``os4x-sudo``, ``os4x-remote``), tagged ``hostname``, ``service``
and ``metric`` (the perfdata label), with the fields ``value``, ``warn``, ``crit``, ``min``,
``max`` and ``unit``. Each panel shows one family of labels, chosen by a regular expression on
``metric``; tests/test_grafana.py runs the plugin with every aspect and checks that each label
it emits lands in a panel. Run from the repository's top after changing a family:

    python3 contrib/grafana/generate.py --write
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DASHBOARD = HERE / "check_os4x-influxdb.json"
GRAPHS_INI = HERE / "icingaweb2-grafana.ini"
UID = "check-os4x"
TITLE = "check_os4x: OS4X OFTP2 server"
MEASUREMENTS = "/^os4x(-sudo|-remote)?$/"
COMMANDS = ("os4x", "os4x-sudo", "os4x-remote")

# (title, regular expression on the perfdata label, unit, what the admin reads from it)
FAMILIES: tuple[tuple[str, str, str, str], ...] = (
    ("Daemon instances", r"^os4x[a-z]+(_tcpip|_tcpip_tls|_capi_[0-9]+)?$", "none",
     "each daemon must run exactly once: 0 is a stopped daemon, 2 a race"),
    ("Actions, zombies, replaced binaries", r"^(actions|zombies|replaced_binaries)$", "none",
     "os4xsqd's running actions; zombies and daemons running deleted binaries should be 0"),
    ("Ages and uptime", r"^(oldest_action_age|master_uptime|queue_oldest_age)$", "s",
     "a rising action or queue age is a hung send; a short uptime a restart loop"),
    ("Listening ports", r"_listening$", "none", "1 while the port listens"),
    ("Response and session times", r"(_response_time|_session_time)$", "s",
     "OFTP ready message and session start, per port"),
    ("TLS certificate days left", r"_cert_days$", "d", "renew before it reaches 0"),
    ("Database", r"^db_", "none", "saved PIDs, inconsistencies and the query time"),
    ("Send queue", r"^queue_(new|taken|waiting|blocked|max_tries)$", "none",
     "entries per state and the most send tries: a partner that cannot be reached"),
    ("Partners", r"^partners(_silent|_failing)?$", "none",
     "partners in the transfer logs, and how many are silent or failing"),
    ("Partner silence", r"(^partner_silence_max|_in_age|_out_age)$", "s",
     "the longest silence, and per partner (--partner) since the last receive (in) and send "
     "(out): a rising line is a partner that stopped"),
    ("Partner failures", r"_failures$", "none",
     "failed transfers of one partner (--partner) in the query's window, both directions"),
    ("ISDN controllers", r"^capi_", "none", "CAPI controllers found and running, B channels"),
    ("Certificates and CRLs", r"^(certs|certs_expiring|crls)$", "none",
     "certificates and CRLs checked; certificates within --cert-warning days of their end"),
    ("Certificate days left", r"^cert_min_days$", "d",
     "the certificate closest to its end: renew before it reaches 0"),
    ("CRL hours to nextUpdate", r"^crl_min_hours$", "h",
     "the CRL due first: below 0 TLS sessions are refused"),
    ("Memory of all OS4X processes", r"^os4x_rss$", "bytes", "resident memory"),
)


def query(regex: str) -> str:
    """InfluxQL for Grafana (its own macros, no user input): one series per label."""
    select = f'SELECT mean("value") FROM {MEASUREMENTS} '  # noqa: S608 - InfluxQL, constants
    return (select + f'WHERE "hostname" =~ /^$hostname$/ AND "metric" =~ /{regex}/ '
            'AND $timeFilter GROUP BY time($__interval), "metric" fill(null)')


def panel(number: int, family: tuple[str, str, str, str]) -> dict:
    title, regex, unit, description = family
    return {
        "id": number, "type": "timeseries", "title": title, "description": description,
        "datasource": {"type": "influxdb", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * ((number - 1) % 2), "y": 8 * ((number - 1) // 2)},
        "fieldConfig": {"defaults": {"unit": unit, "custom": {"spanNulls": False}},
                        "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [{"refId": "A", "rawQuery": True, "resultFormat": "time_series",
                     "query": query(regex), "alias": "$tag_metric"}],
    }


def dashboard() -> str:
    document = {
        "uid": UID, "title": TITLE, "tags": ["os4x", "oftp", "icinga2"],
        "timezone": "browser", "schemaVersion": 36, "version": 1, "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "influxdb",
             "label": "InfluxDB (Icinga 2's InfluxdbWriter)"},
            {"name": "hostname", "type": "query", "label": "OS4X host",
             "datasource": {"type": "influxdb", "uid": "${datasource}"},
             "query": f'SHOW TAG VALUES FROM {MEASUREMENTS} WITH KEY = "hostname"',
             "refresh": 2, "includeAll": False, "multi": False},
        ]},
        "panels": [panel(number, family) for number, family in enumerate(FAMILIES, 1)],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def graphs_ini() -> str:
    """icingaweb2-module-grafana: the dashboard's panels under each service's graph tab."""
    panels = ",".join(str(number) for number in range(1, len(FAMILIES) + 1))
    header = ("; check_os4x for icingaweb2-module-grafana (graphs.ini). GENERATED by\n"
              "; contrib/grafana/generate.py: do not edit by hand. Append to\n"
              "; /etc/icingaweb2/modules/grafana/graphs.ini; import check_os4x-influxdb.json\n"
              "; into Grafana first.\n")
    blocks = [f'[{command}]\ndashboard = "{TITLE}"\ndashboarduid = "{UID}"\n'
              f'panelId = "{panels}"\norgId = ""\nrepeatable = "no"\ntimerange = "24h"\n'
              for command in COMMANDS]
    return header + "\n" + "\n".join(blocks)


def files() -> dict[Path, str]:
    return {DASHBOARD: dashboard(), GRAPHS_INI: graphs_ini()}


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python3 contrib/grafana/generate.py --write")
    for path, text in files().items():
        path.write_text(text, encoding="utf-8")
        print(path.relative_to(HERE.parent.parent))
