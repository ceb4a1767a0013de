"""Command line, ``--config`` file and environment, turned into one validated :class:`Settings`.

The precedence is: command line, then the ``[check_os4x]`` section of the ``--config`` file, then
the defaults. Every value goes through the same converter wherever it comes from, so a bad value
gives the same one-line message naming the option, whether it was typed or read from a file.
"""

from __future__ import annotations

import math
import os
import re

from os4xmon.cli.commandline import read_command_line, verbosity
from os4xmon.core.record import dataclass, fields
from os4xmon.core.settings import (
    ASPECTS,
    DEFAULT_CLIENTD_PORT,
    DEFAULT_DEBUGD_PORT,
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
    Settings,
)
from os4xmon.core.text import perf_label, printable
from os4xmon.core.values import decimal_number, duration_seconds, port_number, whole_number

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, Sequence


DEFAULTS = Settings()
"""The defaults, stated once in Settings; help texts and checks quote them from here."""
CONFIG_SECTION = "check_os4x"
PASSWORD_ENV = "OS4X_DB_PASSWORD"
ODETTE_PASSWORD_ENV = "OS4X_ODETTE_PASSWORD"


class UsageError(Exception):
    """Bad input from the admin: reported as one UNKNOWN line that says what to fix."""


# -- converters: text -> value, raising ValueError with a message that says what is expected --


def seconds(text: str) -> float:
    """Seconds in ASCII digits: full-width digits, ``1_0`` and ``inf`` are refused."""
    try:
        return decimal_number(text)
    except ValueError as error:
        if "negative" in str(error):
            raise
        try:
            value = float(text.strip())
        except ValueError:
            value = 0.0
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"{text!r} is not a finite number") from None
        raise ValueError(f"{text!r} is not a number of seconds (ASCII digits)") from None


def duration(text: str) -> float:
    """Seconds, or a number with s, m, h or d (``90m``, ``26h``, ``2d``): core.values."""
    return duration_seconds(text)


PARTNER_DIRECTIONS = {"in": "in", "receive": "in", "out": "out", "send": "out"}


def partner(text: str) -> str:
    """A partner's name as OS4X's logs show it (compared with the query's first column)."""
    name = text.strip()
    if not name or not name.isprintable():
        raise ValueError(f"{printable(text, 40)!r} is not a partner name (printable, not empty)")
    return name


def partner_silence(text: str) -> tuple[str, str, float | None, float | None]:
    """``PARTNER[/in|/out]=WARNING[,CRITICAL]`` -> (partner, "in", "out" or "", warning,
    critical); either duration may be left empty (``P=,2d``: no warning)."""
    target, equals, limits = text.rpartition("=")
    if not equals or not target.strip():
        raise ValueError(f"{printable(text, 60)!r} is not PARTNER[/in|/out]=WARNING[,CRITICAL]")
    name, slash, direction = target.rpartition("/")
    if slash and direction.strip().lower() in PARTNER_DIRECTIONS and name.strip():
        way = PARTNER_DIRECTIONS[direction.strip().lower()]
    else:
        name, way = target, ""
    warning_text, _, critical_text = limits.partition(",")
    warning = duration(warning_text) if warning_text.strip() else None
    critical = duration(critical_text) if critical_text.strip() else None
    if warning is None and critical is None:
        raise ValueError(f"{printable(text, 60)!r} gives no duration: "
                         "PARTNER[/in|/out]=WARNING[,CRITICAL]")
    if warning is not None and critical is not None and warning > critical:
        raise ValueError(f"{printable(text, 60)!r}: the warning is above the critical duration")
    return partner(name), way, warning, critical


MAX_TIMEOUT = 86400.0
"""A day: more than any scheduler waits for a check, far below what the interval timer takes."""


def timeout_seconds(text: str) -> float:
    value = positive_seconds(text)
    if value > MAX_TIMEOUT:
        raise ValueError(f"{text!r} is more than a day ({MAX_TIMEOUT:g} seconds)")
    return value


MAX_CONTROLLERS = 32
"""The kernel's CAPI allows 32 controllers (CAPI_MAXCONTR)."""


