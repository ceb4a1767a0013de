"""The base class of every aspect's Resource: one aspect's failure never aborts the others."""

from __future__ import annotations

import nagiosplugin
from nagiosplugin.state import Unknown

from os4xmon.core.execution import (
    CheckTimeout,
    phase,
    remember_traceback,
    timed_out,
    timeout_message,
)
from os4xmon.core.findings import Finding, finding_metrics
from os4xmon.core.settings import Settings

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Iterator, Sequence


class Aspect(nagiosplugin.Resource):
    """A Resource that never lets an unexpected error of its own abort the other aspects.

    Subclasses implement ``measure()``. Its metrics are collected all at once, so an aspect
    that fails half-way reports UNKNOWN with one line instead of half its perfdata.
    """

    details: Sequence[str] = ()
    """Lines for the long output (-v)."""
    debug_details: Sequence[str] = ()
    """Lines for -vv: how the aspect found what it found (which source it read)."""

    def measure(self) -> Iterator[nagiosplugin.Metric]:
        raise NotImplementedError

    def probe(self) -> list[nagiosplugin.Metric]:
        """The aspect's metrics, or one UNKNOWN finding of this aspect saying why there are
        none (a finding, not nagiosplugin's CheckError, so every output format knows whose
        failure it is)."""
        if timed_out():  # another aspect used up -t: say so rather than wait past it
            return self._failed(f"{self.name} not checked: no time left within -t")
        with phase(f"checking {self.name}"):
            try:
                return list(self.measure())
            except CheckTimeout as stop:  # what the other aspects found is kept
                return self._failed(f"{self.name}: {timeout_message(stop.phase)}")
            except nagiosplugin.CheckError as error:
                return self._failed(str(error))
            except Exception as error:
                remember_traceback()
                return self._failed(
                    f"{self.name} check failed: {type(error).__name__}: {error}")

    def _failed(self, message: str) -> list[nagiosplugin.Metric]:
        return finding_metrics(self.name, [Finding(Unknown, message)])


def query_setup_problem(settings: Settings, query: str | None, option: str,
                        not_configured: str, advice: str) -> Finding | None:
    """Why an aspect that reads an admin's query cannot run it, or None: no query, no
    --db-type, or a query that is not one read-only statement. Each is a misconfiguration,
    UNKNOWN whatever --db-error-state says, and no server sees the query."""
    if not query:
        return Finding(Unknown, not_configured, advice)
    if not settings.db_type:
        return Finding(Unknown, f"{option} needs --db-type and the database's connection "
                       "options", advice)
    from os4xmon.db.rowquery import refusal  # the database modules only where a query is set

    refused = refusal(query.replace("{prefix}", settings.db_prefix), option)
    if refused:
        return Finding(Unknown, refused, "give one SELECT (or WITH ... SELECT) that only reads")
    return None
