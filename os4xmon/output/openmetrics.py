"""``--output openmetrics``: the run as OpenMetrics text, for Prometheus and node_exporter.

Gauges only (node_exporter's textfile collector refuses other types): the state of the run
(``os4x_check_state``, 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), of each aspect
(``os4x_check_aspect_state{aspect="..."}``), when the result was made
(``os4x_check_timestamp_seconds``), and every perfdata value as ``os4x_<label>[_<unit>]``
with an ``aspect`` label, in base units (seconds, bytes, ratio; a ``_days`` or ``_hours``
label becomes ``_seconds``). A value that could not be measured (perfdata's ``U``) has no
sample: a gap, as in an RRD. Names depend only on the perfdata label, so they stay stable
between runs.
"""

from __future__ import annotations

import re

from os4xmon.output.common import in_base_units

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from os4xmon.core.outcome import Outcome

PREFIX = "os4x_"
RESERVED_SUFFIXES = ("_total", "_count", "_sum", "_bucket", "_created", "_info", "_gcount",
                     "_gsum")
"""Suffixes OpenMetrics gives other types' samples: a gauge named so gets ``_value``."""


class Family:
    """One gauge: its name, unit, help text and samples (labels, value)."""

    def __init__(self, name: str, unit: str, text: str) -> None:
        self.name = name
        self.unit = unit
        self.text = text
        self.samples: list[tuple[dict[str, str], float]] = []

    def lines(self) -> list[str]:
        lines = [f"# TYPE {self.name} gauge"]
        if self.unit:
            lines.append(f"# UNIT {self.name} {self.unit}")
        lines.append(f"# HELP {self.name} {escape_help(self.text)}")
        for labels, value in self.samples:
            lines.append(f"{self.name}{label_set(labels)} {number(value)}")
        return lines


def escape_help(text: str) -> str:
    return " ".join(text.replace("\\", "\\\\").split())


def escape_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def label_set(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{escape_label(value)}"' for name, value in labels.items()) \
        + "}"


def number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def metric_name(label: str, unit: str) -> str:
    """``os4x_`` + the label in snake case (other characters as ``_``) + ``_`` + the unit."""
    name = re.sub(r"[^a-z0-9_]", "_", label.lower())
    if unit and not name.endswith(f"_{unit}"):
        name += f"_{unit}"
    if name.endswith(RESERVED_SUFFIXES) or name.startswith("check_"):
        name += "_value"
    return PREFIX + name


def families(outcome: Outcome) -> list[Family]:
    state = Family("os4x_check_state", "", "State of the check_os4x run: 0 OK, 1 WARNING, "
                   "2 CRITICAL, 3 UNKNOWN")
    state.samples.append(({}, outcome.state.code))
    aspects = Family("os4x_check_aspect_state", "", "State of one aspect of the check_os4x "
                     "run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN")
    aspects.samples.extend(({"aspect": aspect}, outcome.aspect_state(aspect).code)
                           for aspect in outcome.aspects)
    stamp = Family("os4x_check_timestamp_seconds", "seconds", "When check_os4x made this "
                   "result, in seconds since the epoch")
    stamp.samples.append(({}, round(outcome.finished, 3)))
    made = [state, aspects, stamp]
    by_name: dict[str, Family] = {}
    seen: set[tuple[str, str]] = set()
    for value in outcome.values:
        base, unit, measured = in_base_units(value)
        name = metric_name(base, unit)
        family = by_name.get(name)
        if family is None:
            family = Family(name, unit, f"check_os4x perfdata {value.label}"
                            + (f", in {unit}" if unit else ""))
            by_name[name] = family
            made.append(family)
        aspect = value.aspect or ""
        if measured is None or (name, aspect) in seen:
            continue
        seen.add((name, aspect))
        family.samples.append(({"aspect": aspect}, measured))
    return made


def render(outcome: Outcome) -> list[str]:
    lines = [line for family in families(outcome) for line in family.lines()]
    return [*lines, "# EOF"]
