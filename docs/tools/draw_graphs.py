#!/usr/bin/env python3
"""Draws docs/images/graphs.png: the dashboard's panels, from perfdata of the simulator.

The simulator plays an hour of an OS4X host, one plugin run per "minute": healthy, then
os4xsqd stopped for ten minutes, a zombie action for ten, healthy again; the plugin runs with
``--checks processes,ports --probe`` each time, and its perfdata is drawn in the panels of
contrib/grafana (the same families, so the picture shows what the dashboard shows).
Needs matplotlib, which the plugin does not (a throw-away venv: pip install matplotlib .):

    python docs/tools/draw_graphs.py
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TOP = Path(__file__).resolve().parents[2]
OUT = TOP / "docs" / "images" / "graphs.png"
PANELS = ("Daemon instances", "Actions, zombies, replaced binaries", "Response and session times",
          "TLS certificate days left", "Listening ports", "Memory of all OS4X processes")
SCRIPT = [((), 20), (("--missing", "os4xsqd"), 10), (("--zombie",), 10), ((), 20)]


def families() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("grafana", TOP / "contrib/grafana/generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {title: regex for title, regex, _, _ in module.FAMILIES}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def perfdata(line: str) -> dict[str, float]:
    values = {}
    for item in line.split(" | ", 1)[1].split() if " | " in line else []:
        label, _, rest = item.partition("=")
        match = re.match(r"-?[0-9.]+", rest)
        if match:
            values[label.strip("'")] = float(match.group(0))
    return values


def play() -> list[dict[str, float]]:
    ports = [str(free_port()), str(free_port())]
    series = []
    for scenario, minutes in SCRIPT:
        state = str(Path(tempfile.mkdtemp()) / "simulator.json")
        subprocess.run([sys.executable, "-m", "os4xmon.simulator", "start", "--state-file",
                        state, "--port", ports[0], "--tls-port", ports[1], *scenario],
                       check=True, capture_output=True)
        try:
            for _ in range(minutes):
                done = subprocess.run([sys.executable, "-m", "os4xmon", "--checks",
                                       "processes,ports", "--probe", "--port", ports[0],
                                       "--tls-port", ports[1]], capture_output=True, text=True,
                                      check=False)
                series.append(perfdata(done.stdout.splitlines()[0]))
        finally:
            subprocess.run([sys.executable, "-m", "os4xmon.simulator", "stop", "--state-file",
                            state], check=False, capture_output=True)
    return series


def draw(series: list[dict[str, float]]) -> None:
    regexes = families()
    figure, axes = plt.subplots(3, 2, figsize=(12, 9), constrained_layout=True)
    minutes = list(range(len(series)))
    for axis, title in zip(axes.flat, PANELS):
        labels = sorted({label for point in series for label in point
                         if re.search(regexes[title], label)})
        for label in labels:
            axis.plot(minutes, [point.get(label, float("nan")) for point in series],
                      label=label, linewidth=1.6)
        axis.set_ylim(bottom=0, top=max(1.2, axis.get_ylim()[1] * 1.1))
        axis.set_title(title, fontsize=11)
        axis.set_xlabel("minute", fontsize=8)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, loc="best")
    figure.suptitle("check_os4x perfdata, one run a minute: healthy, os4xsqd stopped, "
                    "a zombie action, healthy (drawn from the simulator)", fontsize=12)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(OUT, dpi=80)
    print(OUT.relative_to(TOP), json.dumps({"runs": len(series)}))


if __name__ == "__main__":
    draw(play())
