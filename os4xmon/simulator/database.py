"""Database: an OS4X-like schema with the daemons' PIDs (issue: the database check).

The simulator calls these hooks: add_options while building its parser, before_start in the
launcher before any process is forked, after_start once every process has announced itself,
on_stop when the launcher stops.
"""

from __future__ import annotations

import argparse

from os4xmon.simulator.scenario import Scenario


def add_options(parser: argparse.ArgumentParser) -> None:
    """Nothing to add yet."""


def before_start(args: argparse.Namespace, scenario: Scenario) -> None:
    """Nothing to prepare yet."""


def after_start(args: argparse.Namespace, scenario: Scenario,
                processes: list[dict[str, int]]) -> None:
    """Nothing to record yet."""


def on_stop(args: argparse.Namespace) -> None:
    """Nothing to clean up yet."""
