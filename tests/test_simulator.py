"""The simulator a newcomer starts right after installing: its certificate needs no extra
package, a failed start says why on the terminal, and stop leaves nothing behind."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers import free_port

from os4xmon.simulator import certificate
from os4xmon.wire import x509 as x509_reader

SIMULATOR = [sys.executable, "-m", "os4xmon.simulator"]


def simulator(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SIMULATOR, *args], capture_output=True, text=True, timeout=60,
                          check=False, env=env)


@pytest.mark.unit
def test_der_encodes_as_x690_says():
    assert certificate.oid("1.2.840.113549.1.1.11") == bytes.fromhex("06092a864886f70d01010b")
    assert certificate.integer(0) == b"\x02\x01\x00"
    assert certificate.integer(128) == b"\x02\x02\x00\x80"  # positive: a leading zero byte
    assert certificate.sequence(b"\x05\x00" * 100)[:4] == b"\x30\x81\xc8\x05"


@pytest.mark.unit
def test_the_test_key_reads_back():
    n, e, d = certificate._key()
    assert e == 65537
    assert n.bit_length() == 2048
    assert pow(pow(12345, e, n), d, n) == 12345


@pytest.mark.unit
@pytest.mark.parametrize("days", [365.0, 20.5, -3.0, 40000.0])
def test_the_certificate_is_valid_x509_with_the_lifetime_asked_for(tmp_path: Path, days: float):
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives.asymmetric import padding

    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.make_certificate(days, str(cert_file), str(key_file))
    parsed = x509.load_pem_x509_certificate(cert_file.read_bytes())
    parsed.public_key().verify(parsed.signature, parsed.tbs_certificate_bytes,
                               padding.PKCS1v15(), parsed.signature_hash_algorithm)
    end = getattr(parsed, "not_valid_after_utc", None) or \
        parsed.not_valid_after.replace(tzinfo=timezone.utc)
    left = (end - datetime.now(timezone.utc)).total_seconds() / 86400
    assert days - 0.01 < left <= days
    names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_file), str(key_file))  # OpenSSL takes the pair
    der = ssl.PEM_cert_to_DER_cert(cert_file.read_text())
    assert x509_reader.not_after(der) == end  # what the plugin reads is what was written


@pytest.mark.e2e
def test_start_help_shows_the_start_options():
    done = simulator("start", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: os4x-simulator start")
    for option in ("--isdn-controllers", "--missing", "--port-fault", "--db-type", "--run-as"):
        assert option in done.stdout
    stop_help = simulator("stop", "--help").stdout
    assert "--state-file" in stop_help and "--isdn-controllers" not in stop_help


@pytest.mark.e2e
def test_a_failed_start_says_why_on_the_terminal_and_leaves_nothing(tmp_path: Path):
    state_file = tmp_path / "sim.json"
    closed = free_port()  # nothing listens there: the database connection is refused
    done = simulator("start", "--state-file", str(state_file), "--port", str(free_port()),
                     "--tls-port", str(free_port()), "--db-type", "postgresql",
                     "--db-host", "127.0.0.1", "--db-port", str(closed))
    assert done.returncode == 1
    assert done.stderr.startswith("os4x-simulator: the simulator did not start: ")
    assert "refused" in done.stderr.lower(), done.stderr
    assert "Traceback" not in done.stderr
    assert not state_file.exists()


@pytest.mark.e2e
def test_it_starts_without_cryptography_and_stop_removes_the_state_file_and_the_log(
        tmp_path: Path):
    """What ``pip install .`` gives is enough: the TLS receiver's certificate needs no extra
    package (an import of cryptography fails here), and stop leaves no file behind."""
    blocker = tmp_path / "blocker" / "cryptography"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('not installed')\n")
    environment = {**os.environ, "PYTHONPATH": str(blocker.parent)}
    state_file = tmp_path / "sim.json"
    done = simulator("start", "--state-file", str(state_file), "--port", str(free_port()),
                     "--tls-port", str(free_port()), "--cert-days", "-2", "--no-decoys",
                     env=environment)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(state_file)
    log = Path(f"{state_file}.log")
    assert state_file.exists() and log.exists()
    assert simulator("stop", "--state-file", str(state_file)).returncode == 0
    assert not state_file.exists()
    assert not log.exists()


@pytest.mark.e2e
def test_without_a_master_it_waits_for_no_receiver_port(tmp_path: Path):
    """The receivers never start without their master: their ports are not waited for (the
    launcher says on its log which ports it gave up on)."""
    state_file = tmp_path / "sim.json"
    done = simulator("start", "--state-file", str(state_file), "--missing", "os4xrd",
                     "--port", str(free_port()), "--tls-port", str(free_port()))
    try:
        assert done.returncode == 0, done.stderr
        assert "not listening" not in Path(f"{state_file}.log").read_text()
    finally:
        simulator("stop", "--state-file", str(state_file))


@pytest.mark.e2e
def test_a_port_in_use_stops_the_start_and_says_which(tmp_path: Path):
    """On a host where OS4X runs, 3305 is taken: the simulator says so instead of starting
    receivers that cannot listen (the plugin would then see the other program's socket)."""
    import socket

    taken = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    taken.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    taken.bind(("::", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        done = simulator("start", "--state-file", str(tmp_path / "sim.json"), "--port", str(port),
                         "--tls-port", str(free_port()))
    finally:
        taken.close()
    assert done.returncode == 1
    assert f"port {port} for os4xrd_tcpip is already in use on this host" in done.stderr
    assert "choose another with --port" in done.stderr
    assert not (tmp_path / "sim.json").exists()
