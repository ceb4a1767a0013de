"""check_os4x: a monitoring plugin for the OS4X OFTP/OFTP2 server.

This file must parse on any Python 3 (no f-strings, no annotations): the ``check_os4x``
command and ``python -m os4xmon`` import it first, so an interpreter older than the floor says
so in one plugin line here instead of a SyntaxError traceback from the modules below.
"""

import sys

__version__ = "0.1.0"

MINIMUM_PYTHON = (3, 8)

if sys.version_info < MINIMUM_PYTHON:  # pragma: no cover - the entry tests fake the version
    from os4xmon.pythonguard import refuse  # only on a Python too old to run the rest

    refuse()
