"""The ISDN check: every configured CAPI controller running and served by its receiver.

Two sources list the controllers: kernel CAPI's ``/proc/capi/controller`` (one line each,
``"%d %-10s %-8s %-16s %s"``: number from 1, driver, state, name, driver info) and, for
userspace CAPI (mISDN, remote CAPI), the output of ``capiinfo``. The parsers and the verdict are
pure functions of their input; ``os4xmon.sources.capi`` does the reading and the running.
Receiver ``os4xrd_capi_<n-1>`` serves controller n.
"""

from __future__ import annotations

import errno
import os
import re
import shutil

import nagiosplugin
from nagiosplugin.state import Critical, Unknown

from os4xmon.checks.base import Aspect
from os4xmon.core import execution
from os4xmon.core.findings import Finding, daemon_not_running, finding_metrics, headline, perfdata
from os4xmon.core.record import dataclass, field
from os4xmon.core.settings import Settings
from os4xmon.core.text import pid_list, plural, printable
from os4xmon.os4x import daemons
from os4xmon.sources import capi

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Callable, Iterator, Mapping, Sequence

    from os4xmon.facts.host import Host


RUNNING = "running"
KNOWN_STATES = ("detected", "loading", RUNNING)
SHOWN_UNREADABLE = 3  # unreadable lines named in the first line; the rest are counted


@dataclass(frozen=True)
class Controller:
    """One CAPI controller as a source lists it; None where the source does not say."""

    number: int
    state: str
    driver: str | None = None  # the kernel's list names the driver; capiinfo does not
    name: str | None = None
    info: str | None = None
    manufacturer: str | None = None  # capiinfo only
    b_channels: int | None = None  # capiinfo only

    @property
    def label(self) -> str:
        """'CAPI controller 2 (t1isa)': how every message names a controller."""
        what = self.driver or self.manufacturer
        return f"CAPI controller {self.number}" + (f" ({printable(what, 32)})" if what else "")


@dataclass
class CapiListing:
    """What one source said: the controllers it listed, or why it could not say."""

    source: str  # "/proc/capi/controller" or "capiinfo": named in messages
    controllers: list[Controller] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # lines that are not the format
    failure: Finding | None = None  # the source as a whole failed (absent, hung, garbage)
    notes: list[str] = field(default_factory=list)  # for the long output

    @property
    def b_channels(self) -> int | None:
        """B channels of all controllers; None (not known) when a controller does not report
        them (the kernel's list never does) or the source failed."""
        if self.failure is not None or any(c.b_channels is None for c in self.controllers):
            return None
        return sum(c.b_channels for c in self.controllers if c.b_channels is not None)


# -- parsers: bytes in, CapiListing out; never raise on any input --


def _is_clean(text: str) -> bool:
    return all(char.isprintable() or char == "\t" for char in text) \
        and "\ufffd" not in text


def _quote(line: str) -> str:
    return "'" + printable(line, 40) + "'"


def _controller_number(text: str) -> int | None:
    if re.fullmatch(r"[1-9][0-9]{0,3}", text):
        return int(text)
    return None


NOT_A_LIST = ("check that --capi-file names kernel CAPI's controller list "
              "(/proc/capi/controller), or use --capi-source capiinfo")
CAPI_DOWN = ("OS4X takes no ISDN calls meanwhile: check the card and its driver (lspci, dmesg), "
             "load kernel CAPI and the card's driver (modprobe capi, then the driver; capiinit "
             "where the card needs firmware) or start the userspace CAPI service")
CAPIINFO_OUTPUT = ("run capiinfo by hand as the monitoring user and look at what it prints; "
                   "--capiinfo may name another program")


def parse_controller_file(data: bytes, source: str,
                          limit: int = capi.MAX_BYTES) -> CapiListing:
    """Parses kernel CAPI's controller list; lines that are not its format are unreadable."""
    listing = CapiListing(source)
    if len(data) > limit:
        listing.failure = Finding(
            Unknown, f"{source} is larger than {limit // 1024} KiB: not a CAPI controller list",
            NOT_A_LIST)
        return listing
    text = data.decode("utf-8", errors="surrogateescape")
    seen: set[int] = set()
    for index, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        words = line.split()
        number = _controller_number(words[0])
        if not _is_clean(line) or number is None:
            listing.unreadable.append(f"line {index} {_quote(line)}")
            continue
        if len(words) < 4:
            listing.unreadable.append(f"line {index} is cut short: {_quote(line)}")
            continue
        if number in seen:
            listing.unreadable.append(f"line {index} lists controller {number} again")
            continue
        seen.add(number)
        listing.controllers.append(Controller(
            number, words[2], driver=words[1], name=words[3],
            info=" ".join(words[4:]) or None))
    if listing.unreadable and not listing.controllers:
        listing.failure = Finding(
            Unknown, f"{source} is not a CAPI controller list: {listing.unreadable[0]}",
            NOT_A_LIST)
    return listing


