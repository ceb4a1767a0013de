"""Certificates: OS4X's certificate directory and the partner certificates in its database.

With ``--cert-store DIR`` the simulator writes a directory like ``/opt/os4x/cert``: the CA
(``ca.pem``, the root of the simulated trust list), one certificate per ``--store-cert``
(``NAME.pem``, or DER when NAME ends in ``.der``), a private key beside them (``server-key.pem``,
which the check must skip unread) and the CA's CRL (``ca.crl``) as ``--store-crl`` says:
fresh, stale (thisUpdate 10 days ago, nextUpdate still ahead) or past (nextUpdate yesterday).
It lists the serial of every certificate marked revoked.

With ``--partner-cert`` and ``--db-type`` the rows of ``<prefix>partner_certificates``
(partner, purpose, cert_pem TEXT, cert_der BLOB/BYTEA) are written after the PIDs, read with
:data:`CERT_QUERY` (PEM) or :data:`CERT_QUERY_DER`.

Every certificate is made by ``certificate`` in plain Python with the simulator's public test
key: names, serials and dates are what the check judges. It is a part of the simulator
(``simulator.__main__.Part``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from os4xmon.simulator import certificate, database
from os4xmon.simulator.scenario import Scenario

CA_NAME = "OS4X Simulator CA"
TABLE = "partner_certificates"
CERT_QUERY = "SELECT partner, purpose, cert_pem FROM {prefix}partner_certificates"
CERT_QUERY_DER = "SELECT partner, purpose, cert_der FROM {prefix}partner_certificates"
"""The --cert-query that reads the simulator's partner certificates, as PEM text or DER."""
CRL_STATES = ("fresh", "stale", "past", "none")
STALE_DAYS = 10.0
MARKS = ("revoked", "future")


