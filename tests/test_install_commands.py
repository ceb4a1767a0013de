"""Every contrib file, installed by its documented commands, replaces no stock file.

The commands are the ones an admin pastes: the shell blocks of README.md and docs/ (Debian's
paths) and the "Install" comments of the contrib files themselves (each for its own
distribution). They run into a copy of each distribution's stock configuration: Debian's from
the installed packages' own file lists (dpkg -L: Icinga 2, Nagios Core, NRPE, sudo, the
monitoring plugins), RHEL's and SUSE's from contrib/layouts.py. Afterwards every stock file has
its old content (an append leaves the old content in front), every new file is named
check_os4x*, and every contrib file an admin installs was installed by some command.

The commands are interpreted (install, cp, cat >>, ln -s, mkdir), not executed: the paths are
moved into the scratch tree, and the owners given to install (nrpe, icinga) need not exist.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from doc_blocks import CONTRIB, ROOT, blocks, commands, install_comments, pages
from helpers import load_script, needs_server

pytestmark = pytest.mark.unit

LAYOUTS = load_script(CONTRIB / "layouts.py")
STOCK_ROOTS = ("/etc/", "/usr/lib/nagios/", "/usr/lib64/nagios/", "/opt/os4x/")
"""Where an admin's monitoring configuration and plugins live, and OS4X itself: every command
writing there is run here; the rest (venvs under /opt, links in /usr/local/bin) touch nothing
stock."""
OS4X_STOCK = tuple(f"/opt/os4x/bin/{name}" for name in (
    "os4xrd", "os4xsqd", "os4xclientd", "os4xdebugd", "os4xfqd"))
"""OS4X's own binaries, in every tree: os4x-event's wrappers go beside them."""
OURS = ("check_os4x", "os4x-")
"""How the files we install are named (or the folder they are in)."""
DEBIAN_PACKAGES = ("icinga2-common", "icinga2-bin", "nagios4-common", "nagios4-core",
                   "nagios-nrpe-server", "nagios-nrpe-plugin", "sudo", "monitoring-plugins-basic",
                   "monitoring-plugins-common")
DEBIAN_ETC = ("/etc/icinga2", "/etc/nagios4", "/etc/nagios", "/etc/nagios-plugins",
              "/etc/sudoers.d")
"""Also what the packages' maintainer scripts made there (features-enabled links...)."""
NOT_INSTALLED = {"generate.py", "layouts.py", "director-basket.json", "check_os4x-influxdb.json",
                 "os4x.conf"}
"""Generators, what is imported in a web interface (Director, Grafana) instead of copied, and
the ITL form of the CheckCommand (itl/os4x.conf), proposed upstream."""
EXAMPLE_TREES = ("icinga2/distributed/",)
"""A whole master, satellite and agent setup, each node's zones.conf included: its README says
where each file goes (a node's zones.conf is the admin's own, which icinga2 node wizard
writes); tests/test_icinga2_scale.py validates it."""
OTHER_COMMANDS = {"visudo", "systemctl", "icinga2", "nagios4", "python3", "check_os4x",
                  "check_nrpe", "apt-get", "dnf", "os4x-simulator", "packaging/build",
                  "/opt/check_os4x/bin/pip", "pip", "unshare", "man"}
"""Commands that read, reload or build but install no file into the stock roots."""


