"""``--output json``: one JSON object per run, described by docs/output.schema.json.

For scripts and support: the state and exit code, the summary, every finding with its aspect,
advice and subject, every perfdata value with unit, thresholds, minimum and maximum (``null``
where it could not be measured: perfdata's ``U``), each aspect's state, headline and the long
output's details. ASCII only (every other character escaped), one line.
"""

from __future__ import annotations

import json
import math

from os4xmon import __version__
from os4xmon.output.common import plain_subject, state_name

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any

    from os4xmon.core.outcome import Item, Outcome, Value

VERSION = 1
"""The document's version: raised when a field changes meaning or goes; new fields do not."""


def _number(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _finding(item: Item) -> dict[str, Any]:
    found: dict[str, Any] = {"aspect": item.aspect, "state": state_name(item.state),
                             "message": item.message, "advice": item.advice}
    if item.subject is not None:
        found["subject"] = plain_subject(item.subject)
    return found


def _value(value: Value) -> dict[str, Any]:
    return {"aspect": value.aspect, "label": value.label, "value": _number(value.value),
            "unit": value.unit, "warning": value.warning, "critical": value.critical,
            "min": _number(value.minimum), "max": _number(value.maximum)}


def document(outcome: Outcome) -> dict[str, Any]:
    state = outcome.state
    return {
        "version": VERSION,
        "plugin": "check_os4x",
        "plugin_version": __version__,
        "state": state_name(state),
        "exit_code": state.code,
        "summary": outcome.summary,
        "time": round(outcome.finished, 3),
        "aspects": [{"name": aspect, "state": state_name(outcome.aspect_state(aspect)),
                     "headline": outcome.headlines.get(aspect),
                     "details": list(outcome.details.get(aspect, ()))}
                    for aspect in outcome.aspects],
        "findings": [_finding(item) for item in outcome.findings],
        "perfdata": [_value(value) for value in outcome.values],
        "warnings": list(outcome.warnings),
    }


def render(outcome: Outcome) -> list[str]:
    return [json.dumps(document(outcome), ensure_ascii=True, allow_nan=False)]
