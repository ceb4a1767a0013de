"""The end of a certificate's validity from its DER form: real certificates and hostile bytes."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from os4xmon.wire import x509

pytestmark = pytest.mark.unit


def make_der(not_after: datetime) -> bytes:
    """A v3 certificate (cryptography always writes the explicit [0] version)."""
    from cryptography import x509 as crypto_x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = crypto_x509.Name([crypto_x509.NameAttribute(NameOID.COMMON_NAME, "x509.example")])
    certificate = (crypto_x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(12345)
                   .not_valid_before(not_after - timedelta(days=400))
                   .not_valid_after(not_after).sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("moment", [
    datetime(2031, 5, 17, 8, 30, 5, tzinfo=timezone.utc),  # UTCTime
    datetime(2049, 12, 31, 23, 59, 59, tzinfo=timezone.utc),  # the last UTCTime year
    datetime(2050, 1, 1, 0, 0, 0, tzinfo=timezone.utc),  # GeneralizedTime from 2050 on
    datetime(2020, 2, 29, 12, 0, 0, tzinfo=timezone.utc),  # expired
])
def test_not_after_of_real_certificates(moment):
    assert x509.not_after(make_der(moment)) == moment


def test_validity_gives_not_before_too():
    moment = datetime(2031, 5, 17, 8, 30, 5, tzinfo=timezone.utc)
    assert x509.validity(make_der(moment)) == (moment - timedelta(days=400), moment)


def test_not_after_without_the_optional_version():
    # a v1 certificate: TBSCertificate starts with the serial number, no [0] element
    serial = bytes([0x02, 0x01, 0x05])
    algorithm = bytes([0x30, 0x00])
    issuer = bytes([0x30, 0x00])
    times = bytes([0x17, 0x0D]) + b"300101000000Z" + bytes([0x17, 0x0D]) + b"350101000000Z"
    validity = bytes([0x30, len(times)]) + times
    tbs_body = serial + algorithm + issuer + validity
    tbs = bytes([0x30, len(tbs_body)]) + tbs_body
    der = bytes([0x30, len(tbs)]) + tbs
    assert x509.not_after(der) == datetime(2035, 1, 1, tzinfo=timezone.utc)


def test_every_truncation_is_a_value_error():
    der = make_der(datetime(2031, 1, 1, tzinfo=timezone.utc))
    for size in range(len(der)):
        with pytest.raises(ValueError):
            x509.not_after(der[:size])


@given(st.binary(max_size=300))
def test_random_bytes_raise_only_value_error(data):
    with contextlib.suppress(ValueError):
        x509.not_after(data)


@pytest.mark.parametrize("der", [
    b"\x30\x84\xff\xff\xff\xff",  # a length far beyond the buffer
    b"\x30\x80\x00\x00",  # indefinite length: not DER
    b"\x30\x85\x01\x00\x00\x00\x00\x00",  # a five-byte length
    b"\x02\x01\x00",  # not a SEQUENCE
])
def test_hostile_lengths_and_tags(der):
    with pytest.raises(ValueError):
        x509.not_after(der)


@pytest.mark.parametrize(("tag", "value"), [
    (x509.UTC_TIME, b"3001010000Z"),  # no seconds
    (x509.UTC_TIME, b"300101000000+0100"),
    (x509.GENERALIZED_TIME, b"20300101000000.5Z"),
    (x509.GENERALIZED_TIME, b"20301301000000Z"),  # month 13
    (0x04, b"300101000000Z"),
    (x509.UTC_TIME, b"\xff\xfe|\n0101000000Z"),
])
def test_malformed_times(tag, value):
    with pytest.raises(ValueError):
        x509.parse_time(tag, value)


def test_utc_time_centuries():
    assert x509.parse_time(x509.UTC_TIME, b"500101000000Z").year == 1950
    assert x509.parse_time(x509.UTC_TIME, b"491231235959Z").year == 2049
