"""The real Icinga 2 with contrib/icinga2: validation, and checks read back through its API.

``icinga2 daemon`` runs in a temporary directory that the nagios user owns, every path
overridden with -D (ConfigDir, DataDir, LogDir, CacheDir, SpoolDir, InitRunDir), as nagios,
with the contrib CheckCommand and apply rules, a host against the simulator, and the API on a
free loopback port. A forced reschedule and a bounded wait keep it short; the test reads
``state`` (not exit_status), the output and every perfdata item from /v1/objects/services and
compares them with the plugin run directly with the same command line.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
from deploy_helpers import (
    CONTRIB,
    INSTALLED_PLUGIN,
    MONITORING_USER,
    Perf,
    chown_tree,
    free_port,
    installed_plugin,
    nagios_directory,
    need_program,
    need_root_and_user,
    stable_view,
    stop_daemon,
    write_site_config,
)
from helpers import PluginRun, assert_status, run_plugin

pytestmark = pytest.mark.server

NODE = "os4x-test-master"
API_USER = "os4x-test"
API_PASSWORD = "os4x-test-password"  # loopback only, for the life of the test
ICINGA2 = ["icinga2"]  # replaced by its absolute path once found


class Icinga:
    """One Icinga 2 instance confined to a directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.etc = directory / "etc"
        for name in ("etc", "data/certs", "log", "cache", "spool", "run"):
            (directory / name).mkdir(parents=True, exist_ok=True)
        for name in ("check_os4x-command.conf", "check_os4x-services.conf"):
            shutil.copy(CONTRIB / "icinga2" / name, self.etc / name)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def defines(self) -> list[str]:
        d = self.directory
        return [f"-D{name}={value}" for name, value in (
            ("ConfigDir", d / "etc"), ("DataDir", d / "data"), ("LogDir", d / "log"),
            ("CacheDir", d / "cache"), ("SpoolDir", d / "spool"), ("InitRunDir", d / "run"),
            ("RunAsUser", MONITORING_USER), ("RunAsGroup", MONITORING_USER),
            ("NodeName", NODE), ("ApiPort", self.port))]

    def make_certificate(self) -> None:
        """The API needs one; a self-signed node certificate doubles as the CA here."""
        certs = self.directory / "data" / "certs"
        chown_tree(self.directory)  # icinga2 drops to nagios before it writes
        done = subprocess.run([*ICINGA2, "pki", "new-cert", "--cn", NODE,
                               "--key", str(certs / f"{NODE}.key"),
                               "--cert", str(certs / f"{NODE}.crt"), *self.defines()],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        shutil.copy(certs / f"{NODE}.crt", certs / "ca.crt")

    def write_main(self, *lines: str) -> None:
        (self.etc / "icinga2.conf").write_text("\n".join([
            # what a stock constants.conf and zones.conf define: the ITL, the node's own zone
            'const PluginDir = "/usr/lib/nagios/plugins"',
            'const PluginContribDir = "/usr/lib/nagios/plugins"',
            "const ZoneName = NodeName",
            "include <itl>",
            "include <plugins>",
            'object CheckerComponent "checker" { }',
            'object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = ApiPort }',
            "object Endpoint NodeName { }",
            "object Zone ZoneName { endpoints = [ NodeName ] }",
            'include "check_os4x-command.conf"',
            'include "check_os4x-services.conf"',
            *lines, ""]))
        chown_tree(self.directory)

    def command(self, *extra: str) -> list[str]:
        return [*ICINGA2, "daemon", "-c", str(self.etc / "icinga2.conf"), *self.defines(),
                *extra]

    def validate(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.command("-C"), capture_output=True, text=True, timeout=120,
                              check=False, cwd=self.directory)

    def objects(self, kind: str) -> str:
        """`icinga2 object list` of what the last validation compiled."""
        return subprocess.run([*ICINGA2, "object", "list", "--type", kind, *self.defines()],
                              capture_output=True, text=True, timeout=60, check=True).stdout

    def start(self) -> None:
        log = open(self.directory / "daemon.out", "wb")  # noqa: SIM115 - lives with the daemon
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True, cwd=self.directory)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            with contextlib.suppress(OSError):
                if self.api("GET", "/v1/status/IcingaApplication")["results"]:
                    return
            time.sleep(0.2)
        pytest.fail(f"Icinga 2 API not up within 60 s\n{self.log()}")

    def stop(self) -> None:
        stop_daemon(self.process)

    def log(self) -> str:
        path = self.directory / "daemon.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def api(self, method: str, path: str, body: dict | None = None) -> Any:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # a throwaway certificate on loopback
        request = urllib.request.Request(
            f"https://127.0.0.1:{self.port}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Accept": "application/json", "Authorization": "Basic " + base64.b64encode(
                f"{API_USER}:{API_PASSWORD}".encode()).decode()})
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return json.load(response)

    def fresh_results(self, host: str, wait: float = 60) -> dict[str, dict]:
        """Forces a check of every service of the host and waits for results newer than that."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            asked = time.time()
            self.api("POST", "/v1/actions/reschedule-check", {
                "type": "Service", "filter": f'host.name=="{host}"', "force": True})
            retry_at = time.monotonic() + 10  # a check already running: ask again
            while time.monotonic() < min(retry_at, deadline):
                services = self.api("GET", "/v1/objects/services?attrs=state&attrs=name"
                                    "&attrs=last_check_result&attrs=host_name")["results"]
                mine = {s["attrs"]["name"]: s["attrs"] for s in services
                        if s["attrs"]["host_name"] == host}
                results = [s["last_check_result"] for s in mine.values()]
                if mine and all(r and r["execution_start"] >= asked for r in results):
                    return mine
                time.sleep(0.2)
        pytest.fail(f"no fresh check results for {host} within {wait} s\n{self.log()}")


def need_icinga() -> None:
    need_root_and_user()
    ICINGA2[:] = [need_program("icinga2", "icinga2")]


def test_icinga2_validates_the_contrib_configuration():
    need_icinga()
    with nagios_directory("os4x-icinga2-C-") as directory:
        icinga = Icinga(directory)
        shutil.copy(CONTRIB / "icinga2" / "check_os4x-hosts.conf.example",
                    icinga.etc / "check_os4x-hosts.conf")
        icinga.make_certificate()
        icinga.write_main('include "check_os4x-hosts.conf"')
        done = icinga.validate()
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr
        services = icinga.objects("Service")
    names = sorted(line.split("'")[1] for line in services.splitlines()
                   if line.startswith("Object '"))
    assert names == sorted([
        "os4x-local!os4x processes", "os4x-local!os4x ports", "os4x-local!os4x isdn",
        "os4x.example.com!os4x processes", "os4x.example.com!os4x ports",
        "os4x.example.com!os4x database", "os4x.example.com!os4x certs",
        "os4x.example.com!os4x partner ODETTE-VW", "os4x.example.com!os4x partner ODETTE-AUDI",
        "os4x.example.com!os4x partner ODETTE-BMW",
        "os4x-root!os4x processes", "os4x-root!os4x ports",
        "os4x-partner-gateway!os4x remote ports"])
    blocks = {block.split("'")[0]: block for block in services.split("Object '")[1:]}
    for name, block in blocks.items():
        agent = name.startswith("os4x.example.com!")
        root = name.startswith("os4x-root!")
        remote = name.startswith("os4x-partner-gateway!")
        assert ('command_endpoint = "os4x.example.com"' in block) == agent, block
        command = "os4x-sudo" if root else "os4x-remote" if remote else "os4x"
        assert f'check_command = "{command}"' in block
    # one service per partner: --partner and the partner's own rhythm from the host variable
    audi = blocks["os4x.example.com!os4x partner ODETTE-AUDI"]
    assert '"ODETTE-AUDI"' in audi and '"ODETTE-AUDI=4h,1d"' in audi, audi
    bmw = blocks["os4x.example.com!os4x partner ODETTE-BMW"]
    assert '"ODETTE-BMW/in=3d"' in bmw and '"ODETTE-BMW/out=1d,2d"' in bmw, bmw
    assert "os4x_partner_silence" not in blocks["os4x.example.com!os4x partner ODETTE-VW"]


def test_icinga2_rejects_a_broken_command_file():
    """The validation test must be able to fail: a typo in a CheckCommand is caught."""
    need_icinga()
    with nagios_directory("os4x-icinga2-bad-") as directory:
        icinga = Icinga(directory)
        text = (icinga.etc / "check_os4x-command.conf").read_text()
        (icinga.etc / "check_os4x-command.conf").write_text(text.replace("set_if", "set_iff", 1))
        icinga.make_certificate()
        icinga.write_main()
        assert icinga.validate().returncode != 0


@pytest.fixture(scope="module")
def icinga() -> Iterator[tuple[Icinga, Path]]:
    need_icinga()
    with nagios_directory("os4x-icinga2-") as directory:
        instance = Icinga(directory)
        site_config = write_site_config(directory / "check_os4x.ini",
                                        "[check_os4x]\ntimeout = 20\n")
        plugin = installed_plugin()
        instance.make_certificate()
        import certtools  # only here: the certificates of the array variable's host

        for name, days in (("a.pem", 200), ("b.pem", 20)):
            (directory / name).write_bytes(certtools.pem(certtools.certificate(name, days)))
            (directory / name).chmod(0o644)
        instance.write_main(
            f'object ApiUser "{API_USER}" {{ password = "{API_PASSWORD}"; '
            'permissions = [ "*" ] }',
            # the OS4X host the tests look at, with the contrib apply rules' marker
            'object Host "os4x-sim" {',
            '  check_command = "dummy"',
            "  check_interval = 1h",
            '  address = "127.0.0.1"',
            "  vars.os4x = true",
            f'  vars.os4x_plugin = "{plugin}"',
            f'  vars.os4x_config = "{site_config}"',
            "}",
            # a host whose variables exercise flags and verbosity in the command line
            'object Host "os4x-args" {',
            '  check_command = "dummy"',
            "  check_interval = 1h",
            '  address = "127.0.0.1"',
            "  vars.os4x = true",
            f'  vars.os4x_plugin = "{plugin}"',
            f'  vars.os4x_config = "{site_config}"',
            "  vars.os4x_verbose = 2",
            "  vars.os4x_no_tls = true",
            "  vars.os4x_enterprise = false",
            "  vars.os4x_timeout = 20",
            "}",
            # an array variable: the option once per element (repeat_key)
            'object Host "os4x-certs" {',
            '  check_command = "dummy"',
            "  check_interval = 1h",
            '  address = "127.0.0.1"',
            "  vars.os4x = true",
            "  vars.os4x_certs = true",
            f'  vars.os4x_plugin = "{plugin}"',
            f'  vars.os4x_config = "{site_config}"',
            f'  vars.os4x_cert_file = [ "{directory}/a.pem", "{directory}/b.pem" ]',
            "}",
            # the root case: os4x-sudo with the default root-only config file
            'object Host "os4x-root" {',
            '  check_command = "dummy"',
            "  check_interval = 1h",
            '  address = "127.0.0.1"',
            "  vars.os4x = true",
            "  vars.os4x_root = true",
            f'  vars.os4x_plugin = "{plugin}"',
            "}",
        )
        instance.start()
        try:
            yield instance, site_config
        finally:
            instance.stop()
            chown_tree(directory)  # the daemon's files, for the clean-up


def direct_run(command: list[str]) -> PluginRun:
    """The command line Icinga 2 ran, run directly as nagios (the user Icinga runs as)."""
    assert command[0] == installed_plugin(), command
    return run_plugin(*command[1:], user=MONITORING_USER)


SCENARIOS = [
    pytest.param((), 0, "4 daemons running", id="ok"),
    pytest.param(("--missing", "os4xsqd"), 2, "os4xsqd not running", id="missing-os4xsqd"),
    pytest.param(("--zombie",), 1, "zombie os4xsqd", id="zombie"),
]


@pytest.mark.parametrize(("scenario", "code", "phrase"), SCENARIOS)
def test_state_output_and_perfdata_through_the_api(icinga, simulator, scenario, code, phrase):
    instance, site_config = icinga
    simulator.start(*scenario)
    services = instance.fresh_results("os4x-sim")
    assert sorted(services) == ["os4x ports", "os4x processes"]  # no isdn, no database here

    processes = services["os4x processes"]
    result = processes["last_check_result"]
    assert result["command"] == [installed_plugin(), "--checks", "processes", "--config",
                                 str(site_config)]
    assert processes["state"] == code, result["output"]
    assert result["output"].startswith(["OS4X OK", "OS4X WARNING", "OS4X CRITICAL"][code])
    assert phrase in result["output"]

    direct = direct_run(result["command"])
    assert_status(direct, code, phrase)
    summary, perfdata = stable_view(direct.stdout)
    assert result["output"].strip() == summary
    items = [Perf.parse(item) for item in result["performance_data"]]
    assert sorted(item.stable for item in items) == perfdata
    by_label = {item.label: item for item in items}
    assert by_label["os4xrd"].number == 1 and by_label["os4xrd"].unit == ""
    assert by_label["os4xsqd"].number == (0 if "missing" in " ".join(scenario) else 1)
    assert by_label["zombies"].number == (1 if "--zombie" in scenario else 0)
    assert by_label["master_uptime"].unit == "s" and by_label["os4x_rss"].unit == "B"

    # every other service of the host: the same state as the plugin run directly
    for name, service in services.items():
        other = direct_run(service["last_check_result"]["command"])
        assert service["state"] == other.code, (name, service["last_check_result"]["output"])


def test_flags_and_verbosity_reach_the_command_line(icinga, simulator):
    instance, site_config = icinga
    simulator.start("--no-tls")
    services = instance.fresh_results("os4x-args")
    result = services["os4x processes"]["last_check_result"]
    assert result["command"] == [installed_plugin(), "-vv", "--checks", "processes",
                                 "--timeout", "20", "--config", str(site_config), "--no-tls"]
    assert services["os4x processes"]["state"] == 0, result["output"]
    lines = result["output"].splitlines()
    assert lines[0].rstrip() == "OS4X OK - 3 daemons running"
    assert "configuration:" in lines  # -vv: the long output passes through too


def test_an_array_variable_repeats_the_option(icinga):
    instance, site_config = icinga
    services = instance.fresh_results("os4x-certs")
    result = services["os4x certs"]["last_check_result"]
    directory = site_config.parent
    assert result["command"] == [installed_plugin(), "--checks", "certs", "--config",
                                 str(site_config), "--cert-file", f"{directory}/a.pem",
                                 "--cert-file", f"{directory}/b.pem"]
    assert services["os4x certs"]["state"] == 1, result["output"]
    assert result["output"].startswith(f"OS4X WARNING - certificate CN=b.pem in {directory}/b.pem "
                                       "expires in 20 days")


def test_the_sudo_command_line_is_one_the_sudoers_rule_allows(icinga):
    """os4x-sudo must produce exactly a command of contrib/sudoers (test_sudo.py runs those)."""
    instance, _ = icinga
    services = instance.fresh_results("os4x-root")
    sudoers = (CONTRIB / "sudoers" / "check_os4x").read_text()
    for name, service in services.items():
        command = service["last_check_result"]["command"]
        aspect = name.split()[-1]
        assert command == ["/usr/bin/sudo", "-n", installed_plugin(), "--config",
                           "/etc/check_os4x/root.ini", "--checks", aspect]
        allowed = " ".join([INSTALLED_PLUGIN, *command[3:]])
        assert allowed + "," in sudoers or allowed + "\n" in sudoers, allowed
