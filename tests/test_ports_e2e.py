"""The port check end to end: the installed check_os4x against the simulator's listeners.

Every test asks the kernel for free ports (bind to port 0) and gives them to the simulator and
to the plugin, so that another OS4X simulator on this machine never answers in our place.
"""

from __future__ import annotations

import nagiosplugin
import pytest
from helpers import assert_status, free_port, run_plugin
from netns import SERVER, two_hosts

pytestmark = pytest.mark.e2e

MARGIN = 1.5  # seconds the plugin may need beyond -t to start and print


@pytest.fixture
def site(simulator, tmp_path):
    """Starts a simulator on free ports; returns (start, plugin arguments, CA file)."""
    tcp, tls = free_port(), free_port()
    ca_file = str(tmp_path / "ca.pem")

    def start(*args: str):
        return simulator.start("--port", str(tcp), "--tls-port", str(tls),
                               "--cert-file", ca_file, *args)

    class Site:
        pass

    site = Site()
    site.start = start  # type: ignore[attr-defined]
    site.tcp, site.tls, site.ca = tcp, tls, ca_file  # type: ignore[attr-defined]
    site.args = ("--checks", "ports", "--port", str(tcp),  # type: ignore[attr-defined]
                 "--tls-port", str(tls))
    return site


def labels(run):
    return sorted(run.perfdata)


PROBE_LABELS = ["oftp2_cert_days", "oftp2_listening", "oftp2_response_time",
                "oftp_listening", "oftp_response_time"]


def test_healthy_ports_with_probe(site):
    simulation = site.start()
    run = run_plugin(*site.args, "--probe", "-v")
    assert_status(run, 0, "2 ports listening, 2 answering")
    assert labels(run) == PROBE_LABELS
    assert run.perfdata["oftp_listening"] == "1" and run.perfdata["oftp2_listening"] == "1"
    assert 0 < run.perf_number("oftp_response_time") < 5
    assert 364 < run.perf_number("oftp2_cert_days") <= 365
    tcp_pid, tls_pid = simulation.pid("os4xrd_tcpip"), simulation.pid("os4xrd_tcpip_tls")
    assert f"held by os4xrd_tcpip pid {tcp_pid}" in run.stdout
    assert f"held by os4xrd_tcpip_tls pid {tls_pid}" in run.stdout
    assert f"port {site.tls}: TLS chain not verified (no --tls-ca)" in run.stdout


def test_listening_only_without_probe(site):
    site.start()
    run = run_plugin(*site.args)
    assert_status(run, 0, "2 ports listening")
    assert labels(run) == ["oftp2_listening", "oftp_listening"]


def test_default_selection_includes_ports(site):
    site.start()
    run = run_plugin("--port", str(site.tcp), "--tls-port", str(site.tls))
    assert_status(run, 0, "4 daemons running", "2 ports listening")


@pytest.mark.parametrize("host", ["::1", "[::1]", "localhost"])
def test_probe_over_ipv6_loopback_with_verified_chain(site, host):
    site.start()
    run = run_plugin(*site.args, "--probe", "--host", host, "--tls-ca", site.ca, "-v")
    assert_status(run, 0, "2 ports listening, 2 answering")
    assert "TLS chain and name verified" in run.stdout
    assert labels(run) == PROBE_LABELS


def test_wrong_name_with_tls_ca(site):
    site.start()
    # 127.0.0.2 is this machine, but not a name the certificate was made for
    run = run_plugin(*site.args, "--host", "127.0.0.2", "--probe", "--tls-ca", site.ca)
    assert_status(run, 2, f"TLS certificate of port {site.tls} not accepted")
    assert "not valid for '127.0.0.2'" in run.summary


def test_remote_host_is_probed_only(simulator, tmp_path):
    """Another host for real: the simulator in one network namespace, the plugin in another."""
    tcp, tls = free_port(), free_port()
    with two_hosts() as hosts:
        simulator.start("--port", str(tcp), "--tls-port", str(tls), prefix=hosts.on_server)
        run = run_plugin("--port", str(tcp), "--tls-port", str(tls), "--host", SERVER, "-v",
                         prefix=hosts.on_client)
    assert_status(run, 0, f"2 ports answering on {SERVER}")
    assert f"{SERVER} is another host: probed only" in run.stdout
    assert labels(run) == ["oftp2_cert_days", "oftp2_response_time", "oftp_response_time"]
    assert "daemons running" not in run.summary


