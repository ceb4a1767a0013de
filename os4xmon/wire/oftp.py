"""OFTP on the wire: pure encoders and parsers of what a probe sends and receives.

A listener of OFTP (RFC 5024) speaks first: a 4-byte Stream Transmission Header (version 1,
flags 0, 24-bit big-endian length of the whole buffer) followed by the Start Session Ready
Message ``IODETTE FTP READY `` and a carriage return (0x0D, or 0x8D). That is 23 bytes,
``10 00 00 17 49 4f 44 ...``. ``ready_problem`` says what is wrong with a buffer, already on a
prefix, so that a probe stops reading as soon as the peer cannot be an OFTP listener.

A session probe goes one step further (RFC 5024 section 5.3): it sends a Start Session (SSID)
as a monitoring partner, reads the responder's SSID or End Session (ESID), and ends with an ESID
of reason 00. ``encode_ssid``, ``encode_esid`` and ``frame`` build what is sent;
``parse_header`` and ``parse_answer`` judge what comes back, every byte of it hostile.
"""

from __future__ import annotations

from os4xmon.core.record import dataclass, field
from os4xmon.core.text import printable

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


# --- a session: Start Session (SSID) and End Session (ESID) ------------------------------

HEADER_LENGTH = 4
MAX_EXCHANGE_BUFFER = 99999
"""RFC 5024 section 8.2: a Stream Transmission Buffer is 5 to 100003 octets, header included."""
SSID_LENGTH = 61
OFTP2_LEVEL = 5
"""SSIDLEV: '5' is OFTP 2.0; the level is negotiated down to the lower of both sides."""
LEVELS = {"1": "OFTP 1.2 or 1.3", "2": "OFTP 1.3", "4": "OFTP 1.4", "5": "OFTP 2.0"}
BUFFER_SIZE = 4096
"""SSIDSDEB sent: the largest Data Exchange Buffer the probe takes (128..99999; never used)."""
CREDIT = 999
"""SSIDCRED sent: the most a responder may answer, so that no credit makes it refuse."""
ESID_MIN_LENGTH = 7  # F, reason (2), text length (3), carriage return
MAX_ANSWER = ESID_MIN_LENGTH + 999
"""The longest answer to a session start: an ESID with 999 octets of reason text."""
ID_LENGTH = 25
PASSWORD_LENGTH = 8

ESID_REASONS = {
    0: "normal session termination",
    1: "command not recognised",
    2: "protocol violation",
    3: "user code not known",
    4: "invalid password",
    5: "local site emergency close down",
    6: "command contained invalid data",
    7: "exchange buffer size error",
    8: "resources not available",
    9: "time out",
    10: "mode or capabilities incompatible",
    11: "invalid challenge response",
    12: "secure authentication requirements incompatible",
    99: "unspecified abort code",
}
"""ESIDREAS, RFC 5024 section 5.3.11 (End Session), in the RFC's words."""

COMMAND_CODES = b"IXHD23C45TFREPNJAS"
"""Every command code of RFC 5024 section 5.2 (SSRM I, SSID X, SFID H, ... AURP S)."""

NORMAL = 0
COMMAND_NOT_RECOGNISED = 1
PROTOCOL_VIOLATION = 2
INVALID_DATA = 6
BUFFER_SIZE_ERROR = 7
TIME_OUT = 9
AUTHENTICATION_INCOMPATIBLE = 12


class AnswerError(ValueError):
    """An answer that is neither a valid SSID nor an ESID; ``reason`` is the ESID it earns."""

    def __init__(self, message: str, reason: int = PROTOCOL_VIOLATION) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SessionStart:
    """A Start Session (SSID), RFC 5024 section 5.3.2. The password is never shown."""

    level: int
    code: str  # SSIDCODE, the sender's ODETTE ID, padding stripped
    password: str = field(default="", repr=False, compare=False)
    buffer_size: int = 0
    send_receive: str = "B"
    compression: bool = False
    restart: bool = False
    special: bool = False
    credit: int = 0
    authentication: bool = False
    user: str = ""

    def describe(self) -> str:
        """The responder as the long output names it (its ID escaped: ``|`` is ASCII too)."""
        level = LEVELS.get(str(self.level), "an unknown release")
        return f"{printable(self.code, ID_LENGTH) or '(no ODETTE ID)'}, protocol level " \
               f"{self.level} ({level})"


