"""The "ready date" reminders on Telegram: a sibling of the 24 h nudge loop (reminders.py).

The schedule lives in SQLite (bot/store/ready_reminders.py); the loop asks it what is
due, so a reminder whose day passed while the bot was down goes out when it next runs.
Each is claimed before it is sent (never twice) and goes through the same retrying
Sender. Nothing is sent once the dialog says the trial stopped recruiting: those
reminders are closed instead.
"""

from __future__ import annotations

import logging
from datetime import datetime

from ...dialog.model import NOT_YET, OUTCOMES
from ...store.ready_reminders import CLOSED, DueReadyReminder
from .handlers import TelegramChannel
from .identity import CHANNEL
from .loops import PeriodicCheck
from .sending import ChatBlocked

log = logging.getLogger(__name__)


class ReadyReminders(PeriodicCheck):
    name = "ready-date reminders"

    def __init__(self, channel: TelegramChannel, check_every: float = 60.0) -> None:
        super().__init__(check_every)
        self.channel = channel
        self.rescreen = channel.screener.rescreen
        self.rescreen.channels.add(CHANNEL)

    def note_chat(self, conversation_id: str, chat_id: int, stopped: bool, now: datetime) -> None:
        """After each update: remember where an agreed reminder goes; after /stop, the 24 h nudge is used up too."""
        store = self.rescreen.store
        if store.needs_address(conversation_id):
            store.note_address(conversation_id, self.channel.store.vault.encrypt(str(chat_id)))
        if stopped:
            self.channel.store.schedule_reminder(conversation_id, chat_id, now)
            self.channel.store.claim_reminder(conversation_id, now)

    async def send_due(self) -> int:
        """Send every ready-date reminder that is due now; how many were sent."""
        sent = 0
        for due in self.rescreen.store.due(self.channel.clock(), CHANNEL):
            try:
                sent += await self._send(due)
            except Exception as exc:  # one failed reminder must not stop the others
                log.error("a ready-date reminder failed: %s", type(exc).__name__, exc_info=True)
        return sent

    async def _send(self, due: DueReadyReminder) -> bool:
        store = self.rescreen.store
        if not due.address_enc:
            store.end(due.conversation_id, CLOSED)
            return False
        chat_id = int(self.channel.store.vault.decrypt(due.address_enc))
        async with self.channel._lock(chat_id):
            conv = self.channel.screener.store.load(CHANNEL, due.user_key)
            gone = conv is None or conv.id != due.conversation_id
            if (
                gone
                or not self.channel.screener.dialog.recruiting
                or (conv.state in OUTCOMES and conv.state != NOT_YET)
            ):
                store.end(due.conversation_id, CLOSED)
                return False
            if not store.claim(conv.id, self.channel.clock()):
                return False
            t = self.channel.screener.translator(conv.language)
            try:
                await self.channel._show(chat_id, self.rescreen.reminder(conv, t), t)
            except ChatBlocked:
                self.channel._blocked(chat_id)
            log.info("a ready-date reminder was sent")
            return True

    async def check(self) -> None:
        await self.send_due()
