"""Misconfiguration is UNKNOWN with one line saying what to fix, never a false state: a
--bin-dir or --os4x-config that does not exist here, an inline comment in an INI value."""

from __future__ import annotations

import pytest
from helpers import assert_status, run_plugin

from os4xmon.cli.read_settings import UsageError, parse


@pytest.mark.parametrize(("flag", "value", "phrase"), [
    ("--bin-dir", "/opt/os4x/bni", "--bin-dir /opt/os4x/bni does not exist on this host"),
    ("--os4x-config", "/etc/os4x-typo.conf",
     "--os4x-config /etc/os4x-typo.conf does not exist on this host"),
    ("--bin-dir", "/etc/hostname", "--bin-dir /etc/hostname is not a directory"),
    ("--os4x-config", "/etc", "--os4x-config /etc is not a file"),
])
def test_an_installation_path_that_is_not_there_is_unknown(flag, value, phrase):
    run = run_plugin("--checks", "processes", flag, value)
    assert_status(run, 3, phrase)
    assert len(run.lines) == 1


def test_on_another_host_the_paths_are_not_looked_for():
    """--host elsewhere: the binary directory is that host's, not this one's."""
    run = run_plugin("--checks", "processes", "--bin-dir", "/opt/os4x/bni", "--host", "192.0.2.1",
                     "-t", "2")
    assert "does not exist" not in run.stdout


def config(tmp_path, body: str) -> str:
    path = tmp_path / "check.ini"
    path.write_text("[check_os4x]\n" + body)
    path.chmod(0o600)
    return str(path)


@pytest.mark.unit
@pytest.mark.parametrize("line", [
    "bin-dir = /opt/os4x/bin   # where OS4X lives",
    "bin-dir = /opt/os4x/bin\t; where OS4X lives",
    "bin-dir=/opt/os4x/bin #",
])
def test_an_inline_comment_is_not_part_of_the_value(tmp_path, line):
    settings = parse(["--config", config(tmp_path, line + "\ntimeout = 9 # seconds\n")],
                     environ={})
    assert settings.bin_dir == "/opt/os4x/bin"
    assert settings.timeout == 9


@pytest.mark.unit
def test_a_hash_without_a_blank_before_it_stays():
    """user=www-data#2 is no comment (only a blank followed by # or ; starts one)."""
    from os4xmon.cli.read_settings import _without_comment

    assert _without_comment("user", "www#data", "x.ini") == "www#data"
    assert _without_comment("user", "# all of it", "x.ini") == ""


@pytest.mark.unit
def test_a_password_with_a_blank_and_hash_is_refused_without_showing_it(tmp_path):
    path = config(tmp_path, "db-password = s3cret # or is it\n")
    with pytest.raises(UsageError) as caught:
        parse(["--config", path], environ={})
    assert "db-password holds a blank followed by '#'" in str(caught.value)
    assert "s3cret" not in str(caught.value) and "or is it" not in str(caught.value)


def encrypted_key_pair(tmp_path, traditional: bool = False) -> tuple[str, str]:
    import subprocess

    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=monitor",
                    "-passout", "pass:secret"], check=True, capture_output=True)
    if traditional:  # "Proc-Type: 4,ENCRYPTED" instead of PKCS#8
        subprocess.run(["openssl", "rsa", "-in", str(key), "-passin", "pass:secret",
                        "-aes128", "-traditional", "-passout", "pass:secret", "-out",
                        str(key)], check=True, capture_output=True)
    key.chmod(0o600)
    return str(cert), str(key)


@pytest.mark.parametrize("traditional", [False, True], ids=["pkcs8", "traditional"])
def test_an_encrypted_tls_key_is_unknown_at_once_even_on_a_terminal(tmp_path, traditional):
    """On a terminal OpenSSL asked for the pass phrase and waited for the alarm."""
    import shlex
    import subprocess
    import sys
    import time
    from pathlib import Path

    cert, key = encrypted_key_pair(tmp_path, traditional)
    plugin = str(Path(sys.executable).parent / "check_os4x")
    command = shlex.join([plugin, "--checks", "ports", "--probe", "--tls-cert", cert,
                          "--tls-key", key, "-t", "8"])
    started = time.monotonic()
    done = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL, check=False)
    assert time.monotonic() - started < 4, done.stdout
    assert done.returncode == 3, done.stdout
    assert done.stdout.startswith(f"OS4X UNKNOWN - --tls-key {key}: the key is encrypted"), \
        done.stdout
    assert "Enter PEM pass phrase" not in done.stdout  # OpenSSL's own prompt


@pytest.mark.unit
def test_the_probe_never_asks_for_a_pass_phrase(tmp_path):
    """Past the option check (Settings built in code): the TLS context refuses, no prompt."""
    from os4xmon.wire.probe import _tls_context

    cert, key = encrypted_key_pair(tmp_path)
    with pytest.raises(OSError, match="the key is encrypted"):
        _tls_context(None, (cert, key))
