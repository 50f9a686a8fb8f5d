"""The opted-in "ready date" reminders of people told "not yet", and the answers they may reuse.

One row per conversation. Its status moves: agreed -> sent (or stopped / closed);
declined records a "no, thank you" so it is not asked again for the same date.
A reminder is claimed (marked sent) *before* it is sent, so it never comes twice,
even after a crash; it is due from its time on, so a bot that was down that day
sends it when it next runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlite_utils

from ..dialog.flow import ReminderStatus
from .conversations import transaction

AGREED, SENT = ReminderStatus.AGREED, ReminderStatus.SENT


@dataclass(frozen=True)
class DueReadyReminder:
    conversation_id: str
    channel: str
    user_key: str
    #: where the channel delivers it, encrypted by the channel with the vault; '' until known
    address_enc: str
    ready_on: date
    #: The trial of the conversation: whose service sends the reminder.
    dialog_id: str = ""


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


class ReadyReminderStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def row(self, conversation_id: str) -> dict[str, Any] | None:
        """A plain SELECT (sqlite-utils' query() wraps each read in SAVEPOINT/RELEASE): it runs for prompts."""
        cursor = self.db.execute("SELECT * FROM ready_reminders WHERE conversation_id = ?", [conversation_id])
        row = cursor.fetchone()
        return dict(zip((c[0] for c in cursor.description), row, strict=True)) if row else None

    def answer(
        self,
        conversation_id: str,
        ready_on: date,
        status: str,
        due_at: datetime | None = None,
        consent_version: str = "",
        consented_at: str = "",
    ) -> None:
        """Record a yes (with its consent) or a no to the offer for this ready date."""
        with transaction(self.db):
            self.db.execute(
                """INSERT INTO ready_reminders
                   (conversation_id, ready_on, status, consent_version, consented_at, due_at) VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(conversation_id) DO UPDATE SET ready_on = excluded.ready_on, status = excluded.status,
                   consent_version = excluded.consent_version, consented_at = excluded.consented_at,
                   due_at = excluded.due_at, sent_at = ''""",
                [
                    conversation_id,
                    ready_on.isoformat(),
                    status,
                    consent_version,
                    consented_at,
                    _iso(due_at) if due_at else "",
                ],
            )

    def move(self, conversation_id: str, ready_on: date, due_at: datetime) -> bool:
        """A new "not yet" date for an agreed reminder (the person changed an answer)."""
        with transaction(self.db):
            cursor = self.db.execute(
                "UPDATE ready_reminders SET ready_on = ?, due_at = ? WHERE conversation_id = ? AND status = ?",
                [ready_on.isoformat(), _iso(due_at), conversation_id, AGREED],
            )
        return cursor.rowcount == 1

    def end(self, conversation_id: str, status: str) -> bool:
        """Stop (the person asked) or close (no longer needed) a reminder not yet sent."""
        with transaction(self.db):
            cursor = self.db.execute(
                "UPDATE ready_reminders SET status = ?, due_at = '' WHERE conversation_id = ? AND status = ?",
                [status, conversation_id, AGREED],
            )
        return cursor.rowcount == 1

    def needs_address(self, conversation_id: str) -> bool:
        """True while an agreed reminder does not yet know where to go."""
        row = self.db.execute(
            "SELECT 1 FROM ready_reminders WHERE conversation_id = ? AND status = ? AND address_enc = ''",
            [conversation_id, AGREED],
        ).fetchone()
        return row is not None

    def note_address(self, conversation_id: str, address_enc: str) -> None:
        """Where to send it (already encrypted): set by a channel that can send unasked, for agreed reminders."""
        with transaction(self.db):
            self.db.execute(
                "UPDATE ready_reminders SET address_enc = ?"
                " WHERE conversation_id = ? AND status = ? AND address_enc = ''",
                [address_enc, conversation_id, AGREED],
            )

    def due(self, now: datetime, channel: str) -> list[DueReadyReminder]:
        rows = self.db.execute(
            """SELECT r.conversation_id, c.channel, c.user_key, r.address_enc, r.ready_on, c.dialog_id
               FROM ready_reminders r
               JOIN conversations c ON c.id = r.conversation_id
               WHERE r.status = ? AND r.due_at != '' AND r.due_at <= ? AND c.channel = ?
               ORDER BY r.due_at""",
            [AGREED, _iso(now), channel],
        ).fetchall()
        return [DueReadyReminder(r[0], r[1], r[2], r[3], date.fromisoformat(r[4]), r[5]) for r in rows]

    def claim(self, conversation_id: str, now: datetime) -> bool:
        """Mark the reminder sent *before* sending it: never twice."""
        with transaction(self.db):
            cursor = self.db.execute(
                "UPDATE ready_reminders SET status = ?, sent_at = ?, due_at = '' WHERE conversation_id = ?"
                " AND status = ?",
                [SENT, _iso(now), conversation_id, AGREED],
            )
        return cursor.rowcount == 1

    # ------------------------------------------------------------------ earlier answers, offered as defaults

    def keep_earlier_answers(self, conversation_id: str, answers: dict[str, Any]) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE ready_reminders SET earlier_answers = ? WHERE conversation_id = ?",
                [json.dumps(answers, ensure_ascii=False), conversation_id],
            )

    def earlier_answers(self, conversation_id: str) -> dict[str, Any]:
        """{} without a reminder row; read alone, as it is asked for every question prompt."""
        row = self.db.execute(
            "SELECT earlier_answers FROM ready_reminders WHERE conversation_id = ?", [conversation_id]
        ).fetchone()
        return json.loads(row[0]) if row else {}

    def forget_earlier_answers(self, conversation_id: str) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE ready_reminders SET earlier_answers = '{}' WHERE conversation_id = ?",
                [conversation_id],
            )
