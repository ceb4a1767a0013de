"""What several formats share: state names, base units, a finding's subject as plain data."""

from __future__ import annotations

import math

from os4xmon.core.record import fields

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any

    from nagiosplugin.state import ServiceState

    from os4xmon.core.outcome import Value


def state_name(state: ServiceState) -> str:
    """OK, WARNING, CRITICAL or UNKNOWN, as the status line writes them."""
    return str(state).upper()


BASE_UNITS: dict[str, tuple[str, float]] = {
    "s": ("seconds", 1.0),
    "ms": ("seconds", 1e-3),
    "us": ("seconds", 1e-6),
    "%": ("ratio", 0.01),
    "B": ("bytes", 1.0),
    "KB": ("bytes", 1024.0),
    "MB": ("bytes", 1024.0**2),
    "GB": ("bytes", 1024.0**3),
    "TB": ("bytes", 1024.0**4),
}
"""Perfdata units (the plugin guidelines' list) -> (base unit, factor). ``c`` (a counter) and
no unit are plain numbers."""

LABEL_UNITS: dict[str, tuple[str, float]] = {"_days": ("seconds", 86400.0),
                                             "_hours": ("seconds", 3600.0)}
"""A unitless value whose label ends so is counted in that unit (``oftp2_cert_days``):
perfdata cannot say "days" or "hours", the label does."""


def in_base_units(value: Value) -> tuple[str, str, float | None]:
    """(name without unit, base unit or "", value in it) of a perfdata value."""
    name = value.label
    unit, factor = BASE_UNITS.get(value.unit, ("", 1.0))
    if not value.unit:
        for suffix, (base, scale) in LABEL_UNITS.items():
            if name.endswith(suffix):
                name, unit, factor = name[: -len(suffix)], base, scale
    number = value.value
    if number is not None and not math.isfinite(number):
        number = None
    return name, unit, None if number is None else number * factor


def plain_subject(subject: Any) -> Any:
    """A finding's subject as JSON-ready data: text and numbers as they are, a record as an
    object of its fields, anything else as its text."""
    if subject is None or isinstance(subject, (str, bool, int)):
        return subject
    if isinstance(subject, float):
        return subject if math.isfinite(subject) else None
    try:
        names = [item.name for item in fields(subject)]
    except (AttributeError, TypeError):
        return str(subject)
    return {name: plain_subject(getattr(subject, name)) for name in names}
