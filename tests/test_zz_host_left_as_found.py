"""Run last (conftest.py puts it at the end): the suite left the host as it found it.

The package tests install into an overlay, the simulator removes what it added to its binary
directory, and a failed start leaves no file: the package database, /opt/os4x and the
simulator's files in the temporary directory are what they were when the session began.
"""

from __future__ import annotations

import pytest
from host_state import fingerprint

pytestmark = pytest.mark.unit


def test_the_suite_left_the_host_as_it_found_it(host_at_start: dict[str, object]):
    now = fingerprint()
    changed = {key: (host_at_start.get(key), now.get(key)) for key in set(host_at_start) | set(now)
               if host_at_start.get(key) != now.get(key)}
    assert not changed, f"before and after the tests: {changed}"
