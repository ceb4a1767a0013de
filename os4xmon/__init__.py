"""check_os4x: a monitoring plugin for the OS4X OFTP/OFTP2 server."""

__version__ = "0.1.0"
