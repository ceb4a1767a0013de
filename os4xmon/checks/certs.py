"""The certificate check: every certificate OS4X depends on, and its CRLs, before they expire.

When a partner's certificate expires its files stop; when a CRL passes its nextUpdate, TLS
sessions are refused. The sources are files (``--cert-file``, ``--crl-file``, globs), OS4X's
certificate directory (``--cert-dir``, default ``/opt/os4x/cert``) and the partner certificates
in OS4X's database (``--cert-query``: rows of owner, role, certificate). Reading and parsing is
``wire.certfiles`` (limits, private keys skipped, ``cryptography`` imported only here);
:func:`judge` decides every verdict from plain records and the time: pure.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import nagiosplugin
from nagiosplugin.state import Critical, Ok, Unknown, Warn

from os4xmon.checks.base import Aspect
from os4xmon.core import execution
from os4xmon.core.findings import (
    STATE_ORDER,
    STATES_BY_NAME,
    Finding,
    finding_metrics,
    headline,
    perfdata,
)
from os4xmon.core.record import dataclass, field
from os4xmon.core.settings import DEFAULT_CERT_DIR, Settings
from os4xmon.core.text import database_text, duration, plural, printable
from os4xmon.core.thresholds import Threshold
from os4xmon.facts.host import Host
from os4xmon.wire import certfiles
from os4xmon.wire.certfiles import (
    Certificate,
    Crl,
    FileProblem,
    Parsed,
    directory_files,
    expand,
    parse,
    read_file,
    value_bytes,
    wipe,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Iterator, Sequence


DAY = 86400.0
MAX_FINDINGS = 10
"""Findings listed one by one; the rest are counted in one more (the long output has all)."""
MAX_LINES = 500
"""Certificates and CRLs listed at -v, those closest to expiry first."""


# -- the verdicts: pure --


@dataclass(frozen=True)
class Limits:
    """Days left that warn and alarm, and the age a CRL may reach (None: not judged)."""

    warning_days: float = 30.0
    critical_days: float = 7.0
    crl_max_age: float | None = None  # seconds since thisUpdate

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.cert_warning, settings.cert_critical, settings.crl_max_age)

    @property
    def days(self) -> Threshold:
        """Days left: the verdict and cert_min_days' perfdata from the one pair."""
        return Threshold.below(self.warning_days, self.critical_days)


@dataclass
class Verdict:
    """What :func:`judge` decided, and the numbers for perfdata and the long output."""

    findings: list[Finding] = field(default_factory=list)
    certificates: int = 0
    expiring: int = 0  # within --cert-warning days, expired included
    min_days: float | None = None
    crls: int = 0
    crl_min_hours: float | None = None  # until the earliest nextUpdate
    lines: list[str] = field(default_factory=list)


def label(certificate: Certificate) -> str:
    """'partner ODETTE-VW encryption certificate CN=VW OFTP2', or '... in /path/file.pem'."""
    if certificate.owner is not None:
        role = f" {certificate.role}" if certificate.role else ""
        return f"partner {certificate.owner}{role} certificate {certificate.name}"
    return f"certificate {certificate.name} in {certificate.source}"


def day(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}"


def stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def days_left(certificate: Certificate, now: datetime) -> float:
    return (certificate.not_after - now).total_seconds() / DAY


def _in_days(days: float) -> str:
    if days >= 1:
        return f"in {plural(round(days), 'day')}"
    return f"in {duration(days * DAY)}"


RENEW = ("renew it in OS4X: make a new key and certificate request, have it signed, install it, "
         "and send it to every partner that uses it over OFTP (virtual file "
         "ODETTE_CERTIFICATE_DELIVER or _REPLACE), in time for them to install it")
PARTNER_RENEW = ("ask the partner for its new certificate; it arrives over OFTP "
                 "(ODETTE_CERTIFICATE_REPLACE or _DELIVER, or request it with "
                 "ODETTE_CERTIFICATE_REQUEST) or by upload in OS4X's partner settings")
CA_RENEW = ("a CA certificate comes with Odette's trust service list (TSL): update the trust "
            "list in OS4X, or install the CA's new certificate by hand")


def renewal_advice(certificate: Certificate) -> str:
    """How renewal works in OS4X for this kind of certificate."""
    if certificate.owner is not None:
        return PARTNER_RENEW
    if certificate.subject == certificate.issuer:  # self-signed: a root from the trust list
        return CA_RENEW
    return RENEW


def judge_certificate(certificate: Certificate, now: datetime, limits: Limits
                      ) -> Finding | None:
    """Expired or not yet valid: CRITICAL whatever the thresholds; else days left against
    --cert-warning/--cert-critical; None when it is fine."""
    days = days_left(certificate, now)
    what = label(certificate)
    if days < 0:
        return Finding(Critical, f"{what} expired {duration(-days * DAY)} ago "
                       f"({day(certificate.not_after)})",
                       f"{what} is no longer accepted: {renewal_advice(certificate)}")
    if certificate.not_before > now:
        return Finding(Critical, f"{what} not yet valid: from "
                       f"{stamp(certificate.not_before)}",
                       "a certificate that starts in the future is refused until then: check "
                       "this host's clock (and the issuer's), or install the certificate that "
                       "is valid now")
    state = limits.days.state(days)
    if state == Ok:
        return None
    return Finding(state, f"{what} expires {_in_days(days)} ({day(certificate.not_after)})",
                   f"{renewal_advice(certificate)}; it ends {stamp(certificate.not_after)}")


