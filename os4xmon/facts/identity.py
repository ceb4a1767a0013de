"""Whose is a process: which OS4X daemon, of which installation, and whether it is OS4X's at all.

Pure functions of one process table. A name is not proof: a copy of ``sleep`` called ``os4xsqd``
looks like the send queue daemon to ``ps``, and so does one started in a mount namespace of its
own (``unshare -Urm``) with anything mounted over the binary directory: ``/proc/PID/exe`` shows
the path as seen inside that namespace. A process counts as OS4X's only when it runs in the
plugin's mount namespace or at least its user namespace (systemd's ``PrivateTmp``, which NRPE
has on Debian, gives the plugin a mount namespace of its own; an unprivileged ``unshare -m``
needs a user namespace too), its executable is the very file of the installation's binary
directory (``--bin-dir``: device and inode, symlinks of the directory resolved, not the path
text), and it runs as the OS4X user (``--user``, else the user of the installation's ``os4xrd``
master, for every daemon: a real binary run by another user with ``LD_PRELOAD`` is not OS4X).
Where the executable cannot be read (another user's process, seen by an unprivileged plugin),
the user alone decides.

Several installations can share a host, each started with ``-C FILE`` (no ``-C``: the default
file). A daemon started by OS4X names its file on its own command line; receivers rewrite their
command line and the send queue's actions run other programs, so both belong to the
installation of their parent. The process check and the port check judge by the same
classification, so a port held by another installation's receiver is never counted as ours.
"""

from __future__ import annotations

import contextlib
import posixpath

from os4xmon.core.record import dataclass, fields
from os4xmon.core.text import printable
from os4xmon.os4x import daemons

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Mapping, Tuple

    BinaryFile = Tuple[str, Tuple[int, int], float]  # name, (device, inode), mtime

    from os4xmon.core.settings import Settings
    from os4xmon.sources.proctable import ProcessInfo, ProcessTable


@dataclass(frozen=True)
class Installation:
    """What identifies the installation checked: its configuration file, binaries and user."""

    config: str = daemons.DEFAULT_CONFIG
    bin_dirs: tuple[str, ...] = (daemons.DEFAULT_BIN_DIR,)  # as given, then its real path
    user: str | None = None  # --user; None: the user of the master
    files: tuple[BinaryFile, ...] = ()  # the binary directory's files; (): not read

    @property
    def bin_dir(self) -> str:
        return self.bin_dirs[0]

    def file_named(self, name: str) -> BinaryFile | None:
        return next((entry for entry in self.files if entry[0] == name), None)

    def files_of(self, file_id: tuple[int, int]) -> list[str]:
        return [entry[0] for entry in self.files if entry[1] == file_id]


MAX_BIN_FILES = 4096
"""Entries of the binary directory read at most (OS4X has a few dozen)."""


def bin_dir_files(bin_dir: str) -> tuple[BinaryFile, ...]:
    """Each regular file of the binary directory (symlinks followed, so that a link into a
    versioned directory is the file it names) with its device, inode and mtime: I/O."""
    import os

    found = []
    try:
        with os.scandir(bin_dir) as entries:
            for count, entry in enumerate(entries):
                if count >= MAX_BIN_FILES:
                    break
                try:
                    status = os.stat(entry.path)
                except OSError:
                    continue
                if (status.st_mode & 0o170000) == 0o100000:  # a regular file
                    found.append((entry.name, (status.st_dev, status.st_ino), status.st_mtime))
    except OSError:
        return ()
    return tuple(sorted(found))


def bin_dirs_of(bin_dir: str) -> tuple[str, ...]:
    """The binary directory as given and as the kernel shows it (symlinks resolved), then the
    directories its symlinked files lie in (``os4xrd -> ../v2.5/os4xrd``): I/O."""
    import os

    found = [bin_dir]
    with contextlib.suppress(OSError), os.scandir(bin_dir) as entries:
        for count, entry in enumerate(entries):
            if count >= MAX_BIN_FILES:
                break
            if entry.is_symlink():
                found.append(posixpath.dirname(posixpath.realpath(entry.path)))
    found.insert(1, posixpath.realpath(bin_dir))
    return tuple(dict.fromkeys(found))


