"""The rows of ``--cert-query`` folded as they arrive: each row parsed at once and let go.

A table of partner certificates may hold thousands of rows; like the send queue's, they are
judged as they stream in (``db.rowquery``), with no row cap: what is kept is the certificates
(a few small records per partner, never their bytes) and the first few rows that break the
contract, the rest of those counted. Pure: bytes in, records and findings out.
"""

from __future__ import annotations

from nagiosplugin.state import Unknown

from os4xmon.checks.certs.verdicts import ROW_ADVICE
from os4xmon.core.findings import Finding
from os4xmon.core.text import database_text, plural, printable
from os4xmon.db.drivers import BAD_RESULT, DatabaseError
from os4xmon.wire.certfiles import Certificate, parse, value_bytes, wipe

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, Sequence

MAX_ROW_PROBLEMS = 3
"""Problems of rows shown one by one (as the send queue keeps three); the rest are counted in
one more line, which the judge's cap on findings then still shows."""
MAX_NOTES = 100
"""Notes for -v (a private key skipped, say) kept; the rest are counted."""


class CertRows:
    """Certificates of the query's rows (owner, role, certificate as PEM text or DER bytes)."""

    def __init__(self) -> None:
        self.rows = 0
        self.certificates: list[Certificate] = []
        self.notes: list[str] = []
        self.note_count = 0
        self.problems: list[Finding] = []
        self.problem_count = 0

    def columns(self, width: int) -> Callable[[Sequence[Any]], None]:
        """Takes the number of columns before any row (3, else DatabaseError); returns what
        each row is given (StreamedQuery's begin)."""
        if width != 3:
            raise DatabaseError(BAD_RESULT, f"--cert-query returns {plural(width, 'column')}, "
                                "expected 3 (owner, role, certificate)")
        return self.add

    def add(self, row: Sequence[Any]) -> None:
        self.rows += 1
        number = self.rows
        owner = printable(database_text(row[0]).strip(), 40) or "(no owner)"
        role = printable(database_text(row[1]).strip(), 40)
        if row[2] is None:
            self._problem(f"--cert-query: row {number} (partner {owner}): the certificate is "
                          "NULL")
            return
        where = f"--cert-query row {number} (partner {owner} {role})".replace(" )", ")")
        try:
            data = value_bytes(row[2])
        except ValueError as error:
            self._problem(f"{where}: {error}")
            return
        try:
            parsed = parse(data, f"partner {owner} {role}".rstrip(), owner, role)
        finally:
            wipe(data)
        self.note_count += len(parsed.notes)
        self.notes.extend(parsed.notes[:MAX_NOTES - len(self.notes)])
        for problem in parsed.problems:
            self._problem(f"{where}: {problem}")
        if not parsed.certificates and not parsed.problems:
            self._problem(f"{where} holds no certificate")
        self.certificates.extend(parsed.certificates)

    def _problem(self, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_ROW_PROBLEMS:
            self.problems.append(Finding(Unknown, message, ROW_ADVICE))

    def findings(self) -> list[Finding]:
        """The problems of rows: the first few one by one, the others in one more line."""
        more = self.problem_count - len(self.problems)
        if more <= 0:
            return list(self.problems)
        return [*self.problems, Finding(Unknown, f"--cert-query: {plural(more, 'more problem')}"
                                        " in its rows", ROW_ADVICE)]

    def details(self) -> list[str]:
        """The notes for -v, the ones not kept counted."""
        more = self.note_count - len(self.notes)
        return self.notes + ([f"--cert-query: {plural(more, 'more note')}"] if more > 0 else [])
