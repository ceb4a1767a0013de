"""The certificate check's verdicts: pure functions of plain records and the time.

Days left against ``--cert-warning``/``--cert-critical`` (the probe's options), expired and not
yet valid CRITICAL whatever the thresholds, a CRL past its nextUpdate CRITICAL, one older than
``--crl-max-age`` WARNING, a serial that a CRL of its issuer lists CRITICAL; :func:`judge` puts
them in order (worst first, closest to expiry first) and caps them. The records come from
``wire.certfiles``; nothing here reads a file or knows the library that parsed them.
"""

from __future__ import annotations

import math
from datetime import datetime

from nagiosplugin.state import Critical, Ok, Unknown, Warn

from os4xmon.core.findings import STATE_ORDER, Finding
from os4xmon.core.record import dataclass, field
from os4xmon.core.settings import Settings
from os4xmon.core.text import duration, plural, printable
from os4xmon.core.thresholds import Threshold
from os4xmon.wire.certfiles import SIGNATURE_INVALID, SIGNATURE_VALID

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Sequence

    from os4xmon.wire.certfiles import Certificate, Crl


DAY = 86400.0
MAX_FINDINGS = 10
"""Findings listed one by one; the rest are counted in one more (the long output has all)."""
MAX_LINES = 500
"""Certificates and CRLs listed at -v, those closest to expiry first."""
ROW_ADVICE = ("fix --cert-query so that every row is (owner, role, certificate) with the "
              "certificate as PEM text or DER bytes (see docs/certificates.md)")

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
    """A signature its issuer's certificate does not verify: CRITICAL (its dates and entries
    are not believed); past nextUpdate: CRITICAL; thisUpdate older than --crl-max-age:
    WARNING."""
    what = f"CRL of {crl.issuer} ({crl.source})"
    if crl.signature == SIGNATURE_INVALID:
        return Finding(Critical, f"{what} is not signed by its issuer's certificate: damaged "
                       "or forged, its dates and revocations are not used",
                       "fetch the CRL again from the CA's URL (or with ODETTE_CRL_REQUEST) and "
                       "check that the CA certificate beside it is the CA's own; OS4X refuses a "
                       "CRL whose signature fails, and then TLS sessions with it")
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
        if crl.signature == SIGNATURE_INVALID:
            continue  # anyone can write a CRL that "revokes" a partner's certificate
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
        if crl.next_update is not None and crl.signature != SIGNATURE_INVALID:
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


SIGNATURE_WORDS = {SIGNATURE_VALID: "signature verified by its issuer's certificate",
                   SIGNATURE_INVALID: "signature NOT verified by its issuer's certificate"}


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
        signature = SIGNATURE_WORDS.get(crl.signature, "signature not checked: its issuer's "
                                        "certificate is not among the sources")
        lines.append(f"CRL of {crl.issuer}: thisUpdate {stamp(crl.this_update)}, nextUpdate "
                     f"{following}, {plural(len(crl.revoked), 'entry', 'entries')}, "
                     f"{signature}, {crl.source}")
    return lines


def file_problem(path: str, reason: str, option: str) -> Finding:
    """A file that gives nothing to judge: UNKNOWN naming it (reason: "is empty", or ": why")."""
    joined = reason if reason.startswith(":") else f" {reason}"
    return Finding(Unknown, f"{option} {printable(path, 120)}{joined}",
                   f"fix or remove the file, or {option}: the check cannot see what it holds")
