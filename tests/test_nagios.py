"""The real Nagios Core (Debian's nagios4) with contrib/nagios: validation, and checks it runs.

Nagios runs from a temporary directory the nagios user owns, with its own nagios.cfg: the stock
sample objects (templates, time periods, contacts, commands) from /etc/nagios4/objects, the
contrib files as shipped (only the plugin directory and the --config path substituted), and
every runtime path (status, spool, command pipe, lock) inside that directory. A forced check
through the external command pipe and status.dat, read back, give the state, the output and
the perfdata Nagios recorded; the plugin run directly with the same command line must agree.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
from deploy_helpers import (
    CONTRIB,
    INSTALLED_PLUGIN,
    MONITORING_USER,
    chown_tree,
    installed_plugin,
    nagios_directory,
    need_program,
    need_root_and_user,
    opted_in,
    stable_view,
    stop_daemon,
    write_site_config,
)
from helpers import assert_status, run_plugin

from os4xmon.core.settings import ASPECTS

pytestmark = pytest.mark.server

STOCK_OBJECTS = Path("/etc/nagios4/objects")
PLUGIN_COMMANDS = Path("/etc/nagios-plugins/config")
"""Debian's stock nagios.cfg reads the plugins' command definitions (check-host-alive) here."""
SITE_CONFIG = "/etc/nagios/check_os4x.ini"  # the path contrib/nagios/check_os4x.cfg names


def need_nagios() -> str:
    need_root_and_user()
    nagios = need_program("nagios4", "nagios4-core")
    if not (STOCK_OBJECTS / "templates.cfg").exists():
        pytest.fail("Debian's sample objects are missing: apt-get install nagios4-common")
    if not (PLUGIN_COMMANDS / "ping.cfg").exists():
        pytest.fail("check-host-alive is missing: apt-get install monitoring-plugins-basic")
    return nagios


class Nagios:
    """One Nagios Core confined to a directory."""

    def __init__(self, directory: Path, nagios: str) -> None:
        self.directory = directory
        self.nagios = nagios
        self.config = directory / "nagios.cfg"
        self.status = directory / "status.dat"
        self.pipe = directory / "rw" / "nagios.cmd"
        self.process: subprocess.Popen | None = None
        for name in ("objects", "rw", "spool/checkresults", "archives"):
            (directory / name).mkdir(parents=True, exist_ok=True)

    def install(self, plugin_dir: str, site_config: str, hosts_example: bool = True,
                every_aspect: bool = True) -> None:
        """The stock objects, then the contrib files as shipped but for two paths (and with
        the opt-in services uncommented, unless every_aspect is false)."""
        objects = self.directory / "objects"
        for name in ("templates.cfg", "timeperiods.cfg", "contacts.cfg", "commands.cfg"):
            shutil.copy(STOCK_OBJECTS / name, objects / name)
        contrib = (CONTRIB / "nagios" / "check_os4x.cfg").read_text()
        contrib = opted_in(contrib) if every_aspect else contrib
        (objects / "check_os4x.cfg").write_text(contrib.replace(SITE_CONFIG, site_config))
        if hosts_example:
            shutil.copy(CONTRIB / "nagios" / "check_os4x-hosts.cfg.example",
                        objects / "check_os4x-hosts.cfg")
        (self.directory / "resource.cfg").write_text(f"$USER1$={plugin_dir}\n")
        d = self.directory
        self.config.write_text("\n".join([
            f"cfg_dir={PLUGIN_COMMANDS}",
            *(f"cfg_file={path}" for path in sorted(objects.glob("*.cfg"))),
            f"resource_file={d}/resource.cfg",
            f"log_file={d}/nagios.log",
            f"object_cache_file={d}/objects.cache",
            f"precached_object_file={d}/objects.precache",
            f"status_file={self.status}",
            "status_update_interval=1",
            f"nagios_user={MONITORING_USER}",
            f"nagios_group={MONITORING_USER}",
            "check_external_commands=1",
            f"command_file={self.pipe}",
            f"lock_file={d}/nagios.lock",
            f"temp_file={d}/nagios.tmp",
            f"temp_path={d}",
            f"check_result_path={d}/spool/checkresults",
            f"state_retention_file={d}/retention.dat",
            f"log_archive_path={d}/archives",
            "retain_state_information=0",
            "use_syslog=0",
            "enable_notifications=0",
            "execute_host_checks=0",
            "check_result_reaper_frequency=1",
            "service_check_timeout=60",
            "max_service_check_spread=1",
            "check_for_updates=0",
            "illegal_macro_output_chars=`~$&|'\"<>",
            "",
        ]))
        chown_tree(self.directory)

    def validate(self) -> subprocess.CompletedProcess:
        return subprocess.run([self.nagios, "-v", str(self.config)], capture_output=True,
                              text=True, timeout=60, check=False)

    def start(self) -> None:
        log = open(self.directory / "daemon.out", "wb")  # noqa: SIM115 - lives with the daemon
        self.process = subprocess.Popen([self.nagios, str(self.config)], stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        cwd=self.directory)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            if self.pipe.exists() and self.status.exists():
                return
            time.sleep(0.2)
        pytest.fail(f"Nagios did not start within 60 s\n{self.log()}")

    def stop(self) -> None:
        stop_daemon(self.process)

    def log(self) -> str:
        text = ""
        for name in ("daemon.out", "nagios.log"):
            path = self.directory / name
            if path.exists():
                text += f"--- {name}\n" + path.read_text(errors="replace")[-3000:]
        return text

    def command(self, line: str) -> None:
        with open(self.pipe, "w") as pipe:  # the pipe Nagios reads external commands from
            pipe.write(f"[{int(time.time())}] {line}\n")

    def services(self) -> dict[tuple[str, str], dict[str, str]]:
        """status.dat's servicestatus blocks: (host, service) -> attributes."""
        text = self.status.read_text(errors="replace") if self.status.exists() else ""
        found = {}
        for block in re.findall(r"servicestatus \{\n(.*?)\n\s*\}", text, re.DOTALL):
            attrs = dict(line.strip().split("=", 1) for line in block.splitlines()
                         if "=" in line)
            found[(attrs["host_name"], attrs["service_description"])] = attrs
        return found

    def fresh_results(self, host: str, wait: float = 90) -> dict[str, dict[str, str]]:
        """Forces a check of every service of the host; waits for results newer than that."""
        deadline = time.monotonic() + wait
        time.sleep(1.0 - time.time() % 1.0)  # status.dat counts whole seconds: a check that
        asked = int(time.time())  # Nagios scheduled itself just before must not count
        names = [service for (owner, service) in self.services() if owner == host]
        for name in names:
            self.command(f"SCHEDULE_FORCED_SVC_CHECK;{host};{name};{asked}")
        while time.monotonic() < deadline:
            mine = {service: attrs for (owner, service), attrs in self.services().items()
                    if owner == host}
            if mine and all(int(attrs.get("last_check", "0")) >= asked
                            and attrs.get("has_been_checked") == "1"
                            for attrs in mine.values()):
                return mine
            time.sleep(0.3)
        pytest.fail(f"no fresh check results for {host} within {wait} s\n{self.log()}")


