"""The installed check_os4x's certs check on real files and on MariaDB and PostgreSQL rows.

The simulator's certstore part writes the certificate directory (CA, chosen lifetimes, a
private key, a fresh, stale or past CRL) and the partner certificates in its database; the
plugin runs as Nagios runs it. Every verdict runs on files and on both databases' rows.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterator

import certtools as ct
import pytest
from dbtools import KINDS, ScratchDatabase, reachable
from helpers import assert_status, needs_server, run_plugin

from os4xmon.simulator import __main__ as simulator_main
from os4xmon.simulator import certstore

LABELS = {"certs", "certs_expiring", "cert_min_days", "crls", "crl_min_hours"}


def store(directory: Path, *specs: str, crl: str = "fresh", partners: tuple[str, ...] = ()
          ) -> str:
    """Writes the simulator's certificate directory with --store-cert specs."""
    argv = ["run", "--cert-store", str(directory), "--store-crl", crl]
    argv += [item for spec in specs for item in ("--store-cert", spec)]
    argv += [item for spec in partners for item in ("--partner-cert", spec)]
    certstore.write_store(simulator_main.build_parser().parse_args(argv))
    return str(directory)


def check(*args: str, code: int | None = None):
    run = run_plugin("--checks", "certs", *args, "-v")
    assert set(run.perfdata) == LABELS, run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    return run


# -- real files --


@pytest.mark.unit
def test_a_healthy_directory_is_ok(tmp_path):
    directory = store(tmp_path / "cert", "server:200", "partner.der:400")
    run = check("--cert-dir", directory, "--crl-max-age", "36h")
    assert_status(run, 0, "3 certificates, the first expires in 200 days, 1 CRL")
    assert run.perfdata["certs"] == "3" and run.perfdata["crls"] == "1"
    assert run.perfdata["certs_expiring"] == "0"
    assert 199.9 <= run.perf_number("cert_min_days") <= 200
    assert 167 <= run.perf_number("crl_min_hours") <= 168
    assert ";30:;7:" in run.first_line.split("cert_min_days=")[1]
    listed = [line for line in run.lines if line.startswith("certificate CN=server")]
    assert listed and "issuer CN=OS4X Simulator CA, serial 0x1001, notAfter" in listed[0]
    assert "days left" in listed[0] and listed[0].endswith(f"{directory}/server.pem")
    assert any(line.startswith("CRL of CN=OS4X Simulator CA: thisUpdate ") and "0 entries"
               in line for line in run.lines)
    assert f"{directory}/server-key.pem: PEM block 1 (RSA PRIVATE KEY): a private key, " \
        "skipped unread" in run.lines


@pytest.mark.unit
@pytest.mark.parametrize(("days", "code", "phrase"), [
    ("20", 1, "expires in 20 days"), ("5", 2, "expires in 5 days"),
    ("-3", 2, "expired 3d 0h ago"), ("100:future", 2, "not yet valid: from"),
    ("100:revoked", 2, "revoked on"),
])
def test_each_certificate_verdict_on_files(tmp_path, days, code, phrase):
    directory = store(tmp_path / "cert", f"tls:{days}")
    run = check("--cert-dir", directory)
    assert_status(run, code, f"certificate CN=tls in {directory}/tls.pem {phrase}")
    assert "what to do: " in run.stdout


@pytest.mark.unit
def test_the_thresholds_are_the_probe_options(tmp_path):
    directory = store(tmp_path / "cert", "tls:20")
    assert_status(check("--cert-dir", directory, "--cert-warning", "10", "--cert-critical",
                        "5"), 0)
    assert_status(check("--cert-dir", directory, "--cert-warning", "60", "--cert-critical",
                        "25"), 2, "expires in 20 days")


@pytest.mark.unit
@pytest.mark.parametrize(("crl", "args", "code", "phrase"), [
    ("past", (), 2, "past its nextUpdate"),
    ("stale", ("--crl-max-age", "2d"), 1, "is 10d 0h old"),
    ("stale", ("--crl-max-age", "11d"), 0, "1 CRL"),
])
def test_each_crl_verdict_on_files(tmp_path, crl, args, code, phrase):
    directory = store(tmp_path / "cert", "tls:200", crl=crl)
    run = check("--crl-file", f"{directory}/*.crl", "--cert-file", f"{directory}/tls.pem", *args)
    assert_status(run, code, phrase)
    if code == 2:
        assert "TLS sessions will be refused" in run.summary
        assert run.perf_number("crl_min_hours") < 0


