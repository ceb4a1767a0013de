"""Recognising a daemon: the first word of the command line, exactly; never a substring."""

from __future__ import annotations

import pytest

from os4xmon.os4x import daemons

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("cmdline", "comm", "expected"), [
    (("/opt/os4x/bin/os4xrd",), "os4xrd", "os4xrd"),
    (("os4xrd_tcpip" + " " * 40,), "os4xrd", "os4xrd_tcpip"),
    (("os4xrd_tcpip_tls" + "\0" * 20,), "os4xrd", "os4xrd_tcpip_tls"),
    (("os4xrd_capi_0   ", "", ""), "os4xrd", "os4xrd_capi_0"),
    (("os4xrd_capi_12",), "os4xrd", "os4xrd_capi_12"),
    (("/opt/os4x/bin/os4xsqd", "-f"), "os4xsqd", "os4xsqd"),
    (("os4xsqd -f",), "os4xsqd", "os4xsqd"),  # title and arguments in one string
    (("grep", "os4xrd"), "grep", None),
    (("tail", "-f", "/var/log/os4xrd.log"), "tail", None),
    (("vim", "os4xsqd.conf"), "vim", None),
    (("/opt/os4x/bin/os4xrd.bak",), "os4xrd", None),  # comm agrees, command line decides
    (("os4xrd_capi_",), "os4xrd", None),
    (("os4xrd_capi_01",), "os4xrd", None),
    (("os4xrd_tcpipx",), "os4xrd", None),
    ((), "os4xsqd", "os4xsqd"),  # zombie or unreadable: the short name decides
    (None, "os4xrd", "os4xrd"),
    (("", ""), "os4xclientd", "os4xclientd"),
    ((), "os4x_oftp2_offl", "os4x_oftp2_offlinehandling"),  # cut to 15 by the kernel
    ((), "bash", None),
    (("\udcff\udcfe",), "os4xrd", None),  # non-UTF-8 bytes, as psutil decodes them
    (("   ",), "os4xsqd", "os4xsqd"),  # only padding: treated as empty
])
def test_daemon_of(cmdline, comm, expected):
    assert daemons.daemon_of(cmdline, comm) == expected


def test_expected_daemons_follow_the_options():
    assert daemons.expected_daemons(False, 0, False, False) == (
        "os4xrd", "os4xrd_tcpip", "os4xrd_tcpip_tls", "os4xsqd")
    assert daemons.expected_daemons(True, 2, True, True) == (
        "os4xrd", "os4xrd_tcpip", "os4xrd_capi_0", "os4xrd_capi_1", "os4xsqd",
        "os4xclientd", "os4xdebugd")


def test_receivers_are_the_masters_children_only():
    assert daemons.is_receiver("os4xrd_tcpip")
    assert daemons.is_receiver("os4xrd_capi_3")
    assert not daemons.is_receiver("os4xrd")
    assert not daemons.is_receiver("os4xsqd")


@pytest.mark.parametrize(("cmdline", "expected"), [
    (("/opt/os4x/bin/os4xrd",), None),
    (("/opt/os4x/bin/os4xrd", "-C", "/etc/os4x-b.conf"), "/etc/os4x-b.conf"),
    (("/opt/os4x/bin/os4xrd", "-C/etc/os4x-b.conf"), "/etc/os4x-b.conf"),
    (("/opt/os4x/bin/os4xrd", "-C", "/etc/my os4x.conf", "", ""), "/etc/my os4x.conf"),
    (("/opt/os4x/bin/os4xsqd -C /etc/b.conf",), "/etc/b.conf"),  # one rewritten string
    (("/opt/os4x/bin/os4xrd", "-C"), None),  # -C without its file
    (("os4xrd_tcpip" + " " * 30,), None),  # a receiver's rewritten title
    ((), None),
    (None, None),
])
def test_config_of(cmdline, expected):
    assert daemons.config_of(cmdline) == expected


@pytest.mark.parametrize(("cmdline", "expected"), [
    (("/opt/my os4x/bin/os4xrd",), "os4xrd"),
    (("/opt/my os4x/bin/os4xsqd", "-C", "/etc/b.conf"), "os4xsqd"),
    (("/opt/my os4x/bin/os4xrd.bak",), None),
    (("vim /opt/os4x/bin/os4xrd",), None),  # not a path: a program and its argument
])
def test_a_bin_dir_with_spaces_still_names_the_daemon(cmdline, expected):
    assert daemons.daemon_of(cmdline, "os4xrd") == expected


def test_strip_deleted():
    assert daemons.strip_deleted("/opt/os4x/bin/os4xrd (deleted)") == (
        "/opt/os4x/bin/os4xrd", True)
    assert daemons.strip_deleted("/opt/os4x/bin/os4xrd") == ("/opt/os4x/bin/os4xrd", False)


def test_the_fetch_queue_daemon_is_expected_with_its_option():
    assert "os4xfqd" in daemons.expected_daemons(False, 0, False, False, True)
    assert "os4xfqd" not in daemons.expected_daemons(False, 0, False, False)
    assert daemons.is_daemon_name("os4xfqd")
