"""The notification outbox: each message to each target, kept until it is delivered (migration 10).

A message is written here in the same transaction as whatever caused it when there is
one (a channel's step), then sent by bot/notify. A failure leaves the row with its
error kind and a later time to try again, so nothing is lost to a network outage, a
restart or a wrong setting: the console lists what is waiting. A row is claimed for
a short while before it is sent, so two processes on one database never both send it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils

from .conversations import transaction


@dataclass(frozen=True)
class Message:
    id: int
    lead_id: str
    kind: str
    urgent: bool
    target: str
    target_label: str
    created_at: str
    next_try_at: str
    tries: int
    last_error: str
    sent_at: str


class Outbox:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def add(self, lead_id: str, kind: str, urgent: bool, targets: list[tuple[str, str]], at: str) -> None:
        """One row per (key, label) target; joins the caller's transaction when there is one."""
        with transaction(self.db):
            for key, label in targets:
                self.db.execute(
                    "INSERT INTO notification_outbox (lead_id, kind, urgent, target, target_label, created_at,"
                    " next_try_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [lead_id or None, kind, int(urgent), key, label, at, at],
                )

    def has(self, lead_id: str, kinds: tuple[str, ...]) -> bool:
        marks = ", ".join("?" for _ in kinds)
        rows = self.db.query(
            f"SELECT 1 FROM notification_outbox WHERE lead_id = ? AND kind IN ({marks}) LIMIT 1", [lead_id, *kinds]
        )
        return bool(list(rows))

    def claim_due(self, now: str, claim_until: str, limit: int = 20) -> list[Message]:
        """Messages due now and not claimed by another process, urgent first, oldest first; claimed for us."""
        with transaction(self.db):
            rows = list(
                self.db.query(
                    "SELECT * FROM notification_outbox WHERE sent_at = '' AND next_try_at <= ? AND claimed_until <= ?"
                    " ORDER BY urgent DESC, created_at, id LIMIT ?",
                    [now, now, limit],
                )
            )
            for row in rows:
                self.db.execute(
                    "UPDATE notification_outbox SET claimed_until = ? WHERE id = ?", [claim_until, row["id"]]
                )
        return [_message(r) for r in rows]

    def sent(self, message_id: int, at: str) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE notification_outbox SET sent_at = ?, tries = tries + 1, last_error = '', claimed_until = ''"
                " WHERE id = ?",
                [at, message_id],
            )

    def failed(self, message_id: int, error: str, next_try_at: str) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE notification_outbox SET tries = tries + 1, last_error = ?, next_try_at = ?, claimed_until = ''"
                " WHERE id = ?",
                [error[:200], next_try_at, message_id],
            )

    def recent(self, limit: int = 100) -> list[Message]:
        """Waiting messages first (urgent first), then the newest sent ones."""
        rows = self.db.query(
            "SELECT * FROM notification_outbox ORDER BY sent_at != '', urgent DESC, created_at DESC, id DESC LIMIT ?",
            [limit],
        )
        return [_message(r) for r in rows]

    def of_lead(self, lead_id: str) -> list[Message]:
        rows = self.db.query("SELECT * FROM notification_outbox WHERE lead_id = ? ORDER BY id", [lead_id])
        return [_message(r) for r in rows]

    def waiting(self) -> int:
        return next(self.db.query("SELECT COUNT(*) AS c FROM notification_outbox WHERE sent_at = ''"))["c"]

    def failing(self) -> int:
        """Messages not delivered that have failed at least once."""
        return next(self.db.query("SELECT COUNT(*) AS c FROM notification_outbox WHERE sent_at = '' AND tries > 0"))[
            "c"
        ]

    def unannounced_leads(self, since: str) -> list[dict[str, Any]]:
        """Leads still `new`, made since `since`, ready to announce (urgent, or contact capture done), that no
        message was ever written for: what a crash between a lead and its message would leave behind."""
        return list(
            self.db.query(
                "SELECT l.id, l.urgent FROM leads l JOIN conversations c ON c.id = l.conversation_id"
                " WHERE l.status = 'new' AND l.created_at >= ? AND (l.urgent != '' OR c.state = 'contact_done'"
                " OR (c.state IN ('reminder_offer', 'finished') AND c.contact_consent_version != ''))"
                " AND NOT EXISTS (SELECT 1 FROM notification_outbox o WHERE o.lead_id = l.id)",
                [since],
            )
        )


def _message(r: dict[str, Any]) -> Message:
    return Message(
        id=r["id"],
        lead_id=r["lead_id"] or "",
        kind=r["kind"],
        urgent=bool(r["urgent"]),
        target=r["target"],
        target_label=r["target_label"],
        created_at=r["created_at"],
        next_try_at=r["next_try_at"],
        tries=r["tries"],
        last_error=r["last_error"],
        sent_at=r["sent_at"],
    )
