"""Linux's ephemeral port range: where any outgoing connection can take a daemon's port.

The kernel gives every outgoing TCP connection a local port from ``net.ipv4.ip_local_port_range``
(32768-60999 by default), skipping only ``net.ipv4.ip_local_reserved_ports``. os4xclientd's
default port, 60000, lies inside: while the daemon is down (a restart, an update), a connection
to the database or to a partner may take the port, and the daemon then fails to bind it. The
port check says so where such a port does not listen, and names the sysctl that prevents it.
"""

from __future__ import annotations

from os4xmon.core.record import dataclass

MAX_BYTES = 64 * 1024  # the reserved list of a sane host is a few dozen bytes


@dataclass(frozen=True)
class EphemeralPorts:
    """The host's ephemeral port range and the ports reserved from it."""

    low: int
    high: int
    reserved: tuple[tuple[int, int], ...] = ()

    def exposes(self, port: int) -> bool:
        """Whether an outgoing connection may be given this port."""
        return self.low <= port <= self.high \
            and not any(first <= port <= last for first, last in self.reserved)

    def reserving(self, port: int) -> str:
        """The value of net.ipv4.ip_local_reserved_ports that adds ``port`` to what is there."""
        kept = [str(first) if first == last else f"{first}-{last}"
                for first, last in self.reserved]
        return ",".join([*kept, str(port)])


def _port(text: str) -> int | None:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 5:
        return None
    number = int(text)
    return number if 0 < number <= 65535 else None


def parse(port_range: str, reserved: str) -> EphemeralPorts | None:
    """The two files' contents (``32768\\t60999``; ``60000,61000-61010``); None where either
    is not what the kernel writes."""
    bounds = port_range.split()
    if len(bounds) != 2:
        return None
    low, high = _port(bounds[0]), _port(bounds[1])
    if low is None or high is None or low > high:
        return None
    ranges: list[tuple[int, int]] = []
    for item in reserved.strip().split(","):
        if not item:
            continue
        first_text, dash, last_text = item.partition("-")
        first = _port(first_text)
        last = _port(last_text) if dash else first
        if first is None or last is None or first > last:
            return None
        ranges.append((first, last))
    return EphemeralPorts(low, high, tuple(ranges))


def read_ephemeral_ports(proc: str = "/proc") -> EphemeralPorts | None:
    """This host's range, or None where it cannot be read (not Linux, a hidden /proc/sys)."""
    texts = []
    for name in ("ip_local_port_range", "ip_local_reserved_ports"):
        try:
            with open(f"{proc}/sys/net/ipv4/{name}", encoding="ascii", errors="replace") as stream:
                texts.append(stream.read(MAX_BYTES))
        except OSError:
            return None
    return parse(*texts)