def controller_count(text: str) -> int:
    value = whole_number(text)
    if value > MAX_CONTROLLERS:
        raise ValueError(f"{text!r} is more than CAPI can have ({MAX_CONTROLLERS} controllers)")
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
    """One read-only SELECT: refused here, before any server sees it (os4xmon.db.sqlguard)."""
    from os4xmon.db.sqlguard import check_read_only

    return check_read_only(text, "the query")


def odette_id(text: str) -> str:
    """An ODETTE ID as SSIDCODE carries it: 1 to 25 printable ASCII characters, no spaces."""
    if not 0 < len(text) <= 25 or not text.isascii() or not text.isprintable() or " " in text:
        raise ValueError(f"{printable(text, 40)!r} is not an ODETTE ID (1 to 25 printable ASCII "
                         "characters, no spaces)")
    return text


def odette_password(text: str) -> str:
    """SSIDPSWD: 1 to 8 printable ASCII characters, no spaces; the error never shows the text."""
    if not 0 < len(text) <= 8 or not text.isascii() or not text.isprintable() or " " in text:
        raise ValueError("the ODETTE password must be 1 to 8 printable ASCII characters without "
                         "spaces (its value is not shown)")
    return text


def choice(*allowed: str, aliases: dict[str, str] | None = None) -> Callable[[str], str]:
    def convert(text: str) -> str:
        value = text.strip().lower()
        value = (aliases or {}).get(value, value)
        if value not in allowed:
            raise ValueError(f"{text!r} is not one of " + ", ".join(allowed))
        return value

    convert.allowed = allowed  # type: ignore[attr-defined]  # for the Director's data lists
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
    repeat: bool = False  # may be given several times: a tuple of values (config file: blanks)

    @property
    def key(self) -> str:
        """The config file key: the long option name without dashes."""
        return self.dest.replace("_", "-")


