"""The three contexts every aspect shares, and the one rule for perfdata.

Every verdict of the plugin is a :class:`Finding` made by a pure function of its aspect (a rule
such as "os4xrd_tcpip not running", or a number against a threshold via
:func:`threshold_state`: the function knows the pid or port the message must name). The
contexts decide nothing; each reads only its metric, never the Resource:

- ``finding`` (:class:`FindingContext`): a Finding becomes a result; :func:`finding_metrics`.
- ``perfdata`` (:class:`PerfdataContext`): a :class:`Reading` becomes perfdata with the
  thresholds its verdict used; :func:`perfdata`.
- ``headline`` (:class:`HeadlineContext`): the aspect's phrase for the OK line; :func:`headline`.

They are registered once, in ``aspects.build_check``.

The perfdata rule: **a value that could not be measured is written as ``U``**, without unit,
thresholds and minimum kept (``oftp2_cert_days=U;30:;7:``); never ``0``, which would be a false
measurement (0 days of certificate left, a master up for 0 s), and never left out, so that every
run of a configuration writes the same labels (PNP4Nagios' RRD files need that). ``U`` is what
the plugin guidelines define for "could not be determined"; a graph shows a gap. Icinga 2's
InfluxDB and Graphite writers drop such a value with a warning in their log: the same gap. A
count that was measured is a number, 0 included; something that does not exist (the oldest
action when no action runs) has no value, so it is ``U`` too.
"""

from __future__ import annotations

import nagiosplugin
from nagiosplugin.performance import Performance
from nagiosplugin.range import Range
from nagiosplugin.state import Critical, Ok, ServiceState, Unknown, Warn

from os4xmon.core.record import dataclass, field
from os4xmon.core.text import plural

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Optional, Sequence, Union

    RangeSpec = Optional[Union[str, Range]]



STATE_ORDER = {Critical: 0, Warn: 1, Unknown: 2, Ok: 3}
"""Worst first, as monitoring-plugins' max_state_alt: a CRITICAL is never hidden behind an
UNKNOWN from another aspect (nagiosplugin itself ranks UNKNOWN above CRITICAL)."""

STATES_BY_NAME = {"ok": Ok, "warning": Warn, "critical": Critical, "unknown": Unknown}


def worst(states: list[ServiceState]) -> ServiceState:
    return min(states, key=STATE_ORDER.__getitem__) if states else Unknown


@dataclass(frozen=True)
class Reading:
    """A perfdata value (None: could not be measured, written ``U``) and the Nagios ranges
    its verdict used, written beside it."""

    value: float | None
    warning: str | None = None
    critical: str | None = None


def perfdata(label: str, value: float | None, uom: str = "", *, minimum: float | None = 0,
             maximum: float | None = None, warning: str | None = None,
             critical: str | None = None) -> nagiosplugin.Metric:
    """A metric for the PerfdataContext: ``label=value[uom];warning;critical;minimum;maximum``."""
    return nagiosplugin.Metric(label, Reading(value, warning, critical), uom or None, minimum,
                               maximum, context="perfdata")


class PerfdataContext(nagiosplugin.Context):
    """Writes a Reading as perfdata, ``U`` where it could not be measured; never alerts (the
    verdicts are findings)."""

    def __init__(self, name: str = "perfdata") -> None:
        super().__init__(name, fmt_metric="")

    def evaluate(self, metric: nagiosplugin.Metric,
                 resource: nagiosplugin.Resource) -> nagiosplugin.Result:
        return nagiosplugin.Result(Ok, None, metric)

    def performance(self, metric: nagiosplugin.Metric,
                    resource: nagiosplugin.Resource) -> Performance:
        reading: Reading = metric.value
        measured = reading.value is not None
        return Performance(metric.name, reading.value if measured else "U",
                           (metric.uom or "") if measured else "",
                           str(Range(reading.warning)) if reading.warning is not None else "",
                           str(Range(reading.critical)) if reading.critical is not None else "",
                           metric.min, metric.max)


class HeadlineContext(nagiosplugin.Context):
    """The aspect's one-phrase OK summary ("7 daemons running"), carried as the metric's value.

    It never alerts and writes no perfdata; the Summary joins the headlines of all aspects.
    """

    def __init__(self, name: str = "headline") -> None:
        super().__init__(name, fmt_metric="")

    def evaluate(self, metric: nagiosplugin.Metric,
                 resource: nagiosplugin.Resource) -> nagiosplugin.Result:
        return nagiosplugin.Result(Ok, str(metric.value), metric)

    def performance(self, metric: nagiosplugin.Metric,
                    resource: nagiosplugin.Resource) -> Performance | None:
        return None


NOT_RUNNING = "not running"
"""A daemon's condition when no instance of it runs (stopped ones included)."""


@dataclass(frozen=True)
class Subject:
    """What a finding is about, as data: another aspect asks this, never the message's text.

    ``kind`` is daemon, port, controller, partner, certificate...; ``name`` which one;
    ``condition`` what the finding says of it (:data:`NOT_RUNNING`), "" for anything else.
    """

    kind: str
    name: str
    condition: str = ""


def daemon_not_running(name: str) -> Subject:
    return Subject("daemon", name, NOT_RUNNING)


@dataclass(frozen=True)
class Finding:
    """One verdict of an aspect's pure evaluation: a state, the sentence that explains it, the
    admin's next step (concrete: pids, files, dates), shown under it in the long output, and
    what it is about."""

    state: ServiceState
    message: str
    advice: str = field(default="", compare=False)  # the same verdict whatever the advice
    subject: Subject | None = field(default=None, compare=False)

    def says_not_running(self) -> str | None:
        """The daemon this finding reports as not running, if it is such a finding."""
        subject = self.subject
        if subject is not None and subject.kind == "daemon" and subject.condition == NOT_RUNNING:
            return subject.name
        return None


class FindingContext(nagiosplugin.Context):
    """Turns a Finding (the metric's value) into a result: every verdict of every aspect,
    whether a rule (a stale PID) or a threshold (an action running too long) decided it.

    Each finding becomes its own result, so the summary can sort them worst first.
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


def finding_metrics(aspect: str, findings: Sequence[Finding]) -> list[nagiosplugin.Metric]:
    """Metrics that carry findings to the FindingContext, one each."""
    return [nagiosplugin.Metric(f"{aspect} finding {index}", finding, context="finding")
            for index, finding in enumerate(findings)]


def headline(aspect: str, text: str) -> nagiosplugin.Metric:
    """The metric that carries an aspect's OK phrase to the HeadlineContext."""
    return nagiosplugin.Metric(f"{aspect} headline", text, context="headline")


def shared_contexts() -> list[nagiosplugin.Context]:
    """The contexts every aspect uses, for build_check to register once."""
    return [FindingContext(), PerfdataContext(), HeadlineContext()]


def unusable_rows(aspect: str, count: int, shown: Sequence[str], advice: str) -> Finding:
    """Rows of an admin's query that break its contract: one UNKNOWN line naming the first
    few (``shown``), the others counted; the rows that were usable are judged beside it."""
    more = count - len(shown)
    return Finding(Unknown, f"{aspect}: {plural(count, 'row')} unusable: {'; '.join(shown)}"
                   + (f"; and {more} more" if more > 0 else ""), advice)
