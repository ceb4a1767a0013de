"""The I/O of the ISDN check: reading the kernel's controller list and running ``capiinfo``.

Nothing here interprets what it reads; ``os4xmon.isdn`` parses and decides. Both edges are
bounded, because a check that runs every minute must never hang or fill memory: the file read
and capiinfo's output stop at ``MAX_BYTES``, and capiinfo runs without a shell, in its own
process group (so that a wrapper script's children die with it), for at most the time left.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time

from os4xmon.record import dataclass

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


def run_capiinfo(program: str, timeout: float, limit: int = MAX_BYTES) -> CapiinfoRun:
    """Runs capiinfo for at most timeout seconds; raises SourceError if it cannot start."""
    environment = dict(os.environ, LC_ALL="C")
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            [program], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=environment, start_new_session=True, close_fds=True)
    except OSError as error:
        raise SourceError(f"cannot run {program}: {error.strerror or error}") from None
    buffers = {"stdout": bytearray(), "stderr": bytearray()}
    timed_out = overflow = False
    returncode: int | None = None
    selector = selectors.DefaultSelector()
    try:
        assert process.stdout is not None and process.stderr is not None
        selector.register(process.stdout, selectors.EVENT_READ, "stdout")
        selector.register(process.stderr, selectors.EVENT_READ, "stderr")
        deadline = started + timeout
        while selector.get_map() and not overflow:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            for key, _ in selector.select(left):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer = buffers[key.data]
                buffer.extend(chunk[: limit + 1 - len(buffer)])
                overflow = overflow or len(buffer) > limit
        if not (timed_out or overflow):
            try:
                returncode = process.wait(max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:  # closed its output but kept running
                timed_out = True
    finally:
        selector.close()
        if returncode is None:
            _kill_group(process)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    return CapiinfoRun(bytes(buffers["stdout"]), bytes(buffers["stderr"]), returncode,
                       timed_out, overflow, time.monotonic() - started)


def _kill_group(process: subprocess.Popen) -> None:
    """Kills capiinfo and anything it started, then reaps it.

    Called only while capiinfo is not yet reaped: until then its pid, which names the group,
    cannot be given to another process, so the signal reaches nobody else.
    """
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()
    process.wait()


def time_left(fallback: float) -> float:
    """Seconds until the plugin's own -t alarm fires; fallback when no alarm is set."""
    left = signal.getitimer(signal.ITIMER_REAL)[0]
    return left if left > 0 else fallback


def capiinfo_budget(left: float) -> float:
    """Time capiinfo may take: what is left of -t minus a margin for reporting the result."""
    margin = min(1.0, max(left * 0.2, 0.2))
    return max(left - margin, 0.1)
