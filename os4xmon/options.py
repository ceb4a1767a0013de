"""Command line, ``--config`` file and environment, turned into one validated :class:`Settings`.

The precedence is: command line, then the ``[check_os4x]`` section of the ``--config`` file, then
the defaults. Every value goes through the same converter wherever it comes from, so a bad value
gives the same one-line message naming the option, whether it was typed or read from a file.
"""

from __future__ import annotations

import argparse
import math
import os
import re

from os4xmon import __version__
from os4xmon.numbers import port_number, whole_number
from os4xmon.record import dataclass, fields
from os4xmon.settings import (
    ASPECTS,
    DEFAULT_CLIENTD_PORT,
    DEFAULT_DEBUGD_PORT,
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
    Settings,
)
from os4xmon.text import printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, NoReturn, Sequence


CONFIG_SECTION = "check_os4x"
PASSWORD_ENV = "OS4X_DB_PASSWORD"


class UsageError(Exception):
    """Bad input from the admin: reported as one UNKNOWN line that says what to fix."""


# -- converters: text -> value, raising ValueError with a message that says what is expected --


def seconds(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{text!r} is not a finite number")
    if value < 0:
        raise ValueError(f"{text!r} is negative")
    return value


def positive_seconds(text: str) -> float:
    value = seconds(text)
    if value == 0:
        raise ValueError("must be more than 0 seconds")
    return value


def check_list(text: str) -> tuple[str, ...]:
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError("names no check; choose from " + ", ".join(ASPECTS))
    unknown = [name for name in names if name not in ASPECTS]
    if unknown:
        raise ValueError(f"unknown check {unknown[0]!r}; choose from " + ", ".join(ASPECTS))
    return tuple(aspect for aspect in ASPECTS if aspect in names)


def identifier(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", text):
        raise ValueError(f"{text!r} is not a plain identifier (letters, digits, underscore)")
    return text


def user_name(text: str) -> str:
    if not text or any(char.isspace() or char in ":/" for char in text):
        raise ValueError(f"{text!r} is not a user name")
    return text


def text_value(text: str) -> str:
    if "\0" in text:
        raise ValueError("contains a NUL character")
    return text


def read_only_query(text: str) -> str:
    """One read-only SELECT: refused here, before any server sees it (os4xmon.sqlguard)."""
    from os4xmon.sqlguard import check_read_only

    return check_read_only(text, "the query")


def choice(*allowed: str, aliases: dict[str, str] | None = None) -> Callable[[str], str]:
    def convert(text: str) -> str:
        value = text.strip().lower()
        value = (aliases or {}).get(value, value)
        if value not in allowed:
            raise ValueError(f"{text!r} is not one of " + ", ".join(allowed))
        return value

    return convert


BOOLEAN_WORDS = {
    "1": True, "yes": True, "true": True, "on": True,
    "0": False, "no": False, "false": False, "off": False,
}


def boolean(text: str) -> bool:
    try:
        return BOOLEAN_WORDS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not yes or no") from None


# -- the options: the plugin's interface; names are kept, aliases added, never renamed --


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    dest: str
    help: str
    convert: Callable[[str], Any] | None = None  # None: a flag without value
    metavar: str | None = None
    group: str = "general"
    on_command_line: bool = True  # False: config file only (secrets)

    @property
    def key(self) -> str:
        """The config file key: the long option name without dashes."""
        return self.dest.replace("_", "-")


OPTIONS: tuple[Option, ...] = (
    Option(("--checks",), "checks", "comma-separated aspects to check: "
           + ", ".join(ASPECTS) + " (default: processes,ports, plus isdn when "
           "--isdn-controllers > 0, plus database when --db-type is set)",
           check_list, "LIST"),
    Option(("-t", "--timeout"), "timeout", "seconds before the check gives up (default 10)",
           positive_seconds, "SECONDS"),
    Option(("--config",), "config", "INI file with a [check_os4x] section; keys are the long "
           "option names (db-password too); the command line wins", text_value, "FILE"),
    # processes
    Option(("--user",), "user", "user the OS4X daemons run as; another user gives WARNING",
           user_name, "NAME", "processes"),
    Option(("--no-tls",), "no_tls", "OFTP2 over TLS is not configured: no os4xrd_tcpip_tls, "
           "no TLS port", group="processes"),
    Option(("--isdn-controllers",), "isdn_controllers", "number of CAPI controllers OS4X "
           "receives on, one os4xrd_capi_<n> each (default 0)", whole_number, "N", "processes"),
    Option(("--enterprise",), "enterprise", "OS4X Enterprise: os4xclientd must run",
           group="processes"),
    Option(("--require-debugd",), "require_debugd", "os4xdebugd must run (only when support "
           "asks for it)", group="processes"),
    Option(("--action-age-warning",), "action_age_warning", "WARNING when an os4xsqd action "
           "runs longer than this", seconds, "SECONDS", "processes"),
    Option(("--action-age-critical",), "action_age_critical", "CRITICAL when an os4xsqd action "
           "runs longer than this", seconds, "SECONDS", "processes"),
    Option(("--min-uptime",), "min_uptime", "WARNING when the os4xrd master started less than "
           "this ago (restart loops)", seconds, "SECONDS", "processes"),
    # ports
    Option(("--port",), "port", f"OFTP port of os4xrd_tcpip (default: the database's tcp_port, "
           f"else {DEFAULT_PORT})", port_number, "PORT", "ports"),
    Option(("--tls-port",), "tls_port", "OFTP2 TLS port of os4xrd_tcpip_tls (default: the "
           f"database's tcp_port_tls, else {DEFAULT_TLS_PORT})", port_number, "PORT", "ports"),
    Option(("--clientd-port",), "clientd_port", "os4xclientd port on localhost, with "
           f"--enterprise (default {DEFAULT_CLIENTD_PORT})", port_number, "PORT", "ports"),
    Option(("--debugd-port",), "debugd_port", "os4xdebugd port, with --require-debugd (default "
           f"{DEFAULT_DEBUGD_PORT})", port_number, "PORT", "ports"),
    Option(("-H", "--host"), "host", "host to probe (default 127.0.0.1); another host means "
           "probing only", text_value, "HOST", "ports"),
    Option(("--probe",), "probe", "connect and check OFTP's ready message (OS4X may log an "
           "aborted session for each probe)", group="ports"),
    Option(("--tls-ca",), "tls_ca", "CA file that verifies the TLS chain and host name "
           "(default: not verified)", text_value, "FILE", "ports"),
    Option(("--response-warning",), "response_warning", "WARNING when the ready message takes "
           "longer", seconds, "SECONDS", "ports"),
    Option(("--response-critical",), "response_critical", "CRITICAL when the ready message takes "
           "longer", seconds, "SECONDS", "ports"),
    Option(("--cert-warning",), "cert_warning", "WARNING when the TLS certificate expires within "
           "this many days (default 30)", seconds, "DAYS", "ports"),
    Option(("--cert-critical",), "cert_critical", "CRITICAL when the TLS certificate expires "
           "within this many days (default 7)", seconds, "DAYS", "ports"),
    # database
    Option(("--db-type",), "db_type", "mysql (or mariadb) or postgresql; enables the database "
           "check", choice("mysql", "postgresql", aliases={"mariadb": "mysql",
                                                           "postgres": "postgresql"}),
           "TYPE", "database"),
    Option(("--db-host",), "db_host", "database host (default: local)", text_value, "HOST",
           "database"),
    Option(("--db-port",), "db_port", "database port", port_number, "PORT", "database"),
    Option(("--db-socket",), "db_socket", "database Unix socket", text_value, "PATH",
           "database"),
    Option(("--db-name",), "db_name", "database name (default os4x)", text_value, "NAME",
           "database"),
    Option(("--db-user",), "db_user", "database user", text_value, "NAME", "database"),
    Option(("--db-password",), "db_password", "database password: config file only",
           text_value, "SECRET", "database", on_command_line=False),
    Option(("--db-password-file",), "db_password_file", "file whose first line is the "
           f"database password (or set {PASSWORD_ENV}, or db-password in --config)",
           text_value, "FILE", "database"),
    Option(("--db-ssl",), "db_ssl", "connect to the database over TLS", group="database"),
    Option(("--db-ssl-ca",), "db_ssl_ca", "CA file that verifies the database server",
           text_value, "FILE", "database"),
    Option(("--pid-query",), "pid_query", "SQL returning rows of (daemon name, pid); {prefix} "
           "is replaced by --db-prefix", read_only_query, "SQL", "database"),
    Option(("--db-prefix",), "db_prefix", "OS4X table prefix (default os4x_)", identifier,
           "PREFIX", "database"),
    Option(("--db-discover",), "db_discover", "print the tables and columns that may hold PIDs "
           "and the configured ports, then exit; changes nothing", group="database"),
    Option(("--db-error-state",), "db_error_state", "state when the database itself fails "
           "(default unknown)", choice("unknown", "critical", "warning"), "STATE", "database"),
    # isdn
    Option(("--capi-file",), "capi_file", "kernel CAPI controller list (default "
           "/proc/capi/controller)", text_value, "PATH", "isdn"),
    Option(("--capiinfo",), "capiinfo", "capiinfo program for userspace CAPI (default: found "
           "on PATH)", text_value, "PATH", "isdn"),
    Option(("--capi-source",), "capi_source", "auto, proc or capiinfo (default auto: the file "
           "where it exists)", choice("auto", "proc", "capiinfo"), "SOURCE", "isdn"),
)

OPTIONS_BY_KEY = {option.key: option for option in OPTIONS}
GROUP_TITLES = {
    "general": "general",
    "processes": "processes: the daemons that must run",
    "ports": "ports: listening sockets and OFTP's ready message",
    "database": "database: PIDs saved by OS4X",
    "isdn": "isdn: CAPI controllers",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake raises UsageError instead of exiting with status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(printable(message, 200))


def _converter(option: Option) -> Callable[[str], Any]:
    assert option.convert is not None
    convert = option.convert

    def checked(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return checked


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="check_os4x",
        description="Checks that an OS4X OFTP/OFTP2 server can receive and send files: its "
        "daemons, ports, the PIDs it saved in its database and its ISDN controllers.",
        epilog="Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        argument_default=argparse.SUPPRESS,
    )
    groups = {name: parser.add_argument_group(title) for name, title in GROUP_TITLES.items()}
    general = groups["general"]
    general.add_argument("-V", "--version", action="version",
                         version=f"check_os4x {__version__}")
    general.add_argument("-v", "--verbose", action="count",
                         help="-v: long output; -vv: the configuration used; -vvv: tracebacks")
    for option in OPTIONS:
        group = groups[option.group]
        if not option.on_command_line:
            group.add_argument(*option.flags, dest="forbidden_" + option.dest,
                               metavar=option.metavar, help=argparse.SUPPRESS)
        elif option.convert is None:
            group.add_argument(*option.flags, dest=option.dest, action="store_true",
                               help=option.help)
        else:
            group.add_argument(*option.flags, dest=option.dest, type=_converter(option),
                               metavar=option.metavar, help=option.help)
    return parser


def read_config(path: str) -> dict[str, str]:
    """The [check_os4x] section of an INI file, keys normalised to the long option names."""
    import configparser  # only runs that use --config pay for it
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as stream:
            parser.read_file(stream)
    except OSError as error:
        raise UsageError(f"cannot read --config {path}: {error.strerror}") from None
    except (configparser.Error, UnicodeDecodeError) as error:
        first_line = str(error).splitlines()[0]
        raise UsageError(f"--config {path} is not a valid INI file: {first_line}") from None
    if not parser.has_section(CONFIG_SECTION):
        raise UsageError(f"--config {path} has no [{CONFIG_SECTION}] section")
    values = {}
    for raw_key, value in parser.items(CONFIG_SECTION):
        key = raw_key.strip().lower().replace("_", "-")
        if key not in OPTIONS_BY_KEY and key != "verbose":
            raise UsageError(f"--config {path}: unknown key {raw_key!r} in [{CONFIG_SECTION}]")
        values[key] = value
    return values


def read_password_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise UsageError(f"cannot read --db-password-file {path}: {reason}") from None


def exposed_secret(path: str, what: str) -> list[str]:
    """A warning, as ssh gives, when a file holding the password is readable by others."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return []
    if mode & 0o077 == 0:
        return []
    return [f"WARNING: {path} holds {what} and is readable by group or others (mode "
            f"{mode & 0o777:04o}): chmod 600 it, owned by the user the plugin runs as"]


def _convert_config_value(option: Option, value: str, path: str) -> Any:
    try:
        return boolean(value) if option.convert is None else option.convert(value)
    except ValueError as error:
        raise UsageError(f"--config {path}: {option.key}: {error}") from None


def parse(argv: Sequence[str], environ: dict[str, str] | None = None) -> Settings:
    """Turns the arguments (without the program name) into Settings, or raises UsageError."""
    environ = dict(os.environ) if environ is None else environ
    namespace = vars(build_parser().parse_args(list(argv)))
    for dest in [name for name in namespace if name.startswith("forbidden_")]:
        flag = "--" + dest[len("forbidden_"):].replace("_", "-")
        raise UsageError(f"{flag} is not accepted on the command line, where the process list "
                         f"shows it: use --db-password-file, {PASSWORD_ENV} or the --config file")

    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    warnings: list[str] = []
    config_path = namespace.get("config")
    if config_path:
        config = read_config(config_path)
        if "db-password" in config:
            warnings += exposed_secret(config_path, "the database password (db-password)")
        for key, text in config.items():
            if key == "verbose":
                values["verbose"] = _convert_config_value(
                    Option(("-v",), "verbose", "", whole_number), text, config_path)
            else:
                option = OPTIONS_BY_KEY[key]
                values[option.dest] = _convert_config_value(option, text, config_path)
            origins[key.replace("-", "_")] = "config"
    for dest, value in namespace.items():
        values[dest] = value
        origins[dest] = "command line"

    if values.get("db_password_file"):
        values["db_password"] = read_password_file(values["db_password_file"])
        origins["db_password"] = "password file"
        warnings += exposed_secret(values["db_password_file"], "the database password")
    elif "db_password" not in values and environ.get(PASSWORD_ENV):
        values["db_password"] = environ[PASSWORD_ENV]
        origins["db_password"] = "environment"

    known = {item.name for item in fields(Settings)}
    values = {name: value for name, value in values.items() if name in known}
    _check_consistency(values)
    given = frozenset(name for name, origin in origins.items() if origin != "environment")
    return Settings(**values, given=given, origins=origins, warnings=tuple(warnings))


def _check_consistency(values: dict[str, Any]) -> None:
    """Catches combinations that would make the check quietly meaningless."""
    for low, high in (("action_age_warning", "action_age_critical"),
                      ("response_warning", "response_critical")):
        if values.get(low) is not None and values.get(high) is not None \
                and values[low] > values[high]:
            raise UsageError(f"--{low.replace('_', '-')} is above --{high.replace('_', '-')}")
    if values.get("cert_critical", 7.0) > values.get("cert_warning", 30.0):
        raise UsageError("--cert-critical is above --cert-warning: it counts days left, "
                         "so the critical number should be the smaller one")


def verbosity_hint(argv: Sequence[str]) -> int:
    """The -v count, read without parsing: used to decide on tracebacks before parsing works."""
    count = 0
    for arg in argv:
        if arg == "--verbose":
            count += 1
        elif re.fullmatch(r"-v+", arg):
            count += len(arg) - 1
    return count


def describe_options() -> list[tuple[str, str, str]]:
    """(flags, metavar, help) of every option: the README's option table is checked against it."""
    return [(", ".join(option.flags), option.metavar or "", option.help) for option in OPTIONS]
