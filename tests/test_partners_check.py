"""The whole partner check on generated rows (no server): the status line, the long output,
the perfdata and its labels, 5,000 partners, and any rows at all giving one valid line."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import assert_valid_output

from os4xmon.checks.partners import aspect as partners
from os4xmon.cli import read_settings
from os4xmon.cli.assemble import build_check
from os4xmon.core import execution
from os4xmon.core.statusline import MAX_SUMMARY
from os4xmon.core.text import perf_label
from os4xmon.db.drivers import SILENT, DatabaseError
from os4xmon.facts.host import Host

pytestmark = pytest.mark.unit
BASE = ["--checks", "partners", "--db-type", "mysql", "--partner-query", "SELECT 1"]


def run(monkeypatch, capsys, rows, *args, width=4):
    """The check's output and exit code, its query answered with rows."""
    settings_ = read_settings.parse([*BASE, *args], environ={})

    def read(self, tally):
        if isinstance(rows, Exception):
            raise rows
        tally.columns(width)
        for row in rows:
            tally.add(row)

    monkeypatch.setattr(partners.Partners, "_read", read)
    with pytest.raises(SystemExit) as ended:
        execution.execute(build_check(settings_, Host()), 30, settings_.verbose)
    output = capsys.readouterr().out
    assert_valid_output(output, ended.value.code)
    return ended.value.code, output


def perf(output):
    return dict(item.split("=", 1) for item in output.splitlines()[0].split(" | ")[1].split())


def test_all_flowing_is_ok_with_the_perfdata(monkeypatch, capsys):
    code, output = run(monkeypatch, capsys, [("A", "in", 60, 0), ("A", "out", 120, 0),
                                             ("B", "in", 30, 1), ("B", "out", 90, 0)],
                       "--silence-warning", "4h", "--silence-critical", "1d",
                       "--failures-warning", "3")
    assert code == 0
    assert output.startswith("OS4X OK - 2 partners: files flow, none silent or failing | ")
    assert perf(output) == {"partners": "2;;;0", "partners_silent": "0;;;0",
                            "partners_failing": "0;;;0",
                            "partner_silence_max": "120s;14400;86400;0"}


@pytest.mark.parametrize(("rows", "code", "first"), [
    ([("AUDI", "in", 18720, 0)], 1, "OS4X WARNING - nothing received from AUDI for 5h 12m "
                                    "(more than 4h)"),
    ([("AUDI", "in", 90000, 0)], 2, "OS4X CRITICAL - nothing received from AUDI for 1d 1h "
                                    "(more than 1d)"),
    ([("VW", "out", None, 0)], 2, "OS4X CRITICAL - nothing ever sent to VW: no successful "
                                  "transfer in the log"),
    ([("VW", "send", 60, 7, "ESID 04 invalid password")], 1,
     "OS4X WARNING - 7 failed sends to VW in the window (more than 5), last: ESID 04 invalid "
     "password"),
    ([("VW", "send", 60, 11, "")], 2, "OS4X CRITICAL - 11 failed sends to VW in the window "
                                      "(more than 10)"),
])
def test_every_verdict_names_partner_and_direction(monkeypatch, capsys, rows, code, first):
    code_, output = run(monkeypatch, capsys, rows, "--silence-warning", "4h",
                        "--silence-critical", "1d", "--failures-warning", "5",
                        "--failures-critical", "10", "-v", width=len(rows[0]))
    assert code_ == code
    assert output.splitlines()[0].startswith(first + " | ")
    assert "  what to do: " in output


def test_a_partners_own_rhythm_overrides_the_general_threshold(monkeypatch, capsys):
    rows = [("WEEKLY", "in", 3 * 86400, 0), ("DAILY", "in", 3 * 86400, 0)]
    code, output = run(monkeypatch, capsys, rows, "--silence-warning", "26h",
                       "--partner-silence", "WEEKLY/in=8d,10d")
    assert code == 1 and "nothing received from DAILY" in output
    assert "WEEKLY" not in output.splitlines()[0].split(" | ")[0]


