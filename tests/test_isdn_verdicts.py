"""The ISDN verdicts: a pure function of the listed controllers and the running receivers."""

from __future__ import annotations

import pytest
from helpers import FIXTURES
from nagiosplugin.state import Critical, Unknown

from os4xmon.checks.isdn import CapiListing, assess, parse_capiinfo, parse_controller_file
from os4xmon.core.findings import Finding

pytestmark = pytest.mark.unit

CAPI = FIXTURES / "capi"
PROC = "/proc/capi/controller"
BOTH = {1: [3774], 2: [3775]}


def proc(name: str) -> CapiListing:
    return parse_controller_file((CAPI / name).read_bytes(), PROC)


def messages(report) -> list[str]:
    return [finding.message for finding in report.findings]


def test_two_running_controllers_with_receivers_are_ok():
    report = assess(proc("proc_two_running.txt"), 2, BOTH)
    assert report.findings == []
    assert (report.found, report.running) == (2, 2)
    assert report.headline == "2 CAPI controllers running"
    assert report.details[:2] == [
        "CAPI controller 1 (b1pci): running b1pci-e000 (B1 3.07-01 0xe000 19); "
        "receiver os4xrd_capi_0 pid 3774",
        "CAPI controller 2 (t1isa): running t1isa-450 (B1 3.07-01 0x450 11 0); "
        "receiver os4xrd_capi_1 pid 3775"]


def test_detected_controller_is_critical_naming_number_driver_and_state():
    report = assess(proc("proc_detected.txt"), 2, BOTH)
    assert report.findings == [
        Finding(Critical, "CAPI controller 2 (b1pciv4) is detected, not running")]
    assert report.running == 1


def test_loading_and_unknown_states_are_critical():
    assert messages(assess(proc("proc_loading.txt"), 2, BOTH)) == [
        "CAPI controller 2 (t1isa) is loading, not running"]
    assert messages(assess(proc("proc_unknown_state.txt"), 1, BOTH)) == [
        "CAPI controller 1 (b1pci) in unknown state '???', not running"]


def test_fewer_controllers_than_expected():
    assert messages(assess(proc("proc_one_running.txt"), 2, BOTH)) == [
        f"CAPI controller 2 missing from {PROC} (1 of 2 expected found)"]
    assert messages(assess(proc("proc_one_running.txt"), 3, BOTH)) == [
        f"CAPI controller {number} missing from {PROC} (1 of 3 expected found)"
        for number in (2, 3)]


def test_no_controller_at_all():
    report = assess(proc("proc_empty.txt"), 2, {})
    assert report.findings == [
        Finding(Critical, f"no CAPI controller found in {PROC} (2 expected)")]
    assert report.details == [f"no CAPI controller listed by {PROC}"]


def test_missing_receiver_is_critical_unless_the_process_check_reports_it():
    alone = assess(proc("proc_two_running.txt"), 2, {1: [3774]})
    assert messages(alone) == [
        "CAPI controller 2 (t1isa) running, but its receiver os4xrd_capi_1 is not running"]
    (finding,) = alone.findings
    assert finding.says_not_running() == "os4xrd_capi_1"  # what it is about, as data
    together = assess(proc("proc_two_running.txt"), 2, {1: [3774]},
                      reported_elsewhere={"os4xrd_capi_1"}.__contains__)
    assert together.findings == []  # the process check says "os4xrd_capi_1 not running"
    assert together.details[1].endswith(
        "receiver os4xrd_capi_1 not running (reported by the process check)")


def test_more_controllers_than_expected_is_ok_and_listed():
    report = assess(proc("proc_three_running.txt"), 2, BOTH)
    assert report.findings == []
    assert report.headline == "3 CAPI controllers running (1 more than the 2 OS4X uses)"
    assert report.details[2].startswith("CAPI controller 3 (c4): running c4-d000")
    assert report.details[2].endswith("; not used by OS4X (--isdn-controllers 2)")


def test_an_unused_controller_that_is_not_running_is_only_listed():
    listing = proc("proc_detected.txt")
    report = assess(listing, 1, BOTH)
    assert report.findings == []
    assert report.details[1].endswith("not used by OS4X (--isdn-controllers 1)")


