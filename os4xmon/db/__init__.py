"""The database drivers behind one small interface, the MySQL wire details, and the read-only SQL
guard.
"""
