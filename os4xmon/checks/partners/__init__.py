"""The partner check: files flow with every partner, both ways (OS4X's transfer logs).

``rules`` holds the pure parts (rows folded as they arrive, thresholds, verdicts), ``aspect``
the Resource that runs the admin's ``--partner-query`` and writes the perfdata.
"""
