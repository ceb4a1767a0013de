"""Certificates and CRLs from files and database values: read with limits, parsed to plain data.

Everything here is hostile input: a path may name a FIFO without writer, ``/dev/zero`` or a
1 GB log; a file may hold garbage, a truncated PEM block or a private key. So a file is opened
non-blocking, refused unless it is a regular file, and read at most :data:`MAX_FILE_BYTES`
(+1 to tell that it is bigger). PEM blocks are found by their labels; a private key block
(``-----BEGIN ... PRIVATE KEY-----``, encrypted or not) is skipped by its header alone: its
body is never decoded, sliced or copied, and the buffer that held the file is overwritten with
zeros once it is parsed. DER is told apart by its first ASN.1 elements, a DER private key
(PKCS#1, PKCS#8, encrypted PKCS#8) is skipped the same way.

X.509 itself is parsed by ``cryptography`` (every distribution packages it), imported only by
:func:`library` when the certs aspect runs; what comes out is :class:`Certificate` and
:class:`Crl`, plain records the verdicts (``checks.certs``) judge without the library.
"""

from __future__ import annotations

import binascii
import os
import stat
from datetime import datetime, timezone

from os4xmon.core.record import dataclass, field, fields
from os4xmon.core.text import printable
from os4xmon.wire.x509 import SEQUENCE, read_element

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Iterator


MAX_FILE_BYTES = 4 * 1024 * 1024
"""A CA bundle is a few hundred KB, a large CA's CRL a few MB: a bigger file is a mistake
(a log, an image, /dev/zero through a symlink)."""

GROW = 64 * 1024
"""Bytes added to the buffer when a file grew after fstat."""

SUFFIXES = (".pem", ".crt", ".cer", ".der", ".crl")
"""What the certificate directory is searched for (any case)."""

INSTALL = ("the certs check needs the Python library cryptography: apt-get install "
           "python3-cryptography (dnf install python3-cryptography; pip install cryptography)")

OID = 0x06
INTEGER = 0x02


class MissingLibrary(Exception):
    """``cryptography`` is not installed: the aspect says what to install."""


class FileProblem(Exception):
    """A file that cannot be used; the message names the reason (never its content)."""


@dataclass(frozen=True)
class Certificate:
    """What the verdicts need of one certificate; every text already printable."""

    subject: str
    common_name: str | None
    issuer: str
    serial: int
    not_before: datetime
    not_after: datetime
    source: str  # the file, or "partner OWNER ROLE"
    owner: str | None = None
    role: str | None = None
    public_key: Any = field(default=None, repr=False, compare=False)  # checks its CRLs

    @property
    def name(self) -> str:
        """How a message names it: CN=..., or the whole subject when it has no CN."""
        return f"CN={self.common_name}" if self.common_name is not None else \
            (self.subject or "(empty subject)")


SIGNATURE_VALID = "valid"
SIGNATURE_INVALID = "invalid"
SIGNATURE_UNCHECKED = "unchecked"
"""What :func:`check_signatures` found: a certificate named like the CRL's issuer verifies its
signature; certificates named so exist and none does (damaged, or forged to alarm or to hide);
no such certificate among the sources (nothing to check it with)."""


@dataclass(frozen=True)
class Crl:
    """What the verdicts need of one CRL: its issuer, dates, revoked serials, and whether its
    issuer's certificate verifies its signature (:func:`check_signatures`)."""

    issuer: str
    this_update: datetime
    next_update: datetime | None
    revoked: dict[int, datetime] = field(compare=False)  # serial -> revocation date
    source: str = ""
    signature: str = SIGNATURE_UNCHECKED  # or SIGNATURE_VALID, SIGNATURE_INVALID
    loaded: Any = field(default=None, repr=False, compare=False)  # until it is checked


@dataclass
class Parsed:
    """What one file or value held: certificates, CRLs, and notes for -v (keys skipped...)."""

    certificates: list[Certificate] = field(default_factory=list)
    crls: list[Crl] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # blocks that could not be read
    keys: int = 0  # private keys skipped


