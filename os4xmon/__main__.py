"""Allows ``python -m os4xmon``, the same as the ``check_os4x`` command."""

from os4xmon.cli import run

run()