@pytest.mark.unit
def test_broken_files_are_unknown_and_never_hide_an_expiring_certificate(tmp_path):
    directory = Path(store(tmp_path / "cert", "tls:3"))
    (directory / "empty.crt").write_bytes(b"")
    (directory / "garbage.pem").write_bytes(os.urandom(2000))
    (directory / "cut.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nMIIB")
    os.mkfifo(directory / "fifo.pem")
    os.symlink("/dev/zero", directory / "zero.der")
    with open(directory / "huge.cer", "wb") as stream:
        stream.truncate(8 * 1024 * 1024 * 1024)
    started = time.monotonic()
    run = check("--cert-dir", str(directory), "--cert-file", str(tmp_path / "none-*.pem"))
    assert time.monotonic() - started < 5
    assert_status(run, 2, f"certificate CN=tls in {directory}/tls.pem expires in 3 days")
    text = run.stdout
    for line in (f"UNKNOWN: --cert-dir {directory}/empty.crt is empty",
                 f"UNKNOWN: --cert-dir {directory}/garbage.pem holds no certificate or CRL",
                 f"UNKNOWN: --cert-dir {directory}/cut.pem: PEM block 1 (CERTIFICATE) is cut "
                 "short or not base64",
                 f"UNKNOWN: --cert-dir {directory}/fifo.pem is not a regular file",
                 f"UNKNOWN: --cert-dir {directory}/zero.der is not a regular file",
                 f"UNKNOWN: --cert-dir {directory}/huge.cer is larger than 4 MiB",
                 f"UNKNOWN: --cert-file {tmp_path}/none-*.pem matches no file"):
        assert line in text, text


@pytest.mark.unit
def test_a_crl_that_only_bears_the_cas_name_revokes_nothing(tmp_path):
    """Anyone who can write a file can name the CA as a CRL's issuer: the CA's certificate
    beside it decides. A forged CRL "revoking" a partner is CRITICAL for what it is, and the
    partner is not called revoked; the CA's own CRL revokes."""
    from cryptography.hazmat.primitives.asymmetric import ec

    (tmp_path / "ca.pem").write_bytes(ct.pem(ct.certificate("Test OFTP2 CA", 3650)))
    (tmp_path / "vw.pem").write_bytes(ct.pem(ct.certificate("VW OFTP2", 300, serial=77)))
    forged = ct.crl(revoked=[(77, ct.NOW)], key=ec.generate_private_key(ec.SECP256R1()))
    (tmp_path / "ca.crl").write_bytes(ct.der(forged))
    run = check("--cert-dir", str(tmp_path))
    assert_status(run, 2, f"CRL of CN=Test OFTP2 CA,O=Test ({tmp_path}/ca.crl) is not signed "
                  "by its issuer's certificate: damaged or forged")
    assert "revoked" not in run.stdout and run.perfdata["crl_min_hours"] == "U"
    (tmp_path / "ca.crl").write_bytes(ct.der(ct.crl(revoked=[(77, ct.NOW)])))
    run = check("--cert-dir", str(tmp_path))
    assert_status(run, 2, "certificate CN=VW OFTP2 in")
    assert "revoked on" in run.first_line
    assert "signature verified by its issuer's certificate" in run.stdout


@pytest.mark.unit
def test_only_broken_files_give_unknown(tmp_path):
    (tmp_path / "x.pem").write_bytes(b"not a certificate")
    run = check("--cert-file", str(tmp_path / "x.pem"), "--cert-file", str(tmp_path / "y.pem"))
    assert_status(run, 3, f"--cert-file {tmp_path}/x.pem holds no certificate or CRL")
    assert f"--cert-file {tmp_path}/y.pem cannot read it: No such file or directory" in run.stdout
    assert run.perfdata["certs"] == "0" and run.perfdata["cert_min_days"] == "U"  # x.pem read
    assert run.perfdata["crl_min_hours"] == "U"


