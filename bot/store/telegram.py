"""What the Telegram channel keeps besides the conversation: seen update ids, chat ids, reminders, staff messages.

An update id is written *before* the update changes anything, so a replayed or
re-delivered update is recognised and dropped (at most once, never twice).

Conversations are keyed by a pseudonym of the chat id (channels/telegram/identity.py).
The one place that leads back to a person's chat is `channel_addresses`: the chat id,
*encrypted* with the vault, one row per conversation, deleted with it (foreign key
cascade), so `/delete` and the retention purge take it along. Reminders are sent to
it, and `rotate-key` re-derives the pseudonym from it.

Staff messages that showed a lead (the staff chat's post, each private /lead card and
/export file) are remembered by chat id, message id and the random lead id only, so
the bot can blank them when the lead is erased or withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from .conversations import after_commit, transaction
from .vault import Vault, pseudonym


@dataclass(frozen=True)
class DueReminder:
    conversation_id: str
    chat_id: int
    user_key: str
    #: The trial of the conversation: whose service draws the reminder.
    dialog_id: str = ""


@dataclass(frozen=True)
class StaffPost:
    """The staff chat's message about a lead, kept so it can be edited when the lead changes."""

    lead_id: str
    chat_id: int
    message_id: int


#: Kinds of private staff messages that showed contact details.
CARD, EXPORT = "card", "export"


@dataclass(frozen=True)
class StaffView:
    """A /lead card or an /export file in a staff member's private chat that showed a lead."""

    chat_id: int
    message_id: int
    kind: str
    #: the lead it showed (a card), or one of them (a file)
    lead_id: str


