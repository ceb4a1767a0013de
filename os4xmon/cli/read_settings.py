"""Command line, ``--config`` file and environment, turned into one validated :class:`Settings`.

The precedence is: command line, then the ``[check_os4x]`` section of the ``--config`` file, then
the defaults. Every value goes through the same converter wherever it comes from, so a bad value
gives the same one-line message naming the option, whether it was typed or read from a file.
"""

from __future__ import annotations

import os

from os4xmon.cli.argparsing import read_with_argparse
from os4xmon.cli.options import (
    CONFIG_SECTION,
    DEFAULTS,
    ODETTE_PASSWORD_ENV,
    OPTIONS_BY_KEY,
    PASSWORD_ENV,
    Option,
    UsageError,
)
from os4xmon.core.record import fields
from os4xmon.core.settings import (
    DEFAULT_CLIENTD_PORT,
    DEFAULT_DEBUGD_PORT,
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
    OUTPUT_FORMATS,
    Settings,
)
from os4xmon.core.text import perf_label, printable
from os4xmon.core.values import boolean, odette_password, whole_number

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Sequence

__all__ = ["UsageError", "parse", "verbosity_hint"]

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
        values[key] = _without_comment(key, value, path)
    return values


def _without_comment(key: str, value: str, path: str) -> str:
    """The value without an inline comment (``bin-dir = /opt/os4x/bin   # where OS4X lives``):
    configparser keeps it in the value. A ``#`` or ``;`` after a blank (or first) starts one,
    as admins expect; in a password it may be part of it, so that value is refused instead,
    without showing it."""
    for index, char in enumerate(value):
        if char in "#;" and (index == 0 or value[index - 1].isspace()):
            if f"--{key}" in SECRET_FLAGS:
                raise UsageError(f"--config {path}: {key} holds a blank followed by {char!r}: "
                                 "an inline comment or part of the password? Put comments on "
                                 f"lines of their own; a password like that goes into "
                                 f"--{key}-file")
            return value[:index].rstrip()
    return value


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
        if option.repeat and option.convert is not None:
            if option.blank_separated:  # several values in one line
                return tuple(option.convert(word) for word in value.split())
            return (option.convert(value),)  # one value (a glob may hold blanks)
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
    if values.get("cert_query") is not None and values.get("db_type") is None:
        raise UsageError("--cert-query needs --db-type (and the database's connection "
                         "options): the partner certificates are read from OS4X's database")
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
    directory = values.get("textfile_dir")
    if directory and not os.path.isdir(directory):
        raise UsageError(f"--textfile-dir {printable(directory, 100)} is not a directory")
    for name in ("tls_ca", "tls_cert", "tls_key", "db_ssl_ca"):
        if values.get(name) and _missing(values[name]):
            raise UsageError(f"--{name.replace('_', '-')} {printable(values[name], 100)} "
                             "does not exist")
    key = values.get("tls_key") or values.get("tls_cert")
    if key and _encrypted_key(key):
        flag = "--tls-key" if values.get("tls_key") else "--tls-cert"
        raise UsageError(f"{flag} {printable(key, 100)}: the key is encrypted; the plugin "
                         "cannot type its pass phrase: give it a key without one (openssl pkey "
                         "-in KEY -out PLAIN, mode 600)")
    _check_port_roles(values)


ENCRYPTED_PEM = (b"-----BEGIN ENCRYPTED PRIVATE KEY-----", b"Proc-Type: 4,ENCRYPTED")


def _encrypted_key(path: str) -> bool:
    """Whether the PEM file holds an encrypted private key (OpenSSL would ask for its pass
    phrase on the terminal and wait until -t ran out); unreadable: left to the probe."""
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags)  # a FIFO must not block: the alarm is not armed
    except OSError:
        return False
    try:
        head = os.read(descriptor, MAX_FILE_BYTES) \
            if stat.S_ISREG(os.fstat(descriptor).st_mode) else b""
    except OSError:
        return False
    finally:
        os.close(descriptor)
    return any(marker in head for marker in ENCRYPTED_PEM)


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
    if not values.get("partner_silence") and all(
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


def output_hint(argv: Sequence[str]) -> str:
    """The --output format, read without parsing: the format of a usage error's line."""
    words = list(argv)
    for index, word in enumerate(words):
        if word == "--":
            break
        value = words[index + 1] if word == "--output" and index + 1 < len(words) \
            else word[len("--output="):] if word.startswith("--output=") else None
        if value is not None and value.strip().lower() in OUTPUT_FORMATS:
            return value.strip().lower()
    return Settings.output


def verbosity(word: str) -> int:
    """How many -v a word counts: ``--verbose`` one, ``-vvv`` three, anything else none."""
    if word == "--verbose":
        return 1
    if len(word) > 1 and word[0] == "-" and word[1:] == "v" * (len(word) - 1):
        return len(word) - 1
    return 0
