"""Reading certificate and CRL files: PEM bundles, DER, private keys skipped, hostile files."""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta

import certtools as ct
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nagiosplugin.state import Unknown

from os4xmon.checks.certs import Certs
from os4xmon.core.record import fields
from os4xmon.core.settings import Settings
from os4xmon.facts.host import Host
from os4xmon.wire import certfiles
from os4xmon.wire.certfiles import (
    MAX_FILE_BYTES,
    FileProblem,
    der_kind,
    parse,
    pem_blocks,
    read_file,
    read_limited,
)

pytestmark = pytest.mark.unit


def write(path, data: bytes):
    path.write_bytes(data)
    return str(path)


def test_every_certificate_of_a_pem_bundle(tmp_path):
    bundle = b"".join(ct.pem(ct.certificate(f"Partner {n}", 10 + n, serial=n + 1))
                      for n in range(3))
    parsed = read_file(write(tmp_path / "bundle.pem", b"junk before\n" + bundle))
    assert [c.common_name for c in parsed.certificates] == ["Partner 0", "Partner 1", "Partner 2"]
    assert [c.serial for c in parsed.certificates] == [1, 2, 3]
    first = parsed.certificates[0]
    assert first.issuer == "CN=Test OFTP2 CA,O=Test" and first.subject == "CN=Partner 0,O=Test"
    assert first.not_after == ct.NOW + timedelta(days=10)
    assert first.not_after.tzinfo is not None and not parsed.problems


def test_der_certificate_and_der_crl(tmp_path):
    parsed = read_file(write(tmp_path / "a.der", ct.der(ct.certificate("DER", 100))))
    assert [c.common_name for c in parsed.certificates] == ["DER"]
    revoked = [(5, ct.NOW - timedelta(days=1))]
    parsed = read_file(write(tmp_path / "a.crl", ct.der(ct.crl(revoked=revoked))), "crl")
    (crl,) = parsed.crls
    assert crl.issuer == "CN=Test OFTP2 CA,O=Test" and crl.revoked == {5: revoked[0][1]}
    assert crl.next_update == ct.NOW + timedelta(days=7)
    assert crl.this_update == ct.NOW - timedelta(days=1)


def test_pem_crl_without_next_update(tmp_path):
    """cryptography cannot write one; the simulator's encoder can."""
    from os4xmon.simulator import certificate

    der = certificate.revocation_list("Sim CA", ct.NOW, None, [])
    parsed = read_file(write(tmp_path / "a.crl", certificate.pem(der, "X509 CRL").encode()))
    assert parsed.crls[0].next_update is None and parsed.crls[0].issuer == "CN=Sim CA"


@pytest.mark.parametrize("key", [ct.key_pem(), ct.key_pem(pkcs8=False), ct.key_pem(b"pw")],
                         ids=["pkcs8", "traditional", "encrypted"])
def test_a_pem_private_key_is_skipped_and_the_certificate_after_it_read(tmp_path, key):
    data = key + ct.pem(ct.certificate("After key", 50))
    parsed = read_file(write(tmp_path / "combined.pem", data))
    assert [c.common_name for c in parsed.certificates] == ["After key"]
    assert parsed.keys == 1 and "a private key, skipped unread" in parsed.notes[0]
    assert not parsed.problems


def test_a_key_block_body_is_never_decoded():
    """pem_blocks hands out no bytes of a key: only its label."""
    data = ct.key_pem() + ct.pem(ct.certificate("X", 5))
    blocks = list(pem_blocks(bytearray(data)))
    assert blocks[0] == ("PRIVATE KEY", None)
    assert blocks[1][0] == "CERTIFICATE" and blocks[1][1]


def test_a_key_without_end_line_stops_the_file_there():
    data = b"-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n" + ct.pem(ct.certificate("X", 5))
    assert list(pem_blocks(data)) == [("RSA PRIVATE KEY", None)]


