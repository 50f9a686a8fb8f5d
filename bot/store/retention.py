"""Erasure and retention: removing a person's data on request, and everything past its period.

Both delete the conversation row; answers, outcomes, the lead and its history hang
off it with ON DELETE CASCADE (and any later per-conversation table, such as
reminders, must do the same), so one DELETE leaves no row that links to the person.
`secure_delete` overwrites the freed pages and a pending WAL wipe (store/wipe.py)
empties the log, checked and retried until done, so the erased bytes do not linger
in the files either. What is left: anonymous monthly counters and an audit entry
without the erased data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from ..retention import Retention as RetentionPeriods
from . import audit
from .conversations import transaction
from .db import reopen
from .leads import FINISHED_STATUSES
from .wipe import request_wipe

__all__ = ["RetentionPeriods"]


@dataclass(frozen=True)
class PurgeCounts:
    unfinished: int = 0
    finished_without_lead: int = 0
    closed_leads: int = 0

    @property
    def total(self) -> int:
        return self.unfinished + self.finished_without_lead + self.closed_leads


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Erased:
    """What an erasure removed: the trial of the conversation and the ids of its leads (for the staff messages)."""

    dialog_id: str
    lead_ids: tuple[str, ...]


def _count_stop(db: sqlite_utils.Database, row: dict[str, Any], at: datetime) -> None:
    """Keep where an unfinished screening stopped, as an anonymous count of its trial."""
    if not row["outcome"] and row["state"] not in ("consent", "declined"):
        audit.count(db, f"stopped:{row['state']}", at=at, dialog_id=row["dialog_id"])


def erase_conversation(db: sqlite_utils.Database, conversation_id: str, who: str, at: datetime | None = None) -> bool:
    """Erase one person's conversation with everything linked to it; log it without the erased data."""
    return _erase(db, conversation_id, who, at) is not None


def _erase(db: sqlite_utils.Database, conversation_id: str, who: str, at: datetime | None = None) -> Erased | None:
    at = at or datetime.now(UTC)
    with transaction(db):
        rows = list(db.query("SELECT state, outcome, dialog_id FROM conversations WHERE id = ?", [conversation_id]))
        if not rows:
            return None
        leads = [r["id"] for r in db.query("SELECT id FROM leads WHERE conversation_id = ?", [conversation_id])]
        _count_stop(db, rows[0], at)
        db.execute("DELETE FROM conversations WHERE id = ?", [conversation_id])
        kind = "erased_by_person" if who == "person" else "erased_by_staff"
        audit.count(db, kind, at=at, dialog_id=rows[0]["dialog_id"])
        for lead_id in leads or [""]:
            detail = f"erased={audit.erasure_mark(db, conversation_id)}: conversation, answers, outcomes and lead"
            audit.record(db, who, "erase", lead_id, detail, at=at)
        request_wipe(db)
    return Erased(rows[0]["dialog_id"], tuple(leads))


def erase_person(
    db: sqlite_utils.Database, channel: str, user_key: str, who: str, at: datetime | None = None
) -> list[Erased]:
    """Erase a person's conversation in every trial on this database (their /delete means all of it)."""
    ids = [
        r[0] for r in db.execute("SELECT id FROM conversations WHERE channel = ? AND user_key = ?", [channel, user_key])
    ]
    with transaction(db):
        erased = [_erase(db, conversation_id, who, at) for conversation_id in ids]
    return [e for e in erased if e is not None]


def erase_lead(db: sqlite_utils.Database, lead_id: str, staff: str, at: datetime | None = None) -> bool:
    """Staff erase a lead by id: the person's whole conversation goes with it."""
    rows = list(db.query("SELECT conversation_id FROM leads WHERE id = ?", [lead_id.strip().lower()]))
    if not rows:
        return False
    return erase_conversation(db, rows[0]["conversation_id"], staff, at)


