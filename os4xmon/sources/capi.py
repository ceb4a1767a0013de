"""The I/O of the ISDN check: reading the kernel's controller list and running ``capiinfo``.

Nothing here interprets what it reads; ``os4xmon.checks.isdn`` parses and decides. Both edges are
bounded, because a check that runs every minute must never hang or fill memory: the file read
and capiinfo's output stop at ``MAX_BYTES``, and capiinfo runs without a shell, in its own
process group (so that a wrapper script's children die with it), for at most the time left.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time

from os4xmon.core.record import dataclass

MAX_BYTES = 256 * 1024
"""More than any real controller list or capiinfo output (about 2 KiB per controller)."""


class SourceError(Exception):
    """The source could not be read at all; ``missing`` when it does not exist."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def read_controller_file(path: str, limit: int = MAX_BYTES) -> bytes:
    """The bytes of the controller list, at most limit + 1 of them (so that overflow shows)."""
    try:
        with open(path, "rb") as stream:
            return stream.read(limit + 1)
    except FileNotFoundError:
        raise SourceError(f"{path} does not exist", missing=True) from None
    except OSError as error:
        raise SourceError(f"cannot read {path}: {error.strerror or error}") from None


@dataclass(frozen=True)
class CapiinfoRun:
    """What capiinfo did: its output (cut at the limit), exit code, and why it was stopped."""

    stdout: bytes
    stderr: bytes
    returncode: int | None  # None: killed by us (timed out or too much output)
    timed_out: bool = False
    overflow: bool = False
    seconds: float = 0.0


SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL")


def child_environment(environ: dict[str, str]) -> dict[str, str]:
    """The environment for a child: the plugin's, without anything secret (OS4X_DB_PASSWORD,
    any *PASSWORD*, the plugin's own OS4X_DB_* settings), in the C locale that the parser reads."""
    clean = {name: value for name, value in environ.items()
             if not name.upper().startswith("OS4X_DB_")
             and not any(word in name.upper() for word in SECRET_WORDS)}
    clean["LC_ALL"] = "C"
    return clean


def _exited(process: subprocess.Popen) -> bool:
    """Whether the child has exited, without reaping it (so its pid stays ours to signal);
    where waitid is missing (not Linux), poll() reaps it."""
    if not hasattr(os, "waitid"):
        return process.poll() is not None
    try:
        found = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return found is not None


def run_capiinfo(program: str, timeout: float, limit: int = MAX_BYTES) -> CapiinfoRun:
    """Runs capiinfo for at most timeout seconds; raises SourceError if it cannot start.

    capiinfo is judged on what it wrote once it has exited: a background child it left
    holding the pipes open (a wrapper script's ``sleep &``) does not make the plugin wait for
    an end of file that never comes; it is killed with capiinfo's process group.
    """
    from os4xmon.core import execution  # signals and the deadline only when capiinfo runs

    started = time.monotonic()
    try:
        process = subprocess.Popen(
            [program], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=child_environment(dict(os.environ)),
            start_new_session=True, close_fds=True)
    except OSError as error:
        raise SourceError(f"cannot run {program}: {error.strerror or error}") from None
    execution.track_child(process.pid)  # a SIGTERM to the plugin kills the group
    returncode: int | None = None
    try:
        output = _Output(limit)
        output.collect(process, started + timeout)
        if output.exited and not output.overflow:
            output.timed_out = False
            _kill_group(process.pid)  # what it left behind; capiinfo itself is not reaped
            returncode = process.wait()
    finally:
        if returncode is None:
            _kill_group(process.pid)
            process.wait()
        execution.untrack_child(process.pid)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    return CapiinfoRun(bytes(output.buffers["stdout"]), bytes(output.buffers["stderr"]),
                       returncode, output.timed_out, output.overflow,
                       time.monotonic() - started)


class _Output:
    """capiinfo's stdout and stderr, read until it exits and has nothing more to say."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffers = {"stdout": bytearray(), "stderr": bytearray()}
        self.timed_out = self.overflow = self.exited = False

    def collect(self, process: subprocess.Popen, deadline: float) -> None:
        selector = selectors.DefaultSelector()
        try:
            assert process.stdout is not None and process.stderr is not None
            selector.register(process.stdout, selectors.EVENT_READ, "stdout")
            selector.register(process.stderr, selectors.EVENT_READ, "stderr")
            while selector.get_map() and not self.overflow:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.timed_out = True
                    return
                ready = selector.select(0 if self.exited else min(left, 0.05))
                if not ready and self.exited:
                    return  # exited, nothing more to read: a grandchild holds the pipes
                for key, _ in ready:
                    self._read(selector, key)
                self.exited = self.exited or _exited(process)
        finally:
            selector.close()
        while not (self.overflow or self.exited):  # closed its output, still running?
            self.timed_out = time.monotonic() >= deadline
            if self.timed_out:
                return
            time.sleep(0.02)
            self.exited = _exited(process)

    def _read(self, selector: selectors.BaseSelector, key: selectors.SelectorKey) -> None:
        chunk = os.read(key.fd, 65536)
        if not chunk:
            selector.unregister(key.fileobj)
            return
        buffer = self.buffers[key.data]
        buffer.extend(chunk[: self.limit + 1 - len(buffer)])
        self.overflow = self.overflow or len(buffer) > self.limit


def _kill_group(group: int) -> None:
    """Kills capiinfo's process group: capiinfo and anything it started.

    Called only while capiinfo is not yet reaped: until then its pid, which names the group,
    cannot be given to another process, so the signal reaches nobody else.
    """
    with contextlib.suppress(OSError):
        os.killpg(group, signal.SIGKILL)
