"""The one gentle reminder, scheduled in SQLite so it survives restarts.

A small loop instead of ptb's JobQueue (which needs APScheduler and keeps its jobs
in memory): the schedule already lives in the database, so the loop only asks it
"what is due?" every minute, and tests can ask the same question directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .handlers import TelegramChannel

log = logging.getLogger(__name__)


class Reminders:
    def __init__(self, channel: TelegramChannel, check_every: float = 60.0) -> None:
        self.channel = channel
        self.check_every = check_every
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def send_due(self) -> int:
        """Send every reminder that is due now; how many were sent."""
        sent = 0
        for due in self.channel.store.due_reminders(self.channel.clock()):
            try:
                sent += await self.channel.remind(due)
            except Exception as exc:  # one failed reminder must not stop the others
                log.error("a reminder failed: %s", type(exc).__name__)
        return sent

    async def _loop(self) -> None:
        while True:
            await self.send_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.check_every)
            self._wake.clear()

    def start(self) -> None:
        if self.channel.reminder_after is not None and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="reminders")

    def wake(self) -> None:
        """Look for due reminders now (e.g. after the clock moved)."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
