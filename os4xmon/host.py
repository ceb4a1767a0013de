"""What the aspects of one run share, read lazily and at most once.

The process table is read once even when the process, port and database checks all need it;
facts one aspect learns for another (the ports saved in OS4X's database) are handed over here.
"""

from __future__ import annotations

from os4xmon.proctable import ProcessTable, read_process_table

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Callable

    from os4xmon.configured import Configured


class Host:
    """The OS4X host as this run sees it."""

    def __init__(self, proc: str | None = None) -> None:
        self._proc = proc
        self._table: ProcessTable | None = None
        self.configured_ports: dict[str, int] = {}
        """Ports read from <prefix>configuration (tcp_port, tcp_port_tls, os4xclientd_port),
        for the port check."""
        self.configuration_reader: Callable[[], Configured] | None = None
        """Reads <prefix>configuration on its own; set by the database aspect when it runs."""
        self._configured: Configured | None = None

    def process_table(self) -> ProcessTable:
        if self._table is None:
            self._table = read_process_table() if self._proc is None \
                else read_process_table(self._proc)
        return self._table

    def configured(self) -> Configured | None:
        """<prefix>configuration (ports, stop requests), or None when the database aspect does
        not run. Read at most once: by the database aspect, or here on first need, whichever
        comes first, so no aspect depends on the order they run in."""
        if self._configured is None and self.configuration_reader is not None:
            reader, self.configuration_reader = self.configuration_reader, None
            self.provide(reader())
        return self._configured

    def configured_if_read(self) -> Configured | None:
        """What is known already, without reading."""
        return self._configured

    def provide(self, configured: Configured) -> None:
        """Keeps what the database aspect read, for the aspects that need it."""
        self._configured = configured
        self.configuration_reader = None
        self.configured_ports.update(configured.ports)
