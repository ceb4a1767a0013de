"""What the aspects of one run share about the OS4X host, read once: its processes, their identity,
its configuration table.
"""
