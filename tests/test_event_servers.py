"""os4x-event against real servers: Icinga 2's API, Nagios Core's command file, and servers
that are down, black-holing or slow (each run still ends within 2 s, exit 0, with a syslog line).

The installed ``os4x-event`` runs as OS4X would run it; its syslog lines go to a datagram
socket of the test (the ``syslog-socket`` key), so the test reads exactly what an admin would
find. The API password is checked to appear nowhere: not in syslog, not on stdout or stderr.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
from deploy_helpers import CONTRIB, chown_tree, free_port, nagios_directory
from test_icinga2 import ICINGA2, Icinga, need_icinga
from test_nagios import Nagios, need_nagios

pytestmark = pytest.mark.server

PASSWORD = "Ev3nt-Sekr3t"
LIMIT = 2.0


def event_command() -> str:
    found = shutil.which("os4x-event", path=str(Path(sys.executable).parent))
    assert found, "os4x-event is not installed next to the test interpreter: pip install ."
    return found


class Syslog:
    """A datagram socket standing in for /dev/log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(path))
        self.socket.settimeout(0.1)

    def lines(self) -> list[str]:
        found = []
        with contextlib.suppress(OSError):
            while True:
                found.append(self.socket.recv(65536).decode("utf-8", "replace"))
        return found


@pytest.fixture
def syslog(tmp_path) -> Iterator[Syslog]:
    catcher = Syslog(tmp_path / "log")
    yield catcher
    catcher.socket.close()


