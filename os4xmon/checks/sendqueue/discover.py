"""What ``--db-discover`` says about the send queue: its table's columns, the summary query for
large queues in each dialect, and the index that makes that query cheap; pure."""

from __future__ import annotations

import shlex

from os4xmon.checks.sendqueue.contract import ENTRY_FORM, SUMMARY_FORM
from os4xmon.core.text import database_text, printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on every run; annotations need no import
    from typing import Any, Sequence

SUMMARY_QUERY = {
    "mysql": "SELECT partner, CASE status WHEN 0 THEN 'new' WHEN 1 THEN 'taken' "
             "WHEN 2 THEN 'sent' WHEN 3 THEN 'blocked' WHEN 4 THEN 'waiting' "
             "ELSE CONCAT('status ', status) END, COUNT(*), "
             "TIMESTAMPDIFF(SECOND, MIN(queued_at), NOW()), MAX(send_tries) "
             "FROM {prefix}send_queue WHERE server_id = 0 AND status <> 2 "
             "GROUP BY partner, status",
    "postgresql": "SELECT partner, CASE status WHEN 0 THEN 'new' WHEN 1 THEN 'taken' "
                  "WHEN 2 THEN 'sent' WHEN 3 THEN 'blocked' WHEN 4 THEN 'waiting' "
                  "ELSE 'status ' || status END, COUNT(*), "
                  "CAST(EXTRACT(EPOCH FROM now() - MIN(queued_at)) AS BIGINT), MAX(send_tries) "
                  "FROM {prefix}send_queue WHERE server_id = 0 AND status <> 2 "
                  "GROUP BY partner, status",
}
"""The summary form (one row per partner and state) for the typical layout of docs/queue.md:
the database counts, the plugin reads a few rows. Sent entries (status 2) never alarm and are
left out, so the index below skips them however many the table keeps."""

SUMMARY_INDEX = {
    "mysql": "CREATE INDEX {prefix}send_queue_summary ON {prefix}send_queue "
             "(server_id, status, partner, queued_at, send_tries)",
    "postgresql": "CREATE INDEX {prefix}send_queue_pending ON {prefix}send_queue "
                  "(partner, status, queued_at, send_tries) WHERE server_id = 0 AND status <> 2",
}
"""The index that makes SUMMARY_QUERY cheap, so that the query reads it only, never the table.
MariaDB/MySQL: every column the query reads, in the order it filters: a covering range scan.
PostgreSQL: a partial index of the pending entries alone (its WHERE is the query's), in the
order of GROUP BY: an index-only scan of the few pending rows. The MySQL form is no use there:
PostgreSQL prefers a sequential scan of the whole table, which a plain query splits among
parallel workers but the cursor the plugin streams through cannot (1,000,000 rows: 36 ms for
psql, 50 ms for the plugin; 7 ms for both with this index)."""


def discover_lines(columns: Sequence[Sequence[Any]], prefix: str,
                   db_type: str = "mysql") -> list[str]:
    """What --db-discover prints about <prefix>send_queue, from information_schema rows of
    (table, column, type): its columns, the summary query and its index."""
    table = f"{prefix}send_queue"
    mine = [(printable(database_text(row[1]), 64), printable(database_text(row[2]), 32))
            for row in columns if len(row) >= 3 and database_text(row[0]).lower() == table.lower()]
    if not mine:
        return [f"send queue: no table {table}; --queue-query must name the table that holds "
                "the entries to send"]
    lines = [f"send queue: {table}, columns for --queue-query ({ENTRY_FORM}; map the status "
             "with CASE, see docs/queue.md):"]
    lines.extend(f"    {column} {kind}" for column, kind in mine)
    query = SUMMARY_QUERY.get(db_type, SUMMARY_QUERY["mysql"])
    lines.append(f"send queue, large queues: the summary form ({SUMMARY_FORM}), one row per "
                 "partner and state; for the layout of docs/queue.md (adapt the column names "
                 "and status numbers to yours):")
    lines.append(f"    --queue-query {shlex.quote(query)}")
    lines.append("  and the index that makes it cheap (as the database's admin):")
    index = SUMMARY_INDEX.get(db_type, SUMMARY_INDEX["mysql"])
    lines.append(f"    {index.format(prefix=prefix)};")
    return lines
