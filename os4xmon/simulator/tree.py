"""The simulated OS4X process tree: real processes with OS4X's titles, short names and parents.

The launcher (the ``os4x-simulator run`` process) forks the daemons the way OS4X starts them:
``os4xrd`` forks its receivers, which rewrite their command line; ``os4xsqd`` forks its
actions. Every process reports ``name pid ppid`` on a pipe once it looks right, and the
launcher writes the list to the state file when all have reported.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import sys
import time
from typing import Any, Callable

from os4xmon.os4x import daemons
from os4xmon.simulator import binaries, proctitle
from os4xmon.simulator.scenario import DECOYS, Scenario

PR_SET_CHILD_SUBREAPER = 36

Body = Callable[[str, Scenario], None]
SERVE: dict[str, Body] = {}
"""Daemon name -> what it does once it looks right (listen on a port...); default: idle."""
EXEC: dict[str, Any] = {}
"""Set by the launcher: what an exec'd daemon needs to rebuild the scenario (argv, bin_dir,
the parts' states)."""
TITLE_SPACE = 400


class Announcer:
    """The write end of the pipe on which every simulated process says it is ready."""

    fd = -1

    @classmethod
    def say(cls, name: str) -> None:
        os.write(cls.fd, f"{name} {os.getpid()} {os.getppid()}\n".encode())


def spawn(body: Callable[[], None]) -> int:
    """Forks a child that runs body and never returns into the caller's code."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        body()
    except BaseException as error:  # a simulated daemon must never return into the launcher
        sys.stderr.write(f"simulator: pid {os.getpid()}: {error!r}\n")
        code = 1
    finally:
        os._exit(code)


def exec_daemon(name: str, body: str, arg: Any) -> None:
    """In a forked child: runs body as ``<bin dir>/<name>``, exec'd as OS4X starts a daemon, so
    that /proc/PID/exe lies in the binary directory (and shows a replaced binary as such)."""
    blob = json.dumps({"body": body, "name": name, "arg": arg, "fd": Announcer.fd, **EXEC})
    os.set_inheritable(Announcer.fd, True)
    binary = os.path.join(EXEC["bin_dir"], name)
    os.execve(binary, [binary, "-m", "os4xmon.simulator", "daemon",
                       blob + " " * max(TITLE_SPACE - len(blob), 0)],
              binaries.child_environment())


def run_child(blob: str, scenario_of: Callable[[list], Scenario]) -> None:
    """The exec'd daemon's side of exec_daemon: the same body a fork would have run."""
    state = json.loads(blob)
    Announcer.fd = state["fd"]
    EXEC.update({key: state[key] for key in ("argv", "bin_dir", "states")})
    scenario = scenario_of(state["argv"])
    name, arg = state["name"], state["arg"]
    bodies: dict[str, Callable[[], None]] = {
        "master": lambda: master(scenario, bool(arg)),
        "orphan": lambda: orphaned_receiver(arg, scenario),
        "send_queue": lambda: send_queue(scenario, bool(arg)),
        "plain": lambda: plain_daemon(name, scenario, int(arg)),
    }
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        bodies[state["body"]]()
    except BaseException as error:  # a simulated daemon must never return
        sys.stderr.write(f"simulator: pid {os.getpid()}: {error!r}\n")
        code = 1
    finally:
        os._exit(code)


def become(title: str | tuple, comm: str, pad: bool, scenario: Scenario, name: str) -> None:
    """Takes on a daemon's look, and its user where the scenario says so (needs root)."""
    proctitle.set_comm(comm)
    proctitle.set_cmdline(title, pad)
    user = scenario.run_as.get(name)
    if user:
        entry = pwd.getpwnam(user)
        os.setgroups([])
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)


def idle(reap: bool = True) -> None:
    """Waits for a signal forever; reaps exited children unless leaving zombies is the point."""
    if reap:
        signal.signal(signal.SIGCHLD, lambda *_: _reap())
    while True:
        signal.pause()


def announce_and_idle(name: str) -> None:
    Announcer.say(name)
    idle()


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _serve(name: str, scenario: Scenario) -> None:
    SERVE.get(name, lambda *_: idle())(name, scenario)


