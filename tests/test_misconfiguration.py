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
