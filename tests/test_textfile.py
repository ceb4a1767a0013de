"""--textfile-dir: the OpenMetrics file as the real prometheus-node-exporter serves it.

The plugin writes DIR/check_os4x.prom (atomically, mode 0644) beside its normal output; a
node_exporter with only the textfile collector, on a free loopback port, reads DIR and is
scraped over HTTP: every sample of the file comes back, and node_exporter reports no error.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from deploy_helpers import free_port, need_program, stop_daemon
from helpers import assert_status, run_plugin
from test_output_formats import families

from os4xmon.core.outcome import failure
from os4xmon.output.textfile import FILE_NAME, write, writer


def scrape(port: int, deadline: float = 20) -> str:
    """/metrics, once node_exporter answers (it starts in well under a second)."""
    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                return str(answer.read().decode("utf-8"))
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def samples(lines: list[str]) -> dict[str, float]:
    """Sample -> value (node_exporter writes 1.7e+09 where we wrote 1700000000.5)."""
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines
            if line and not line.startswith("#")}


@pytest.mark.server
def test_node_exporter_serves_the_textfile(simulator, tmp_path):
    exporter = need_program("prometheus-node-exporter", "prometheus-node-exporter")
    simulator.start("--no-decoys")
    directory = tmp_path / "textfile"
    directory.mkdir()
    run = run_plugin("--checks", "processes,ports", "--textfile-dir", str(directory))
    assert_status(run, 0)  # the Nagios output as ever, the file beside it
    written = directory / FILE_NAME
    assert stat.S_IMODE(written.stat().st_mode) == 0o644
    assert [path.name for path in directory.iterdir()] == [FILE_NAME]  # no temporary left
    text = written.read_text(encoding="utf-8")
    assert text.endswith("# EOF\n")
    port = free_port()
    process = subprocess.Popen(
        [exporter, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
         "--collector.textfile", f"--collector.textfile.directory={directory}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        served = scrape(port)
    finally:
        stop_daemon(process, grace=5)
    assert "node_textfile_scrape_error 0" in served, served
    served_samples = samples(served.splitlines())
    for lines in families(text).values():
        for key, value in samples(lines).items():
            assert served_samples.get(key) == value, f"{key} {value} not served"
    assert 'os4x_check_aspect_state{aspect="ports"} 0' in served
    assert "os4x_check_state 0" in served


@pytest.mark.unit
def test_the_file_is_replaced_whole(tmp_path):
    write(str(tmp_path), "old\n")
    write(str(tmp_path), "new\n")
    assert (tmp_path / FILE_NAME).read_text() == "new\n"
    assert os.listdir(tmp_path) == [FILE_NAME]


@pytest.mark.unit
def test_a_link_in_its_place_is_replaced_not_followed(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("keep\n")
    directory = tmp_path / "textfile"
    directory.mkdir()
    (directory / FILE_NAME).symlink_to(target)
    write(str(directory), "new\n")
    assert target.read_text() == "keep\n"
    assert not (directory / FILE_NAME).is_symlink()


@pytest.mark.unit
def test_a_directory_that_went_away_is_one_line(tmp_path):
    gone = tmp_path / "gone"
    problem = writer(str(gone))(failure("x"))
    assert problem == f"--textfile-dir: cannot write {gone}/{FILE_NAME}: No such file or directory"


@pytest.mark.unit
def test_a_missing_directory_is_a_usage_error(tmp_path):
    run = run_plugin("--checks", "processes", "--textfile-dir", str(tmp_path / "nothing"))
    assert_status(run, 3, "--textfile-dir")
    assert "is not a directory" in run.first_line


@pytest.mark.unit
def test_a_failed_write_turns_the_run_unknown(tmp_path):
    """The cron job that feeds node_exporter must notice: exit 3 and the reason."""
    from output_fixture import check

    from os4xmon.core import execution

    gone = tmp_path / "gone"
    execution.select_output(None, [writer(str(gone))])
    try:
        with pytest.raises(SystemExit) as stop:
            execution.execute(check(problem=False, failing=False), 10.0, 0)
    finally:
        execution.select_output()
    assert stop.value.code == 3


@pytest.mark.unit
def test_a_usage_error_still_writes_the_file(tmp_path):
    """node_exporter then shows state 3 instead of an ever older OK."""
    (tmp_path / FILE_NAME).write_text("os4x_check_state 0\n# EOF\n")
    writer(str(tmp_path))(failure("--port: bad"))
    assert "os4x_check_state 3" in Path(tmp_path / FILE_NAME).read_text()
