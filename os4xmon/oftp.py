"""OFTP's first words on the wire: a pure parser of the ready message.

A listener of OFTP (RFC 5024) speaks first: a 4-byte Stream Transmission Header (version 1,
flags 0, 24-bit big-endian length of the whole buffer) followed by the Start Session Ready
Message ``IODETTE FTP READY `` and a carriage return (0x0D, or 0x8D). That is 23 bytes,
``10 00 00 17 49 4f 44 ...``. ``ready_problem`` says what is wrong with a buffer, already on a
prefix, so that a probe stops reading as soon as the peer cannot be an OFTP listener.
"""

from __future__ import annotations

from os4xmon.text import printable

READY_TEXT = b"IODETTE FTP READY "
"""The command (I) and the 17 characters of the ready message, trailing space included."""
CARRIAGE_RETURNS = (0x0D, 0x8D)
READY_LENGTH = 4 + len(READY_TEXT) + 1  # 23
HEADER = bytes((0x10, 0x00, 0x00, READY_LENGTH))
READY = HEADER + READY_TEXT + b"\r"
"""The ready message exactly as OS4X sends it: what the simulator sends, too."""

SHOWN = 40
"""Characters of a wrong buffer shown in a status line (escaped by text.printable)."""


def ready_problem(buffer: bytes, complete: bool = True) -> str | None:
    """What is wrong with the first bytes a listener sent, or None when they are right.

    With ``complete=False`` the buffer may still grow: a correct prefix is no problem yet, so
    a probe can stop at the first wrong byte instead of waiting for all 23.
    """
    if buffer[:1]:
        version, flags = buffer[0] >> 4, buffer[0] & 0x0F
        if version != 1:
            return f"Stream Transmission Header version {version}, not 1"
        if flags != 0:
            return f"Stream Transmission Header flags {flags:#x}, not 0"
    if len(buffer) >= 4:
        length = int.from_bytes(buffer[1:4], "big")
        if length != READY_LENGTH:
            return f"Stream Transmission Header length {length}, not {READY_LENGTH}"
    text = buffer[4:4 + len(READY_TEXT)]
    if text != READY_TEXT[:len(text)]:
        return f"no {READY_TEXT.decode()!r} after the header"
    if len(buffer) >= READY_LENGTH and buffer[READY_LENGTH - 1] not in CARRIAGE_RETURNS:
        return f"ends with {buffer[READY_LENGTH - 1]:#04x}, not a carriage return"
    if len(buffer) > READY_LENGTH:
        return f"{len(buffer) - READY_LENGTH} bytes more than the ready message"
    if complete and len(buffer) < READY_LENGTH:
        return f"cut short after {len(buffer)} of {READY_LENGTH} bytes"
    return None


def shown(buffer: bytes) -> str:
    """A received buffer as it may appear in output: escaped, quoted and cut short."""
    return f"'{printable(buffer, SHOWN)}'"
