"""Listening sockets over NETLINK_SOCK_DIAG: the bytecode, the parser, the real kernel, the plugin.

The port filter is checked against a line-by-line Python copy of the kernel's own bytecode
audit and interpreter (net/ipv4/inet_diag.c: inet_diag_bc_audit, valid_cc, inet_diag_bc_run),
so a filter the kernel would refuse or misread fails here before it fails on a host.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import textwrap

import pytest
from helpers import assert_status, free_port, run_plugin
from hypothesis import given
from hypothesis import strategies as st

from os4xmon.sources import netlink
from os4xmon.sources.netlink import (
    BC_OP,
    MESSAGE,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_HEADER,
    SOCK_DIAG_BY_FAMILY,
    TCP_LISTEN,
    NetlinkError,
    dump_request,
    parse_reply,
    port_filter,
)

# -- the kernel's bytecode rules, in Python --


def _valid_cc(code: bytes, length: int, target: int) -> bool:
    offset = 0
    while length >= 0:
        if target > length:
            return False
        if target == length:
            return True
        _, yes, _ = BC_OP.unpack_from(code, offset)
        if yes < 4 or yes & 3:
            return False
        length -= yes
        offset += yes
    return False


def kernel_audit(code: bytes) -> bool:
    """inet_diag_bc_audit for the ops port_filter uses (S_GE, S_LE, JMP)."""
    offset, length = 0, len(code)
    while length > 0:
        op, yes, no = BC_OP.unpack_from(code, offset)
        min_len = 4
        if op in (netlink.INET_DIAG_BC_S_GE, netlink.INET_DIAG_BC_S_LE):
            min_len += 4
            if length < min_len:
                return False
        elif op != netlink.INET_DIAG_BC_JMP:
            return False
        if no < min_len or no > length + 4 or no & 3:
            return False
        if no < length and not _valid_cc(code, len(code), length - no):
            return False
        if yes < min_len or yes > length + 4 or yes & 3:
            return False
        offset += yes
        length -= yes
    return length == 0


def kernel_run(code: bytes, port: int) -> bool:
    """inet_diag_bc_run: does the filter accept a socket on this local port?"""
    offset, length = 0, len(code)
    while length > 0:
        op, yes, no = BC_OP.unpack_from(code, offset)
        if op == netlink.INET_DIAG_BC_JMP:
            matched = False
        else:
            wanted = BC_OP.unpack_from(code, offset + 4)[2]
            matched = port >= wanted if op == netlink.INET_DIAG_BC_S_GE else port <= wanted
        step = yes if matched else no
        offset += step
        length -= step
    return length == 0


@pytest.mark.unit
@given(st.sets(st.integers(1, 65535), min_size=1, max_size=netlink.MAX_PORTS),
       st.integers(0, 65535))
def test_port_filter_passes_the_kernels_audit_and_accepts_exactly_its_ports(ports, other):
    code = port_filter(ports)
    assert kernel_audit(code)
    for port in ports:
        assert kernel_run(code, port)
    assert kernel_run(code, other) == (other in ports)


@pytest.mark.unit
def test_port_filter_refuses_what_it_cannot_express():
    for bad in ([], [0], [65536], list(range(1, netlink.MAX_PORTS + 2))):
        with pytest.raises(ValueError):
            port_filter(bad)


def test_dump_request_asks_for_tcp_listeners_of_one_family():
    request = dump_request(socket.AF_INET6, {3305, 6619}, 7)
    length, kind, flags, sequence, _ = NLMSG_HEADER.unpack_from(request)
    assert length == len(request) and kind == SOCK_DIAG_BY_FAMILY and sequence == 7
    assert flags == netlink.NLM_F_REQUEST | netlink.NLM_F_DUMP
    family, protocol, _, states, *_ = netlink.REQUEST.unpack_from(request, NLMSG_HEADER.size)
    assert (family, protocol, states) == (socket.AF_INET6, socket.IPPROTO_TCP, 1 << TCP_LISTEN)


# -- replies: built as the kernel builds them, then broken --


def message(kind: int, body: bytes, sequence: int = 1) -> bytes:
    data = NLMSG_HEADER.pack(NLMSG_HEADER.size + len(body), kind, 2, sequence, 0) + body
    return data + b"\0" * (-len(data) % 4)


def listener(port: int, inode: int, family: int = socket.AF_INET,
             address: bytes = b"\x7f\0\0\x01") -> bytes:
    return message(SOCK_DIAG_BY_FAMILY, MESSAGE.pack(
        family, TCP_LISTEN, 0, 0, socket.htons(port), 0, address.ljust(16, b"\0"), b"", 0,
        b"", 0, 0, 0, 0, inode))


def test_parse_reply_reads_listeners_then_done():
    data = listener(3305, 11) + listener(6619, 12, socket.AF_INET6, b"\0" * 16) \
        + message(NLMSG_DONE, b"\0\0\0\0")
    found, done = parse_reply(data, 1)
    assert done
    assert [(s.address, s.port, s.inode) for s in found] == [("127.0.0.1", 3305, 11),
                                                              ("::", 6619, 12)]


@pytest.mark.unit
def test_parse_reply_without_done_asks_for_more():
    assert parse_reply(listener(3305, 11), 1) == ([netlink.Socket("127.0.0.1", 3305, 11)],
                                                  False)


@pytest.mark.unit
@pytest.mark.parametrize("data, words", [
    (listener(3305, 11)[:-3], "bytes in a reply"),
    (listener(3305, 11)[:10], "truncated"),
    (message(SOCK_DIAG_BY_FAMILY, b"\0" * 8), "inet_diag_msg of 8 bytes"),
    (message(NLMSG_ERROR, struct.pack("=i", -1)), "refused: Operation not permitted"),
    (message(NLMSG_ERROR, struct.pack("=i", -(2**31))), "refused"),
    (message(99, b""), "unexpected netlink message type 99"),
    (listener(3305, 11).replace(b"\x01\0\0\0\0\0\0\0", b"\x09\0\0\0\0\0\0\0", 1), "not 1"),
    (NLMSG_HEADER.pack(2, SOCK_DIAG_BY_FAMILY, 0, 1, 0), "message of 2 bytes"),
])
def test_parse_reply_refuses_broken_replies(data, words):
    with pytest.raises(NetlinkError, match=words):
        parse_reply(data, 1)


def test_parse_reply_refuses_a_socket_that_was_not_asked_for():
    established = listener(3305, 11).replace(bytes([socket.AF_INET, TCP_LISTEN]),
                                             bytes([socket.AF_INET, 1]), 1)
    with pytest.raises(NetlinkError, match="state 1 was not asked for"):
        parse_reply(established, 1)


@pytest.mark.unit
@given(st.binary(max_size=600))
def test_parse_reply_on_any_bytes_is_a_result_or_a_netlink_error(data):
    try:
        found, _ = parse_reply(data, 1)
    except NetlinkError:
        return
    assert all(0 <= item.port <= 65535 for item in found)


@pytest.mark.unit
@given(st.integers(0, 400))
def test_parse_reply_on_any_cut_of_a_good_reply(cut):
    data = listener(3305, 11) + listener(6619, 12) + message(NLMSG_DONE, b"\0\0\0\0")
    with contextlib.suppress(NetlinkError):
        parse_reply(data[:cut], 1)


# -- the real kernel --


def test_the_kernel_lists_our_listeners_and_nothing_else():
    with socket.socket() as four, socket.socket(socket.AF_INET6) as six, socket.socket() as idle:
        four.bind(("127.0.0.1", 0))
        four.listen()
        six.bind(("::1", 0))
        six.listen()
        idle.bind(("127.0.0.1", 0))  # bound, not listening
        ports = {four.getsockname()[1], six.getsockname()[1], idle.getsockname()[1]}
        found = netlink.listening(ports, 2.0)
        assert sorted((s.address, s.port) for s in found) == sorted(
            [("127.0.0.1", four.getsockname()[1]), ("::1", six.getsockname()[1])])
        inode = {s.port: s.inode for s in found}[four.getsockname()[1]]
        with open("/proc/net/tcp", encoding="ascii") as table:
            assert f" {inode} " in table.read()


def test_established_connections_are_not_listed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            accepted, _ = server.accept()
            with accepted:
                assert [s.port for s in netlink.listening({port}, 2.0)] == [port]


# -- the plugin: which source, and nothing of /proc/net when netlink answers --

WRAPPER = textwrap.dedent("""
    import socket, sys
    opened = []
    def hook(event, args):
        if event == "open" and isinstance(args[0], str) and args[0].startswith("/proc/net/"):
            opened.append(args[0])
        if event == "socket.__new__" and args[1] == socket.AF_NETLINK and DENY:
            raise PermissionError(1, "Operation not permitted")
    DENY = sys.argv[1] == "deny"
    sys.addaudithook(hook)
    import atexit
    atexit.register(lambda: sys.stderr.write("opened: " + " ".join(opened)))
    from os4xmon.cli.main import main
    main(sys.argv[2:])
