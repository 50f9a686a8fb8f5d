"""The one gentle reminder, scheduled in SQLite so it survives restarts.

The schedule lives in the database; the loop (loops.PeriodicCheck) asks it "what is
due?" every minute, and tests can ask the same question directly.
"""

from __future__ import annotations

import logging

from .handlers import TelegramChannel
from .loops import PeriodicCheck

log = logging.getLogger(__name__)


class Reminders(PeriodicCheck):
    name = "reminders"

    def __init__(self, channel: TelegramChannel, check_every: float = 60.0) -> None:
        super().__init__(check_every)
        self.channel = channel

    def enabled(self) -> bool:
        return self.channel.reminder_after is not None

    async def check(self) -> None:
        await self.send_due()

    async def send_due(self) -> int:
        """Send every reminder that is due now; how many were sent."""
        sent = 0
        for due in self.channel.upkeep.due_nudges(self.channel.clock()):
            try:
                sent += await self.channel.remind(due)
            except Exception as exc:  # one failed reminder must not stop the others
                log.error("a reminder failed: %s", type(exc).__name__)
        return sent
