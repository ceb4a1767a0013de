"""The aspects the plugin can check, imported only when selected.

Each aspect is a module with ``build(settings, host)`` returning its Resource and Contexts.
Importing lazily keeps a processes-only check from paying for database drivers or TLS.
"""

from __future__ import annotations

import importlib

import nagiosplugin

from os4xmon.host import Host
from os4xmon.settings import Settings
from os4xmon.summary import Os4xSummary

MODULES = {
    "processes": "os4xmon.processes",
    "ports": "os4xmon.ports",
    "database": "os4xmon.database",
    "isdn": "os4xmon.isdn",
    "queue": "os4xmon.queue",
}
"""Aspect name -> module; in check order (the database runs before the ports it configures)."""

ORDER = ("processes", "database", "queue", "isdn", "ports")


def build_check(settings: Settings, host: Host) -> nagiosplugin.Check:
    objects: list[nagiosplugin.Resource | nagiosplugin.Context] = []
    for aspect in sorted(settings.selected_checks, key=ORDER.index):
        if aspect not in MODULES:
            continue
        module = importlib.import_module(MODULES[aspect])
        objects.extend(module.build(settings, host))
    return nagiosplugin.Check(*objects, Os4xSummary())


def unavailable(settings: Settings) -> list[str]:
    """Selected aspects this version cannot check yet."""
    return [aspect for aspect in settings.selected_checks if aspect not in MODULES]