def library() -> Any:
    """The ``cryptography.x509`` module, imported now (the aspect runs), or MissingLibrary."""
    try:
        from cryptography import x509  # a compiled library: only the certs aspect pays for it
    except ImportError:
        raise MissingLibrary(INSTALL) from None
    return x509


# -- reading files: bounded, non-blocking, regular files only --


def read_limited(path: str, limit: int = MAX_FILE_BYTES) -> bytearray:
    """The bytes of a regular file, at most limit; FileProblem names why not (at once: a FIFO
    without writer, a device, a directory or a file too big never makes the check wait)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise FileProblem(f"cannot read it: {error.strerror or error}") from None
    buffer = bytearray()
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise FileProblem("is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem("is not a regular file (a FIFO, socket or device)")
        if info.st_size > limit:
            raise FileProblem(f"is larger than {limit // 1024 // 1024} MiB")
        # sized by fstat (a 4 MiB buffer per file would cost 2,000 files 8 GB of zeroing); a
        # file that grows meanwhile is read on, at most limit + 1 bytes
        buffer = bytearray(min(info.st_size, limit) + 1)
        size = 0
        while size <= limit:
            if size == len(buffer):  # a new buffer, the old one wiped (extend may move it)
                larger = bytearray(min(size + GROW, limit + 1))
                larger[:size] = buffer
                wipe(buffer)
                buffer = larger
            with memoryview(buffer) as view:
                count = os.readv(descriptor, [view[size:]]) if hasattr(os, "readv") \
                    else _read_into(descriptor, view[size:])
            if not count:
                break
            size += count
    except OSError as error:
        wipe(buffer)
        raise FileProblem(f"cannot read it: {error.strerror or error}") from None
    finally:
        os.close(descriptor)
    if size > limit:
        wipe(buffer)
        raise FileProblem(f"is larger than {limit // 1024 // 1024} MiB")
    del buffer[size:]
    return buffer


def _read_into(descriptor: int, view: memoryview) -> int:
    chunk = os.read(descriptor, len(view))
    view[:len(chunk)] = chunk
    return len(chunk)


def wipe(buffer: bytearray) -> None:
    """Overwrite what a file held (a private key may have been in it) before it is freed."""
    buffer[:] = bytes(len(buffer))


def directory_files(directory: str) -> list[str]:
    """The certificate and CRL files of a directory (not its subdirectories), sorted; OSError
    when it cannot be listed."""
    names = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.lower().endswith(SUFFIXES) and not entry.is_dir():
                names.append(entry.path)
    return sorted(names)


def expand(pattern: str) -> list[str]:
    """The files a --cert-file/--crl-file names: a glob expanded (sorted; maybe none), a plain
    path as it is (its problems are reported when it is read)."""
    import glob  # only runs that check certificates pay for it

    if not glob.has_magic(pattern):
        return [pattern]
    return sorted(glob.glob(pattern))


# -- PEM and DER: which blocks, without touching a key's body --


BEGIN = b"-----BEGIN "
END = b"-----END "
DASHES = b"-----"
CERT_LABELS = (b"CERTIFICATE", b"X509 CERTIFICATE")
CRL_LABELS = (b"X509 CRL",)
MAX_LABEL = 64


def pem_blocks(data: bytearray | bytes) -> Iterator[tuple[str, bytes | None]]:
    """(label, DER) of each PEM block; DER None for a private key (body never decoded) or a
    block that is cut short or not base64. Works on the buffer in place: nothing of a key
    block is copied."""
    at = data.find(BEGIN)
    while at >= 0:
        label_start = at + len(BEGIN)
        label_end = data.find(DASHES, label_start, label_start + MAX_LABEL + 1)
        if label_end < 0:
            yield "(unreadable PEM header)", None
            at = data.find(BEGIN, label_start)
            continue
        label = bytes(data[label_start:label_end])
        shown = printable(label.decode("ascii", "replace"), MAX_LABEL)
        end_marker = END + label + DASHES
        body_end = data.find(end_marker, label_end)
        if b"PRIVATE KEY" in label:
            yield shown, None  # a key: its body is neither decoded nor copied
            if body_end < 0:
                return  # a key without its END line: nothing after it can be told apart
            at = data.find(BEGIN, body_end + len(end_marker))
            continue
        if body_end < 0:
            yield shown, None  # cut short
            return
        body = bytes(data[label_end + len(DASHES):body_end])
        try:
            der: bytes | None = binascii.a2b_base64(b"".join(
                line for line in body.split() if b":" not in line))
        except (binascii.Error, ValueError):
            der = None
        yield shown, der
        at = data.find(BEGIN, body_end + len(end_marker))


def der_kind(data: bytearray | bytes) -> str:
    """"x509", "key" (a DER private key: PKCS#1/PKCS#8, plain or encrypted) or "" (not DER),
    from the first ASN.1 elements alone."""
    try:
        outer = read_element(data, 0)
        if outer.tag != SEQUENCE or outer.end != len(data):
            return ""
        first = read_element(data, outer.start, outer.end)
        if first.tag == INTEGER:  # RSAPrivateKey / PrivateKeyInfo start with their version
            return "key"
        if first.tag != SEQUENCE:
            return ""
        inner = read_element(data, first.start, first.end)
        if inner.tag == OID:  # EncryptedPrivateKeyInfo: an AlgorithmIdentifier first
            return "key"
        return "x509"
    except ValueError:
        return ""


# -- parsing with cryptography into plain records --


def _utc(value: Any, name: str) -> datetime | None:
    """A datetime attribute of a cryptography object, as UTC (before 42: naive UTC)."""
    moment = getattr(value, f"{name}_utc", None)
    if moment is None:
        moment = getattr(value, name)
        if moment is not None:
            moment = moment.replace(tzinfo=timezone.utc)
    return moment if isinstance(moment, datetime) else None


def _required(value: Any, name: str) -> datetime:
    moment = _utc(value, name)
    if moment is None:
        raise ValueError(f"no {name}")
    return moment


def _name_text(name: Any) -> str:
    try:
        return printable(name.rfc4514_string(), 200)
    except Exception:  # a name the library cannot write: still a name to compare
        return "(unreadable name)"


def _common_name(x509: Any, name: Any) -> str | None:
    try:
        values = name.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    except Exception:
        return None
    if not values:
        return None
    value = values[0].value
    return printable(value if isinstance(value, str) else repr(value), 80)


def certificate_of(x509: Any, der: bytes, source: str, owner: str | None = None,
                   role: str | None = None) -> Certificate:
    """A Certificate from DER; ValueError when it is not one."""
    loaded = x509.load_der_x509_certificate(der)
    return Certificate(
        subject=_name_text(loaded.subject), common_name=_common_name(x509, loaded.subject),
        issuer=_name_text(loaded.issuer), serial=loaded.serial_number,
        not_before=_required(loaded, "not_valid_before"),
        not_after=_required(loaded, "not_valid_after"),
        source=source, owner=owner, role=role, public_key=_public_key(loaded))


def _public_key(certificate: Any) -> Any:
    try:
        return certificate.public_key()
    except Exception:  # an algorithm the library does not know: nothing it can verify
        return None


def crl_of(x509: Any, der: bytes, source: str) -> Crl:
    """A Crl from DER; ValueError when it is not one."""
    loaded = x509.load_der_x509_crl(der)
    revoked = {entry.serial_number: _required(entry, "revocation_date") for entry in loaded}
    return Crl(issuer=_name_text(loaded.issuer), this_update=_required(loaded, "last_update"),
               next_update=_utc(loaded, "next_update"), revoked=revoked, source=source,
               loaded=loaded)


def check_signatures(crls: list[Crl], certificates: list[Certificate]) -> list[Crl]:
    """Each CRL with its signature checked against every certificate named like its issuer
    (the name alone proves nothing: a forged CRL can bear any issuer's name)."""
    keys: dict[str, list[Any]] = {}
    for certificate in certificates:
        if certificate.public_key is not None:
            keys.setdefault(certificate.subject, []).append(certificate.public_key)
    checked = []
    for crl in crls:
        candidates = keys.get(crl.issuer, [])
        if crl.loaded is None or not candidates:
            signature = SIGNATURE_UNCHECKED
        elif any(_verifies(crl.loaded, key) for key in candidates):
            signature = SIGNATURE_VALID
        else:
            signature = SIGNATURE_INVALID
        values = {item.name: getattr(crl, item.name) for item in fields(crl)}
        checked.append(Crl(**{**values, "signature": signature, "loaded": None}))
    return checked


def _verifies(crl: Any, key: Any) -> bool:
    try:
        return bool(crl.is_signature_valid(key))
    except Exception:  # a key type that cannot sign CRLs (X25519, say): not this issuer
        return False


def _one_der(x509: Any, der: bytes, parsed: Parsed, what: str, *, source: str,
             owner: str | None, role: str | None, want: str) -> None:
    """One DER object into parsed: a certificate or a CRL, whichever it is."""
    import warnings

    with warnings.catch_warnings():  # a negative serial warns on stderr: judged, not printed
        warnings.simplefilter("ignore")
        attempts = ("crl", "certificate") if want == "crl" else ("certificate", "crl")
        for kind in attempts:
            try:
                if kind == "certificate":
                    parsed.certificates.append(certificate_of(x509, der, source, owner, role))
                else:
                    parsed.crls.append(crl_of(x509, der, source))
                return
            except Exception:  # noqa: S112  # ValueError, or the library's own parse errors
                continue
    parsed.problems.append(f"{what} is not a readable X.509 certificate or CRL")


def parse(data: bytearray | bytes, source: str, owner: str | None = None,
          role: str | None = None, want: str = "certificate") -> Parsed:
    """Every certificate and CRL of a PEM bundle or a DER object; private keys skipped.

    ``want`` ("certificate" or "crl") is only which to try first; either is taken."""
    x509 = library()
    parsed = Parsed()
    if BEGIN in data:
        for number, (label, der) in enumerate(pem_blocks(data), 1):
            what = f"PEM block {number} ({label})"
            if "PRIVATE KEY" in label:
                parsed.keys += 1
                parsed.notes.append(f"{source}: {what}: a private key, skipped unread")
            elif der is None:
                parsed.problems.append(f"{what} is cut short or not base64")
            elif label.encode() in CERT_LABELS + CRL_LABELS:
                _one_der(x509, der, parsed, what, source=source, owner=owner, role=role,
                         want="crl" if label.encode() in CRL_LABELS else "certificate")
            else:
                parsed.notes.append(f"{source}: {what} skipped: neither a certificate nor a "
                                    "CRL")
        return parsed
    kind = der_kind(data)
    if kind == "key":
        parsed.keys += 1
        parsed.notes.append(f"{source}: a private key (DER), skipped unread")
    elif kind == "x509":
        _one_der(x509, bytes(data), parsed, "its DER content", source=source, owner=owner,
                 role=role, want=want)
    return parsed


def read_file(path: str, want: str = "certificate") -> Parsed:
    """A file's certificates and CRLs; FileProblem when it cannot be read at all."""
    data = read_limited(path)
    if not data:
        raise FileProblem("is empty")
    try:
        return parse(data, printable(path, 200), want=want)
    finally:
        wipe(data)


def value_bytes(value: object) -> bytearray:
    """A database value as bytes: PEM text, or DER (bytes, bytearray, memoryview)."""
    if isinstance(value, str):
        return bytearray(value.encode("utf-8", "replace"))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytearray(value)
    raise ValueError(f"a {type(value).__name__}, not PEM text or DER bytes")