def test_nagios_validates_the_contrib_files_as_shipped():
    nagios = need_nagios()
    for every_aspect, count in ((False, 6), (True, 16)):  # as shipped, and all uncommented
        with nagios_directory("os4x-nagios-v-") as directory:
            instance = Nagios(directory, nagios)
            instance.install("/usr/lib/nagios/plugins", SITE_CONFIG, every_aspect=every_aspect)
            done = instance.validate()
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr
        assert "Total Errors:   0" in done.stdout
        services = re.search(r"Checked ([0-9]+) services", done.stdout)
        assert services and int(services.group(1)) == count, done.stdout


def test_nagios_rejects_the_services_without_their_hosts():
    """The validation can fail: the contrib file alone names hosts nobody defined."""
    nagios = need_nagios()
    with nagios_directory("os4x-nagios-bad-") as directory:
        instance = Nagios(directory, nagios)
        instance.install("/usr/lib/nagios/plugins", SITE_CONFIG, hosts_example=False)
        done = instance.validate()
    assert done.returncode != 0
    assert re.search(r"Could not find any host matching 'os4x-(local|remote)'", done.stdout), \
        done.stdout


@pytest.fixture(scope="module")
def nagios() -> Iterator[Nagios]:
    program = need_nagios()
    with nagios_directory("os4x-nagios-") as directory:
        instance = Nagios(directory, program)
        site_config = write_site_config(directory / "check_os4x.ini",
                                        "[check_os4x]\ntimeout = 20\n")
        instance.install(str(Path(installed_plugin()).parent), str(site_config))
        instance.start()
        try:
            yield instance
        finally:
            instance.stop()
            with contextlib.suppress(OSError):
                chown_tree(directory)