OPTIONS: tuple[Option, ...] = (
    Option(("--checks",), "checks", "comma-separated aspects to check: "
           + ", ".join(ASPECTS) + " (default: processes,ports, plus isdn when "
           "--isdn-controllers > 0, plus database when --db-type is set, plus queue when "
           "--queue-query is set, plus partners when --partner-query is set)",
           check_list, "LIST"),
    Option(("-t", "--timeout"), "timeout", "seconds before the check gives up (default "
           f"{DEFAULTS.timeout:g})", timeout_seconds, "SECONDS"),
    Option(("--config",), "config", "INI file with a [check_os4x] section; keys are the long "
           "option names (db-password too); the command line wins", text_value, "FILE"),
    # processes
    Option(("--user",), "user", "user the OS4X daemons run as; another user gives WARNING",
           user_name, "NAME", "processes"),
    Option(("--no-tls",), "no_tls", "OFTP2 over TLS is not configured: no os4xrd_tcpip_tls, "
           "no TLS port", group="processes"),
    Option(("--isdn-controllers",), "isdn_controllers", "number of CAPI controllers OS4X "
           "receives on, one os4xrd_capi_<n> each (default 0, at most 32)", controller_count, "N",
           "processes"),
    Option(("--enterprise",), "enterprise", "OS4X Enterprise: os4xclientd must run",
           group="processes"),
    Option(("--require-debugd",), "require_debugd", "os4xdebugd must run (only when support "
           "asks for it)", group="processes"),
    Option(("--action-age-warning",), "action_age_warning", "WARNING when an os4xsqd action "
           "runs longer than this", duration, "DURATION", "processes"),
    Option(("--action-age-critical",), "action_age_critical", "CRITICAL when an os4xsqd action "
           "runs longer than this", duration, "DURATION", "processes"),
    Option(("--min-uptime",), "min_uptime", "WARNING when the os4xrd master started less than "
           "this ago (restart loops)", duration, "DURATION", "processes"),
    Option(("--bin-dir",), "bin_dir", "OS4X's binary directory: a process counts as a daemon "
           "only if its executable lies here (or, where it cannot be read, if it runs as the "
           "OS4X user) (default /opt/os4x/bin)", text_value, "DIR", "processes"),
    Option(("--os4x-config",), "os4x_config", "the installation to check: its daemons name "
           "this file with -C (none: /etc/os4x.conf); other installations are listed only "
           "(default /etc/os4x.conf)", text_value, "FILE", "processes"),
    Option(("--fetch-queue",), "fetch_queue", "OS4X's fetch queue is licensed: os4xfqd must "
           "run", group="processes"),
    Option(("--replaced-binary-state",), "replaced_binary_state", "state when a daemon runs a "
           "binary that was replaced on disk (an update without restart): warning, critical "
           "or ok (default warning)", choice("warning", "critical", "ok"), "STATE",
           "processes"),
    # ports
    Option(("--port",), "port", f"OFTP port of os4xrd_tcpip (default: the database's tcp_port, "
           f"else {DEFAULT_PORT})", port_number, "PORT", "ports"),
    Option(("--tls-port",), "tls_port", "OFTP2 TLS port of os4xrd_tcpip_tls (default: the "
           f"database's tcp_port_tls, else {DEFAULT_TLS_PORT})", port_number, "PORT", "ports"),
    Option(("--clientd-port",), "clientd_port", "os4xclientd port on localhost, with "
           f"--enterprise (default {DEFAULT_CLIENTD_PORT})", port_number, "PORT", "ports"),
    Option(("--debugd-port",), "debugd_port", "os4xdebugd port, with --require-debugd (default "
           f"{DEFAULT_DEBUGD_PORT})", port_number, "PORT", "ports"),
    Option(("-H", "--host"), "host", f"host to probe (default {DEFAULTS.host}); another host "
           "means probing only", text_value, "HOST", "ports"),
    Option(("--probe",), "probe", "connect and check OFTP's ready message (OS4X may log an "
           "aborted session for each probe; --odette-id logs in and ends normally instead)",
           group="ports"),
    Option(("--tls-ca",), "tls_ca", "CA file that verifies the TLS chain and host name "
           "(default: not verified)", text_value, "FILE", "ports"),
    Option(("--tls-cert",), "tls_cert", "client certificate (PEM) for the TLS probe, for "
           "servers that require one", text_value, "FILE", "ports"),
    Option(("--tls-key",), "tls_key", "private key of --tls-cert (default: in the --tls-cert "
           "file)", text_value, "FILE", "ports"),
    Option(("--response-warning",), "response_warning", "WARNING when the ready message (with "
           "--odette-id: the session start) takes longer", seconds, "SECONDS", "ports"),
    Option(("--response-critical",), "response_critical", "CRITICAL when the ready message "
           "(with --odette-id: the session start) takes longer", seconds, "SECONDS", "ports"),
    Option(("--cert-warning",), "cert_warning", "WARNING when the TLS certificate expires within "
           f"this many days (default {DEFAULTS.cert_warning:g})", seconds, "DAYS", "ports"),
    Option(("--cert-critical",), "cert_critical", "CRITICAL when the TLS certificate expires "
           f"within this many days (default {DEFAULTS.cert_critical:g})", seconds, "DAYS", "ports"),
    Option(("--odette-id",), "odette_id", "ODETTE ID of a monitoring partner configured in OS4X: "
           "every OFTP probe starts a session as it and ends it normally (implies --probe)",
           odette_id, "ID", "ports"),
    Option(("--odette-password",), "odette_password", "the monitoring partner's password: "
           "config file only", odette_password, "SECRET", "ports", on_command_line=False),
    Option(("--odette-password-file",), "odette_password_file", "file whose first line is the "
           f"monitoring partner's password (or set {ODETTE_PASSWORD_ENV}, or odette-password in "
           "--config)", text_value, "FILE", "ports"),
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
    Option(("--db-name",), "db_name", f"database name (default {DEFAULTS.db_name})",
           text_value, "NAME", "database"),
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
    Option(("--db-prefix",), "db_prefix", f"OS4X table prefix (default {DEFAULTS.db_prefix})",
           identifier, "PREFIX", "database"),
    Option(("--db-discover",), "db_discover", "print the tables and columns that may hold PIDs "
           "and the configured ports, then exit; changes nothing", group="database"),
    Option(("--db-error-state",), "db_error_state", "state when the database itself fails "
           f"(default {DEFAULTS.db_error_state})", choice("unknown", "critical", "warning"),
           "STATE", "database"),
    # send queue
    Option(("--queue-query",), "queue_query", "SQL returning rows of (partner, state, age in "
           "seconds, send tries), state new, taken, waiting, blocked or sent; {prefix} is "
           "replaced by --db-prefix; enables the queue check (uses the --db-* options)",
           read_only_query, "SQL", "queue"),
    Option(("--queue-age-warning",), "queue_age_warning", "WARNING when an entry is new or "
           f"taken for more than this (default {DEFAULTS.queue_age_warning:g}): files not "
           "leaving", duration, "DURATION", "queue"),
    Option(("--queue-age-critical",), "queue_age_critical", "CRITICAL when an entry is new or "
           f"taken for more than this (default {DEFAULTS.queue_age_critical:g})", duration,
           "DURATION", "queue"),
    Option(("--queue-tries-warning",), "queue_tries_warning", "WARNING when a pending entry has "
           f"more send tries than this (default {DEFAULTS.queue_tries_warning}): partner "
           "unreachable", whole_number, "N", "queue"),
    Option(("--queue-tries-critical",), "queue_tries_critical", "CRITICAL when a pending entry "
           f"has more send tries than this (default {DEFAULTS.queue_tries_critical})",
           whole_number, "N", "queue"),
    Option(("--queue-length-warning",), "queue_length_warning", "WARNING when more entries than "
           "this are pending (new, taken, waiting)", whole_number, "N", "queue"),
    Option(("--queue-length-critical",), "queue_length_critical", "CRITICAL when more entries "
           "than this are pending", whole_number, "N", "queue"),
    Option(("--ack-age-warning",), "ack_age_warning", "WARNING when an entry waits for the "
           "partner's end-to-end response (EERP) longer than this", duration, "DURATION",
           "queue"),
    Option(("--ack-age-critical",), "ack_age_critical", "CRITICAL when an entry waits for the "
           "partner's EERP longer than this", duration, "DURATION", "queue"),
    # partners
    Option(("--partner-query",), "partner_query", "SQL returning rows of (partner, direction "
           "in or out, seconds since the last successful transfer or NULL, failed transfers "
           "in the window[, last failure's reason]) from OS4X's send and receive logs; "
           "{prefix} is replaced by --db-prefix; enables the partners check (uses the --db-* "
           "options)", read_only_query, "SQL", "partners"),
    Option(("--silence-warning",), "silence_warning", "WARNING when nothing was sent to or "
           "received from a partner for longer than this, in either direction (default: "
           "silence not judged)", duration, "DURATION", "partners"),
    Option(("--silence-critical",), "silence_critical", "CRITICAL when a partner was silent "
           "in a direction for longer than this (default: not judged)", duration, "DURATION",
           "partners"),
    Option(("--partner-silence",), "partner_silence", "one partner's own rhythm, "
           "PARTNER[/in|/out]=WARNING[,CRITICAL] (durations), instead of --silence-warning "
           "and --silence-critical for it (repeat the option)", partner_silence,
           "PARTNER=W,C", "partners", repeat=True),
    Option(("--failures-warning",), "failures_warning", "WARNING when a partner has more "
           "failed transfers than this in the query's window, in one direction", whole_number,
           "N", "partners"),
    Option(("--failures-critical",), "failures_critical", "CRITICAL when a partner has more "
           "failed transfers than this in the query's window, in one direction", whole_number,
           "N", "partners"),
    Option(("--partner",), "partner", "judge only this partner (repeat the option), with its "
           "own perfdata; a partner the query does not return is UNKNOWN", partner, "NAME",
           "partners", repeat=True),
    # isdn
    Option(("--capi-file",), "capi_file", "kernel CAPI controller list (default "
           f"{DEFAULTS.capi_file})", text_value, "PATH", "isdn"),
    Option(("--capiinfo",), "capiinfo", "capiinfo program for userspace CAPI (default: found "
           "on PATH)", text_value, "PATH", "isdn"),
    Option(("--capi-source",), "capi_source", "auto, proc or capiinfo (default "
           f"{DEFAULTS.capi_source}: the file where it exists)",
           choice("auto", "proc", "capiinfo"), "SOURCE", "isdn"),
)