@dataclass(frozen=True)
class SessionEnd:
    """An End Session (ESID), RFC 5024 section 5.3.11."""

    reason: int
    text: str = ""  # ESIDREAST, escaped for output

    def describe(self) -> str:
        """'invalid password (ESID 04)': the reason in the RFC's words, and its code."""
        words = ESID_REASONS.get(self.reason, "a reason code RFC 5024 does not define")
        return f"{words} (ESID {self.reason:02d})"


def _alphanumeric(value: str, length: int, what: str) -> bytes:
    """An X(n) field: ASCII, left-justified and padded with spaces (RFC 5024 section 5.3)."""
    if not value or len(value) > length or not value.isascii() or not value.isprintable() \
            or " " in value:
        raise ValueError(f"{what} must be 1 to {length} printable ASCII characters, no spaces")
    return value.encode("ascii").ljust(length, b" ")


def encode_ssid(odette_id: str, password: str, *, buffer_size: int = BUFFER_SIZE,
                credit: int = CREDIT, level: int = OFTP2_LEVEL, authentication: bool = False,
                send_receive: str = "B") -> bytes:
    """The 61-octet SSID command, field by field as in RFC 5024 section 5.3.2.

    ``B`` (send and receive), no buffer compression, no restart, no special logic, no secure
    authentication, reserved and user fields blank: what a partner that only logs in sends.
    """
    if not 128 <= buffer_size <= MAX_EXCHANGE_BUFFER or not 1 <= credit <= 999 \
            or not 0 <= level <= 9 or send_receive not in ("S", "R", "B"):
        raise ValueError("SSID values out of range")
    command = (b"X" + str(level).encode()
               + _alphanumeric(odette_id, ID_LENGTH, "the ODETTE ID")
               + _alphanumeric(password, PASSWORD_LENGTH, "the ODETTE password")
               + f"{buffer_size:05d}".encode() + send_receive.encode() + b"NNN"
               + f"{credit:03d}".encode() + (b"Y" if authentication else b"N")
               + b" " * 4 + b" " * 8 + b"\r")
    assert len(command) == SSID_LENGTH
    return command


def encode_esid(reason: int = NORMAL, text: str = "") -> bytes:
    """An ESID command: F, the reason, the length of the UTF-8 reason text, the text, CR."""
    encoded = text.encode("utf-8")[:999]
    if not 0 <= reason <= 99:
        raise ValueError(f"ESID reason {reason} is not two digits")
    return b"F" + f"{reason:02d}{len(encoded):03d}".encode() + encoded + b"\r"


def frame(command: bytes) -> bytes:
    """A Stream Transmission Buffer: the header (version 1, flags 0, length) and the command."""
    if not 1 <= len(command) <= MAX_EXCHANGE_BUFFER:
        raise ValueError(f"an exchange buffer of {len(command)} octets cannot be sent")
    return bytes((0x10,)) + (len(command) + HEADER_LENGTH).to_bytes(3, "big") + command


def parse_header(header: bytes) -> int:
    """The length of the Exchange Buffer that a 4-octet Stream Transmission Header announces.

    ValueError for a wrong version or flags, or a length outside 5..100003 (RFC 5024 section
    8.2). The caller still decides how much of an allowed length it is willing to read.
    """
    if len(header) != HEADER_LENGTH:
        raise ValueError(f"a Stream Transmission Header has 4 octets, not {len(header)}")
    version, flags = header[0] >> 4, header[0] & 0x0F
    if version != 1:
        raise ValueError(f"Stream Transmission Header version {version}, not 1")
    if flags != 0:
        raise ValueError(f"Stream Transmission Header flags {flags:#x}, not 0")
    length = int.from_bytes(header[1:4], "big")
    if not HEADER_LENGTH + 1 <= length <= MAX_EXCHANGE_BUFFER + HEADER_LENGTH:
        raise ValueError(f"Stream Transmission Header length {length}, not 5 to "
                         f"{MAX_EXCHANGE_BUFFER + HEADER_LENGTH}")
    return length - HEADER_LENGTH


def _digits(command: bytes, start: int, length: int, name: str) -> int:
    value = command[start:start + length]
    if len(value) != length or not value.isdigit():
        raise AnswerError(f"{name} is {printable(value, 12)!r}, not {length} digits",
                          INVALID_DATA)
    return int(value)


