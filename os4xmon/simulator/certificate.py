"""The simulated TLS receiver's certificate, of any lifetime, made without a crypto library.

``os4x-simulator start`` must work right after ``pip install .``: no extra package, no program
that may be missing. So the certificate is written here in plain Python: a DER encoder for the
handful of types an X.509 certificate needs, and an RSA PKCS#1 v1.5 signature (one ``pow``)
with the fixed key below. That key is public (it is in this file): it serves the simulator on
localhost and must never protect anything. Each start still makes a new certificate (new serial,
``--cert-days`` of lifetime left, negative for expired), so every lifetime fault works.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
from datetime import datetime, timedelta, timezone

TEST_KEY_PEM = """\
-----BEGIN RSA PRIVATE KEY-----
MIIEogIBAAKCAQEAzOsrIOwm0ARv3wI8ahxnxF+KvU7E2E/jmyy2bYI1+wG1O1VU
LD93t2+prKd2OKoSEe8avzafMSPWlukT+o19oSa/tUMf1yYTu6WUrFhxS9OXyx9c
nEtXfBiKpbNVPTH22/keWTHHgGq+fOFMG/0o5grzJBv2eqf83OyMZAQpeFOdk8wg
v47LmCP2iHZolvwHSartYd5E+hhNwAd+hurxgL3o3kjMsjhZtOaZ+m/laTo8YcPJ
OuKa5oap75hK2qlYf1g0VIjKXosrZmLDwajob/E6hHmjKhJjN0EfbEZD2HIYrhSy
E9wS0gf9R+sPnJhf4f6rGh2TvxQR6G++bNa/ZwIDAQABAoIBAA24Pw/PZSfZ7DLg
/5zWdbIa+CXa6hNWLKB9OreT7LuiA87K/z2OgEbv+yBmqTkmVdsNMwa+CE7YyJYb
roKWH4+pvFMiq9/n75FJhu3lEVd+KAm++fXdligRApNmhtyihZXOaj7sNiBob9mE
7LzA/eXXsitm6Ivncbwe5aVlS/DU1X7EeHTVG07AeC6I1ysESLuVUd+WExLNcgMV
gmo2/sVIaloheXL4aasCCavCqX06MNaNy0zHQ+QlBevauIAY7qolC+4sD8pBaqfR
IhPxac+RSVfuTZMbYBjuCf1r4SVUduiCnfJfAhwqKR3xW5ox7syBJRs929Rc9cLX
mxGbOD0CgYEA/ph9U0PfN5WfDISI/DftJB2z0FhBJ7LFlSK1M+S4sGlNwQvAcqlD
aCNSPEUpl3q3hid0DxA65PUKDHgOOe0MIrqAaopAckWEj8gxw7R9E4lL88+vUj6I
HXRJVjUUJdsb/YUq29noGGSlkOyqeuHEmWrw7hpNQV6wqtRogglbci0CgYEAzgyH
4N1UQ1HegP9YoHNus5JLzRB2XX4OwKKPtR2+P96cWjLx8DugTJG0JJUeK1I6XM15
bAMB1M1oExCQqtkXSZnhXKMHIOB9LRK+ggabrhqYMW1tls0MjPEefdunPLHuXiie
x+dhc1VXTVxI0v0S5yQQVno/ttIcgiu0MwgW+GMCgYB1m3d5OUcp5CH+pFKrQCJ5
pobj3YDrl7eR9uCBwkxWoa5bWNRjozESMA7S7JgT84pHnH4OX071aQRlUigwNgJ/
IGwlywuOPfLIgJAMeZm1ppzBWdUBRwWVpZwjCI3wFtFNQXDU8ko2ynd5BPqTnSs2
O6JkOx4o7lbp8wj72Nq3WQKBgCgtY1VicurJjPRkVfi7aWuUbDlpK1thmCjRyenM
CevUUXJ5Gpn4VnJ3usOjXAWgfAbafgGkuHexMcj94uedex/75Gi21U4A2Aew7vrV
pQeW4fRJXSQZiYf2ADcUXJDGNS+hBgz+vg7KJkLMatrRRB1T9+eU4NWaNLrhILsO
qcP3AoGAXm3TanxDcYcwXTnelCrN7lKbkfoVQD8laXEZolgbFrxAextHRrCkC92c
4il4ZM8PVLA2ZiopIpqxWnrk0+0CmwrZu4oTqBYZSmm0d3PEdP11S96SunfidR+E
d0N83LqUMcpXqUOZYEobtzAbC5XPTqOEA+B2JCt2nnu84v//izo=
-----END RSA PRIVATE KEY-----
"""
"""RSA 2048, PKCS#1: the simulator's test key, public on purpose."""

