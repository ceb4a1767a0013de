"""The long output's "what to do" lines on database, port and ISDN problems: concrete, with
the pids, ports, files and dates of this host (queue and stop-request advice: their own tests)."""

from __future__ import annotations

import datetime
import re

import pytest
from helpers import assert_status, free_port, run_plugin, write_fixture_lines

from os4xmon.checks import isdn


def advice(run) -> list[str]:
    return [line[len("  what to do: "):] for line in run.lines
            if line.startswith("  what to do: ")]


@pytest.mark.server
def test_stale_pid_says_forced_mode_after_making_sure(simulator, db):
    simulator.start("--no-decoys", *db.simulator_args(), "--missing", "os4xsqd",
                    "--db-stale", "os4xsqd")
    run = run_plugin("--checks", "database", *db.plugin_args(), "-v")
    assert_status(run, 2)
    pid = re.search(r"os4xsqd pid (\d+) saved", run.first_line).group(1)  # type: ignore
    assert advice(run) == [
        "make sure no os4xsqd runs (pgrep -af os4xsqd shows no os4xsqd), then "
        f"start /opt/os4x/bin/os4xsqd in forced mode, which skips the check of the saved pid "
        f"{pid}; afterwards the database must hold the new pid (check_os4x -v)"]


@pytest.mark.server
def test_broken_restart_names_the_pid_to_restart(simulator, db):
    sim = simulator.start("--no-decoys", *db.simulator_args(), "--db-wrong", "os4xrd_tcpip")
    run = run_plugin("--checks", "database", *db.plugin_args(), "-v")
    running = sim.pid("os4xrd_tcpip")
    assert_status(run, 2)
    assert f"the running os4xrd_tcpip (pid {running}) is not the one the database knows" \
        in advice(run)[0]
    assert "start /opt/os4x/bin/os4xrd, in forced mode" in advice(run)[0]


@pytest.mark.server
def test_database_login_refused_says_what_to_check(db):
    db.create()
    run = run_plugin("--checks", "database", *db.plugin_args(), "--db-user", "nobody_here",
                     "-v")
    assert_status(run, 3, "database login refused")
    assert advice(run)[0].startswith("check --db-user and its password")


def test_port_held_by_another_program_names_it(simulator):
    tcp, tls = free_port(), free_port()
    sim = simulator.start("--port", str(tcp), "--tls-port", str(tls),
                          "--port-fault", "os4xrd_tcpip=foreign")
    run = run_plugin("--checks", "ports", "--port", str(tcp), "--tls-port", str(tls), "-v")
    assert_status(run, 2)
    assert advice(run) == [
        f"nc pid {sim.pid('nc')} holds port {tcp}: stop it or move it to another port "
        f"(ss -ltnp 'sport = :{tcp}' shows it), then restart /opt/os4x/bin/os4xrd so that "
        "os4xrd_tcpip listens there"]


def test_port_not_listening_says_which_daemon(simulator):
    tcp, tls = free_port(), free_port()
    simulator.start("--port", str(tcp), "--tls-port", str(tls),
                    "--port-fault", "os4xrd_tcpip_tls=not-listening")
    run = run_plugin("--checks", "ports", "--port", str(tcp), "--tls-port", str(tls), "-v")
    assert_status(run, 2, f"port {tls} not listening")
    assert advice(run)[0].startswith("check that os4xrd_tcpip_tls runs (the process check) and "
                                     f"read its log: it may have failed to bind port {tls}")


@pytest.mark.parametrize(("days", "code"), [("20", 1), ("-3", 2)])
def test_certificate_says_renew_before_the_date(simulator, tmp_path, days, code):
    tcp, tls = free_port(), free_port()
    simulator.start("--port", str(tcp), "--tls-port", str(tls), "--cert-days", days,
                    "--cert-file", str(tmp_path / "ca.pem"))
    run = run_plugin("--checks", "ports", "--port", str(tcp), "--tls-port", str(tls), "--probe",
                     "-v")
    assert_status(run, code)
    end = re.search(r"certificate valid until (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", run.stdout)
    assert end, run.stdout
    ends = datetime.datetime.strptime(end.group(1), "%Y-%m-%d %H:%M")
    expected = datetime.datetime.utcnow() + datetime.timedelta(days=float(days))
    assert abs((ends - expected).total_seconds()) < 2 * 86400
    wanted = (f"renew the TLS certificate of port {tls} before {end.group(1)} UTC" if code == 1
              else f"renew the TLS certificate of port {tls} now (it expired {end.group(1)} UTC)")
    assert any(line.startswith(wanted) for line in advice(run)), run.stdout


def test_isdn_controller_not_running_says_what_to_load(tmp_path):
    capi = write_fixture_lines(tmp_path / "controller", [
        "1 b1pci      running  b1pci-e000       B1 3.07-01 0xe000 19",
        "2 b1pciv4    detected b1pciv4-e400     - - 0xe400 19 0xea003000 r4"])
    run = run_plugin("--checks", "isdn", "--isdn-controllers", "2", "--capi-file", str(capi),
                     "-v")
    assert_status(run, 2, "CAPI controller 2 (b1pciv4) is detected, not running")
    assert "the card of CAPI controller 2 (b1pciv4) is not ready (firmware not loaded?): look " \
        "at dmesg, load its firmware (capiinit) or reload its driver" in advice(run)


def test_every_isdn_failure_has_advice():
    cases = [isdn.parse_capiinfo(b"", b"capi not installed - No such device (19)\n", 2),
             isdn.parse_capiinfo(b"", b"capi not installed - Permission denied (13)\n", 2),
             isdn.parse_capiinfo(b"", b"", 1), isdn.parse_capiinfo(b"x\0y", b"", 0),
             isdn.parse_capiinfo(b"hello", b"", 0),
             isdn.parse_capiinfo(b"", b"", None, timed_out=True, seconds=2.0),
             isdn.parse_controller_file(b"garbage\n", "/proc/capi/controller")]
    for listing in cases:
        assert listing.failure is not None and listing.failure.advice, listing


def test_advice_names_the_binary_directory_and_configuration_checked(simulator, tmp_path):
    """On a parallel installation, "start ..." names --bin-dir's program and -C FILE of
    --os4x-config, never /opt/os4x/bin: the admin must not start the other installation."""
    bin_dir, config = tmp_path / "os4x-b" / "bin", tmp_path / "os4x-b.conf"
    bin_dir.mkdir(parents=True)
    config.write_text("# the second installation's configuration\n")
    simulator.start("--no-decoys", "--bin-dir", str(bin_dir), "--config", str(config),
                    "--missing", "os4xsqd")
    run = run_plugin("--checks", "processes", "--bin-dir", str(bin_dir), "--os4x-config",
                     str(config), "-v")
    assert_status(run, 2, "os4xsqd not running")
    assert advice(run) == [
        f"start it as OS4X does: {bin_dir}/os4xsqd -C {config}; if it refuses because another "
        "daemon must be running, compare the PID saved in OS4X's database (--checks database) "
        "and start it in forced mode once no instance runs"]
    assert "/opt/os4x/bin" not in run.stdout
