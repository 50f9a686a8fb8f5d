"""Group commit: every answer is on disk before it is acknowledged, with one fsync for many answers.

With `synchronous=FULL` SQLite fsyncs the write-ahead log inside every COMMIT, on the
event loop: about half a millisecond each on a good disk, three times per Telegram
update, while every other chat waits. The Telegram channel instead commits with
`synchronous=NORMAL` (the transaction is complete in the WAL, which survives a killed
process, but not yet a power cut) and, before it sends anything to anyone, awaits
`DurableLog.flush()`: one fsync of the WAL in a worker thread covers every commit made
before it started, for all chats at once. So nothing is acknowledged (no reply, no
edited question) before it would survive a power cut, as with FULL, and the fsync no
longer blocks the other chats. SQLite itself still syncs the WAL around checkpoints
and when it starts reusing it, so the file stays consistent whatever happens.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import sqlite_utils


class DurableLog:
    """Waits until the database's committed changes are on disk, sharing one fsync among all waiters."""

    def __init__(self, db: sqlite_utils.Database, path: str | Path) -> None:
        self.db = db
        self.path = Path(path)
        db.execute("PRAGMA synchronous=NORMAL")
        self._synced = db.conn.total_changes
        self._running: tuple[asyncio.Future[None], int] | None = None

    def _fsync(self) -> None:
        """fsync the write-ahead log (or the database file when there is none yet)."""
        wal = self.path.with_name(self.path.name + "-wal")
        target = wal if wal.exists() else self.path
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    async def flush(self) -> None:
        """Return once everything committed before this call is on disk."""
        wanted = self.db.conn.total_changes
        while self._synced < wanted:
            if self._running is None:
                # Every commit so far is in the WAL file already: this fsync covers them all.
                future = asyncio.get_running_loop().run_in_executor(None, self._fsync)
                self._running = (future, self.db.conn.total_changes)
            future, covers = self._running
            try:
                await asyncio.shield(future)
            finally:
                if self._running is not None and self._running[0] is future:
                    self._running = None
            self._synced = max(self._synced, covers)


def durable_flush(db: sqlite_utils.Database) -> Callable[[], Awaitable[None]] | None:
    """A group-commit flush for the database's file (None for an in-memory database).

    Each async channel that acknowledges answers (Telegram, and the web chat when it runs
    inside the bot's process) awaits it before it replies.
    """
    path = next((row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main"), "")
    return DurableLog(db, path).flush if path else None
