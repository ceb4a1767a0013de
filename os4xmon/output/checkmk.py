"""``--output checkmk``: Checkmk local check lines, one service per aspect.

``<state> "OS4X_<aspect>" <metrics> <text>``: the services are named as in contrib/checkmk's
MRPE files, so one agent call of the plugin (in the agent's ``local/`` or ``local/<seconds>/``
folder) replaces one MRPE call per aspect. Metrics are the aspect's perfdata with the same
labels and numbers, unit dropped (Checkmk takes plain numbers), without what could not be
measured; thresholds are written where they are a plain upper limit. The text is the aspect's
problems, worst first, or its headline; advice and details follow as Checkmk's long output
(a literal ``\\n``).
"""

from __future__ import annotations

import re

from nagiosplugin.state import Ok

from os4xmon.core.findings import STATE_ORDER
from os4xmon.core.thresholds import plain_number
from os4xmon.output.common import state_name

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from os4xmon.core.outcome import Item, Outcome, Value

SERVICE = "OS4X_{aspect}"
"""The service name, as contrib/checkmk's MRPE lines name them."""
RUN_SERVICE = "OS4X"
"""The one service of a run that ended before knowing its aspects (a usage error)."""


def one_line(text: str) -> str:
    """No line break, no ``\\`` that Checkmk would read as one."""
    return " ".join(text.replace("\\", "/").split())


def upper_limit(spec: str | None) -> str:
    """A Nagios range that alerts above a number ("3600", "0:3600", "~:3600") -> "3600";
    any other range has no Checkmk equivalent here: ""."""
    if spec is None:
        return ""
    match = re.fullmatch(r"(?:(?:0|~):)?([0-9]+(?:\.[0-9]+)?)", spec.strip())
    return match.group(1) if match else ""


def metric(value: Value) -> str | None:
    if value.value is None:
        return None
    name = re.sub(r"[^A-Za-z0-9_]", "_", value.label)
    fields = [plain_number(value.value), upper_limit(value.warning),
              upper_limit(value.critical),
              "" if value.minimum is None else plain_number(value.minimum),
              "" if value.maximum is None else plain_number(value.maximum)]
    return f"{name}=" + ";".join(fields).rstrip(";")


def text(outcome: Outcome, aspect: str, findings: list[Item]) -> str:
    problems = sorted((item for item in findings if item.state != Ok),
                      key=lambda item: STATE_ORDER[item.state])
    first = ", ".join(one_line(item.message) for item in problems) \
        or one_line(outcome.headlines.get(aspect, "")) or "no problem found"
    long = []
    for item in problems:
        long.append(f"{state_name(item.state)}: {one_line(item.message)}")
        if item.advice:
            long.append(f"  what to do: {one_line(item.advice)}")
    long.extend(one_line(line) for line in outcome.details.get(aspect, ()))
    return "\\n".join([first, *long])


def render(outcome: Outcome) -> list[str]:
    general = [item for item in outcome.findings if item.aspect is None]
    if not outcome.aspects:
        return [f'{outcome.state.code} "{RUN_SERVICE}" - '
                + text(outcome, "", general or list(outcome.findings))]
    lines = []
    for aspect in outcome.aspects:
        findings = outcome.findings_of(aspect)
        findings += [item for item in general if item not in findings]
        state = min((item.state for item in findings), key=STATE_ORDER.__getitem__,
                    default=Ok)
        metrics = [made for made in map(metric, outcome.values_of(aspect)) if made]
        lines.append(f'{state.code} "{SERVICE.format(aspect=aspect)}" '
                     f'{"|".join(metrics) or "-"} {text(outcome, aspect, findings)}')
    return lines
