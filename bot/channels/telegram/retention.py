"""The daily retention purge, run inside the bot beside the reminder loop.

Same shape as the reminders (loops.PeriodicCheck): it asks "is a purge due?" every
`check_every` seconds by the bot's own clock. A purge runs at start and then once a
day; it is a handful of indexed DELETEs, run in the event loop's thread because the
bot shares one database connection. The periods come from RETAIN_*_DAYS
(bot/retention.py); afterwards the staff chat's posts about removed leads are blanked.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ...retention import Retention
from ...screening.upkeep import PurgeCounts
from .loops import PeriodicCheck

if TYPE_CHECKING:
    from .handlers import TelegramChannel

log = logging.getLogger(__name__)

EVERY = timedelta(days=1)


class DailyPurge(PeriodicCheck):
    name = "retention purge"

    def __init__(self, channel: TelegramChannel, periods: Retention, check_every: float = 3600.0) -> None:
        super().__init__(check_every)
        self.channel = channel
        self.periods = periods
        self.last_run: datetime | None = None

    async def check(self) -> None:
        await self.run_if_due()

    async def run_if_due(self) -> PurgeCounts | None:
        """Purge when a day has passed since the last purge (or none ran yet); the counts, or None."""
        now = self.channel.clock()
        if self.last_run is not None and now - self.last_run < EVERY:
            return None
        counts = self.channel.upkeep.purge(self.periods, now)
        self.last_run = now
        if counts.total:
            log.info(
                "retention purge: %d unfinished, %d finished without a lead, %d closed leads removed",
                counts.unfinished,
                counts.finished_without_lead,
                counts.closed_leads,
            )
        if self.channel.staff is not None:
            await self.channel.staff.blank_orphans()
        return counts
