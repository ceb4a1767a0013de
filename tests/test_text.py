"""Text from the watched system, made safe for the status line."""

from __future__ import annotations

import pytest

from os4xmon.core.text import duration, printable

pytestmark = pytest.mark.unit


def test_printable_escapes_what_could_break_the_line():
    assert printable("os4xrd|x\ny") == "os4xrd!x\\ny"
    assert printable(b"a\xffb") == "a\\xffb"
    assert printable("a\udcffb") == "a\\xffb"  # psutil's and our decoding of a bad byte
    assert printable("tab\there") == "tab\\there"
    assert printable("\x00\x1b[31m") == "\\x00\\x1b[31m"
    assert printable("\u2028") == "\\u2028"
    assert printable("x" * 100, 10) == "xxxxxxx..."


def test_duration_two_units():
    assert duration(0.25) == "0.25s"
    assert duration(4) == "4s"
    assert duration(42) == "42s"
    assert duration(7200) == "2h 0m"
    assert duration(93784) == "1d 2h"
    assert duration(-5) == "0s"
