"""The daily retention purge, run inside the bot beside the reminder loop.

Same shape as the reminders (no scheduler dependency): a small loop that asks "is a
purge due?" every `check_every` seconds by the bot's own clock, so a test moves the
clock and wakes the loop instead of sleeping. A purge runs at start and then once a
day; it is a handful of indexed DELETEs, run in the event loop's thread because the
bot shares one SQLite connection. The periods come from RETAIN_*_DAYS
(bot/retention.py); afterwards the staff chat's posts about removed leads are blanked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ...retention import Retention
from ...store.retention import PurgeCounts, daily_purge

if TYPE_CHECKING:
    from .handlers import TelegramChannel

log = logging.getLogger(__name__)

EVERY = timedelta(days=1)


class DailyPurge:
    def __init__(self, channel: TelegramChannel, periods: Retention, check_every: float = 3600.0) -> None:
        self.channel = channel
        self.periods = periods
        self.check_every = check_every
        self._purge: Callable[[], Awaitable[PurgeCounts]] = daily_purge(
            channel.screener.store.db, periods, channel.clock
        )
        self.last_run: datetime | None = None
        #: Set after every check of the loop (tests wait on it instead of sleeping).
        self.checked = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_if_due(self) -> PurgeCounts | None:
        """Purge when a day has passed since the last purge (or none ran yet); the counts, or None."""
        now = self.channel.clock()
        if self.last_run is not None and now - self.last_run < EVERY:
            return None
        counts = await self._purge()
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

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_if_due()
            except Exception as exc:  # a failed purge is tried again at the next check
                log.error("retention purge failed: %s", type(exc).__name__)
            self.checked.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.check_every)
            self._wake.clear()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="retention-purge")

    def wake(self) -> None:
        """Check now (e.g. after the clock moved); `checked` is set again when done."""
        self.checked.clear()
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
