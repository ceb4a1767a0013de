"""os4xmon.checks.certs.rows: the rows of --cert-query parsed as they arrive, no row cap (pure)."""

from __future__ import annotations

import certtools as ct
import pytest

from os4xmon.checks.certs.rows import MAX_NOTES, MAX_ROW_PROBLEMS, CertRows
from os4xmon.db.drivers import DatabaseError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("width", [2, 4])
def test_rows_need_three_columns(width):
    with pytest.raises(DatabaseError, match="expected 3"):
        CertRows().columns(width)


def test_a_null_certificate_is_a_problem_of_its_row_only():
    rows = CertRows()
    add = rows.columns(3)
    add(("VW", "encryption", None))
    add(("BMW\n|x", "signing", ct.pem(ct.certificate("BMW OFTP2", 90))))
    assert [finding.message for finding in rows.findings()] == [
        "--cert-query: row 1 (partner VW): the certificate is NULL"]
    assert [(c.owner, c.role, c.common_name) for c in rows.certificates] == [
        ("BMW\\n!x", "signing", "BMW OFTP2")]
    assert rows.rows == 2


def test_pem_text_and_der_bytes_both_count():
    rows = CertRows()
    add = rows.columns(3)
    add(("A", "", ct.pem(ct.certificate("A", 10)).decode()))
    add(("B", "", ct.der(ct.certificate("B", 20))))
    assert [c.common_name for c in rows.certificates] == ["A", "B"]
    assert rows.findings() == []


def test_many_broken_rows_keep_a_few_and_count_the_rest():
    """20,000 rows: no cap turns them into one UNKNOWN 'too many rows'; every row is judged,
    and what is kept stays small."""
    rows = CertRows()
    add = rows.columns(3)
    good = ct.pem(ct.certificate("GOOD", 30))
    for number in range(20000):
        add((f"P{number}", "", None if number % 2 else good))
    assert rows.rows == 20000
    assert len(rows.certificates) == 10000
    findings = rows.findings()
    assert len(findings) == MAX_ROW_PROBLEMS + 1
    assert findings[-1].message == (f"--cert-query: {10000 - MAX_ROW_PROBLEMS} more problems "
                                    "in its rows")


def test_notes_are_kept_up_to_a_limit_and_counted():
    rows = CertRows()
    add = rows.columns(3)
    for number in range(MAX_NOTES):
        add((f"P{number}", "", ct.key_pem() + ct.pem(ct.certificate("X", 30))))
    assert len(rows.details()) == MAX_NOTES  # all kept: nothing counted
    for number in range(5):
        add((f"Q{number}", "", ct.key_pem() + ct.pem(ct.certificate("X", 30))))
    details = rows.details()
    assert len(details) == MAX_NOTES + 1
    assert details[-1] == "--cert-query: 5 more notes"


# -- a read cut short by -t keeps what it found --


def run_certs(capsys, monkeypatch, rows, failure):
    """The certificate check over rows that a read hands over before failure (or None)."""
    from os4xmon.cli import read_settings as options
    from os4xmon.cli.assemble import build_check
    from os4xmon.core import execution
    from os4xmon.db import rowquery
    from os4xmon.facts.host import Host

    def run(self, seconds, begin):
        add = begin(3)
        for row in rows:
            add(row)
        self.seconds = 0.5
        if failure is not None:
            raise failure

    monkeypatch.setattr(rowquery.StreamedQuery, "run", run)
    settings_ = options.parse(["--checks", "certs", "--db-type", "mysql", "--cert-query",
                               "SELECT a, b, c FROM t", "-v"], environ={})
    with pytest.raises(SystemExit) as ended:
        execution.execute(build_check(settings_, Host()), 30, settings_.verbose)
    return ended.value.code, capsys.readouterr().out


def test_a_read_cut_short_keeps_its_critical_and_says_how_far_it_got(capsys, monkeypatch):
    from os4xmon.db.drivers import SILENT

    rows = [("VW", "tls", ct.pem(ct.certificate("VW OFTP2", -2)))] + [("OK", "tls", None)] * 99
    code, output = run_certs(capsys, monkeypatch, rows, DatabaseError(
        SILENT, "no answer within 4s while reading the rows"))
    assert code == 2, output
    assert output.startswith("OS4X CRITICAL - partner VW tls certificate CN=VW OFTP2 expired")
    assert "certificates: database silent: no answer within 4s while reading the rows; after " \
        "100 rows, judged above" in output


def test_a_failure_before_any_row_is_the_failure_alone(capsys, monkeypatch):
    from os4xmon.db.drivers import SILENT

    code, output = run_certs(capsys, monkeypatch, [], DatabaseError(
        SILENT, "no answer within 4s while running the query"))
    assert code == 3, output
    assert "after" not in output and "certs=U" in output.splitlines()[0]
