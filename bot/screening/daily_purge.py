"""The daily retention purge, in every long-running process: the Telegram bot, the web chat, both.

At start and then once a day (by the process's clock, asked every `check_every` seconds),
everything past its retention period is removed (bot/store/retention.py, periods from
RETAIN_*_DAYS). The purge runs in a worker thread on a connection of its own, never on the
event loop: the channels share one connection among all their chats, and a purge that
waits for the write lock must not hold them up. Once per process and database: a second
loop for the same file (say, the web chat inside `screening-bot run --web`) does not start.

Deployments that run none of these processes run `screening-bot purge` from a timer
(README, "Retention"; deploy/systemd/).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from ..periodic import PeriodicCheck
from ..retention import Retention
from ..store.retention import PurgeCounts, purge, purge_apart
from ..store.wipe import database_file
from .service import ScreeningService

log = logging.getLogger(__name__)

EVERY = timedelta(days=1)

#: The database files whose purge a loop in this process runs.
_CLAIMED: set[str] = set()


class DailyPurge(PeriodicCheck):
    name = "retention purge"

    def __init__(
        self,
        service: ScreeningService,
        periods: Retention,
        clock: Callable[[], datetime] | None = None,
        check_every: float = 3600.0,
    ) -> None:
        super().__init__(check_every)
        self.db = service.storage.db
        self.periods = periods
        self.clock = clock or (lambda: datetime.now(UTC))
        self.last_run: datetime | None = None
        #: Run after each purge, on the event loop (the Telegram bot blanks staff posts of removed leads).
        self.after: list[Callable[[], Awaitable[None]]] = []
        self._claim = database_file(self.db) or f"memory:{id(self.db)}"
        self.claimed = False

    def start(self) -> None:
        """Start the loop, unless another loop of this process already purges this database."""
        if self._claim in _CLAIMED and not self.claimed:
            log.debug("the retention purge already runs in this process")
            return
        _CLAIMED.add(self._claim)
        self.claimed = True
        super().start()

    async def stop(self) -> None:
        await super().stop()
        if self.claimed:
            _CLAIMED.discard(self._claim)
            self.claimed = False

    async def check(self) -> None:
        await self.run_if_due()

    async def run_if_due(self) -> PurgeCounts | None:
        """Purge when a day has passed since the last purge (or none ran yet); the counts, or None."""
        now = self.clock()
        if self.last_run is not None and now - self.last_run < EVERY:
            return None
        if database_file(self.db):
            counts = await asyncio.to_thread(purge_apart, self.db, now, self.periods)
        else:  # an in-memory database has no second connection (tests only)
            counts = purge(self.db, now, self.periods)
        self.last_run = now
        if counts.total:
            log.info(
                "retention purge: %d unfinished, %d finished without a lead, %d closed leads removed",
                counts.unfinished,
                counts.finished_without_lead,
                counts.closed_leads,
            )
        for then in self.after:
            await then()
        return counts


def purging_databases() -> set[str]:
    """The database files a purge loop of this process looks after (tests check it is one per file)."""
    return set(_CLAIMED)
