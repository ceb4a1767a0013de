"""The transfer logs of the simulated OS4X database: partners, send log, receive log.

OS4X logs every send and every receive in its database (the web interface's send and receive
logs); the tables' names and columns are not documented, so these are the simulator's design,
shaped like a typical OS4X schema and read with the worked :data:`PARTNER_QUERY`::

    os4x_partner(id, name VARCHAR(64), active INTEGER)              one row per partner
    os4x_send_log(id, server_id, partner, filename, status, reason, finished_at)
    os4x_receive_log(id, server_id, partner, filename, status, reason, finished_at)

``status`` is 0 for a successful transfer, anything else for a failed one; ``reason`` is the
text OS4X shows for a failure (``ESID 04 invalid password``). Entries come from
``--log-entry in|out:PARTNER:ok|failed:AGE[:REASON]``, partners without entries from
``--log-partner`` (a partner that never sent), and ``--log-scenario partners`` fills the
three faults a partner check must see: a partner silent in one direction, a partner whose
sends fail, a partner that never sent. Without any ``--log-*`` option no log table is laid out.
Called by the database part (database.statements).
"""

from __future__ import annotations

import argparse
from typing import Any, Iterator

PARTNER_TABLE, SEND_LOG, RECEIVE_LOG = "partner", "send_log", "receive_log"
WINDOW = 86400
"""The worked query counts failures of the last day."""

PARTNER_QUERY = {
    "mysql": (
        "SELECT p.name, d.direction, "
        "TIMESTAMPDIFF(SECOND, MAX(CASE WHEN l.status = 0 THEN l.finished_at END), NOW()), "
        "COUNT(CASE WHEN l.status <> 0 AND l.finished_at > NOW() - INTERVAL 1 DAY "
        "THEN 1 END), SUBSTRING_INDEX(GROUP_CONCAT(CASE WHEN l.status <> 0 THEN l.reason END "
        "ORDER BY l.finished_at DESC SEPARATOR '\\n'), '\\n', 1) "
        "FROM {prefix}partner p "
        "CROSS JOIN (SELECT 'in' AS direction UNION ALL SELECT 'out') d "
        "LEFT JOIN (SELECT 'out' AS direction, partner, status, reason, finished_at "
        "FROM {prefix}send_log WHERE server_id = 0 UNION ALL "
        "SELECT 'in', partner, status, reason, finished_at FROM {prefix}receive_log "
        "WHERE server_id = 0) l ON l.partner = p.name AND l.direction = d.direction "
        "WHERE p.active = 1 GROUP BY p.name, d.direction"),
    "postgresql": (
        "SELECT p.name, d.direction, "
        "EXTRACT(EPOCH FROM now() - MAX(l.finished_at) FILTER (WHERE l.status = 0)), "
        "COUNT(*) FILTER (WHERE l.status <> 0 AND l.finished_at > now() - interval '1 day'), "
        "(array_agg(l.reason ORDER BY l.finished_at DESC) FILTER (WHERE l.status <> 0))[1] "
        "FROM {prefix}partner p "
        "CROSS JOIN (VALUES ('in'), ('out')) AS d(direction) "
        "LEFT JOIN (SELECT 'out' AS direction, partner, status, reason, finished_at "
        "FROM {prefix}send_log WHERE server_id = 0 UNION ALL "
        "SELECT 'in', partner, status, reason, finished_at FROM {prefix}receive_log "
        "WHERE server_id = 0) l ON l.partner = p.name AND l.direction = d.direction "
        "WHERE p.active = 1 GROUP BY p.name, d.direction"),
}
"""The --partner-query that reads the simulator's logs: every active partner in both
directions, also without any log entry (the age is then NULL: never a success)."""

SCENARIO = (
    ("in", "ACME", "ok", 600, ""), ("out", "ACME", "ok", 300, ""),
    ("in", "SILENT-IN", "ok", 2 * 86400, ""), ("out", "SILENT-IN", "ok", 120, ""),
    ("in", "FAILING", "ok", 900, ""), ("out", "FAILING", "ok", 5 * 3600, ""),
    *(("out", "FAILING", "failed", 600 * number, "ESID 04 invalid password")
      for number in range(1, 8)),
    ("in", "NEVER-SENT", "ok", 1800, ""),
    ("out", "NEVER-SENT", "failed", 3600, "ESID 09 time out"),
)
"""``--log-scenario partners``: ACME healthy; SILENT-IN received nothing for two days (its
sends work); FAILING's last 7 sends failed with ESID 04 (the last good one 5 hours ago);
NEVER-SENT receives, but nothing was ever sent to it successfully."""


