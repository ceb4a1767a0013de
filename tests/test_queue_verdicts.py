"""The send queue's pure parts: the rows against the contract, the verdicts, the SQL guard, and
the whole check on any rows."""

from __future__ import annotations

import datetime
import decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nagiosplugin.state import Critical, Ok, Unknown, Warn
from test_properties import assert_valid_output

from os4xmon.checks import sendqueue
from os4xmon.checks.sendqueue import verdicts
from os4xmon.checks.sendqueue.contract import LABELS, entry_row
from os4xmon.checks.sendqueue.fold import Fold
from os4xmon.checks.sendqueue.verdicts import Limits, judge
from os4xmon.cli import read_settings as options
from os4xmon.cli.assemble import build_check
from os4xmon.core import execution
from os4xmon.db.drivers import DatabaseError
from os4xmon.db.rowquery import refusal
from os4xmon.facts.host import Host


def rows(*values):
    return Fold(4).add_all(values)


def Entry(partner, state, age, tries=0):
    """A per-entry row as a driver returns it."""
    return (partner, state, age, tries)


def judged(entries, limits):
    return judge(Fold(4).add_all(entries), limits)


def entries(fold):
    """The entries of a fold of single rows: (partner, state, 1, age, tries) each."""
    return [(partner, state, figures.count, figures.oldest, figures.tries)
            for partner, mine in fold.partners.items() for state, figures in mine.items()]


# -- the rows --


@pytest.mark.unit
@pytest.mark.parametrize("word", ["new", "NEW", " New In Queue ", "new  in queue"])
def test_states_by_name_or_web_label(word):
    assert entry_row(("P", word, 5, 0)) == ("P", "new", 1, 5.0, 0)


@pytest.mark.unit
@pytest.mark.parametrize(("label", "state"), list((label, state) for state, label in
                                                  LABELS.items()))
def test_every_web_label(label, state):
    assert entry_row(("P", label.upper(), 1, 0))[1] == state


@pytest.mark.unit
@pytest.mark.parametrize("age", [7, "7", b"7", decimal.Decimal("7.0"), 7.0,
                                 datetime.timedelta(seconds=7)])
def test_ages_from_every_driver_type(age):
    assert entry_row(("P", "taken", age, 1))[3] == 7.0


@pytest.mark.unit
@pytest.mark.parametrize(("value", "said"), [
    ("soon", "age 'soon' is not a number"), (-1, "age -1 is negative"),
    (float("nan"), "not a finite number"), (float("inf"), "not a finite number"),
    (decimal.Decimal("NaN"), "not a finite number"), (True, "is not a number"),
    (None, "age is NULL"), ("1e5", "is not a number"), (10**40, "too large"),
    ("1" * 300, "too large"), ("1" * 300 + ".5", "too large"), (decimal.Decimal("1e31"),
    "too large"), (decimal.Decimal("9" * 40), "too large"), (1e300, "too large"),
    ("٣", "is not a number"),  # Arabic-Indic digit: int() would take it
])
def test_bad_ages(value, said):
    result = rows(("P", "new", value, 0))
    assert not result.partners
    assert said in result.problems[0]


@pytest.mark.unit
def test_null_age_is_fine_where_age_is_not_judged():
    assert entries(rows(("P", "sent", None, None), ("P", "blocked", None, 0))) == [
        ("P", "sent", 1, None, 0), ("P", "blocked", 1, None, 0)]


@pytest.mark.unit
@pytest.mark.parametrize(("value", "said"), [
    ("x", "send tries 'x' is not a number"), (2.5, "is not a whole number"),
    (-3, "is negative")])
def test_bad_tries(value, said):
    assert said in rows(("P", "new", 1, value)).problems[0]


@pytest.mark.unit
def test_unknown_state_is_named_escaped():
    result = rows(("P", "frozen\x1b[31m|x", 1, 0))
    assert result.problems == ["row 1 (partner P): state 'frozen\\x1b[31m!x' is not one of "
                               "new, taken, waiting, blocked, sent"]


