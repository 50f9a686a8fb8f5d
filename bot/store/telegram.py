"""What the Telegram channel keeps besides the conversation: seen update ids and reminders.

An update id is written *before* the update changes anything, so a replayed or
re-delivered update is recognised and dropped (at most once, never twice). The
reminder row holds the chat id because a reminder is sent when the person is not
writing; it is deleted with the conversation (foreign key cascade).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from .conversations import transaction


@dataclass(frozen=True)
class DueReminder:
    conversation_id: str
    chat_id: int
    user_key: str


class TelegramStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ updates

    def first_time_seen(self, update_id: int, now: datetime) -> bool:
        """Record an update id; False when it was recorded before (a replay)."""
        with transaction(self.db):
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO telegram_updates (update_id, seen_at) VALUES (?, ?)",
                [update_id, now.isoformat(timespec="seconds")],
            )
        return cursor.rowcount == 1

    def forget_updates_before(self, moment: datetime) -> None:
        """Telegram re-delivers for at most a day; older ids need not be kept."""
        with transaction(self.db):
            self.db.execute("DELETE FROM telegram_updates WHERE seen_at < ?", [moment.isoformat(timespec="seconds")])

    # ------------------------------------------------------------------ reminders

    def schedule_reminder(self, conversation_id: str, chat_id: int, due: datetime) -> None:
        """(Re)set the reminder of a saved conversation, unless its one reminder was already sent."""
        with transaction(self.db):
            self.db.execute(
                """INSERT INTO telegram_reminders (conversation_id, chat_id, due_at)
                   SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM conversations WHERE id = ?)
                   ON CONFLICT(conversation_id) DO UPDATE SET due_at = excluded.due_at, chat_id = excluded.chat_id
                   WHERE telegram_reminders.sent_at = ''""",
                [conversation_id, chat_id, due.isoformat(timespec="seconds"), conversation_id],
            )

    def cancel_reminder(self, conversation_id: str) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE telegram_reminders SET due_at = '' WHERE conversation_id = ?", [conversation_id])

    def due_reminders(self, now: datetime) -> list[DueReminder]:
        rows = self.db.execute(
            """SELECT r.conversation_id, r.chat_id, c.user_key FROM telegram_reminders r
               JOIN conversations c ON c.id = r.conversation_id
               WHERE r.sent_at = '' AND r.due_at != '' AND r.due_at <= ? AND c.status = 'active'
               ORDER BY r.due_at""",
            [now.isoformat(timespec="seconds")],
        ).fetchall()
        return [DueReminder(*row) for row in rows]

    def claim_reminder(self, conversation_id: str, now: datetime) -> bool:
        """Mark the reminder sent *before* sending it: never twice, even after a crash."""
        with transaction(self.db):
            cursor = self.db.execute(
                "UPDATE telegram_reminders SET sent_at = ?, due_at = '' WHERE conversation_id = ? AND sent_at = ''",
                [now.isoformat(timespec="seconds"), conversation_id],
            )
        return cursor.rowcount == 1

    # ------------------------------------------------------------------ blocked chats

    def mark_inactive(self, channel: str, user_key: str) -> None:
        """The person blocked the bot: stop reminders; the conversation wakes up if they write again."""
        with transaction(self.db):
            self.db.execute(
                "UPDATE conversations SET status = 'inactive' WHERE channel = ? AND user_key = ?", [channel, user_key]
            )
            self.db.execute(
                """UPDATE telegram_reminders SET due_at = '' WHERE conversation_id IN
                   (SELECT id FROM conversations WHERE channel = ? AND user_key = ?)""",
                [channel, user_key],
            )
