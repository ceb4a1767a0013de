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
@pytest.mark.parametrize(("db_type", "host", "expected"), [
    ("mysql", "localhost",
     ["CREATE USER 'nagios'@'localhost' IDENTIFIED BY '...';",
      "GRANT SELECT ON os4x.os4x_daemon_state TO 'nagios'@'localhost';",
      "GRANT SELECT ON os4x.os4x_configuration TO 'nagios'@'localhost';"]),
    ("mysql", "127.0.0.1",  # over TCP to a server with skip_name_resolve
     ["CREATE USER 'nagios'@'127.0.0.1' IDENTIFIED BY '...';",
      "GRANT SELECT ON os4x.os4x_daemon_state TO 'nagios'@'127.0.0.1';",
      "GRANT SELECT ON os4x.os4x_configuration TO 'nagios'@'127.0.0.1';"]),
    ("postgresql", "localhost",
     ["CREATE ROLE nagios LOGIN PASSWORD '...';",
      "GRANT CONNECT ON DATABASE os4x TO nagios;",
      "\\c os4x",
      "GRANT USAGE ON SCHEMA public TO nagios;",
      "GRANT SELECT ON os4x_daemon_state TO nagios;",
      "GRANT SELECT ON os4x_configuration TO nagios;"]),
])
def test_discover_prints_the_grants_of_a_monitoring_user(db_type, host, expected):
    table = db_discover.Table("os4x_daemon_state", [("daemon", "varchar"), ("pid", "int")])
    lines = db_discover.report(Settings(db_type=db_type, db_user="root"), [table], 1, {}, [],
                               host=host)
    start = next(index for index, line in enumerate(lines)
                 if line.startswith("a monitoring user that can read only these tables"))
    assert lines[start + 1:] == [f"  {line}" for line in expected]
    if db_type == "mysql":
        assert f"connecting from {host} as this run did" in lines[start]


@pytest.mark.unit
@pytest.mark.parametrize(("user_function", "host"), [
    ("root@localhost", "localhost"), ("nagios@127.0.0.1", "127.0.0.1"),
    ("nagios@monitor.example.com", "monitor.example.com"), ("odd@name@::1", "::1"),
    (None, "localhost"), ("", "localhost"), ("x@bad\nhost", "localhost")])
def test_the_grant_names_the_host_the_server_saw(user_function, host):
    assert db_discover.client_host(user_function) == host
