"""The partner check's pure parts: rows folded against the contract, the thresholds that
apply to a partner and direction, the verdicts and their texts, worst first."""

from __future__ import annotations

import datetime
import decimal

import pytest
from nagiosplugin.state import Critical, Ok, Unknown, Warn

from os4xmon.checks.partners.rules import (
    MAX_PARTNERS,
    Flow,
    Limits,
    OwnSilence,
    Silence,
    Tally,
    judge,
    level,
    silence_level,
    threshold_text,
)
from os4xmon.core.findings import Subject
from os4xmon.db.drivers import DatabaseError

pytestmark = pytest.mark.unit

HOUR, DAY = 3600.0, 86400.0


def fold(*rows, width=None, wanted=None):
    tally = Tally(wanted)
    tally.columns(width or (len(rows[0]) if rows else 4))
    for row in rows:
        tally.add(row)
    return tally


def flows(tally):
    return {key: (flow.age, flow.failures, flow.reason) for key, flow in tally.flows.items()}


# -- the rows --


@pytest.mark.parametrize(("word", "direction"), [
    ("in", "in"), ("IN", "in"), (" receive ", "in"), ("Receive", "in"), (b"in", "in"),
    ("out", "out"), ("OUT", "out"), ("send", "out"), ("SEND ", "out")])
def test_directions_in_every_spelling(word, direction):
    assert flows(fold(("P", word, 5, 0))) == {("P", direction): (5.0, 0, "")}


@pytest.mark.parametrize("age", [7, "7", b"7", decimal.Decimal("7.0"), 7.0,
                                 datetime.timedelta(seconds=7)])
def test_ages_from_every_driver_type(age):
    assert fold(("P", "in", age, 0)).flows[("P", "in")].age == 7.0


def test_null_age_is_never_a_success_and_null_failures_none():
    assert flows(fold(("P", "out", None, None))) == {("P", "out"): (None, 0, "")}


@pytest.mark.parametrize("rows", [
    [("P", "in", None, 1), ("P", "in", 90, 2), ("P", "in", 300, 0)],
    [("P", "in", 300, 1), ("P", "in", 90, 2), ("P", "in", None, 0)],
])
def test_rows_of_one_flow_keep_the_latest_success_and_add_the_failures(rows):
    assert flows(fold(*rows)) == {("P", "in"): (90.0, 3, "")}


@pytest.mark.parametrize(("row", "said"), [
    ((None, "in", 1, 0), "partner is NULL"),
    (("P", "sideways", 1, 0), "direction 'sideways' is not in, out, receive or send"),
    (("P", None, 1, 0), "direction NULL"),
    (("P", "in", -5, 0), "age -5 is negative"),
    (("P", "in", "soon", 0), "age 'soon' is not a number"),
    (("P", "in", float("nan"), 0), "not a finite number"),
    (("P", "in", True, 0), "is not a number"),
    (("P", "in", 1, 1.5), "failures 1.5 is not a whole number"),
    (("P", "in", 1, -1), "failures -1 is negative"),
    (("P", "in", 1, "٣"), "is not a number"),
])
def test_a_bad_row_is_a_problem_and_the_others_still_count(row, said):
    tally = fold(row, ("GOOD", "in", 1, 0))
    assert tally.problem_count == 1 and said in tally.problems[0], tally.problems
    assert ("GOOD", "in") in tally.flows


def test_only_the_first_problems_are_kept_but_all_are_counted():
    tally = fold(*[("P", "nowhere", 1, 0)] * 50)
    assert tally.problem_count == 50 and len(tally.problems) == 3


@pytest.mark.parametrize("width", [0, 3, 6])
def test_a_result_of_the_wrong_width_is_refused_before_any_row(width):
    with pytest.raises(DatabaseError, match=f"returns {width} column"):
        Tally().columns(width)


def test_the_fifth_column_is_the_reason_escaped_and_cut():
    tally = fold(("P", "out", 5, 2, "ESID 04\ninvalid | password" + "x" * 300))
    reason = tally.flows[("P", "out")].reason
    assert reason.startswith("ESID 04 invalid ! passwordxxx") and reason.endswith("...")
    assert "|" not in reason and "\n" not in reason and len(reason) <= 100


def test_rows_of_one_partner_and_direction_fold_into_one():
    tally = fold(("P", "in", 500, 1, ""), ("P", "receive", 60, 2, "ESID 09 time out"),
                 ("P", "in", None, 3, "ESID 04"), width=5)
    assert flows(tally) == {("P", "in"): (60.0, 6, "ESID 09 time out")}


