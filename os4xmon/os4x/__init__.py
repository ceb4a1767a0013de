"""OS4X's own facts: its daemons' names and roles."""
