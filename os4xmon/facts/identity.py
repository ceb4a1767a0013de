"""Whose is a process: which OS4X daemon, of which installation, and whether it is OS4X's at all.

Pure functions of one process table. A name is not proof: a copy of ``sleep`` called ``os4xsqd``
looks like the send queue daemon to ``ps``. A process counts as OS4X's when its executable
(``/proc/PID/exe``) lies in the installation's binary directory (``--bin-dir``); where the
executable cannot be read (another user's process, seen by an unprivileged plugin), when it runs
as the OS4X user (``--user``, else the user of the installation's ``os4xrd`` master).

Several installations can share a host, each started with ``-C FILE`` (no ``-C``: the default
file). A daemon started by OS4X names its file on its own command line; receivers rewrite their
command line and the send queue's actions run other programs, so both belong to the
installation of their parent. The process check and the port check judge by the same
classification, so a port held by another installation's receiver is never counted as ours.
"""

from __future__ import annotations

import posixpath

from os4xmon.core.record import dataclass, fields
from os4xmon.core.text import printable
from os4xmon.os4x import daemons

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Mapping

    from os4xmon.core.settings import Settings
    from os4xmon.sources.proctable import ProcessInfo, ProcessTable


@dataclass(frozen=True)
class Installation:
    """What identifies the installation checked: its configuration file, binaries and user."""

    config: str = daemons.DEFAULT_CONFIG
    bin_dirs: tuple[str, ...] = (daemons.DEFAULT_BIN_DIR,)  # as given, then its real path
    user: str | None = None  # --user; None: the user of the master

    @property
    def bin_dir(self) -> str:
        return self.bin_dirs[0]


def bin_dirs_of(bin_dir: str) -> tuple[str, ...]:
    """The binary directory as given and as the kernel shows it (symlinks resolved): I/O."""
    real = posixpath.realpath(bin_dir)
    return (bin_dir,) if real == bin_dir else (bin_dir, real)


def installation_of(settings: Settings) -> Installation:
    """The installation the settings name (--os4x-config, --bin-dir, --user)."""
    return Installation(settings.os4x_config, bin_dirs_of(settings.bin_dir), settings.user)


@dataclass(frozen=True)
class Identity:
    """What the plugin concluded about one process of the table."""

    pid: int
    daemon: str | None  # by its command line's first word; None: not a daemon's name
    instance: bool  # a daemon whose parent is not a process of the same daemon
    config: str  # the configuration file of the installation it belongs to
    ours: bool  # of the installation checked
    genuine: bool | None = None  # True: binary in the bin dir; False: impostor; None: unverified
    reason: str = ""  # why it is not OS4X's
    binary: str | None = None  # its executable, without the kernel's " (deleted)"
    replaced: bool = False  # the executable was replaced or removed on disk


def in_bin_dir(binary: str, bin_dirs: tuple[str, ...]) -> bool:
    directory = posixpath.dirname(binary)
    return any(daemons.same_file_name(directory, wanted) for wanted in bin_dirs)


def _names(table: ProcessTable) -> dict[int, str | None]:
    return {pid: daemons.daemon_of(p.cmdline, p.comm) for pid, p in table.processes.items()}


def _configs(table: ProcessTable, names: Mapping[int, str | None]) -> dict[int, str]:
    """Each process's installation: its own ``-C`` if OS4X started it, else its parent's."""
    configs: dict[int, str] = {}

    def own(process: ProcessInfo) -> str:
        return daemons.config_of(process.cmdline) or daemons.DEFAULT_CONFIG

    def started_by_os4x(process: ProcessInfo) -> bool:
        name = names.get(process.pid)
        return (name is not None and not daemons.is_receiver(name)
                and names.get(process.ppid) != name and not process.zombie)

    for pid in table.processes:
        chain: list[ProcessInfo] = []
        current = table.processes[pid]
        while True:  # up to the process that names its own file, or the table's edge
            if current.pid in configs:
                found = configs[current.pid]
                break
            chain.append(current)
            parent = table.processes.get(current.ppid)
            if started_by_os4x(current) or parent is None or parent in chain:
                found = own(current)
                break
            current = parent
        for process in chain:
            configs[process.pid] = found
    return configs


def _reference_users(table: ProcessTable, names: Mapping[int, str | None],
                     configs: Mapping[int, str], installation: Installation) -> dict[str, str]:
    """The OS4X user of each installation: its master's (a verified one first, the oldest).

    A master whose binary lies elsewhere is an impostor and nobody's reference; one whose
    binary cannot be read counts only where no master was verified.
    """
    verified, unverified = [], []
    for pid, process in table.processes.items():
        if names[pid] != daemons.MASTER or names.get(process.ppid) == daemons.MASTER \
                or process.zombie or process.username is None:
            continue
        if process.exe is None:
            unverified.append(process)
        elif in_bin_dir(daemons.strip_deleted(process.exe)[0], installation.bin_dirs):
            verified.append(process)
    users: dict[str, str] = {}
    for group in (verified, unverified):
        for master in sorted(group, key=lambda p: (p.create_time or 0.0, p.pid)):
            users.setdefault(configs[master.pid], master.username or "")
    return users


def foreign_note(identity: Identity) -> str:
    """Why a process with a daemon's name is not this installation's daemon; "" if it is."""
    if identity.daemon is None:
        return ""
    if not identity.ours:
        return f"of another OS4X installation (-C {printable(identity.config, 120)})"
    if identity.genuine is False:
        return f"not OS4X's: {identity.reason}"
    return ""


def classify(table: ProcessTable, installation: Installation) -> dict[int, Identity]:
    """Every process of the table, classified; no I/O."""
    names = _names(table)
    configs = _configs(table, names)
    references = _reference_users(table, names, configs, installation)
    identities = {}
    for pid, process in table.processes.items():
        name = names[pid]
        config = configs[pid]
        ours = daemons.same_file_name(config, installation.config)
        identity = Identity(pid, name, name is not None and names.get(process.ppid) != name,
                            config, ours)
        if name is not None and not process.zombie:
            identity = _judge_binary(identity, process, installation,
                                     installation.user if ours and installation.user
                                     else references.get(config))
        identities[pid] = identity
    return identities


def _judge_binary(identity: Identity, process: ProcessInfo, installation: Installation,
                  user: str | None) -> Identity:
    if process.exe is not None:
        binary, replaced = daemons.strip_deleted(process.exe)
        if in_bin_dir(binary, installation.bin_dirs):
            return _with(identity, genuine=True, binary=binary, replaced=replaced)
        return _with(identity, genuine=False, binary=binary, replaced=replaced,
                     reason=f"its binary {printable(binary, 80)} is not in "
                     f"{printable(installation.bin_dir, 80)}")
    if user is not None and process.username is not None and process.username != user:
        return _with(identity, genuine=False,
                     reason=f"it runs as {printable(process.username, 32)}, not as the OS4X "
                     f"user {printable(user, 32)}, and its binary cannot be read")
    return identity


def _with(identity: Identity, **changes: object) -> Identity:
    values = {item.name: getattr(identity, item.name) for item in fields(identity)}
    return Identity(**{**values, **changes})