SHA256_WITH_RSA = "1.2.840.113549.1.1.11"
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
COMMON_NAME = "2.5.4.3"
SUBJECT_ALT_NAME = "2.5.29.17"
BASIC_CONSTRAINTS = "2.5.29.19"
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


# -- DER, only what a certificate needs --


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def sequence(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def oid(dotted: str) -> bytes:
    first, second, *rest = (int(part) for part in dotted.split("."))
    body = bytearray([40 * first + second])
    for number in rest:
        chunk = [number & 0x7F]
        left = number >> 7
        while left:
            chunk.append(0x80 | (left & 0x7F))
            left >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def null() -> bytes:
    return b"\x05\x00"


def boolean(value: bool) -> bytes:
    return _tlv(0x01, b"\xff" if value else b"\x00")


def bit_string(content: bytes) -> bytes:
    return _tlv(0x03, b"\x00" + content)


def octet_string(content: bytes) -> bytes:
    return _tlv(0x04, content)


def utf8_string(text: str) -> bytes:
    return _tlv(0x0C, text.encode("utf-8"))


def explicit(number: int, content: bytes) -> bytes:
    return _tlv(0xA0 | number, content)


def time_value(moment: datetime) -> bytes:
    """UTCTime until 2049, GeneralizedTime after, as RFC 5280 wants."""
    moment = moment.astimezone(timezone.utc)
    if 1950 <= moment.year < 2050:
        return _tlv(0x17, moment.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return _tlv(0x18, moment.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def read_integers(der: bytes) -> list[int]:
    """The INTEGERs of one DER SEQUENCE of INTEGERs (an RSA private key)."""

    def length(at: int) -> tuple[int, int]:
        first = der[at]
        if first < 0x80:
            return first, at + 1
        count = first & 0x7F
        return int.from_bytes(der[at + 1:at + 1 + count], "big"), at + 1 + count

    if der[0] != 0x30:
        raise ValueError("not a DER SEQUENCE")
    _, at = length(1)
    values = []
    while at < len(der):
        if der[at] != 0x02:
            raise ValueError("not an INTEGER")
        size, at = length(at + 1)
        values.append(int.from_bytes(der[at:at + size], "big", signed=True))
        at += size
    return values


def _key() -> tuple[int, int, int]:
    """(n, e, d) of the test key."""
    body = "".join(line for line in TEST_KEY_PEM.splitlines() if not line.startswith("-----"))
    _, n, e, d, *_ = read_integers(base64.b64decode(body))
    return n, e, d


def _sign(message: bytes, n: int, d: int) -> bytes:
    """RSASSA-PKCS1-v1_5 with SHA-256."""
    size = (n.bit_length() + 7) // 8
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    padded = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return pow(int.from_bytes(padded, "big"), d, n).to_bytes(size, "big")


def distinguished_name(common_name: str) -> bytes:
    return sequence(_tlv(0x31, sequence(oid(COMMON_NAME), utf8_string(common_name))))


def signed(tbs: bytes) -> bytes:
    """tbs with sha256WithRSAEncryption by the test key: a certificate or a CRL."""
    n, _, d = _key()
    return sequence(tbs, sequence(oid(SHA256_WITH_RSA), null()), bit_string(_sign(tbs, n, d)))


def issued_certificate(common_name: str, issuer: str, serial: int, not_before: datetime,
                       not_after: datetime, *, ca: bool = False) -> bytes:
    """DER of a certificate for common_name signed by issuer (the test key stands for every
    key: a check judges names, serials and dates, not signatures)."""
    n, e, _ = _key()
    algorithm = sequence(oid(SHA256_WITH_RSA), null())
    public_key = sequence(sequence(oid(RSA_ENCRYPTION), null()),
                          bit_string(sequence(integer(n), integer(e))))
    extensions = explicit(3, sequence(
        sequence(oid(BASIC_CONSTRAINTS), boolean(True), octet_string(
            sequence(boolean(True)) if ca else sequence())),
    ))
    tbs = sequence(explicit(0, integer(2)), integer(serial), algorithm,
                   distinguished_name(issuer), sequence(time_value(not_before),
                                                        time_value(not_after)),
                   distinguished_name(common_name), public_key, extensions)
    return signed(tbs)


def revocation_list(issuer: str, this_update: datetime, next_update: datetime | None,
                    revoked: list[tuple[int, datetime]]) -> bytes:
    """DER of a v2 CRL of issuer listing the (serial, revocation date) pairs."""
    entries = b"".join(sequence(integer(serial), time_value(when)) for serial, when in revoked)
    tbs = sequence(integer(1), sequence(oid(SHA256_WITH_RSA), null()),
                   distinguished_name(issuer), time_value(this_update),
                   time_value(next_update) if next_update is not None else b"",
                   sequence(entries) if revoked else b"")
    return signed(tbs)


def pem(der: bytes, label: str = "CERTIFICATE") -> str:
    encoded = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = [encoded[at:at + 64] for at in range(0, len(encoded), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def make_certificate(days: float, cert_file: str, key_file: str, *,
                     starts_in: float | None = None) -> None:
    """A self-signed certificate for localhost, 127.0.0.1 and ::1 that ends in ``days`` (and
    starts ``starts_in`` days from now, or 30 days ago)."""
    n, e, d = _key()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    end = now + timedelta(days=days)
    start = now + timedelta(days=starts_in) if starts_in is not None \
        else min(end, now) - timedelta(days=30)
    name = sequence(_tlv(0x31, sequence(oid(COMMON_NAME), utf8_string("localhost"))))
    algorithm = sequence(oid(SHA256_WITH_RSA), null())
    public_key = sequence(sequence(oid(RSA_ENCRYPTION), null()),
                          bit_string(sequence(integer(n), integer(e))))
    alt_names = sequence(_tlv(0x82, b"localhost"),
                         _tlv(0x87, ipaddress.ip_address("127.0.0.1").packed),
                         _tlv(0x87, ipaddress.ip_address("::1").packed))
    extensions = explicit(3, sequence(
        sequence(oid(SUBJECT_ALT_NAME), octet_string(alt_names)),
        sequence(oid(BASIC_CONSTRAINTS), boolean(True), octet_string(sequence(boolean(True)))),
    ))
    serial = int.from_bytes(secrets.token_bytes(16), "big") >> 1 or 1
    tbs = sequence(explicit(0, integer(2)), integer(serial), algorithm, name,
                   sequence(time_value(start), time_value(end)), name, public_key, extensions)
    certificate = sequence(tbs, algorithm, bit_string(_sign(tbs, n, d)))
    encoded = base64.encodebytes(certificate).decode("ascii").replace("\n", "")
    lines = [encoded[at:at + 64] for at in range(0, len(encoded), 64)]
    with open(cert_file, "w", encoding="ascii") as stream:
        stream.write("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines)
                     + "\n-----END CERTIFICATE-----\n")
    with open(key_file, "w", encoding="ascii") as stream:
        stream.write(TEST_KEY_PEM + "\n")
