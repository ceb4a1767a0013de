"""Text that comes from the watched system, made safe for a status line, and human durations."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Iterable



def database_text(value: object) -> str:
    """A value from a database row as text: NULL is empty, bytes are decoded so that what is
    not UTF-8 stays visible (``printable`` escapes it as ``\\xff``)."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="surrogateescape")
    return str(value)


_REPLACEMENTS = {"|": "!", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def printable(text: str | bytes, limit: int = 60) -> str:
    """Escapes control and non-UTF-8 characters and ``|`` (which starts perfdata), cut to limit.

    Process titles, database values and banners pass through here before they reach output, so
    that nothing the watched system says can break the status line or forge perfdata.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="surrogateescape")
    if len(text) <= limit and text.isprintable() and "|" not in text and "\\" not in text:
        return text  # the usual case, 20 times faster (2,000 certificates' names: 0.3 s)
    out = []
    for char in text:
        code = ord(char)
        if char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif not char.isprintable():
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    escaped = "".join(out)
    if len(escaped) > limit:
        escaped = escaped[: max(limit - 3, 0)] + "..."
    return escaped


PERF_LABEL_LIMIT = 40


def perf_label(name: str) -> str:
    """A name from the watched system (a partner) as part of a perfdata label that every
    writer keeps as it is: ASCII letters and digits stay, every other character (``-``, ``.``,
    blanks, quotes, ``=``, non-ASCII) becomes ``_``, cut to 40 characters. Graphite splits
    paths at ``.``, Nagios perfdata needs quotes around blanks and cannot hold ``=`` or ``'``,
    InfluxDB and PNP4Nagios replace characters each their own way: with this rule all of them
    keep the same name."""
    safe = "".join(char if char.isascii() and char.isalnum() else "_" for char in name.strip())
    return safe[:PERF_LABEL_LIMIT] or "_"


def duration(seconds: float) -> str:
    """2d 3h, 5h 12m, 4m 2s, 12s, 0.25s: the two largest units, what an admin reads fastest."""
    if seconds < 0:
        seconds = 0.0
    if seconds < 10:
        return f"{seconds:.2g}s" if seconds < 1 else f"{seconds:.1f}s".replace(".0s", "s")
    whole = int(seconds)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size or (parts and len(parts) < 2):
            parts.append(f"{whole // size}{unit}")
            whole %= size
        if len(parts) == 2:
            break
    return " ".join(parts)


def pid_list(pids: Iterable[int]) -> str:
    """'pid 12' or 'pids 12, 40': how pids are named in every message."""
    pids = sorted(pids)
    label = "pid" if len(pids) == 1 else "pids"
    return f"{label} " + ", ".join(str(pid) for pid in pids)


def pids_with_verb(pids: Iterable[int], singular: str, plural_verb: str) -> str:
    """'pid 3 runs' or 'pids 3, 4 run': the verb agrees with the number of pids."""
    pids = list(pids)
    return f"{pid_list(pids)} {singular if len(pids) == 1 else plural_verb}"


def plural(count: int, word: str, plural_word: str = "") -> str:
    return f"{count} {word if count == 1 else (plural_word or word + 's')}"


def limit_text(limit: float) -> str:
    """A threshold as the admin wrote it: 2, not 2.0; 2.5 stays 2.5."""
    return str(int(limit)) if limit == int(limit) else f"{limit:g}"
