"""The ``os4x-event`` command: OS4X's event in, a passive check result out, exit 0 always.

``os4x-event [--config FILE] EVENT [ARGUMENT...]``. OS4X runs it as an event script, so it
must never harm OS4X: it returns within 2 s whatever the monitoring server does (the work
runs in a thread that the main thread waits for at most :data:`WORK_SECONDS`; a DNS lookup or
a TLS handshake that hangs is left behind by ``os._exit``), always exits 0, and says what went
wrong in syslog (and on stderr). The API password comes only from the INI file.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from contextlib import suppress

from os4xmon.core.text import printable
from os4xmon.event.config import DEFAULT_PATH, ConfigError, load
from os4xmon.event.events import EventError, decode, one_line, service_name
from os4xmon.event.senders import SendError, to_icinga, to_nagios

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import NoReturn, Sequence

    from os4xmon.event.config import Config
    from os4xmon.event.events import Event

WORK_SECONDS = 1.5
"""From the start of main() to the exit: with the interpreter's start-up, within 2 s."""

USAGE = """usage: os4x-event [--config FILE] EVENT [ARGUMENT...]

OS4X's event script: sends the event as a passive check result to Icinga 2 (API) and/or
Nagios Core (command file), configured in the [os4x-event] section of FILE
(default {path}, mode 0600). Always exits 0 within 2 seconds; problems go to syslog.

events:
  end-session PARTNER INDEX ESID-REASON   reason 00 OK, any other CRITICAL
  queue-blocked PARTNER [FILE]            WARNING
  licence [TEXT]                          WARNING
"""

SYSLOG_PRIORITY = 3 * 8 + 3  # facility daemon, severity err


def log(message: str, socket_path: str = "/dev/log") -> None:
    """One line to syslog (and stderr); never raises, never waits."""
    text = printable(message, 500)
    with suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(f"os4x-event: {text}\n")
        sys.stderr.flush()
    data = f"<{SYSLOG_PRIORITY}>os4x-event[{os.getpid()}]: {text}".encode("utf-8", "replace")
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        try:
            with socket.socket(socket.AF_UNIX, kind) as stream:
                stream.settimeout(0.2)
                stream.connect(socket_path)
                stream.sendall(data if kind == socket.SOCK_DGRAM else data + b"\n")
            return
        except OSError:
            continue


def read_arguments(argv: Sequence[str]) -> tuple[str, str, list[str]]:
    """(config path, event, its arguments); only --config is an option, anything else
    before the event is refused without echoing it (it may be a password)."""
    words = list(argv)
    path = DEFAULT_PATH
    while words and words[0].startswith("-"):
        word = words.pop(0)
        if word in ("-h", "--help"):
            raise SystemExit(_usage())
        if word == "--config" and words:
            path = words.pop(0)
        elif word.startswith("--config="):
            path = word[len("--config="):]
        else:
            raise EventError(f"unknown option {printable(word.split('=', 1)[0], 30)} (only "
                             "--config FILE; the API password belongs in the file)")
    if not words:
        raise EventError("no event given: end-session, queue-blocked or licence")
    return path, words[0], words[1:]


def _usage() -> int:
    sys.stdout.write(USAGE.format(path=DEFAULT_PATH))
    return 0


def deliver(config: Config, event: Event, deadline: float, problems: list[str]) -> None:
    """Sends to every configured server in turn, each within what is left of the deadline."""
    service = service_name(config.service_name, event.partner)
    text = one_line(event.text)
    if config.command_file:
        try:
            to_nagios(config, service, event.state, text)
        except SendError as error:
            problems.append(str(error))
    if config.api_host:
        try:
            to_icinga(config, service, event.state, text, deadline - time.monotonic())
        except SendError as error:
            problems.append(str(error))
        except Exception as error:  # never a traceback into OS4X's logs
            problems.append(f"Icinga 2 API: {type(error).__name__}: {printable(str(error))}")


def run(argv: Sequence[str], started: float) -> None:
    syslog = "/dev/log"
    try:
        path, name, arguments = read_arguments(argv)
        event = decode(name, arguments)
        config = load(path)
    except (EventError, ConfigError) as error:
        log(str(error), syslog)
        return
    syslog = config.syslog_socket
    deadline = started + WORK_SECONDS
    problems: list[str] = []
    worker = threading.Thread(target=deliver, args=(config, event, deadline, problems),
                              daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0))
    if worker.is_alive():
        where = f"Icinga 2 API {config.api_host}:{config.api_port}" if config.api_host \
            else "the Nagios command file"
        problems.append(f"{where}: no answer within {WORK_SECONDS:g} s, result of "
                        f"{name} not delivered")
    for problem in problems:
        log(problem, syslog)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    started = time.monotonic()
    try:
        run(sys.argv[1:] if argv is None else argv, started)
    except SystemExit:
        pass
    except BaseException as error:  # exit 0 whatever happened
        log(f"internal error: {type(error).__name__}: {printable(str(error))}")
    with suppress(OSError, ValueError):
        sys.stdout.flush()
    os._exit(0)  # no waiting for a worker thread stuck in DNS or TLS