_NOT_INSTALLED = re.compile(r"capi not installed - (.*?)\s*\((-?[0-9]{1,6})\)\s*$",
                            re.IGNORECASE | re.MULTILINE)
_COUNT = re.compile(r"^Number of Controllers\s*:\s*([0-9]{1,5})\s*$", re.MULTILINE)
_HEADER = re.compile(r"^Controller\s+([0-9]+)\s*:\s*$")
_FIELD = re.compile(r"^(Manufacturer|BChannels)\s*:\s?(.*)$")


def _first_line(data: bytes, limit: int = 80) -> str:
    """The first non-blank line, escaped for output: what a message quotes from the source."""
    for line in data.decode("utf-8", errors="surrogateescape").splitlines():
        if line.strip():
            return printable(line.strip(), limit)
    return ""


def parse_capiinfo(stdout: bytes, stderr: bytes, returncode: int | None, *,
                   timed_out: bool = False, overflow: bool = False,
                   seconds: float | None = None, source: str = "capiinfo") -> CapiListing:
    """Parses what capiinfo printed and how it ended.

    capiinfo has no driver state: a controller it lists counts as running. It prints
    ``capi not installed - <reason> (<errno>)`` on stderr and exits 2 without CAPI; a
    permission error there means this user may not open CAPI, not that CAPI is absent.
    """
    listing = CapiListing(source)
    said = _first_line(stderr)
    if said:
        listing.notes.append(f"{source} said on stderr: {said}")
    if timed_out:
        within = f"within {seconds:.1f}s" if seconds is not None else "in time"
        listing.failure = Finding(Unknown, f"{source} gave no answer {within} (killed): "
                                  "CAPI hanging?", "CAPI hangs: look at dmesg for the ISDN "
                                  "card's driver and at the userspace CAPI service; run "
                                  "capiinfo by hand")
        return listing
    if overflow:
        listing.failure = Finding(Unknown, f"{source} printed more than "
                                  f"{capi.MAX_BYTES // 1024} KiB: not capiinfo's output",
                                  CAPIINFO_OUTPUT)
        return listing
    assert returncode is not None
    missing = _NOT_INSTALLED.search(stderr.decode("utf-8", errors="surrogateescape"))
    if returncode < 0:
        listing.failure = Finding(Unknown, f"{source} was killed by signal {-returncode}",
                                  CAPIINFO_OUTPUT)
        return listing
    if missing and returncode != 0:
        reason = printable(missing.group(1), 60)
        code = int(missing.group(2))
        if code in (errno.EACCES, errno.EPERM):
            listing.failure = Finding(Unknown, f"{source} may not open CAPI as this user: "
                                      f"{reason} ({code})", "let the monitoring user open "
                                      "/dev/capi20 (its group), or run the check through "
                                      "sudo (contrib/sudoers)")
        else:
            listing.failure = Finding(Critical, f"CAPI not installed: {reason} ({code}), "
                                      f"says {source}", CAPI_DOWN)
        return listing
    if returncode != 0:
        listing.failure = Finding(Critical, f"{source} failed (exit {returncode})"
                                  + (f": {said}" if said else ""), CAPIINFO_OUTPUT)
        return listing
    _parse_capiinfo_stdout(stdout, listing)
    return listing


