"""Passive results to Icinga 2 (its REST API) and Nagios Core (its command file).

Each sender takes the seconds it may use and raises SendError with one line (never the
password) when the server is down, slow, refusing or answers with an error. main.py also
bounds the whole run, for what no timeout can stop (a hanging DNS lookup).
"""

from __future__ import annotations

import base64
import json
import os
import time

from os4xmon.core.text import printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from os4xmon.event.config import Config


class SendError(Exception):
    """One line for syslog: which server, what went wrong."""


def command_line(config: Config, service: str, state: int, text: str, now: float) -> bytes:
    """``[time] PROCESS_SERVICE_CHECK_RESULT;host;service;state;text``, one line."""
    for name, value in (("host-name", config.host_name), ("service", service)):
        if any(char in value for char in ";\n\r"):
            raise SendError(f"{name} {printable(value, 60)!r} cannot go into a Nagios command")
    line = (f"[{int(now)}] PROCESS_SERVICE_CHECK_RESULT;{config.host_name};{service};{state};"
            f"{text}\n")
    return line.encode("utf-8")[:4000]  # below PIPE_BUF: one write is never interleaved


def to_nagios(config: Config, service: str, state: int, text: str) -> None:
    """Writes the command into Nagios's command file (a FIFO) without ever waiting: no reader
    (Nagios down) or a full pipe is an error, not a hang."""
    assert config.command_file is not None
    path = config.command_file
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_APPEND
                             | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        reason = "Nagios is not reading it (not running?)" if error.errno == 6 \
            else error.strerror or str(error)
        raise SendError(f"Nagios command file {printable(path, 80)}: {reason}") from None
    try:
        data = command_line(config, service, state, text, time.time())
        if os.write(descriptor, data) != len(data):
            raise SendError(f"Nagios command file {printable(path, 80)}: short write")
    except OSError as error:
        raise SendError(f"Nagios command file {printable(path, 80)}: "
                        f"{error.strerror or error}") from None
    finally:
        os.close(descriptor)


def icinga_body(config: Config, service: str, state: int, text: str) -> dict[str, object]:
    """The process-check-result request: one service chosen by filter variables (no quoting
    of names into the filter), the TTL after which freshness takes over."""
    return {
        "type": "Service",
        "filter": "host.name==os4x_host && service.name==os4x_service",
        "filter_vars": {"os4x_host": config.host_name, "os4x_service": service},
        "exit_status": state,
        "plugin_output": text,
        "check_source": config.host_name,
        "ttl": int(config.ttl),
    }


def to_icinga(config: Config, service: str, state: int, text: str, seconds: float) -> None:
    """POSTs the result over TLS verified with ca-file (or the system's CAs)."""
    import http.client
    import ssl

    assert config.api_host is not None
    where = f"Icinga 2 API {printable(config.api_host, 80)}:{config.api_port}"
    try:
        context = ssl.create_default_context(cafile=config.ca_file)
    except (OSError, ssl.SSLError) as error:
        raise SendError(f"ca-file {printable(config.ca_file or '', 80)}: "
                        f"{getattr(error, 'strerror', None) or error}") from None
    token = base64.b64encode(f"{config.api_user}:{config.api_password}".encode()).decode()
    body = json.dumps(icinga_body(config, service, state, text)).encode("utf-8")
    connection = http.client.HTTPSConnection(config.api_host, config.api_port,
                                             timeout=max(seconds, 0.05), context=context)
    try:
        connection.request("POST", "/v1/actions/process-check-result", body=body, headers={
            "Accept": "application/json", "Content-Type": "application/json",
            "Authorization": f"Basic {token}"})
        response = connection.getresponse()
        answer = response.read(64 * 1024)
    except (OSError, http.client.HTTPException) as error:
        reason = "no answer in time" if isinstance(error, TimeoutError) or "timed out" in \
            str(error) else getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise SendError(f"{where}: {printable(reason, 200)}") from None
    finally:
        connection.close()
    results = _results(answer)
    if not results and _answered_empty(answer):  # Icinga 2.13 says so with HTTP 500
        raise SendError(f"{where}: no service {printable(service, 80)!r} on host "
                        f"{printable(config.host_name, 80)!r} (define it as a passive service, "
                        "see docs/events.md)")
    if response.status != 200:
        raise SendError(f"{where}: HTTP {response.status} "
                        f"{printable(_status_text(answer) or response.reason, 200)}")
    if not results or any(result.get("code") != 200 for result in results):
        raise SendError(f"{where}: {printable(_status_text(answer), 200)}")


def _results(answer: bytes) -> list[dict[str, object]]:
    try:
        document = json.loads(answer.decode("utf-8", "replace"))
    except ValueError:
        return []
    results = document.get("results") if isinstance(document, dict) else None
    return [item for item in results if isinstance(item, dict)] \
        if isinstance(results, list) else []


def _answered_empty(answer: bytes) -> bool:
    """Whether the API answered with an empty list of results: no object matched."""
    try:
        document = json.loads(answer.decode("utf-8", "replace"))
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("results") == []


def _status_text(answer: bytes) -> str:
    """The API's own words: ``status`` of the first result, or ``status`` of an error."""
    try:
        document = json.loads(answer.decode("utf-8", "replace"))
    except ValueError:
        return ""
    if isinstance(document, dict):
        results = document.get("results")
        if isinstance(results, list) and results and isinstance(results[0], dict):
            return str(results[0].get("status", ""))
        return str(document.get("status", "") or document.get("error", ""))
    return ""
