"""One run's result as data, for the output formats other than Nagios's status line.

nagiosplugin keeps a run's result as Results whose metrics carry our Findings, Readings and
headlines (core.findings). Every renderer (os4xmon.output) reads the same :class:`Outcome`
built here once, generically: it never knows which aspect produced what, so an aspect added
later appears in every format without a line of output code.
"""

from __future__ import annotations

import time

from nagiosplugin.state import Ok, ServiceState, Unknown

from os4xmon.core.findings import FindingContext, HeadlineContext, PerfdataContext, worst
from os4xmon.core.record import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Sequence

    import nagiosplugin


@dataclass(frozen=True)
class Item:
    """A finding: which aspect (None: the run itself, a timeout outside any aspect), its state,
    sentence, the admin's next step and what it is about (when the finding says)."""

    aspect: str | None
    state: ServiceState
    message: str
    advice: str = ""
    subject: Any = None


@dataclass(frozen=True)
class Value:
    """A perfdata value as the aspect gave it: None where it could not be measured (``U``);
    the Nagios ranges its verdict used; the unit as in perfdata (``s``, ``B``, or empty)."""

    aspect: str | None
    label: str
    value: float | None
    unit: str = ""
    warning: str | None = None
    critical: str | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Outcome:
    """What every format reports: the state, the status text, findings, values, details."""

    state: ServiceState
    summary: str
    aspects: tuple[str, ...] = ()  # the aspects that ran, in order
    findings: tuple[Item, ...] = ()
    values: tuple[Value, ...] = ()
    headlines: dict[str, str] = field(default_factory=dict)
    details: dict[str, tuple[str, ...]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # about the configuration itself
    finished: float = 0.0  # time.time() when the result was made

    def aspect_state(self, aspect: str) -> ServiceState:
        """The worst of the aspect's findings (findings_of); OK with none."""
        found = self.findings_of(aspect)
        return worst([item.state for item in found]) if found else Ok

    def findings_of(self, aspect: str) -> list[Item]:
        """The aspect's findings; for an aspect without any result, the run's own ones (a
        timeout outside every aspect) or one UNKNOWN line saying it has no result."""
        own = [item for item in self.findings if item.aspect == aspect]
        if own or aspect in self.headlines:
            return own
        general = [item for item in self.findings if item.aspect is None]
        return general or [Item(aspect, Unknown, f"{aspect}: no result in this run")]

    def values_of(self, aspect: str) -> list[Value]:
        return [value for value in self.values if value.aspect == aspect]


def subject_of(finding: Any) -> Any:
    """What a finding is about, when it says (a ``subject`` attribute): None otherwise."""
    return getattr(finding, "subject", None)


def outcome_of(check: nagiosplugin.Check, state: ServiceState, summary: str,
               warnings: Sequence[str] = ()) -> Outcome:
    """The Outcome of a run that nagiosplugin evaluated (or that stopped part-way)."""
    findings: list[Item] = []
    values: list[Value] = []
    headlines: dict[str, str] = {}
    for result in check.results:
        metric = result.metric
        if metric is None:  # a result without our metric: the run's timeout
            findings.append(Item(None, result.state, str(result)))
            continue
        resource = getattr(metric, "resource", None)
        aspect = resource.name if resource is not None else None
        context = getattr(metric, "contextobj", None)
        if isinstance(context, HeadlineContext) and aspect is not None:
            headlines[aspect] = str(metric.value)
        elif isinstance(context, PerfdataContext):
            reading = metric.value
            values.append(Value(aspect, metric.name, reading.value, metric.uom or "",
                                reading.warning, reading.critical, metric.min, metric.max))
        elif isinstance(context, FindingContext):
            finding = metric.value
            findings.append(Item(aspect, finding.state, finding.message, finding.advice,
                                 subject_of(finding)))
        else:
            findings.append(Item(aspect, result.state, str(result)))
    details = {resource.name: tuple(getattr(resource, "details", ()))
               for resource in check.resources}
    return Outcome(state, summary, tuple(resource.name for resource in check.resources),
                   tuple(findings), tuple(values), headlines, details, tuple(warnings),
                   time.time())


def failure(message: str, aspects: Sequence[str] = ()) -> Outcome:
    """The Outcome of a run that ended before any aspect: one UNKNOWN line."""
    return Outcome(Unknown, message, tuple(aspects), (Item(None, Unknown, message),),
                   finished=time.time())
