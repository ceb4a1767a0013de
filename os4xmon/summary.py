"""The status line: what a tired admin reads at 3 a.m.

On OK, one short headline per aspect. On a problem, every problem, worst first: nagiosplugin's
default Summary shows only one, and the second one is often the clue to the first.
"""

from __future__ import annotations

import nagiosplugin
from nagiosplugin.state import Ok

from os4xmon.contexts import STATE_ORDER, HeadlineContext


def problems_worst_first(results: nagiosplugin.Results) -> list[nagiosplugin.Result]:
    problems = [result for result in results if result.state != Ok]
    return sorted(problems, key=lambda result: STATE_ORDER[result.state])


class Os4xSummary(nagiosplugin.Summary):
    def ok(self, results: nagiosplugin.Results) -> str:
        headlines = [str(result) for result in results
                     if isinstance(getattr(result.metric, "contextobj", None), HeadlineContext)]
        return ", ".join(headlines) or "all checks passed"

    def problem(self, results: nagiosplugin.Results) -> str:
        return ", ".join(str(result) for result in problems_worst_first(results))

    def verbose(self, results: nagiosplugin.Results) -> list[str]:
        lines = []
        for result in problems_worst_first(results):
            lines.append(f"{str(result.state).upper()}: {result}")
            advice = getattr(result, "advice", "") or \
                getattr(getattr(result.metric, "value", None), "advice", "")
            if advice:
                lines.append(f"  what to do: {advice}")
        return lines
