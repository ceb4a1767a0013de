"""The send queue at any size: rows folded as they arrive, the two forms of the contract held
together, memory bounded by the partners, and a read cut short by -t that keeps its CRITICAL."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import assert_valid_output

from os4xmon.checks import sendqueue
from os4xmon.checks.sendqueue import fold as folding
from os4xmon.checks.sendqueue.contract import STATES, summary_row
from os4xmon.checks.sendqueue.fold import Fold
from os4xmon.checks.sendqueue.verdicts import Limits, judge
from os4xmon.cli import read_settings as options
from os4xmon.cli.assemble import build_check
from os4xmon.core import execution
from os4xmon.db.drivers import SILENT, DatabaseError
from os4xmon.facts.host import Host

pytestmark = pytest.mark.unit


def summarize(entries):
    """What GROUP BY partner, state makes of per-entry rows: count, MAX(age), MAX(tries)."""
    groups: dict[tuple[str, str], list] = {}
    for partner, state, age, tries in entries:
        group = groups.setdefault((partner, state), [partner, state, 0, None, 0])
        group[2] += 1
        if age is not None and (group[3] is None or age > group[3]):
            group[3] = age
        group[4] = max(group[4], tries or 0)
    return [tuple(group) for group in groups.values()]


def run_check(capsys, monkeypatch, rows, width, argv):
    settings_ = options.parse(["--checks", "queue", "--db-type", "mysql", "--queue-query",
                               "SELECT 1", *argv], environ={})

    def read(self):
        self.fold = Fold(width).add_all(rows)

    monkeypatch.setattr(sendqueue.Queue, "_read", read)
    with pytest.raises(SystemExit) as ended:
        execution.execute(build_check(settings_, Host()), 30, settings_.verbose)
    output = capsys.readouterr().out
    assert_valid_output(output, ended.value.code)
    return ended.value.code, output


# -- the two forms of the contract agree --

PARTNERS = st.sampled_from(["ACME", "BOLT", "CARGO", "DELTA", "ECHO|x", ""])
AGES = st.integers(min_value=0, max_value=200000)
TRIES = st.integers(min_value=0, max_value=30)


@st.composite
def entries(draw):
    state = draw(st.sampled_from(STATES))
    age = draw(st.none() | AGES) if state in ("blocked", "sent") else draw(AGES)
    return (draw(PARTNERS), state, age, draw(st.none() | TRIES))


THRESHOLDS = st.fixed_dictionaries({}, optional={
    "--queue-length-warning": st.integers(0, 40).map(str),
    "--queue-length-critical": st.integers(41, 80).map(str),
    "--ack-age-warning": st.integers(0, 100000).map(str),
    "--queue-tries-warning": st.integers(0, 15).map(str),
    "--queue-age-warning": st.integers(0, 10000).map(str)})


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150,
          deadline=None)
@given(st.lists(entries(), max_size=60), THRESHOLDS, st.randoms(use_true_random=False))
def test_the_summary_form_gives_what_the_per_entry_form_gives(capsys, monkeypatch, queue,
                                                              chosen, random):
    argv = [*(item for pair in chosen.items() for item in pair), "-v"]
    summary = summarize(queue)
    random.shuffle(summary)  # GROUP BY promises no order
    per_entry = run_check(capsys, monkeypatch, queue, 4, argv)
    assert run_check(capsys, monkeypatch, summary, 5, argv) == per_entry


def test_summary_rows_may_split_a_group_and_count_nothing():
    split = Fold(5).add_all([("A", "new", 2, 100, 1), ("A", "new", 3, 900, 4),
                             ("A", "taken", 0, None, 0)])
    assert split.partners["A"]["new"].as_tuple() == (5, 900.0, 4)
    assert "taken" not in split.partners["A"]
    assert judge(split, Limits()).counts["new"] == 5


@pytest.mark.parametrize(("row", "said"), [
    (("A", "new", None, 5, 0), "count is NULL"),
    (("A", "new", 2.5, 5, 0), "count 2.5 is not a whole number"),
    (("A", "new", -1, 5, 0), "count -1 is negative"),
    (("A", "new", 3, None, 0), "oldest age is NULL"),
    (("A", "new", 3, 5, "x"), "most send tries 'x' is not a number"),
])
def test_bad_summary_rows_are_named(row, said):
    fold = Fold(5).add_all([row, ("B", "taken", 1, 99999, 0)])
    assert said in fold.problems[0] and fold.problem_count == 1
    assert judge(fold, Limits()).findings[0].message.startswith(
        "send queue: files to partner B not leaving")  # the good row is still judged
    with pytest.raises(Exception, match=said):
        summary_row(row)


# -- memory bounded by the partners, not the entries --


def backlog(count, partners=37):
    """A generated answer of a server: count per-entry rows, none kept by the generator."""
    states = ("new", "taken", "waiting", "blocked", "sent")
    for number in range(count):
        yield (f"PARTNER-{number % partners}", states[number % 5], 18000 + number % 977,
               number % 13)


def peak_of_folding(rows):
    """The fold and the most memory Python held at once while it folded rows."""
    tracemalloc.start()
    try:
        fold = Fold(4).add_all(rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return fold, peak


def test_rows_fold_in_the_memory_of_their_partners_not_of_the_rows():
    small, small_peak = peak_of_folding(backlog(1_000))
    fold, peak = peak_of_folding(backlog(100_000))  # a million: the same, 10 times slower
    assert fold.rows == 100_000 and len(fold.partners) == len(small.partners) == 37
    assert fold.count("new") == 20_000
    assert peak < small_peak + 16 * 1024, (small_peak, peak)  # as a list: over 15 MiB
    assert peak < 256 * 1024, peak
    verdict = judge(fold, Limits())
    assert verdict.findings[0].message.startswith("send queue: files to partner PARTNER-")


def test_hostile_partner_names_cannot_grow_the_fold_past_its_cap(monkeypatch):
    monkeypatch.setattr(folding, "MAX_PARTNERS", 50)
    fold = Fold(4).add_all((f"P{number}", "new", number, 0) for number in range(5000))
    assert len(fold.partners) == 50 and fold.beyond == 4950
    assert len(fold._names) <= 100
    verdict = judge(fold, Limits())
    assert verdict.counts["new"] == 5000  # the totals hold every entry
    assert "files to partner P4999 not leaving" in verdict.findings[0].message
    assert verdict.lines[-1] == ("send queue: 4950 entries of partners past the first 50 count "
                                 "in the totals only")


def test_bad_rows_are_counted_without_being_kept():
    fold = Fold(4).add_all([("P", "frozen", 1, 0)] * 100_000 + [("X", "new", 99999, 0)])
    assert fold.problem_count == 100_000 and len(fold.problems) == 3
    assert judge(fold, Limits()).findings[0].state.code == 2


# -- a read cut short by -t keeps what it found --


def test_a_read_cut_short_keeps_its_critical_and_says_how_far_it_got(capsys, monkeypatch):
    settings_ = options.parse(["--checks", "queue", "--db-type", "mysql", "--queue-query",
                               "SELECT 1", "-v"], environ={})

    def read(self):
        self.fold = Fold(4).add_all([("STUCK", "taken", 99999, 12)] * 1234)
        raise DatabaseError(SILENT, "no answer within 4s while reading the rows")

    monkeypatch.setattr(sendqueue.Queue, "_read", read)
    with pytest.raises(SystemExit) as ended:
        execution.execute(build_check(settings_, Host()), 30, settings_.verbose)
    output = capsys.readouterr().out
    assert ended.value.code == 2, output
    first = output.splitlines()[0]
    assert first.startswith("OS4X CRITICAL - send queue: files to partner STUCK not leaving")
    assert "send queue: database silent: no answer within 4s while reading the rows; after " \
        "1234 rows, judged above" in output
    assert "queue_taken=U" in first  # counts of a partial answer are not graphed


def test_a_failure_before_any_row_is_the_failure_alone(capsys, monkeypatch):
    settings_ = options.parse(["--checks", "queue", "--db-type", "mysql", "--queue-query",
                               "SELECT 1"], environ={})

    def read(self):
        raise DatabaseError(SILENT, "no answer within 4s while running the query")

    monkeypatch.setattr(sendqueue.Queue, "_read", read)
    with pytest.raises(SystemExit) as ended:
        execution.execute(build_check(settings_, Host()), 30, settings_.verbose)
    output = capsys.readouterr().out
    assert ended.value.code == 3
    assert "after" not in output.splitlines()[0]


def test_figures_keep_the_count_the_oldest_and_the_most_tries():
    fold = Fold(4).add_all([("A", "new", 100, 3), ("A", "new", 50, 9), ("A", "new", 70, 1)])
    assert fold.partners["A"]["new"].as_tuple() == (3, 100.0, 9)
    assert fold.totals["new"].as_tuple() == (3, 100.0, 9)
    assert fold.oldest["new"] == (100.0, "A") and fold.most_tries["new"] == (9, "A")


def test_partner_lines_show_the_oldest_pending_and_the_most_tries():
    fold = Fold(4).add_all([("A", "new", 100, 2), ("A", "taken", 500, 7),
                            ("A", "waiting", 900, 1), ("A", "sent", 99999, 50),
                            ("B", "blocked", None, 0)])
    assert judge(fold, Limits()).lines == [
        "send queue, partner A: new 1, taken 1, waiting 1, blocked 0, sent 1; oldest pending "
        "15m 0s (waiting), most tries 7",
        "send queue, partner B: new 0, taken 0, waiting 0, blocked 1, sent 0"]


def test_the_oldest_leaving_entry_and_its_state_are_named_on_a_tie_by_name():
    fold = Fold(5).add_all([("B", "taken", 2, 20000, 0), ("A", "new", 1, 20000, 0)])
    message = judge(fold, Limits()).findings[0].message
    assert message.startswith("send queue: files to partner B not leaving, an entry taken by "
                              "send queue for 5h 33m")


def test_every_verdict_is_about_the_partner_it_names():
    fold = Fold(4).add_all([("OLD", "taken", 99999, 0), ("FAR", "new", 5, 12),
                            ("SLOW", "waiting", 99999, 0), ("LOCK", "blocked", None, 0)])
    findings = judge(fold, Limits(length_warning=1, ack_warning=60)).findings
    assert [(f.subject.kind, f.subject.name) for f in findings if f.subject] == [
        ("partner", "OLD"), ("partner", "FAR"), ("partner", "FAR"), ("partner", "SLOW"),
        ("partner", "LOCK")]
    assert all(f"partner {f.subject.name}" in f.message for f in findings if f.subject)


HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**40, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.binary(max_size=20), st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(["new", "taken", "Waiting", "sent", "blocked"]))


@given(st.lists(st.tuples(HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE), max_size=20))
def test_hostile_summary_rows_never_raise(raw):
    fold = Fold(5).add_all(raw)
    assert fold.rows == len(raw) and fold.problem_count <= len(raw)
    verdict = judge(fold, Limits(length_warning=1, ack_warning=1))
    for finding in verdict.findings:
        assert "\n" not in finding.message and "|" not in finding.message + finding.advice
    assert (verdict.oldest_age or 0) >= 0 and verdict.max_tries >= 0
