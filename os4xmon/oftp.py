"""OFTP's first words on the wire, and a TLS certificate's end of validity: pure parsers.

A listener of OFTP (RFC 5024) speaks first: a 4-byte Stream Transmission Header (version 1,
flags 0, 24-bit big-endian length of the whole buffer) followed by the Start Session Ready
Message ``IODETTE FTP READY `` and a carriage return (0x0D, or 0x8D). That is 23 bytes,
``10 00 00 17 49 4f 44 ...``. ``ready_problem`` says what is wrong with a buffer, already on a
prefix, so that a probe stops reading as soon as the peer cannot be an OFTP listener.

``not_after`` reads the validity of an X.509 certificate from its DER form: with an unverified
chain ``ssl.getpeercert()`` returns nothing, and the binary form is all there is. Only the few
ASN.1 elements on the way to the validity are read; anything malformed raises ValueError.
"""

from __future__ import annotations

from datetime import datetime, timezone

from os4xmon.record import dataclass
from os4xmon.text import printable

READY_TEXT = b"IODETTE FTP READY "
"""The command (I) and the 17 characters of the ready message, trailing space included."""
CARRIAGE_RETURNS = (0x0D, 0x8D)
READY_LENGTH = 4 + len(READY_TEXT) + 1  # 23
HEADER = bytes((0x10, 0x00, 0x00, READY_LENGTH))
READY = HEADER + READY_TEXT + b"\r"
"""The ready message exactly as OS4X sends it: what the simulator sends, too."""

SHOWN = 40
"""Characters of a wrong buffer shown in a status line (escaped by text.printable)."""


def ready_problem(buffer: bytes, complete: bool = True) -> str | None:
    """What is wrong with the first bytes a listener sent, or None when they are right.

    With ``complete=False`` the buffer may still grow: a correct prefix is no problem yet, so
    a probe can stop at the first wrong byte instead of waiting for all 23.
    """
    if buffer[:1]:
        version, flags = buffer[0] >> 4, buffer[0] & 0x0F
        if version != 1:
            return f"Stream Transmission Header version {version}, not 1"
        if flags != 0:
            return f"Stream Transmission Header flags {flags:#x}, not 0"
    if len(buffer) >= 4:
        length = int.from_bytes(buffer[1:4], "big")
        if length != READY_LENGTH:
            return f"Stream Transmission Header length {length}, not {READY_LENGTH}"
    text = buffer[4:4 + len(READY_TEXT)]
    if text != READY_TEXT[:len(text)]:
        return f"no {READY_TEXT.decode()!r} after the header"
    if len(buffer) >= READY_LENGTH and buffer[READY_LENGTH - 1] not in CARRIAGE_RETURNS:
        return f"ends with {buffer[READY_LENGTH - 1]:#04x}, not a carriage return"
    if len(buffer) > READY_LENGTH:
        return f"{len(buffer) - READY_LENGTH} bytes more than the ready message"
    if complete and len(buffer) < READY_LENGTH:
        return f"cut short after {len(buffer)} of {READY_LENGTH} bytes"
    return None


def shown(buffer: bytes) -> str:
    """A received buffer as it may appear in output: escaped, quoted and cut short."""
    return f"'{printable(buffer, SHOWN)}'"


# --- X.509 validity from DER -------------------------------------------------------------

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


def read_element(data: bytes, offset: int, limit: int | None = None) -> Element:
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
    certificate = _expect(read_element(der, 0), SEQUENCE, "certificate")
    tbs = _expect(read_element(der, certificate.start, certificate.end), SEQUENCE,
                  "tbsCertificate")
    element = read_element(der, tbs.start, tbs.end)
    if element.tag == EXPLICIT_VERSION:
        element = read_element(der, element.end, tbs.end)
    _expect(element, INTEGER, "serialNumber")
    for what in ("signature", "issuer"):
        element = _expect(read_element(der, element.end, tbs.end), SEQUENCE, what)
    validity = _expect(read_element(der, element.end, tbs.end), SEQUENCE, "validity")
    before = read_element(der, validity.start, validity.end)
    after = read_element(der, before.end, validity.end)
    return parse_time(after.tag, der[after.start:after.end])
