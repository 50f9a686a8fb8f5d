"""Transactions: one atomic write, savepoints where a failure is caught, and work to do once a commit is done.

The unit of work (storage.py) is the outermost transaction of a step. A repository's own
`transaction()` inside it simply joins it (no statement of its own): the step still commits
once, and a failure anywhere fails the whole step. Where a caller means to catch a failure and
go on (a channel's own record of a reply, a staff notification), it opens a `savepoint()`:
only that part is undone. A failure caught *without* a savepoint cannot slip through half
written: the outer transaction then refuses to commit (`HalfWritten`).
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
#: Connections whose open transaction saw a joined write fail (and someone caught it): never committed.
_HALF_WRITTEN: set[Any] = set()


class HalfWritten(RuntimeError):
    """A write inside a transaction failed and was caught outside a savepoint: the whole transaction is undone."""


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One atomic write: all of it reaches the disk, or none of it.

    Inside another transaction it joins it: its writes commit with the outer one (a
    channel commits everything one update changes at once), and if it fails the outer
    transaction is undone whole, even when the failure is caught on the way (use
    `savepoint()` to undo only a part). Never hold one across an `await`: the connection
    is shared by every chat."""
    conn = db.conn
    if conn.in_transaction:
        try:
            yield
        except BaseException:
            _HALF_WRITTEN.add(conn)
            raise
        return
    _HALF_WRITTEN.discard(conn)  # (left by a transaction not opened here, e.g. sqlite-utils' own)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        if conn in _HALF_WRITTEN:
            raise HalfWritten("a write failed inside this transaction; nothing of it is kept")
        conn.execute("COMMIT")  # may fail too (a full disk): then it is undone like any failure
    except BaseException:
        if conn.in_transaction:  # SQLite itself rolls back after some failures (disk full, I/O error)
            conn.execute("ROLLBACK")
        _AFTER_COMMIT.pop(conn, None)
        raise
    finally:
        _HALF_WRITTEN.discard(conn)
    for work in _AFTER_COMMIT.pop(conn, ()):
        work()


@contextmanager
def savepoint(db: sqlite_utils.Database) -> Iterator[None]:
    """A part of a transaction that a failure undoes on its own, so the caller may catch it and go on
    (outside any transaction, a transaction of its own)."""
    conn = db.conn
    if not conn.in_transaction:
        with transaction(db):
            yield
        return
    conn.execute("SAVEPOINT part")
    half_written_before = conn in _HALF_WRITTEN
    try:
        yield
    except BaseException:
        if conn.in_transaction:  # not after a failure SQLite answered by rolling back everything
            conn.execute("ROLLBACK TO part")
            conn.execute("RELEASE part")
            if not half_written_before:
                _HALF_WRITTEN.discard(conn)  # what failed inside is undone: the rest may commit
        raise
    conn.execute("RELEASE part")


def after_commit(db: sqlite_utils.Database, work: Callable[[], object]) -> None:
    """Run `work` now, or, inside a transaction, once it has committed (e.g. emptying the
    write-ahead log after an erasure, which SQLite cannot do inside a transaction)."""
    if db.conn.in_transaction:
        _AFTER_COMMIT.setdefault(db.conn, []).append(work)
    else:
        work()
