"""What the aspects of one run share, read lazily and at most once.

The process table is read once even when the process, port and database checks all need it;
facts one aspect learns for another (the ports saved in OS4X's database) are handed over here.
"""

from __future__ import annotations

from os4xmon.proctable import ProcessTable, read_process_table


class Host:
    """The OS4X host as this run sees it."""

    def __init__(self, proc: str | None = None) -> None:
        self._proc = proc
        self._table: ProcessTable | None = None
        self.configured_ports: dict[str, int] = {}
        """Ports read from <prefix>configuration (tcp_port, tcp_port_tls), for the port check."""

    def process_table(self) -> ProcessTable:
        if self._table is None:
            self._table = read_process_table() if self._proc is None \
                else read_process_table(self._proc)
        return self._table