@pytest.mark.unit
def test_partner_bytes_are_escaped():
    assert entry_row((b" AC\xffM\tE\n", "new", 1, 0))[0] == "AC\\xffM\\tE"


def test_column_count_and_no_row_cap():
    with pytest.raises(DatabaseError, match=r"returns 3 columns, expected 4 .* or 5 "):
        Fold(3)
    assert rows(*[("P", "sent", 1, 0)] * 10001).count("sent") == 10001


# -- the verdicts --


@pytest.mark.unit
def test_healthy_queue():
    verdict = judged([Entry("A", "new", 10, 0), Entry("A", "sent", 10**9, 99)], Limits())
    assert verdict.findings == []
    assert verdict.counts == {"new": 1, "taken": 0, "waiting": 0, "blocked": 0, "sent": 1}
    assert (verdict.oldest_age, verdict.max_tries, verdict.pending) == (10, 0, 1)


@pytest.mark.unit
@pytest.mark.parametrize(("age", "state"), [(3600, Ok), (3601, Warn), (14400, Warn),
                                            (14401, Critical)])
def test_age_thresholds_are_more_than(age, state):
    verdict = judged([Entry("X", "taken", age, 0)], Limits())
    assert [f.state for f in verdict.findings] == ([] if state == Ok else [state])


@pytest.mark.unit
def test_the_worst_partner_is_named():
    verdict = judged([Entry("A", "new", 5000, 4), Entry("B", "new", 20000, 1),
                     Entry("C", "waiting", 1, 12)], Limits())
    messages = [f.message for f in verdict.findings]
    assert messages[0].startswith("send queue: files to partner B not leaving")
    assert any(m.startswith("send queue: partner C unreachable, 12 send tries") for m in messages)
    assert all(f.advice for f in verdict.findings)


@pytest.mark.unit
def test_waiting_age_does_not_count_as_not_leaving():
    verdict = judged([Entry("A", "waiting", 10**6, 0)], Limits())
    assert verdict.findings == [] and verdict.oldest_age is None
    limited = judged([Entry("A", "waiting", 10**6, 0)], Limits(ack_warning=3600))
    assert "partner A has not acknowledged (EERP)" in limited.findings[0].message


@pytest.mark.unit
def test_length_and_blocked():
    entries = [Entry("A", "new", 1, 0), Entry("B", "taken", 1, 0), Entry("B", "new", 1, 0),
               Entry("B", "blocked", 1, 0), Entry("C", "blocked", None, 0)]
    verdict = judged(entries, Limits(length_warning=2))
    assert [f.message for f in verdict.findings] == [
        "send queue: 3 entries pending (more than 2), most for partner B (2)",
        "send queue: 1 entry blocked for partner B (1 more for 1 other partner)"]


@pytest.mark.unit
def test_a_limit_is_said_as_given():
    entries = [Entry("A", "new", 1, 0), Entry("A", "new", 1, 0), Entry("A", "new", 1, 0)]
    assert judged(entries, Limits(length_warning=2)).findings[0].message.startswith(
        "send queue: 3 entries pending (more than 2), ")


@pytest.mark.unit
def test_critical_findings_come_first():
    verdict = judged([Entry("A", "blocked", 1, 0), Entry("B", "new", 10**5, 0)], Limits())
    assert [f.state for f in verdict.findings] == [Critical, Warn]


@pytest.mark.unit
def test_partner_lines_are_capped():
    verdict = judged([Entry(f"P{n}", "new", 1, 0) for n in range(80)], Limits())
    assert len(verdict.lines) == verdicts.MAX_PARTNER_LINES + 1
    assert verdict.lines[-1] == "send queue: and 30 more partners"
    exactly = judged([Entry(f"P{n}", "new", 1, 0) for n in range(verdicts.MAX_PARTNER_LINES)],
                     Limits())
    assert len(exactly.lines) == verdicts.MAX_PARTNER_LINES  # no "and 0 more"


