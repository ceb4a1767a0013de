"""The byte-level parsers: OFTP's ready message and a certificate's notAfter, hostile input too."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from os4xmon import oftp

pytestmark = pytest.mark.unit

READY_8D = oftp.READY[:-1] + b"\x8d"


def test_ready_message_is_rfc_5024_on_the_wire():
    assert bytes.fromhex("10000017") + b"IODETTE FTP READY \r" == oftp.READY
    assert len(oftp.READY) == oftp.READY_LENGTH == 23


@pytest.mark.parametrize("buffer", [oftp.READY, READY_8D])
def test_right_ready_message_has_no_problem(buffer):
    assert oftp.ready_problem(buffer) is None


def test_every_prefix_is_fine_while_reading_and_cut_short_at_the_end():
    for size in range(oftp.READY_LENGTH):
        prefix = oftp.READY[:size]
        assert oftp.ready_problem(prefix, complete=False) is None
        assert oftp.ready_problem(prefix) == f"cut short after {size} of 23 bytes"


@pytest.mark.parametrize(("buffer", "problem"), [
    (b"\x20\x00\x00\x17IODETTE FTP READY \r", "version 2, not 1"),
    (b"\x18\x00\x00\x17IODETTE FTP READY \r", "flags 0x8, not 0"),
    (b"\x10\x00\x00\x18IODETTE FTP READY \r", "length 24, not 23"),
    (b"\x10\x01\x00\x17IODETTE FTP READY \r", "length 65559, not 23"),
    (b"\x10\x00\x00\x17IODETTE FTP READY!\r", "no 'IODETTE FTP READY ' after the header"),
    (b"\x10\x00\x00\x17iODETTE FTP READY \r", "no 'IODETTE FTP READY ' after the header"),
    (b"\x10\x00\x00\x17IODETTE FTP READY \n", "ends with 0x0a, not a carriage return"),
    (oftp.READY + b"SSID", "4 bytes more than the ready message"),
    (b"SSH-2.0-OpenSSH_9.6\r\n", "version 5, not 1"),
])
def test_wrong_bytes_are_named(buffer, problem):
    assert problem in oftp.ready_problem(buffer)
    assert oftp.ready_problem(buffer, complete=False) is not None


def test_first_wrong_byte_stops_reading():
    assert oftp.ready_problem(b"H", complete=False) == \
        "Stream Transmission Header version 4, not 1"
    assert oftp.ready_problem(b"\x10\x00\x00\x17IX", complete=False) is not None


def test_oversized_buffer_of_a_megabyte():
    assert "more than the ready message" in oftp.ready_problem(oftp.READY + b"\0" * 2**20)


@given(st.binary(max_size=64))
def test_any_buffer_gives_a_sentence_or_none_never_an_exception(buffer):
    problem = oftp.ready_problem(buffer)
    assert (problem is None) == (buffer in (oftp.READY, READY_8D))
    assert problem is None or isinstance(problem, str)
    oftp.ready_problem(buffer, complete=False)


def test_shown_escapes_and_cuts_hostile_bytes():
    text = oftp.shown(b"HTTP/1.0 400 Bad|Request\r\n\x1b[31m\xff" + b"A" * 200)
    assert "|" not in text and "\r" not in text and "\x1b" not in text and "\n" not in text
    assert text.startswith("'HTTP/1.0 400 Bad!Request\\r\\n\\x1b")
    assert len(text) <= oftp.SHOWN + 2 and text.endswith("...'")


# --- notAfter from DER -------------------------------------------------------------------

def make_der(not_after: datetime) -> bytes:
    """A v3 certificate (cryptography always writes the explicit [0] version)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oftp.example")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
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
    assert oftp.not_after(make_der(moment)) == moment


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
    assert oftp.not_after(der) == datetime(2035, 1, 1, tzinfo=timezone.utc)


def test_every_truncation_is_a_value_error():
    der = make_der(datetime(2031, 1, 1, tzinfo=timezone.utc))
    for size in range(len(der)):
        with pytest.raises(ValueError):
            oftp.not_after(der[:size])


@given(st.binary(max_size=300))
def test_random_bytes_raise_only_value_error(data):
    with contextlib.suppress(ValueError):
        oftp.not_after(data)


@pytest.mark.parametrize("der", [
    b"\x30\x84\xff\xff\xff\xff",  # a length far beyond the buffer
    b"\x30\x80\x00\x00",  # indefinite length: not DER
    b"\x30\x85\x01\x00\x00\x00\x00\x00",  # a five-byte length
    b"\x02\x01\x00",  # not a SEQUENCE
])
def test_hostile_lengths_and_tags(der):
    with pytest.raises(ValueError):
        oftp.not_after(der)


@pytest.mark.parametrize(("tag", "value"), [
    (oftp.UTC_TIME, b"3001010000Z"),  # no seconds
    (oftp.UTC_TIME, b"300101000000+0100"),
    (oftp.GENERALIZED_TIME, b"20300101000000.5Z"),
    (oftp.GENERALIZED_TIME, b"20301301000000Z"),  # month 13
    (0x04, b"300101000000Z"),
    (oftp.UTC_TIME, b"\xff\xfe|\n0101000000Z"),
])
def test_malformed_times(tag, value):
    with pytest.raises(ValueError):
        oftp.parse_time(tag, value)


def test_utc_time_centuries():
    assert oftp.parse_time(oftp.UTC_TIME, b"500101000000Z").year == 1950
    assert oftp.parse_time(oftp.UTC_TIME, b"491231235959Z").year == 2049
