"""One threshold object per metric: the verdict and the perfdata's warn/crit fields from one pair.

A metric with thresholds (a response time, an age, days of certificate left) is judged and
written with the same :class:`Threshold`, the way nagiosplugin's ``ScalarContext`` holds one pair
of ranges: the aspect makes it once from the settings, asks ``state(value)`` in its pure verdict
(and writes the sentence, naming the pid or port) and ``perfdata(label, value)`` for the graph,
so the two can never disagree. The defaults live in :class:`~os4xmon.core.settings.Settings`.
"""

from __future__ import annotations

import nagiosplugin
from nagiosplugin.range import Range
from nagiosplugin.state import Critical, Ok, ServiceState, Warn

from os4xmon.core.findings import perfdata
from os4xmon.core.record import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Optional, Union

    RangeSpec = Optional[Union[str, Range]]


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


def threshold_state(value: float, warning: RangeSpec = None,
                    critical: RangeSpec = None) -> ServiceState:
    """CRITICAL outside the critical range, else WARNING outside the warning range, else OK.

    The pure half of nagiosplugin's ScalarContext: the aspect's verdict function calls it and
    writes the message itself, naming the pid or port that ScalarContext could not know.
    """
    if critical is not None and not Range(critical).match(value):
        return Critical
    if warning is not None and not Range(warning).match(value):
        return Warn
    return Ok


@dataclass(frozen=True)
class Threshold:
    """A metric's warning and critical Nagios ranges (None: no such threshold)."""

    warning: str | None = None
    critical: str | None = None

    @classmethod
    def above(cls, warning: float | None, critical: float | None = None) -> Threshold:
        """Alerts when the value rises above the limits (an age, a response time)."""
        return cls(range_above(warning), range_above(critical))

    @classmethod
    def below(cls, warning: float | None, critical: float | None = None) -> Threshold:
        """Alerts when the value falls below the limits (days left, an uptime)."""
        return cls(range_below(warning), range_below(critical))

    def state(self, value: float) -> ServiceState:
        """The verdict on a measured value."""
        return threshold_state(value, self.warning, self.critical)

    def perfdata(self, label: str, value: float | None, uom: str = "", *,
                 minimum: float | None = 0, maximum: float | None = None) -> nagiosplugin.Metric:
        """The value for the graph, with the ranges its verdict used (``U`` when None)."""
        return perfdata(label, value, uom, minimum=minimum, maximum=maximum,
                        warning=self.warning, critical=self.critical)


NO_THRESHOLD = Threshold()