def receiver(name: str, scenario: Scenario) -> None:
    become(name, daemons.MASTER, True, scenario, name)  # short name stays os4xrd
    Announcer.say(name)
    _serve(name, scenario)


def orphaned_receiver(name: str, scenario: Scenario) -> None:
    """An intermediate that forks the receiver and exits: the receiver loses its parent."""
    spawn(lambda: receiver(name, scenario))
    os._exit(0)


def master(scenario: Scenario, with_receivers: bool) -> None:
    become(scenario.title(daemons.MASTER), daemons.MASTER, False, scenario, daemons.MASTER)
    if with_receivers:
        for name in scenario.receivers():
            if name in scenario.orphan:
                continue
            for _ in range(2 if name in scenario.duplicate else 1):
                spawn(lambda name=name: receiver(name, scenario))  # type: ignore[misc]
    Announcer.say(daemons.MASTER)
    _serve(daemons.MASTER, scenario)


def send_queue(scenario: Scenario, with_actions: bool) -> None:
    name = daemons.SEND_QUEUE
    become(scenario.title(name), name, False, scenario, name)
    if with_actions:
        for _ in range(scenario.actions):
            spawn(lambda: announce_and_idle("action"))
        if scenario.zombie:
            spawn(lambda: Announcer.say("zombie"))  # exits at once and is never reaped
    Announcer.say(name)
    if scenario.zombie:
        idle(reap=False)
    _serve(name, scenario)


def plain_daemon(name: str, scenario: Scenario, children: int) -> None:
    become(scenario.title(name), name, False, scenario, name)
    for _ in range(children):
        spawn(lambda: announce_and_idle(f"{name}-child"))
    Announcer.say(name)
    _serve(name, scenario)


def decoy(comm: str, title: str) -> None:
    proctitle.set_comm(comm)
    proctitle.set_cmdline(title, False)
    Announcer.say("decoy")
    idle()


def start_all(scenario: Scenario) -> int:
    """Forks every process of the scenario; returns how many will announce themselves."""
    announced = 0
    running = scenario.daemons()
    first = {True: 1, False: 0}

    def count(name: str) -> int:
        return 2 if name in scenario.duplicate else 1

    if daemons.MASTER in running:
        for copy in range(count(daemons.MASTER)):
            spawn(lambda copy=copy: exec_daemon(  # type: ignore[misc]
                daemons.MASTER, "master", copy == 0))
            announced += 1
        announced += sum(count(n) for n in scenario.receivers() if n not in scenario.orphan)
    for name in scenario.receivers():
        if name in scenario.orphan:  # forked by an old master that is gone
            spawn(lambda name=name: exec_daemon(  # type: ignore[misc]
                daemons.MASTER, "orphan", name))
            announced += 1
    if daemons.SEND_QUEUE in running:
        for copy in range(count(daemons.SEND_QUEUE)):
            spawn(lambda copy=copy: exec_daemon(  # type: ignore[misc]
                daemons.SEND_QUEUE, "send_queue", copy == 0))
        announced += count(daemons.SEND_QUEUE) + scenario.actions + first[scenario.zombie]
    for name, children in ((daemons.CLIENTD, scenario.clientd_children),
                           (daemons.DEBUGD, 0), (daemons.FETCH_QUEUE, 0)):
        if name in running:
            for copy in range(count(name)):
                spawn(lambda name=name, kids=children * first[copy == 0]:  # type: ignore[misc]
                      exec_daemon(name, "plain", kids))
            announced += count(name) + children
    if scenario.decoys:
        for comm, title in DECOYS:
            spawn(lambda comm=comm, title=title: decoy(comm, title))  # type: ignore[misc]
            announced += 1
    return announced


def become_subreaper() -> None:
    """Orphans are re-parented to the launcher, so that stopping it stops them too."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def wait_for(read_fd: int, expected: int, timeout: float) -> list:
    """Reads announcements until expected processes have said they are ready."""
    import select

    lines: list = []
    buffer = b""
    deadline = time.monotonic() + timeout
    while len(lines) < expected:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([read_fd], [], [], left)[0]:
            raise TimeoutError(f"only {len(lines)} of {expected} simulated processes started")
        chunk = os.read(read_fd, 4096)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            name, pid, ppid = line.decode().split()
            lines.append({"name": name, "pid": int(pid), "ppid": int(ppid)})
    return lines