@pytest.mark.unit
def test_a_missing_or_empty_directory_is_unknown(tmp_path):
    run = check("--cert-dir", str(tmp_path / "nowhere"))
    assert_status(run, 3,
                  f"--cert-dir {tmp_path}/nowhere: cannot list it: No such file or directory")
    assert set(run.perfdata.values()) == {"U"}  # nothing read: nothing measured
    assert_status(check("--cert-dir", str(tmp_path)), 3,
                  f"--cert-dir {tmp_path} holds no *.pem")


@pytest.mark.unit
def test_without_a_source_the_os4x_directory_is_read():
    run = check()  # /opt/os4x/cert: private in the test namespace, absent here
    assert "/opt/os4x/cert" in run.summary and run.code in (0, 3)


@pytest.mark.unit
def test_no_key_material_in_any_output(tmp_path):
    """Keys beside certificates, inside bundles, DER and encrypted: no output at any
    verbosity holds a byte of them."""
    directory = Path(store(tmp_path / "cert", "tls:5"))
    (directory / "bundle.pem").write_bytes(ct.key_pem() + ct.pem(ct.certificate("B", 3)))
    (directory / "trad.pem").write_bytes(ct.pem(ct.certificate("T", 3)) + ct.key_pem(pkcs8=False))
    (directory / "enc.pem").write_bytes(ct.key_pem(b"pw"))
    (directory / "key.der").write_bytes(ct.key_der())
    (directory / "broken-key.pem").write_bytes(ct.key_pem()[:200])
    secrets = ct.key_secrets()
    for verbosity in ("-v", "-vv", "-vvv"):
        run = run_plugin("--checks", "certs", "--cert-dir", str(directory),
                         "--cert-file", str(directory / "enc.pem"), verbosity)
        assert run.code == 2, run.stdout
        for piece in secrets:
            assert piece not in run.stdout + run.stderr
        assert "BEGIN" not in run.stdout + run.stderr
    assert f"UNKNOWN: --cert-file {directory}/enc.pem holds only a private key" in run.stdout


@pytest.mark.unit
def test_a_crl_file_without_crl_and_a_cert_file_without_certificate(tmp_path):
    directory = store(tmp_path / "cert", "tls:200")
    run = check("--crl-file", f"{directory}/tls.pem", "--cert-file", f"{directory}/ca.crl")
    assert_status(run, 3)
    assert f"--crl-file {directory}/tls.pem holds no CRL" in run.stdout
    assert f"--cert-file {directory}/ca.crl holds no certificate" in run.stdout


@pytest.mark.unit
def test_two_thousand_certificates_within_the_default_timeout(tmp_path):
    directory = tmp_path / "many"
    directory.mkdir()
    for number in range(2000):
        certificate = ct.certificate(f"Partner {number}", 40 + number % 300, serial=number + 1)
        (directory / f"p{number:04}.{'pem' if number % 2 else 'der'}").write_bytes(
            ct.pem(certificate) if number % 2 else ct.der(certificate))
    started = time.monotonic()
    run = check("--cert-dir", str(directory))
    seconds = time.monotonic() - started
    assert_status(run, 0, "2000 certificates, the first expires in 40 days")
    assert seconds < 10 / 2, f"{seconds:.2f}s for 2,000 certificates"  # half the default -t


# -- the simulator --


@pytest.mark.e2e
def test_the_simulator_writes_and_removes_its_certificate_directory(simulator, tmp_path):
    directory = tmp_path / "cert"
    simulator.start("--cert-store", str(directory), "--store-cert", "tls:5",
                                 "--store-crl", "past")
    assert sorted(os.listdir(directory)) == ["ca.crl", "ca.pem", "server-key.pem", "tls.pem"]
    run = check("--cert-dir", str(directory))
    assert_status(run, 2, "past its nextUpdate")
    assert f"CRITICAL: certificate CN=tls in {directory}/tls.pem expires in 5 days" in run.stdout
    simulator.stop_all()
    assert not directory.exists()