@pytest.mark.unit
def test_problem_finding_is_unknown_and_capped():
    finding = verdicts.problem_finding([f"row {n}" for n in range(10)])
    assert finding.state == Unknown
    assert finding.message.endswith("row 0; row 1; row 2; and 7 more")
    assert verdicts.problem_finding(["row 0", "row 1", "row 2"]).message.endswith("row 2")


# -- the read-only rules --


@pytest.mark.unit
@pytest.mark.parametrize("sql", [
    "SELECT a, b, c, d FROM t", "  select 1;  ", "WITH x AS (SELECT 1) SELECT * FROM x",
    "(SELECT 1)", "SELECT 'a;b -- DELETE', 2, 3, 4", "SELECT updated_at FROM t",
])
def test_reading_queries_pass(sql):
    assert refusal(sql, "--queue-query") is None


@pytest.mark.unit
@pytest.mark.parametrize(("sql", "said"), [
    ("DELETE FROM t", "starts with DELETE"), ("", "empty"),
    ("SELECT 1; DROP TABLE t", "only one statement is allowed"),
    ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "DELETE is not allowed"),
    ("SELECT * INTO copy FROM t", "INTO is not allowed"), ("-- x\n", "empty"),
    ("SELECT 1 /* ; */; UPDATE t SET a = 1", "only one statement is allowed"),
])
def test_writing_queries_are_refused(sql, said):
    assert said in (refusal(sql, "--queue-query") or "")


# -- hostile rows never raise --

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**50, max_value=10**50),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.binary(max_size=30), st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(["new", "Taken", "waiting for remote acknowledge", "sent", "blocked"]))


@pytest.mark.unit
@given(st.lists(st.tuples(VALUES, VALUES, VALUES, VALUES), max_size=20))
def test_hostile_rows_never_raise(raw):
    result = rows(*raw)
    assert sum(result.count(state) for state in sendqueue.contract.STATES) + \
        result.problem_count == len(raw)
    verdict = judge(result, Limits(length_warning=1, ack_warning=1))
    for finding in verdict.findings + ([verdicts.problem_finding(result.problems)]
                                       if result.problems else []):
        assert "\n" not in finding.message and "|" not in finding.message + finding.advice
        finding.message.encode("utf-8")
    assert (verdict.oldest_age or 0) >= 0 and verdict.max_tries >= 0


# -- the whole check, on any rows and thresholds: one valid status line --

QUEUE_THRESHOLDS = st.fixed_dictionaries({}, optional={
    flag: st.integers(min_value=0, max_value=10**12).map(str)
    for flag in ("--queue-age-warning", "--queue-age-critical", "--queue-tries-warning",
                 "--queue-tries-critical", "--queue-length-warning", "--queue-length-critical",
                 "--ack-age-warning", "--ack-age-critical")})


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=80)
@given(st.lists(st.tuples(VALUES, VALUES, VALUES, VALUES), max_size=15), QUEUE_THRESHOLDS,
       st.sampled_from([[], ["-v"]]))
def test_any_queue_rows_and_thresholds_give_one_valid_status_line(capsys, monkeypatch, raw,
                                                                   chosen, verbose):
    argv = ["--checks", "queue", "--db-type", "mysql", "--queue-query", "SELECT 1",
            *(item for pair in chosen.items() for item in pair), *verbose]
    try:
        settings_ = options.parse(argv, environ={})
    except options.UsageError as error:  # a warning above its critical
        assert "\n" not in str(error)
        return
    def read(self):
        self.fold = Fold(4).add_all(raw)

    monkeypatch.setattr(sendqueue.Queue, "_read", read)
    check = build_check(settings_, Host())
    with pytest.raises(SystemExit) as ended:
        execution.execute(check, 30, settings_.verbose)
    output = capsys.readouterr().out
    assert_valid_output(output, ended.value.code)
    assert "internal error" not in output
    first = output.splitlines()[0]
    for label in ("queue_new", "queue_taken", "queue_waiting", "queue_blocked",
                  "queue_oldest_age", "queue_max_tries"):
        assert f" {label}=" in first