class TelegramStore:
    def __init__(self, db: sqlite_utils.Database, vault: Vault, channel: str = "telegram") -> None:
        self.db = db
        self.vault = vault
        self.channel = channel
        self._move_old_chat_ids()

    def _move_old_chat_ids(self) -> None:
        """Chat ids in reminder rows written before schema v8 (plain before v6, encrypted before v8)
        move to `channel_addresses`, encrypted; the reminder rows keep none."""
        with transaction(self.db):
            for row in list(
                self.db.query(
                    "SELECT conversation_id, chat_id, chat_enc FROM telegram_reminders"
                    " WHERE chat_id != 0 OR chat_enc != ''"
                )
            ):
                chat_enc = row["chat_enc"] or self.vault.encrypt(str(row["chat_id"]))
                self.db.execute(
                    "INSERT INTO channel_addresses (conversation_id, address_enc) VALUES (?, ?)"
                    " ON CONFLICT(conversation_id) DO UPDATE SET address_enc = excluded.address_enc",
                    [row["conversation_id"], chat_enc],
                )
                self.db.execute(
                    "UPDATE telegram_reminders SET chat_id = 0, chat_enc = '' WHERE conversation_id = ?",
                    [row["conversation_id"]],
                )

    # ------------------------------------------------------------------ chat ids

    def remember_chat(self, conversation_id: str, chat_id: int) -> None:
        """Keep the chat id of a saved conversation, encrypted, once (one cheap look-up per update after that)."""
        row = self.db.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM conversations WHERE id = ?),"
            " (SELECT address_enc FROM channel_addresses WHERE conversation_id = ?)",
            [conversation_id, conversation_id],
        ).fetchone()
        if not row[0] or row[1]:
            return
        self.db.conn.execute(
            "INSERT INTO channel_addresses (conversation_id, address_enc) VALUES (?, ?)"
            " ON CONFLICT(conversation_id) DO UPDATE SET address_enc = excluded.address_enc, legacy_enc = ''",
            [conversation_id, self.vault.encrypt(str(chat_id))],
        )

    def rekey_legacy(self, chat_id: int) -> bool:
        """Conversations that `rotate-key` could not re-derive (their chat id was never stored) are found by
        their old pseudonym, given the current one, and their chat id is kept (one per trial the person
        screened for, unless that trial already has a conversation under the current one); the old hash
        key goes when no such conversation is left. True when one was re-keyed."""
        vault = self.vault
        if not vault.legacy_hash_key:
            return False
        hidden = vault.legacy_pseudonym(pseudonym(self.channel, chat_id, vault.legacy_hash_key))
        current = vault.pseudonym(self.channel, chat_id)
        with transaction(self.db):
            rows = self.db.conn.execute(
                "SELECT id FROM conversations h WHERE channel = ? AND user_key = ? AND NOT EXISTS"
                " (SELECT 1 FROM conversations c WHERE c.channel = h.channel AND c.user_key = ?"
                " AND c.dialog_id = h.dialog_id)",
                [self.channel, hidden, current],
            ).fetchall()
            if not rows:
                return False
            for (conversation_id,) in rows:
                self.db.execute("UPDATE conversations SET user_key = ? WHERE id = ?", [current, conversation_id])
                self.db.execute(
                    "UPDATE channel_addresses SET address_enc = ?, legacy_enc = '' WHERE conversation_id = ?",
                    [vault.encrypt(str(chat_id)), conversation_id],
                )
            left = self.db.conn.execute(
                "SELECT 1 FROM channel_addresses WHERE address_enc = '' AND legacy_enc != '' LIMIT 1"
            ).fetchone()
            if left is None:
                self.db.execute("UPDATE vault SET legacy_hash_key_enc = '' WHERE id = 1")
                after_commit(self.db, lambda: _forget_legacy_key(vault))
        return True

    # ------------------------------------------------------------------ updates

    def update_seen(self, update_id: int) -> bool:
        """True when this update id was recorded before (a replay); a read only."""
        return (
            self.db.conn.execute("SELECT 1 FROM telegram_updates WHERE update_id = ?", [update_id]).fetchone()
            is not None
        )

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
        (one UPDATE, none when the time is the same). The chat id it is sent to is the
        conversation's, in `channel_addresses`."""
        due_at = due.isoformat(timespec="seconds")
        with transaction(self.db):
            row = self.db.conn.execute(
                "SELECT sent_at, due_at FROM telegram_reminders WHERE conversation_id = ?", [conversation_id]
            ).fetchone()
            if row is not None:
                if row[0] == "" and row[1] != due_at:
                    self.db.conn.execute(
                        "UPDATE telegram_reminders SET due_at = ? WHERE conversation_id = ?", [due_at, conversation_id]
                    )
                return
            self.db.conn.execute(
                """INSERT INTO telegram_reminders (conversation_id, chat_id, due_at)
                   SELECT ?, 0, ? WHERE EXISTS (SELECT 1 FROM conversations WHERE id = ?)""",
                [conversation_id, due_at, conversation_id],
            )
            self.remember_chat(conversation_id, chat_id)

    def cancel_reminder(self, conversation_id: str) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE telegram_reminders SET due_at = '' WHERE conversation_id = ?", [conversation_id])

    def due_reminders(self, now: datetime) -> list[DueReminder]:
        rows = self.db.execute(
            """SELECT r.conversation_id, a.address_enc, c.user_key, c.dialog_id FROM telegram_reminders r
               JOIN conversations c ON c.id = r.conversation_id
               JOIN channel_addresses a ON a.conversation_id = r.conversation_id
               WHERE r.sent_at = '' AND r.due_at != '' AND r.due_at <= ? AND c.status = 'active'
               ORDER BY r.due_at""",
            [now.isoformat(timespec="seconds")],
        ).fetchall()
        return [
            DueReminder(cid, int(self.vault.decrypt(chat_enc)), key, dialog_id)
            for cid, chat_enc, key, dialog_id in rows
            if chat_enc
        ]

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
        """Posts whose lead is gone (erased from the command line, withdrawn, or purged)."""
        rows = self.db.execute(
            "SELECT lead_id, chat_id, message_id FROM telegram_staff_posts WHERE lead_id NOT IN (SELECT id FROM leads)"
        ).fetchall()
        return [StaffPost(*row) for row in rows]

    # ------------------------------------------------------------------ private staff messages

    def save_staff_view(self, chat_id: int, message_id: int, lead_ids: list[str], kind: str, now: datetime) -> None:
        """A /lead card (one lead) or an /export file (every lead in it) was sent to a staff member."""
        stamp = now.isoformat(timespec="seconds")
        with transaction(self.db):
            for lead_id in lead_ids:
                self.db.execute(
                    "INSERT OR REPLACE INTO telegram_staff_views (chat_id, message_id, lead_id, kind, shown_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [chat_id, message_id, lead_id, kind, stamp],
                )

    def staff_views(self, lead_id: str) -> list[StaffView]:
        rows = self.db.execute(
            "SELECT chat_id, message_id, kind, lead_id FROM telegram_staff_views WHERE lead_id = ?", [lead_id]
        ).fetchall()
        return [StaffView(*row) for row in rows]

    def orphan_staff_views(self) -> list[StaffView]:
        """Cards and files that showed a lead which is gone."""
        rows = self.db.execute(
            "SELECT chat_id, message_id, kind, min(lead_id) FROM telegram_staff_views"
            " WHERE lead_id NOT IN (SELECT id FROM leads) GROUP BY chat_id, message_id"
        ).fetchall()
        return [StaffView(*row) for row in rows]

    def forget_staff_view(self, view: StaffView) -> None:
        """The message was blanked (or deleted): forget it, for every lead it showed."""
        with transaction(self.db):
            self.db.execute(
                "DELETE FROM telegram_staff_views WHERE chat_id = ? AND message_id = ?", [view.chat_id, view.message_id]
            )


def _forget_legacy_key(vault: Vault) -> None:
    """Once the database no longer holds it (committed), the running bot forgets it too."""
    vault.legacy_hash_key = b""