def judge_crl(crl: Crl, now: datetime, limits: Limits) -> Finding | None:
    """Past nextUpdate: CRITICAL; thisUpdate older than --crl-max-age: WARNING."""
    what = f"CRL of {crl.issuer} ({crl.source})"
    if crl.next_update is not None and crl.next_update < now:
        return Finding(Critical, f"{what} past its nextUpdate {stamp(crl.next_update)}: TLS "
                       "sessions will be refused",
                       "os4xsqd refreshes CRLs with an action: check that it runs, that this "
                       "host reaches the CRL's URL, and OS4X's CRL settings (automatic CRL "
                       "handling, how often CRL URLs are checked, whether a CRL that cannot be "
                       "fetched is ignored); or fetch it by hand from the CA or with "
                       "ODETTE_CRL_REQUEST")
    age = (now - crl.this_update).total_seconds()
    if limits.crl_max_age is not None and age > limits.crl_max_age:
        return Finding(Warn, f"{what} is {duration(age)} old (thisUpdate "
                       f"{stamp(crl.this_update)}, more than {duration(limits.crl_max_age)})",
                       "os4xsqd did not refresh it: check that its CRL action runs and reaches "
                       "the CRL's URL, and OS4X's maximum CRL age setting")
    return None


def judge_revoked(certificate: Certificate, crls: Sequence[Crl]) -> Finding | None:
    """CRITICAL when a CRL of the certificate's issuer lists its serial."""
    for crl in crls:
        if crl.issuer == certificate.issuer and certificate.serial in crl.revoked:
            when = crl.revoked[certificate.serial]
            what = label(certificate)
            return Finding(Critical, f"{what} revoked on {day(when)} (serial "
                           f"0x{certificate.serial:X}, {crl.source})",
                           f"a revoked certificate is refused: {renewal_advice(certificate)}")
    return None


def judge(certificates: Sequence[Certificate], crls: Sequence[Crl], problems: Sequence[Finding],
          now: datetime, limits: Limits) -> Verdict:
    """Every verdict of the aspect; worst first, closest to expiry first."""
    verdict = Verdict(certificates=len(certificates), crls=len(crls))
    ranked: list[tuple[int, float, Finding]] = []
    for certificate in certificates:
        days = days_left(certificate, now)
        verdict.min_days = days if verdict.min_days is None else min(verdict.min_days, days)
        if days < limits.warning_days:
            verdict.expiring += 1
        for finding in (judge_revoked(certificate, crls),
                        judge_certificate(certificate, now, limits)):
            if finding is not None:
                ranked.append((STATE_ORDER[finding.state], days, finding))
    for crl in crls:
        if crl.next_update is not None:
            hours = (crl.next_update - now).total_seconds() / 3600
            verdict.crl_min_hours = hours if verdict.crl_min_hours is None \
                else min(verdict.crl_min_hours, hours)
        finding = judge_crl(crl, now, limits)
        if finding is not None:
            ranked.append((STATE_ORDER[finding.state], -math.inf, finding))
    ranked.extend((STATE_ORDER[problem.state], math.inf, problem) for problem in problems)
    ranked.sort(key=lambda item: (item[0], item[1]))
    findings = [finding for _, _, finding in ranked]
    verdict.findings = capped(findings)
    verdict.lines = listing(certificates, crls, now)
    return verdict


def capped(findings: Sequence[Finding]) -> list[Finding]:
    """The first MAX_FINDINGS, and one more that counts the rest in the worst state among them
    (an expiring certificate is never lost behind a list of broken files)."""
    if len(findings) <= MAX_FINDINGS:
        return list(findings)
    rest = findings[MAX_FINDINGS:]
    worst = min((finding.state for finding in rest), key=STATE_ORDER.__getitem__)
    return [*findings[:MAX_FINDINGS], Finding(
        worst, f"certificates: {plural(len(rest), 'more problem')} ({str(worst).upper()} "
        "the worst)", "the long output (-v) lists every certificate and CRL")]