# -- MariaDB and PostgreSQL rows --


@pytest.fixture(params=KINDS)
def db(request: pytest.FixtureRequest) -> Iterator[ScratchDatabase]:
    kind = request.param
    needs_server(reachable(kind), f"{kind} is not reachable on 127.0.0.1")
    database = ScratchDatabase(kind)
    database.create()
    yield database
    database.drop()


def fill(db: ScratchDatabase, tmp_path: Path, *partners: str, crl: str = "fresh") -> str:
    """The partner certificates in the database and the CA's CRL in a directory."""
    argv = ["run", *db.simulator_args(), "--cert-store", str(tmp_path / "cert"),
            "--store-crl", crl, *(item for spec in partners for item in ("--partner-cert", spec))]
    args = simulator_main.build_parser().parse_args(argv)
    certstore.write_store(args)
    certstore.after_start(args, simulator_main.scenario_from(args), [])
    return str(tmp_path / "cert" / "ca.crl")


@pytest.mark.server
@pytest.mark.parametrize("query", [certstore.CERT_QUERY, certstore.CERT_QUERY_DER],
                         ids=["pem", "der"])
def test_partner_certificates_from_rows(db, tmp_path, query):
    crl = fill(db, tmp_path, "ODETTE-VW:encryption:5", "ODETTE-VW:signing:20",
               "BMW:encryption:300:revoked", "AUDI:tls:-2", "SEAT:tls:300:future",
               "SKODA:signing:400")
    run = check(*db.plugin_args(None), "--cert-query", query, "--crl-file", crl)
    assert_status(run, 2, "partner ODETTE-VW encryption certificate CN=ODETTE-VW OFTP2 "
                  "encryption expires in 5 days (")
    text = run.stdout
    assert "WARNING: partner ODETTE-VW signing certificate CN=ODETTE-VW OFTP2 signing expires " \
        "in 20 days" in text
    assert "CRITICAL: partner BMW encryption certificate CN=BMW OFTP2 encryption revoked on " \
        in text
    assert "CRITICAL: partner AUDI tls certificate CN=AUDI OFTP2 tls expired 2d 0h ago" in text
    assert "CRITICAL: partner SEAT tls certificate CN=SEAT OFTP2 tls not yet valid" in text
    assert "SKODA" not in run.summary and "partner SKODA signing" in text  # listed at -v
    assert run.perfdata["certs"] == "6" and run.perfdata["certs_expiring"] == "3"
    assert "partner certificates read in " in text


@pytest.mark.server
def test_rows_with_a_crl_past_next_update_and_a_stale_one(db, tmp_path):
    crl = fill(db, tmp_path, "VW:encryption:300", crl="past")
    run = check(*db.plugin_args(None), "--cert-query", certstore.CERT_QUERY, "--crl-file", crl)
    assert_status(run, 2, "past its nextUpdate", "TLS sessions will be refused")
    crl = fill(db, tmp_path, "VW:encryption:300", crl="stale")
    run = check(*db.plugin_args(None), "--cert-query", certstore.CERT_QUERY, "--crl-file", crl,
                "--crl-max-age", "36h")
    assert_status(run, 1, "is 10d 0h old")


@pytest.mark.server
def test_bad_rows_are_unknown_each_and_the_good_ones_judged(db, tmp_path):
    fill(db, tmp_path, "VW:encryption:3")
    garbage = ("SELECT 'X', 'tls', 'garbage' UNION ALL SELECT 'Y', 'tls', NULL "
               "UNION ALL SELECT partner, purpose, cert_pem FROM {prefix}partner_certificates")
    run = check(*db.plugin_args(None), "--cert-query", garbage)
    assert_status(run, 2, "partner VW encryption certificate CN=VW OFTP2 encryption expires")
    assert "UNKNOWN: --cert-query row 1 (partner X tls) holds no certificate" in run.stdout
    assert "UNKNOWN: --cert-query: row 2 (partner Y): the certificate is NULL" in run.stdout