def own_interface_address() -> str | None:
    import ipaddress
    import socket

    import psutil

    for addresses in psutil.net_if_addrs().values():
        for item in addresses:
            if item.family == socket.AF_INET and \
                    not ipaddress.ip_address(item.address).is_loopback:
                return item.address
    return None


@pytest.mark.parametrize("host", ["127.0.1.1", "LOCALHOST", "hostname", "interface",
                                  "::ffff:127.0.0.1"])
def test_this_machine_under_another_name_keeps_the_process_check(host):
    """Local is decided by the addresses --host resolves to, not by a list of spellings: with
    no OS4X running, the process check must still run and say so."""
    import socket

    if host == "hostname":
        host = socket.gethostname()
    elif host == "interface":
        found = own_interface_address()
        if found is None:
            pytest.skip("no non-loopback interface address")
        host = found
    run = run_plugin("--host", host, "--no-tls", "-t", "5", "-vv")
    assert_status(run, 2, "os4xrd")
    assert "host is this machine = yes" in run.stdout
    assert "checks run = processes,ports" in run.stdout


def test_not_listening(site):
    site.start("--port-fault", "os4xrd_tcpip=not-listening")
    run = run_plugin(*site.args, "--probe")
    assert_status(run, 2, f"port {site.tcp} not listening (os4xrd_tcpip should)",
                  f"port {site.tcp} refused the connection")
    assert run.perfdata["oftp_listening"] == "0" and run.perfdata["oftp_response_time"] == "U"
    assert labels(run) == PROBE_LABELS


def test_port_held_by_another_program(site):
    simulation = site.start("--port-fault", "os4xrd_tcpip=foreign")
    run = run_plugin(*site.args)
    assert_status(run, 2, f"port {site.tcp} held by nc pid {simulation.pid('nc')}, "
                  "not os4xrd_tcpip")
    assert run.first_line.startswith(f"OS4X CRITICAL - port {site.tcp} held by nc")


def test_wrong_banner_is_shown_escaped(site):
    site.start("--port-fault", "os4xrd_tcpip=wrong-banner")
    run = run_plugin(*site.args, "--probe", "-v")
    assert_status(run, 2, f"wrong ready message on port {site.tcp}: 'HTTP/1.0 400 Bad!Reques",
                  "Stream Transmission Header version 4, not 1")
    assert "\x1b" not in run.stdout and "\udcff" not in run.stdout
    assert labels(run) == PROBE_LABELS


def test_immediate_close(site):
    site.start("--port-fault", "os4xrd_tcpip=close,os4xrd_tcpip_tls=close")
    run = run_plugin(*site.args, "--probe")
    assert_status(run, 2, f"port {site.tcp} closed the connection at once",
                  f"port {site.tls} closed the connection at once")


@pytest.mark.parametrize("fault", ["os4xrd_tcpip=silent", "os4xrd_tcpip_tls=silent"])
def test_silent_peer_ends_within_the_timeout(site, fault):
    site.start("--port-fault", fault)
    silent = site.tcp if fault.startswith("os4xrd_tcpip=") else site.tls
    run = run_plugin(*site.args, "--probe", "-t", "3")
    assert_status(run, 2, "no ready message within", f"s on port {silent}")
    assert run.seconds < 3 + MARGIN
    assert labels(run) == PROBE_LABELS
    assert run.summary.count("no ready message") == 1  # the other port still answered


def test_tls_handshake_failure_says_why(site):
    site.start("--port-fault", "os4xrd_tcpip_tls=plain")
    run = run_plugin(*site.args, "--probe")
    assert_status(run, 2, f"TLS handshake on port {site.tls} failed: ")
    assert "WRONG_VERSION_NUMBER" in run.summary or "wrong version" in run.summary.lower()
    assert run.perfdata["oftp2_cert_days"] == "U"


def test_expired_certificate(site):
    site.start("--cert-days", "-3")
    run = run_plugin(*site.args, "--probe")
    assert_status(run, 2, f"TLS certificate of port {site.tls} expired 3 days ago")
    assert -3.1 < run.perf_number("oftp2_cert_days") < -2.9


def test_expired_certificate_with_tls_ca(site):
    site.start("--cert-days", "-3")
    run = run_plugin(*site.args, "--probe", "--tls-ca", site.ca)
    assert_status(run, 2, f"TLS certificate of port {site.tls} not accepted: "
                  "certificate has expired")


def test_certificate_not_yet_valid_is_critical(site):
    site.start("--cert-starts-in", "2")
    run = run_plugin(*site.args, "--probe")
    assert_status(run, 2, f"TLS certificate of port {site.tls} not yet valid: from ")
    assert 364 < run.perf_number("oftp2_cert_days") <= 365


