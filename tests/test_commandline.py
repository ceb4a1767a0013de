"""The usual command line is read without argparse, and read exactly as argparse reads it.

commandline.py may decline any command line (argparse then reads it); whatever it accepts
must give the very values argparse gives, and the command lines admins really use must be
accepted, or the plain run pays for argparse again.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from os4xmon.cli.argparsing import read_with_argparse
from os4xmon.cli.commandline import read_command_line, verbosity
from os4xmon.cli.options import OPTIONS, Option, UsageError

pytestmark = pytest.mark.unit

FLAGS = sorted({flag for option in OPTIONS for flag in option.flags})
VALUES = ["5", "0", "-1", "-5", "", "abc", "3305", "70000", "1e3", "nan", "mysql", "mariadb",
          "processes,ports", "processes,cpu", "os4x_", "x=y", "127.0.0.1", "www-data",
          "O0013000000MON", "SELECT 1", "warning", "proc", "-", "--", "--probe", "-v",
          "90m", "2d", "ODETTE-VW", "P/in=2h,1d", "P=,3d"]


def by_argparse(argv: list[str]) -> dict[str, object] | None:
    try:
        return read_with_argparse(argv)
    except (UsageError, SystemExit):  # a usage error, or --help and --version
        return None


def word() -> st.SearchStrategy[str]:
    flag = st.sampled_from([*FLAGS, "-v", "-vv", "-vvv", "--verbose", "-V", "--help", "--",
                            "-vx", "-t5", "-Hhost", "positional"])
    abbreviated = st.sampled_from(FLAGS).filter(lambda f: len(f) > 4).map(lambda f: f[:-2])
    attached = st.tuples(st.sampled_from(FLAGS), st.sampled_from(VALUES)).map("=".join)
    return st.one_of(flag, abbreviated, attached, st.sampled_from(VALUES))


def takes(option: Option, value: str) -> bool:
    try:
        option.convert(value)  # type: ignore[misc]
    except (ValueError, TypeError):
        return False
    return True


def option_words() -> st.SearchStrategy[list[str]]:
    """An option as admins write it, mostly with a value it takes; now and then anything."""
    def written(option: Option) -> st.SearchStrategy[list[str]]:
        flag = st.sampled_from(option.flags)
        if option.convert is None:
            return flag.map(lambda f: [f])
        good = [value for value in VALUES if takes(option, value)] or VALUES
        value = st.sampled_from(good)
        return st.one_of(st.tuples(flag, value).map(list),
                         st.tuples(flag, value).map(lambda pair: ["=".join(pair)]))

    usual = st.sampled_from([o for o in OPTIONS if o.on_command_line]).flatmap(written)
    return st.one_of(usual, usual, usual, word().map(lambda w: [w]))


def command_line() -> st.SearchStrategy[list[str]]:
    return st.lists(option_words(), max_size=6).map(
        lambda parts: [word for part in parts for word in part])


@settings(max_examples=1000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command_line())
def test_whatever_is_accepted_is_read_as_argparse_reads_it(capsys, argv):
    quick = read_command_line(argv, OPTIONS)
    if quick is not None:
        assert quick == by_argparse(argv)
    capsys.readouterr()  # --help and --version printed


@pytest.mark.parametrize("argv", [
    [],
    ["--checks", "processes,ports"],
    ["-t", "20", "--checks=processes,ports,database", "--db-type", "mysql", "--db-user",
     "nagios", "--db-password-file", "/etc/nagios/os4x-db.pw", "-v"],
    ["-H", "oftp.example.com", "--probe", "--port", "3305", "--tls-port", "6619",
     "--response-warning", "2", "--response-critical", "5", "--cert-warning", "30"],
    ["--isdn-controllers", "2", "--enterprise", "--require-debugd", "--user", "os4x", "-vv",
     "--min-uptime", "300", "--replaced-binary-state", "critical"],
    ["--queue-query", "SELECT partner, state, age, tries FROM {prefix}send_queue",
     "--db-type", "postgresql", "--queue-age-warning", "3600", "--verbose"],
    ["--checks", "partners", "--db-type", "mysql", "--partner-query", "SELECT 1",
     "--silence-warning", "26h", "--partner-silence", "A/in=2d,3d", "--partner-silence=B=1h",
     "--partner", "A", "--partner", "B", "--failures-warning", "3"],
])
def test_the_command_lines_admins_use_need_no_argparse(argv):
    quick = read_command_line(argv, OPTIONS)
    assert quick is not None
    assert quick == by_argparse(argv)


@pytest.mark.parametrize("argv", [
    ["--help"], ["-V"], ["--chec", "processes"], ["--probe=yes"], ["-t5"], ["-t=5"],
    ["--port", "-1"], ["--host", ""], ["--port", "seventy"], ["--", "--probe"], ["word"],
    ["--port"], ["--db-password", "x"],
])
def test_anything_unusual_goes_to_argparse(argv):
    assert read_command_line(argv, OPTIONS) is None


def test_verbosity_counts_only_v():
    assert [verbosity(w) for w in ("-v", "-vvv", "--verbose", "-", "-vx", "--v", "v")] \
        == [1, 3, 1, 0, 0, 0, 0]
