"""Every aspect in every format: the installed plugin against the simulator and a real database.

One simulated OS4X host with its database (PIDs, configuration, a send queue with a blocked
entry) and two ISDN controllers; the plugin runs all five aspects with --output json (checked
against docs/output.schema.json), openmetrics (checked by the real promtool), checkmk (the
local check line format, one service per aspect) and nagios (the same as without --output).
"""

from __future__ import annotations

import json
import re

import pytest
from deploy_helpers import stable_view
from helpers import run_plugin
from test_output_formats import (
    CHECKMK_LINE,
    STATES,
    families,
    openmetrics_families,
    promtool,
    validate,
)

from os4xmon.core.settings import ASPECTS
from os4xmon.simulator.database import QUEUE_QUERY
from os4xmon.simulator.transferlog import PARTNER_QUERY

pytestmark = pytest.mark.server


@pytest.fixture
def host(simulator, db, tmp_path):
    store = tmp_path / "cert"
    sim = simulator.start("--no-decoys", "--isdn-controllers", "2", *db.simulator_args(),
                          "--queue-entry", "ACME:new:60:0", "--queue-entry", "BOLT:blocked:600:3",
                          "--cert-store", str(store), "--store-cert", "server:365",
                          "--log-entry", "in:ACME:ok:60", "--log-entry", "out:ACME:ok:60")
    return [*db.plugin_args(), "--queue-query", QUEUE_QUERY[db.kind], "--isdn-controllers", "2",
            "--partner-query", PARTNER_QUERY[db.kind], "--silence-warning", "1d",
            "--capi-file", f"{sim.state_file}.capi/controller", "--cert-dir", str(store),
            "--checks", ",".join(ASPECTS)]


def test_json_of_every_aspect(host):
    run = run_plugin(*host, "--output", "json")
    assert run.stdout.count("\n") == 1 and not run.stderr, run.stdout + run.stderr
    document = json.loads(run.stdout)
    validate(document)
    assert run.code == document["exit_code"] == 1, run.stdout  # the blocked entry: WARNING
    assert sorted(aspect["name"] for aspect in document["aspects"]) == sorted(ASPECTS)
    assert all(aspect["headline"] for aspect in document["aspects"]), document["aspects"]
    assert {aspect["name"]: aspect["state"] for aspect in document["aspects"]}["queue"] \
        == "WARNING"
    labels = {item["label"] for item in document["perfdata"]}
    assert {"os4xrd", "oftp_listening", "db_pids_saved", "queue_blocked",
            "capi_controllers_running"} <= labels
    warning = [f for f in document["findings"] if f["state"] == "WARNING"]
    assert warning and all(f["aspect"] == "queue" and f["advice"] for f in warning), warning
    assert "BOLT" in document["summary"]


def test_openmetrics_of_every_aspect(host):
    run = run_plugin(*host, "--output", "openmetrics")
    assert run.code == 1, run.stdout + run.stderr
    done = promtool(run.stdout)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr
    assert set(openmetrics_families(run.stdout)) == set(families(run.stdout))
    found = families(run.stdout)
    assert found["os4x_check_state"] == ["os4x_check_state 1"]
    states = dict(re.findall(r'aspect="([a-z]+)"\} ([0-3])', "\n".join(
        found["os4x_check_aspect_state"])))
    assert states == {"processes": "0", "ports": "0", "database": "0", "queue": "1",
                      "isdn": "0", "certs": "0", "partners": "0"}
    assert found["os4x_queue_blocked"] == ['os4x_queue_blocked{aspect="queue"} 1']
    assert found["os4x_capi_controllers_running"] == [
        'os4x_capi_controllers_running{aspect="isdn"} 2']
    assert found["os4x_db_query_time_seconds"], run.stdout


def test_checkmk_of_every_aspect(host):
    run = run_plugin(*host, "--output", "checkmk")
    assert run.code == 1, run.stdout + run.stderr
    matches = [CHECKMK_LINE.fullmatch(line) for line in run.lines]
    assert all(matches), run.stdout
    services = {m.group(2): STATES[int(m.group(1))] for m in matches if m}
    assert services == {"OS4X_processes": "OK", "OS4X_ports": "OK", "OS4X_database": "OK",
                        "OS4X_queue": "WARNING", "OS4X_isdn": "OK",
                        "OS4X_certs": "OK", "OS4X_partners": "OK"}


def test_nagios_is_the_default(host):
    default = run_plugin(*host)
    named = run_plugin(*host, "--output", "nagios")
    def view(run):  # the timings and ages differ from run to run
        summary, perfdata = stable_view(run.stdout)
        return run.code, summary, [(label, unit, rest) for label, _, unit, rest in perfdata]

    assert view(default) == view(named)
    assert default.first_line.startswith("OS4X WARNING - ")


@pytest.mark.parametrize("kind", ["json", "checkmk", "openmetrics"])
def test_a_usage_error_in_the_format_asked_for(kind):
    run = run_plugin("--output", kind, "--port", "x")
    assert run.code == 3 and not run.stderr
    if kind == "json":
        validate(json.loads(run.stdout))
    elif kind == "checkmk":
        assert run.stdout.startswith('3 "OS4X" - argument --port')
    else:
        assert "os4x_check_state 3" in run.lines and run.lines[-1] == "# EOF"