def test_with_wanted_partners_others_are_skipped_even_broken_ones():
    tally = fold(("A", "in", 1, 0), ("B", "nowhere", 1, 0), (None, "in", 1, 0),
                 ("A", "out", 2, 0), wanted=["A"])
    assert set(tally.flows) == {("A", "in"), ("A", "out")}
    assert tally.problem_count == 0 and tally.rows == 4


def test_a_query_that_returns_too_many_partners_is_refused():
    tally = Tally()
    tally.columns(4)
    for number in range(MAX_PARTNERS):  # exactly the limit, both directions: taken
        tally.add((f"P{number}", "in", 1, 0))
        tally.add((f"P{number}", "out", 1, 0))
    tally.add(("P0", "in", 1, 0))  # a known partner and direction is folded, never refused
    assert tally.partner_count == MAX_PARTNERS
    with pytest.raises(DatabaseError, match=f"more than {MAX_PARTNERS} partners"):
        tally.add(("ONE-MORE", "in", 1, 0))


def test_the_partner_limit_counts_partners_not_directions():
    tally = Tally()
    tally.columns(4)
    with pytest.raises(DatabaseError, match=f"more than {MAX_PARTNERS} partners"):
        for number in range(MAX_PARTNERS + 1):  # one direction each
            tally.add((f"P{number}", "out", 1, 0))
    assert tally.partner_count == MAX_PARTNERS


def test_memory_grows_with_partners_not_rows():
    tally = Tally()
    tally.columns(4)
    for _ in range(20000):
        tally.add(("SAME", "in", 5, 1))
    assert len(tally.flows) == 1 and tally.flows[("SAME", "in")].failures == 20000


# -- the thresholds --


@pytest.mark.parametrize(("value", "state"), [(10, Ok), (11, Warn), (20, Warn), (21, Critical)])
def test_level_is_more_than(value, state):
    assert level(value, 10, 20)[0] == state


@pytest.mark.parametrize(("silence", "state", "limit"), [
    (Silence(HOUR, DAY), Critical, DAY), (Silence(HOUR, None), Warn, HOUR),
    (Silence(None, DAY), Critical, DAY), (Silence(), Ok, None)])
def test_never_a_success_is_silent_beyond_any_threshold(silence, state, limit):
    assert silence_level(None, silence) == (state, limit)


def test_a_partners_own_silence_overrides_the_general_one_per_direction():
    limits = Limits(Silence(HOUR, DAY), [OwnSilence("A", None, Silence(2 * DAY, None)),
                                         OwnSilence("A", "in", Silence(None, 3 * DAY)),
                                         OwnSilence("B", "out", Silence(60, 120))])
    assert limits.silence_for("A", "in") == Silence(None, 3 * DAY)
    assert limits.silence_for("A", "out") == Silence(2 * DAY, None)
    assert limits.silence_for("B", "out") == Silence(60, 120)
    assert limits.silence_for("B", "in") == Silence(HOUR, DAY)
    assert limits.silence_for("C", "in") == Silence(HOUR, DAY)


@pytest.mark.parametrize(("seconds", "text"), [(4 * HOUR, "4h"), (DAY, "1d"), (5400, "1h 30m"),
                                               (90, "1m 30s"), (0, "0s")])
def test_thresholds_read_as_written(seconds, text):
    assert threshold_text(seconds) == text


# -- the verdicts --


def one(flow, limits, named=()):
    return judge([flow], limits, named)


@pytest.mark.parametrize(("age", "state"), [(4 * HOUR, Ok), (4 * HOUR + 1, Warn),
                                            (DAY, Warn), (DAY + 1, Critical)])
def test_silence_states(age, state):
    verdict = one(Flow("A", "in", age, 0, ""), Limits(Silence(4 * HOUR, DAY)))
    assert [finding.state for finding in verdict.findings] == ([] if state == Ok else [state])
    assert verdict.silent == (0 if state == Ok else 1)


def test_silence_texts_name_partner_direction_and_threshold():
    received = one(Flow("ODETTE-AUDI", "in", 5 * HOUR + 12 * 60, 0, ""),
                   Limits(Silence(4 * HOUR, None)))
    assert received.findings[0].message == \
        "nothing received from ODETTE-AUDI for 5h 12m (more than 4h)"
    assert "receive log" in received.findings[0].advice
    assert received.findings[0].subject == Subject("partner", "ODETTE-AUDI", "silent in")
    sent = one(Flow("ODETTE-VW", "out", 2 * DAY, 0, ""), Limits(Silence(None, DAY)))
    assert sent.findings[0].state == Critical
    assert sent.findings[0].message == "nothing sent to ODETTE-VW for 2d 0h (more than 1d)"
    assert "send queue" in sent.findings[0].advice and "send log" in sent.findings[0].advice


