"""Bad input gives one UNKNOWN line that says what to fix; the config file and its precedence."""

from __future__ import annotations

import pytest
from helpers import assert_status, run_plugin

from os4xmon.cli.read_settings import UsageError, parse

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("args", "phrase"), [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--isdn-controllers", "two"], "'two' is not a whole number"),
    (["--isdn-controllers", "-1"], "--isdn-controllers"),
    (["--timeout", "0"], "must be more than 0 seconds"),
    (["--timeout", "nan"], "not a finite number"),
    (["--action-age-warning", "abc"], "'abc' is not a duration"),
    (["--timeout", "abc"], "'abc' is not a number of seconds"),
    (["--checks", "processes,cpu"], "unknown check 'cpu'"),
    (["--checks", ","], "names no check"),
    (["--port", "70000"], "not a TCP port"),
    (["--db-prefix", "os4x_; DROP TABLE x"], "not a plain identifier"),
    (["--config", "/nonexistent/os4x.ini"], "cannot read --config /nonexistent/os4x.ini"),
    (["--db-password", "s3cret"], "not accepted on the command line"),
    (["--action-age-warning", "10", "--action-age-critical", "5"], "is above"),
])
def test_bad_input_is_one_unknown_line(args, phrase):
    run = run_plugin(*args)
    assert_status(run, 3, phrase)
    assert len(run.lines) == 1
    assert "s3cret" not in run.stdout + run.stderr


def test_config_file_that_is_not_utf8_is_one_unknown_line(tmp_path):
    config = tmp_path / "bad.ini"
    config.write_bytes(b"\xff\xfe not utf-8")
    quiet = run_plugin("--config", str(config))
    assert_status(quiet, 3, "not UTF-8 text")
    assert len(quiet.lines) == 1


def test_help_and_version():
    help_run = run_plugin("--help")
    assert help_run.code == 0 and "--isdn-controllers" in help_run.stdout
    version = run_plugin("-V")
    assert version.code == 0 and version.stdout.startswith("check_os4x ")


def test_help_has_no_lone_group_and_points_to_the_reference():
    """-h sits in "general" (no group of its own named "options:" before the aspects), the
    help says where every option is shown with an example, and --user says its default."""
    text = run_plugin("--help").stdout
    headings = [line for line in text.splitlines() if line and not line[0].isspace()
                and line.endswith(":")]
    assert headings[0] == "general:" and "options:" not in headings, headings
    assert "man check_os4x" in text and "docs/options.md" in text
    user_help = " ".join(text.split("\n  --user NAME", 1)[1].split("\n  --", 1)[0].split())
    assert "(default: the os4xrd master's user)" in user_help, user_help


def test_config_file_and_command_line_precedence(tmp_path):
    config = tmp_path / "os4x.ini"
    config.write_text("[check_os4x]\nisdn-controllers = 2\nno_tls = yes\nuser = www-data\n"
                      "db-password = from-config\ntimeout = 5\n")
    settings = parse(["--config", str(config), "--isdn-controllers", "1"], environ={})
    assert settings.isdn_controllers == 1  # the command line wins
    assert settings.no_tls is True and settings.user == "www-data"
    assert settings.db_password == "from-config" and settings.timeout == 5
    assert settings.origins["isdn_controllers"] == "command line"
    assert settings.origins["no_tls"] == "config"
    assert "from-config" not in "\n".join(settings.describe())


def test_config_file_errors(tmp_path):
    config = tmp_path / "os4x.ini"
    config.write_text("[other]\nx = 1\n")
    with pytest.raises(UsageError, match="no \\[check_os4x\\] section"):
        parse(["--config", str(config)], environ={})
    config.write_text("[check_os4x]\nwhatever = 1\n")
    with pytest.raises(UsageError, match="unknown key 'whatever'"):
        parse(["--config", str(config)], environ={})
    config.write_text("[check_os4x]\nenterprise = maybe\n")
    with pytest.raises(UsageError, match="enterprise: 'maybe' is not yes or no"):
        parse(["--config", str(config)], environ={})


def test_password_sources(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    assert parse(["--db-password-file", str(secret)], environ={}).db_password == "from-file"
    assert parse([], environ={"OS4X_DB_PASSWORD": "from-env"}).db_password == "from-env"
    assert parse([], environ={"OS4X_DB_PASSWORD": "x"}).origins["db_password"] == "environment"


def test_default_selection_follows_the_site():
    assert parse([], environ={}).selected_checks == ("processes", "ports")
    assert parse(["--isdn-controllers", "1", "--db-type", "mariadb"],
                 environ={}).selected_checks == ("processes", "ports", "database", "isdn")
    assert parse(["--checks", "isdn,processes", "--isdn-controllers", "1"],
                 environ={}).selected_checks == ("processes", "isdn")


def test_secret_files_readable_by_others_give_a_warning_line(tmp_path):
    config = tmp_path / "os4x.ini"
    config.write_text("[check_os4x]\ndb-password = hunter2\n")
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    config.chmod(0o644)
    secret.chmod(0o640)
    run = run_plugin("--checks", "processes", "--config", str(config), "--db-password-file",
                     str(secret), "-v")
    assert f"WARNING: {config} holds the database password (db-password) and is readable by " \
           "group or others (mode 0644): chmod 600 it, owned by the user the plugin runs as" \
        in run.lines
    assert any(line.startswith(f"WARNING: {secret} holds the database password") and "0640"
               in line for line in run.lines)
    assert "hunter2" not in run.stdout
    config.chmod(0o600)
    secret.chmod(0o600)
    quiet = run_plugin("--checks", "processes", "--config", str(config), "--db-password-file",
                       str(secret), "-v")
    assert not any(line.startswith("WARNING: ") for line in quiet.lines)
    plain = tmp_path / "plain.ini"
    plain.write_text("[check_os4x]\nuser = www-data\n")
    plain.chmod(0o644)  # no secret in it: nothing to warn about
    assert not any(line.startswith("WARNING: ") for line in
                   run_plugin("--checks", "processes", "--config", str(plain), "-v").lines)


def test_the_copy_deployable_script_runs_the_same_plugin(tmp_path):
    """check_os4x.py, copied alone into a plugin directory, runs the installed package."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    copy = tmp_path / "check_os4x.py"
    shutil.copy(Path(__file__).parent.parent / "check_os4x.py", copy)
    direct = run_plugin("--checks", "processes", "--bogus")
    copied = subprocess.run([sys.executable, str(copy), "--checks", "processes", "--bogus"],
                            capture_output=True, text=True, check=False, cwd=tmp_path)
    assert copied.returncode == direct.code == 3
    assert copied.stdout == direct.stdout


def test_verbosity_counts_each_word_once():
    from os4xmon.cli.read_settings import verbosity, verbosity_hint

    assert [verbosity(word) for word in ("-v", "-vvv", "--verbose", "-vx", "-", "--v")] == \
        [1, 3, 1, 0, 0, 0]
    assert verbosity_hint(["-v", "--checks", "processes", "-vv"]) == 3
