"""--db-discover's suggestions: hostile table and column names stay names, for SQL and for the
shell; the GRANT statements of a least-privilege monitoring user (pure, no server)."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from os4xmon.cli import db_discover
from os4xmon.core.settings import Settings
from os4xmon.db.sqlguard import check_read_only

HOSTILE = "pid' $(touch x) '"


@pytest.mark.parametrize("db_type", ["mysql", "postgresql"])
def test_a_hostile_column_name_stays_a_name_in_the_shell(tmp_path, db_type):
    table = db_discover.Table("os4x_daemon_state", [("daemon", "varchar"), (HOSTILE, "int")])
    suggestion = table.suggestion("os4x_", db_type)
    assert suggestion is not None
    quote = "`" if db_type == "mysql" else '"'
    assert suggestion == (f"SELECT daemon, {quote}{HOSTILE}{quote} "
                          "FROM {prefix}daemon_state")
    check_read_only(suggestion, "--pid-query")
    line = f"printf %s {shlex.quote(suggestion)}"
    done = subprocess.run(["sh", "-c", line], cwd=tmp_path, capture_output=True, text=True,
                          check=True)
    assert done.stdout == suggestion
    assert not (tmp_path / "x").exists()


@pytest.mark.unit
def test_quotes_inside_names_are_doubled():
    assert db_discover.quote_name("a`b", "mysql") == "`a``b`"
    assert db_discover.quote_name('a"b', "postgresql") == '"a""b"'
    assert db_discover.quote_name("Daemon", "postgresql") == '"Daemon"'  # folded if bare
    assert db_discover.quote_name("select", "mysql") == "`select`"
    assert db_discover.quote_name("pid", "mysql") == "pid"


@pytest.mark.unit
def test_an_unprintable_name_gets_no_suggestion_and_is_shown_escaped():
    table = db_discover.Table("os4x_daemon_state", [("daemon", "varchar"),
                                                   ("pid\n$(reboot)", "int")])
    assert table.suggestion("os4x_", "mysql") is None
    lines = db_discover.report(Settings(db_type="mysql"), [table], 1, {}, [])
    assert "    pid\\n$(reboot) int   <--" in lines
    assert all("\n" not in line for line in lines)


@pytest.mark.unit
@pytest.mark.parametrize(("db_type", "expected"), [
    ("mysql", ["CREATE USER 'nagios'@'localhost' IDENTIFIED BY '...';",
               "GRANT SELECT ON os4x.os4x_daemon_state TO 'nagios'@'localhost';",
               "GRANT SELECT ON os4x.os4x_configuration TO 'nagios'@'localhost';"]),
    ("postgresql", ["CREATE ROLE nagios LOGIN PASSWORD '...';",
                    "GRANT CONNECT ON DATABASE os4x TO nagios;",
                    "GRANT USAGE ON SCHEMA public TO nagios;",
                    "GRANT SELECT ON os4x_daemon_state TO nagios;",
                    "GRANT SELECT ON os4x_configuration TO nagios;"]),
])
def test_discover_prints_the_grants_of_a_monitoring_user(db_type, expected):
    table = db_discover.Table("os4x_daemon_state", [("daemon", "varchar"), ("pid", "int")])
    lines = db_discover.report(Settings(db_type=db_type, db_user="root"), [table], 1, {}, [])
    start = lines.index("a monitoring user that can read only these tables (as the "
                        "database's admin):")
    assert lines[start + 1:] == [f"  {line}" for line in expected]
