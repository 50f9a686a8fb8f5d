"""Contact attempts: each call or message to a lead, with its result (issue 19, migration 9).

They belong to their lead (ON DELETE CASCADE): an erased or withdrawn lead takes its
attempts with it. The note is staff's own words, checked like any typed text before
it reaches here (bot/safe_text.py).
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from .conversations import transaction

#: What came of an attempt, in the order a form offers them.
RESULTS = ("reached", "no_answer", "busy", "message_left", "call_back_later", "wrong_number")


class ContactAttempts:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def record(self, lead_id: str, at: str, who: str, result: str, note: str = "") -> None:
        if result not in RESULTS:
            raise ValueError(f"unknown result {result!r}: use one of {', '.join(RESULTS)}")
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO contact_attempts (lead_id, at, who, result, note) VALUES (?, ?, ?, ?, ?)",
                [lead_id, at, who[:64], result, note[:500]],
            )

    def of_lead(self, lead_id: str) -> list[dict[str, Any]]:
        """Newest first."""
        return list(
            self.db.query(
                "SELECT at, who, result, note FROM contact_attempts WHERE lead_id = ? ORDER BY at DESC, id DESC",
                [lead_id],
            )
        )

    def latest(self) -> dict[str, dict[str, Any]]:
        """Each lead's last attempt, by lead id (for the queue)."""
        rows = self.db.query(
            "SELECT lead_id, at, who, result FROM contact_attempts WHERE id IN"
            " (SELECT MAX(id) FROM contact_attempts GROUP BY lead_id)"
        )
        return {r["lead_id"]: r for r in rows}
