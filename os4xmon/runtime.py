"""Runs the check within its time limit and writes the plugin's output and exit code.

nagiosplugin's Check probes the resources and evaluates the metrics; this module replaces its
Runtime for three reasons: perfdata stays on the first line at every verbosity (nagiosplugin
moves it to the end of the long output with -v), the state ranks CRITICAL above UNKNOWN (so an
unreachable database cannot hide a stopped daemon), and errors and timeouts end in one clean
``OS4X UNKNOWN - ...`` line that says what the plugin was doing, with a traceback only at -vvv.
"""

from __future__ import annotations

import signal
import sys
import time
import traceback
from contextlib import contextmanager
from types import FrameType

import nagiosplugin
from nagiosplugin.state import ServiceState, Unknown

from os4xmon.contexts import worst

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Iterator, NoReturn, Sequence


PREFIX = "OS4X"

_phases: list[str] = []
_tracebacks: list[str] = []
_deadline: list[float] = []  # monotonic time at which -t runs out; set by execute()


class CheckTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` can swallow it."""


@contextmanager
def phase(description: str) -> Iterator[None]:
    """Names what the plugin is doing, so that a timeout can say what it waited for."""
    _phases.append(description)
    try:
        yield
    finally:
        _phases.pop()


def current_phase() -> str:
    return _phases[-1] if _phases else "checking"


def time_left() -> float:
    """Seconds until -t runs out (the whole budget of every waiting step); inf outside a run."""
    return _deadline[-1] - time.monotonic() if _deadline else float("inf")


def remember_traceback() -> None:
    """Keeps the current exception's traceback for -vvv."""
    _tracebacks.append(traceback.format_exc().rstrip())


def status_line(state: ServiceState, summary: str, perfdata: Sequence[str]) -> str:
    """``OS4X <STATE> - <summary> | <perfdata>``, with nothing in summary that could break it."""
    text = " ".join(summary.replace("|", "!").split())
    line = f"{PREFIX} {str(state).upper()} - {text}"
    if perfdata:
        line += " | " + " ".join(perfdata)
    return line


def emit(lines: Sequence[str], code: int) -> NoReturn:
    """Writes the output as UTF-8 whatever the locale; a stray undecodable byte is escaped."""
    text = "\n".join(lines) + "\n"
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:  # a replaced stdout (tests): text is all it takes
        sys.stdout.write(text)
    else:
        stream.write(text.encode("utf-8", errors="backslashreplace"))
    sys.stdout.flush()
    sys.exit(code)


def fail(message: str, verbose: int = 0) -> NoReturn:
    """Ends the plugin with one UNKNOWN line; the traceback only at -vvv."""
    lines = [status_line(Unknown, message, ())]
    if verbose >= 3:
        lines.extend(_tracebacks)
        if sys.exc_info()[0] is not None:
            lines.append(traceback.format_exc().rstrip())
    emit(lines, Unknown.code)


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise CheckTimeout()


def execute(check: nagiosplugin.Check, timeout: float, verbose: int,
            configuration: Sequence[str] = (), warnings: Sequence[str] = ()) -> NoReturn:
    """Runs the check, prints its output and exits with its state's code."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        _deadline.append(time.monotonic() + timeout)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        check()
    except CheckTimeout:
        fail(f"no result within the {timeout:g}s timeout (-t) while {current_phase()}", verbose)
    except Exception as error:
        remember_traceback()
        fail(f"internal error while {current_phase()}: {type(error).__name__}: {error}",
             verbose)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    states = [result.state for result in check.results]
    state = worst(states) if states else Unknown
    summary = check.summary
    text: str
    if not check.results:
        text = summary.empty()
    elif state == nagiosplugin.Ok:
        text = summary.ok(check.results)
    else:
        text = summary.problem(check.results)
    lines = [status_line(state, text, check.perfdata)]
    if verbose >= 1:
        lines.extend(summary.verbose(check.results))
        lines.extend(warnings)
        for resource in check.resources:
            lines.extend(getattr(resource, "details", ()))
    if verbose >= 2:
        for resource in check.resources:
            lines.extend(getattr(resource, "debug_details", ()))
        lines.append("configuration:")
        lines.extend(f"  {line}" for line in configuration)
    if verbose >= 3:
        lines.extend(_tracebacks)
    emit([line.replace("|", "!") if index else line for index, line in enumerate(lines)],
         state.code)
