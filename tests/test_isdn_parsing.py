"""The parsers of /proc/capi/controller and capiinfo, on real formats and hostile input."""

from __future__ import annotations

import errno

import pytest
from helpers import FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st
from nagiosplugin.state import Critical, Unknown

from os4xmon.checks.isdn import (
    RUNNING,
    Controller,
    assess,
    choose_source,
    parse_capiinfo,
    parse_controller_file,
)
from os4xmon.core.findings import Finding

pytestmark = pytest.mark.unit

CAPI = FIXTURES / "capi"
PROC = "/proc/capi/controller"


def proc(name: str):
    return parse_controller_file((CAPI / name).read_bytes(), PROC)


def capiinfo(name: str, stderr: str = "", code: int = 0):
    stdout = (CAPI / name).read_bytes() if name else b""
    errors = (CAPI / stderr).read_bytes() if stderr else b""
    return parse_capiinfo(stdout, errors, code)


def test_kernel_lines_of_os4x_md():
    listing = proc("proc_two_running.txt")
    assert listing.failure is None and listing.unreadable == []
    first, second = listing.controllers
    assert first == Controller(1, RUNNING, driver="b1pci", name="b1pci-e000",
                               info="B1 3.07-01 0xe000 19")
    assert (second.number, second.driver, second.state, second.name) == (
        2, "t1isa", RUNNING, "t1isa-450")
    assert second.info == "B1 3.07-01 0x450 11 0"
    assert listing.b_channels is None  # the kernel's list does not report B channels


def test_detected_line_with_dashes_in_its_info():
    second = proc("proc_detected.txt").controllers[1]
    assert (second.number, second.driver, second.state) == (2, "b1pciv4", "detected")
    assert second.info == "- - 0xe400 19 0xea003000 r4"


def test_empty_file_lists_no_controller_and_is_not_unreadable():
    listing = proc("proc_empty.txt")
    assert listing.controllers == [] and listing.unreadable == [] and listing.failure is None


def test_truncated_line_is_unreadable_and_named():
    listing = proc("proc_truncated.txt")
    assert [c.number for c in listing.controllers] == [1]
    assert listing.unreadable == ["line 2 is cut short: '2 t1isa   '"]
    assert listing.failure is None  # controller 1 is still judged


def test_binary_garbage_fails_the_source_with_an_escaped_reason():
    listing = proc("proc_binary.bin")
    assert listing.controllers == []
    assert listing.failure is not None and listing.failure.state == Unknown
    message = listing.failure.message
    assert message.startswith(f"{PROC} is not a CAPI controller list: line 1 ")
    assert "\0" not in message and "\x1b" not in message


def test_control_characters_and_pipes_never_reach_the_output():
    listing = proc("proc_control_chars.txt")
    assert [c.number for c in listing.controllers] == [1]
    (line,) = listing.unreadable
    assert "\x1b" not in line and "|" not in line and line.startswith("line 2 ")


def test_a_controller_listed_twice_is_unreadable():
    listing = proc("proc_duplicate.txt")
    assert [c.number for c in listing.controllers] == [1]
    assert listing.unreadable == ["line 2 lists controller 1 again"]


def test_oversized_input_is_refused():
    listing = parse_controller_file(b"1 b1pci running x y\n" * 50, PROC, limit=100)
    assert listing.failure is not None and "larger than" in listing.failure.message


@pytest.mark.parametrize("line", ["0 b1pci running x", "-1 b1pci running x",
                                  "x1 b1pci running x", "99999 b1pci running x",
                                  "1.0 b1pci running x"])
def test_controller_numbers_must_be_from_1(line):
    listing = parse_controller_file(line.encode() + b"\n", PROC)
    assert listing.controllers == [] and listing.failure is not None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_parse_without_raising_and_decide(data):
    listing = parse_controller_file(data, PROC)
    report = assess(listing, 2, {1: [10], 2: [11]})
    for finding in report.findings:
        assert "\n" not in finding.message and "|" not in finding.message


# -- capiinfo --


def test_capiinfo_of_os4x_md_userspace_capi():
    listing = capiinfo("capiinfo_one_misdn.txt")
    assert listing.failure is None and listing.unreadable == []
    (only,) = listing.controllers
    assert only == Controller(1, RUNNING, manufacturer="mISDN")
    assert only.b_channels is None and listing.b_channels is None


def test_capiinfo_real_output_with_b_channels_and_profile_dump():
    listing = capiinfo("capiinfo_two_avm.txt")
    assert listing.failure is None and listing.unreadable == []
    assert [(c.number, c.manufacturer, c.b_channels) for c in listing.controllers] == [
        (1, "AVM Berlin", 2), (2, "AVM Berlin", 30)]
    assert listing.b_channels == 32
    assert all(c.state == RUNNING and c.driver is None for c in listing.controllers)