def _due(db: sqlite_utils.Database, now: datetime, periods: RetentionPeriods) -> dict[str, list[dict[str, Any]]]:
    """The conversations past their period (id, state, outcome, trial), by reason. Open leads are never due.

    A "not yet" person who asked for a reminder keeps their answers until it is sent,
    then for the not-eligible period from the sending (the opt-in text says so)."""
    sent_since = _iso(now - timedelta(days=periods.not_eligible_days))  # an ISO time we made: safe in SQL
    reminded = (
        "EXISTS (SELECT 1 FROM ready_reminders r WHERE r.conversation_id = conversations.id"
        f" AND (r.status = 'agreed' OR (r.status = 'sent' AND r.sent_at >= '{sent_since}')))"
    )
    kept = f"(EXISTS (SELECT 1 FROM leads WHERE leads.conversation_id = conversations.id) OR {reminded})"
    unfinished = list(
        db.query(
            f"SELECT id, state, outcome, dialog_id FROM conversations WHERE outcome = '' AND NOT {kept}"
            " AND updated_at < ?",
            [_iso(now - timedelta(days=periods.unfinished_days))],
        )
    )
    finished = list(
        db.query(
            f"SELECT id, state, outcome, dialog_id FROM conversations WHERE outcome != '' AND NOT {kept}"
            " AND updated_at < ?",
            [_iso(now - timedelta(days=periods.not_eligible_days))],
        )
    )
    closed = list(
        db.query(
            "SELECT DISTINCT c.id, c.state, c.outcome, c.dialog_id FROM conversations c"
            " JOIN leads l ON l.conversation_id = c.id"
            f" WHERE l.status IN ({', '.join('?' for _ in FINISHED_STATUSES)}) AND l.status_changed_at < ?"
            " AND NOT EXISTS (SELECT 1 FROM leads o WHERE o.conversation_id = c.id"
            f" AND o.status NOT IN ({', '.join('?' for _ in FINISHED_STATUSES)}))",
            [*FINISHED_STATUSES, _iso(now - timedelta(days=periods.closed_lead_days)), *FINISHED_STATUSES],
        )
    )
    return {"unfinished": unfinished, "finished_without_lead": finished, "closed_leads": closed}


def purge(
    db: sqlite_utils.Database, now: datetime, periods: RetentionPeriods, dry_run: bool = False, who: str = "retention"
) -> PurgeCounts:
    """Delete everything past its retention period at `now` (or, with dry_run, only count it).

    Unfinished conversations count from their last answer; finished ones without a
    lead (not eligible, not yet, or no contact wanted) from their outcome; closed or
    enrolled leads from their last status change.
    """
    due = _due(db, now, periods)
    counts = PurgeCounts(**{k: len(v) for k, v in due.items()})
    if dry_run or counts.total == 0:
        return counts
    with transaction(db):
        for reason, rows in due.items():
            for row in rows:
                _count_stop(db, row, now)
                db.execute("DELETE FROM conversations WHERE id = ?", [row["id"]])
            for dialog_id, n in Counter(row["dialog_id"] for row in rows).items():
                audit.count(db, f"purged:{reason}", n, at=now, dialog_id=dialog_id)
        audit.record(
            db,
            who,
            "purge",
            detail=f"unfinished={counts.unfinished} finished_without_lead={counts.finished_without_lead} "
            f"closed_leads={counts.closed_leads}",
            at=now,
        )
        request_wipe(db)
    return counts


def purge_apart(
    db: sqlite_utils.Database, now: datetime, periods: RetentionPeriods, who: str = "retention"
) -> PurgeCounts:
    """The purge on a connection of its own to `db`'s file, for a worker thread (bot/daily_purge.py)."""
    own = reopen(db)
    if own is None:
        raise ValueError("an in-memory database has no second connection")
    try:
        return purge(own, now, periods, who=who)
    finally:
        own.close()


def daily_purge(
    db: sqlite_utils.Database, periods: RetentionPeriods, clock: Callable[[], datetime] | None = None
) -> Callable[[Any], Awaitable[PurgeCounts]]:
    """An async callback for a daily job, e.g. `application.job_queue.run_daily(daily_purge(db, periods), time)`.

    It takes (and ignores) the job's context argument. The purge runs in the event
    loop's thread because the bot shares one SQLite connection; it is a handful of
    indexed DELETEs, so it does not hold the loop up noticeably.
    """

    async def run(_context: Any = None) -> PurgeCounts:
        return purge(db, (clock or (lambda: datetime.now(UTC)))(), periods)

    return run
