"""The "ready date" reminders on Telegram: a sibling of the 24 h nudge loop (reminders.py).

The schedule lives in the database (the service's upkeep reads it); the loop asks what is
due, so a reminder whose day passed while the bot was down goes out when it next runs.
Each is claimed before it is sent (never twice) and goes through the same retrying
Sender. Nothing is sent once the dialog says the trial stopped recruiting: those
reminders are closed instead. Where it goes (the chat id, encrypted) is kept by the
service at each of the person's steps.
"""

from __future__ import annotations

import logging

from ...replies import Reply
from ...screening import DueReadyReminder
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
        self.upkeep = channel.upkeep

    async def send_due(self) -> int:
        """Send every ready-date reminder that is due now; how many were sent."""
        sent = 0
        for due in self.upkeep.due_ready(self.channel.clock(), CHANNEL):
            try:
                sent += await self._send(due)
            except Exception as exc:  # one failed reminder must not stop the others
                log.error("a ready-date reminder failed: %s", type(exc).__name__, exc_info=True)
        return sent

    async def _send(self, due: DueReadyReminder) -> bool:
        found = self.upkeep.ready_reminder(CHANNEL, due, self.channel.clock())
        if found is None:
            return False
        async with self.channel._lock(found.address):
            await self.channel.service.flush()
            try:
                await self.channel._show(found.address, Reply([], found.prompt), found.translator, found.dialog_id)
            except ChatBlocked:
                self.channel._blocked(found.address)
            return True

    async def check(self) -> None:
        await self.send_due()
