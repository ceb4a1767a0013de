"""One frozen record of validated settings, shared by every aspect.

Everything the plugin was told (command line, ``--config`` file, environment) ends up here, already
converted and checked, so that the aspects never parse a string or look at ``sys.argv``.
"""

from __future__ import annotations

from os4xmon.core.record import dataclass, field, fields

ASPECTS: tuple[str, ...] = ("processes", "ports", "database", "isdn", "queue", "certs",
                            "partners")
"""Every aspect the plugin can check, in the order --checks and its help list them (the order
they run in is ``aspects.ORDER``)."""

OUTPUT_FORMATS: tuple[str, ...] = ("nagios", "json", "openmetrics", "checkmk")
"""--output's choices (os4xmon.output renders all but nagios); nagios is the default."""

DEFAULT_PORT = 3305
DEFAULT_TLS_PORT = 6619
DEFAULT_CLIENTD_PORT = 60000
DEFAULT_DEBUGD_PORT = 10001
DEFAULT_CERT_DIR = "/opt/os4x/cert"
"""Where OS4X keeps its global certificates; read by --checks certs when no source is given."""

SECRETS = ("db_password", "odette_password")
"""Settings that -vv shows only as set or not set, and masks wherever else they appear."""


MASK_FROM = 6
"""A secret this long is masked inside other values; a shorter one only where it is the whole
value, so that the absence of a common letter can never spell out the password."""