@pytest.mark.parametrize(("days", "code"), [("20", 1), ("5", 2), ("40", 0)])
def test_certificate_thresholds(site, days, code):
    site.start("--cert-days", days)
    run = run_plugin(*site.args, "--probe")
    expected = () if code == 0 else (f"TLS certificate of port {site.tls} expires in ",)
    assert_status(run, code, *expected)
    assert run.first_line.count("oftp2_cert_days=") == 1
    assert "oftp2_cert_days=" in run.first_line and ";30:;7:" in run.first_line


def test_response_time_thresholds(site):
    site.start()
    run = run_plugin(*site.args, "--probe", "--response-warning", "0",
                     "--response-critical", "60")
    assert_status(run, 1, f"port {site.tcp} answered in ", f"port {site.tls} answered in ")
    assert labels(run) == PROBE_LABELS


def test_labels_identical_across_states(site, simulator):
    seen = set()
    for faults in ([], ["--port-fault", "os4xrd_tcpip=not-listening"],
                   ["--port-fault", "os4xrd_tcpip_tls=plain", "--cert-days", "2"]):
        site.start(*faults)
        run = run_plugin(*site.args, "--probe", "-t", "4")
        seen.add(tuple(labels(run)))
        simulator.stop_all()
    assert seen == {tuple(PROBE_LABELS)}


def test_enterprise_and_debugd_ports(site):
    clientd, debugd = free_port(), free_port()
    site.start("--enterprise", "--debugd", "--clientd-port", str(clientd),
               "--debugd-port", str(debugd))
    run = run_plugin(*site.args, "--enterprise", "--require-debugd", "--clientd-port",
                     str(clientd), "--debugd-port", str(debugd), "-v")
    assert_status(run, 0, "4 ports listening")
    assert "clientd_listening=1" in run.first_line and "debugd_listening=1" in run.first_line
    assert f"port {clientd} (os4xclientd, given): listening on 127.0.0.1" in run.stdout


def test_enterprise_port_missing(site):
    clientd = free_port()
    site.start("--enterprise", "--clientd-port", str(clientd),
               "--port-fault", "os4xclientd=not-listening")
    run = run_plugin(*site.args, "--enterprise", "--clientd-port", str(clientd), "-v")
    assert_status(run, 2, f"port {clientd} not listening (os4xclientd should)")
    # the kernel gave free_port() this port from its ephemeral range, as it may give it to any
    # outgoing connection: the advice says how to reserve it (os4xclientd's default, 60000,
    # lies in Linux's default range)
    assert f"port {clientd} lies in this host's ephemeral port range" in run.stdout
    assert "sysctl -w net.ipv4.ip_local_reserved_ports=" in run.stdout


def test_unprivileged_user_cannot_verify_owners(site):
    site.start()
    run = run_plugin(*site.args, "-v", user="nobody")
    assert_status(run, 0, "2 ports listening")
    assert f"owners not verified (run as root to see them): port {site.tcp}, port {site.tls}" \
        in run.stdout


def test_unresolvable_host_is_unknown_once(site):
    """Resolved once, before any port: one line naming the host, not one per port."""
    run = run_plugin(*site.args, "--host", "no-such-host.invalid")
    assert_status(run, 3, "--host no-such-host.invalid: ")
    assert run.summary.count("no-such-host.invalid") == 1
    assert len(run.lines) == 1


def test_ssl_is_imported_only_for_the_tls_probe(site):
    site.start()
    verbose = {"PYTHONVERBOSE": "1"}
    without_tls = run_plugin(*site.args, "--no-tls", "--probe", env=verbose)
    with_tls = run_plugin(*site.args, "--probe", env=verbose)
    assert without_tls.code == 0 and with_tls.code == 0
    assert "import 'ssl'" not in without_tls.stderr
    assert "import 'ssl'" in with_tls.stderr


def test_ports_from_the_database_plug_in(site):
    """The ports the database check offers to the host are used, unless given."""
    from os4xmon.checks.ports import Ports
    from os4xmon.cli.assemble import build_check
    from os4xmon.cli.read_settings import parse
    from os4xmon.facts.host import Configured, Host

    site.start()
    settings = parse(["--checks", "ports", "--probe"], environ={})
    host = Host(settings)
    host.offer_configured(Configured({"tcp_port": site.tcp,
                                                 "tcp_port_tls": site.tls}))
    check = build_check(settings, host)
    check()
    assert [str(result) for result in check.results if result.state != nagiosplugin.Ok] == []
    (ports,) = check.resources
    assert isinstance(ports, Ports)
    assert f"port {site.tcp} (os4xrd_tcpip, from the database)" in "\n".join(ports.details)

    settings = parse(["--checks", "ports", "--port", str(free_port())], environ={})
    given = Host(settings)
    given.offer_configured(Configured({"tcp_port": site.tcp,
                                                  "tcp_port_tls": site.tls}))
    check = build_check(settings, given)
    check()
    assert any("not listening" in str(result) for result in check.results)