def listing(certificates: Sequence[Certificate], crls: Sequence[Crl], now: datetime
            ) -> list[str]:
    """-v: each certificate (subject, issuer, serial, notAfter, days left, source) and each
    CRL (issuer, thisUpdate, nextUpdate, entries), closest to expiry first."""
    lines = []
    ordered = sorted(certificates, key=lambda item: (item.not_after, item.source))
    for certificate in ordered[:MAX_LINES]:
        source = f"partner {certificate.owner} {certificate.role or ''}".rstrip() \
            if certificate.owner is not None else certificate.source
        lines.append(f"certificate {certificate.subject}: issuer {certificate.issuer}, serial "
                     f"0x{certificate.serial:X}, notAfter {stamp(certificate.not_after)}, "
                     f"{days_left(certificate, now):.1f} days left, {source}")
    if len(ordered) > MAX_LINES:
        lines.append(f"certificates: and {len(ordered) - MAX_LINES} more")
    for crl in sorted(crls, key=lambda item: (item.next_update or item.this_update,
                                              item.source))[:MAX_LINES]:
        following = stamp(crl.next_update) if crl.next_update else "none"
        lines.append(f"CRL of {crl.issuer}: thisUpdate {stamp(crl.this_update)}, nextUpdate "
                     f"{following}, {plural(len(crl.revoked), 'entry', 'entries')}, "
                     f"{crl.source}")
    return lines


def file_problem(path: str, reason: str, option: str) -> Finding:
    """A file that gives nothing to judge: UNKNOWN naming it (reason: "is empty", or ": why")."""
    joined = reason if reason.startswith(":") else f" {reason}"
    return Finding(Unknown, f"{option} {printable(path, 120)}{joined}",
                   f"fix or remove the file, or {option}: the check cannot see what it holds")


# -- the database rows --


def parse_rows(width: int, rows: Sequence[Sequence[Any]]
               ) -> tuple[list[tuple[str, str, Any]], list[str]]:
    """(owner, role, value) of each usable row, and why the others are not."""
    from os4xmon.db.drivers import BAD_RESULT, MAX_ROWS, DatabaseError  # only with --cert-query

    if width != 3:
        raise DatabaseError(BAD_RESULT, f"--cert-query returns {plural(width, 'column')}, "
                            "expected 3 (owner, role, certificate)")
    if len(rows) > MAX_ROWS:
        raise DatabaseError(BAD_RESULT, f"--cert-query returns more than {MAX_ROWS} rows")
    good, problems = [], []
    for number, row in enumerate(rows, 1):
        owner = printable(database_text(row[0]).strip(), 40) or "(no owner)"
        role = printable(database_text(row[1]).strip(), 40)
        if row[2] is None:
            problems.append(f"row {number} (partner {owner}): the certificate is NULL")
            continue
        good.append((owner, role, row[2]))
    return good, problems


# -- the aspect: I/O --


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
            yield from finding_metrics(self.name, [Finding(Unknown, str(missing), str(missing))])
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
        paths = self._paths(problems)
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
            for broken in parsed.problems:
                problems.append(file_problem(path, f": {broken}", option))
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
        """The partner certificates of --cert-query, into certificates (problems: why not)."""
        # the database drivers only with --cert-query
        from os4xmon.db.access import error_advice
        from os4xmon.db.drivers import DatabaseError, scrub
        from os4xmon.db.rowquery import read_rows

        settings = self.settings
        if not settings.db_type:
            problems.append(Finding(Unknown, "--cert-query needs --db-type and the database's "
                                    "connection options", "give --db-type and the --db-* "
                                    "options OS4X's database needs"))
            return
        try:
            width, rows, seconds = read_rows(settings, settings.cert_query or "",
                                             "--cert-query", budget(settings),
                                             "the partner certificates")
            good, broken = parse_rows(width, rows)
        except DatabaseError as error:
            state = STATES_BY_NAME[settings.db_error_state]
            problems.append(Finding(state, scrub(f"certificates: {error}", settings.db_password),
                                    error_advice(error.kind, "--cert-query")))
            return
        self.read += 1
        self.details.append(f"partner certificates read in {seconds:.3f}s: "
                            f"{plural(len(rows), 'row')}")
        for text in broken:
            problems.append(Finding(Unknown, f"--cert-query: {text}", ROW_ADVICE))
        for number, (owner, role, value) in enumerate(good, 1):
            where = f"--cert-query row {number} (partner {owner} {role})".replace(" )", ")")
            try:
                data = value_bytes(value)
            except ValueError as error:
                problems.append(Finding(Unknown, f"{where}: {error}", ROW_ADVICE))
                continue
            try:
                parsed = parse(data, f"partner {owner} {role}".rstrip(), owner, role)
            finally:
                wipe(data)
            self.details.extend(parsed.notes)
            for problem in parsed.problems:
                problems.append(Finding(Unknown, f"{where}: {problem}", ROW_ADVICE))
            if not parsed.certificates and not parsed.problems:
                problems.append(Finding(Unknown, f"{where} holds no certificate", ROW_ADVICE))
            certificates.extend(parsed.certificates)

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


ROW_ADVICE = ("fix --cert-query so that every row is (owner, role, certificate) with the "
              "certificate as PEM text or DER bytes (see docs/certificates.md)")


def budget(settings: Settings) -> float:
    """Seconds the query may take: its share of what -t has left, half when the ports (which
    come later) still have to be probed."""
    share = execution.share(2 if "ports" in settings.selected_checks else 1)
    return max(share if share != float("inf") else settings.timeout, 0.05)


def build(settings: Settings, host: Host) -> list[nagiosplugin.Resource]:
    """The resource of the certificate check (its contexts are the shared ones)."""
    return [Certs(settings, host)]