def digest(path: Path) -> str:
    if path.is_symlink():
        return "-> " + os.readlink(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file and link under root: its content (or link target)."""
    out: dict[str, bytes | str] = {}
    for path in root.rglob("*"):
        if path.is_symlink():
            out["/" + str(path.relative_to(root))] = "-> " + os.readlink(path)
        elif path.is_file():
            out["/" + str(path.relative_to(root))] = path.read_bytes()
    return out


def place(root: Path, path: str, content: bytes | None = None, link: str | None = None) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if link is not None:
        target.symlink_to(link)
    else:
        target.write_bytes(content if content is not None else f"stock {path}\n".encode())


def debian_tree(root: Path) -> None:
    """The installed packages' files under the stock roots, and what their scripts made."""
    for package in DEBIAN_PACKAGES:
        status = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", package],
                                capture_output=True, text=True, check=False).stdout
        needs_server(status == "install ok installed",
                     f"Debian's {package} is not installed (apt-get install {package})")
    listed = subprocess.run(["dpkg", "-L", *DEBIAN_PACKAGES], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    made = [str(path) for top in DEBIAN_ETC for path in Path(top).rglob("*")]
    for name in sorted(set(listed) | set(made)):
        path = Path(name)
        if not name.startswith(STOCK_ROOTS) or (path.is_dir() and not path.is_symlink()):
            continue
        if path.is_symlink():
            place(root, name, link=os.readlink(path))
        elif path.is_file():
            small = path.stat().st_size < 1_000_000 and name.startswith("/etc/")
            place(root, name, path.read_bytes() if small else None)  # plugins: a stand-in
    for name in (*LAYOUTS.STOCK["debian"], *OS4X_STOCK):
        place(root, name)


def layout_tree(root: Path, layout: str) -> None:
    for name in (*LAYOUTS.STOCK[layout], *OS4X_STOCK):
        place(root, name)


def documented(layout: str) -> list[tuple[str, str]]:
    """(where, command) of every install command for a layout: the docs' shell blocks for
    Debian, and each contrib file's Install comment for its own distribution."""
    out = []
    if layout == "debian":
        for page in pages():
            for block in blocks(page):
                if block.marker == "tested by tests/test_install_commands.py":
                    out += [(block.where, command) for command in commands(block.text)]
    suffix = LAYOUTS.LAYOUTS[layout]["suffix"]
    for path in sorted(CONTRIB.rglob("*")):
        generated_for = next((name for name, each in LAYOUTS.LAYOUTS.items()
                              if each["suffix"] and each["suffix"] in path.name), "debian")
        if path.is_file() and generated_for == layout and path.suffix != ".py":
            where = str(path.relative_to(ROOT))
            out += [(where, command) for command in install_comments(path)]
    assert suffix is not None
    return out


class Installer:
    """Runs install, cp, cat >>, ln -s and mkdir into a scratch root, as the shell would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stock = set(snapshot(root))
        self.appended: set[str] = set()
        self.sources: set[Path] = set()

    def inside(self, path: str) -> Path:
        assert path.startswith("/"), f"a destination must be absolute: {path}"
        return self.root / path.lstrip("/")

    def source(self, name: str, where: str) -> Path:
        path = ROOT / name
        if name.startswith("contrib/"):
            assert path.is_file(), f"{where}: {name} does not exist"
            self.sources.add(path.resolve())
            return path
        # something built or downloaded (the pyz, a package): a stand-in
        stand_in = self.root.parent / "built" / Path(name).name
        stand_in.parent.mkdir(exist_ok=True)
        stand_in.write_text(f"built {name}\n")
        return stand_in

    def replaceable(self, path: Path, where: str) -> None:
        """Another way of installing the same file of ours (the docs show alternatives, the
        pyz or a venv's link) replaces it; a stock link is never written through."""
        if path.is_symlink() or path.exists():
            name = "/" + str(path.relative_to(self.root))
            assert name not in self.stock or not path.is_symlink(), (
                f"{where}: writes through the stock link {name}")
            if name not in self.stock:
                path.unlink()

    def copy(self, sources: list[str], destination: str, where: str) -> None:
        target = self.inside(destination)
        into = destination.endswith("/") or target.is_dir() or len(sources) > 1
        for name in sources:
            final = target / Path(name).name if into else target
            self.replaceable(final, where)
            final.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.source(name, where), final)

    def run(self, command: str, where: str) -> bool:
        """Runs one command if it writes into a stock root; False if it is not one of those."""
        if ">>" in command:
            left, destination = (part.strip() for part in command.split(">>", 1))
            words = shlex.split(left)
            if not destination.startswith(STOCK_ROOTS):
                return False
            target = self.inside(destination)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("ab") as out:
                if words[0] == "cat":
                    for name in words[1:]:
                        out.write(self.source(name, where).read_bytes())
                else:
                    assert words[0] == "echo", f"{where}: {command}"
                    out.write((" ".join(words[1:]) + "\n").encode())
            self.appended.add(destination)
            return True
        try:
            words = shlex.split(command)
        except ValueError:  # a quote spanning lines: a query, never an install
            assert not any(root in command for root in STOCK_ROOTS), f"{where}: {command}"
            return False
        paths = [word for word in words[1:] if word.startswith(STOCK_ROOTS)]
        if words[0] not in ("install", "cp", "ln", "mkdir"):
            assert words[0] in OTHER_COMMANDS or not paths, (
                f"{where}: `{command}`: an unknown command that names a stock path")
            return False
        if not paths or not words[-1].startswith(STOCK_ROOTS):
            return False  # reads from the stock roots, writes elsewhere
        options, arguments = split_options(words[1:])
        if words[0] == "mkdir" or (words[0] == "install" and "-d" in options):
            for name in arguments:
                self.inside(name).mkdir(parents=True, exist_ok=True)
        elif words[0] == "ln":
            assert "-s" in options, f"{where}: {command}"
            link = self.inside(arguments[-1])
            self.replaceable(link, where)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(arguments[0])
        else:
            self.copy(arguments[:-1], arguments[-1], where)
        return True


def writes_into_the_stock_roots(command: str) -> bool:
    """Whether the Installer would run a command (it writes into a stock root)."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        installer = Installer(Path(scratch) / "root")
        try:
            return installer.run(command, "probe")
        except AssertionError:
            return True  # it would run, and fail there: test_install_commands says why


def split_options(words: list[str]) -> tuple[list[str], list[str]]:
    """install's and cp's options (with the values of -o, -g, -m) apart from the paths."""
    options, arguments = [], []
    iterator = iter(words)
    for word in iterator:
        if word in ("-o", "-g", "-m"):
            options += [word, next(iterator)]
        elif word.startswith("-"):
            options += ["-" + letter for letter in word[1:]] if word[1:2] != "-" else [word]
        else:
            arguments.append(word)
    return options, arguments


def install_and_compare(layout: str, root: Path,
                        extra: tuple[str, ...] = ()) -> tuple[Installer, list[str]]:
    """Builds the layout's stock tree, runs its documented commands (and extra ones) into it,
    and says what went wrong: a stock file removed or replaced, a new file not ours."""
    if layout == "debian":
        debian_tree(root)
    else:
        layout_tree(root, layout)
    before = snapshot(root)
    assert before, "an empty stock tree proves nothing"
    installer = Installer(root)
    ran = [where for where, command in [*documented(layout), *(("extra", c) for c in extra)]
           if installer.run(command, where)]
    assert ran, f"no install command found for {layout}"
    after = snapshot(root)
    problems = []
    for name, old in before.items():
        if name not in after:
            problems.append(f"{name} was removed")
        elif name in installer.appended:
            if not (isinstance(old, bytes) and after[name][:len(old)] == old):
                problems.append(f"{name}: an append changed the stock content")
        elif after[name] != old:
            problems.append(f"{name} was replaced")
    new = sorted(set(after) - set(before))
    if not new:
        problems.append("nothing was installed")
    problems += [f"{name}: not one of ours by its name or its folder's" for name in new
                 if not any(part.startswith(OURS) for part in Path(name).parts)]
    return installer, problems


@pytest.mark.parametrize("layout", sorted(LAYOUTS.LAYOUTS))
def test_the_documented_commands_change_no_stock_file(layout: str, tmp_path: Path):
    installer, problems = install_and_compare(layout, tmp_path / "root")
    assert not problems
    if layout == "debian":
        shipped = {path.resolve() for path in CONTRIB.rglob("*") if path.is_file()
                   and path.name not in NOT_INSTALLED and path.suffix != ".pyc"
                   and not path.relative_to(CONTRIB).as_posix().startswith(EXAMPLE_TREES)
                   and not any(each["suffix"] in path.name
                               for each in LAYOUTS.LAYOUTS.values() if each["suffix"])}
        missing = sorted(str(path.relative_to(ROOT)) for path in shipped - installer.sources)
        assert not missing, f"contrib files no documented command installs: {missing}"
    else:
        suffix = LAYOUTS.LAYOUTS[layout]["suffix"]
        ours = {path.resolve() for path in CONTRIB.rglob(f"*{suffix}*") if path.is_file()}
        missing = sorted(str(path.relative_to(ROOT)) for path in ours - installer.sources)
        assert not missing, f"{layout} files their own Install lines do not install: {missing}"


@pytest.mark.parametrize("layout", ["rhel", "suse"])
def test_the_comparison_finds_a_replaced_stock_file(layout: str, tmp_path: Path):
    """The check can fail: the old instruction, which copied our services.conf into conf.d
    over Icinga's own, and a stray file not named as ours."""
    _, problems = install_and_compare(layout, tmp_path / "root", extra=(
        "cp contrib/icinga2/check_os4x-services.conf /etc/icinga2/conf.d/services.conf",
        "cp contrib/icinga2/check_os4x-command.conf /etc/icinga2/conf.d/mine.conf"))
    assert problems == ["/etc/icinga2/conf.d/services.conf was replaced",
                        "/etc/icinga2/conf.d/mine.conf: not one of ours by its name or its "
                        "folder's"]


def test_the_install_comments_are_found():
    """Each generated file's Install lines, continuation lines joined."""
    sudoers = install_comments(CONTRIB / "sudoers" / "check_os4x.rhel")
    assert sudoers[0] == ("install -o root -g root -m 0440 contrib/sudoers/check_os4x.rhel "
                          "/etc/sudoers.d/check_os4x")
    mrpe = install_comments(CONTRIB / "checkmk" / "check_os4x-mrpe.suse.cfg")
    assert mrpe[0] == "cat contrib/checkmk/check_os4x-mrpe.suse.cfg >> /etc/check_mk/mrpe.cfg"
