"""What the simulated OS4X host runs, and which faults it shows: a plain record of choices."""

from __future__ import annotations

from dataclasses import dataclass, field

from os4xmon.os4x import daemons

DECOYS = (
    ("grep", "grep os4xrd"),
    ("tail", "tail -f /var/log/os4xrd.log"),
    ("vim", "vim /etc/os4xsqd.conf"),
    ("os4xrd_tcpip.sh", "/bin/sh /opt/os4x/bin/os4xrd_tcpip.sh"),
)
"""Processes that mention daemon names without being daemons: a substring match counts them."""


@dataclass
class Scenario:
    """A healthy OS4X host by default; every field that is not a default is a chosen fault."""

    bin_dir: str = "/opt/os4x/bin"
    no_tls: bool = False
    isdn_controllers: int = 0
    enterprise: bool = False
    debugd: bool = False
    actions: int = 2
    clientd_children: int = 1
    decoys: bool = True
    missing: tuple[str, ...] = ()  # daemons not started
    duplicate: tuple[str, ...] = ()  # daemons started twice
    orphan: tuple[str, ...] = ()  # receivers left without their master
    zombie: bool = False  # an os4xsqd action that exited and was never reaped
    run_as: dict[str, str] = field(default_factory=dict)  # daemon -> user (needs root)
    config: str | None = None  # -C FILE on the daemons' command lines: another installation
    fetch_queue: bool = False  # os4xfqd runs
    stopped: tuple[str, ...] = ()  # daemons stopped with SIGSTOP once started

    def title(self, name: str) -> tuple[str, ...]:
        """The command line OS4X starts a daemon with: its path, and -C FILE if given."""
        path = (f"{self.bin_dir}/{name}",)
        return (*path, "-C", self.config) if self.config else path

    def daemons(self) -> tuple[str, ...]:
        """Every daemon this host runs, expected or not (os4xdebugd only when asked)."""
        names = list(daemons.expected_daemons(self.no_tls, self.isdn_controllers,
                                              self.enterprise, self.debugd,
                                              self.fetch_queue))
        return tuple(name for name in names if name not in self.missing)

    def receivers(self) -> tuple[str, ...]:
        return tuple(name for name in self.daemons() if daemons.is_receiver(name))
