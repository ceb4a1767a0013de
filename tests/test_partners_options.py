"""The partner check's options: durations, repeatable options (command line and config file),
and the combinations refused before anything runs."""

from __future__ import annotations

import pytest

from os4xmon.cli.options import UsageError
from os4xmon.cli.read_settings import parse
from os4xmon.core.values import duration_value, partner_silence

pytestmark = pytest.mark.unit
BASE = ["--db-type", "mysql", "--partner-query", "SELECT 1"]


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("90s", 90), ("90m", 5400), ("26h", 93600), ("2d", 172800), ("1.5h", 5400),
    (" 3s ", 3), ("0", 0), ("0.25", 0.25), ("2H", 7200)])
def test_durations(text, seconds):
    assert duration_value(text) == seconds


@pytest.mark.parametrize(("text", "said"), [
    ("-1", "negative"), ("-2h", "negative"), ("1x", "not a duration"), ("1 h", "not a duration"),
    ("h", "not a duration"), ("", "not a duration"), ("inf", "not a duration"),
    ("1_0", "not a duration"), ("\uff12h", "not a duration")])
def test_bad_durations(text, said):
    with pytest.raises(ValueError, match=said):
        duration_value(text)


@pytest.mark.parametrize(("flag", "dest"), [
    ("--action-age-warning", "action_age_warning"), ("--min-uptime", "min_uptime"),
    ("--queue-age-critical", "queue_age_critical"), ("--ack-age-warning", "ack_age_warning"),
    ("--silence-warning", "silence_warning")])
def test_every_duration_option_takes_units_and_plain_seconds(flag, dest):
    extra = ["--silence-warning", "1"] if dest != "silence_warning" else []
    assert getattr(parse([*BASE, *extra, flag, "2h"], environ={}), dest) == 7200
    assert getattr(parse([*BASE, *extra, flag, "7200"], environ={}), dest) == 7200


@pytest.mark.parametrize(("text", "parsed"), [
    ("ODETTE-AUDI=4h,1d", ("ODETTE-AUDI", "", 14400, 86400)),
    ("ODETTE-AUDI/in=4h", ("ODETTE-AUDI", "in", 14400, None)),
    ("P/OUT=,2d", ("P", "out", None, 172800)),
    ("P/receive=60", ("P", "in", 60, None)),
    ("A/B=1h", ("A/B", "", 3600, None)),  # a slash that names no direction is the name's
    ("X=Y=1h", ("X=Y", "", 3600, None)),
    ("/in=1h", ("/in", "", 3600, None)),  # no name before the slash: all of it is the name
])
def test_partner_silence(text, parsed):
    assert partner_silence(text) == parsed


@pytest.mark.parametrize(("text", "said"), [
    ("P", "is not PARTNER"), ("=1h", "is not PARTNER"), ("P=", "gives no duration"),
    ("P=,", "gives no duration"), ("P=2d,1d", "warning is above the critical"),
    ("P=soon", "not a duration"), (" =1h", "is not PARTNER")])
def test_bad_partner_silence(text, said):
    with pytest.raises(ValueError, match=said):
        partner_silence(text)


def test_repeated_options_collect_on_the_command_line_and_through_argparse():
    argv = [*BASE, "--silence-warning", "1h", "--partner", "A", "--partner", "B",
            "--partner-silence", "A=2h", "--partner-silence", "B/out=1d,2d"]
    for words in (argv, [*argv, "--chec", "partners"]):  # an abbreviation: argparse reads it
        settings = parse(words, environ={})
        assert settings.partner == ("A", "B")
        assert settings.partner_silence == (("A", "", 7200, None), ("B", "out", 86400, 172800))


def test_repeated_options_in_the_config_file_are_separated_by_blanks(tmp_path):
    path = tmp_path / "c.ini"
    path.write_text("[check_os4x]\ndb-type = mysql\npartner-query = SELECT 1\n"
                    "partner-silence = A=2h  B/in=1d,2d\npartner = A B\nsilence-warning = 3h\n")
    settings = parse(["--config", str(path)], environ={})
    assert settings.partner == ("A", "B")
    assert settings.partner_silence == (("A", "", 7200, None), ("B", "in", 86400, 172800))
    assert settings.silence_warning == 10800
    assert parse(["--config", str(path), "--partner", "C"], environ={}).partner == ("C",)


def test_partners_are_selected_when_the_query_is_set():
    settings = parse([*BASE, "--failures-warning", "1"], environ={})
    assert "partners" in settings.selected_checks
    remote = parse([*BASE, "--failures-warning", "1", "-H", "192.0.2.1"], environ={})
    assert remote.selected_checks == ("ports", "partners")


@pytest.mark.parametrize(("argv", "said"), [
    (["--partner-query", "SELECT 1", "--silence-warning", "1h"], "needs --db-type"),
    (BASE, "--partner-query needs a threshold"),
    ([*BASE, "--partner", "A"], "--partner-query needs a threshold"),
    (["--db-type", "mysql", "--partner", "A"], "--partner needs --partner-query"),
    (["--db-type", "mysql", "--partner-silence", "A=1h"], "--partner-silence needs"),
    ([*BASE, "--silence-warning", "2d", "--silence-critical", "1d"],
     "--silence-warning is above --silence-critical"),
    ([*BASE, "--failures-warning", "5", "--failures-critical", "2"],
     "--failures-warning is above --failures-critical"),
    ([*BASE, "--failures-warning", "1", "--partner", "A-B", "--partner", "A.B"],
     "give the same perfdata label A_B"),
    (["--db-type", "mysql", "--partner-query", "DELETE FROM os4x_send_log",
      "--failures-warning", "1"], "must be one read-only SELECT"),
])
def test_refused_before_anything_runs(argv, said):
    with pytest.raises(UsageError, match=said):
        parse(argv, environ={})
