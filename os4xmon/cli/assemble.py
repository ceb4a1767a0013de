"""The aspects the plugin can check, imported only when selected.

Each aspect is a module with ``build(settings, host)`` returning its Resources (the
:class:`AspectModule` protocol); the contexts they share are registered here, once. Importing
lazily keeps a processes-only check from paying for database drivers or TLS.
"""

from __future__ import annotations

import importlib

import nagiosplugin

from os4xmon.core.findings import shared_contexts
from os4xmon.core.settings import Settings
from os4xmon.core.statusline import Os4xSummary
from os4xmon.facts.host import Host

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Protocol, Sequence

    class AspectModule(Protocol):
        """What every aspect module offers: its Resources for one run.

        An aspect yields its verdicts as findings (``contexts.finding_metrics``), its numbers as
        ``contexts.perfdata`` and its OK phrase as ``contexts.headline``; it registers no
        context of its own. Facts it shares with another aspect go through ``host``.
        """

        def build(self, settings: Settings, host: Host) -> Sequence[nagiosplugin.Resource]:
            ...

    from os4xmon.checks import certs, database, isdn, ports, processes, sendqueue
    from os4xmon.checks.partners import aspect as partners

    CHECKED: tuple[AspectModule, ...] = (processes, database, sendqueue, partners, isdn, certs,
                                         ports)
    """mypy holds every aspect module against the protocol here (nothing runs this)."""


MODULES = {
    "processes": "os4xmon.checks.processes",
    "ports": "os4xmon.checks.ports",
    "database": "os4xmon.checks.database",
    "isdn": "os4xmon.checks.isdn",
    "queue": "os4xmon.checks.sendqueue",
    "certs": "os4xmon.checks.certs",
    "partners": "os4xmon.checks.partners.aspect",
}
"""Aspect name -> module."""

ORDER = ("processes", "database", "queue", "partners", "isdn", "certs", "ports")
"""The order the aspects run in, which is also the order of equally bad problems in the first
line. No aspect needs another to have run (what they share, ``Host`` reads on first request);
the order is about time: the database, capiinfo and the certificate query take a bounded
share of ``-t``, the port probes split whatever is left among themselves, so they come last."""


def load(aspect: str) -> AspectModule:
    module: AspectModule = importlib.import_module(MODULES[aspect])
    return module


def build_check(settings: Settings, host: Host) -> nagiosplugin.Check:
    objects: list[nagiosplugin.Resource | nagiosplugin.Context] = []
    for aspect in ORDER:
        if aspect in settings.selected_checks:
            objects.extend(load(aspect).build(settings, host))
    objects.extend(shared_contexts())
    return nagiosplugin.Check(*objects, Os4xSummary())
