#!/usr/bin/env python3
"""check_os4x: the copy-deployable entry point.

Drop this file into the plugin directory (for example /usr/lib/nagios/plugins) of a host where
the ``check_os4x`` package is installed; it runs exactly what the ``check_os4x`` command runs.
"""

from os4xmon.cli import main

if __name__ == "__main__":
    main()