@pytest.mark.parametrize(("data", "kind"), [
    (ct.der(ct.certificate("X", 5)), "x509"), (ct.der(ct.crl()), "x509"),
    (ct.key_der(), "key"), (ct.key_der(b"pw"), "key"), (b"\x30\x03\x02\x01\x00", "key"),
    (b"garbage", ""), (b"", ""), (b"\x30\x82\xff\xff", ""),
])
def test_der_kind(data, kind):
    assert der_kind(data) == kind


def test_a_der_private_key_is_skipped(tmp_path):
    parsed = read_file(write(tmp_path / "k.der", ct.key_der(b"pw")))
    assert parsed.keys == 1 and not parsed.certificates and not parsed.problems


@pytest.mark.parametrize(("data", "problem"), [
    (b"-----BEGIN CERTIFICATE-----\nMIIB", "cut short"),
    (b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "not a readable"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a readable"),
])
def test_broken_pem_blocks_are_problems(tmp_path, data, problem):
    parsed = read_file(write(tmp_path / "broken.pem", data))
    assert not parsed.certificates and problem in parsed.problems[0]


def test_a_truncated_der_certificate_holds_nothing(tmp_path):
    der = ct.der(ct.certificate("X", 5))
    parsed = read_file(write(tmp_path / "cut.der", der[: len(der) // 2]))
    assert not parsed.certificates and not parsed.crls


def test_other_pem_blocks_are_noted_and_skipped(tmp_path):
    data = b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    parsed = read_file(write(tmp_path / "pub.pem", data))
    assert not parsed.certificates and "skipped" in parsed.notes[0]


# -- hostile files: UNKNOWN at once --


def test_an_empty_file(tmp_path):
    with pytest.raises(FileProblem, match="is empty"):
        read_file(write(tmp_path / "empty.pem", b""))


def test_a_fifo_without_writer_is_refused_at_once(tmp_path):
    fifo = tmp_path / "fifo.pem"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(FileProblem, match="not a regular file"):
        read_limited(str(fifo))
    assert time.monotonic() - started < 1


def test_dev_zero_is_refused_at_once():
    started = time.monotonic()
    with pytest.raises(FileProblem, match="not a regular file"):
        read_limited("/dev/zero")
    assert time.monotonic() - started < 1


def test_a_huge_file_is_refused_without_reading_it(tmp_path):
    huge = tmp_path / "huge.pem"
    with open(huge, "wb") as stream:
        stream.truncate(10 * 1024 * 1024 * 1024)  # sparse: 10 GB
    started = time.monotonic()
    with pytest.raises(FileProblem, match="larger than 4 MiB"):
        read_limited(str(huge))
    assert time.monotonic() - started < 1


def test_a_file_at_the_limit_is_read(tmp_path):
    path = write(tmp_path / "big.pem", b"x" * MAX_FILE_BYTES)
    assert len(read_limited(path)) == MAX_FILE_BYTES


def test_a_directory_and_a_missing_file(tmp_path):
    with pytest.raises(FileProblem, match="directory"):
        read_limited(str(tmp_path))
    with pytest.raises(FileProblem, match="No such file"):
        read_limited(str(tmp_path / "missing.pem"))


def test_database_values_pem_text_and_der_bytes():
    pem_text = ct.pem(ct.certificate("PEM row", 5)).decode()
    der = memoryview(ct.der(ct.certificate("DER row", 5)))
    for value in (pem_text, der, bytes(der)):
        parsed = parse(certfiles.value_bytes(value), "partner P encryption", "P", "encryption")
        assert parsed.certificates[0].owner == "P"
    with pytest.raises(ValueError, match="not PEM text or DER bytes"):
        certfiles.value_bytes(42)


# -- the library is imported only here, and its absence is one UNKNOWN line --


def test_missing_cryptography_is_unknown_with_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(certfiles.MissingLibrary):
        certfiles.library()
    aspect = Certs(Settings(checks=("certs",), cert_dir=str(tmp_path)), Host(Settings()))
    metrics = aspect.probe()
    findings = [metric.value for metric in metrics if metric.context == "finding"]
    assert [finding.state for finding in findings] == [Unknown]
    assert "apt-get install python3-cryptography" in findings[0].message
    perf = {metric.name: metric.value.value for metric in metrics if metric.context == "perfdata"}
    assert perf == dict.fromkeys(["certs", "certs_expiring", "cert_min_days", "crls",
                                  "crl_min_hours"])


def test_a_file_that_grows_after_fstat_is_read_on(tmp_path, monkeypatch):
    """The buffer is sized by fstat; a file longer than that (growing meanwhile) is read whole,
    and one that grows past the limit is refused."""
    data = ct.pem(ct.certificate("Grown", 5)) * 40  # ~25 KB, more than one GROW step
    path = write(tmp_path / "grown.pem", data)
    real_fstat = os.fstat

    def small_fstat(descriptor):
        info = real_fstat(descriptor)
        return os.stat_result((*info[:6], 10, *info[7:]))

    monkeypatch.setattr(certfiles.os, "fstat", small_fstat)
    assert bytes(read_limited(path)) == data
    with pytest.raises(FileProblem, match="larger than"):
        read_limited(path, limit=len(data) - 1)


# -- any bytes: a result, never an exception, never a byte of a key --

PIECES = [b"-----BEGIN ", b"-----END ", b"CERTIFICATE", b"X509 CRL", b"PRIVATE KEY", b"-----",
          b"\n", b"MIIB", b"\x30\x82", b"\x02\x01\x00", b"AAAA", ct.pem(ct.certificate("P", 5)),
          ct.der(ct.crl()), ct.key_pem()]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=40)), max_size=12))
