"""The audit log and the anonymous counters: what staff did, and how many people did what.

The audit log is append-only (SQLite triggers refuse UPDATE and DELETE). Entries
name the staff member, the action and a lead id, never contact details or answers,
so an erasure can be logged without keeping what was erased.

Counters are per month and per trial (the dialog id) and carry no other ids: they are what
is left of a screening after erasure or purge, so the funnel in `screening-bot stats`
survives both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlite_utils


def _stamp(at: datetime | None) -> datetime:
    return (at or datetime.now(UTC)).astimezone(UTC)


def record(
    db: sqlite_utils.Database, who: str, action: str, lead_id: str = "", detail: str = "", at: datetime | None = None
) -> None:
    """Append one entry; `detail` must never hold contact details or answers."""
    stamp = _stamp(at).isoformat(timespec="seconds")
    entry = {"at": stamp, "who": who[:64] or "unknown", "action": action, "lead_id": lead_id, "detail": detail[:500]}
    db["audit_log"].insert(entry)  # sqlite-utils; inside a unit of work it is a savepoint, not a commit


def entries(db: sqlite_utils.Database, limit: int = 100) -> list[dict[str, Any]]:
    """The newest entries first."""
    return list(db.query("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", [limit]))


def count(db: sqlite_utils.Database, name: str, n: int = 1, at: datetime | None = None, dialog_id: str = "") -> None:
    """Add `n` to an anonymous monthly counter of one trial (e.g. 'started', 'outcome:needs_review',
    'stopped:age'); "" for a count that belongs to no trial."""
    if n <= 0:
        return
    db.execute(
        "INSERT INTO counters (month, dialog_id, name, count) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(month, dialog_id, name) DO UPDATE SET count = count + excluded.count",
        [_stamp(at).strftime("%Y-%m"), dialog_id, name, n],
    )


def totals(db: sqlite_utils.Database, dialog_id: str | None = None) -> dict[str, int]:
    """Every counter summed over all months: of one trial, or (None) of every trial together."""
    where, params = ("WHERE dialog_id = ?", [dialog_id]) if dialog_id is not None else ("", [])
    rows = db.query(f"SELECT name, SUM(count) AS total FROM counters {where} GROUP BY name", params)
    return {r["name"]: r["total"] for r in rows}
