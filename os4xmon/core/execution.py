"""Runs the check within its time limit and writes the plugin's output and exit code.

nagiosplugin's Check probes the resources and evaluates the metrics; this module replaces its
Runtime for three reasons: perfdata stays on the first line at every verbosity (nagiosplugin
moves it to the end of the long output with -v), the state ranks CRITICAL above UNKNOWN (so an
unreachable database cannot hide a stopped daemon), and errors and timeouts end in one clean
``OS4X UNKNOWN - ...`` line that says what the plugin was doing, with a traceback only at -vvv.

It also holds the run's one time budget: ``time_left()`` and ``share(steps_left)`` are the only
way any module learns how long it may wait (no other module reads a timer). A timeout inside
an aspect becomes that aspect's UNKNOWN line (aspect.py) and keeps what the others found;
SIGTERM and SIGINT end the run with one line after killing the children it started
(``track_child``); a stdout that cannot be written ends the plugin with 3, silently.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from contextlib import contextmanager, suppress
from types import FrameType

import nagiosplugin
from nagiosplugin.state import ServiceState, Unknown

from os4xmon.core.findings import worst

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Callable, Iterator, NoReturn, Sequence

    from os4xmon.core.outcome import Outcome

    Renderer = Callable[[Outcome], "list[str]"]
    Sink = Callable[[Outcome], "str | None"]


PREFIX = "OS4X"

_phases: list[str] = []
_tracebacks: list[str] = []
_deadline: list[float] = []  # monotonic time of the alarm; set by arm()
_children: set[int] = set()  # process groups of running children (capiinfo), killed on signals


class CheckTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` can swallow it."""

    def __init__(self, phase: str = "checking") -> None:
        super().__init__(phase)
        self.phase = phase  # what the plugin waited for, captured before the stack unwinds


class Interrupted(BaseException):
    """SIGTERM (the scheduler's own timeout) or SIGINT: the run ends with one UNKNOWN line."""

    def __init__(self, signal_name: str, phase: str) -> None:
        super().__init__(signal_name, phase)
        self.signal_name = signal_name
        self.phase = phase


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


# -- the one time budget: every waiting step asks here, no other module reads a timer --


def reserve(timeout: float) -> float:
    """Time kept back from -t after the alarm, for evaluating and writing the result."""
    return min(timeout * 0.1, 0.5)


def time_left() -> float:
    """Seconds until the plugin's alarm (-t minus the reserve for writing the result): the
    whole budget of every waiting step; inf outside a run."""
    return _deadline[-1] - time.monotonic() if _deadline else float("inf")


def share(steps_left: int = 1) -> float:
    """The seconds the next waiting step may take, when steps_left steps (itself included:
    connect, DNS, TLS, query, capiinfo, one address of several) still have to wait.

    A fair part of what is left, minus a small margin so that the step's own clear message
    ("no answer within 2.3s while connecting") comes before the alarm's generic one. Never
    negative; inf outside a run (tests and tools that call the aspects directly).
    """
    left = time_left()
    if left == float("inf"):
        return left
    usable = left - min(0.2, left * 0.1)
    return max(usable, 0.0) / max(steps_left, 1)


def timed_out() -> bool:
    """Whether the alarm has fired (or its time passed): later steps must not start waiting."""
    return time_left() <= 0


def track_child(group: int) -> None:
    """A child process group (started by this run) to kill if the run is stopped by a signal."""
    _children.add(group)


def untrack_child(group: int) -> None:
    _children.discard(group)


def kill_children() -> None:
    """Kills the tracked process groups; each is still unreaped, so its id names nobody else."""
    for group in list(_children):
        with suppress(OSError):
            os.killpg(group, signal.SIGKILL)
        _children.discard(group)


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


_stdout_closed: list[bool] = []


def guard_streams() -> None:
    """Puts /dev/null on a closed stdin, stdout or stderr (``>&-``), before anything is opened.

    Otherwise the first file the plugin opens (the password file) would get descriptor 1 and
    the status line would be written into it; a closed stdout is remembered, to end with 3.
    """
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != descriptor:
                os.dup2(null, descriptor)
                os.close(null)
            if descriptor == 1:
                _stdout_closed.append(True)


def emit(lines: Sequence[str], code: int) -> NoReturn:
    """Writes the output as UTF-8 whatever the locale; a stray undecodable byte is escaped.

    A closed, full or broken stdout (``>&-``, ``/dev/full``, a reader gone: EPIPE) ends the
    plugin with 3 and nothing on stderr: nobody can read the result, and a traceback from the
    interpreter's own final flush would only reach a log as noise.
    """
    _quiet_signals()
    text = "\n".join(lines) + "\n"
    try:
        if _stdout_closed or sys.stdout is None:
            raise OSError("stdout is closed")
        stream = getattr(sys.stdout, "buffer", None)
        if stream is None:  # a replaced stdout (tests): text is all it takes
            sys.stdout.write(text)
        else:
            stream.write(text.encode("utf-8", errors="backslashreplace"))
        sys.stdout.flush()
    except (OSError, ValueError):
        os._exit(Unknown.code)  # no flush at exit: it would fail again, with a traceback
    sys.exit(code)


# -- other output formats (os4xmon.output): the Nagios lines stay the default, unchanged --


