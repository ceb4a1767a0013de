"""The simulator a newcomer starts right after installing: its certificate needs no extra
package, a failed start says why on the terminal and leaves no file, and stop ends every
process it started and removes every file it added (the interpreter copies in the binary
directory too), never one it did not create."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers import free_port, reap_orphans

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
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    try:
        done = simulator("start", "--state-file", str(tmp_path / "sim.json"), "--port", str(port),
                         "--tls-port", str(free_port()), "--bin-dir", str(tmp_path / "bin"),
                         env={**os.environ, "TMPDIR": str(temporary)})
    finally:
        taken.close()
    assert done.returncode == 1
    assert f"port {port} for os4xrd_tcpip is already in use on this host" in done.stderr
    assert "choose another with --port" in done.stderr
    assert not (tmp_path / "sim.json").exists()
    assert list(temporary.iterdir()) == []  # the TLS receiver's certificate went too
    assert not (tmp_path / "bin").exists()


# -- what the simulator leaves on the host --


def start_in(bin_dir: Path, state_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return simulator("start", "--state-file", str(state_file), "--bin-dir", str(bin_dir),
                     "--port", str(free_port()), "--tls-port", str(free_port()), "--no-decoys",
                     *args)


def gone(pid: int) -> bool:
    """No such process, not even a zombie."""
    return not os.path.exists(f"/proc/{pid}")


@pytest.mark.e2e
def test_stop_removes_every_file_and_directory_it_added(tmp_path: Path):
    """The interpreter copies (33 MB in /opt/os4x/bin) go when the simulator stops, and so do
    the directories it had to create."""
    bin_dir = tmp_path / "opt" / "os4x" / "bin"
    state_file = tmp_path / "sim.json"
    done = start_in(bin_dir, state_file)
    assert done.returncode == 0, done.stderr
    assert (bin_dir / "os4xrd").is_file() and (bin_dir / "os4xsqd").is_file()
    assert simulator("stop", "--state-file", str(state_file)).returncode == 0
    assert not (tmp_path / "opt").exists(), sorted(map(str, (tmp_path / "opt").rglob("*")))


@pytest.mark.e2e
def test_stop_keeps_what_was_there_before(tmp_path: Path):
    """An existing directory with the admin's own files: only the simulator's files go."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "notes.txt").write_text("mine\n")
    state_file = tmp_path / "sim.json"
    assert start_in(bin_dir, state_file).returncode == 0
    assert simulator("stop", "--state-file", str(state_file)).returncode == 0
    assert sorted(path.name for path in bin_dir.iterdir()) == ["notes.txt"]


@pytest.mark.e2e
def test_simulators_sharing_a_directory_leave_it_to_the_last(tmp_path: Path):
    """The first to stop leaves the binaries the other's daemons run from (a removed one
    would look like an update without restart to the plugin)."""
    bin_dir = tmp_path / "bin"
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert start_in(bin_dir, first).returncode == 0
    try:
        assert start_in(bin_dir, second, "--config", "/etc/os4x-b.conf").returncode == 0
        assert simulator("stop", "--state-file", str(first)).returncode == 0
        assert (bin_dir / "os4xrd").is_file()
        with open(second, encoding="utf-8") as stream:
            master = next(p["pid"] for p in json.load(stream)["processes"]
                          if p["name"] == "os4xrd")
        assert not os.readlink(f"/proc/{master}/exe").endswith(" (deleted)")
    finally:
        simulator("stop", "--state-file", str(first))
        assert simulator("stop", "--state-file", str(second)).returncode == 0
    assert not bin_dir.exists()


@pytest.mark.e2e
def test_a_file_it_did_not_create_is_never_replaced(tmp_path: Path):
    """A real OS4X binary in the directory: the start is refused, nothing is added, no file
    of the failed start is left in the temporary directory."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real = bin_dir / "os4xsqd"
    real.write_bytes(b"\x7fELF the vendor's os4xsqd")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    done = subprocess.run([*SIMULATOR, "start", "--bin-dir", str(bin_dir), "--port",
                           str(free_port()), "--tls-port", str(free_port())],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "TMPDIR": str(temporary)})
    assert done.returncode == 1
    assert "did not put there (a real OS4X?)" in done.stderr, done.stderr
    assert real.read_bytes() == b"\x7fELF the vendor's os4xsqd"
    assert sorted(path.name for path in bin_dir.iterdir()) == ["os4xsqd"]
    assert list(temporary.iterdir()) == []


@pytest.mark.e2e
def test_a_failed_start_leaves_no_file_in_the_temporary_directory(tmp_path: Path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    done = subprocess.run([*SIMULATOR, "start", "--bin-dir", str(tmp_path / "bin"), "--port",
                           str(free_port()), "--tls-port", str(free_port()), "--db-type",
                           "postgresql", "--db-host", "127.0.0.1", "--db-port",
                           str(free_port())],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "TMPDIR": str(temporary)})
    assert done.returncode == 1, done.stderr
    assert list(temporary.iterdir()) == []
    assert not (tmp_path / "bin").exists()


@pytest.mark.e2e
def test_stop_ends_a_stopped_daemon_at_once_and_leaves_no_zombie(tmp_path: Path):
    """start --stopped os4xsqd, then stop: every process it started ends, the stopped one
    too, within a second or two instead of a 10 s wait that left them behind."""
    state_file = tmp_path / "sim.json"
    done = start_in(tmp_path / "bin", state_file, "--stopped", "os4xsqd")
    assert done.returncode == 0, done.stderr
    with open(state_file, encoding="utf-8") as stream:
        state = json.load(stream)
    began = time.monotonic()
    stopped = simulator("stop", "--state-file", str(state_file))
    took = time.monotonic() - began
    assert stopped.returncode == 0, stopped.stderr
    assert took < 3, f"stop took {took:.1f} s"
    reap_orphans()  # the launcher's own exit status, if we are the namespace's init
    left = [p for p in state["processes"] if not gone(p["pid"])]
    assert not left, left
    assert gone(state["launcher"]) or os.getpid() != 1
