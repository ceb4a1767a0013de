"""OFTP on the wire: the ready message and the session commands, on real and hostile buffers."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from os4xmon.wire import oftp

pytestmark = pytest.mark.unit

READY_8D = oftp.READY[:-1] + b"\x8d"


def test_ready_message_is_rfc_5024_on_the_wire():
    assert bytes.fromhex("10000017") + b"IODETTE FTP READY \r" == oftp.READY
    assert len(oftp.READY) == oftp.READY_LENGTH == 23


@pytest.mark.parametrize("buffer", [oftp.READY, READY_8D])
def test_right_ready_message_has_no_problem(buffer):
    assert oftp.ready_problem(buffer) is None


def test_every_prefix_is_fine_while_reading_and_cut_short_at_the_end():
    for size in range(oftp.READY_LENGTH):
        prefix = oftp.READY[:size]
        assert oftp.ready_problem(prefix, complete=False) is None
        assert oftp.ready_problem(prefix) == f"cut short after {size} of 23 bytes"


@pytest.mark.parametrize(("buffer", "problem"), [
    (b"\x20\x00\x00\x17IODETTE FTP READY \r", "version 2, not 1"),
    (b"\x18\x00\x00\x17IODETTE FTP READY \r", "flags 0x8, not 0"),
    (b"\x10\x00\x00\x18IODETTE FTP READY \r", "length 24, not 23"),
    (b"\x10\x01\x00\x17IODETTE FTP READY \r", "length 65559, not 23"),
    (b"\x10\x00\x00\x17IODETTE FTP READY!\r", "no 'IODETTE FTP READY ' after the header"),
    (b"\x10\x00\x00\x17iODETTE FTP READY \r", "no 'IODETTE FTP READY ' after the header"),
    (b"\x10\x00\x00\x17IODETTE FTP READY \n", "ends with 0x0a, not a carriage return"),
    (oftp.READY + b"SSID", "4 bytes more than the ready message"),
    (b"SSH-2.0-OpenSSH_9.6\r\n", "version 5, not 1"),
])
def test_wrong_bytes_are_named(buffer, problem):
    found = oftp.ready_problem(buffer)
    assert found is not None and problem in found
    assert oftp.ready_problem(buffer, complete=False) is not None


def test_first_wrong_byte_stops_reading():
    assert oftp.ready_problem(b"H", complete=False) == \
        "Stream Transmission Header version 4, not 1"
    assert oftp.ready_problem(b"\x10\x00\x00\x17IX", complete=False) is not None


def test_oversized_buffer_of_a_megabyte():
    found = oftp.ready_problem(oftp.READY + b"\0" * 2**20)
    assert found is not None and "more than the ready message" in found


@given(st.binary(max_size=64))
def test_any_buffer_gives_a_sentence_or_none_never_an_exception(buffer):
    problem = oftp.ready_problem(buffer)
    assert (problem is None) == (buffer in (oftp.READY, READY_8D))
    assert problem is None or isinstance(problem, str)
    oftp.ready_problem(buffer, complete=False)


def test_shown_escapes_and_cuts_hostile_bytes():
    text = oftp.shown(b"HTTP/1.0 400 Bad|Request\r\n\x1b[31m\xff" + b"A" * 200)
    assert "|" not in text and "\r" not in text and "\x1b" not in text and "\n" not in text
    assert text.startswith("'HTTP/1.0 400 Bad!Request\\r\\n\\x1b")
    assert len(text) <= oftp.SHOWN + 2 and text.endswith("...'")


# --- a session: SSID and ESID ------------------------------------------------------------

MONITOR = "O0013000000MONIT"

ids = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
              max_size=25)
passwords = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                    min_size=1, max_size=8)


def test_ssid_fields_sit_where_rfc_5024_puts_them():
    command = oftp.encode_ssid(MONITOR, "SECRET")
    assert len(command) == 61
    fields = {  # RFC 5024 section 5.3.2: position, field
        0: b"X", 1: b"5", 2: MONITOR.encode().ljust(25), 27: b"SECRET  ", 35: b"04096",
        40: b"B", 41: b"N", 42: b"N", 43: b"N", 44: b"999", 47: b"N", 48: b"    ",
        52: b"        ", 60: b"\r"}
    for position, value in fields.items():
        assert command[position:position + len(value)] == value, position


def test_ssid_goes_out_in_one_framed_buffer():
    buffer = oftp.frame(oftp.encode_ssid(MONITOR, "SECRET"))
    assert buffer[:4] == bytes((0x10, 0, 0, 65)) and len(buffer) == 65


@given(ids, passwords)
def test_ssid_round_trip(odette_id, password):
    parsed = oftp.parse_answer(oftp.encode_ssid(odette_id, password))
    assert isinstance(parsed, oftp.SessionStart)
    assert (parsed.code, parsed.password, parsed.level) == (odette_id, password, 5)
    assert f"password={password!r}" not in repr(parsed).replace(f"code={odette_id!r}", "")


@pytest.mark.parametrize(("odette_id", "password"), [
    ("O" * 26, "pw"), ("", "pw"), ("O001 MONIT", "pw"), ("O001\x00", "pw"), ("Ö001", "pw"),
    (MONITOR, "123456789"), (MONITOR, ""), (MONITOR, "pass word"), (MONITOR, "pässe"),
])
def test_ssid_refuses_what_does_not_fit_its_fields(odette_id, password):
    with pytest.raises(ValueError) as caught:
        oftp.encode_ssid(odette_id, password)
    assert password not in str(caught.value) or not password


@pytest.mark.parametrize(("reason", "words"), [
    (0, "normal session termination"), (1, "command not recognised"),
    (2, "protocol violation"), (3, "user code not known"), (4, "invalid password"),
    (5, "local site emergency close down"), (6, "command contained invalid data"),
    (7, "exchange buffer size error"), (8, "resources not available"), (9, "time out"),
    (10, "mode or capabilities incompatible"), (11, "invalid challenge response"),
    (12, "secure authentication requirements incompatible"), (99, "unspecified abort code"),
])
def test_esid_reasons_in_the_words_of_rfc_5024(reason, words):
    end = oftp.parse_answer(oftp.encode_esid(reason))
    assert end == oftp.SessionEnd(reason)
    assert end.describe() == f"{words} (ESID {reason:02d})"


def test_esid_on_the_wire():
    assert oftp.frame(oftp.encode_esid()) == b"\x10\x00\x00\x0bF00000\r"
    assert oftp.encode_esid(4, "bad") == b"F04003bad\r"
    assert oftp.parse_answer(b"F04003bad\r") == oftp.SessionEnd(4, "bad")


def test_esid_read_liberally_and_shown_safely():
    assert oftp.parse_answer(b"F04") == oftp.SessionEnd(4)  # no length, no CR: still 04
    assert oftp.parse_answer(b"F04999short\r") == oftp.SessionEnd(4)  # text length lies
    end = oftp.parse_answer(b"F99010|\x1b[31m\xff\n12\r")
    assert isinstance(end, oftp.SessionEnd)
    assert end.reason == 99 and "|" not in end.text and "\x1b" not in end.text
    assert oftp.parse_answer(b"F42000\r").describe() == \
        "a reason code RFC 5024 does not define (ESID 42)"


@pytest.mark.parametrize(("command", "reason", "words"), [
    (b"", 7, "empty"),
    (b"R", 2, "command 'R', not SSID or ESID"),
    (b"I" + b"ODETTE FTP READY \r", 2, "command 'I'"),
    (b"\xff\xfe", 1, "command code 0xff is not OFTP"),
    (b"HTTP/1.0 400", 2, "command 'H'"),  # H is SFID
    (b"Fxx000\r", 6, "ESIDREAS"),
    (b"X5" + b" " * 58 + b"\r", 6, "SSIDSDEB"),
    (oftp.encode_ssid(MONITOR, "pw")[:60], 7, "60 octets, not 61"),
    (oftp.encode_ssid(MONITOR, "pw")[:60] + b"\n", 6, "not a carriage return"),
    (oftp.encode_ssid(MONITOR, "pw").replace(b"BNNN", b"QNNN"), 6, "SSIDSR"),
    (oftp.encode_ssid(MONITOR, "pw").replace(b"999N", b"99xN"), 6, "SSIDCRED"),
    (oftp.encode_ssid(MONITOR, "pw").replace(b"X5", b"X?"), 6, "SSIDLEV"),
    (b"X5" + b"\xff" * 25 + b" " * 33 + b"\r", 6, "SSIDCODE"),
])
def test_wrong_answers_are_named_with_the_esid_they_earn(command, reason, words):
    with pytest.raises(oftp.AnswerError) as caught:
        oftp.parse_answer(command)
    assert caught.value.reason == reason and words in str(caught.value)


def test_an_answer_never_shows_a_password():
    ssid = oftp.encode_ssid("O0013000000OS4X", "THEIRS")
    with pytest.raises(oftp.AnswerError) as caught:
        oftp.parse_answer(ssid.replace(b"NNN", b"NN?"))
    assert "THEIRS" not in str(caught.value)
    assert b"THEIRS" not in oftp.masked(ssid) and b"OURS" not in oftp.masked(b"HOURS", "OURS")
    bad_password = ssid[:27] + b"\xffTHEIRS\xff" + ssid[35:]
    with pytest.raises(oftp.AnswerError, match=r"SSIDPSWD is not ASCII$"):
        oftp.parse_answer(bad_password)


@pytest.mark.parametrize(("header", "problem"), [
    (b"\x10\x00\x00\x05", None),
    (b"\x10\x01\x86\xa3", None),  # 100003: the largest buffer
    (b"\x10\x01\x86\xa4", "length 100004, not 5 to 100003"),
    (b"\x10\xff\xff\xff", "length 16777215"),  # what a 24-bit length can announce at most
    (b"\x10\x00\x00\x04", "length 4"),
    (b"\x20\x00\x00\x41", "version 2, not 1"),
    (b"\x11\x00\x00\x41", "flags 0x1, not 0"),
    (b"\x10\x00\x00", "4 octets, not 3"),
])
def test_stream_transmission_headers(header, problem):
    if problem is None:
        assert oftp.parse_header(header) == int.from_bytes(header[1:], "big") - 4
    else:
        with pytest.raises(ValueError, match=problem):
            oftp.parse_header(header)


@given(st.binary(max_size=1100))
def test_any_answer_is_a_start_an_end_or_an_answer_error(command):
    try:
        answer = oftp.parse_answer(command)
    except oftp.AnswerError as error:
        assert str(error) and error.reason in oftp.ESID_REASONS
        assert "\n" not in str(error) and "|" not in str(error)
    else:
        assert isinstance(answer, (oftp.SessionStart, oftp.SessionEnd))


@given(st.binary(min_size=4, max_size=4))
def test_any_header_gives_a_bounded_length_or_value_error(header):
    with contextlib.suppress(ValueError):
        assert 1 <= oftp.parse_header(header) <= oftp.MAX_EXCHANGE_BUFFER


@given(st.binary(max_size=200), passwords)
def test_masked_answers_never_hold_our_password(command, password):
    assert password.encode() not in oftp.masked(command, password) or \
        password.encode() in b"********"


def test_the_responder_is_described_escaped():
    start = oftp.parse_answer(oftp.encode_ssid("O001|OS4X", "pw", level=4))
    assert start.describe() == "O001!OS4X, protocol level 4 (OFTP 1.4)"
    assert oftp.SessionStart(7, "").describe() == "(no ODETTE ID), protocol level 7 " \
        "(an unknown release)"