def test_partner_selects_one_with_its_own_perfdata(monkeypatch, capsys):
    rows = [("ODETTE-VW", "in", 60, 0), ("ODETTE-VW", "out", None, 2),
            ("OTHER", "in", 10**6, 0), ("OTHER", "nowhere", 1, 0)]
    code, output = run(monkeypatch, capsys, rows, "--silence-warning", "1h",
                       "--failures-warning", "3", "--partner", "ODETTE-VW",
                       "--partner-silence", "ODETTE-VW/in=2h,4h")
    assert code == 1 and output.startswith("OS4X WARNING - nothing ever sent to ODETTE-VW")
    assert "OTHER" not in output
    assert perf(output) == {
        "partners": "1;;;0", "partners_silent": "1;;;0", "partners_failing": "0;;;0",
        "partner_silence_max": "60s;3600;;0",
        "ODETTE_VW_in_age": "60s;7200;14400;0", "ODETTE_VW_out_age": "U;3600;;0",
        "ODETTE_VW_failures": "2;3;;0"}


def test_a_named_partner_the_query_does_not_return_is_unknown(monkeypatch, capsys):
    code, output = run(monkeypatch, capsys, [("A", "in", 1, 0)], "--silence-warning", "1h",
                       "--partner", "A", "--partner", "TYPO")
    assert code == 3
    assert "partner TYPO is not among the rows of --partner-query" in output
    assert perf(output)["TYPO_in_age"] == "U;3600;;0"
    assert perf(output)["TYPO_failures"] == "U;;;0"


def test_a_partner_silence_typo_is_unknown_too(monkeypatch, capsys):
    code, output = run(monkeypatch, capsys, [("A", "in", 1, 0)], "--partner-silence",
                       "TYPO=1h")
    assert code == 3 and "partner TYPO is not among the rows" in output


def test_no_rows_is_unknown_not_ok(monkeypatch, capsys):
    code, output = run(monkeypatch, capsys, [], "--silence-warning", "1h")
    assert code == 3 and "--partner-query returned no rows" in output
    assert perf(output)["partners"] == "0;;;0"


def test_rows_that_break_the_contract_are_unknown_next_to_the_verdicts(monkeypatch, capsys):
    code, output = run(monkeypatch, capsys, [("A", "in", 10**6, 0), ("B", "up", 1, 0)],
                       "--silence-critical", "1d")
    assert code == 2
    assert "partners: 1 row unusable: row 2 (partner B): direction 'up'" in output


def test_a_database_failure_takes_db_error_state(monkeypatch, capsys):
    error = DatabaseError(SILENT, "no answer within 4.8s while reading the rows")
    code, output = run(monkeypatch, capsys, error, "--silence-warning", "1h")
    assert code == 3 and "partners: database silent: no answer within 4.8s" in output
    assert perf(output)["partners"] == "U;;;0"
    code, _ = run(monkeypatch, capsys, error, "--silence-warning", "1h",
                  "--db-error-state", "critical")
    assert code == 2


def test_5000_partners_are_judged_with_a_short_first_line_and_complete_long_output(
        monkeypatch, capsys):
    """Scale: 5,000 partners in both directions, every third silent, every seventh failing.
    No timing assertion (the machine varies); benchmarks and docs/partners.md say how long."""
    rows = []
    for number in range(5000):
        name = f"P{number:05d}"
        rows.append((name, "in", 90000 if number % 3 == 0 else 60, 0))
        rows.append((name, "out", 60, 9 if number % 7 == 0 else 0, ))
    code, output = run(monkeypatch, capsys, rows, "--silence-warning", "4h",
                       "--silence-critical", "1d", "--failures-warning", "5", "-v")
    lines = output.splitlines()
    summary = lines[0].split(" | ")[0]
    assert code == 2 and len(summary) <= MAX_SUMMARY + 20
    assert re.search(r", \+\d+ more$", summary), summary
    assert sum(1 for line in lines if line.startswith("CRITICAL: nothing received from")) == 1667
    assert sum(1 for line in lines if line.startswith("WARNING: 9 failed sends")) == 715
    partner_lines = [line for line in lines if line.startswith("partner P")]
    assert len(partner_lines) == 10000
    states = [line.split(": ")[1].split(",")[0] for line in partner_lines]
    order = {"CRITICAL": 0, "WARNING": 1, "OK": 3}
    assert [order[state] for state in states] == sorted(order[state] for state in states)
    assert perf(lines[0])["partners"] == "5000;;;0"
    assert perf(lines[0])["partners_silent"] == "1667;;;0"
    assert perf(lines[0])["partners_failing"] == "715;;;0"


