"""After an erasure, the write-ahead log is emptied: checked, retried until done, never on the event loop.

Erased rows are overwritten in the database file (`secure_delete`), but until a
checkpoint copies the log back and truncates it, the WAL file still holds the pages
as they were before, erased values included. A `PRAGMA wal_checkpoint(TRUNCATE)`
cannot finish while another connection is reading an older snapshot (a staff export,
a backup, an `sqlite3` shell); it then reports `busy`, and nothing is emptied.

So every erasure records a *pending wipe* in the same transaction (table `wal_wipes`,
which holds only a time: no personal data), and the wipe is tried right after the
commit and again until a checkpoint reports success:

- each attempt opens its own short-lived connection with no busy wait
  (`timeout=0`), so it never holds the database's write lock while it waits for a
  reader, and never ties up the shared connection of the bot;
- a bounded number of attempts follow at once, with short pauses; in the async
  channels in a worker thread (`asyncio.to_thread`), in the others in place;
- what is still pending is tried again at every start (`open_database`), by every
  staff command (they all open the database), and every minute in the long-running
  processes (Telegram, web), until it succeeds.

An async channel registers itself with `defer_wipes`: an erasure then only tells it
(it schedules the attempts off the event loop) instead of trying in place.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

from . import sqlcipher
from .transactions import after_commit

log = logging.getLogger(__name__)

#: Attempts made at once after an erasure (and at start), and the first pause between them
#: (doubled each time): at most about 0.75 s in all, then the wipe waits for the next retry.
ATTEMPTS = 5
FIRST_PAUSE = 0.05

#: database -> the (weakly held) methods of the async channels that took over its wipes
_DEFERRED: weakref.WeakKeyDictionary[sqlite_utils.Database, list[weakref.WeakMethod[Callable[[], None]]]] = (
    weakref.WeakKeyDictionary()
)


def request_wipe(db: sqlite_utils.Database) -> None:
    """Note that the log must be emptied; call it inside the erasing transaction, so a crash keeps the note.

    Once the transaction commits, the channels that deferred wipes are told; without one,
    the wipe is tried here and now (a command-line tool, the terminal chat)."""
    db.execute("INSERT INTO wal_wipes (requested_at) VALUES (?)", [datetime.now(UTC).isoformat(timespec="seconds")])
    after_commit(db, lambda: _after_erasure(db))


def _after_erasure(db: sqlite_utils.Database) -> None:
    schedulers = [schedule for ref in _DEFERRED.get(db, []) if (schedule := ref()) is not None]
    if not schedulers:
        wipe_pending(db)
        return
    for schedule in schedulers:
        schedule()


def defer_wipes(db: sqlite_utils.Database, schedule: Callable[[], None]) -> Callable[[], None]:
    """An async channel takes over the wipes of `db`: `schedule` (a bound method, held weakly, so a
    channel that is gone hands the wipes back by itself) is called after each erasure and must start
    `wipe_pending_async` soon. Returns the function that hands them back at once."""
    ref = weakref.WeakMethod(schedule)  # type: ignore[arg-type]
    refs = _DEFERRED.setdefault(db, [])
    refs[:] = [r for r in refs if r() is not None] + [ref]

    def undo() -> None:
        if ref in _DEFERRED.get(db, []):
            _DEFERRED[db].remove(ref)

    return undo


def pending(db: sqlite_utils.Database) -> int:
    """The newest pending wipe's number (0 when none is pending)."""
    row = db.execute("SELECT max(id) FROM wal_wipes").fetchone()
    return int(row[0] or 0)


def database_file(db: sqlite_utils.Database) -> str:
    """The path of the database file ('' for an in-memory database, which has no log to wipe)."""
    return next((row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main"), "")


def checkpoint(path: str, key: bytes | None = None) -> tuple[int, int, int]:
    """One `wal_checkpoint(TRUNCATE)` on a connection of its own, without waiting: (busy, log, checkpointed).

    busy is 0 when the log was copied back and truncated to nothing; 1 when a reader (or
    a writer) was in the way and the log was left as it was. Any other failure (a full
    disk ...) counts as busy: the wipe stays pending and is tried again."""
    try:
        conn = sqlcipher.connect(path, key, timeout=0)
    except sqlcipher.sqlite.Error:
        return 1, -1, -1
    try:
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return int(busy), int(frames), int(copied)
    except sqlcipher.sqlite.Error:  # e.g. "database is locked": someone is writing right now
        return 1, -1, -1
    finally:
        conn.close()


def _attempt(path: str, key: bytes | None, wanted: int) -> bool:
    """Empty the log, then forget the pending wipes up to `wanted` (and empty the log of that note too)."""
    if checkpoint(path, key)[0] != 0:
        return False
    try:
        conn = sqlcipher.connect(path, key, timeout=1)
    except sqlcipher.sqlite.Error:
        return True  # the wipe is done; the note goes at the next attempt
    try:
        conn.execute("DELETE FROM wal_wipes WHERE id <= ?", [wanted])
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # best effort: the note itself is no personal data
    except sqlcipher.sqlite.Error:
        pass  # the wipe is done; the note goes at the next attempt
    finally:
        conn.close()
    return True


def wipe_pending(db: sqlite_utils.Database, attempts: int = ATTEMPTS, pause: float = FIRST_PAUSE) -> bool:
    """Empty the log if a wipe is pending, in this thread, with a bounded number of attempts; True when done."""
    wanted, path = pending(db), database_file(db)
    if not wanted or not path:
        return True
    for number in range(attempts):
        if _attempt(path, sqlcipher.key_of(db), wanted):
            return True
        if number + 1 < attempts:
            time.sleep(pause * 2**number)
    log.warning("the write-ahead log could not be emptied yet (a reader is open); it will be tried again")
    return False


async def wipe_pending_async(db: sqlite_utils.Database, attempts: int = ATTEMPTS, pause: float = FIRST_PAUSE) -> bool:
    """The same, each attempt in a worker thread: the event loop never waits for a reader."""
    wanted, path = pending(db), database_file(db)
    if not wanted or not path:
        return True
    for number in range(attempts):
        if await asyncio.to_thread(_attempt, path, sqlcipher.key_of(db), wanted):
            return True
        if number + 1 < attempts:
            await asyncio.sleep(pause * 2**number)
    log.warning("the write-ahead log could not be emptied yet (a reader is open); it will be tried again")
    return False
