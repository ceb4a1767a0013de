"""What the aspects of one run share: facts about the OS4X host, each read on first request.

No aspect hands another a fact through a side effect or relies on running first: an aspect
that needs a fact asks ``Host``, which reads it once and keeps it for the rest of the run.

- ``process_table()``: one snapshot of the process table (processes, ports, database, isdn).
- ``process_report()``: the process check's assessment of that snapshot, made once; the
  database compares saved PIDs with its instances, the ISDN check finds its receivers there,
  the port check learns which receivers are not running.
- ``configured()``: what OS4X's ``<prefix>configuration`` says when the database check runs:
  the ports (``tcp_port``, ``tcp_port_tls``, ``os4xclientd_port``) for the port check, the stop
  requests (``os4xrd_stop_req``, ``os4xsqd_stop_req``) that explain a stopped daemon. The
  database check offers what it read on its own connection (``offer_configured``), so a run
  connects once whichever aspect asks first.
"""

from __future__ import annotations

from os4xmon.core.settings import Settings
from os4xmon.facts.configuration import Configured
from os4xmon.sources.proctable import ProcessTable, read_process_table

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from os4xmon.facts.process_report import ProcessReport


class Host:
    """The OS4X host as this run sees it."""

    def __init__(self, settings: Settings | None = None, proc: str | None = None) -> None:
        self.settings = settings or Settings()
        self._proc = proc
        self._table: ProcessTable | None = None
        self._report: ProcessReport | None = None
        self._configured: Configured | None = None

    def process_table(self) -> ProcessTable:
        if self._table is None:
            self._table = read_process_table() if self._proc is None \
                else read_process_table(self._proc)
        return self._table

    def process_report(self) -> ProcessReport:
        """The process check's verdicts on the snapshot, for the daemons the settings expect."""
        if self._report is None:
            # the process report only for runs whose aspects ask for it
            from os4xmon.facts.process_report import Expectation, assess, replaced_files

            table = self.process_table()
            self._report = assess(table, Expectation.from_settings(self.settings),
                                  replaced_files(table))
        return self._report

    def reported_not_running(self, daemon: str) -> bool:
        """Whether the process check of this run reports that daemon as not running, so that
        another aspect need not raise the same problem a second time."""
        if "processes" not in self.settings.selected_checks or self.process_table().hidden:
            return False
        report = self.process_report()
        return daemon in report.expectation.daemons and not report.running(daemon)

    def configured(self) -> Configured:
        """<prefix>configuration's ports and stop requests; empty unless the database check
        runs (then read on a connection of its own when the database check has not run yet)."""
        if self._configured is None:
            settings = self.settings
            if "database" in settings.selected_checks and settings.pid_query:
                from os4xmon.facts.configuration import read_configuration  # reads the database

                self._configured = read_configuration(settings)
            else:
                self._configured = Configured()
        return self._configured

    def offer_configured(self, configured: Configured) -> None:
        """Keeps what an aspect read anyway (on its own connection), if nothing is known."""
        if self._configured is None:
            self._configured = configured
