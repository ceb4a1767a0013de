"""Certificates, CRLs and keys for the certs tests, made with cryptography (EC keys: fast)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = datetime.now(timezone.utc).replace(microsecond=0)
KEY = ec.generate_private_key(ec.SECP256R1())
"""One key for every certificate: signing is what costs, and the tests judge dates."""


def name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


CA = name("Test OFTP2 CA")


def certificate(common_name: str, days: float, *, serial: int = 1000, issuer: x509.Name = CA,
                starts_in: float | None = None, key: ec.EllipticCurvePrivateKey = KEY
                ) -> x509.Certificate:
    """A certificate that ends in days (negative: expired), starting 30 days before now or
    starts_in days from now."""
    end = NOW + timedelta(days=days)
    start = NOW + timedelta(days=starts_in) if starts_in is not None \
        else min(end, NOW) - timedelta(days=30)
    return (x509.CertificateBuilder().subject_name(name(common_name)).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(start).not_valid_after(end).sign(key, hashes.SHA256()))


def crl(*, revoked: Sequence[tuple[int, datetime]] = (), issuer: x509.Name = CA,
        this_update: float = -1.0, next_update: float = 7.0,
        key: ec.EllipticCurvePrivateKey = KEY) -> x509.CertificateRevocationList:
    """A CRL issued this_update days from now (negative: ago), next update next_update days;
    signed with key (another than KEY: a CRL that only bears the CA's name)."""
    builder = x509.CertificateRevocationListBuilder().issuer_name(issuer) \
        .last_update(NOW + timedelta(days=this_update)) \
        .next_update(NOW + timedelta(days=next_update))
    for serial, date in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(date).build())
    return builder.sign(key, hashes.SHA256())


def pem(item: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return item.public_bytes(serialization.Encoding.PEM)


def der(item: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return item.public_bytes(serialization.Encoding.DER)


def key_pem(password: bytes | None = None, pkcs8: bool = True) -> bytes:
    encryption: serialization.KeySerializationEncryption = \
        serialization.BestAvailableEncryption(password) if password \
        else serialization.NoEncryption()
    return KEY.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8 if pkcs8
                             else serialization.PrivateFormat.TraditionalOpenSSL, encryption)


def key_der(password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = \
        serialization.BestAvailableEncryption(password) if password \
        else serialization.NoEncryption()
    return KEY.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             encryption)


def key_secrets() -> list[str]:
    """Pieces of the key as they could leak: base64 lines of its PEM forms and hex of its DER."""
    pieces = []
    for form in (key_pem(), key_pem(pkcs8=False), key_pem(b"secret")):
        pieces += [line for line in form.decode().splitlines()[1:-1] if len(line) > 20]
    pieces.append(key_der().hex()[:40])
    pieces.append(str(KEY.private_numbers().private_value))
    return pieces
