"""What the web chat keeps between two requests, as the web channel and the console see it.

The rate-limit buckets and the last reply of each web session live in the screening
database (bot/store/web_state.py), so several worker processes serve one deployment. The
channel reaches them here, like every other repository, never through the store. Each call
is short: taking a post from its buckets is one transaction before the step (an UPSERT per
bucket, nothing written when a bucket is empty or no limit is set); keeping a reply is one
UPSERT, inside the step's unit of work when the channel passes it as `handle(..., keep=...)`
(the reply is not an answer: losing it shows the current step afresh, never what was said).
"""

from __future__ import annotations

from ..store.storage import Storage
from ..store.web_state import BUCKET_SECONDS, TURN_SECONDS

__all__ = ["BUCKET_SECONDS", "TURN_SECONDS", "WebSessions"]


class WebSessions:
    """Rate-limit buckets and kept replies of the web chat, on one service's database."""

    def __init__(self, storage: Storage) -> None:
        self._state = storage.read.web_state

    def take(self, buckets: list[tuple[str, int]], now: float) -> tuple[str, float] | None:
        """Take one post from each bucket `(key, per_minute)`; None when all allowed it, else the first
        empty bucket's key and the seconds until it has one again (bot/store/web_state.py)."""
        return self._state.take(buckets, now)

    def save_turn(self, session: str, conversation_id: str, turn: str, now: float) -> None:
        """Keep a session's last reply (replacing the one before), tied to its conversation's id."""
        self._state.save_turn(session, conversation_id, turn, now)

    def turn(self, session: str, now: float) -> str | None:
        """A session's last reply, unless it is older than TURN_SECONDS."""
        return self._state.turn(session, now)

    def forget(self, now: float) -> int:
        """Remove old replies and idle buckets; how many rows went."""
        return self._state.forget(now)