def _flag(command: bytes, position: int, name: str, allowed: bytes = b"YN") -> str:
    value = command[position:position + 1]
    if len(value) != 1 or value not in allowed:
        shown_value = printable(value, 8)
        raise AnswerError(f"{name} is {shown_value!r}, not one of {'/'.join(allowed.decode())}",
                          INVALID_DATA)
    return value.decode()


def parse_ssid(command: bytes) -> SessionStart:
    """A Start Session command, every field checked; AnswerError says which one is wrong."""
    if len(command) != SSID_LENGTH:
        raise AnswerError(f"an SSID of {len(command)} octets, not {SSID_LENGTH}",
                          BUFFER_SIZE_ERROR)
    level = _digits(command, 1, 1, "SSIDLEV")
    code = command[2:27]
    if not code.isascii() or not code.decode().isprintable():
        raise AnswerError(f"SSIDCODE {printable(code, 30)!r} is not printable ASCII",
                          INVALID_DATA)
    password = command[27:35]
    if not password.isascii():
        raise AnswerError("SSIDPSWD is not ASCII", INVALID_DATA)  # its value is never shown
    buffer_size = _digits(command, 35, 5, "SSIDSDEB")
    send_receive = _flag(command, 40, "SSIDSR", b"SRB")
    compression, restart, special = (_flag(command, position, name) == "Y" for position, name
                                     in ((41, "SSIDCMPR"), (42, "SSIDREST"), (43, "SSIDSPEC")))
    credit = _digits(command, 44, 3, "SSIDCRED")
    authentication = _flag(command, 47, "SSIDAUTH") == "Y"
    user = command[52:60]
    if command[60] not in CARRIAGE_RETURNS:
        raise AnswerError(f"the SSID ends with {command[60]:#04x}, not a carriage return",
                          INVALID_DATA)
    return SessionStart(level, code.decode().rstrip(" "), password.decode().rstrip(" "),
                        buffer_size, send_receive, compression, restart, special, credit,
                        authentication, printable(user.rstrip(b" "), 8))


def parse_esid(command: bytes) -> SessionEnd:
    """An End Session: its reason, read liberally (RFC 5024: liberal in what is accepted).

    The reason code is all a verdict needs: when the two digits are there, a wrong text length
    or a missing carriage return only drops the reason text.
    """
    reason = _digits(command, 1, 2, "ESIDREAS")
    text = ""
    length_field = command[3:6]
    if length_field.isdigit() and len(length_field) == 3:
        length = int(length_field)
        body = command[6:]
        if len(body) == length + 1 and body[-1] in CARRIAGE_RETURNS:
            text = printable(body[:-1], 120)
    return SessionEnd(reason, text)


def parse_answer(command: bytes) -> SessionStart | SessionEnd:
    """The responder's answer to our SSID: its SSID, its ESID, or AnswerError with the reason
    the probe gives in its own ESID (command not recognised, invalid data, ...)."""
    if not command:
        raise AnswerError("an empty exchange buffer", BUFFER_SIZE_ERROR)
    if command[:1] == b"X":
        return parse_ssid(command)
    if command[:1] == b"F":
        return parse_esid(command)
    first = command[0]
    if first in COMMAND_CODES:  # an OFTP command, but not one that answers a session start
        raise AnswerError(f"command {chr(first)!r}, not SSID or ESID", PROTOCOL_VIOLATION)
    raise AnswerError(f"command code {first:#04x} is not OFTP", COMMAND_NOT_RECOGNISED)


def masked(command: bytes, secret: str = "") -> bytes:
    """A received command safe to show: an SSID's password field and our own secret blanked."""
    if command[:1] == b"X" and len(command) > 27:
        command = command[:27] + b"*" * len(command[27:35]) + command[35:]
    if secret:
        command = command.replace(secret.encode("utf-8", "surrogateescape"), b"********")
    return command



def blanked(command: bytes, secret: str) -> bytes:
    """The command with every copy of our secret starred, at the same length (so that an
    ESID's text length still holds): what the peer sends back never shows the password."""
    if not secret:
        return command
    encoded = secret.encode("utf-8", "surrogateescape")
    return command.replace(encoded, b"*" * len(encoded))
