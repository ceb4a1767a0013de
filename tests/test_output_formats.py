"""--output json, openmetrics and checkmk on a fixed run, checked by their consumers' rules.

The JSON against docs/output.schema.json; the OpenMetrics text by the real ``promtool check
metrics`` (Debian's prometheus package); Checkmk's local check lines by their line format.
The run (tests/output_fixture.py) has a WARNING with advice, an OK finding, thresholds, a
``U``, units, details and a failed aspect.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from deploy_helpers import need_program
from nagiosplugin.state import Critical, Ok, Unknown, Warn
from output_fixture import check

from os4xmon.core import execution
from os4xmon.core.findings import Finding, Subject, worst
from os4xmon.core.outcome import Item, Outcome, Value, failure
from os4xmon.output import checkmk, jsonformat, openmetrics
from os4xmon.output.common import in_base_units, plain_subject

pytestmark = pytest.mark.unit
SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "output.schema.json")
                    .read_text(encoding="utf-8"))
STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
CHECKMK_LINE = re.compile(r'([0-3]) "([^"]+)" (-|[A-Za-z0-9_]+=[-0-9.]+(;[-0-9.]*){0,4}'
                          r'(\|[A-Za-z0-9_]+=[-0-9.]+(;[-0-9.]*){0,4})*) (\S.*)')


def run(capsys, name: str, **kwargs) -> tuple[object, str]:
    from os4xmon import output

    output.select(name, aspects=("processes", "queue", "ports"))
    try:
        with pytest.raises(SystemExit) as stop:
            execution.execute(check(**kwargs), 10.0, 0, (), ("WARNING: a configuration warning",))
    finally:
        execution.select_output()
    return stop.value.code, capsys.readouterr().out


def validate(document: dict) -> None:
    import jsonschema

    jsonschema.validate(document, SCHEMA)
    assert document["exit_code"] == {v: k for k, v in STATES.items()}[document["state"]]


# -- json --


def test_json_of_a_problem_with_a_failed_aspect(capsys):
    code, out = run(capsys, "json")
    assert code == 1 and out.count("\n") == 1
    document = json.loads(out)
    validate(document)
    assert document["state"] == "WARNING"
    assert document["summary"] == ("os4xsqd action pid 4711 runs for 2h, ports check failed: "
                                   "RuntimeError: port table unreadable")
    assert {a["name"]: a["state"] for a in document["aspects"]} == {
        "processes": "WARNING", "queue": "OK", "ports": "UNKNOWN"}
    assert {"aspect": "processes", "state": "WARNING", "message": "os4xsqd action pid 4711 "
            "runs for 2h", "advice": "look at pid 4711"} in document["findings"]
    assert {"aspect": "ports", "state": "UNKNOWN", "message": "ports check failed: "
            "RuntimeError: port table unreadable", "advice": ""} in document["findings"]
    assert {"aspect": "processes", "label": "master_uptime", "value": None, "unit": "s",
            "warning": "600:", "critical": None, "min": 0, "max": None} in document["perfdata"]
    assert {"aspect": "processes", "label": "oldest_action_age", "value": 7200.5, "unit": "s",
            "warning": "3600", "critical": "14400", "min": 0, "max": None} \
        in document["perfdata"]
    assert document["aspects"][0]["details"] == ["os4xrd pid 100 running since 2026-12-01"]
    assert document["warnings"] == ["WARNING: a configuration warning"]


def test_json_of_an_ok_run(capsys):
    code, out = run(capsys, "json", problem=False, failing=False)
    document = json.loads(out)
    validate(document)
    assert (code, document["state"], document["exit_code"]) == (0, "OK", 0)
    assert [a["headline"] for a in document["aspects"]] == [
        "7 daemons running", "0 entries pending in the send queue", "2 ports listening"]


def test_json_of_a_usage_error(capsys):
    execution.select_output(jsonformat.render)
    try:
        with pytest.raises(SystemExit) as stop:
            execution.fail("--port: 'x' is not a port")
    finally:
        execution.select_output()
    document = json.loads(capsys.readouterr().out)
    validate(document)
    assert stop.value.code == 3
    assert document["findings"] == [{"aspect": None, "state": "UNKNOWN",
                                     "message": "--port: 'x' is not a port", "advice": ""}]


@pytest.mark.parametrize(("subject", "written"), [
    (Subject("daemon", "os4xrd", "not running"),
     {"kind": "daemon", "name": "os4xrd", "condition": "not running"}),
    (Subject("port", "3305"), {"kind": "port", "name": "3305", "condition": ""}),
    (None, None)])
def test_json_carries_what_a_finding_is_about(subject, written):
    outcome = Outcome(Warn, "x", ("ports",), (Item("ports", Warn, "x", "", subject),))
    document = jsonformat.document(outcome)
    validate(document)
    assert document["findings"][0].get("subject") == written


@pytest.mark.parametrize(("subject", "plain"), [("text", "text"), (3, 3), (float("nan"), None),
                                                (object, str(object))])
def test_other_subjects_become_plain_data(subject, plain):
    assert plain_subject(subject) == plain


def test_json_never_writes_nan_or_infinity():
    outcome = Outcome(Ok, "x", ("ports",), (), (Value("ports", "a", float("nan")),
                                                Value("ports", "b", float("inf"), maximum=1)))
    (line,) = jsonformat.render(outcome)
    assert [item["value"] for item in json.loads(line)["perfdata"]] == [None, None]


# -- the state of an aspect --


@pytest.mark.parametrize("states", [(Ok, Warn), (Warn, Critical), (Unknown, Critical),
                                    (Ok, Unknown), (Warn, Unknown)])
def test_an_aspect_is_its_worst_finding(states):
    outcome = Outcome(worst(list(states)), "x", ("queue",),
                      tuple(Item("queue", state, f"m{i}") for i, state in enumerate(states)),
                      headlines={"queue": "fine"})
    assert outcome.aspect_state("queue") == worst(list(states))


def test_an_aspect_without_result_is_unknown():
    outcome = Outcome(Ok, "x", ("queue", "ports"), headlines={"queue": "fine"})
    assert (outcome.aspect_state("queue"), outcome.aspect_state("ports")) == (Ok, Unknown)


# -- openmetrics --


def families(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line[7:].split()
            assert kind == "gauge", line
            found[name] = []
        elif line and not line.startswith("#"):
            name = re.split(r"[{ ]", line, maxsplit=1)[0]
            found[name].append(line)
    return found


def test_openmetrics_of_a_problem(capsys):
    code, out = run(capsys, "openmetrics")
    assert code == 1
    assert out.endswith("# EOF\n")
    found = families(out)
    assert found["os4x_check_state"] == ["os4x_check_state 1"]
    assert found["os4x_check_aspect_state"] == [
        'os4x_check_aspect_state{aspect="processes"} 1',
        'os4x_check_aspect_state{aspect="queue"} 0',
        'os4x_check_aspect_state{aspect="ports"} 3']
    assert found["os4x_oldest_action_age_seconds"] == [
        'os4x_oldest_action_age_seconds{aspect="processes"} 7200.5']
    assert found["os4x_master_uptime_seconds"] == []  # U: no sample, a gap
    assert found["os4x_os4x_rss_bytes"] == ['os4x_os4x_rss_bytes{aspect="processes"} 52428800']
    assert "# UNIT os4x_oldest_action_age_seconds seconds" in out


@pytest.mark.parametrize(("label", "unit", "value", "expected"), [
    ("response_time", "ms", 250, ("response_time", "seconds", 0.25)),
    ("disk", "%", 50, ("disk", "ratio", 0.5)),
    ("log", "KB", 2, ("log", "bytes", 2048)),
    ("oftp2_cert_days", "", 2, ("oftp2_cert", "seconds", 172800)),
    ("queue_new", "", 3, ("queue_new", "", 3)),
    ("sessions", "c", 3, ("sessions", "", 3)),
])
def test_openmetrics_values_are_in_base_units(label, unit, value, expected):
    assert in_base_units(Value("x", label, value, unit)) == expected


@pytest.mark.parametrize(("label", "unit", "name"), [
    ("queue_new", "", "os4x_queue_new"),
    ("Queue-New", "", "os4x_queue_new"),
    ("age_seconds", "seconds", "os4x_age_seconds"),
    ("files_total", "", "os4x_files_total_value"),
    ("check_state", "", "os4x_check_state_value"),
])
def test_openmetrics_names(label, unit, name):
    assert openmetrics.metric_name(label, unit) == name


def test_openmetrics_escapes_label_values():
    outcome = Outcome(Ok, "x", ('a"b\\c\nd',))
    assert 'os4x_check_aspect_state{aspect="a\\"b\\\\c\\nd"} 3' in openmetrics.render(outcome)


def promtool(text: str) -> subprocess.CompletedProcess:
    command = need_program("promtool", "prometheus")
    return subprocess.run([command, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.parametrize("kwargs", [{}, {"problem": False, "failing": False}])
def test_promtool_accepts_the_openmetrics_text(capsys, kwargs):
    _, out = run(capsys, "openmetrics", **kwargs)
    done = promtool(out)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def openmetrics_families(text: str) -> dict[str, object]:
    """The text through prometheus_client's OpenMetrics parser, which follows the standard
    strictly (``# EOF``, a UNIT only on a name with that suffix, one family per name)."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    return {family.name: family for family in text_string_to_metric_families(text)}


@pytest.mark.parametrize("kwargs", [{}, {"problem": False, "failing": False}])
def test_the_openmetrics_parser_accepts_it(capsys, kwargs):
    _, out = run(capsys, "openmetrics", **kwargs)
    parsed = openmetrics_families(out)
    assert all(family.type == "gauge" for family in parsed.values())  # type: ignore[attr-defined]
    assert parsed["os4x_oldest_action_age_seconds"].unit == "seconds"  # type: ignore[attr-defined]


def test_the_openmetrics_parser_would_catch_a_mistake():
    with pytest.raises(ValueError):
        openmetrics_families("# TYPE os4x_x gauge\nos4x_x 1\n")  # no # EOF


def test_promtool_would_catch_a_mistake():
    """The consumer is not a rubber stamp: a gauge without help is refused."""
    done = promtool("# TYPE os4x_x gauge\nos4x_x 1\n# EOF\n")
    assert done.returncode != 0 or done.stdout.strip(), done


# -- checkmk --


def test_checkmk_one_line_per_aspect(capsys):
    code, out = run(capsys, "checkmk")
    assert code == 1
    lines = out.splitlines()
    matches = [CHECKMK_LINE.fullmatch(line) for line in lines]
    assert all(matches), lines
    assert [(m.group(1), m.group(2)) for m in matches if m] == [
        ("1", "OS4X_processes"), ("0", "OS4X_queue"), ("3", "OS4X_ports")]
    assert lines[0].startswith(
        '1 "OS4X_processes" os4xrd=1;;;0|oldest_action_age=7200.5;3600;14400;0|'
        "os4x_rss=52428800;;;0 os4xsqd action pid 4711 runs for 2h\\nWARNING: os4xsqd action "
        "pid 4711 runs for 2h\\n  what to do: look at pid 4711\\nos4xrd pid 100 running")
    assert lines[1] == ('0 "OS4X_queue" queue_new=0;;;0|queue_oldest_age=0;3600;14400;0 '
                        "0 entries pending in the send queue\\nsend queue, partner ACME: new 0")
    assert lines[2] == ('3 "OS4X_ports" - ports check failed: RuntimeError: port table '
                        "unreadable\\nUNKNOWN: ports check failed: RuntimeError: port table "
                        "unreadable")


@pytest.mark.parametrize(("spec", "limit"), [("3600", "3600"), ("0:3600", "3600"),
                                             ("~:3600", "3600"), ("600:", ""), ("1:1", ""),
                                             ("@10:20", ""), (None, "")])
def test_checkmk_thresholds_only_where_an_upper_limit(spec, limit):
    assert checkmk.upper_limit(spec) == limit


def test_checkmk_text_cannot_break_the_line():
    outcome = Outcome(Critical, "x", ("queue",),
                      (Item("queue", Critical, "partner A\nB\\n", "do\rthis"),))
    (line,) = checkmk.render(outcome)
    assert "\n" not in line and "\r" not in line
    assert line == ('2 "OS4X_queue" - partner A B/n\\nCRITICAL: partner A B/n\\n  what to do: '
                    "do this")


def test_checkmk_of_a_run_that_ended_before_any_aspect():
    assert checkmk.render(failure("bad option")) == [
        '3 "OS4X" - bad option\\nUNKNOWN: bad option']


def test_checkmk_gives_each_aspect_without_result_the_run_failure():
    lines = checkmk.render(failure("no result within the 10s timeout", ("processes", "ports")))
    assert lines == [f'3 "OS4X_{name}" - no result within the 10s timeout\\nUNKNOWN: no result '
                     "within the 10s timeout" for name in ("processes", "ports")]


def test_the_checkmk_services_are_the_mrpe_services():
    mrpe = (Path(__file__).parent.parent / "contrib" / "checkmk" / "mrpe.cfg").read_text()
    services = {line.split()[0] for line in mrpe.splitlines() if line.startswith("OS4X_")}
    from os4xmon.core.settings import ASPECTS

    assert services == {checkmk.SERVICE.format(aspect=aspect) for aspect in ASPECTS}


def test_a_finding_keeps_its_state():
    """The finding's own state reaches every format (no format re-decides)."""
    assert Finding(Warn, "x").state is Warn