def _parse_capiinfo_stdout(stdout: bytes, listing: CapiListing) -> None:
    source = listing.source
    if b"\0" in stdout:
        listing.failure = Finding(Unknown, f"{source} printed binary data, not capiinfo's "
                                  f"output: '{_first_line(stdout, 40)}'", CAPIINFO_OUTPUT)
        return
    text = stdout.decode("utf-8", errors="surrogateescape")
    count = _COUNT.search(text)
    if count is None:
        first = _first_line(stdout)
        listing.failure = Finding(Unknown, f"{source} did not print its 'Number of Controllers' "
                                  "line: " + (f"'{first}'" if first else "no output"),
                                  CAPIINFO_OUTPUT)
        return
    announced = int(count.group(1))
    blocks: dict[int, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text[count.end():].splitlines():
        header = _HEADER.match(line)
        if header:
            number = _controller_number(header.group(1))
            if number is None or number in blocks:
                listing.unreadable.append(f"{_quote(line)} (twice or out of range)")
                current = None
                continue
            current = blocks[number] = {}
            continue
        found = _FIELD.match(line)
        if found and current is not None and found.group(1) not in current:
            current[found.group(1)] = found.group(2).strip()
    for number, values in sorted(blocks.items()):
        channels = values.get("BChannels", "")
        listing.controllers.append(Controller(
            number, RUNNING, manufacturer=values.get("Manufacturer") or None,
            b_channels=int(channels) if re.fullmatch(r"[0-9]{1,5}", channels) else None))
    if len(blocks) < announced:
        listing.unreadable.append(f"it announced {announced} controllers but described "
                                  f"{len(blocks)}: output cut short?")


# -- the verdict: pure --


@dataclass
class IsdnReport:
    """The ISDN check's result: findings, long output and the numbers for perfdata."""

    listing: CapiListing
    expected: int
    findings: list[Finding] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def found(self) -> int:
        return len(self.listing.controllers)

    @property
    def running(self) -> int:
        return sum(1 for c in self.listing.controllers if c.state == RUNNING)

    @property
    def headline(self) -> str:
        text = f"{plural(self.running, 'CAPI controller')} running"
        extra = self.running - min(self.running, self.expected)
        return text + (f" ({extra} more than the {self.expected} OS4X uses)" if extra else "")


def _describe(controller: Controller) -> str:
    parts = [controller.label + ":", printable(controller.state, 20)]
    if controller.name:
        parts.append(printable(controller.name, 32))
    if controller.info:
        parts.append(f"({printable(controller.info, 60)})")
    if controller.b_channels is not None:
        parts.append(f"{controller.b_channels} B channels")
    return " ".join(parts)


def assess(listing: CapiListing, expected: int, receivers: Mapping[int, Sequence[int]],
           reported_elsewhere: Callable[[str], bool] = lambda daemon: False,
           start: Callable[[str], str] = daemons.start_command) -> IsdnReport:
    """Decides the verdicts from what the source listed and which receivers run; no I/O.

    receivers maps a controller number to the pids of its receiver os4xrd_capi_<n-1>. A
    receiver the process check of this run already reports as not running
    (``reported_elsewhere``, i.e. ``Host.reported_not_running``) is not reported again.
    """
    report = IsdnReport(listing, expected)
    source = listing.source
    if listing.failure is not None:
        report.findings.append(listing.failure)
        report.details.extend(listing.notes)
        return report
    unreadable = listing.unreadable
    if unreadable:
        shown = "; ".join(unreadable[:SHOWN_UNREADABLE])
        more = len(unreadable) - SHOWN_UNREADABLE
        report.findings.append(Finding(
            Unknown, f"{source} unreadable: {shown}" + (f"; and {more} more" if more > 0 else ""),
            NOT_A_LIST))
    by_number = {c.number: c for c in listing.controllers}

    if expected and not by_number and not unreadable:
        report.findings.append(Finding(
            Critical, f"no CAPI controller found in {source} ({expected} expected)",
            f"{CAPI_DOWN}; if the host has fewer cards now, set --isdn-controllers"))
    elif not unreadable:  # an unreadable line may be the controller: say nothing false
        present = sum(1 for number in range(1, expected + 1) if number in by_number)
        for number in range(1, expected + 1):
            if number not in by_number:
                report.findings.append(Finding(
                    Critical, f"CAPI controller {number} missing from {source} "
                    f"({present} of {expected} expected found)",
                    f"os4xrd_capi_{number - 1} has no line to answer on: {CAPI_DOWN}"))

    for controller in listing.controllers:
        used = controller.number <= expected
        line = _describe(controller)
        if controller.state != RUNNING:
            if used:
                known = controller.state in KNOWN_STATES
                state = printable(controller.state, 20)
                report.findings.append(Finding(
                    Critical, f"{controller.label} is {state}, not running" if known else
                    f"{controller.label} in unknown state {state!r}, not running",
                    f"the card of {controller.label} is not ready (firmware not loaded?): "
                    "look at dmesg, load its firmware (capiinit) or reload its driver"))
            report.details.append(line + ("" if used else
                                          f"; not used by OS4X (--isdn-controllers {expected})"))
            continue
        if not used:
            report.details.append(f"{line}; not used by OS4X (--isdn-controllers {expected})")
            continue
        receiver = daemons.capi_receiver(controller.number - 1)
        pids = receivers.get(controller.number, ())
        if pids:
            report.details.append(f"{line}; receiver {receiver} {pid_list(pids)}")
        elif reported_elsewhere(receiver):
            report.details.append(f"{line}; receiver {receiver} not running (reported by the "
                                  "process check)")
        else:
            report.findings.append(Finding(
                Critical, f"{controller.label} running, but its receiver {receiver} "
                "is not running", f"os4xrd starts {receiver} for controller "
                f"{controller.number}: read os4xrd's log and restart {start(receiver)} at a "
                "quiet moment", daemon_not_running(receiver)))
            report.details.append(f"{line}; receiver {receiver} not running")
    if not listing.controllers:
        report.details.append(f"no CAPI controller listed by {source}")
    report.details.extend(listing.notes)
    return report


# -- choosing the source, at the edge --


def choose_source(wanted: str, file_exists: bool, capiinfo: str | None) -> str:
    """'proc' or 'capiinfo': auto takes the kernel's file where it exists."""
    if wanted != "auto":
        return wanted
    return "proc" if file_exists or capiinfo is None else "capiinfo"


def read_listing(settings: Settings) -> CapiListing:
    """Reads the chosen source within the time left; every failure becomes a CapiListing."""
    capiinfo = settings.capiinfo or shutil.which("capiinfo")
    source = choose_source(settings.capi_source, os.path.exists(settings.capi_file), capiinfo)
    if source == "proc":
        path = settings.capi_file
        try:
            with execution.phase(f"reading {path}"):
                data = capi.read_controller_file(path)
        except capi.SourceError as error:
            if error.missing:
                hint = " and capiinfo is not on PATH (--capiinfo)" \
                    if settings.capi_source == "auto" else ""
                return CapiListing(path, failure=Finding(
                    Critical, f"no CAPI: {error}: kernel CAPI not loaded{hint}",
                    f"{CAPI_DOWN}; with userspace CAPI use --capi-source capiinfo"))
            return CapiListing(path, failure=Finding(Unknown, str(error), NOT_A_LIST))
        return parse_controller_file(data, path)
    if capiinfo is None:
        return CapiListing("capiinfo", failure=Finding(
            Unknown, "capiinfo not found on PATH: install it or give --capiinfo PATH",
            "install capiinfo (Debian: capiutils) or give --capiinfo PATH"))
    budget = execution.share()  # the run's one budget; inf outside a run (tools, tests)
    budget = budget if budget != float("inf") else settings.timeout
    try:
        with execution.phase(f"waiting for {capiinfo}"):
            run = capi.run_capiinfo(capiinfo, budget)
    except capi.SourceError as error:
        return CapiListing("capiinfo", failure=Finding(Unknown, str(error), CAPIINFO_OUTPUT))
    listing = parse_capiinfo(run.stdout, run.stderr, run.returncode, timed_out=run.timed_out,
                             overflow=run.overflow, seconds=run.seconds)
    listing.notes.append(f"capiinfo: {capiinfo}, {run.seconds:.2f}s")
    return listing


class Isdn(Aspect):
    """The CAPI controllers OS4X receives on, and their receivers."""

    name = "isdn"

    def __init__(self, settings: Settings, host: Host) -> None:
        self.settings = settings
        self.host = host
        self.details: list[str] = []

    def receivers(self, listing: CapiListing) -> dict[int, list[int]]:
        """Pids of the receiver of every running controller OS4X uses, from the process
        check's report of this run (``Host.process_report``)."""
        expected = self.settings.isdn_controllers
        wanted = [c.number for c in listing.controllers
                  if c.state == RUNNING and c.number <= expected]
        if not wanted:
            return {}
        report = self.host.process_report()
        return {number: [p.pid for p in report.of(daemons.capi_receiver(number - 1))]
                for number in wanted}

    def measure(self) -> Iterator[nagiosplugin.Metric]:
        listing = read_listing(self.settings)
        receivers = self.receivers(listing) if listing.failure is None else {}
        settings = self.settings
        report = assess(listing, settings.isdn_controllers, receivers,
                        self.host.reported_not_running,
                        daemons.start_commands(settings.bin_dir, settings.os4x_config))
        self.details = report.details
        failed = listing.failure is not None  # nothing was counted: U, not 0
        yield from finding_metrics(self.name, report.findings)
        yield perfdata("capi_controllers_found", None if failed else report.found)
        yield perfdata("capi_controllers_running", None if failed else report.running)
        yield perfdata("capi_b_channels", listing.b_channels)
        yield headline(self.name, report.headline)


def build(settings: Settings, host: Host) -> list[nagiosplugin.Resource]:
    """The resource of the ISDN check (its contexts are the shared ones)."""
    return [Isdn(settings, host)]

