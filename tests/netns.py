"""Another host, for tests: two private network namespaces joined by a veth pair.

127.0.0.0/8 and every interface address are this machine to the plugin, so a test of "another
host" needs an address that is not the plugin's own: the server side (the simulator) runs in
one namespace at 10.199.0.1, the plugin in the other at 10.199.0.2. Nothing of the host's own
network is touched; both namespaces end with their sleeping holders.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Iterator

import pytest

SERVER, CLIENT = "10.199.0.1", "10.199.0.2"


@dataclass
class Hosts:
    server_pid: int
    client_pid: int

    @staticmethod
    def enter(pid: int) -> list[str]:
        return ["nsenter", f"--net=/proc/{pid}/ns/net"]

    @property
    def on_server(self) -> list[str]:
        return self.enter(self.server_pid)

    @property
    def on_client(self) -> list[str]:
        return self.enter(self.client_pid)


def _own_namespace(pid: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
    except OSError:
        return False


@contextlib.contextmanager
def two_hosts() -> Iterator[Hosts]:
    if os.geteuid() != 0 or not (shutil.which("ip") and shutil.which("nsenter")
                                 and shutil.which("unshare")):
        pytest.skip("needs root, ip, nsenter and unshare for network namespaces")
    holders = [subprocess.Popen(["unshare", "--net", "sleep", "600"]) for _ in range(2)]
    try:
        deadline = time.monotonic() + 10
        while not all(_own_namespace(holder.pid) for holder in holders):
            assert time.monotonic() < deadline, "network namespaces not created"
            time.sleep(0.01)
        hosts = Hosts(holders[0].pid, holders[1].pid)
        commands = [
            [*hosts.on_server, "ip", "link", "add", "os4x-a", "type", "veth", "peer", "name",
             "os4x-b", "netns", str(hosts.client_pid)],
            [*hosts.on_server, "ip", "addr", "add", f"{SERVER}/24", "dev", "os4x-a"],
            [*hosts.on_server, "ip", "link", "set", "os4x-a", "up"],
            [*hosts.on_server, "ip", "link", "set", "lo", "up"],
            [*hosts.on_client, "ip", "addr", "add", f"{CLIENT}/24", "dev", "os4x-b"],
            [*hosts.on_client, "ip", "link", "set", "os4x-b", "up"],
            [*hosts.on_client, "ip", "link", "set", "lo", "up"],
        ]
        for command in commands:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                pytest.skip(f"network namespaces not available: {done.stderr.strip()}")
        yield hosts
    finally:
        for holder in holders:
            holder.kill()
            holder.wait()
