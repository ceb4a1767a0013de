"""``--textfile-dir DIR``: the OpenMetrics text in ``DIR/check_os4x.prom`` for node_exporter.

node_exporter's textfile collector reads every ``*.prom`` file of its directory at each scrape:
a half-written file would be read as it is. So the text goes into a temporary file in DIR
(named without ``.prom``, so never read), is flushed to disk, made mode 0644 and renamed over
the old file: a scrape sees the old or the new file, whole. Written whatever --output prints.
"""

from __future__ import annotations

import os
from contextlib import suppress

from os4xmon.core.text import printable
from os4xmon.output.openmetrics import render

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Callable

    from os4xmon.core.outcome import Outcome

FILE_NAME = "check_os4x.prom"


def write(directory: str, text: str) -> None:
    """Writes text as directory/check_os4x.prom atomically, mode 0644; raises OSError."""
    import tempfile  # only --textfile-dir pays for it

    descriptor, temporary = tempfile.mkstemp(prefix=".check_os4x.", suffix=".tmp",
                                             dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
            os.fchmod(stream.fileno(), 0o644)
        os.replace(temporary, os.path.join(directory, FILE_NAME))
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def writer(directory: str) -> Callable[[Outcome], str | None]:
    """A sink for core.execution: writes the file; what went wrong as one line, or None."""

    def sink(outcome: Outcome) -> str | None:
        try:
            write(directory, "\n".join(render(outcome)) + "\n")
        except OSError as error:
            return (f"--textfile-dir: cannot write {printable(directory, 100)}/{FILE_NAME}: "
                    f"{error.strerror or error}")
        return None

    return sink
