"""The plugin's output formats besides Nagios's status line, one module each, imported only
when selected: ``json``, ``openmetrics`` (also written for node_exporter by ``--textfile-dir``)
and ``checkmk`` (local check lines).

Each module has ``render(outcome) -> list[str]`` over a :class:`os4xmon.core.outcome.Outcome`:
generic over findings and perfdata, never per aspect. The Nagios lines stay where they were
made (core.execution), byte for byte; the exit code is the Nagios state in every format.
"""

from __future__ import annotations

import importlib

from os4xmon.core import execution
from os4xmon.core.settings import OUTPUT_FORMATS

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Callable, Sequence

    from os4xmon.core.outcome import Outcome

FORMATS = OUTPUT_FORMATS
"""--output's choices; nagios is the default."""

MODULES = {
    "json": "os4xmon.output.jsonformat",
    "openmetrics": "os4xmon.output.openmetrics",
    "checkmk": "os4xmon.output.checkmk",
}


def renderer(name: str) -> Callable[[Outcome], list[str]] | None:
    """The render function of a format; None for nagios (core.execution writes it)."""
    if name not in MODULES:
        return None
    render: Callable[[Outcome], list[str]] = importlib.import_module(MODULES[name]).render
    return render


def select(name: str, textfile_dir: str | None = None, aspects: Sequence[str] = ()) -> None:
    """Makes this run print format name and, with textfile_dir, write the OpenMetrics file."""
    sinks = []
    if textfile_dir:
        from os4xmon.output.textfile import writer  # only --textfile-dir pays for it

        sinks.append(writer(textfile_dir))
    execution.select_output(renderer(name), sinks, aspects)
