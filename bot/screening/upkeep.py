"""What a long-running channel does besides answering: reminders due, replayed updates, blocked chats, WAL wipes.

Each of these is one unit of work of its own, like a step, and hands the channel only what
to draw (`Due`): the channel never sees the database. A reminder is drawn by the service of
its conversation's trial.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from ..dialog.flow import CONSENT, DECLINED, NOT_YET, ReminderStatus
from ..store.ready_reminders import DueReadyReminder
from ..store.telegram import DueReminder as DueNudge
from .service import Due, Key, ScreeningService
from .trials import Trials

log = logging.getLogger("bot.screening")

__all__ = ["DueNudge", "DueReadyReminder", "Upkeep"]


class Upkeep:
    """Reminders, update ids and clean-up for the database every trial shares."""

    def __init__(self, screening: ScreeningService | Trials) -> None:
        self.trials = Trials.of(screening)
        self.storage = self.trials.default.storage

    # ------------------------------------------------------------------ updates (Telegram)

    def update_seen(self, update_id: int) -> bool:
        """True when this update was handled before (a replay); nothing is written."""
        records = self.storage.read.channel_records
        return records is not None and records.update_seen(update_id)

    def note_update(self, update_id: int, now: datetime) -> bool:
        """Record an update that is not a screening step; False when it was recorded before."""
        with self.storage.unit_of_work() as work:
            records = work.channel_records
            return records is None or records.first_time_seen(update_id, now)

    def forget_updates_before(self, moment: datetime) -> None:
        if self.storage.read.channel_records is not None:
            self.storage.read.channel_records.forget_updates_before(moment)

    def mark_inactive(self, key: Key) -> None:
        """The person blocked the bot: stop reminders (in every trial); a conversation wakes up if they write
        again."""
        with self.storage.unit_of_work() as work:
            if work.channel_records is not None:
                work.channel_records.mark_inactive(key.channel, key.user)

    # ------------------------------------------------------------------ the quiet-time reminder

    def due_nudges(self, now: datetime) -> list[DueNudge]:
        records = self.storage.read.channel_records
        return records.due_reminders(now) if records is not None else []

    def nudge(self, channel: str, due: DueNudge, now: datetime) -> Due | None:
        """Claim the one gentle reminder of an unfinished screening; None when it no longer applies."""
        service = self.trials.get(due.dialog_id)
        with (service.storage if service else self.storage).unit_of_work() as work:
            records = work.channel_records
            assert records is not None
            conv = work.conversations.load(channel, due.user_key) if service else None
            gone = service is None or conv is None or conv.id != due.conversation_id
            if gone or conv.state in (CONSENT, DECLINED) or conv.outcome:
                records.cancel_reminder(due.conversation_id)
                return None
            if not records.claim_reminder(conv.id, now):
                return None
            t = service.translator(conv.language)
            return Due(due.chat_id, t, service.presenter.prompt(conv, service._extras(conv, work)), service.dialog.id)

    # ------------------------------------------------------------------ the reminder on the ready date

    def due_ready(self, now: datetime, channel: str) -> list[DueReadyReminder]:
        return self.storage.read.reminders.due(now, channel)

    def ready_reminder(self, channel: str, due: DueReadyReminder, now: datetime) -> Due | None:
        """Claim a ready-date reminder (never twice); None when it no longer applies (it is closed)."""
        service = self.trials.get(due.dialog_id)
        with (service.storage if service else self.storage).unit_of_work() as work:
            store = work.reminders
            if not due.address_enc or work.channel_records is None or service is None:
                store.end(due.conversation_id, ReminderStatus.CLOSED)
                return None
            conv = work.conversations.load(channel, due.user_key)
            gone = conv is None or conv.id != due.conversation_id
            if gone or not service.dialog.recruiting or (conv.outcome and conv.outcome != NOT_YET):
                store.end(due.conversation_id, ReminderStatus.CLOSED)
                return None
            if not store.claim(conv.id, now):
                return None
            chat_id = int(work.channel_records.vault.decrypt(due.address_enc))
            t = service.translator(conv.language)
            log.info("a ready-date reminder was sent")
            return Due(chat_id, t, service.presenter.reminder(t), service.dialog.id)

    # ------------------------------------------------------------------ clean-up

    def defer_wipes(self, schedule: Callable[[], None]) -> Callable[[], None]:
        return self.storage.defer_wipes(schedule)

    async def wipe_pending(self) -> bool:
        return await self.storage.wipe_pending()