OPTIONS_BY_KEY = {option.key: option for option in OPTIONS}
GROUP_TITLES = {
    "general": "general",
    "processes": "processes: the daemons that must run",
    "ports": "ports: listening sockets and OFTP's ready message",
    "database": "database: PIDs saved by OS4X",
    "isdn": "isdn: CAPI controllers",
    "queue": "queue: the send queue (files leave for every partner)",
    "partners": "partners: the transfer logs (files flow with every partner, both ways)",
}


MAX_FILE_BYTES = 64 * 1024
"""Far more than any config or password file: a bigger one is a mistake (or /dev/zero)."""


def read_small_file(path: str, what: str, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a small regular file, read before the -t alarm is armed.

    So it must not be able to wait: opened non-blocking (a FIFO without writer does not block
    the open), refused unless a regular file (``/dev/zero``, a device, a directory), and read
    at most limit + 1 bytes. A UTF-8 byte order mark (Windows editors write one) is dropped.
    """
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise UsageError(f"cannot read {what} {path}: {error.strerror or error}") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise UsageError(f"cannot read {what} {path}: not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(descriptor, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise UsageError(f"cannot read {what} {path}: {error.strerror or error}") from None
    finally:
        os.close(descriptor)
    if size > limit:
        raise UsageError(f"cannot read {what} {path}: larger than {limit // 1024} KiB")
    try:
        return b"".join(chunks).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"cannot read {what} {path}: not UTF-8 text") from None


def read_config(path: str) -> dict[str, str]:
    """The [check_os4x] section of an INI file, keys normalised to the long option names."""
    import configparser  # only runs that use --config pay for it
    text = read_small_file(path, "--config")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as error:
        first_line = str(error).splitlines()[0]
        raise UsageError(f"--config {path} is not a valid INI file: {first_line}") from None
    if not parser.has_section(CONFIG_SECTION):
        raise UsageError(f"--config {path} has no [{CONFIG_SECTION}] section")
    values = {}
    for raw_key, value in parser.items(CONFIG_SECTION):
        key = raw_key.strip().lower().replace("_", "-")
        if key not in OPTIONS_BY_KEY and key != "verbose":
            raise UsageError(f"--config {path}: unknown key {raw_key!r} in [{CONFIG_SECTION}]")
        if "\n" in value:  # configparser joins an indented line to the key above it
            raise UsageError(f"--config {path}: a line after {key} is indented, so it would "
                             f"become part of {key}'s value: remove the indentation")
        values[key] = value
    return values


def read_password_file(path: str, flag: str = "--db-password-file") -> str:
    """The first line of the password file, read with the limits of read_small_file."""
    text = read_small_file(path, flag)
    return text.split("\n", 1)[0].rstrip("\r")


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
        if option.repeat and option.convert is not None:  # several values, between blanks
            return tuple(option.convert(word) for word in value.split())
        return boolean(value) if option.convert is None else option.convert(value)
    except ValueError as error:
        raise UsageError(f"--config {path}: {option.key}: {error}") from None


def parse(argv: Sequence[str], environ: dict[str, str] | None = None) -> Settings:
    """Turns the arguments (without the program name) into Settings, or raises UsageError."""
    if environ is None:  # a real run: read the secrets, then drop them, so no child inherits
        environ = dict(os.environ)
        for name in (PASSWORD_ENV, ODETTE_PASSWORD_ENV):
            os.environ.pop(name, None)
    _refuse_secrets(argv)
    namespace = read_command_line(argv, OPTIONS)
    if namespace is None:  # anything unusual, --help included: argparse reads it and answers
        from os4xmon.cli.argparsing import read_with_argparse

        namespace = read_with_argparse(argv)
    for dest in [name for name in namespace if name.startswith("forbidden_")]:
        _refuse_secrets(["--" + dest[len("forbidden_"):].replace("_", "-")])

    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    warnings: list[str] = []
    config_path = namespace.get("config")
    if config_path:
        config = read_config(config_path)
        if "db-password" in config:
            warnings += exposed_secret(config_path, "the database password (db-password)")
        if "odette-password" in config:
            warnings += exposed_secret(config_path, "the monitoring partner's password "
                                                    "(odette-password)")
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

    warnings += _odette_password(values, origins, environ)
    password_file = values.get("db_password_file")
    if password_file:
        password = read_password_file(password_file)
        if password == "" and environ.get(PASSWORD_ENV):
            values["db_password"] = environ[PASSWORD_ENV]
            origins["db_password"] = "environment"
            warnings.append(f"WARNING: --db-password-file {password_file} is empty: using "
                            f"{PASSWORD_ENV} instead (the first non-empty source wins)")
        else:
            values["db_password"] = password
            origins["db_password"] = "password file"
            if password == "":
                warnings.append(f"WARNING: --db-password-file {password_file} is empty: "
                                "connecting without a password")
        warnings += exposed_secret(password_file, "the database password")
    elif "db_password" not in values and environ.get(PASSWORD_ENV):
        values["db_password"] = environ[PASSWORD_ENV]
        origins["db_password"] = "environment"

    known = {item.name for item in fields(Settings)}
    values = {name: value for name, value in values.items() if name in known}
    _check_consistency(values)
    return Settings(**values, origins=origins, warnings=tuple(warnings))


SECRET_FLAGS = {
    "--db-password": f"--db-password-file, {PASSWORD_ENV} or db-password in the --config file",
    "--odette-password": f"--odette-password-file, {ODETTE_PASSWORD_ENV} or odette-password in "
                         "the --config file",
}


def _refuse_secrets(argv: Sequence[str]) -> None:
    """A password on the command line, also abbreviated or as --flag=value, is refused before
    argparse could echo it in an error message."""
    for arg in argv:
        if arg == "--":
            return
        name = arg.split("=", 1)[0]
        for flag, instead in SECRET_FLAGS.items():
            if name.startswith("--") and "-pass" in name and flag.startswith(name):
                raise UsageError(f"{flag} is not accepted on the command line, where the process "
                                 f"list shows it: use {instead}")


def _odette_password(values: dict[str, Any], origins: dict[str, str],
                     environ: dict[str, str]) -> list[str]:
    """The monitoring partner's password: file, then config file, then environment; checked."""
    warnings: list[str] = []
    path = values.get("odette_password_file")
    if path:
        text = read_password_file(path, "--odette-password-file")
        try:
            values["odette_password"] = odette_password(text)
        except ValueError as error:
            raise UsageError(f"--odette-password-file {path}: {error}") from None
        origins["odette_password"] = "password file"
        warnings += exposed_secret(path, "the monitoring partner's password")
    elif "odette_password" not in values and environ.get(ODETTE_PASSWORD_ENV):
        try:
            values["odette_password"] = odette_password(environ[ODETTE_PASSWORD_ENV])
        except ValueError as error:
            raise UsageError(f"{ODETTE_PASSWORD_ENV}: {error}") from None
        origins["odette_password"] = "environment"
    if values.get("odette_id") and not values.get("odette_password"):
        raise UsageError("--odette-id needs the monitoring partner's password: "
                         + SECRET_FLAGS["--odette-password"])
    return warnings


def _check_consistency(values: dict[str, Any]) -> None:
    """Catches combinations that would make the check quietly meaningless."""
    for low, high in (("action_age_warning", "action_age_critical"),
                      ("response_warning", "response_critical"),
                      ("queue_age_warning", "queue_age_critical"),
                      ("queue_tries_warning", "queue_tries_critical"),
                      ("queue_length_warning", "queue_length_critical"),
                      ("ack_age_warning", "ack_age_critical"),
                      ("silence_warning", "silence_critical"),
                      ("failures_warning", "failures_critical")):
        if values.get(low) is not None and values.get(high) is not None \
                and values[low] > values[high]:
            raise UsageError(f"--{low.replace('_', '-')} is above --{high.replace('_', '-')}")
    if values.get("queue_query") is not None and values.get("db_type") is None:
        raise UsageError("--queue-query needs --db-type (and the database's connection "
                         "options): the send queue is read from OS4X's database")
    _check_partners(values)
    if values.get("cert_critical", DEFAULTS.cert_critical) \
            > values.get("cert_warning", DEFAULTS.cert_warning):
        raise UsageError("--cert-critical is above --cert-warning: it counts days left, "
                         "so the critical number should be the smaller one")
    if values.get("tls_key") and not values.get("tls_cert"):
        raise UsageError("--tls-key needs --tls-cert (the client certificate it belongs to)")
    checks = values.get("checks") or ()
    if "isdn" in checks and not values.get("isdn_controllers"):
        raise UsageError("--checks isdn needs --isdn-controllers N (how many CAPI controllers "
                         "OS4X receives on): with 0 there is nothing to check")
    given_file = values.get("capi_file")  # the default path, even written out, may be absent
    if given_file and given_file != Settings.capi_file \
            and values.get("capi_source") != "capiinfo" and _missing(given_file):
        raise UsageError(f"--capi-file {printable(given_file, 100)} does not exist")
    for name in ("tls_ca", "tls_cert", "tls_key", "db_ssl_ca"):
        if values.get(name) and _missing(values[name]):
            raise UsageError(f"--{name.replace('_', '-')} {printable(values[name], 100)} "
                             "does not exist")
    _check_port_roles(values)


def _check_partners(values: dict[str, Any]) -> None:
    """The partner check judges only where a threshold applies: without any, it would say
    OK for ever; and two partners must not write the same perfdata label."""
    if values.get("partner_query") is None:
        for name in ("partner", "partner_silence"):
            if values.get(name):
                raise UsageError(f"--{name.replace('_', '-')} needs --partner-query (the "
                                 "partner check reads OS4X's send and receive logs)")
        return
    if values.get("db_type") is None:
        raise UsageError("--partner-query needs --db-type (and the database's connection "
                         "options): the transfer logs are read from OS4X's database")
    if not any(values.get(name) for name in ("partner_silence",)) and all(
            values.get(name) is None for name in ("silence_warning", "silence_critical",
                                                  "failures_warning", "failures_critical")):
        raise UsageError("--partner-query needs a threshold: --silence-warning, "
                         "--silence-critical, --partner-silence, --failures-warning or "
                         "--failures-critical (without one, nothing is judged)")
    labels: dict[str, str] = {}
    for name in values.get("partner") or ():
        label = perf_label(name)
        if label in labels and labels[label] != name:
            raise UsageError(f"--partner {printable(labels[label], 40)} and --partner "
                             f"{printable(name, 40)} give the same perfdata label {label}")
        labels[label] = name


def _missing(path: str) -> bool:
    """Whether a file the admin named does not exist (one this user may not see is left to
    the step that reads it, which names the reason)."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _check_port_roles(values: dict[str, Any]) -> None:
    """Two roles on one port (``--port`` equal to ``--tls-port``) can never both be right.

    A port not given comes from the default, unless the database may still supply it."""
    defaults = {"port": DEFAULT_PORT, "tls_port": DEFAULT_TLS_PORT,
                "clientd_port": DEFAULT_CLIENTD_PORT, "debugd_port": DEFAULT_DEBUGD_PORT}
    in_use = ["port"] + ([] if values.get("no_tls") else ["tls_port"]) \
        + (["clientd_port"] if values.get("enterprise") else []) \
        + (["debugd_port"] if values.get("require_debugd") else [])
    from_database = ("port", "tls_port") if values.get("db_type") else ()
    chosen: dict[int, str] = {}
    for name in in_use:
        port = values.get(name)
        if port is None:
            if name in from_database:
                continue
            port = defaults[name]
        flag = "--" + name.replace("_", "-")
        label = flag if values.get(name) is not None else f"the default of {flag}"
        if port in chosen:
            raise UsageError(f"{chosen[port]} and {label} are both port {port}: each daemon "
                             "needs its own port")
        chosen[port] = label


def verbosity_hint(argv: Sequence[str]) -> int:
    """The -v count, read without parsing: used to decide on tracebacks before parsing works."""
    return sum(verbosity(arg) for arg in argv)


def describe_options() -> list[tuple[str, str, str]]:
    """(flags, metavar, help) of every option: the README's option table is checked against it."""
    return [(", ".join(option.flags), option.metavar or "", option.help) for option in OPTIONS]
