"""Names and connections within a time budget: DNS that cannot hang, several addresses that
share one budget, and whether ``--host`` is this machine.

``getaddrinfo`` blocks inside the C library, where neither a socket timeout nor the plugin's
alarm reaches it (a dead name server: 5 s per try, times the tries, times the servers). So it
runs in a daemon thread that is waited for no longer than the budget; a thread still waiting
when the plugin exits dies with it. A name is resolved once per run: the local-host decision
and every probe share the answer (and its error, which is then reported once).
"""

from __future__ import annotations

import socket

from os4xmon.core.text import printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, List, Tuple, Union

    Address = Tuple[int, Any]  # (family, sockaddr)
    Answer = Union[List[Address], OSError]


class NameTimeout(socket.gaierror):
    """The name service did not answer within the budget."""


_answers: dict[str, Answer] = {}


def bare(host: str) -> str:
    """An IPv6 literal may come in brackets (``[::1]``); the socket layer wants it without."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _literal(host: str) -> list[Address] | None:
    import ipaddress

    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if address.version == 4:
        return [(socket.AF_INET, (host, 0))]
    return [(socket.AF_INET6, (host, 0, 0, 0))]


def resolve(host: str, seconds: float) -> list[Address]:
    """The addresses of host (deduplicated, in the resolver's order), within seconds.

    Raises socket.gaierror (NameTimeout when the name service stays silent). IP literals are
    answered without the resolver.
    """
    name = bare(host)
    literal = _literal(name)
    if literal is not None:
        return literal
    if name in _answers:
        answer = _answers[name]
        if isinstance(answer, OSError):
            raise answer
        return answer
    import threading

    box: dict[str, Answer] = {}

    def lookup() -> None:
        try:
            found = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
            unique: list[Address] = []
            for family, _, _, _, sockaddr in found:
                if (family, sockaddr) not in unique:
                    unique.append((family, sockaddr))
            box["answer"] = unique
        except OSError as error:
            box["answer"] = error
        except ValueError as error:  # IDNA: an empty label (a..b) or one over 63 characters
            reason = printable(str(error.__cause__ or error), 80)
            box["answer"] = socket.gaierror(socket.EAI_NONAME,
                                            f"not a valid host name ({reason})")

    worker = threading.Thread(target=lookup, name="getaddrinfo", daemon=True)
    worker.start()
    worker.join(max(seconds, 0.0))
    if "answer" not in box:  # still waiting: not remembered, a later step may have more time
        raise NameTimeout(socket.EAI_AGAIN,
                          f"no answer from the name service within {seconds:.1f}s")
    answer = box["answer"]
    if isinstance(answer, OSError) and not isinstance(answer, socket.gaierror):
        answer = socket.gaierror(socket.EAI_FAIL, str(answer))
    _answers[name] = answer
    if isinstance(answer, OSError):
        raise answer
    if not answer:
        raise socket.gaierror(socket.EAI_NONAME, "the name has no address")
    return answer


def _own_addresses() -> set[str]:
    """Every address of this machine's interfaces (without an IPv6 zone)."""
    import psutil

    own: set[str] = set()
    try:
        interfaces = psutil.net_if_addrs()
    except (OSError, psutil.Error):
        return own
    for addresses in interfaces.values():
        for item in addresses:
            if item.family in (socket.AF_INET, socket.AF_INET6) and item.address:
                own.add(item.address.split("%", 1)[0].lower())
    return own


def is_own_address(text: str, own: set[str]) -> bool:
    """Whether an address is this machine: loopback (all of 127.0.0.0/8, ::1, and their
    IPv4-mapped forms), unspecified (0.0.0.0 and :: connect here), or an interface's."""
    import ipaddress

    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_loopback or address.is_unspecified or str(address) in own \
        or text.split("%", 1)[0].lower() in own


def is_local(host: str, seconds: float) -> bool:
    """Whether host names this machine: every address it resolves to is one of its own.

    By its addresses, not by its spelling: ``127.0.1.1``, ``LOCALHOST``, the host name and
    an interface's address are all this machine. Raises socket.gaierror when the name does
    not resolve within seconds.
    """
    name = bare(host).rstrip(".")
    if name.lower() in (socket.gethostname().lower(), "localhost"):
        return True
    addresses = resolve(name, seconds)
    cheap = all(is_own_address(sockaddr[0], set()) for _, sockaddr in addresses)
    if cheap:
        return True
    own = _own_addresses()
    return all(is_own_address(sockaddr[0], own) for _, sockaddr in addresses)


def connect(host: str, port: int, seconds: float) -> socket.socket:
    """A TCP connection to host:port within seconds in all: name resolution and every address
    tried share them (each address gets a fair part of what is left, so a silent first
    address cannot take the whole budget from the second).

    Raises socket.gaierror, ConnectionRefusedError, socket.timeout or OSError as
    socket.create_connection does.
    """
    import time

    started = time.monotonic()
    addresses = resolve(host, seconds)
    last: OSError | None = None
    for index, (family, sockaddr) in enumerate(addresses):
        left = seconds - (time.monotonic() - started)
        if left <= 0:
            break
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(left / (len(addresses) - index))
        try:
            sock.connect((sockaddr[0], port, *sockaddr[2:]))
        except OSError as error:
            sock.close()
            last = error
            continue
        sock.settimeout(None)
        return sock
    if last is None:
        raise socket.timeout("timed out")
    raise last
