"""The shared core: settings, records, text, validated values, findings and thresholds, the status
line, one run.
"""
