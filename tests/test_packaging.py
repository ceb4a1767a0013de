"""The three ways to install check_os4x, built from a clean clone and installed as an admin would.

``packaging/build all`` runs once, in a ``git clone`` of this repository (what is committed,
nothing else), and gives the single file, the .deb and the .rpm. Then:

- the pyz is copied alone into an empty directory and run as ``nobody`` by its shebang and with
  ``python3 -I -S`` (Debian's python3, and pypy3), against the simulator and the real MariaDB
  and PostgreSQL: the same first line as the installed package;
- the .deb is installed with apt-get into an overlay of the system (tests/scratch_system.py:
  the host's package database never changes), its plugin run, the NRPE and Icinga 2
  end-to-end tests run once against it, lintian has no error, and apt-get purge leaves
  nothing behind;
- the .rpm's file list, requirements and scriptlets are read with rpm -qp, and rpm installs it
  into a scratch root, where its plugin runs, and erases it again.

Every entry file must answer an interpreter older than 3.8 with one UNKNOWN line: checked with
a faked sys.version_info, and with the real old interpreters this machine has.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator

import pytest
from dbtools import ScratchDatabase, reachable
from deploy_helpers import PLUGIN_VARIABLE, VOLATILE, perfdata_of
from helpers import needs_server, run_plugin
from scratch_system import overlaid_system

pytestmark = [pytest.mark.server, pytest.mark.packaging]

ROOT = Path(__file__).resolve().parents[1]
VERSION = re.search(r'__version__ = "([^"]+)"',
                    (ROOT / "os4xmon" / "__init__.py").read_text()).group(1)  # type: ignore
DEB_PLUGIN = "/usr/lib/nagios/plugins/check_os4x"
RPM_PLUGIN = "/usr/lib64/nagios/plugins/check_os4x"
SYSTEM_PYTHON = "/usr/bin/python3"
SYSTEM_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
OLD_PYTHONS = [path for path in (f"/root/.pyenv/versions/{v}/bin/python"
                                 for v in ("2.7.18", "3.6.15", "3.7.16")) if os.path.exists(path)]
"""Real interpreters older than the floor, where this machine has them (pyenv, root only)."""
TIMINGS = VOLATILE | {"db_query_time"}


def stable_view(stdout: str) -> tuple[str, list[tuple[str, object, str, str]]]:
    """The summary and the perfdata of the first line, without what changes between runs."""
    first = stdout.splitlines()[0] if stdout else ""
    return first.split(" | ", 1)[0], sorted(
        (p.label, None if p.label in TIMINGS else p.number, p.unit, p.rest)
        for p in perfdata_of(first))


APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"]


def need_tools() -> None:
    needs_server(os.geteuid() == 0, "needs root: installs the .deb, runs as nobody")
    for tool, package in (("dpkg-buildpackage", "dpkg-dev"), ("dh", "debhelper"),
                          ("lintian", "lintian"), ("rpmbuild", "rpm"), ("git", "git")):
        needs_server(bool(shutil.which(tool, path="/usr/bin:/bin")),
                     f"{tool} is missing: apt-get install {package}")


def package_index_unreachable() -> str:
    """Why pip cannot reach its configured package index (packaging/build pyz needs it), or
    "" when it can."""
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                               "--only-binary=:all:", "--disable-pip-version-check",
                               "--timeout", "10", "--retries", "1", "--dest", scratch,
                               "nagiosplugin==1.4.0"], capture_output=True, text=True,
                              check=False, timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return "" if done.returncode == 0 else (lines[-1] if lines else f"exit {done.returncode}")


def readable_dir(prefix: str) -> Path:
    """A directory under /tmp that nobody can read and enter (pytest's tmp_path is root's)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def built() -> Iterator[Path]:
    """packaging/build all in a clean clone: the dist/ directory with the three files."""
    need_tools()
    why = package_index_unreachable()
    needs_server(not why, "the package index is unreachable: the packaging tests build the "
                 f"single file, which downloads nagiosplugin and PyMySQL with pip ({why})")
    work = readable_dir("check_os4x-pkg-")
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    done = subprocess.run([str(clone / "packaging" / "build"), "all"], cwd=clone, env=env,
                          capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield clone / "dist"
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def pyz(built: Path) -> Iterator[Path]:
    """The single file, copied alone into an empty directory that nobody can read."""
    alone = readable_dir("check_os4x-pyz-")
    shutil.copy2(built / "check_os4x.pyz", alone / "check_os4x.pyz")
    yield alone / "check_os4x.pyz"
    shutil.rmtree(alone, ignore_errors=True)


def run(command: list[str], user: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    if user:
        runuser = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"
        command = [runuser, "-u", user, "--", *command]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120,
                          env=env or SYSTEM_ENV, cwd="/")


def pyz_commands(pyz: Path) -> dict[str, list[str]]:
    """The ways an admin runs the single file: by its shebang, and isolated by each python."""
    commands = {"shebang": [str(pyz)], "python3 -I -S": [SYSTEM_PYTHON, "-I", "-S", str(pyz)]}
    if shutil.which("pypy3", path="/usr/bin:/bin"):
        commands["pypy3 -I -S"] = ["/usr/bin/pypy3", "-I", "-S", str(pyz)]
    return commands


# -- the single file --


def test_the_pyz_is_one_executable_file_with_the_libraries_inside(built: Path):
    import zipfile

    target = built / "check_os4x.pyz"
    assert target.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    assert os.access(target, os.X_OK)
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
    assert {"__main__.py", "os4xmon/cli/main.py", "nagiosplugin/__init__.py",
            "pymysql/__init__.py"} <= names
    tag = sys.implementation.cache_tag
    assert f"pyc/{tag}/os4xmon/cli/main.pyc" in names, "no bytecode for this interpreter"
    assert not [name for name in names if "simulator" in name or name.endswith(".so")]


def test_the_pyz_is_reproducible(built: Path):
    """The same sources give the same bytes: zip dates from SOURCE_DATE_EPOCH, sorted entries,
    bytecode without timestamps and with a fixed hash seed."""
    first = (built / "check_os4x.pyz").read_bytes()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    done = subprocess.run([str(built.parent / "packaging" / "build"), "pyz"], env=env,
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    again = (built / "check_os4x.pyz").read_bytes()
    if again != first:  # PyPy's marshal is not byte-stable (pymysql/converters.pyc differed
        # between two builds with the same hash seed): every other member must still match
        first_members, again_members = zip_members(first), zip_members(again)
        assert sorted(first_members) == sorted(again_members)
        differing = [name for name in first_members
                     if first_members[name] != again_members[name]]
        assert differing and all(name.startswith("pyc/pypy") for name in differing), differing


def zip_members(archive: bytes) -> dict[str, bytes]:
    import io

    with zipfile.ZipFile(io.BytesIO(archive)) as opened:  # the shebang before it is allowed
        return {name: opened.read(name) for name in opened.namelist()}


def test_the_pyz_run_by_nobody_says_what_the_installed_package_says(pyz: Path, simulator):
    simulator.start("--no-decoys")
    installed = run_plugin("--checks", "processes", user="nobody")
    for how, command in pyz_commands(pyz).items():
        done = run([*command, "--checks", "processes"], user="nobody")
        assert done.returncode == installed.code, f"{how}: {done.stdout}{done.stderr}"
        assert stable_view(done.stdout) == stable_view(installed.stdout), how
        assert done.stderr == "", f"{how}: {done.stderr}"


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_the_pyz_reads_the_real_database(pyz: Path, simulator, kind: str):
    """PyMySQL from inside the zip; psycopg2 from Debian's python3-psycopg2 under -I -S."""
    needs_server(reachable(kind), f"{kind} is not reachable on 127.0.0.1")
    database = ScratchDatabase(kind)
    try:
        simulator.start("--no-decoys", *database.simulator_args())
        args = ["--checks", "database", *database.plugin_args()]
        installed = run_plugin(*args)
        assert installed.code == 0, installed.stdout
        for how, command in pyz_commands(pyz).items():
            done = run([*command, *args])
            if kind == "postgresql" and how.startswith("pypy3"):
                # Debian's psycopg2 is compiled for CPython: the line names what to install
                assert done.returncode == 3, done.stdout
                assert "python3-psycopg2" in done.stdout.splitlines()[0], done.stdout
                continue
            assert done.returncode == 0, f"{how}: {done.stdout}{done.stderr}"
            assert stable_view(done.stdout) == stable_view(installed.stdout), how
    finally:
        database.drop()


def test_the_pyz_needs_nothing_but_python(pyz: Path):
    """Isolated, without site: no venv, no dist-packages, and still a version and a usage."""
    done = run([SYSTEM_PYTHON, "-I", "-S", str(pyz), "--version"])
    assert done.stdout.strip() == f"check_os4x {VERSION}", done.stderr
    done = run([SYSTEM_PYTHON, "-I", "-S", str(pyz), "--bogus"])
    assert done.returncode == 3
    assert done.stdout.startswith("OS4X UNKNOWN - "), done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    renamed = pyz.with_name("check_os4x")  # as docs/install.md installs it
    shutil.copy2(pyz, renamed)
    try:
        done = run([str(renamed), "--version"], user="nobody")
        assert done.stdout.strip() == f"check_os4x {VERSION}", done.stderr
    finally:
        renamed.unlink()


# -- Python older than 3.8, at every entry --

OLD_LINE = re.compile(r"OS4X UNKNOWN - check_os4x needs Python 3\.8 or newer, this is 3\.6\.8"
                      r" \(.+\)\n")


def faked(entry: str) -> str:
    """Python code that fakes 3.6.8, then runs an entry as Python would run it."""
    return ("import sys, runpy; sys.version_info = (3, 6, 8, 'final', 0); "
            f"runpy.run_path({entry!r}, run_name='__main__')")


def test_an_old_python_gets_one_unknown_line_from_the_pyz(pyz: Path):
    done = run([SYSTEM_PYTHON, "-I", "-c", faked(str(pyz))])
    assert done.returncode == 3, done.stdout + done.stderr
    assert OLD_LINE.fullmatch(done.stdout), done.stdout
    assert done.stderr == ""


def test_an_old_python_gets_one_unknown_line_from_check_os4x_py():
    done = subprocess.run([sys.executable, "-c", faked(str(ROOT / "check_os4x.py"))],
                          capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 3, done.stdout + done.stderr
    assert OLD_LINE.fullmatch(done.stdout), done.stdout


def test_an_old_python_gets_one_unknown_line_from_the_package():
    """The console script and python -m os4xmon import os4xmon first: its __init__ refuses."""
    code = ("import sys; sys.version_info = (3, 6, 8, 'final', 0); "
            "from os4xmon.cli.main import main")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, cwd=ROOT)
    assert done.returncode == 3, done.stdout + done.stderr
    assert OLD_LINE.fullmatch(done.stdout), done.stdout


@pytest.mark.parametrize("python", OLD_PYTHONS)
def test_a_real_old_python_runs_the_entry_files_to_one_line(pyz: Path, python: str):
    for entry in (str(pyz), str(ROOT / "check_os4x.py")):
        done = subprocess.run([python, entry, "--checks", "processes"], capture_output=True,
                              text=True, check=False, cwd="/")
        assert done.returncode == 3, done.stdout + done.stderr
        assert re.fullmatch(r"OS4X UNKNOWN - check_os4x needs Python 3\.8 or newer, this is "
                            r"[23]\.\d+\.\d+( \(.+\))?\n", done.stdout), done.stdout
        assert done.stderr == ""


@pytest.mark.parametrize("entry", ["check_os4x.py", "os4xmon/__init__.py",
                                   "os4xmon/pythonguard.py"])
def test_the_entry_files_parse_as_python_3_4(entry: str):
    """What runs before the version check must parse on old Pythons: no f-strings, no
    annotations, no walrus (3.4 is the oldest grammar ast can check; 2.7 and 3.6 run above)."""
    import ast

    ast.parse((ROOT / entry).read_text(encoding="utf-8"), entry, feature_version=(3, 4))


def test_the_install_hint_names_the_distribution(tmp_path: Path):
    from os4xmon import pythonguard

    rhel8 = tmp_path / "os-release"
    rhel8.write_text('NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\n'
                     'VERSION_ID="8.9"\n')
    assert pythonguard.message((3, 6, 8, "final", 0), str(rhel8)) == (
        "OS4X UNKNOWN - check_os4x needs Python 3.8 or newer, this is 3.6.8 "
        "(RHEL 8: dnf install python39)")
    rocky = tmp_path / "rocky"
    rocky.write_text('ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="8.10"\n')
    assert "dnf install python39" in pythonguard.message((3, 6, 8), str(rocky))
    sles = tmp_path / "sles"
    sles.write_text('ID="sles"\nID_LIKE="suse"\nVERSION_ID="15.5"\n')
    assert "zypper install python311" in pythonguard.message((3, 6, 15), str(sles))
    assert "install Python 3.8 or newer" in pythonguard.message((3, 7, 3), "/nonexistent")


def test_check_os4x_py_without_the_package_says_what_to_install(tmp_path: Path):
    copy = readable_dir("check_os4x-alone-")
    try:
        shutil.copy2(ROOT / "check_os4x.py", copy / "check_os4x.py")
        done = run([SYSTEM_PYTHON, "-I", str(copy / "check_os4x.py")])
        assert done.returncode == 3, done.stdout + done.stderr
        assert done.stdout.startswith("OS4X UNKNOWN - check_os4x cannot import os4xmon: "), \
            done.stdout
        assert "check_os4x.pyz" in done.stdout and done.stderr == ""
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def test_check_os4x_py_without_nagiosplugin_says_what_to_install():
    beside = readable_dir("check_os4x-nonp-")
    try:
        shutil.copy2(ROOT / "check_os4x.py", beside / "check_os4x.py")
        shutil.copytree(ROOT / "os4xmon", beside / "os4xmon")
        done = run([SYSTEM_PYTHON, "-S", str(beside / "check_os4x.py")])  # no dist-packages
        assert done.returncode == 3, done.stdout + done.stderr
        assert done.stdout == ("OS4X UNKNOWN - check_os4x cannot import nagiosplugin: apt-get "
                               "install python3-nagiosplugin, dnf install python3-nagiosplugin "
                               "or pip install nagiosplugin\n")
    finally:
        shutil.rmtree(beside, ignore_errors=True)


# -- compiled libraries from the system --


def test_system_modules_come_only_from_directories_root_alone_may_write(tmp_path: Path):
    from os4xmon.core import system_modules

    assert system_modules.trusted("/usr/lib")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert not system_modules.trusted(str(shared))
    assert not system_modules.trusted("/tmp")  # world-writable (sticky or not)
    assert not system_modules.trusted(str(tmp_path / "missing"))
    assert system_modules.SystemModules().find_spec("json") is None  # only the compiled libraries


def test_a_missing_compiled_library_names_its_package(monkeypatch: pytest.MonkeyPatch):
    from os4xmon.core import system_modules

    monkeypatch.setitem(sys.modules, "psutil", None)  # what import psutil meets in the pyz
    with pytest.raises(system_modules.MissingModule, match=r"apt-get install python3-psutil"):
        system_modules.require("psutil")


# -- the Debian package --


@pytest.fixture(scope="module")
def deb(built: Path) -> Iterator[Path]:
    """The .deb installed with apt-get as an admin does, inside an overlay of /usr and the
    package state (tests/scratch_system.py): the host's package database never sees it, and
    an admin's own check-os4x stays installed."""
    package = built / f"check-os4x_{VERSION}_all.deb"
    assert package.is_file(), sorted(p.name for p in built.iterdir())
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with contextlib.ExitStack() as stack:
        try:
            uppers = stack.enter_context(overlaid_system())
        except (OSError, subprocess.CalledProcessError) as error:
            needs_server(False, str(error))
        # an admin's own check-os4x, if any, is purged in the overlay only
        subprocess.run([*APT, "purge", "check-os4x"], capture_output=True, check=False,
                       env=env)
        done = subprocess.run([*APT, "install", str(package)], capture_output=True, text=True,
                              check=False, env=env)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        # dpkg's database and log were written in the overlay, not on the host
        assert (uppers["/var/lib/dpkg"] / "status").is_file()
        assert (uppers["/var/log"] / "dpkg.log").is_file()
        yield package


def test_lintian_finds_no_error(built: Path):
    package = built / f"check-os4x_{VERSION}_all.deb"
    done = subprocess.run(["lintian", "--allow-root", "--pedantic", "-I", str(package)],
                          capture_output=True, text=True, check=False)
    errors = [line for line in done.stdout.splitlines() if line.startswith("E:")]
    assert not errors, done.stdout
    # the one tag left, and why (docs/install.md): the plugin is not on PATH, its page is
    assert {line.split(": ")[2].split()[0] for line in done.stdout.splitlines() if line} <= {
        "spare-manual-page"}, done.stdout


def test_the_deb_lays_out_the_plugin_and_nothing_on_path(deb: Path):
    files = subprocess.run(["dpkg", "-L", "check-os4x"], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    assert DEB_PLUGIN in files
    assert "/usr/share/man/man1/check_os4x.1.gz" in files
    assert "/usr/share/doc/check-os4x/examples/nrpe/check_os4x.cfg" in files
    assert "/usr/share/doc/check-os4x/examples/sudoers/check_os4x" in files
    assert not [f for f in files if f.startswith(("/usr/bin", "/usr/sbin", "/etc"))], files
    assert not [f for f in files if "simulator" in f], "the simulator is a test tool"
    assert Path(DEB_PLUGIN).read_text().startswith("#!/usr/bin/python3 -I\n")
    event = str(Path(DEB_PLUGIN).with_name("os4x-event"))
    assert event in files
    refused = subprocess.run([event, "start-receive", "ACME"], capture_output=True, text=True,
                             timeout=10, env=SYSTEM_ENV, check=False)
    assert refused.returncode == 0, refused
    assert "must not be OS4X's start-receive script" in refused.stderr
    fields = subprocess.run(["dpkg-query", "-W", "-f", "${Depends}\n${Recommends}",
                             "check-os4x"], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    assert "python3-nagiosplugin" in fields[0]
    assert {"python3-pymysql", "python3-psycopg2", "python3-cryptography"} \
        <= set(re.split(r",\s*", fields[1]))


def test_the_deb_metadata_asks_only_for_what_dpkg_guarantees(deb: Path):
    """pip check with Debian's psycopg2: no psycopg2-binary in the installed Requires-Dist."""
    code = ("import importlib.metadata as m, re\n"
            "for req in m.requires('check_os4x') or []:\n"
            "    if 'extra ==' in req: continue\n"
            "    name = re.split(r'[ <>=(;]', req)[0]\n"
            "    print(name, m.version(name))\n")
    done = run([SYSTEM_PYTHON, "-I", "-c", code])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "nagiosplugin", done.stdout


def test_the_deb_plugin_says_what_the_installed_package_says(deb: Path, simulator):
    simulator.start("--no-decoys")
    installed = run_plugin("--checks", "processes", user="nagios")
    done = run([DEB_PLUGIN, "--checks", "processes"], user="nagios")
    assert done.returncode == installed.code == 0, done.stdout + done.stderr
    assert stable_view(done.stdout) == stable_view(installed.stdout)
    assert run([DEB_PLUGIN, "--version"]).stdout.strip() == f"check_os4x {VERSION}"
    # PYTHONPATH (as sudo might pass it) cannot put another os4xmon in front: python3 -I
    decoy = readable_dir("check_os4x-decoy-")
    try:
        (decoy / "os4xmon").mkdir()
        (decoy / "os4xmon" / "__init__.py").write_text("print('DECOY')\n")
        done = run([DEB_PLUGIN, "--version"], env={**SYSTEM_ENV, "PYTHONPATH": str(decoy)})
        assert done.stdout.strip() == f"check_os4x {VERSION}", done.stdout
    finally:
        shutil.rmtree(decoy, ignore_errors=True)


def test_nrpe_and_icinga2_run_the_packaged_plugin(deb: Path):
    """The deployment tests, once, with the .deb's plugin instead of the venv's.

    A test that fails is run once more, alone, as the project's rule for timing under load
    says (Icinga's scheduler on a busy machine); a second failure fails this test.
    """
    env = dict(os.environ, **{PLUGIN_VARIABLE: DEB_PLUGIN})
    # Their own PID namespace: this pytest may be the namespace's init, and while it waits
    # here it reaps no orphan, so a zombie daemon of one test would show in the next. Their
    # own network namespace too (they need only the loopback): the simulator's OFTP ports are
    # the fixed 3305 and 6619, which another simulator on the machine may hold.
    command = ["unshare", "--pid", "--fork", "--mount-proc", "--net", "sh", "-c",
               'ip link set lo up && exec "$@"', "sh",
               sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf"]
    done = subprocess.run([*command, "tests/test_nrpe.py", "tests/test_icinga2.py"], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False, timeout=900)
    assert re.search(r"\d+ passed", done.stdout) and "skipped" not in done.stdout, done.stdout
    if done.returncode != 0:
        failed = re.findall(r"^FAILED (\S+)", done.stdout, re.MULTILINE)
        assert failed, done.stdout[-4000:]
        again = subprocess.run([*command, *failed], cwd=ROOT, env=env, capture_output=True,
                               text=True, check=False, timeout=900)
        assert again.returncode == 0, done.stdout[-3000:] + again.stdout[-3000:]


def test_purge_leaves_nothing_behind(deb: Path):
    files = subprocess.run(["dpkg", "-L", "check-os4x"], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    run([DEB_PLUGIN, "--checks", "processes"])  # a run as root may leave bytecode behind
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    done = subprocess.run([*APT, "purge", "check-os4x"], capture_output=True, text=True,
                          check=False, env=env)
    assert done.returncode == 0, done.stderr
    left = [f for f in files if os.path.lexists(f) and not os.path.isdir(f)]
    assert not left, left
    own_dirs = ["/usr/lib/python3/dist-packages/os4xmon", "/usr/share/doc/check-os4x",
                f"/usr/lib/python3/dist-packages/check_os4x-{VERSION}.dist-info"]
    assert not [d for d in own_dirs if os.path.lexists(d)]
    status = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", "check-os4x"],
                            capture_output=True, text=True, check=False).stdout
    assert "installed" not in status.replace("not-installed", ""), status


# -- the RPM --


def rpm_query(package: Path, *what: str) -> list[str]:
    return subprocess.run(["rpm", "-qp", *what, str(package)], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def test_the_rpm_lays_out_the_rhel_paths(built: Path):
    package = built / f"check_os4x-{VERSION}-1.noarch.rpm"
    files = rpm_query(package, "-l")
    assert RPM_PLUGIN in files
    assert "/usr/lib/python3.9/site-packages/os4xmon/cli/main.py" in files
    assert [f for f in files if f.startswith("/usr/share/man/man1/check_os4x.1")]
    assert [f for f in files if f.endswith("/contrib/nrpe/check_os4x.cfg")]
    assert not [f for f in files if f.startswith(("/usr/bin", "/usr/sbin", "/etc"))], files
    assert not [f for f in files if "simulator" in f]
    modes = dict(line.split(None, 1)[::-1] for line in
                 rpm_query(package, "--queryformat", "[%{FILEMODES:perms} %{FILENAMES}\n]"))
    assert modes[RPM_PLUGIN] == "-rwxr-xr-x"
    assert modes[str(Path(RPM_PLUGIN).with_name("os4x-event"))] == "-rwxr-xr-x"


def test_the_rpm_requires_the_distributions_packages(built: Path):
    package = built / f"check_os4x-{VERSION}-1.noarch.rpm"
    requires = {line.split()[0] for line in rpm_query(package, "--requires")}
    assert {"python3", "python3-nagiosplugin", "python(abi)"} <= requires, requires
    assert {"python3-PyMySQL", "python3-psycopg2", "python3-cryptography"} == \
        set(rpm_query(package, "--recommends"))
    assert rpm_query(package, "--scripts") == [], "no scriptlet: nothing enabled or restarted"
    assert rpm_query(package, "--queryformat", "%{ARCH}") == ["noarch"]


def test_the_rpm_installs_into_a_root_runs_and_erases_cleanly(built: Path, simulator,
                                                             tmp_path: Path):
    """rpm itself installs the payload (Debian's rpm, into a scratch root, without RHEL's
    dependencies); the plugin there, given the system's nagiosplugin, answers as the
    installed package does; rpm -e leaves no file."""
    package = built / f"check_os4x-{VERSION}-1.noarch.rpm"
    root = tmp_path / "root"
    rpm = ["rpm", "--root", str(root), "--dbpath", str(root / "var/lib/rpm")]
    subprocess.run([*rpm, "--initdb"], check=True)
    subprocess.run([*rpm, "-i", "--nodeps", "--nosignature", str(package)], check=True,
                   capture_output=True)
    plugin = root / RPM_PLUGIN.lstrip("/")
    assert plugin.read_text().startswith("#!/usr/bin/python3 -I\n")
    simulator.start("--no-decoys")
    code = ("import runpy, sys; sys.path[:0] = [sys.argv.pop(1)]; del sys.argv[0]; "
            "sys.path.append('/usr/lib/python3/dist-packages'); "
            "runpy.run_path(sys.argv[0], run_name='__main__')")
    site = str(root / "usr/lib/python3.9/site-packages")
    # -B: on RHEL the package brings its bytecode; this 3.11 must not add any to the root
    done = run([SYSTEM_PYTHON, "-S", "-B", "-c", code, site, str(plugin), "--checks",
                "processes"])
    installed = run_plugin("--checks", "processes")
    assert done.returncode == installed.code == 0, done.stdout + done.stderr
    assert stable_view(done.stdout) == stable_view(installed.stdout)
    subprocess.run([*rpm, "-e", "--nodeps", "check_os4x"], check=True, capture_output=True)
    left = [p for p in root.rglob("*") if p.is_file() and "var/lib/rpm" not in p.as_posix()]
    assert not left, left


# -- the sdist --


def test_the_sdist_carries_what_a_distribution_packager_needs(built: Path, tmp_path: Path):
    has_build = run([SYSTEM_PYTHON, "-c", "import build"]).returncode == 0
    needs_server(has_build, "python3-build is missing: apt-get install python3-build")
    clone = built.parent
    done = subprocess.run([SYSTEM_PYTHON, "-m", "build", "--sdist", "--no-isolation",
                           "--outdir", str(tmp_path), str(clone)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    import tarfile

    (sdist,) = tmp_path.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        modes = {member.name.split("/", 1)[1]: member.mode for member in archive.getmembers()
                 if "/" in member.name}
    for needed in ("check_os4x.py", "LICENSE", "contrib/nrpe/check_os4x.cfg",
                   "contrib/icinga2/check_os4x-command.conf", "packaging/build",
                   "packaging/rpm/check_os4x.spec", "packaging/debian/control",
                   "tests/test_packaging.py", "tests/conftest.py"):
        assert needed in names, needed
    assert modes["packaging/build"] & 0o111
    assert [name for name in names if name.startswith("docs/")]
