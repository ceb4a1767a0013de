"""The admin's SQL is one read-only statement, checked before it reaches any server.

A read-only transaction is not enough on its own: MariaDB runs DDL (``DROP``, ``TRUNCATE``,
``CREATE``) inside one, committing implicitly, and psycopg2 sends several statements in one call
(``ROLLBACK; START TRANSACTION READ WRITE; ...``). So a query option takes one ``SELECT`` or
``WITH ... SELECT``: no second statement, no ``SELECT ... INTO``, no locking clause, no
data-modifying CTE. The read-only transaction stays as the second wall, the monitoring user's
``GRANT SELECT`` as the third.

Where a statement ends depends on the SQL dialect: MySQL escapes quotes with backslashes (unless
``NO_BACKSLASH_ESCAPES``), reads ``"..."`` as a string (unless ``ANSI_QUOTES``), ``#`` and
``--`` followed by a blank or control character (DEL too) as comments, ends them at a line feed
only, and runs ``/*! ... */``; PostgreSQL nests ``/* */``, reads every ``--`` as a comment up to a
line feed or a carriage return, has ``$tag$...$tag$`` and ``E'...'``, and reads ``'\'`` as an
escaped quote where ``standard_conforming_strings`` is off (a per-database or per-role setting).
Each of these was measured character by character (U+0000 to U+00FF) against the real servers
(``tests/test_sqlguard_servers.py``). The text is therefore scanned once per dialect, and must be
safe in every one of them: a trick that hides a ``;`` from one reading is seen by another.
Pure: no I/O, no driver.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Tuple

    Token = Tuple[str, str]  # (kind, text): word, punct, quoted


MAX_LENGTH = 20000
"""Characters of SQL at most: a query of a handful of daemons is short."""

FORBIDDEN_WORDS = {
    "INTO": "SELECT ... INTO writes a table, file or variable",
    "DELETE": "a data-modifying statement",
    "UPDATE": "a data-modifying statement or a row lock",
    "INSERT": "a data-modifying statement",
    "MERGE": "a data-modifying statement",
    "LOCK": "a row lock",
    "TRUNCATE": "a data-modifying statement",
    "DROP": "a schema change",
    "CREATE": "a schema change",
    "ALTER": "a schema change",
    "RENAME": "a schema change",
    "GRANT": "a privilege change",
    "REVOKE": "a privilege change",
    "CALL": "a procedure call",
    "COPY": "a data transfer",
    "LOAD": "a data transfer",
    "HANDLER": "a low-level table access",
    "OUTFILE": "a file write",
    "DUMPFILE": "a file write",
}
LOCKING_AFTER_FOR = {"UPDATE", "SHARE", "NO", "KEY"}  # FOR UPDATE, FOR [NO] KEY ..., FOR SHARE

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_DIGITS = "0123456789"


def word_class(ascii_allowed: str) -> str:
    """The regex class of these ASCII characters and of every character beyond ASCII (the
    identifier characters of both servers), written as the ASCII characters it leaves out:
    the same set as ``[...\\u0080-\\U0010ffff]``, which takes a millisecond or two to compile,
    on every run that checks a query."""
    return "[^" + "".join(f"\\x{code:02x}" for code in range(128)
                          if chr(code) not in ascii_allowed) + "]"


_WORD_MYSQL = re.compile(word_class(_LETTERS + _DIGITS + "$") + "+")
_WORD_PG = re.compile(word_class(_LETTERS) + word_class(_LETTERS + _DIGITS + "$") + "*|[0-9]+")
_DOLLAR = re.compile(r"\$(" + word_class(_LETTERS) + word_class(_LETTERS + _DIGITS) + r"*)?\$")


class _Dialect:
    """How one SQL reading splits text into strings, comments and the rest."""

    def __init__(self, name: str, *, backslash: bool, double_quote_is_string: bool,
                 postgres: bool) -> None:
        self.name = name
        self.backslash = backslash  # '\'' escapes a quote inside '...' (and "..." strings)
        self.double_quote_is_string = double_quote_is_string
        self.postgres = postgres  # nested comments, every --, $$, E'', no #, no /*!


DIALECTS = (
    _Dialect("MySQL", backslash=True, double_quote_is_string=True, postgres=False),
    _Dialect("MySQL (ANSI_QUOTES)", backslash=True, double_quote_is_string=False,
             postgres=False),
    _Dialect("MySQL (NO_BACKSLASH_ESCAPES)", backslash=False, double_quote_is_string=True,
             postgres=False),
    _Dialect("MySQL (ANSI)", backslash=False, double_quote_is_string=False, postgres=False),
    _Dialect("PostgreSQL", backslash=False, double_quote_is_string=False, postgres=True),
    _Dialect("PostgreSQL (standard_conforming_strings off)", backslash=True,
             double_quote_is_string=False, postgres=True),
)
MYSQL_COMMENT_AFTER_DASHES = frozenset(chr(code) for code in range(1, 33)) | {"\x7f"}
"""What makes ``--`` a comment for MariaDB/MySQL (its lexer: ``my_isspace || my_iscntrl``):
blanks, control characters and DEL; measured on the real server, U+0080 and above are not."""
LINE_ENDS = {True: "\n\r", False: "\n"}
"""What ends a line comment: PostgreSQL's lexer stops at \n or \r, MySQL's at \n only."""


class _Refused(ValueError):
    pass


def _quoted_end(sql: str, start: int, quote: str, backslash: bool) -> int:
    """Index after the closing quote of the literal or identifier opened at start."""
    index = start + 1
    while index < len(sql):
        char = sql[index]
        if backslash and char == "\\":
            index += 2
            continue
        if char == quote:
            if sql.startswith(quote, index + 1):  # doubled: an escaped quote
                index += 2
                continue
            return index + 1
        index += 1
    raise _Refused(f"a {quote} quote that is never closed")


def _comment_end(sql: str, start: int, nested: bool) -> int:
    """Index after the */ that closes the comment opened at start (PostgreSQL nests them)."""
    depth, index = 1, start + 2
    while index < len(sql):
        if nested and sql.startswith("/*", index):
            depth, index = depth + 1, index + 2
        elif sql.startswith("*/", index):
            depth, index = depth - 1, index + 2
            if depth == 0:
                return index
        else:
            index += 1
    raise _Refused("a /* comment that is never closed")


def _line_comment(sql: str, index: int, dialect: _Dialect) -> bool:
    """A comment to the end of the line starts here: every -- in PostgreSQL; in MySQL a --
    followed by a blank, a control character or DEL (1--1 is arithmetic), and #."""
    if not dialect.postgres and sql.startswith("#", index):
        return True
    if not sql.startswith("--", index):
        return False
    return dialect.postgres or index + 2 == len(sql) \
        or sql[index + 2] in MYSQL_COMMENT_AFTER_DASHES