def cert_spec(text: str) -> tuple[str, float, tuple[str, ...]]:
    """NAME:DAYS[:revoked][:future] -> (name, days left, marks)."""
    parts = text.split(":")
    try:
        name, days, marks = parts[0], float(parts[1]), tuple(parts[2:])
    except (IndexError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME:DAYS[:revoked][:future]") \
            from None
    if not name or any(mark not in MARKS for mark in marks):
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME:DAYS[:revoked][:future]")
    return name, days, marks


def partner_spec(text: str) -> tuple[str, str, float, tuple[str, ...]]:
    """PARTNER:PURPOSE:DAYS[:revoked][:future]."""
    partner, _, rest = text.partition(":")
    purpose, days, marks = cert_spec(rest)
    if not partner:
        raise argparse.ArgumentTypeError(f"{text!r} is not PARTNER:PURPOSE:DAYS[:revoked]")
    return partner, purpose, days, marks


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("certificates (OS4X's certificate directory, partner "
                                      "certificates)")
    group.add_argument("--cert-store", metavar="DIR",
                       help="write a certificate directory like /opt/os4x/cert here")
    group.add_argument("--store-cert", type=cert_spec, action="append", default=[],
                       metavar="NAME:DAYS[:revoked][:future]",
                       help="a certificate in --cert-store that ends in DAYS (negative: "
                       "expired); revoked: listed in ca.crl; future: not valid before "
                       "tomorrow; NAME.der is written as DER (repeat the option)")
    group.add_argument("--store-crl", choices=CRL_STATES, default="fresh",
                       help="the CA's CRL in --cert-store: fresh, stale (thisUpdate "
                       f"{STALE_DAYS:g} days ago), past (nextUpdate yesterday) or none")
    group.add_argument("--partner-cert", type=partner_spec, action="append", default=[],
                       metavar="PARTNER:PURPOSE:DAYS[:revoked][:future]",
                       help=f"a row of <prefix>{TABLE} (with --db-type; repeat the option)")


def _dates(days: float, marks: tuple[str, ...], now: datetime) -> tuple[datetime, datetime]:
    end = now + timedelta(days=days)
    start = now + timedelta(days=1) if "future" in marks else min(end, now) - timedelta(days=30)
    return start, end


def issued(name: str, days: float, marks: tuple[str, ...], serial: int,
           now: datetime) -> bytes:
    start, end = _dates(days, marks, now)
    return certificate.issued_certificate(name, CA_NAME, serial, start, end)


def partner_serial(number: int) -> int:
    return 0x5000 + number


def store_serial(number: int) -> int:
    return 0x1000 + number


def revoked_serials(args: argparse.Namespace) -> list[int]:
    serials = [store_serial(number) for number, (_, _, marks)
               in enumerate(args.store_cert, 1) if "revoked" in marks]
    serials += [partner_serial(number) for number, (_, _, _, marks)
                in enumerate(args.partner_cert, 1) if "revoked" in marks]
    return serials


def write_store(args: argparse.Namespace, now: datetime | None = None) -> None:
    """The certificate directory: CA, the --store-cert certificates, a key, the CRL."""
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    directory = args.cert_store
    os.makedirs(directory, exist_ok=True)

    def write(name: str, content: bytes | str) -> None:
        data = content.encode("ascii") if isinstance(content, str) else content
        with open(os.path.join(directory, name), "wb") as stream:
            stream.write(data)

    ca = certificate.issued_certificate(CA_NAME, CA_NAME, 1, now - timedelta(days=365),
                                        now + timedelta(days=3650), ca=True)
    write("ca.pem", certificate.pem(ca))
    for number, (name, days, marks) in enumerate(args.store_cert, 1):
        der = issued(name[:-4] if name.endswith(".der") else name, days, marks,
                     store_serial(number), now)
        if name.endswith(".der"):
            write(name, der)
        else:
            write(f"{name}.pem", certificate.pem(der))
    write("server-key.pem", certificate.TEST_KEY_PEM)  # a key beside them: skipped unread
    if args.store_crl != "none":
        this_update = now - timedelta(days=STALE_DAYS if args.store_crl == "stale" else 0.01)
        next_update = now - timedelta(days=1) if args.store_crl == "past" \
            else now + timedelta(days=7)
        revoked = [(serial, now - timedelta(days=2)) for serial in revoked_serials(args)]
        write("ca.crl", certificate.pem(
            certificate.revocation_list(CA_NAME, this_update, next_update, revoked), "X509 CRL"))


def statements(args: argparse.Namespace, mysql: bool,
               now: datetime | None = None) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The partner certificate table, emptied and filled with --partner-cert's rows (the
    table name comes from --db-prefix, checked to be an identifier)."""
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    table = f"{args.db_prefix}{TABLE}"
    blob = "BLOB" if mysql else "BYTEA"
    yield (f"CREATE TABLE IF NOT EXISTS {table} (partner VARCHAR(64) NOT NULL, purpose "
           f"VARCHAR(32) NOT NULL, cert_pem TEXT, cert_der {blob})"), ()
    yield f"DELETE FROM {table}", ()  # noqa: S608
    for number, (partner, purpose, days, marks) in enumerate(args.partner_cert, 1):
        der = issued(f"{partner} OFTP2 {purpose}", days, marks, partner_serial(number), now)
        yield (f"INSERT INTO {table} (partner, purpose, cert_pem, cert_der) "  # noqa: S608
               "VALUES (%s, %s, %s, %s)"), (partner, purpose, certificate.pem(der), der)


def before_start(args: argparse.Namespace, scenario: Scenario) -> None:
    if args.cert_store:
        write_store(args)


def after_start(args: argparse.Namespace, scenario: Scenario,
                processes: list[dict[str, int]]) -> None:
    """The partner certificates, once the database part has made the database."""
    if not args.db_type:  # the table, empty without --partner-cert, as OS4X has it
        return
    connection = database.admin_connection(args, args.db_name)
    try:
        with connection.cursor() as cursor:
            for sql, values in statements(args, database._kind(args) == "mysql"):
                cursor.execute(sql, values or None)
    finally:
        connection.close()


def written(args: argparse.Namespace) -> list[str]:
    """The names write_store writes."""
    names = ["ca.pem", "server-key.pem", "ca.crl"]
    names += [name if name.endswith(".der") else f"{name}.pem" for name, _, _ in args.store_cert]
    return names


def on_stop(args: argparse.Namespace) -> None:
    """Removes the files it wrote (only those), and the directory when that leaves it empty."""
    if not args.cert_store:
        return
    for name in written(args):
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(args.cert_store, name))
    with contextlib.suppress(OSError):
        os.rmdir(args.cert_store)
