"""Aspects with fixed findings, perfdata and details: the same run for every output format.

Every kind of thing a renderer meets is here: a problem with advice, an OK finding, perfdata
with thresholds, minimum and maximum, a value that could not be measured (``U``), units, a
headline, long-output details, and an aspect that failed (its one UNKNOWN line).
"""

from __future__ import annotations

from typing import Iterator

import nagiosplugin
from nagiosplugin.state import Ok, Warn

from os4xmon.checks.base import Aspect
from os4xmon.core.findings import Finding, finding_metrics, headline, perfdata, shared_contexts
from os4xmon.core.statusline import Os4xSummary


class Fixed(Aspect):
    """One aspect whose measure() yields what it was given."""

    def __init__(self, name: str, findings: list[Finding], metrics: list[nagiosplugin.Metric],
                 phrase: str, details: tuple[str, ...] = (), fails: str = "") -> None:
        super().__init__()
        self.aspect = name
        self.findings = findings
        self.metrics = metrics
        self.phrase = phrase
        self.details = details
        self.fails = fails

    @property
    def name(self) -> str:  # type: ignore[override]  # nagiosplugin's is a plain attribute
        return self.aspect

    def measure(self) -> Iterator[nagiosplugin.Metric]:
        if self.fails:
            raise RuntimeError(self.fails)
        yield from finding_metrics(self.name, self.findings)
        yield from self.metrics
        yield headline(self.name, self.phrase)


def aspects(problem: bool = True, failing: bool = True) -> list[Aspect]:
    """processes (a WARNING with advice when problem), queue (OK), ports (fails when failing)."""
    processes = Fixed(
        "processes",
        [Finding(Warn, "os4xsqd action pid 4711 runs for 2h", "look at pid 4711")]
        if problem else [],
        [perfdata("os4xrd", 1, critical="1:1"),
         perfdata("oldest_action_age", 7200.5, "s", warning="3600", critical="14400"),
         perfdata("master_uptime", None, "s", warning="600:"),
         perfdata("os4x_rss", 52428800, "B")],
        "7 daemons running", ("os4xrd pid 100 running since 2026-12-01",))
    queue = Fixed(
        "queue", [Finding(Ok, "send queue empty")],
        [perfdata("queue_new", 0), perfdata("queue_oldest_age", 0, "s", warning="3600",
                                            critical="14400")],
        "0 entries pending in the send queue", ("send queue, partner ACME: new 0",))
    ports = Fixed("ports", [], [perfdata("oftp_listening", 1, minimum=0, maximum=1)],
                  "2 ports listening", fails="port table unreadable" if failing else "")
    return [processes, queue, ports]


def check(problem: bool = True, failing: bool = True) -> nagiosplugin.Check:
    return nagiosplugin.Check(*aspects(problem, failing), *shared_contexts(), Os4xSummary())
