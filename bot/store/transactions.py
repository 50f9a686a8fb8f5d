"""Transactions: one atomic write, nested writes as savepoints, and work to do once a commit is done.

The unit of work (storage.py) is the outermost transaction of a step; every repository's
own `transaction()` inside it becomes a savepoint, so the step still commits once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlite_utils


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


#: Work to do once the outermost transaction of a connection has committed, by connection. Keyed by
#: the connection itself, not its `id()`: an id is reused once its object is gone, so a closed
#: connection's leftover work could run at another connection's commit.
_AFTER_COMMIT: dict[Any, list[Callable[[], object]]] = {}


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One atomic write: all of it reaches the disk, or none of it.

    Inside another transaction it is a savepoint: its writes join the outer commit (a
    channel commits everything one update changes at once), and a failure inside it is
    still undone on its own. Never hold one across an `await`: the connection is shared
    by every chat."""
    conn = db.conn
    if conn.in_transaction:
        conn.execute("SAVEPOINT nested")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # not after a failure SQLite answered by rolling back everything
                conn.execute("ROLLBACK TO nested")
                conn.execute("RELEASE nested")
            raise
        conn.execute("RELEASE nested")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")  # may fail too (a full disk): then it is undone like any failure
    except BaseException:
        if conn.in_transaction:  # SQLite itself rolls back after some failures (disk full, I/O error)
            conn.execute("ROLLBACK")
        _AFTER_COMMIT.pop(conn, None)
        raise
    for work in _AFTER_COMMIT.pop(conn, ()):
        work()


def after_commit(db: sqlite_utils.Database, work: Callable[[], object]) -> None:
    """Run `work` now, or, inside a transaction, once it has committed (e.g. emptying the
    write-ahead log after an erasure, which SQLite cannot do inside a transaction)."""
    if db.conn.in_transaction:
        _AFTER_COMMIT.setdefault(db.conn, []).append(work)
    else:
        work()
