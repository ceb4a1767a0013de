"""The status line: what a tired admin reads at 3 a.m.

On OK, one short headline per aspect. On a problem, every problem, worst first: nagiosplugin's
default Summary shows only one, and the second one is often the clue to the first.
"""

from __future__ import annotations

import nagiosplugin
from nagiosplugin.state import Ok

from os4xmon.core.findings import STATE_ORDER, HeadlineContext

MAX_SUMMARY = 300
"""Characters of status text before the perfdata: what a pager, a mail subject or a dashboard
tile shows. Problems beyond it are counted (``+4 more``); the long output has all of them."""


def fit(parts: list[str], limit: int = MAX_SUMMARY) -> str:
    """The parts joined with ", " as far as they fit in limit, then ``+N more``."""
    text = ""
    for index, part in enumerate(parts):
        candidate = f"{text}, {part}" if text else part
        rest = len(parts) - index - 1
        tail = f", +{rest} more" if rest else ""
        if len(candidate) + len(tail) > limit:
            if not text:  # even the first is too long: cut it, keep the count
                cut = part[: max(limit - len(tail) - 3, 20)] + "..."
                return cut + tail
            return f"{text}, +{len(parts) - index} more"
        text = candidate
    return text


def problems_worst_first(results: nagiosplugin.Results) -> list[nagiosplugin.Result]:
    problems = [result for result in results if result.state != Ok]
    return sorted(problems, key=lambda result: STATE_ORDER[result.state])


class Os4xSummary(nagiosplugin.Summary):
    def ok(self, results: nagiosplugin.Results) -> str:
        headlines = [str(result) for result in results
                     if isinstance(getattr(result.metric, "contextobj", None), HeadlineContext)]
        return fit(headlines) or "all checks passed"

    def problem(self, results: nagiosplugin.Results) -> str:
        return fit([str(result) for result in problems_worst_first(results)])

    def cut(self, results: nagiosplugin.Results) -> bool:
        """Whether the status line left problems out: then the long output lists them all,
        at every verbosity."""
        return fit([str(result) for result in problems_worst_first(results)]) != \
            ", ".join(str(result) for result in problems_worst_first(results))

    def verbose(self, results: nagiosplugin.Results) -> list[str]:
        lines = []
        for result in problems_worst_first(results):
            lines.append(f"{str(result.state).upper()}: {result}")
            advice = getattr(getattr(result.metric, "value", None), "advice", "")
            if advice:
                lines.append(f"  what to do: {advice}")
        return lines
