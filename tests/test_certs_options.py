"""The certs check's options: repeatable files, DURATION, the sources that turn it on."""

from __future__ import annotations

import pytest

from os4xmon.cli.read_settings import UsageError, parse
from os4xmon.core.settings import Settings

pytestmark = pytest.mark.unit


def test_cert_file_and_crl_file_repeat_in_order():
    settings = parse(["--cert-file", "/a.pem", "--crl-file", "/x.crl", "--cert-file=/b/*.der"],
                     environ={})
    assert settings.cert_file == ("/a.pem", "/b/*.der") and settings.crl_file == ("/x.crl",)
    assert "certs" in settings.selected_checks


def test_a_config_key_takes_one_value_and_the_command_line_wins(tmp_path):
    config = tmp_path / "c.ini"
    config.write_text("[check_os4x]\ncert-file = /opt/os4x/cert/*.pem\ncrl-max-age = 2d\n")
    settings = parse(["--config", str(config)], environ={})
    assert settings.cert_file == ("/opt/os4x/cert/*.pem",) and settings.crl_max_age == 172800
    settings = parse(["--config", str(config), "--cert-file", "/x.pem"], environ={})
    assert settings.cert_file == ("/x.pem",)


@pytest.mark.parametrize(("text", "seconds"), [("36h", 129600.0), ("90", 90.0), ("1d", 86400.0)])
def test_crl_max_age_is_a_duration(text, seconds):
    assert parse(["--crl-max-age", text], environ={}).crl_max_age == seconds


@pytest.mark.parametrize("args", [["--crl-max-age", "1w"], ["--crl-max-age", "-1h"],
                                  ["--cert-query", "SELECT 1, 2, 3"],
                                  ["--db-type", "mysql", "--cert-query", "DELETE FROM x"]])
def test_bad_values_are_refused(args):
    with pytest.raises(UsageError):
        parse(args, environ={})


@pytest.mark.parametrize(("changes", "selected"), [
    ({}, False), ({"cert_dir": "/opt/os4x/cert"}, True), ({"crl_file": ("/x",)}, True),
    ({"cert_query": "SELECT 1", "db_type": "mysql"}, True),
])
def test_any_source_turns_the_check_on(changes, selected):
    assert ("certs" in Settings(**changes).selected_checks) is selected
    remote = Settings(host="192.0.2.1", host_is_local=False, **changes)
    assert ("certs" in remote.selected_checks) is selected