def direct_run(aspect: str, site_config: str, *extra: str):
    return run_plugin("--config", site_config, "--checks", aspect, *extra,
                      user=MONITORING_USER)


SCENARIOS = [
    pytest.param((), 0, "4 daemons running", id="ok"),
    pytest.param(("--missing", "os4xsqd"), 2, "os4xsqd not running", id="missing-os4xsqd"),
    pytest.param(("--zombie",), 1, "zombie os4xsqd", id="zombie"),
]


@pytest.mark.parametrize(("scenario", "code", "phrase"), SCENARIOS)
def test_nagios_runs_the_check_and_records_what_the_plugin_says(nagios, simulator, scenario,
                                                                 code, phrase):
    simulator.start(*scenario)
    services = nagios.fresh_results("os4x-local")
    assert sorted(services) == ["OS4X certs", "OS4X database", "OS4X isdn",
                                "OS4X partner ODETTE-VW", "OS4X partners", "OS4X ports",
                                "OS4X processes", "OS4X send queue"]
    site_config = str(nagios.directory / "check_os4x.ini")

    processes = services["OS4X processes"]
    assert int(processes["current_state"]) == code, processes["plugin_output"]
    assert phrase in processes["plugin_output"]
    for name, attrs in services.items():
        aspect = name.split()[-1]
        extra: tuple[str, ...] = ("-v",) if aspect == "isdn" else ()  # check_os4x!isdn!-v
        if name.startswith("OS4X partner "):  # check_os4x!partners!--partner ODETTE-VW
            aspect, extra = "partners", ("--partner", name.split()[-1])
        direct = direct_run(aspect, site_config, *extra)
        assert int(attrs["current_state"]) == direct.code, (name, attrs["plugin_output"])
        summary, perfdata = stable_view(direct.stdout)
        # Nagios Core writes ";" of plugin output as ":" (";" separates fields in its files)
        assert attrs["plugin_output"].strip() == summary.replace(";", ":"), name
        _, recorded = stable_view(f"x | {attrs['performance_data']}")
        assert recorded == perfdata, name
    assert_status(direct_run("processes", site_config), code, phrase)


@pytest.mark.unit
def test_as_shipped_only_the_services_every_site_has_are_active():
    """A site without a database, ISDN or a queue query gets no UNKNOWN service by copying."""
    text = (CONTRIB / "nagios" / "check_os4x.cfg").read_text()
    active = re.findall(r"^    check_command\s+(\S+)", text, re.MULTILINE)
    assert sorted(active) == ["check_os4x!certs", "check_os4x!ports", "check_os4x!processes",
                              "check_os4x_nrpe!certs", "check_os4x_nrpe!ports",
                              "check_os4x_nrpe!processes"]
    every = re.findall(r"^    check_command\s+check_os4x!(\w+)", opted_in(text), re.MULTILINE)
    assert sorted(set(every)) == sorted(ASPECTS)  # partners twice: all of them, and one


def test_the_nagios_command_line_is_the_one_the_file_declares():
    text = (CONTRIB / "nagios" / "check_os4x.cfg").read_text()
    assert f"$USER1$/check_os4x --config {SITE_CONFIG} --checks $ARG1$ $ARG2$" in text
    assert INSTALLED_PLUGIN.endswith("/check_os4x")