def test_capiinfo_cut_short_is_unreadable():
    listing = capiinfo("capiinfo_cut_short.txt")
    assert [c.number for c in listing.controllers] == [1]
    assert listing.unreadable == [
        "it announced 2 controllers but described 1: output cut short?"]


def test_capiinfo_with_no_controller():
    listing = capiinfo("capiinfo_zero.txt")
    assert listing.controllers == [] and listing.failure is None


def test_capi_not_installed_is_critical_with_its_reason():
    listing = capiinfo("", "capiinfo_not_installed.stderr", 2)
    assert listing.failure is not None and listing.failure.state == Critical
    assert listing.failure.message == ("CAPI not installed: No such file or directory (2), "
                                       "says capiinfo")


def test_permission_denied_is_unknown_not_absent_capi():
    listing = capiinfo("", "capiinfo_permission.stderr", 2)
    assert listing.failure is not None and listing.failure.state == Unknown
    assert f"may not open CAPI as this user: Permission denied ({errno.EACCES})" in \
        listing.failure.message


def test_other_failure_is_critical_with_what_it_said():
    listing = capiinfo("", "capiinfo_register.stderr", 1)
    assert listing.failure == Finding(Critical, "capiinfo failed (exit 1): could not register - "
                               "CAPI not installed (0x1009)")


@pytest.mark.parametrize(("name", "phrase"), [
    ("capiinfo_garbage.bin", "printed binary data"),
    ("capiinfo_no_count.txt", "did not print its 'Number of Controllers' line: "
                              "'Controller 1:'"),
    ("", "did not print its 'Number of Controllers' line: no output"),
])
def test_capiinfo_garbage_is_unknown_with_a_clear_reason(name, phrase):
    listing = capiinfo(name)
    assert listing.failure is not None and listing.failure.state == Unknown
    assert phrase in listing.failure.message
    assert "\x1b" not in listing.failure.message and "|" not in listing.failure.message
    assert "\\\\" not in listing.failure.message  # escaped once, not twice
    assert "\ufffd" not in listing.failure.message  # undecodable bytes show as \xff, not lost


def test_capiinfo_hang_overflow_and_signal():
    hung = parse_capiinfo(b"Number of Controllers : 1\n", b"", None, timed_out=True)
    assert hung.failure == Finding(Unknown,
                                   "capiinfo gave no answer in time (killed): CAPI hanging?")
    timed = parse_capiinfo(b"", b"", None, timed_out=True, seconds=3.94)
    assert timed.failure == Finding(Unknown, "capiinfo gave no answer within 3.9s (killed): "
                             "CAPI hanging?")
    big = parse_capiinfo(b"x" * 10, b"", None, overflow=True)
    assert big.failure is not None and "printed more than" in big.failure.message
    killed = parse_capiinfo(b"", b"", -9)
    assert killed.failure == Finding(Unknown, "capiinfo was killed by signal 9")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.binary(max_size=100), st.integers(-15, 255))
def test_any_capiinfo_output_parses_without_raising(stdout, stderr, code):
    listing = parse_capiinfo(stdout, stderr, code)
    report = assess(listing, 1, {})
    assert report.findings or listing.controllers


def test_choose_source():
    assert choose_source("auto", True, "/usr/bin/capiinfo") == "proc"
    assert choose_source("auto", False, "/usr/bin/capiinfo") == "capiinfo"
    assert choose_source("auto", False, None) == "proc"  # reports the missing kernel CAPI
    assert choose_source("capiinfo", True, None) == "capiinfo"
    assert choose_source("proc", False, "/usr/bin/capiinfo") == "proc"


def test_huge_numbers_are_not_numbers():
    digits = "9" * 5000  # int() refuses this many digits on newer Pythons
    listing = parse_capiinfo(f"Number of Controllers : {digits}\n".encode(),
                             f"capi not installed - x ({digits})\n".encode(), 0)
    assert listing.failure is not None and "'Number of Controllers' line" in \
        listing.failure.message
    failed = parse_capiinfo(b"", f"capi not installed - x ({digits})\n".encode(), 2)
    assert failed.failure is not None and failed.failure.message.startswith(
        "capiinfo failed (exit 2): capi not installed - x (999")


def test_undecodable_bytes_are_shown_as_escapes():
    """A byte that is not UTF-8 appears as \\xff in messages, not as a replacement character."""
    listing = parse_controller_file(b"1 b1pci running b1pci-e000 B1\n2 t1\xffisa\n", PROC)
    assert listing.unreadable == ["line 2 '2 t1\\xffisa'"]
    failed = parse_capiinfo(b"", b"capiinfo: no \xfe driver\n", 1)
    assert failed.failure is not None and "no \\xfe driver" in failed.failure.message
    assert "\ufffd" not in failed.failure.message
    unreadable = parse_capiinfo(b"\xff\xfe garbage\n", b"", 0)
    assert unreadable.failure is not None and "'\\xff\\xfe garbage'" in unreadable.failure.message