def log_entry(text: str) -> tuple[str, str, str, int, str]:
    """in|out:PARTNER:ok|failed:AGE[:REASON] -> (direction, partner, result, age, reason)."""
    parts = text.split(":", 4)
    try:
        direction, partner, result, age = parts[:4]
        if direction not in ("in", "out") or result not in ("ok", "failed") or not partner:
            raise ValueError
        return direction, partner, result, int(age), parts[4] if len(parts) > 4 else ""
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not in|out:PARTNER:ok|failed:AGE[:REASON]") from None


def add_options(group: Any) -> None:
    """The transfer-log options, in the database part's option group."""
    group.add_argument("--log-entry", type=log_entry, action="append", default=[],
                       metavar="in|out:PARTNER:ok|failed:AGE[:REASON]",
                       help="a receive (in) or send (out) log entry, AGE seconds ago (repeat "
                       "the option); its partner is added to the partner table")
    group.add_argument("--log-partner", action="append", default=[], metavar="NAME",
                       help="a partner without log entries (never a transfer)")
    group.add_argument("--log-inactive", action="append", default=[], metavar="NAME",
                       help="a partner that is not active (the worked query leaves it out)")
    group.add_argument("--log-scenario", choices=("partners",),
                       help="partners: a healthy partner, one silent in one direction, one "
                       "whose sends fail, one that was never sent to")
    group.add_argument("--log-partners", type=int, default=0, metavar="N",
                       help="N more healthy partners (P00001 ...), both directions: scale")


def entries(args: argparse.Namespace) -> list[tuple[str, str, str, int, str]]:
    chosen = list(SCENARIO) if getattr(args, "log_scenario", None) == "partners" else []
    chosen += list(getattr(args, "log_entry", ()))
    for number in range(1, getattr(args, "log_partners", 0) + 1):
        chosen += [("in", f"P{number:05d}", "ok", 60 + number % 600, ""),
                   ("out", f"P{number:05d}", "ok", 30 + number % 300, "")]
    return chosen


def wanted(args: argparse.Namespace) -> bool:
    """Whether any --log-* option asks for the transfer logs (without, none are laid out)."""
    return bool(getattr(args, "log_entry", None) or getattr(args, "log_partner", None)
                or getattr(args, "log_inactive", None) or getattr(args, "log_scenario", None)
                or getattr(args, "log_partners", 0))


def statements(args: argparse.Namespace, mysql: bool,
               ) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """The three tables, emptied and filled (table names from --db-prefix, an identifier);
    nothing unless a --log-* option asks for them."""
    if not wanted(args):
        return
    prefix = args.db_prefix
    stamp = "TIMESTAMP" if mysql else "TIMESTAMP WITH TIME ZONE"
    partners_table = f"{prefix}{PARTNER_TABLE}"
    yield (f"CREATE TABLE IF NOT EXISTS {partners_table} (id INTEGER NOT NULL, "
           "name VARCHAR(64) NOT NULL, active INTEGER NOT NULL DEFAULT 1)"), ()
    yield f"DELETE FROM {partners_table}", ()  # noqa: S608
    for table in (SEND_LOG, RECEIVE_LOG):
        yield (f"CREATE TABLE IF NOT EXISTS {prefix}{table} (id INTEGER NOT NULL, "
               "server_id INTEGER NOT NULL DEFAULT 0, partner VARCHAR(64) NOT NULL, "
               "filename VARCHAR(255), status INTEGER NOT NULL, reason VARCHAR(255), "
               f"finished_at {stamp} NOT NULL)"), ()
        yield f"DELETE FROM {prefix}{table}", ()  # noqa: S608
    chosen = entries(args)
    names: dict[str, int] = {}
    for name in [entry[1] for entry in chosen] + list(getattr(args, "log_partner", ())):
        names.setdefault(name, 1)
    for name in getattr(args, "log_inactive", ()):
        names[name] = 0
    rows = [(number, name, active) for number, (name, active) in enumerate(names.items(), 1)]
    if rows:
        yield (f"INSERT INTO {partners_table} (id, name, active) VALUES "  # noqa: S608
               + ", ".join(["(%s, %s, %s)"] * len(rows))), tuple(
                   value for row in rows for value in row)
    ago = "NOW() - INTERVAL %s SECOND" if mysql else "now() - %s * interval '1 second'"
    for table, direction in ((SEND_LOG, "out"), (RECEIVE_LOG, "in")):
        mine = [entry for entry in chosen if entry[0] == direction]
        for start in range(0, len(mine), 500):  # a few statements, even for 5,000 partners
            batch = mine[start:start + 500]
            values: list[Any] = []
            for number, (_, partner, result, age, reason) in enumerate(batch, start + 1):
                values += [number, partner, f"/opt/os4x/{direction}/file{number}.edi",
                           0 if result == "ok" else 1, reason or None, age]
            yield (f"INSERT INTO {prefix}{table} (id, partner, filename, status, "  # noqa: S608
                   "reason, finished_at) VALUES "
                   + ", ".join([f"(%s, %s, %s, %s, %s, {ago})"] * len(batch))), tuple(values)
