"""What the web chat keeps between two requests: rate-limit buckets and the last reply of each session.

Kept in SQLite, not in a process's memory, so several uvicorn workers (or a restarted
one) serve one deployment: a post answered by one worker and the page after its redirect
drawn by another show the same thing, and a limit holds whichever worker a post reaches.

- `web_limits`: one token bucket per key (a session's or an address's, each a keyed hash
  made by the channel: no session id and no address is stored). A bucket holds up to
  `per_minute` posts and refills evenly; taking one is one UPSERT that changes nothing
  when the bucket is empty, so a flood of refused posts writes nothing.
- `web_turns`: the last reply of each web session (its notices and prompt, as the channel
  serialised them), to draw after the redirect, written in the unit of work of the step that
  made it (ScreeningService.handle's `keep`), under a key of the session's own (not the
  conversation's user key) and with the id of the conversation it belongs to. It can repeat
  what the person was told about their answers, so it goes when that conversation goes (a
  trigger on `conversations`: erasure, the retention purge and every other delete), and it
  is forgotten an hour after it was written.

Both are small: `forget` removes what is older than an hour (a bucket untouched for a
minute is full again, which is the same as no row).
"""

from __future__ import annotations

import sqlite_utils

from .conversations import transaction

#: A turn older than this is no longer shown (the page shows the current step afresh), and is removed.
TURN_SECONDS = 3600.0
#: A bucket idle this long is full again whatever its size (at most a minute), and is removed.
BUCKET_SECONDS = 3600.0

_TAKE = """
INSERT INTO web_limits (bucket, tokens, at) VALUES (:bucket, :full - 1, :now)
ON CONFLICT(bucket) DO UPDATE SET tokens = min(:full, tokens + max(0, :now - at) * :rate) - 1, at = :now
WHERE min(:full, tokens + max(0, :now - at) * :rate) >= 1
RETURNING tokens
"""


class WebState:
    """The web chat's rate-limit buckets and last replies, in the screening database."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def take(self, buckets: list[tuple[str, int]], now: float) -> tuple[str, float] | None:
        """Take one post from each bucket `(key, per_minute)` in turn, in one transaction.

        None when every bucket had a post to give; else the first empty bucket's key and the
        seconds until it has one again (the buckets after it are left as they were). A
        per_minute of 0 means no limit (and with no limit at all nothing is written, not even a commit)."""
        buckets = [(key, per_minute) for key, per_minute in buckets if per_minute > 0]
        if not buckets:
            return None
        with transaction(self.db):
            for key, per_minute in buckets:
                rate = per_minute / 60.0
                taken = self.db.execute(_TAKE, {"bucket": key, "full": per_minute, "rate": rate, "now": now})
                if not taken.fetchall():
                    tokens, at = self.db.execute("SELECT tokens, at FROM web_limits WHERE bucket = ?", [key]).fetchone()
                    have = min(per_minute, tokens + max(0.0, now - at) * rate)
                    return key, max(0.0, (1 - have) / rate)
        return None

    def save_turn(self, session: str, conversation_id: str, turn: str, now: float) -> None:
        """Keep the last reply of a web session (replacing the one before), with its conversation's id."""
        self.db.execute(
            "INSERT INTO web_turns (session, conversation_id, turn, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(session) DO UPDATE SET"
            " conversation_id = excluded.conversation_id, turn = excluded.turn, at = excluded.at",
            [session, conversation_id, turn, now],
        )

    def turn(self, session: str, now: float) -> str | None:
        """The last reply of a web session, unless it is older than TURN_SECONDS."""
        row = self.db.execute(
            "SELECT turn FROM web_turns WHERE session = ? AND at >= ?", [session, now - TURN_SECONDS]
        ).fetchone()
        return row[0] if row else None

    def forget(self, now: float) -> int:
        """Remove old turns and idle buckets; how many rows went."""
        with transaction(self.db):
            turns = self.db.execute("DELETE FROM web_turns WHERE at < ?", [now - TURN_SECONDS]).rowcount
            buckets = self.db.execute("DELETE FROM web_limits WHERE at < ?", [now - BUCKET_SECONDS]).rowcount
        return turns + buckets
