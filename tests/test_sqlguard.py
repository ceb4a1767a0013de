"""os4xmon.db.sqlguard: a query option is one read-only statement in every SQL dialect (pure)."""

from __future__ import annotations

import pytest

from os4xmon.cli import read_settings as options
from os4xmon.db.sqlguard import check_read_only

pytestmark = pytest.mark.unit

ACCEPTED = [
    ("SELECT daemon, pid FROM {prefix}daemon_state", None),
    ("SELECT daemon, pid FROM {prefix}t;", "SELECT daemon, pid FROM {prefix}t"),
    ("  select daemon, pid from t ;  \n", "select daemon, pid from t"),
    ("WITH d AS (SELECT name, pid FROM t) SELECT name, pid FROM d", None),
    ("WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) "
     "SELECT 'os4xrd', i FROM n", None),
    ("(SELECT a, b FROM t)", None),
    ("SELECT 'a;b', \"x;y\" FROM t -- a comment; with a semicolon", None),
    ("SELECT a /* ; */, b FROM t", None),
    ("SELECT SUBSTRING(name FROM 1 FOR 3), pid FROM t", None),
    ("SELECT REPLACE(name, 'x', ''), pid FROM t", None),
    ("SELECT `name`, pid FROM t", None),
    ("SELECT 'it''s', pid FROM t", None),
    ("SELECT \"update\", pid FROM t", None),  # quoted in every dialect: a name or a string
    ("SELECT name, pid FROM t WHERE updated_at > 0 AND into_x = 1", None),
    ("SELECT a, b FROM t --\u00e9 comment? no: arithmetic", None),  # both read no ; here
]


@pytest.mark.parametrize(("sql", "expected"), ACCEPTED)
def test_one_select_is_accepted(sql, expected):
    assert check_read_only(sql, "--pid-query") == (expected or sql)


REFUSED = [
    ("DROP TABLE os4x_daemon_state", "starts with DROP"),
    ("TRUNCATE TABLE os4x_daemon_state", "starts with TRUNCATE"),
    ("CREATE TABLE x (a INT)", "starts with CREATE"),
    ("DELETE FROM t", "starts with DELETE"),
    ("ROLLBACK; START TRANSACTION READ WRITE; DELETE FROM t", "a ; inside"),
    ("ROLLBACK", "starts with ROLLBACK"),
    ("SELECT 1; DROP TABLE t", "a ; inside"),
    ("SELECT 1;;", "a ; inside"),
    ("WITH x AS (DELETE FROM t RETURNING daemon, pid) SELECT * FROM x", "DELETE"),
    ("WITH x AS (UPDATE t SET pid = 0 RETURNING daemon, pid) SELECT * FROM x", "UPDATE"),
    ("WITH x AS (INSERT INTO t VALUES ('a', 1) RETURNING *) SELECT * FROM x", "INSERT"),
    ("SELECT daemon, pid INTO copy FROM t", "INTO"),
    ("SELECT daemon, pid FROM t INTO OUTFILE '/tmp/x'", "INTO"),
    ("SELECT daemon, pid FROM t FOR UPDATE", "FOR UPDATE"),
    ("SELECT daemon, pid FROM t FOR NO KEY UPDATE", "FOR NO"),
    ("SELECT daemon, pid FROM t FOR SHARE", "FOR SHARE"),
    ("SELECT daemon, pid FROM t LOCK IN SHARE MODE", "LOCK"),
    ("EXPLAIN ANALYZE DELETE FROM t", "starts with EXPLAIN"),
    ("", "empty"),
    ("  ;  ", "empty"),
    ("SELECT 1\0", "NUL"),
    ("SELECT 'unclosed", "never closed"),
    ("SELECT 1 /* unclosed", "never closed"),
    ("SELECT 1 /*! ; DROP TABLE t */", "executable"),
    ("SELECT 1 /*M!100000 INTO OUTFILE '/tmp/x' */", "executable"),
    # a ; hidden from one dialect is seen by another
    ("SELECT 1--1; DROP TABLE t", "a ; inside"),  # MySQL: 1 - -1, then a second statement
    ("SELECT 1 # ; DROP TABLE t", "a ; inside"),  # PostgreSQL: # is an operator
    ("SELECT '\\'; DROP TABLE t; -- '", "a ; inside"),  # standard strings: '\' ends
    ("SELECT E'\\'; DROP TABLE t; -- '", "a ; inside"),  # MySQL: E then '\'...
    ("SELECT \"\\\"; DROP TABLE t; -- \"", "a ; inside"),  # ANSI_QUOTES: "\" is a name
    ("SELECT 1 /* /* */ ; DROP TABLE t */", "a ; inside"),  # MySQL does not nest comments
    ("SELECT $$;$$", "a ; inside"),  # MySQL: $$ is a name
    ("SELECT $x$ ; DROP TABLE t", "a ; inside"),
    ("SELECT `x` FROM t WHERE `;`; DROP TABLE t", "a ; inside"),
    # MariaDB reads --DEL as a comment, and PostgreSQL ends a -- comment at a carriage return
    ("SELECT 1 --\x7f '\n/* /* */ INTO OUTFILE '/tmp/x' -- ' */", "INTO is not allowed"),
    ("SELECT 1 --\x1f '\n/* /* */ INTO OUTFILE '/tmp/x' -- ' */", "INTO is not allowed"),
    ("SELECT 1 -- x\r; DROP TABLE t", "a ; inside (only one statement is allowed) "
     "(as PostgreSQL reads it)"),
    # standard_conforming_strings off: '\' , ' is one string, and # an operator
    ("SELECT a FROM t WHERE '\\' , ' <> 'x' OR 1 # '1\n' = 0) AS q; DELETE FROM t; "
     "SELECT * FROM (SELECT 1 -- '", "(as PostgreSQL (standard_conforming_strings off) reads it)"),
]