@pytest.mark.server
def test_a_query_that_writes_is_refused_and_a_wrong_shape_is_unknown(db, tmp_path):
    fill(db, tmp_path, "VW:encryption:300")
    run = run_plugin("--checks", "certs", *db.plugin_args(None), "--cert-query",
                     "DELETE FROM os4x_partner_certificates")
    assert_status(run, 3)
    assert len(db.rows("SELECT * FROM os4x_partner_certificates")) == 1
    run = check(*db.plugin_args(None), "--cert-query", "SELECT partner, cert_pem FROM "
                "{prefix}partner_certificates")
    assert_status(run, 3, "returns 2 columns, expected 3 (owner, role, certificate)")
    assert set(run.perfdata.values()) == {"U"}


@pytest.mark.server
def test_a_query_of_no_rows_is_unknown_not_ok(db, tmp_path):
    fill(db, tmp_path)
    run = check(*db.plugin_args(None), "--cert-query", certstore.CERT_QUERY)
    assert_status(run, 3, "certificates: none found in --cert-query")
    assert run.perfdata["certs"] == "0" and run.perfdata["cert_min_days"] == "U"


@pytest.mark.unit
def test_an_unreadable_file_is_unknown_and_the_readable_ones_judged():
    import shutil
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="os4x-certs-"))  # outside root's private tmp
    try:
        directory.chmod(0o755)
        store(directory, "tls:20")
        for name in os.listdir(directory):
            (directory / name).chmod(0o644)
        (directory / "secret.pem").write_bytes(ct.pem(ct.certificate("Hidden", 1)))
        (directory / "secret.pem").chmod(0o600)
        run = run_plugin("--checks", "certs", "--cert-dir", str(directory), "-v", user="nobody")
        assert_status(run, 1, f"certificate CN=tls in {directory}/tls.pem expires in 20 days")
        assert f"UNKNOWN: --cert-dir {directory}/secret.pem cannot read it: Permission denied" \
            in run.stdout
    finally:
        shutil.rmtree(directory)


@pytest.mark.unit
def test_a_file_named_twice_is_judged_once(tmp_path):
    directory = store(tmp_path / "cert", "tls:5")
    run = check("--cert-dir", directory, "--cert-file", f"{directory}/tls.pem",
                "--cert-file", f"{directory}/../cert/t*.pem")
    assert_status(run, 2)
    assert run.perfdata["certs"] == "2" and run.stdout.count("CRITICAL: certificate CN=tls") == 1


@pytest.mark.unit
def test_a_file_of_many_broken_blocks_is_one_line(tmp_path):
    block = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    path = tmp_path / "many.pem"
    path.write_bytes(block * 50000 + ct.pem(ct.certificate("Good", 3)))
    started = time.monotonic()
    run = check("--cert-file", str(path))
    assert time.monotonic() - started < 8
    assert_status(run, 2, f"certificate CN=Good in {path} expires in 3 days")
    assert f"UNKNOWN: --cert-file {path}: PEM block 1 (CERTIFICATE) is not a readable X.509 " \
        "certificate or CRL (and 49999 more blocks)" in run.stdout


@pytest.mark.server
def test_more_rows_than_any_cap_are_all_judged(db, tmp_path):
    """12,000 rows (the old cap was 10,000) stream in and are judged as they come: the expiring
    certificate among them is CRITICAL, the broken rows are counted, none is lost to a cap."""
    fill(db, tmp_path, "VW:encryption:3")
    numbers = "seq_1_to_12000 AS s" if db.kind == "mysql" else \
        "generate_series(1, 12000) AS s(seq)"
    name = "CONCAT('P', seq)" if db.kind == "mysql" else "'P' || seq"
    query = (f"SELECT partner, purpose, cert_pem FROM {{prefix}}partner_certificates UNION ALL "
             f"SELECT {name}, 'tls', NULL FROM {numbers}")
    run = check(*db.plugin_args(None), "--cert-query", query)
    assert_status(run, 2, "partner VW encryption certificate CN=VW OFTP2 encryption expires")
    assert "UNKNOWN: --cert-query: row 2 (partner P1): the certificate is NULL" in run.stdout
    assert "UNKNOWN: --cert-query: 11997 more problems in its rows" in run.stdout
    assert "partner certificates read in " in run.stdout and ": 12001 rows" in run.stdout
