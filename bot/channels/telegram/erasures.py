"""After an erasure, in the bot: the write-ahead log emptied off the event loop, staff messages blanked.

An erasure (a person's /delete or "no" to contact, `leads erase` from the command line,
the retention purge) records a pending WAL wipe (bot/store/wipe.py). Inside the bot
the wipe is never tried on the event loop: the erasure only wakes this check, which
tries it in a worker thread, a few times at once, then every `check_every` seconds
until a checkpoint reports success (a staff export may hold a reader open for a
while). The same check blanks the staff messages of leads erased outside this process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .loops import PeriodicCheck

if TYPE_CHECKING:
    from .handlers import TelegramChannel


class ErasureFollowUp(PeriodicCheck):
    name = "erasure follow-up"

    def __init__(self, channel: TelegramChannel, check_every: float = 60.0) -> None:
        super().__init__(check_every)
        self.channel = channel
        self.upkeep = channel.upkeep
        self._hand_back: Callable[[], None] | None = None
        #: Whether the last check left the log empty (tests wait on `checked`, then read this).
        self.wiped = False

    def start(self) -> None:
        self._hand_back = self.upkeep.defer_wipes(self.wake)
        super().start()

    async def stop(self) -> None:
        """Stop, with one last try at a pending wipe (a stopped bot retries nothing; the next start does)."""
        if self._hand_back is not None:
            self._hand_back()
            self._hand_back = None
        await super().stop()
        self.wiped = await self.upkeep.wipe_pending()

    async def check(self) -> None:
        self.wiped = await self.upkeep.wipe_pending()
        if self.channel.staff is not None:
            await self.channel.staff.blank_orphans()
