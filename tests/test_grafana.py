"""The Grafana dashboard and the icingaweb2-module-grafana graphs: generated, and every
perfdata label the plugin emits lands in a panel.

The plugin runs once with every aspect against the simulator (ports probed, ISDN
controllers, os4xclientd and os4xdebugd) and a real MariaDB, as in
test_database_e2e.py; each label of its perfdata must match exactly one panel's family.
"""

from __future__ import annotations

import json
import re

import pytest
from dbtools import ScratchDatabase, reachable
from deploy_helpers import CONTRIB
from helpers import assert_status, free_port, load_script, needs_server, run_plugin

from os4xmon.simulator.certstore import CERT_QUERY
from os4xmon.simulator.database import QUEUE_QUERY
from os4xmon.simulator.transferlog import PARTNER_QUERY


def load_generator():
    return load_script(CONTRIB / "grafana" / "generate.py")


GRAFANA = load_generator()


def families_of(label: str) -> list[str]:
    return [title for title, regex, _, _ in GRAFANA.FAMILIES if re.search(regex, label)]


@pytest.mark.unit
def test_committed_files_are_what_the_generator_writes():
    for path, text in GRAFANA.files().items():
        assert path.read_text() == text, \
            f"{path} is stale: python3 contrib/grafana/generate.py --write"


@pytest.mark.unit
def test_dashboard_panels_query_the_influxdb_writers_points():
    document = json.loads(GRAFANA.DASHBOARD.read_text())
    assert document["uid"] == "check-os4x"
    assert [panel["title"] for panel in document["panels"]] == [f[0] for f in GRAFANA.FAMILIES]
    for panel, (_, regex, _, _) in zip(document["panels"], GRAFANA.FAMILIES):
        (target,) = panel["targets"]
        assert f'"metric" =~ /{regex}/' in target["query"]
        assert '"hostname" =~ /^$hostname$/' in target["query"]
        assert "FROM /^os4x(-sudo|-remote)?$/" in target["query"]
    ini = GRAFANA.GRAPHS_INI.read_text()
    for command in GRAFANA.COMMANDS:
        assert f"[{command}]" in ini
    assert f'panelId = "{",".join(str(n) for n in range(1, len(GRAFANA.FAMILIES) + 1))}"' in ini


@pytest.fixture
def mariadb():
    needs_server(reachable("mysql"), "MariaDB is not reachable on 127.0.0.1")
    database = ScratchDatabase("mysql")
    yield database
    database.drop()


def test_every_label_of_a_run_with_every_aspect_is_in_one_panel(simulator, mariadb):
    tcp, tls, clientd, debugd = free_port(), free_port(), free_port(), free_port()
    simulator.start("--no-decoys", *mariadb.simulator_args(), "--enterprise", "--debugd",
                    "--isdn-controllers", "2", "--port", str(tcp), "--tls-port", str(tls),
                    "--clientd-port", str(clientd), "--debugd-port", str(debugd),
                    "--queue-entry", "O0013000000PART:new:60:1",
                    "--cert-store", str(simulator.tmp_path / "cert"), "--store-cert", "server:200",
                    "--partner-cert", "ODETTE-VW:encryption:300",
                    "--log-entry", "in:O0013000000PART:ok:60",
                    "--log-entry", "out:O0013000000PART:ok:60")
    capi = simulator.running[-1].state_file + ".capi"
    run = run_plugin("--checks", "processes,ports,database,isdn,queue,certs,partners", "--probe",
                     "--enterprise", "--cert-dir", str(simulator.tmp_path / "cert"),
                     "--cert-query", CERT_QUERY,
                     "--require-debugd", "--isdn-controllers", "2",
                     "--capi-file", f"{capi}/controller", "--port", str(tcp),
                     "--tls-port", str(tls), "--clientd-port", str(clientd),
                     "--debugd-port", str(debugd), *mariadb.plugin_args(),
                     "--queue-query", QUEUE_QUERY["mysql"],
                     "--partner-query", PARTNER_QUERY["mysql"], "--silence-warning", "1d",
                     "--partner", "O0013000000PART")
    assert_status(run, 0)
    labels = sorted(run.perfdata)
    assert len(labels) >= 30 and "queue_oldest_age" in labels and "crl_min_hours" in labels, \
        labels
    assert "O0013000000PART_in_age" in labels and "partner_silence_max" in labels, labels
    unplaced = {label: families_of(label) for label in labels if len(families_of(label)) != 1}
    assert not unplaced, f"labels in no panel or in several: {unplaced}"


@pytest.mark.unit
@pytest.mark.parametrize("label", ["os4xfqd", "oftp_session_time", "oftp2_session_time"])
def test_labels_of_options_the_run_above_leaves_out_have_a_panel_too(label):
    assert len(families_of(label)) == 1, families_of(label)
