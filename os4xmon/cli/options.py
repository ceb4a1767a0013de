"""The option table: the plugin's interface, one :class:`Option` per setting.

Everything that shows or reads options is built from ``OPTIONS``: the argparse parser
(argparsing.py), the ``--config`` keys (read_settings.py), ``docs/options.md``, the man page, the
Icinga 2 CheckCommand and the Director basket. Names are kept, aliases added, never renamed.
"""

from __future__ import annotations

from os4xmon.core.record import dataclass
from os4xmon.core.settings import (
    ASPECTS,
    DEFAULT_CERT_DIR,
    DEFAULT_CLIENTD_PORT,
    DEFAULT_DEBUGD_PORT,
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
    OUTPUT_FORMATS,
    Settings,
)
from os4xmon.core.values import (
    choice,
    controller_count,
    duration_value,
    identifier,
    odette_id,
    odette_password,
    partner,
    partner_silence,
    port_number,
    seconds,
    text_value,
    timeout_seconds,
    user_name,
    whole_number,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable


DEFAULTS = Settings()
"""The defaults, stated once in Settings; help texts and checks quote them from here."""
CONFIG_SECTION = "check_os4x"
PASSWORD_ENV = "OS4X_DB_PASSWORD"
ODETTE_PASSWORD_ENV = "OS4X_ODETTE_PASSWORD"


class UsageError(Exception):
    """Bad input from the admin: reported as one UNKNOWN line that says what to fix."""


# -- converters that need the option table's world (the checks, the SQL guard) --


def check_list(text: str) -> tuple[str, ...]:
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError("names no check; choose from " + ", ".join(ASPECTS))
    unknown = [name for name in names if name not in ASPECTS]
    if unknown:
        raise ValueError(f"unknown check {unknown[0]!r}; choose from " + ", ".join(ASPECTS))
    return tuple(aspect for aspect in ASPECTS if aspect in names)


def read_only_query(text: str) -> str:
    """One read-only SELECT: refused here, before any server sees it (os4xmon.db.sqlguard)."""
    from os4xmon.db.sqlguard import check_read_only  # the SQL lexer only where a query is set

    return check_read_only(text, "the query")


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
    repeat: bool = False  # may be given again: the values are collected in a tuple
    blank_separated: bool = False  # repeat: the config file's value holds several, by blanks

    @property
    def key(self) -> str:
        """The config file key: the long option name without dashes."""
        return self.dest.replace("_", "-")


OPTIONS: tuple[Option, ...] = (
    Option(("--checks",), "checks", "comma-separated aspects to check: "
           + ", ".join(ASPECTS) + " (default: processes,ports, plus isdn when "
           "--isdn-controllers > 0, plus database when --db-type is set, plus queue when "
           "--queue-query is set, plus certs when --cert-file, --crl-file, --cert-query or "
           "--cert-dir is set, plus partners when --partner-query is set)",
           check_list, "LIST"),
    Option(("-t", "--timeout"), "timeout", "seconds before the check gives up (default "
           f"{DEFAULTS.timeout:g})", timeout_seconds, "SECONDS"),
    Option(("--config",), "config", "INI file with a [check_os4x] section; keys are the long "
           "option names (db-password too); the command line wins", text_value, "FILE"),
    Option(("--output",), "output", "output format: " + ", ".join(OUTPUT_FORMATS) + " (nagios: "
           "the status line; json: one object; openmetrics: for Prometheus; checkmk: local "
           "check lines, one service per aspect); the exit code is the state in every format "
           f"(default {DEFAULTS.output})", choice(*OUTPUT_FORMATS), "FORMAT"),
    Option(("--textfile-dir",), "textfile_dir", "also write the OpenMetrics text to "
           "DIR/check_os4x.prom (atomically, mode 0644) for node_exporter's textfile "
           "collector, whatever --output prints", text_value, "DIR"),
    # processes
    Option(("--user",), "user", "user the OS4X daemons run as; a daemon run by another user is "
           "not counted as OS4X's (default: the os4xrd master's user)", user_name, "NAME",
           "processes"),
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
           "runs longer than this", duration_value, "DURATION", "processes"),
    Option(("--action-age-critical",), "action_age_critical", "CRITICAL when an os4xsqd action "
           "runs longer than this", duration_value, "DURATION", "processes"),
    Option(("--min-uptime",), "min_uptime", "WARNING when the os4xrd master started less than "
           "this ago (restart loops)", duration_value, "DURATION", "processes"),
    Option(("--bin-dir",), "bin_dir", "OS4X's binary directory: a process counts as a daemon "
           "only if its executable is a file here (device and inode, symlinks followed), run "
           "by the OS4X user (default /opt/os4x/bin)",
           text_value, "DIR", "processes"),
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
    Option(("--cert-warning",), "cert_warning", "WARNING when the TLS certificate (and, with "
           "the certs check, any certificate) expires within this many days (default "
           f"{DEFAULTS.cert_warning:g})", seconds, "DAYS", "ports"),
    Option(("--cert-critical",), "cert_critical", "CRITICAL when the TLS certificate (and any "
           f"checked certificate) expires within this many days (default "
           f"{DEFAULTS.cert_critical:g})", seconds, "DAYS", "ports"),
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
           "leaving", duration_value, "DURATION", "queue"),
    Option(("--queue-age-critical",), "queue_age_critical", "CRITICAL when an entry is new or "
           f"taken for more than this (default {DEFAULTS.queue_age_critical:g})", duration_value,
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
           "partner's end-to-end response (EERP) longer than this", duration_value, "DURATION",
           "queue"),
    Option(("--ack-age-critical",), "ack_age_critical", "CRITICAL when an entry waits for the "
           "partner's EERP longer than this", duration_value, "DURATION", "queue"),
    # certificates
    Option(("--cert-file",), "cert_file", "certificate file, PEM (every certificate of a "
           "bundle) or DER; a glob is expanded; repeat the option for more; enables the certs "
           "check", text_value, "PATH", "certs", repeat=True),
    Option(("--crl-file",), "crl_file", "CRL file, PEM or DER; a glob is expanded; repeat the "
           "option for more", text_value, "PATH", "certs", repeat=True),
    Option(("--cert-query",), "cert_query", "SQL returning rows of (owner, role, certificate as "
           "PEM text or DER bytes): the partner certificates in OS4X's database; {prefix} is "
           "replaced by --db-prefix (uses the --db-* options)", read_only_query, "SQL",
           "certs"),
    Option(("--cert-dir",), "cert_dir", "directory whose *.pem, *.crt, *.cer, *.der and *.crl "
           f"files are checked (default {DEFAULT_CERT_DIR} when --checks certs names no other "
           "source)", text_value, "DIR", "certs"),
    Option(("--crl-max-age",), "crl_max_age", "WARNING when a CRL's thisUpdate is older than "
           "this: seconds, or a number with s, m, h or d (36h) (default: not judged)",
           duration_value, "DURATION", "certs"),
    # partners
    Option(("--partner-query",), "partner_query", "SQL returning rows of (partner, direction "
           "in or out, seconds since the last successful transfer or NULL, failed transfers "
           "in the window[, last failure's reason]) from OS4X's send and receive logs; "
           "{prefix} is replaced by --db-prefix; enables the partners check (uses the --db-* "
           "options)", read_only_query, "SQL", "partners"),
    Option(("--silence-warning",), "silence_warning", "WARNING when nothing was sent to or "
           "received from a partner for longer than this, in either direction (default: "
           "silence not judged)", duration_value, "DURATION", "partners"),
    Option(("--silence-critical",), "silence_critical", "CRITICAL when a partner was silent "
           "in a direction for longer than this (default: not judged)", duration_value,
           "DURATION", "partners"),
    Option(("--partner-silence",), "partner_silence", "one partner's own rhythm, "
           "PARTNER[/in|/out]=WARNING[,CRITICAL] (durations), instead of --silence-warning "
           "and --silence-critical for it (repeat the option)", partner_silence,
           "PARTNER=W,C", "partners", repeat=True, blank_separated=True),
    Option(("--failures-warning",), "failures_warning", "WARNING when a partner has more "
           "failed transfers than this in the query's window, in one direction", whole_number,
           "N", "partners"),
    Option(("--failures-critical",), "failures_critical", "CRITICAL when a partner has more "
           "failed transfers than this in the query's window, in one direction", whole_number,
           "N", "partners"),
    Option(("--partner",), "partner", "judge only this partner (repeat the option), with its "
           "own perfdata; a partner the query does not return is UNKNOWN", partner, "NAME",
           "partners", repeat=True, blank_separated=True),
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
    "certs": "certs: certificates and CRLs before they expire",
    "partners": "partners: the transfer logs (files flow with every partner, both ways)",
}
