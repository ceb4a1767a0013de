"""A simulated OS4X host: real processes, ports and database rows that look like OS4X's."""
