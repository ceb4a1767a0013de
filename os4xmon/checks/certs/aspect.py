"""The certificate check's I/O: the files, OS4X's certificate directory and the rows of
``--cert-query``, read within ``-t`` and judged by :mod:`os4xmon.checks.certs.verdicts`.

Reading and parsing is ``wire.certfiles`` (size limits, private keys skipped unread,
``cryptography`` imported only when this check runs); the query goes through the one guarded,
read-only, deadline-bound read of ``db.rowquery``, imported only when ``--cert-query`` is set.
"""

from __future__ import annotations

from datetime import datetime, timezone

import nagiosplugin
from nagiosplugin.state import Unknown

from os4xmon.checks.base import Aspect, query_setup_problem
from os4xmon.checks.certs.verdicts import (
    Limits,
    Verdict,
    file_problem,
    judge,
)
from os4xmon.core import execution
from os4xmon.core.findings import STATES_BY_NAME, Finding, finding_metrics, headline, perfdata
from os4xmon.core.settings import DEFAULT_CERT_DIR, Settings
from os4xmon.core.text import plural, printable
from os4xmon.facts.host import Host
from os4xmon.wire import certfiles
from os4xmon.wire.certfiles import (
    Certificate,
    Crl,
    FileProblem,
    Parsed,
    directory_files,
    expand,
    read_file,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Iterator, Sequence


class Certs(Aspect):
    """OS4X's certificates and CRLs, read from files, its directory and its database."""

    name = "certs"

    def __init__(self, settings: Settings, host: Host,
                 now: datetime | None = None) -> None:
        self.settings = settings
        self.host = host
        self.now = now
        self.details: list[str] = []
        self.debug_details: list[str] = []
        self.read = 0  # sources read (files, the query): none, and nothing was measured

    def measure(self) -> Iterator[nagiosplugin.Metric]:
        try:
            certfiles.library()
        except certfiles.MissingLibrary as missing:
            yield from finding_metrics(self.name, [Finding(Unknown, str(missing))])
            yield from self._perfdata(None)
            return
        certificates: list[Certificate] = []
        crls: list[Crl] = []
        problems: list[Finding] = []
        for parsed in self._files(problems):
            certificates.extend(parsed.certificates)
            crls.extend(parsed.crls)
        if self.settings.cert_query:
            self._rows(certificates, problems)
        crls = certfiles.check_signatures(crls, certificates)  # with every source's certificates
        now = self.now or datetime.now(timezone.utc)
        if not certificates and not crls and not problems:  # a query of no rows, say
            problems.append(Finding(Unknown, "certificates: none found in " + ", ".join(
                self._described()), "check that the sources hold OS4X's certificates: "
                "--cert-query's rows, the files and directory given"))
        verdict = judge(certificates, crls, problems, now, Limits.from_settings(self.settings))
        self.details[:0] = verdict.lines
        yield from finding_metrics(self.name, verdict.findings)
        yield from self._perfdata(verdict if self.read else None)
        earliest = f", the first expires in {verdict.min_days:.0f} days" \
            if verdict.min_days is not None else ""
        yield headline(self.name, f"{plural(verdict.certificates, 'certificate')}{earliest}, "
                       f"{plural(verdict.crls, 'CRL')}")

    def _described(self) -> list[str]:
        settings = self.settings
        return [*(f"--cert-file {printable(path, 60)}" for path in settings.cert_file),
                *(f"--crl-file {printable(path, 60)}" for path in settings.crl_file),
                *(["--cert-query"] if settings.cert_query else []),
                *([f"--cert-dir {printable(settings.cert_dir, 60)}"] if settings.cert_dir
                  else [])] or [DEFAULT_CERT_DIR]

    def _sources(self) -> list[tuple[str, str, str]]:
        """(option, pattern, kind wanted) of every --cert-file and --crl-file."""
        settings = self.settings
        sources = [("--cert-file", pattern, "certificate") for pattern in settings.cert_file]
        sources += [("--crl-file", pattern, "crl") for pattern in settings.crl_file]
        return sources

    def _paths(self, problems: list[Finding]) -> list[tuple[str, str, str]]:
        """(option, path, kind wanted) of every file to read; globs expanded."""
        settings = self.settings
        paths: list[tuple[str, str, str]] = []
        for option, pattern, want in self._sources():
            found = expand(pattern)
            if not found:
                problems.append(Finding(Unknown, f"{option} {printable(pattern, 120)} matches "
                                        "no file", f"fix the pattern of {option}, or put the "
                                        "files where it looks"))
            paths.extend((option, path, want) for path in found)
        directory = settings.cert_dir
        if directory is None and not paths and not settings.cert_query and not problems:
            directory = DEFAULT_CERT_DIR
        if directory is not None:
            try:
                listed = directory_files(directory)
            except OSError as error:
                problems.append(Finding(Unknown, f"--cert-dir {printable(directory, 120)}: "
                                        f"cannot list it: {error.strerror or error}",
                                        "give --cert-dir the directory that holds OS4X's "
                                        "certificates, readable by the plugin's user"))
                listed = None
            if listed == []:
                problems.append(Finding(Unknown, f"--cert-dir {printable(directory, 120)} holds "
                                        "no *.pem, *.crt, *.cer, *.der or *.crl file",
                                        "give --cert-dir the directory that holds OS4X's "
                                        "certificates"))
            paths.extend(("--cert-dir", path, "certificate") for path in listed or ())
        return paths

    def _files(self, problems: list[Finding]) -> Iterator[Parsed]:
        paths = once(self._paths(problems))
        keys = 0
        for index, (option, path, want) in enumerate(paths):
            if execution.timed_out():
                problems.append(Finding(Unknown, f"certificates: {len(paths) - index} of "
                                        f"{plural(len(paths), 'file')} not read within -t",
                                        "give the check more time (-t) or fewer files"))
                break
            try:
                parsed = read_file(path, want)
            except FileProblem as problem:
                problems.append(file_problem(path, str(problem), option))
                continue
            keys += parsed.keys
            self.read += 1
            self.details.extend(parsed.notes)
            shown = printable(path, 120)
            if parsed.problems:  # one line per file, however many blocks are broken
                more = len(parsed.problems) - 1
                problems.append(file_problem(path, f": {parsed.problems[0]}" + (
                    f" (and {plural(more, 'more block')})" if more else ""), option))
            if not parsed.certificates and not parsed.crls and not parsed.problems:
                if not parsed.keys:
                    problems.append(file_problem(path, "holds no certificate or CRL", option))
                elif option != "--cert-dir":  # a key beside the certificates is no problem
                    problems.append(file_problem(path, "holds only a private key", option))
            elif option == "--crl-file" and not parsed.crls and not parsed.problems:
                problems.append(file_problem(path, "holds no CRL", option))
            elif option == "--cert-file" and not parsed.certificates and not parsed.problems:
                problems.append(file_problem(path, "holds no certificate", option))
            self.debug_details.append(f"{shown}: {plural(len(parsed.certificates), 'certificate')}"
                                      f", {plural(len(parsed.crls), 'CRL')}")
            yield parsed
        if keys:
            self.details.append(f"certificates: {plural(keys, 'private key')} skipped unread")

    def _rows(self, certificates: list[Certificate], problems: list[Finding]) -> None:
        """The partner certificates of --cert-query, into certificates (problems: why not).
        A read cut short keeps what came: an expired certificate found stays CRITICAL."""
        # the database drivers only with --cert-query
        from os4xmon.checks.certs.rows import CertRows
        from os4xmon.db.access import error_advice
        from os4xmon.db.drivers import DatabaseError, scrub
        from os4xmon.db.rowquery import StreamedQuery

        settings = self.settings
        unusable = query_setup_problem(settings, settings.cert_query, "--cert-query", "",
                                       "give --db-type and the --db-* options OS4X's database "
                                       "needs")
        if unusable is not None:
            problems.append(unusable)
            return
        rows = CertRows()
        read = StreamedQuery(settings, settings.cert_query or "", "--cert-query",
                             "the partner certificates")
        failure: DatabaseError | None = None
        try:
            read.run(budget(settings), rows.columns)
        except DatabaseError as error:
            failure = error
        certificates.extend(rows.certificates)
        problems.extend(rows.findings())
        self.details.extend(rows.details())
        if failure is not None:
            state = STATES_BY_NAME[settings.db_error_state]
            after = f"; after {plural(rows.rows, 'row')}, judged above" if rows.rows else ""
            problems.append(Finding(state, scrub(f"certificates: {failure}{after}",
                                                 settings.db_password),
                                    error_advice(failure.kind, "--cert-query")))
            if not rows.rows:
                return
        self.read += 1
        self.details.append(f"partner certificates read in {read.seconds or 0:.3f}s: "
                            f"{plural(rows.rows, 'row')}")

    def _perfdata(self, verdict: Verdict | None) -> Iterator[nagiosplugin.Metric]:
        """The same five labels on every run; U where nothing was measured."""
        yield perfdata("certs", verdict.certificates if verdict else None)
        yield perfdata("certs_expiring", verdict.expiring if verdict else None)
        min_days = verdict.min_days if verdict else None
        yield Limits.from_settings(self.settings).days.perfdata(
            "cert_min_days", None if min_days is None else round(min_days, 1), minimum=None)
        yield perfdata("crls", verdict.crls if verdict else None)
        hours = verdict.crl_min_hours if verdict else None
        yield perfdata("crl_min_hours", None if hours is None else round(hours, 1),
                       minimum=None)


def once(paths: Sequence[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Each file once, by its absolute path: one named by a glob and by the directory too is
    judged once (its certificate would else be counted, and alarm, twice)."""
    import os.path

    seen: set[str] = set()
    kept = []
    for item in paths:
        absolute = os.path.abspath(item[1])
        if absolute not in seen:
            seen.add(absolute)
            kept.append(item)
    return kept


def budget(settings: Settings) -> float:
    """Seconds the query may take: its share of what -t has left, half when the ports (which
    come later) still have to be probed."""
    share = execution.share(2 if "ports" in settings.selected_checks else 1)
    return max(share if share != float("inf") else settings.timeout, 0.05)


def build(settings: Settings, host: Host) -> list[nagiosplugin.Resource]:
    """The resource of the certificate check (its contexts are the shared ones)."""
    return [Certs(settings, host)]