def test_stopped_receiver_is_one_problem_not_two(site):
    """The process check reports the stopped receiver; its silent port is a detail line."""
    site.start("--missing", "os4xrd_tcpip")
    both = ("--checks", "processes,ports", "--port", str(site.tcp), "--tls-port", str(site.tls))
    run = run_plugin(*both, "--probe", "-v")
    assert_status(run, 2, "os4xrd_tcpip not running")
    assert "not listening" not in run.summary and "refused" not in run.summary
    assert run.summary.count("CRITICAL") <= 1 and run.perfdata["oftp_listening"] == "0"
    assert any(line.endswith("not listening, os4xrd_tcpip not running (reported by the "
                             "process check)") for line in run.lines), run.stdout
    alone = run_plugin(*site.args)
    assert_status(alone, 2, f"port {site.tcp} not listening (os4xrd_tcpip should)")
def test_a_server_that_requires_a_client_certificate(site, tmp_path):
    """Without one: the TLS alert is named, not "closed the connection at once"; with
    --tls-cert/--tls-key the ready message comes."""
    key = str(tmp_path / "key.pem")
    site.start("--port-fault", "os4xrd_tcpip_tls=client-cert", "--key-file", key)
    without = run_plugin(*site.args, "--probe")
    assert_status(without, 2, f"port {site.tls}: the server requires a client certificate")
    assert "closed the connection" not in without.summary
    with_cert = run_plugin(*site.args, "--probe", "--tls-cert", site.ca, "--tls-key", key)
    assert_status(with_cert, 0, "2 ports listening, 2 answering")
    missing = run_plugin(*site.args, "--probe", "--tls-cert", str(tmp_path / "none.pem"))
    assert_status(missing, 3, "--tls-cert")


def test_the_three_socket_sources_agree(site):
    """netlink, /proc/net/tcp{,6} and psutil (the fallbacks where netlink is refused or there
    is no Linux /proc) see the same listeners, held by the same receivers."""
    from os4xmon.sources.listening import (
        NETLINK,
        PSUTIL,
        _from_netlink,
        _from_proc_net,
        read_listeners,
    )
    from os4xmon.sources.proctable import read_process_table

    simulation = site.start()
    ports = {site.tcp, site.tls}
    netlink_entries, _ = _from_netlink(ports, 5)
    proc_net_entries = _from_proc_net(ports, "/proc")
    assert netlink_entries is not None and proc_net_entries is not None
    assert sorted(map(repr, netlink_entries)) == sorted(map(repr, proc_net_entries))
    assert {entry.port for entry in netlink_entries} == ports

    candidates = sorted(read_process_table().processes)
    by_netlink, source = read_listeners(ports, candidates)
    assert source == NETLINK
    by_psutil, source = read_listeners(ports, candidates, proc="/nonexistent")
    assert source == PSUTIL

    def holders(listeners):
        return sorted({(item.port, item.pids) for item in listeners})

    expected = sorted([(site.tcp, (simulation.pid("os4xrd_tcpip"),)),
                       (site.tls, (simulation.pid("os4xrd_tcpip_tls"),))])
    assert holders(by_netlink) == expected
    assert holders(by_psutil) == expected


def test_port_held_by_a_child_of_the_daemon(site):
    """os4xclientd lost its socket to one of its children: held by the right program, but
    not by the instance that should answer."""
    clientd = free_port()
    simulation = site.start("--enterprise", "--clientd-port", str(clientd),
                            "--port-fault", "os4xclientd=child")
    run = run_plugin(*site.args, "--enterprise", "--clientd-port", str(clientd), "-v")
    instance = simulation.pid("os4xclientd")
    child = next(int(line.split("pid ")[1].split(")")[0]) for line in run.lines
                 if line.startswith("CRITICAL: port") and "held by a child" in line)
    assert child != instance
    assert_status(run, 2, f"port {clientd} held by a child of os4xclientd (pid {child}), not by "
                  "its instance")
    assert "restart /opt/os4x/bin/os4xclientd at a quiet moment" in run.stdout