@pytest.mark.parametrize(("sql", "reason"), REFUSED)
def test_everything_else_is_refused_with_the_reason(sql, reason):
    with pytest.raises(ValueError, match="read-only SELECT") as caught:
        check_read_only(sql, "--pid-query")
    assert reason in str(caught.value)
    assert str(caught.value).startswith("--pid-query must be one read-only SELECT")


def test_the_option_refuses_before_anything_runs():
    with pytest.raises(options.UsageError, match="--pid-query: the query must be one read-only"):
        options.parse(["--db-type", "mysql", "--pid-query", "DROP TABLE os4x_daemon_state"])


def test_the_config_file_is_checked_the_same_way(tmp_path):
    config = tmp_path / "check.ini"
    config.write_text("[check_os4x]\npid-query = SELECT 1; DROP TABLE t\n")
    with pytest.raises(options.UsageError, match="pid-query: the query must be one read-only"):
        options.parse(["--config", str(config)])


def test_a_trailing_semicolon_is_taken_off_for_the_server():
    settings = options.parse(["--pid-query", "SELECT daemon, pid FROM {prefix}t ; "])
    assert settings.pid_query == "SELECT daemon, pid FROM {prefix}t"


CODE_POINTS = [*range(0x800), 0xD7FF, 0xD800, 0xDFFF, 0xE000, 0xFEFF, 0xFFFF, 0x10000,
               0x1F600, 0x10FFFF]


@pytest.mark.parametrize("allowed", ["ABCxyz_", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "abcdefghijklmnopqrstuvwxyz_0123456789$"])
def test_a_word_class_is_its_ascii_characters_and_everything_beyond_ascii(allowed):
    import re

    from os4xmon.db.sqlguard import word_class

    pattern = re.compile(word_class(allowed))
    for code in CODE_POINTS:
        expected = code >= 0x80 or chr(code) in allowed
        assert bool(pattern.fullmatch(chr(code))) == expected, hex(code)