_renderer: list[Renderer] = []  # the selected format, when not Nagios's
_sinks: list[Sink] = []  # also written, whatever the format (--textfile-dir)
_aspects: list[str] = []  # the selected aspects, for a failure before any ran


def select_output(renderer: Renderer | None = None, sinks: Sequence[Sink] = (),
                  aspects: Sequence[str] = ()) -> None:
    """Another format than the Nagios lines, and files to write beside it; None: Nagios."""
    _renderer[:] = [renderer] if renderer else []
    _sinks[:] = list(sinks)
    _aspects[:] = list(aspects)


def _write_sinks(outcome: Outcome) -> list[str]:
    """Writes every sink; what went wrong, one line each (the run turns UNKNOWN)."""
    return [problem for problem in (sink(outcome) for sink in _sinks) if problem]


def fail(message: str, verbose: int = 0) -> NoReturn:
    """Ends the plugin with one UNKNOWN line; the traceback only at -vvv."""
    if _renderer or _sinks:
        from os4xmon.core.outcome import failure  # only other formats pay for it

        outcome = failure(message, _aspects)
        _write_sinks(outcome)  # already UNKNOWN: a sink's own trouble changes nothing
        if _renderer:
            emit(_renderer[-1](outcome), Unknown.code)
    lines = [status_line(Unknown, message, ())]
    if verbose >= 3:
        lines.extend(_tracebacks)
        if sys.exc_info()[0] is not None:
            lines.append(traceback.format_exc().rstrip())
    emit(lines, Unknown.code)


# -- signals: the alarm of -t, and the scheduler's SIGTERM --


_timeout: list[float] = []
_previous_alarm_handler: list[Any] = []


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    stopped = current_phase()
    if _timeout:  # a last, short alarm for whatever runs after this one (evaluation)
        signal.setitimer(signal.ITIMER_REAL, max(reserve(_timeout[-1]) - 0.05, 0.01))
    raise CheckTimeout(stopped)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    kill_children()
    raise Interrupted(signal.Signals(signum).name, current_phase())


def handle_signals() -> None:
    """SIGTERM and SIGINT end the run with one line and kill its children (see Interrupted)."""
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


def _quiet_signals() -> None:
    """While the result is written: no alarm, no signal may interrupt it with a traceback."""
    signal.setitimer(signal.ITIMER_REAL, 0)
    for number in (signal.SIGTERM, signal.SIGINT):
        if signal.getsignal(number) is _on_signal:
            signal.signal(number, signal.SIG_IGN)


def arm(timeout: float) -> bool:
    """Starts the one time budget: the alarm fires at -t minus the reserve; False if armed."""
    if _deadline:
        return False
    _previous_alarm_handler[:] = [signal.signal(signal.SIGALRM, _on_alarm)]
    at = max(timeout - reserve(timeout), 0.001)
    _timeout.append(timeout)
    _deadline.append(time.monotonic() + at)
    signal.setitimer(signal.ITIMER_REAL, at)
    return True


def disarm() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)
    if _previous_alarm_handler:
        signal.signal(signal.SIGALRM, _previous_alarm_handler.pop())
    _deadline.clear()
    _timeout.clear()


def timeout_message(stopped: str) -> str:
    """What an aspect that ran out of time says: the step it waited for."""
    limit = f"the {_timeout[-1]:g}s timeout (-t)" if _timeout else "the timeout (-t)"
    return f"no result within {limit} while {stopped}"


def execute(check: nagiosplugin.Check, timeout: float, verbose: int,
            configuration: Sequence[str] = (), warnings: Sequence[str] = ()) -> NoReturn:
    """Runs the check, prints its output and exits with its state's code.

    A timeout outside any aspect (each aspect turns its own into an UNKNOWN line) keeps the
    results collected so far and adds one UNKNOWN line naming what it waited for.
    """
    arm(timeout)
    try:
        check()
    except CheckTimeout as stop:
        check.results.add(nagiosplugin.Result(Unknown, timeout_message(stop.phase)))
        check.perfdata = sorted(str(item) for item in check.perfdata if item)
    except Exception as error:
        remember_traceback()
        fail(f"internal error while {current_phase()}: {type(error).__name__}: {error}",
             verbose)
    finally:
        disarm()

    state = _state(check)
    if _sinks:
        from os4xmon.core.outcome import outcome_of  # only other formats pay for it

        for problem in _write_sinks(outcome_of(check, state, "", warnings)):
            check.results.add(nagiosplugin.Result(Unknown, problem))
        state = _state(check)
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
    elif state != nagiosplugin.Ok and getattr(summary, "cut", lambda results: False)(
            check.results):  # the first line counted problems it could not show
        lines.extend(summary.verbose(check.results))
    if verbose >= 2:
        for resource in check.resources:
            lines.extend(getattr(resource, "debug_details", ()))
        lines.append("configuration:")
        lines.extend(f"  {line}" for line in configuration)
    if verbose >= 3:
        lines.extend(_tracebacks)
    if _renderer:
        from os4xmon.core.outcome import outcome_of  # only other formats pay for it

        emit(_renderer[-1](outcome_of(check, state, " ".join(text.split()), warnings)),
             state.code)
    emit([line.replace("|", "!") if index else line for index, line in enumerate(lines)],
         state.code)


def _state(check: nagiosplugin.Check) -> ServiceState:
    states = [result.state for result in check.results]
    return worst(states) if states else Unknown
