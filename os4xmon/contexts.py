"""Contexts shared by the aspects: thresholds with messages that name the culprit, headlines.

nagiosplugin's ScalarContext decides the state from Nagios ranges and writes perfdata; its
message ("outside range 0:3600") does not say which process or port is at fault, so the
aspect supplies the message. A result's text is its hint: these contexts set no fmt_metric.
"""

from __future__ import annotations

import nagiosplugin
from nagiosplugin.performance import Performance
from nagiosplugin.range import Range
from nagiosplugin.state import Critical, Ok, ServiceState, Unknown, Warn

from os4xmon.record import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Callable, Optional, Union

    Explain = Callable[[nagiosplugin.Metric, nagiosplugin.Resource, ServiceState], str]
    RangeSpec = Optional[Union[str, Range]]



STATE_ORDER = {Critical: 0, Warn: 1, Unknown: 2, Ok: 3}
"""Worst first, as monitoring-plugins' max_state_alt: a CRITICAL is never hidden behind an
UNKNOWN from another aspect (nagiosplugin itself ranks UNKNOWN above CRITICAL)."""

STATES_BY_NAME = {"ok": Ok, "warning": Warn, "critical": Critical, "unknown": Unknown}


def worst(states: list[ServiceState]) -> ServiceState:
    return min(states, key=STATE_ORDER.__getitem__) if states else Unknown


def plain_number(value: float) -> str:
    """A number as Nagios ranges accept it: 0.000001, never 1e-06 (which nagiosplugin rejects)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def range_below(minimum: float | None) -> str | None:
    """A Nagios range that alerts below minimum ("600:"), or None for no threshold."""
    return None if minimum is None else f"{plain_number(minimum)}:"


def range_above(maximum: float | None) -> str | None:
    """A Nagios range that alerts above maximum ("3600", i.e. 0..3600), or None."""
    return None if maximum is None else plain_number(maximum)


class AdvisedResult(nagiosplugin.Result):
    """A threshold's Result that also carries the admin's next step (``advice``), as a
    Finding does for rule verdicts; the long output prints it under the problem line."""

    advice = ""


class ThresholdContext(nagiosplugin.ScalarContext):
    """A ScalarContext whose problem message comes from the aspect, and which can stay silent.

    ``applies`` lets a metric with a placeholder value (the uptime of a master that is not
    running) keep its perfdata label without raising a second alarm.
    """

    def __init__(self, name: str, warning: RangeSpec = None, critical: RangeSpec = None,
                 explain: Explain | None = None,
                 applies: Callable[[nagiosplugin.Resource], bool] | None = None, *,
                 advise: Explain | None = None) -> None:
        super().__init__(name, warning, critical, fmt_metric="")
        self.explain = explain
        self.applies = applies
        self.advise = advise

    def evaluate(self, metric: nagiosplugin.Metric,
                 resource: nagiosplugin.Resource) -> nagiosplugin.Result:
        if self.applies is not None and not self.applies(resource):
            return nagiosplugin.Result(Ok, None, metric)
        result = super().evaluate(metric, resource)
        if result.state == Ok or self.explain is None:
            return result
        advised = AdvisedResult(result.state, self.explain(metric, resource, result.state),
                                metric)
        if self.advise is not None:
            advised.advice = self.advise(metric, resource, result.state)
        return advised


class CountContext(nagiosplugin.Context):
    """Perfdata for a plain count or measurement that has no thresholds of its own."""

    def __init__(self, name: str) -> None:
        super().__init__(name, fmt_metric="")

    def evaluate(self, metric: nagiosplugin.Metric,
                 resource: nagiosplugin.Resource) -> nagiosplugin.Result:
        return nagiosplugin.Result(Ok, None, metric)

    def performance(self, metric: nagiosplugin.Metric,
                    resource: nagiosplugin.Resource) -> Performance | None:
        return Performance(metric.name, metric.value, metric.uom or "", min=metric.min,
                           max=metric.max)


class HeadlineContext(nagiosplugin.Context):
    """The aspect's one-phrase OK summary ("7 daemons running"), carried as the metric's value.

    It never alerts and writes no perfdata; the Summary joins the headlines of all aspects.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name, fmt_metric="")

    def evaluate(self, metric: nagiosplugin.Metric,
                 resource: nagiosplugin.Resource) -> nagiosplugin.Result:
        return nagiosplugin.Result(Ok, str(metric.value), metric)

    def performance(self, metric: nagiosplugin.Metric,
                    resource: nagiosplugin.Resource) -> Performance | None:
        return None


@dataclass(frozen=True)
class Finding:
    """One verdict of an aspect's pure evaluation: a state, the sentence that explains it, and
    the admin's next step (concrete: pids, files, dates), shown under it in the long output."""

    state: ServiceState
    message: str
    advice: str = field(default="", compare=False)  # the same verdict whatever the advice


class FindingContext(nagiosplugin.Context):
    """Turns a Finding (the metric's value) into a result, for verdicts that a rule decides.

    An orphaned receiver or a stale PID is not a number against a threshold: a pure function
    decides it, and each finding becomes its own result so the summary can sort them.
    """

    def __init__(self, name: str = "finding") -> None:
        super().__init__(name, fmt_metric="")

    def evaluate(self, metric: nagiosplugin.Metric,
                 resource: nagiosplugin.Resource) -> nagiosplugin.Result:
        finding: Finding = metric.value
        return nagiosplugin.Result(finding.state, finding.message, metric)

    def performance(self, metric: nagiosplugin.Metric,
                    resource: nagiosplugin.Resource) -> Performance | None:
        return None


def finding_metrics(aspect: str, findings: list[Finding]) -> list[nagiosplugin.Metric]:
    """Metrics that carry findings to the FindingContext, one each."""
    return [nagiosplugin.Metric(f"{aspect} finding {index}", finding, context="finding")
            for index, finding in enumerate(findings)]