def test_truncated_file_is_unknown_and_claims_no_missing_controller():
    report = assess(proc("proc_truncated.txt"), 2, BOTH)
    assert report.findings == [
        Finding(Unknown, f"{PROC} unreadable: line 2 is cut short: '2 t1isa   '")]


def test_a_readable_fault_beside_an_unreadable_line_is_still_critical():
    data = (CAPI / "proc_detected.txt").read_bytes() + b"3 x\n"
    report = assess(parse_controller_file(data, PROC), 3, BOTH)
    assert [f.state for f in report.findings] == [Unknown, Critical]
    assert report.findings[1].message == "CAPI controller 2 (b1pciv4) is detected, not running"


def test_many_unreadable_lines_are_counted_not_all_shown():
    data = b"1 b1pci running b1pci-e000 x\n" + b"2 y\n" * 7
    (finding,) = assess(parse_controller_file(data, PROC), 1, BOTH).findings
    assert finding.state == Unknown and finding.message.endswith("; and 4 more")
    data = b"1 b1pci running b1pci-e000 x\n" + b"2 y\n" * 3  # exactly as many as shown
    (finding,) = assess(parse_controller_file(data, PROC), 1, BOTH).findings
    assert "more" not in finding.message


def test_a_line_of_four_words_is_whole_and_a_list_of_the_limit_is_read():
    data = b"1 b1pci running b1pci-e000\n"
    assert [c.number for c in parse_controller_file(data, PROC).controllers] == [1]
    padded = data + b" " * 10
    listing = parse_controller_file(padded, PROC, limit=len(padded))
    assert listing.failure is None and [c.number for c in listing.controllers] == [1]
    assert parse_controller_file(padded, PROC, limit=len(padded) - 1).failure is not None


def test_source_failure_is_the_only_finding():
    listing = parse_capiinfo(b"", b"capi not installed - No such device (19)\n", 2)
    report = assess(listing, 2, {})
    assert report.findings == [
        Finding(Critical, "CAPI not installed: No such device (19), says capiinfo")]
    assert (report.found, report.running) == (0, 0)
    assert report.details == [
        "capiinfo said on stderr: capi not installed - No such device (19)"]


def test_capiinfo_controllers_are_named_by_manufacturer():
    listing = parse_capiinfo((CAPI / "capiinfo_two_avm.txt").read_bytes(), b"", 0)
    report = assess(listing, 2, {1: [3774]})
    assert messages(report) == ["CAPI controller 2 (AVM Berlin) running, but its receiver "
                                "os4xrd_capi_1 is not running"]
    assert report.details[0].startswith("CAPI controller 1 (AVM Berlin): running 2 B channels")


def test_nothing_expected_nothing_found_is_ok():
    report = assess(proc("proc_empty.txt"), 0, {})
    assert report.findings == [] and report.headline == "0 CAPI controllers running"


def test_the_receivers_looked_up_are_those_of_the_running_controllers_os4x_uses():
    """Controllers 1 and 2 of --isdn-controllers 2 (not 3, which OS4X does not use): their
    receivers come from this run's process report."""
    from os4xmon.checks.isdn import Isdn
    from os4xmon.cli import read_settings as options
    from os4xmon.facts.host import Host
    from os4xmon.sources.proctable import ProcessInfo, table_from

    class FixedHost(Host):
        def __init__(self, settings_, table):
            super().__init__(settings_)
            self._table = table

    binary = "/opt/os4x/bin/"
    processes = [ProcessInfo(10, 1, "os4xrd", (binary + "os4xrd",), "root", 1.0, 1)]
    processes += [ProcessInfo(3774 + index, 10, f"os4xrd_capi_{index}",
                              (binary + f"os4xrd_capi_{index}",), "root", 1.0, 1)
                  for index in range(3)]
    settings_ = options.parse(["--checks", "isdn", "--isdn-controllers", "2"], environ={})
    aspect = Isdn(settings_, FixedHost(settings_, table_from(processes, 1000.0)))
    assert aspect.receivers(proc("proc_three_running.txt")) == {1: [3774], 2: [3775]}
    assert aspect.receivers(proc("proc_detected.txt")) == {1: [3774]}  # 2 is not running
