"""A TLS certificate's end of validity, read from its DER form: a pure parser.

With an unverified chain ``ssl.getpeercert()`` returns nothing, and the binary form is all there
is. Only the few ASN.1 elements on the way to the validity are read
(Certificate > TBSCertificate > Validity > notAfter); anything malformed raises ValueError.
"""

from __future__ import annotations

from datetime import datetime, timezone

from os4xmon.core.record import dataclass
from os4xmon.core.text import printable


@dataclass(frozen=True)
class Element:
    tag: int
    start: int  # first byte of the content
    end: int  # one past the last byte of the content


SEQUENCE = 0x30
INTEGER = 0x02
EXPLICIT_VERSION = 0xA0
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18


def read_element(data: bytes | bytearray, offset: int, limit: int | None = None) -> Element:
    """One DER tag-length-value at offset; ValueError when it does not fit inside limit."""
    limit = len(data) if limit is None else min(limit, len(data))
    if offset + 2 > limit:
        raise ValueError(f"DER element at {offset} is cut short")
    tag, first = data[offset], data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or start + count > limit:
            raise ValueError(f"DER length at {offset} is malformed")
        length = int.from_bytes(data[start:start + count], "big")
        start += count
    if start + length > limit:
        raise ValueError(f"DER element at {offset} runs past its container")
    return Element(tag, start, start + length)


def _expect(element: Element, tag: int, what: str) -> Element:
    if element.tag != tag:
        raise ValueError(f"{what}: tag {element.tag:#04x}, expected {tag:#04x}")
    return element


def parse_time(tag: int, value: bytes) -> datetime:
    """A DER UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ), as UTC."""
    text = value.decode("ascii", errors="replace")
    if tag == UTC_TIME and len(text) == 13 and text.endswith("Z") and text[:12].isdigit():
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif not (tag == GENERALIZED_TIME and len(text) == 15 and text.endswith("Z")
              and text[:14].isdigit()):
        raise ValueError(f"not a DER time: {printable(value, 20)}")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=timezone.utc)


def not_after(der: bytes) -> datetime:
    """The end of a certificate's validity: Certificate > TBSCertificate > Validity > notAfter."""
    return validity(der)[1]


def validity(der: bytes) -> tuple[datetime, datetime]:
    """(notBefore, notAfter): Certificate > TBSCertificate > Validity."""
    certificate = _expect(read_element(der, 0), SEQUENCE, "certificate")
    tbs = _expect(read_element(der, certificate.start, certificate.end), SEQUENCE,
                  "tbsCertificate")
    element = read_element(der, tbs.start, tbs.end)
    if element.tag == EXPLICIT_VERSION:
        element = read_element(der, element.end, tbs.end)
    _expect(element, INTEGER, "serialNumber")
    for what in ("signature", "issuer"):
        element = _expect(read_element(der, element.end, tbs.end), SEQUENCE, what)
    dates = _expect(read_element(der, element.end, tbs.end), SEQUENCE, "validity")
    before = read_element(der, dates.start, dates.end)
    after = read_element(der, before.end, dates.end)
    return (parse_time(before.tag, der[before.start:before.end]),
            parse_time(after.tag, der[after.start:after.end]))
