"""What the NRPE and Icinga 2 tests share: free ports, directories the nagios user can use,
perfdata parsing, and the contrib files with their paths substituted for a test run."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from helpers import needs_server, plugin_command, reap_orphans

ROOT = Path(__file__).resolve().parents[1]
CONTRIB = ROOT / "contrib"
MONITORING_USER = "nagios"
INSTALLED_PLUGIN = "/usr/lib/nagios/plugins/check_os4x"
"""The plugin's path in the contrib files; tests substitute the installed one."""

VOLATILE = frozenset({"master_uptime", "oldest_action_age", "os4x_rss"})
"""Perfdata whose number changes from one run to the next (ages, memory)."""


def need_root_and_user() -> None:
    needs_server(os.geteuid() == 0, "needs root: the daemons drop to the nagios user")
    try:
        pwd.getpwnam(MONITORING_USER)
    except KeyError:
        needs_server(False, f"no {MONITORING_USER} user (installed with nagios-nrpe-server)")


def need_program(name: str, package: str) -> str:
    """The program's absolute path; daemons live in sbin, which a CI PATH may lack."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    found = shutil.which(name, path=search)
    needs_server(bool(found), f"{name} is missing: apt-get install {package}")
    return found or name


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def nagios_directory(prefix: str) -> Iterator[Path]:
    """A directory under /tmp that the nagios user owns (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        path.chmod(0o755)
        chown_tree(path)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def chown_tree(path: Path) -> None:
    user = pwd.getpwnam(MONITORING_USER)
    for item in [path, *path.rglob("*")]:
        os.lchown(item, user.pw_uid, user.pw_gid)


def write_site_config(path: Path, text: str) -> Path:
    """The --config file as docs/deployment.md installs it: owned by nagios, mode 0600."""
    path.write_text(text, encoding="utf-8")
    user = pwd.getpwnam(MONITORING_USER)
    os.chown(path, user.pw_uid, user.pw_gid)
    path.chmod(0o600)
    return path


PLUGIN_VARIABLE = "CHECK_OS4X_PLUGIN"
"""Names the plugin the deployment tests run; tests/test_packaging.py sets it to the .deb's
/usr/lib/nagios/plugins/check_os4x to run them once against the packaged binary."""


def stop_daemon(process: subprocess.Popen | None, grace: float = 20) -> None:
    """Stops a daemon a test started (TERM, then KILL after grace seconds) and reaps the
    children it orphaned to us in a PID namespace."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    reap_orphans()


def installed_plugin() -> str:
    return os.environ.get(PLUGIN_VARIABLE) or plugin_command()[0]


@dataclass(frozen=True)
class Perf:
    label: str
    number: float | None  # None: U, not measured (docs/development.md, the perfdata rule)
    unit: str
    rest: str  # ;warn;crit;min;max as written

    @classmethod
    def parse(cls, item: str) -> Perf:
        label, _, value = item.partition("=")
        match = re.fullmatch(r"(-?[0-9.]+(?:[eE][-+]?[0-9]+)?|U)([A-Za-z%]*)(;.*)?", value)
        assert match, f"not a perfdata item: {item!r}"
        assert match.group(1) != "U" or not match.group(2), f"U with a unit: {item!r}"
        number = None if match.group(1) == "U" else float(match.group(1))
        return cls(label.strip("'"), number, match.group(2), match.group(3) or "")

    @property
    def stable(self) -> tuple:
        """What must pass through unchanged: everything, except the number of volatile ones."""
        number = None if self.label in VOLATILE else self.number
        return (self.label, number, self.unit, self.rest)


def perfdata_of(first_line: str) -> list[Perf]:
    if " | " not in first_line:
        return []
    return [Perf.parse(item) for item in first_line.split(" | ", 1)[1].split()]


def stable_view(stdout: str) -> tuple[str, list[tuple]]:
    """The summary and the perfdata of a plugin's output, volatile numbers left out."""
    first = stdout.splitlines()[0] if stdout else ""
    return first.split(" | ", 1)[0], sorted(perf.stable for perf in perfdata_of(first))


def opted_in(text: str) -> str:
    """A contrib file with its opt-in parts uncommented, as a site with every aspect does:
    Nagios's commented service blocks and NRPE's commented plugin lines (not the sudo ones)."""
    return re.sub(r"^#(?=define |    |}|command\[check_os4x_\w+\]=/usr/lib)", "", text,
                  flags=re.MULTILINE)


def nrpe_commands(every_aspect: bool = True) -> dict[str, str]:
    """The command[...] lines of contrib/nrpe/check_os4x.cfg: name -> command line; those of
    every aspect (the opt-in ones uncommented), or only the ones active as shipped."""
    commands = {}
    text = (CONTRIB / "nrpe" / "check_os4x.cfg").read_text()
    for line in (opted_in(text) if every_aspect else text).splitlines():
        match = re.fullmatch(r"command\[([A-Za-z0-9_]+)\]=(.+)", line.strip())
        if match:
            commands[match.group(1)] = match.group(2)
    return commands