@pytest.mark.parametrize(("name", "label"), [
    ("ODETTE-VW", "ODETTE_VW"), ("O0013000000AUDI", "O0013000000AUDI"), ("a b.c", "a_b_c"),
    ("x='1", "x__1"), ("Müller", "M_ller"), ("-", "_"), ("", "_"), ("P" * 60, "P" * 40)])
def test_perfdata_labels_are_safe_for_every_writer(name, label):
    assert perf_label(name) == label


# -- any rows, any thresholds: one valid status line --

VALUES = st.one_of(st.none(), st.integers(-5, 10**7), st.floats(allow_nan=True),
                   st.text(max_size=12), st.binary(max_size=8),
                   st.sampled_from(["in", "out", "SEND", "receive", "x"]))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(st.lists(st.tuples(VALUES, VALUES, VALUES, VALUES, VALUES), max_size=12),
       st.sampled_from([[], ["-v"]]),
       st.sampled_from([[], ["--partner", "in"], ["--partner", "x", "--partner", "y"]]))
def test_any_rows_give_one_valid_status_line(monkeypatch, capsys, rows, verbose, named):
    _, output = run(monkeypatch, capsys, rows, "--silence-warning", "1h",
                    "--failures-warning", "2", *verbose, *named, width=5)
    assert "internal error" not in output
    first = output.splitlines()[0]
    for label in ("partners", "partners_silent", "partners_failing", "partner_silence_max"):
        assert f" {label}=" in first


# -- the docs agree with the options and the perfdata --


def test_the_partners_page_documents_every_option_and_label(monkeypatch, capsys):
    from pathlib import Path

    from os4xmon.cli.options import OPTIONS

    page = (Path(__file__).resolve().parents[1] / "docs" / "partners.md").read_text()
    for option in OPTIONS:
        if option.group == "partners":
            assert f"| `{option.flags[-1]} " in page, option.flags[-1]
    _, output = run(monkeypatch, capsys, [("ODETTE-VW", "in", 1, 0)], "--silence-warning",
                    "1h", "--partner", "ODETTE-VW")
    for label in perf(output):
        documented = label.replace("ODETTE_VW", "<partner>")
        assert f"| `{documented}` |" in page, label


def test_an_answer_cut_short_is_judged_as_far_as_it_came(monkeypatch, capsys):
    def read(self, tally):
        tally.columns(4)
        tally.add(("GONE", "in", 10**6, 0))
        raise DatabaseError(SILENT, "no answer within 4.8s while reading the rows")

    monkeypatch.setattr(partners.Partners, "_read", read)
    settings_ = read_settings.parse([*BASE, "--silence-critical", "1d", "--partner", "GONE",
                                     "--partner", "LATER"], environ={})
    with pytest.raises(SystemExit) as ended:
        execution.execute(build_check(settings_, Host()), 30, settings_.verbose)
    output = capsys.readouterr().out
    assert ended.value.code == 2
    first = output.splitlines()[0]
    assert first.startswith("OS4X CRITICAL - nothing received from GONE for 11d 13h (more than "
                            "1d), partners: database silent: no answer within 4.8s while "
                            "reading the rows; after 1 row, judged above")
    assert "LATER is not among the rows" not in output  # it may simply not have come yet
    assert perf(output)["partners"] == "U;;;0" and perf(output)["GONE_in_age"].startswith("U")