def test_never_sent_text():
    verdict = one(Flow("NEW", "out", None, 0, ""), Limits(Silence(HOUR, None)))
    assert verdict.findings[0].state == Warn
    assert verdict.findings[0].message == \
        "nothing ever sent to NEW: no successful transfer in the log"
    assert verdict.silence_max is None


def test_silence_is_judged_only_where_a_threshold_applies():
    verdict = one(Flow("A", "in", None, 0, ""), Limits(failures_warning=5))
    assert verdict.findings == [] and verdict.silent == 0 and verdict.silence_max is None
    assert "silence not judged" in verdict.lines[0]


@pytest.mark.parametrize(("failures", "state"), [(0, Ok), (3, Ok), (4, Warn), (10, Warn),
                                                 (11, Critical)])
def test_failure_states(failures, state):
    verdict = one(Flow("A", "out", 10, failures, ""), Limits(failures_warning=3,
                                                             failures_critical=10))
    assert [finding.state for finding in verdict.findings] == ([] if state == Ok else [state])
    assert verdict.failing == (0 if state == Ok else 1)


def test_failure_text_has_the_last_reason():
    verdict = one(Flow("ODETTE-VW", "out", 10, 7, "ESID 04 invalid password"),
                  Limits(failures_warning=5))
    assert verdict.findings[0].message == ("7 failed sends to ODETTE-VW in the window (more "
                                           "than 5), last: ESID 04 invalid password")
    assert verdict.findings[0].subject == Subject("partner", "ODETTE-VW", "failing out")
    received = one(Flow("P", "in", 10, 1, ""), Limits(failures_warning=0))
    assert received.findings[0].message == "1 failed receive from P in the window (more than 0)"
    assert "receive log" in received.findings[0].advice


def test_a_named_partner_missing_from_the_rows_is_unknown():
    verdict = judge([Flow("A", "in", 1, 0, "")], Limits(failures_warning=1), ["A", "TYPO"])
    assert [(f.state, f.message) for f in verdict.findings] == [
        (Unknown, "partner TYPO is not among the rows of --partner-query")]
    assert verdict.findings[0].subject == Subject("partner", "TYPO", "not among the rows")
    assert verdict.lines[0] == "partner TYPO: UNKNOWN, no row from --partner-query"


def test_worst_first_in_findings_and_lines():
    limits = Limits(Silence(HOUR, DAY), failures_warning=2)
    verdict = judge([Flow("OK", "in", 60, 0, ""), Flow("WARN", "in", 2 * HOUR, 0, ""),
                     Flow("LONGER", "out", 20 * HOUR, 0, ""), Flow("CRIT", "out", 2 * DAY, 0, ""),
                     Flow("NEVER", "in", None, 0, ""), Flow("FAIL", "out", 60, 3, "")], limits)
    assert [(f.state, f.message.split(" for ")[0]) for f in verdict.findings] == [
        (Critical, "nothing ever received from NEVER: no successful transfer in the log"),
        (Critical, "nothing sent to CRIT"),
        (Warn, "nothing sent to LONGER"),
        (Warn, "nothing received from WARN"),
        (Warn, "3 failed sends to FAIL in the window (more than 2)")]
    assert [line.split(",")[0] for line in verdict.lines] == [
        "partner NEVER", "partner CRIT", "partner LONGER", "partner WARN", "partner FAIL",
        "partner OK"]
    assert verdict.lines[-1].startswith("partner OK, in: OK, last received 1m 0s ago")
    assert verdict.lines[4].startswith("partner FAIL, out: WARNING, last sent 1m 0s ago")
    assert (verdict.partners, verdict.silent, verdict.failing) == (6, 4, 1)
    assert verdict.silence_max == 2 * DAY


def test_silence_max_counts_only_where_a_threshold_applies():
    limits = Limits(Silence(), [OwnSilence("A", "in", Silence(HOUR, None))])
    verdict = judge([Flow("A", "in", 600, 0, ""), Flow("B", "in", 9 * DAY, 0, "")], limits)
    assert verdict.silence_max == 600