""")


def run_wrapped(mode: str, *args: str):
    script = f"import sys; exec({WRAPPER!r})"
    return run_plugin_with(sys.executable, "-c", script, mode, *args)


def run_plugin_with(*command: str):
    import subprocess

    done = subprocess.run(list(command), capture_output=True, text=True, timeout=60,
                          check=False)
    from helpers import PluginRun

    return PluginRun(done.returncode, done.stdout, done.stderr, 0.0)


@pytest.fixture
def ports_site(simulator):
    tcp, tls = free_port(), free_port()
    simulator.start("--port", str(tcp), "--tls-port", str(tls))
    return ("--checks", "ports", "--port", str(tcp), "--tls-port", str(tls))


@pytest.mark.unit
def test_the_port_check_reads_netlink_and_opens_no_proc_net_table(ports_site):
    run = run_wrapped("allow", *ports_site, "-vv")
    assert_status(run, 0, "2 ports listening")
    assert "listening sockets read from netlink (sock_diag)" in run.stdout
    assert run.stderr.strip() == "opened:", run.stderr


def test_where_netlink_is_refused_the_port_check_reads_proc_net(ports_site):
    run = run_wrapped("deny", *ports_site, "-vv")
    assert_status(run, 0, "2 ports listening")
    assert "listening sockets read from /proc/net/tcp and tcp6 (netlink: " in run.stdout
    assert "/proc/net/tcp" in run.stderr
    assert run_plugin(*ports_site).first_line == run.first_line
