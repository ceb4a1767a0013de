"""The ``[os4x-event]`` section of one INI file (default /etc/check_os4x/event.ini).

It holds the API password, so it must be mode 0600 (or stricter): a file that group or others
may read is refused, as ssh refuses such a key. The password is never taken from the command
line or the environment, and never appears in a message.
"""

from __future__ import annotations

import os
import socket
import stat
from urllib.parse import urlsplit

from os4xmon.core.record import dataclass, field
from os4xmon.core.text import printable

DEFAULT_PATH = "/etc/check_os4x/event.ini"
SECTION = "os4x-event"
KEYS = ("icinga2-api", "api-user", "api-password", "ca-file", "nagios-command-file",
        "host-name", "service-name", "ttl", "syslog-socket")
MAX_BYTES = 64 * 1024
DEFAULT_TTL = 90000.0
"""25 hours: a partner that exchanges files daily keeps its last result; after that Icinga's
freshness check runs the service's own command (see docs/events.md)."""


class ConfigError(ValueError):
    """What to fix in the file, in one line, without the password."""


@dataclass(frozen=True)
class Config:
    api_host: str | None = None  # from icinga2-api: https://HOST[:PORT]
    api_port: int = 5665
    api_user: str | None = None
    api_password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    command_file: str | None = None
    host_name: str = ""
    service_name: str | None = None
    ttl: float = DEFAULT_TTL
    syslog_socket: str = "/dev/log"


def read_text(path: str) -> str:
    """A small regular file, opened without waiting (a FIFO), mode 0600 or stricter."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise ConfigError(f"{path} is not a regular file")
        if status.st_mode & 0o077:
            raise ConfigError(f"{path} holds the API password and is readable by group or "
                              f"others (mode {stat.S_IMODE(status.st_mode):04o}): chmod 600 it")
        data = os.read(descriptor, MAX_BYTES + 1)
    finally:
        os.close(descriptor)
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None


def api_address(url: str) -> tuple[str, int]:
    """(host, port) of ``https://HOST[:PORT]``; anything but https is refused (the password
    would travel in clear)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or 5665
    except ValueError:
        raise ConfigError(f"icinga2-api {printable(url, 80)!r} is not a URL") from None
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"icinga2-api {printable(url, 80)!r} must be https://HOST:PORT "
                          "(the API password never travels unencrypted)")
    if parts.path not in ("", "/") or parts.query or parts.username:
        raise ConfigError(f"icinga2-api {printable(url, 80)!r}: give only https://HOST:PORT")
    return parts.hostname, port


def parse(text: str, path: str) -> Config:
    import configparser  # only here: the event path pays for it, the plugin never

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as error:
        raise ConfigError(f"{path} is not a valid INI file: "
                          f"{str(error).splitlines()[0]}") from None
    if not parser.has_section(SECTION):
        raise ConfigError(f"{path} has no [{SECTION}] section")
    values: dict[str, str] = {}
    for raw_key, value in parser.items(SECTION):
        key = raw_key.strip().lower().replace("_", "-")
        if key not in KEYS:
            raise ConfigError(f"{path}: unknown key {printable(raw_key, 40)!r} in [{SECTION}]")
        values[key] = value.strip()
    host, port = api_address(values["icinga2-api"]) if values.get("icinga2-api") \
        else (None, 5665)
    if host and not (values.get("api-user") and values.get("api-password")):
        raise ConfigError(f"{path}: icinga2-api needs api-user and api-password")
    if not host and not values.get("nagios-command-file"):
        raise ConfigError(f"{path}: set icinga2-api or nagios-command-file (or both)")
    ttl = DEFAULT_TTL
    if values.get("ttl"):
        try:
            ttl = float(values["ttl"])
        except ValueError:
            ttl = -1.0
        if not 0 < ttl <= 366 * 86400:
            raise ConfigError(f"{path}: ttl must be a number of seconds up to a year")
    return Config(host, port, values.get("api-user"), values.get("api-password"),
                  values.get("ca-file") or None, values.get("nagios-command-file") or None,
                  values.get("host-name") or socket.gethostname(),
                  values.get("service-name") or None, ttl,
                  values.get("syslog-socket") or "/dev/log")


def load(path: str) -> Config:
    return parse(read_text(path), path)
