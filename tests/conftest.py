"""Fixtures; the helpers themselves live in helpers.py so that test modules can import them."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from helpers import SimulatorControl


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[SimulatorControl]:
    control = SimulatorControl(tmp_path)
    yield control
    control.stop_all()