def test_any_bytes_give_a_result_and_no_key_bytes(parts):
    data = b"".join(parts)
    parsed = parse(bytearray(data), "f.pem")
    text = " ".join(parsed.notes + parsed.problems + [c.subject for c in parsed.certificates])
    for piece in ct.key_secrets():
        assert piece not in text
    assert "PRIVATE KEY" not in " ".join(parsed.problems)  # keys are notes, never problems


# -- CRL signatures --


def signed_crl(key=None):
    parsed = certfiles.parse(ct.pem(ct.crl(revoked=[(77, ct.NOW)], key=key or ct.KEY)),
                             "/certs/ca.crl")
    return parsed.crls


def ca_certificate():
    return certfiles.parse(ct.pem(ct.certificate("Test OFTP2 CA", 3650)),
                           "/certs/ca.pem").certificates


def test_a_crl_its_issuers_certificate_signed_is_valid():
    (checked,) = certfiles.check_signatures(signed_crl(), ca_certificate())
    assert checked.signature == certfiles.SIGNATURE_VALID
    assert checked.revoked == {77: ct.NOW} and checked.loaded is None  # the object let go


def test_a_crl_that_only_bears_the_issuers_name_is_invalid():
    from cryptography.hazmat.primitives.asymmetric import ec

    forged = signed_crl(ec.generate_private_key(ec.SECP256R1()))
    (checked,) = certfiles.check_signatures(forged, ca_certificate())
    assert checked.signature == certfiles.SIGNATURE_INVALID


def test_a_crl_without_its_issuers_certificate_is_unchecked():
    partner = certfiles.parse(ct.pem(ct.certificate("VW OFTP2", 100)), "/certs/vw.pem")
    (checked,) = certfiles.check_signatures(signed_crl(), partner.certificates)
    assert checked.signature == certfiles.SIGNATURE_UNCHECKED


def test_a_key_that_cannot_verify_is_not_the_issuer():
    from cryptography.hazmat.primitives.asymmetric import x25519

    (certificate,) = ca_certificate()
    odd = certfiles.Certificate(**{**{item.name: getattr(certificate, item.name)
                                      for item in fields(certificate)},
                                   "public_key": x25519.X25519PrivateKey.generate().public_key()})
    (checked,) = certfiles.check_signatures(signed_crl(), [odd])
    assert checked.signature == certfiles.SIGNATURE_INVALID
