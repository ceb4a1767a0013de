"""The command line: the entry point, the option table, reading options into Settings, --db-
discover.
"""


def run() -> None:
    """The ``check_os4x`` command (and ``python -m os4xmon``): the garbage collector rests while
    the modules load, since they make thousands of objects and no garbage (1.5 ms of every run
    on a 23 ms ``import nagiosplugin``); ``main`` freezes what they made and turns it back on."""
    import gc

    gc.disable()
    from os4xmon.cli.main import main  # after the collector rests: the imports are the point

    main()
