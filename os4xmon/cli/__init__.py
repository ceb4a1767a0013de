"""The command line: the entry point, the option table, reading options into Settings, --db-
discover.
"""
