"""OFTP's ready message on the wire: the parser, on real and hostile buffers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from os4xmon import oftp

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
