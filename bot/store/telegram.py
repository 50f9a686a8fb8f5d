"""What the Telegram channel keeps besides the conversation: seen update ids, reminders, staff posts.

An update id is written *before* the update changes anything, so a replayed or
re-delivered update is recognised and dropped (at most once, never twice). The
reminder row is the one place that can lead back to a person's chat (a reminder is
sent when the person is not writing): it holds the chat id *encrypted* with the
vault, and it is deleted with the conversation (foreign key cascade), so `/delete`
and the retention purge take it along. Conversations themselves are keyed by a
pseudonym (channels/telegram/identity.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from .conversations import transaction
from .vault import Vault


@dataclass(frozen=True)
class DueReminder:
    conversation_id: str
    chat_id: int
    user_key: str


@dataclass(frozen=True)
class StaffPost:
    """The staff chat's message about a lead, kept so it can be edited when the lead changes."""

    lead_id: str
    chat_id: int
    message_id: int


class TelegramStore:
    def __init__(self, db: sqlite_utils.Database, vault: Vault) -> None:
        self.db = db
        self.vault = vault
        self._encrypt_old_reminders()

    def _encrypt_old_reminders(self) -> None:
        """Rows written before chat ids were encrypted (schema v4) get encrypted now."""
        with transaction(self.db):
            for row in list(
                self.db.query("SELECT conversation_id, chat_id FROM telegram_reminders WHERE chat_id != 0")
            ):
                self.db.execute(
                    "UPDATE telegram_reminders SET chat_enc = ?, chat_id = 0 WHERE conversation_id = ?",
                    [self.vault.encrypt(str(row["chat_id"])), row["conversation_id"]],
                )

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
        """(Re)set the reminder of a saved conversation, unless its one reminder was already sent.

        Called after every message a person sends: an existing row only gets its new time
        (one UPDATE, no encryption); the chat id is encrypted when the row is first written."""
        due_at = due.isoformat(timespec="seconds")
        with transaction(self.db):
            row = self.db.conn.execute(
                "SELECT sent_at FROM telegram_reminders WHERE conversation_id = ?", [conversation_id]
            ).fetchone()
            if row is not None:
                if row[0] == "":
                    self.db.conn.execute(
                        "UPDATE telegram_reminders SET due_at = ? WHERE conversation_id = ?", [due_at, conversation_id]
                    )
                return
            self.db.conn.execute(
                """INSERT INTO telegram_reminders (conversation_id, chat_id, chat_enc, due_at)
                   SELECT ?, 0, ?, ? WHERE EXISTS (SELECT 1 FROM conversations WHERE id = ?)""",
                [conversation_id, self.vault.encrypt(str(chat_id)), due_at, conversation_id],
            )

    def cancel_reminder(self, conversation_id: str) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE telegram_reminders SET due_at = '' WHERE conversation_id = ?", [conversation_id])

    def due_reminders(self, now: datetime) -> list[DueReminder]:
        rows = self.db.execute(
            """SELECT r.conversation_id, r.chat_enc, c.user_key FROM telegram_reminders r
               JOIN conversations c ON c.id = r.conversation_id
               WHERE r.sent_at = '' AND r.due_at != '' AND r.due_at <= ? AND c.status = 'active'
               ORDER BY r.due_at""",
            [now.isoformat(timespec="seconds")],
        ).fetchall()
        return [DueReminder(cid, int(self.vault.decrypt(chat_enc)), key) for cid, chat_enc, key in rows if chat_enc]

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

    # ------------------------------------------------------------------ staff posts

    def staff_post(self, lead_id: str) -> StaffPost | None:
        rows = self.db.execute(
            "SELECT lead_id, chat_id, message_id FROM telegram_staff_posts WHERE lead_id = ?", [lead_id]
        ).fetchall()
        return StaffPost(*rows[0]) if rows else None

    def save_staff_post(self, post: StaffPost, now: datetime) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT OR REPLACE INTO telegram_staff_posts (lead_id, chat_id, message_id, posted_at)"
                " VALUES (?, ?, ?, ?)",
                [post.lead_id, post.chat_id, post.message_id, now.isoformat(timespec="seconds")],
            )

    def forget_staff_post(self, lead_id: str) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM telegram_staff_posts WHERE lead_id = ?", [lead_id])

    def orphan_staff_posts(self) -> list[StaffPost]:
        """Posts whose lead is gone (erased from the command line, or purged)."""
        rows = self.db.execute(
            "SELECT lead_id, chat_id, message_id FROM telegram_staff_posts WHERE lead_id NOT IN (SELECT id FROM leads)"
        ).fetchall()
        return [StaffPost(*row) for row in rows]