def write_config(path: Path, syslog: Syslog, **keys: str) -> Path:
    lines = ["[os4x-event]", f"syslog-socket = {syslog.path}", "host-name = oftp1"]
    lines += [f"{key.replace('_', '-')} = {value}" for key, value in keys.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def send(config: Path, *words: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    done = subprocess.run([event_command(), "--config", str(config), *words],
                          capture_output=True, text=True, timeout=30, check=False)
    return time.monotonic() - started, done


def assert_quick_and_quiet(seconds: float, done: subprocess.CompletedProcess,
                           logged: list[str]) -> None:
    assert done.returncode == 0, done
    assert seconds < LIMIT, f"took {seconds:.2f} s"
    assert PASSWORD not in done.stdout + done.stderr + "".join(logged)


# -- servers that do not answer as they should --


@contextlib.contextmanager
def black_hole() -> Iterator[int]:
    """A port that completes TCP's handshake (the kernel does) and then says nothing."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


@contextlib.contextmanager
def slow_server(delay: float = 5.0) -> Iterator[int]:
    """Accepts, reads the request, answers only after delay seconds."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            connection, _ = server.accept()
            with connection:
                connection.recv(65536)
                stop.wait(delay)
                connection.sendall(b"HTTP/1.1 200 OK\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        server.close()


def api_config(tmp_path: Path, syslog: Syslog, port: int) -> Path:
    return write_config(tmp_path / "event.ini", syslog, icinga2_api=f"https://127.0.0.1:{port}",
                        api_user="os4x-event", api_password=PASSWORD)


def test_a_server_that_is_down(tmp_path, syslog):
    seconds, done = send(api_config(tmp_path, syslog, free_port()), "end-session", "ACME", "1",
                         "04")
    logged = syslog.lines()
    assert_quick_and_quiet(seconds, done, logged)
    assert any("Icinga 2 API 127.0.0.1" in line and "refused" in line for line in logged), logged


def test_a_server_that_black_holes(tmp_path, syslog):
    with black_hole() as port:
        seconds, done = send(api_config(tmp_path, syslog, port), "end-session", "ACME", "1", "04")
    logged = syslog.lines()
    assert_quick_and_quiet(seconds, done, logged)
    assert any("no answer" in line for line in logged), logged


def test_a_server_that_answers_slowly(tmp_path, syslog):
    with slow_server() as port:
        seconds, done = send(api_config(tmp_path, syslog, port), "queue-blocked", "ACME")
    logged = syslog.lines()
    assert_quick_and_quiet(seconds, done, logged)
    assert any("Icinga 2 API 127.0.0.1" in line for line in logged), logged


def test_nagios_not_running(tmp_path, syslog):
    import os

    pipe = tmp_path / "nagios.cmd"
    os.mkfifo(pipe)
    config = write_config(tmp_path / "event.ini", syslog, nagios_command_file=str(pipe))
    seconds, done = send(config, "end-session", "ACME", "1", "00")
    logged = syslog.lines()
    assert_quick_and_quiet(seconds, done, logged)
    assert any("not reading it" in line for line in logged), logged


def test_the_start_receive_role_is_refused_at_once(tmp_path, syslog):
    config = api_config(tmp_path, syslog, free_port())
    seconds, done = send(config, "start-receive", "ACME", "1", "file")
    assert_quick_and_quiet(seconds, done, [])
    assert "must not be OS4X's start-receive script" in done.stderr


def test_a_config_others_may_read_is_refused(tmp_path, syslog):
    config = api_config(tmp_path, syslog, free_port())
    config.chmod(0o644)
    seconds, done = send(config, "licence")
    assert_quick_and_quiet(seconds, done, [])
    assert "chmod 600" in done.stderr


# -- the real Icinga 2 --

API_ADMIN = "os4x-test"
API_ADMIN_PASSWORD = "os4x-test-password"  # the test's own reader, loopback only
EVENT_HOST = "oftp1"


class EventIcinga(Icinga):
    """An Icinga 2 whose node is "localhost", so that its API certificate verifies by name."""

    NODE = "localhost"

    def defines(self) -> list[str]:
        return [f"-DNodeName={self.NODE}" if item.startswith("-DNodeName=") else item
                for item in super().defines()]

    def make_certificate(self) -> None:
        certs = self.directory / "data" / "certs"
        chown_tree(self.directory)
        done = subprocess.run([*ICINGA2, "pki", "new-cert", "--cn", self.NODE,
                               "--key", str(certs / f"{self.NODE}.key"),
                               "--cert", str(certs / f"{self.NODE}.crt"), *self.defines()],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        shutil.copy(certs / f"{self.NODE}.crt", certs / "ca.crt")

    @property
    def ca_file(self) -> Path:
        return self.directory / "data" / "certs" / "ca.crt"

    def service(self, name: str) -> dict:
        found = self.api("GET", "/v1/objects/services?attrs=state&attrs=last_check_result"
                                "&attrs=name&attrs=host_name")["results"]
        return next(s["attrs"] for s in found
                    if s["attrs"]["host_name"] == EVENT_HOST and s["attrs"]["name"] == name)


@pytest.fixture(scope="module")
def icinga() -> Iterator[EventIcinga]:
    need_icinga()
    with nagios_directory("os4x-event-icinga2-") as directory:
        instance = EventIcinga(directory)
        instance.make_certificate()
        # the contrib file as shipped, with the password the test's event.ini gives
        contrib = (CONTRIB / "icinga2" / "os4x-event.conf").read_text()
        assert 'password = "change-me"' in contrib
        (instance.etc / "os4x-event.conf").write_text(
            contrib.replace('password = "change-me"', f'password = "{PASSWORD}"'))
        instance.write_main(
            f'object ApiUser "{API_ADMIN}" {{ password = "{API_ADMIN_PASSWORD}"; '
            'permissions = [ "*" ] }',
            'include "os4x-event.conf"',
            f'object Host "{EVENT_HOST}" {{',
            '  check_command = "dummy"',
            "  enable_active_checks = false",
            "  vars.os4x_events = true",
            '  vars.os4x_partners = [ "ACME" ]',
            "}",
        )
        instance.start()
        try:
            yield instance
        finally:
            instance.stop()
            chown_tree(directory)


def icinga_config(tmp_path: Path, syslog: Syslog, icinga: EventIcinga, **extra: str) -> Path:
    keys = {"icinga2_api": f"https://localhost:{icinga.port}", "api_user": "os4x-event",
            "api_password": PASSWORD, "ca_file": str(icinga.ca_file), "ttl": "600"}
    keys.update(extra)
    return write_config(tmp_path / "event.ini", syslog, **keys)


def test_icinga_end_session_states(icinga, tmp_path, syslog):
    config = icinga_config(tmp_path, syslog, icinga)
    seconds, done = send(config, "end-session", "ACME", "7", "04")
    assert_quick_and_quiet(seconds, done, syslog.lines())
    service = icinga.service("OS4X partner ACME")
    assert service["state"] == 2, service
    result = service["last_check_result"]
    assert result["output"] == ("OFTP session with partner ACME ended with ESID 04: invalid "
                                "password")
    assert result["ttl"] == 600 and result["check_source"] == EVENT_HOST
    seconds, done = send(config, "end-session", "ACME", "7", "00")
    assert_quick_and_quiet(seconds, done, syslog.lines())
    assert icinga.service("OS4X partner ACME")["state"] == 0


def test_icinga_licence_goes_to_the_host_service(icinga, tmp_path, syslog):
    config = icinga_config(tmp_path, syslog, icinga)
    seconds, done = send(config, "licence", "expires", "in", "30", "days")
    assert_quick_and_quiet(seconds, done, syslog.lines())
    service = icinga.service("OS4X")
    assert service["state"] == 1
    assert service["last_check_result"]["output"] == "OS4X licence: expires in 30 days"


def test_icinga_unknown_service_is_logged(icinga, tmp_path, syslog):
    config = icinga_config(tmp_path, syslog, icinga)
    seconds, done = send(config, "queue-blocked", "NOBODY")
    logged = syslog.lines()
    assert_quick_and_quiet(seconds, done, logged)
    assert any("no service 'OS4X partner NOBODY' on host 'oftp1'" in line
               for line in logged), logged


def test_icinga_with_the_wrong_ca_is_refused(icinga, tmp_path, syslog):
    other = tmp_path / "other-ca.crt"
    other.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text()
                     if Path("/etc/ssl/certs/ca-certificates.crt").exists() else "")
    before = icinga.service("OS4X partner ACME")["last_check_result"]
    config = icinga_config(tmp_path, syslog, icinga, ca_file=str(other))
    seconds, done = send(config, "end-session", "ACME", "7", "09")
    logged = syslog.lines()
    assert_quick_and_quiet(seconds, done, logged)
    assert any("CERTIFICATE_VERIFY_FAILED" in line or "certificate verify failed" in line
               or "ca-file" in line for line in logged), logged
    assert icinga.service("OS4X partner ACME")["last_check_result"] == before


def test_icinga_turns_unknown_when_the_ttl_passes(icinga, tmp_path, syslog):
    """The contrib service runs its dummy once the last result's TTL has passed."""
    config = icinga_config(tmp_path, syslog, icinga, ttl="3")
    seconds, done = send(config, "end-session", "ACME", "7", "00")
    assert_quick_and_quiet(seconds, done, syslog.lines())
    assert icinga.service("OS4X partner ACME")["state"] == 0
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        service = icinga.service("OS4X partner ACME")
        if service["state"] == 3:
            break
        time.sleep(0.5)
    assert service["state"] == 3, icinga.log()
    assert service["last_check_result"]["output"].startswith("no OS4X event within the TTL")


def test_icinga_event_user_may_do_nothing_else(icinga):
    import base64
    import ssl
    import urllib.error
    import urllib.request

    context = ssl.create_default_context(cafile=str(icinga.ca_file))
    request = urllib.request.Request(
        f"https://localhost:{icinga.port}/v1/objects/services", headers={
            "Accept": "application/json", "Authorization": "Basic " + base64.b64encode(
                f"os4x-event:{PASSWORD}".encode()).decode()})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10, context=context)
    assert refused.value.code in (401, 403, 404)


# -- the real Nagios Core --

@pytest.fixture(scope="module")
def nagios() -> Iterator[Nagios]:
    program = need_nagios()
    with nagios_directory("os4x-event-nagios-") as directory:
        instance = Nagios(directory, program)
        shutil.copy(CONTRIB / "nagios" / "os4x-event.cfg", directory / "objects")
        instance.install("/usr/lib/nagios/plugins", str(directory / "unused.ini"))
        instance.start()
        try:
            yield instance
        finally:
            instance.stop()
            with contextlib.suppress(OSError):
                chown_tree(directory)


def test_nagios_command_file(nagios, tmp_path, syslog):
    config = write_config(tmp_path / "event.ini", syslog, nagios_command_file=str(nagios.pipe))
    config.write_text(config.read_text().replace("host-name = oftp1", "host-name = os4x-local"))
    seconds, done = send(config, "end-session", "ACME", "2", "03")
    assert_quick_and_quiet(seconds, done, syslog.lines())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        service = nagios.services().get(("os4x-local", "OS4X partner ACME"), {})
        if service.get("current_state") == "2":
            break
        time.sleep(0.3)
    assert service.get("current_state") == "2", nagios.log()
    assert service["plugin_output"] == ("OFTP session with partner ACME ended with ESID 03: "
                                        "user code not known")
