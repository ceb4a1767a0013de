"""The certificate check's verdicts, pure: days left, expired, not yet valid, CRLs, revoked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from nagiosplugin.state import Critical, Ok, Unknown, Warn

from os4xmon.checks.certs.verdicts import (
    MAX_FINDINGS,
    MAX_LINES,
    Limits,
    capped,
    judge,
    judge_certificate,
    judge_crl,
    judge_revoked,
    label,
)
from os4xmon.core.findings import Finding
from os4xmon.core.values import duration_value
from os4xmon.wire.certfiles import (
    SIGNATURE_INVALID,
    SIGNATURE_UNCHECKED,
    SIGNATURE_VALID,
    Certificate,
    Crl,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 29, 12, 0, tzinfo=timezone.utc)
CA = "CN=Test OFTP2 CA,O=Test"
LIMITS = Limits(30.0, 7.0, 36 * 3600.0)


def cert(days: float, *, starts: float = -30.0, serial: int = 7, issuer: str = CA,
         owner: str | None = None, role: str | None = None, cn: str | None = "VW OFTP2",
         source: str = "/opt/os4x/cert/vw.pem") -> Certificate:
    return Certificate(subject=f"CN={cn}" if cn else "O=Nameless", common_name=cn, issuer=issuer,
                       serial=serial, not_before=NOW + timedelta(days=starts),
                       not_after=NOW + timedelta(days=days), source=source, owner=owner,
                       role=role)


def crl(*, this: float = -0.5, following: float | None = 6.0, revoked: dict | None = None,
        issuer: str = CA, signature: str = SIGNATURE_UNCHECKED) -> Crl:
    return Crl(issuer=issuer, this_update=NOW + timedelta(days=this),
               next_update=None if following is None else NOW + timedelta(days=following),
               revoked=revoked or {}, source="/opt/os4x/cert/ca.crl", signature=signature)


# -- days left against the thresholds --


@pytest.mark.parametrize(("days", "state"), [
    (400, None), (30.5, None), (29.5, Warn), (7.5, Warn), (6.5, Critical), (0.2, Critical),
])
def test_days_left_against_warning_and_critical(days, state):
    finding = judge_certificate(cert(days), NOW, LIMITS)
    assert (finding.state if finding else None) == state


# -- the boundaries: notBefore and notAfter belong to the validity (RFC 5280), a limit is
# crossed only when passed --


def test_a_certificate_in_its_last_second_is_not_yet_expired():
    finding = judge_certificate(cert(0), NOW, LIMITS)
    assert finding is not None and finding.message.startswith(
        "certificate CN=VW OFTP2 in /opt/os4x/cert/vw.pem expires in ")


def test_a_certificate_in_its_first_second_is_valid():
    assert judge_certificate(cert(100, starts=0), NOW, LIMITS) is None


def test_one_day_left_is_said_in_days():
    finding = judge_certificate(cert(1), NOW, LIMITS)
    assert finding is not None and "expires in 1 day (" in finding.message


def test_exactly_the_warning_days_left_is_not_expiring():
    verdict = judge([cert(30)], [], [], NOW, LIMITS)
    assert verdict.expiring == 0 and verdict.findings == []


def test_a_crl_at_its_next_update_or_its_maximum_age_is_still_fine():
    assert judge_crl(crl(following=0), NOW, LIMITS) is None
    assert judge_crl(crl(this=-1.5), NOW, LIMITS) is None  # 36 hours: --crl-max-age itself


def test_exactly_as_many_certificates_as_listed_need_no_more_line():
    certificates = [cert(100 + number, serial=number) for number in range(MAX_LINES)]
    assert not any("more" in line for line in judge(certificates, [], [], NOW, LIMITS).lines)


def test_the_first_line_names_owner_role_common_name_and_date():
    finding = judge_certificate(cert(5, owner="ODETTE-VW", role="encryption"), NOW, LIMITS)
    assert finding is not None and finding.state == Critical
    assert finding.message == ("partner ODETTE-VW encryption certificate CN=VW OFTP2 expires in "
                               "5 days (2027-01-03)")
    assert "ODETTE_CERTIFICATE" in finding.advice


def test_a_file_certificate_is_named_by_its_file():
    finding = judge_certificate(cert(20), NOW, LIMITS)
    assert finding is not None and finding.state == Warn
    assert finding.message == ("certificate CN=VW OFTP2 in /opt/os4x/cert/vw.pem expires in 20 "
                               "days (2027-01-18)")


def test_a_certificate_without_common_name_is_named_by_its_subject():
    assert label(cert(5, cn=None)) == "certificate O=Nameless in /opt/os4x/cert/vw.pem"


def test_less_than_a_day_is_said_in_hours():
    finding = judge_certificate(cert(0.25), NOW, LIMITS)
    assert finding is not None and "expires in 6h 0m" in finding.message


@pytest.mark.parametrize("limits", [LIMITS, Limits(0.0, 0.0)])
def test_expired_is_critical_whatever_the_thresholds(limits):
    finding = judge_certificate(cert(-3), NOW, limits)
    assert finding is not None and finding.state == Critical
    assert "expired 3d 0h ago (2026-12-26)" in finding.message


@pytest.mark.parametrize("limits", [LIMITS, Limits(0.0, 0.0)])
def test_not_yet_valid_is_critical_whatever_the_thresholds(limits):
    finding = judge_certificate(cert(365, starts=2), NOW, limits)
    assert finding is not None and finding.state == Critical
    assert "not yet valid: from 2026-12-31 12:00 UTC" in finding.message


def test_a_certificate_valid_since_a_moment_ago_is_fine():
    assert judge_certificate(cert(365, starts=-0.001), NOW, LIMITS) is None


def test_renewal_advice_by_kind():
    partner = judge_certificate(cert(5, owner="P", role="signing"), NOW, LIMITS)
    root = judge_certificate(cert(5, issuer="CN=VW OFTP2"), NOW, LIMITS)
    own = judge_certificate(cert(5), NOW, LIMITS)
    assert partner and "ask the partner" in partner.advice
    assert root and "trust service list" in root.advice
    assert own and "certificate request" in own.advice


# -- CRLs --


def test_a_crl_past_its_next_update_is_critical():
    finding = judge_crl(crl(this=-8, following=-1), NOW, LIMITS)
    assert finding is not None and finding.state == Critical
    assert finding.message == ("CRL of CN=Test OFTP2 CA,O=Test (/opt/os4x/cert/ca.crl) past its "
                               "nextUpdate 2026-12-28 12:00 UTC: TLS sessions will be refused")
    assert "os4xsqd" in finding.advice


def test_a_crl_just_before_its_next_update_is_fine():
    assert judge_crl(crl(this=-1, following=0.001), NOW, LIMITS) is None


@pytest.mark.parametrize(("age_hours", "state"), [(35, None), (37, Warn)])
def test_a_crl_older_than_max_age_warns(age_hours, state):
    finding = judge_crl(crl(this=-age_hours / 24), NOW, LIMITS)
    assert (finding.state if finding else None) == state
    if finding:
        assert "is 1d 13h old (thisUpdate 2026-12-27 23:00 UTC, more than 1d 12h)" \
            in finding.message


def test_crl_age_is_not_judged_without_max_age():
    assert judge_crl(crl(this=-300), NOW, Limits(30.0, 7.0, None)) is None


def test_a_crl_without_next_update_is_judged_by_age_only():
    assert judge_crl(crl(following=None), NOW, LIMITS) is None


# -- revoked --


def test_a_serial_listed_by_a_crl_of_its_issuer_is_revoked_with_the_date():
    revoked = {7: NOW - timedelta(days=2)}
    finding = judge_revoked(cert(300, owner="ODETTE-VW", role="encryption"),
                            [crl(revoked=revoked)])
    assert finding is not None and finding.state == Critical
    assert finding.message == ("partner ODETTE-VW encryption certificate CN=VW OFTP2 revoked on "
                               "2026-12-27 (serial 0x7, /opt/os4x/cert/ca.crl)")


def test_a_crl_of_another_issuer_or_another_serial_revokes_nothing():
    revoked = {7: NOW}
    assert judge_revoked(cert(300), [crl(revoked=revoked, issuer="CN=Other CA")]) is None
    assert judge_revoked(cert(300, serial=8), [crl(revoked=revoked)]) is None


# -- all together --


def test_judge_counts_and_orders_worst_first():
    certificates = [cert(400, serial=1), cert(20, serial=2), cert(-1, serial=3),
                    cert(5, serial=4)]
    problem = Finding(Unknown, "--cert-file /x is empty")
    verdict = judge(certificates, [crl(following=0.5), crl(following=2)], [problem], NOW, LIMITS)
    assert [f.state for f in verdict.findings] == [Critical, Critical, Warn, Unknown]
    assert "expired" in verdict.findings[0].message  # the fewest days first among equals
    assert verdict.certificates == 4 and verdict.crls == 2
    assert verdict.expiring == 3
    assert verdict.min_days == pytest.approx(-1)
    assert verdict.crl_min_hours == pytest.approx(12)


def test_a_broken_file_never_hides_an_expiring_certificate():
    problems = [Finding(Unknown, f"--cert-file /x{n} is empty") for n in range(30)]
    verdict = judge([cert(3)], [], problems, NOW, LIMITS)
    assert verdict.findings[0].state == Critical
    assert len(verdict.findings) == MAX_FINDINGS + 1
    assert verdict.findings[-1].state == Unknown and "21 more problems" in \
        verdict.findings[-1].message


def test_capped_counts_the_rest_in_their_worst_state():
    findings = [Finding(Warn, str(n)) for n in range(MAX_FINDINGS)] + [Finding(Ok, "x"),
                                                                       Finding(Critical, "y")]
    assert capped(findings)[-1].state == Critical
    assert capped(findings[:MAX_FINDINGS]) == findings[:MAX_FINDINGS]


def test_nothing_measured_leaves_minimums_unset():
    verdict = judge([], [crl(following=None)], [], NOW, LIMITS)
    assert verdict.min_days is None and verdict.crl_min_hours is None and verdict.expiring == 0


def test_the_listing_has_every_certificate_and_crl():
    verdict = judge([cert(20, serial=255)], [crl(revoked={1: NOW})], [], NOW, LIMITS)
    assert verdict.lines == [
        "certificate CN=VW OFTP2: issuer CN=Test OFTP2 CA,O=Test, serial 0xFF, notAfter "
        "2027-01-18 12:00 UTC, 20.0 days left, /opt/os4x/cert/vw.pem",
        "CRL of CN=Test OFTP2 CA,O=Test: thisUpdate 2026-12-29 00:00 UTC, nextUpdate "
        "2027-01-04 12:00 UTC, 1 entry, signature not checked: its issuer's certificate is not "
        "among the sources, /opt/os4x/cert/ca.crl"]
    verdict = judge([], [crl(signature=SIGNATURE_VALID)], [], NOW, LIMITS)
    assert "signature verified by its issuer's certificate" in verdict.lines[0]


# -- a CRL its issuer did not sign --


def test_a_crl_its_issuer_did_not_sign_is_critical_and_believed_in_nothing():
    forged = crl(revoked={255: NOW}, following=-1.0, signature=SIGNATURE_INVALID)
    verdict = judge([cert(200, serial=255)], [forged], [], NOW, LIMITS)
    assert [(finding.state, finding.message) for finding in verdict.findings] == [
        (Critical, "CRL of CN=Test OFTP2 CA,O=Test (/opt/os4x/cert/ca.crl) is not signed by its "
                   "issuer's certificate: damaged or forged, its dates and revocations are not "
                   "used")]
    assert verdict.crl_min_hours is None  # its nextUpdate is not graphed either
    assert "signature NOT verified" in verdict.lines[-1]


@pytest.mark.parametrize("signature", [SIGNATURE_VALID, SIGNATURE_UNCHECKED])
def test_a_crl_that_may_be_the_issuers_is_believed(signature):
    listed = crl(revoked={255: NOW}, signature=signature)
    verdict = judge([cert(200, serial=255)], [listed], [], NOW, LIMITS)
    assert verdict.findings[0].state == Critical and "revoked on" in verdict.findings[0].message
    assert verdict.crl_min_hours is not None


# -- rows and durations --


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("90s", 90), ("15m", 900), ("36h", 129600), ("2d", 172800), ("1.5h", 5400),
    (" 36H ", 129600), ("0", 0),
])
def test_durations(text, seconds):
    assert duration_value(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "-1h", "1 h", "inf", "nan", "1e400", "\uff11h", "1w",
                                  "1_0s", "36hh"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match=r"duration|negative"):
        duration_value(text)