def installation_of(settings: Settings) -> Installation:
    """The installation the settings name (--os4x-config, --bin-dir, --user)."""
    return Installation(settings.os4x_config, bin_dirs_of(settings.bin_dir), settings.user,
                        bin_dir_files(settings.bin_dir))


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
    binary: str | None = None  # its executable, without the kernel's " (deleted)"; a file of
    # the binary directory is named by its path there (the path the admin uses)
    replaced: bool = False  # the executable was replaced or removed on disk
    installed: str | None = None  # renamed away (update by rename): the file now at its name
    installed_since: float | None = None  # that file's mtime
    wrong_user: str | None = None  # the OS4X user it does not run as (it runs as another)


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
        if table.own_user_ns and process.user_ns and process.user_ns != table.own_user_ns:
            continue  # in a user namespace of its own (unshare -U): nobody's reference
        if process.exe is None:
            unverified.append(process)
        elif _judge_file(Identity(pid, daemons.MASTER, True, configs[pid], True), process,
                         installation).genuine:
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
                                     else references.get(config),
                                     (table.own_mnt_ns, table.own_user_ns))
        identities[pid] = identity
    return identities


def _judge_binary(identity: Identity, process: ProcessInfo, installation: Installation,
                  user: str | None, own_mount: tuple[str | None, str | None]) -> Identity:
    """Mount namespace, then the executable's device and inode, then the user."""
    bin_dir = printable(installation.bin_dir, 80)
    if own_mount[0] and process.mnt_ns and process.mnt_ns != own_mount[0] and own_mount[1] \
            and process.user_ns and process.user_ns != own_mount[1]:
        # unshare -Urm: any user may mount anything over the binary directory in there. In
        # another mount namespace of the plugin's user namespace (systemd's PrivateTmp, which
        # NRPE on Debian has) the device and inode below decide
        return _with(identity, genuine=False, binary=process.exe, reason=(
            f"it runs in a user and mount namespace of its own ({printable(process.mnt_ns, 40)}"
            f", the plugin's is {printable(own_mount[0], 40)}), where {bin_dir} may be any "
            "other directory"))
    if process.exe is not None:
        judged = _judge_file(identity, process, installation)
        if judged.genuine is False:
            return judged
        identity = judged
    if user is not None and process.username is not None and process.username != user:
        if process.exe is None:
            return _with(identity, genuine=False,
                         reason=f"it runs as {printable(process.username, 32)}, not as the OS4X "
                         f"user {printable(user, 32)}, and its binary cannot be read")
        if identity.instance:
            return _with(identity, genuine=False, wrong_user=user,
                         reason=f"it runs as {printable(process.username, 32)}, not as the OS4X "
                         f"user {printable(user, 32)}")
    return identity


def _judge_file(identity: Identity, process: ProcessInfo,
                installation: Installation) -> Identity:
    """Genuine when the executable is a file of the binary directory by device and inode (by
    its path where the kernel marks it deleted, or where the directory could not be read)."""
    binary, deleted = daemons.strip_deleted(process.exe or "")
    bin_dir = printable(installation.bin_dir, 80)
    if deleted or process.exe_id is None or not installation.files:
        if in_bin_dir(binary, installation.bin_dirs):
            current = installation.file_named(posixpath.basename(binary))
            if deleted and current and not daemons.same_file_name(
                    posixpath.dirname(binary), installation.bin_dir):
                # where a symlink of the directory leads (v2.5/): the admin's path instead,
                # dated by the file now there
                return _with(identity, genuine=True, replaced=True, installed_since=current[2],
                             binary=posixpath.join(installation.bin_dir, current[0]))
            return _with(identity, genuine=True, binary=binary, replaced=deleted)
        return _with(identity, genuine=False, binary=binary, replaced=deleted,
                     reason=f"its binary {printable(binary, 80)} is not in {bin_dir}")
    names = installation.files_of(process.exe_id)
    if not names:
        where = "is not in" if not in_bin_dir(binary, installation.bin_dirs) \
            else "is not the file of that name in"
        return _with(identity, genuine=False, binary=binary,
                     reason=f"its binary {printable(binary, 80)} {where} {bin_dir} (another "
                     "device and inode)")
    starter = daemons.starter(identity.daemon or "")
    name = starter if starter in names else names[0]
    shown = posixpath.join(installation.bin_dir, name)
    if name == starter:
        return _with(identity, genuine=True, binary=shown)
    current = installation.file_named(starter)  # renamed away: another file has its name
    return _with(identity, genuine=True, binary=shown, replaced=True,
                 installed=posixpath.join(installation.bin_dir, starter),
                 installed_since=current[2] if current else None)


def _with(identity: Identity, **changes: object) -> Identity:
    values = {item.name: getattr(identity, item.name) for item in fields(identity)}
    return Identity(**{**values, **changes})
