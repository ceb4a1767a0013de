"""What an OS4X event means for monitoring: pure functions, no I/O.

``end-session PARTNER INDEX ESID-REASON``: reason 00 (normal end) is OK, any other CRITICAL
with the reason decoded as RFC 5024 words it; ``queue-blocked PARTNER [FILE]`` is WARNING (a
send queue entry waits for an admin); ``licence [TEXT]`` is WARNING with OS4X's text (OS4X
only raises it when the licence needs attention). The synchronous ``start-receive`` role is
refused: its exit code accepts or refuses a partner's file, a monitoring hook must not hold it.
"""

from __future__ import annotations

import re

from os4xmon.core.record import dataclass
from os4xmon.core.text import printable
from os4xmon.wire.oftp import ESID_REASONS

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
EVENTS = ("end-session", "queue-blocked", "licence")
SYNCHRONOUS = ("start-receive", "start_receive", "startreceive")
MAX_TEXT = 400


class EventError(ValueError):
    """A call that is no event os4x-event handles: one line for syslog, nothing sent."""


@dataclass(frozen=True)
class Event:
    """A passive check result: its state (0 to 3), text, and the partner it is about (None:
    the OS4X host itself)."""

    state: int
    text: str
    partner: str | None = None


def partner_name(text: str) -> str:
    """The partner's short name, safe in a service name and a Nagios command: characters
    other than letters, digits, space, dot, dash and underscore become ``_``."""
    name = re.sub(r"[^A-Za-z0-9 ._-]", "_", text.strip())[:40]
    if not name.strip(" ._-"):
        raise EventError(f"partner name {printable(text, 40)!r} is empty or unusable")
    return name


def esid_reason(text: str) -> int:
    """An ESID reason code: two ASCII digits (one is taken too)."""
    value = text.strip()
    if not re.fullmatch(r"[0-9]{1,2}", value):
        raise EventError(f"ESID reason {printable(value, 20)!r} is not a two-digit code")
    return int(value)


def end_session(arguments: list[str]) -> Event:
    if len(arguments) < 3:
        raise EventError("end-session needs PARTNER INDEX ESID-REASON")
    partner = partner_name(arguments[0])
    reason = esid_reason(arguments[2])
    words = ESID_REASONS.get(reason, "a reason code RFC 5024 does not define")
    if reason == 0:
        return Event(OK, f"OFTP session with partner {partner} ended normally (ESID 00)", partner)
    return Event(CRITICAL, f"OFTP session with partner {partner} ended with ESID {reason:02d}: "
                           f"{words}", partner)


def queue_blocked(arguments: list[str]) -> Event:
    if not arguments:
        raise EventError("queue-blocked needs PARTNER [FILE]")
    partner = partner_name(arguments[0])
    what = f" (file {printable(arguments[1], 120)})" if len(arguments) > 1 and arguments[1] \
        else ""
    return Event(WARNING, f"send queue entry for partner {partner} blocked{what}: unblock it "
                          "in OS4X once the cause is fixed", partner)


def licence(arguments: list[str]) -> Event:
    text = printable(" ".join(arguments), MAX_TEXT).strip()
    return Event(WARNING, "OS4X licence: " + (text or "OS4X reports a licence event"))


def decode(event: str, arguments: list[str]) -> Event:
    """The Event for OS4X's call; EventError for anything else."""
    name = event.strip().lower()
    if name in SYNCHRONOUS:
        raise EventError("os4x-event must not be OS4X's start-receive script: that script runs "
                         "inside the OFTP session and its exit code accepts or refuses files; "
                         "register os4x-event for end-session, queue-blocked or licence")
    if name == "end-session":
        return end_session(arguments)
    if name == "queue-blocked":
        return queue_blocked(arguments)
    if name == "licence":
        return licence(arguments)
    raise EventError(f"unknown event {printable(event, 30)!r}: one of " + ", ".join(EVENTS))


def service_name(template: str | None, partner: str | None) -> str:
    """The service the result goes to: for a partner event the template (default
    ``OS4X partner {partner}``), for a host event the template unless it names a partner
    (then ``OS4X``)."""
    if partner is None:
        return "OS4X" if template is None or "{partner}" in template else template
    return (template or "OS4X partner {partner}").replace("{partner}", partner)


def one_line(text: str) -> str:
    """No line break, no ``|`` (perfdata), bounded: safe in a command file and the API."""
    return printable(" ".join(text.split()), MAX_TEXT)
