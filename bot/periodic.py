"""The shape shared by background work: reminders, ready-date reminders, the daily purge, wipes.

Each keeps its schedule in SQLite, so its loop only asks "is anything due?" every
`check_every` seconds, or at once when woken. A test moves the bot's clock and
calls `wake()` (then waits on `checked`) instead of sleeping. No scheduler
dependency: ptb's JobQueue would need APScheduler and keeps its jobs in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class PeriodicCheck:
    """Run `check()` at start, then every `check_every` seconds or when woken, until stopped."""

    #: Names the task and the log line when a check fails (never with personal data).
    name = "periodic check"

    def __init__(self, check_every: float) -> None:
        self.check_every = check_every
        #: Set after every check (tests wait on it instead of sleeping).
        self.checked = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def check(self) -> None:
        raise NotImplementedError

    def enabled(self) -> bool:
        return True

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.check()
            except Exception as exc:  # a failed check is tried again at the next one
                log.error("%s failed: %s", self.name, type(exc).__name__)
            self.checked.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.check_every)
            self._wake.clear()

    def start(self) -> None:
        if self.enabled() and self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name=self.name)

    def wake(self) -> None:
        """Check now (e.g. after the clock moved); `checked` is set again when done."""
        self.checked.clear()
        self._wake.set()

    async def stop(self) -> None:
        """Cancel the loop. The flag as well: on Python 3.11, `asyncio.wait_for` loses a cancellation
        that arrives just as the awaited event is set (a wake right before the stop)."""
        if self._task is not None:
            self._stopping = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