@dataclass(frozen=True)
class Settings:
    """What to check and how: the plugin's whole configuration."""

    # general
    checks: tuple[str, ...] | None = None  # None: the default selection
    timeout: float = 10.0
    verbose: int = 0
    config: str | None = None
    output: str = "nagios"
    textfile_dir: str | None = None  # also write the OpenMetrics text for node_exporter

    # what OS4X runs
    user: str | None = None
    no_tls: bool = False
    isdn_controllers: int = 0
    enterprise: bool = False
    require_debugd: bool = False
    action_age_warning: float | None = None
    action_age_critical: float | None = None
    min_uptime: float | None = None
    bin_dir: str = "/opt/os4x/bin"
    os4x_config: str = "/etc/os4x.conf"
    fetch_queue: bool = False
    replaced_binary_state: str = "warning"

    # ports (None: from the database if it has them, else the default)
    port: int | None = None
    tls_port: int | None = None
    clientd_port: int | None = None
    debugd_port: int | None = None
    host: str = "127.0.0.1"
    host_is_local: bool | None = None  # --host resolved to this machine's addresses (cli.py)
    probe: bool = False
    tls_ca: str | None = None
    tls_cert: str | None = None  # client certificate for servers that require one
    tls_key: str | None = None
    response_warning: float | None = None
    response_critical: float | None = None
    cert_warning: float = 30.0
    cert_critical: float = 7.0
    odette_id: str | None = None  # a monitoring partner: turns every OFTP probe into a login
    odette_password: str | None = field(default=None, repr=False)
    odette_password_file: str | None = None

    # database
    db_type: str | None = None
    db_host: str | None = None
    db_port: int | None = None
    db_socket: str | None = None
    db_name: str = "os4x"
    db_user: str | None = None
    db_password: str | None = field(default=None, repr=False)
    db_password_file: str | None = None
    db_ssl: bool = False
    db_ssl_ca: str | None = None
    pid_query: str | None = None
    db_prefix: str = "os4x_"
    db_discover: bool = False
    db_error_state: str = "unknown"

    # send queue (thresholds: more than this alarms)
    queue_query: str | None = None
    queue_age_warning: float | None = 3600.0
    queue_age_critical: float | None = 14400.0
    queue_tries_warning: int | None = 3
    queue_tries_critical: int | None = 10
    queue_length_warning: int | None = None
    queue_length_critical: int | None = None
    ack_age_warning: float | None = None
    ack_age_critical: float | None = None

    # partners (thresholds: more than this alarms; None: not judged)
    partner_query: str | None = None
    silence_warning: float | None = None
    silence_critical: float | None = None
    partner_silence: tuple[tuple[str, str, float | None, float | None], ...] = ()
    """(partner, "in", "out" or "" for both, warning, critical): one partner's own rhythm."""
    failures_warning: int | None = None
    failures_critical: int | None = None
    partner: tuple[str, ...] = ()  # judge only these partners (one service per partner)

    # ISDN
    capi_file: str = "/proc/capi/controller"
    capiinfo: str | None = None
    capi_source: str = "auto"

    # certificates and CRLs (the days left: cert_warning, cert_critical above)
    cert_file: tuple[str, ...] = ()  # repeatable options: every value given, in order
    crl_file: tuple[str, ...] = ()
    cert_query: str | None = None
    cert_dir: str | None = None  # None: DEFAULT_CERT_DIR when no other source is given
    crl_max_age: float | None = None  # seconds since a CRL's thisUpdate; None: not judged

    # where each value came from (command line, config, password file, environment), for -vv
    origins: dict[str, str] = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = ()  # about the configuration itself, for the long output

    @property
    def selected_checks(self) -> tuple[str, ...]:
        """The aspects to run: those asked for, or the default selection."""
        if self.checks is not None:
            return self.checks
        if not self.local_host:  # processes and sockets of another host cannot be seen
            remote = {"ports"} | ({"queue"} if self.queue_configured else set()) \
                | ({"certs"} if self.certs_configured else set()) \
                | ({"partners"} if self.partners_configured else set())
            return tuple(aspect for aspect in ASPECTS if aspect in remote)
        chosen = {"processes", "ports"}
        if self.certs_configured:
            chosen.add("certs")
        if self.isdn_controllers > 0:
            chosen.add("isdn")
        if self.database_configured:
            chosen.add("database")
        if self.queue_configured:
            chosen.add("queue")
        if self.partners_configured:
            chosen.add("partners")
        return tuple(aspect for aspect in ASPECTS if aspect in chosen)

    @property
    def database_configured(self) -> bool:
        return self.db_type is not None

    @property
    def queue_configured(self) -> bool:
        return self.queue_query is not None

    @property
    def certs_configured(self) -> bool:
        """Any certificate source given turns the certs aspect on."""
        return bool(self.cert_file or self.crl_file or self.cert_query
                    or self.cert_dir is not None)

    @property
    def partners_configured(self) -> bool:
        return self.partner_query is not None

    @property
    def local_host(self) -> bool:
        """Whether --host names this machine, so processes and sockets can be looked at.

        Decided by resolving --host and comparing its addresses with the machine's own
        (``netwait.is_local``, run once by cli.py); before that, only the default host is
        taken as local: a spelling is never the test."""
        if self.host_is_local is not None:
            return self.host_is_local
        from os4xmon.core.netwait import bare, is_own_address  # no DNS here: literals only

        return self.host.lower() == "localhost" or is_own_address(bare(self.host), set())

    def replaced(self, **changes: object) -> Settings:
        """A copy with some values changed (the record is frozen)."""
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        values.update(changes)
        return Settings(**values)

    def describe(self) -> tuple[str, ...]:
        """The configuration as lines for -vv: every value and where it came from, no secrets."""
        lines = []
        for item in fields(self):
            if item.name in ("origins", "verbose", "warnings", "host_is_local"):
                continue
            value = getattr(self, item.name)
            if item.name in SECRETS:
                value = "(set)" if value else "(not set)"
            origin = self.origins.get(item.name, "default")
            text = f"{value!s}"
            for secret in SECRETS:  # even a user named as a password
                hidden = getattr(self, secret)
                if not hidden or item.name in SECRETS:
                    continue
                if text == hidden or len(hidden) >= MASK_FROM:
                    text = text.replace(hidden, "********")
            lines.append(f"{item.name.replace('_', '-')} = {text} [{origin}]")
        lines.append(f"host is this machine = {'yes' if self.local_host else 'no'}")
        lines.append(f"checks run = {','.join(self.selected_checks)}")
        return tuple(lines)