def _line_end(sql: str, index: int, dialect: _Dialect) -> int:
    """Index after the character that ends the line comment starting at index."""
    ends = [found for found in (sql.find(char, index) for char in LINE_ENDS[dialect.postgres])
            if found >= 0]
    return min(ends) + 1 if ends else len(sql)


def _tokens(sql: str, dialect: _Dialect) -> list[Token]:
    """The words, punctuation and quoted items of sql as one dialect reads it; comments and
    blanks dropped."""
    tokens: list[Token] = []
    index, length = 0, len(sql)
    word = _WORD_PG if dialect.postgres else _WORD_MYSQL
    while index < length:
        char = sql[index]
        if char.isspace():
            index += 1
        elif sql.startswith("/*", index):
            if not dialect.postgres and (sql.startswith("/*!", index)
                                         or sql.startswith("/*M!", index)):
                raise _Refused("an executable /*! ... */ comment")
            index = _comment_end(sql, index, dialect.postgres)
        elif _line_comment(sql, index, dialect):
            index = _line_end(sql, index, dialect)
        elif char == "'":
            index = _quoted_end(sql, index, "'", dialect.backslash)
            tokens.append(("quoted", "'"))
        elif char == '"':
            string = dialect.double_quote_is_string
            index = _quoted_end(sql, index, '"', dialect.backslash and string)
            tokens.append(("quoted", '"'))
        elif char == "`" and not dialect.postgres:
            index = _quoted_end(sql, index, "`", False)
            tokens.append(("quoted", "`"))
        elif dialect.postgres and char in "eE" and sql.startswith("'", index + 1):
            index = _quoted_end(sql, index + 1, "'", True)
            tokens.append(("quoted", "E'"))
        elif dialect.postgres and char == "$" and _DOLLAR.match(sql, index):
            tag = _DOLLAR.match(sql, index).group(0)  # type: ignore[union-attr]
            end = sql.find(tag, index + len(tag))
            if end < 0:
                raise _Refused(f"a {tag} quote that is never closed")
            index = end + len(tag)
            tokens.append(("quoted", tag))
        else:
            found = word.match(sql, index)
            if found:
                tokens.append(("word", found.group(0).upper()))
                index = found.end()
            else:
                tokens.append(("punct", char))
                index += 1
    return tokens


def _judge(tokens: list[Token]) -> None:
    """Raises _Refused unless the tokens are one SELECT or WITH ... SELECT that only reads."""
    if any(token == ("punct", ";") for token in tokens):
        raise _Refused("a ; inside (only one statement is allowed)")
    first = next((token for token in tokens if token != ("punct", "(")), None)
    if first is None:
        raise _Refused("the query is empty")
    if first[0] != "word" or first[1] not in ("SELECT", "WITH"):
        shown = first[1] if first[0] != "quoted" else "a quoted name"
        raise _Refused(f"it starts with {shown[:30]}")
    for position, (kind, text) in enumerate(tokens):
        if kind != "word":
            continue
        reason = FORBIDDEN_WORDS.get(text)
        if reason:
            raise _Refused(f"{text} is not allowed ({reason})")
        if text == "FOR" and position + 1 < len(tokens) \
                and tokens[position + 1][0] == "word" \
                and tokens[position + 1][1] in LOCKING_AFTER_FOR:
            raise _Refused(f"FOR {tokens[position + 1][1]} is not allowed (a row lock)")


def check_read_only(sql: str, option_name: str) -> str:
    """The query, if it is one read-only SELECT or WITH ... SELECT in every SQL dialect;
    a single trailing ``;`` is taken off. Raises ValueError naming option_name and the reason.

    Reusable by every option that carries SQL (``--pid-query``, ``--queue-query``).
    """
    try:
        if "\0" in sql:
            raise _Refused("a NUL character inside")
        if len(sql) > MAX_LENGTH:
            raise _Refused(f"longer than {MAX_LENGTH} characters")
        text = sql.strip()
        if text.endswith(";"):
            text = text[:-1].rstrip()
        for dialect in DIALECTS:
            try:
                _judge(_tokens(text, dialect))
            except _Refused as error:
                if dialect is DIALECTS[0]:
                    raise
                raise _Refused(f"{error} (as {dialect.name} reads it)") from None
    except _Refused as error:
        raise ValueError(f"{option_name} must be one read-only SELECT or WITH ... SELECT: "
                         f"{error}") from None
    return text
