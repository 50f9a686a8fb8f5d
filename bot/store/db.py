"""The SQLite file: opening it safely, and the schema with its migrations.

WAL mode lets a reader (staff export) run beside the bot; `synchronous=FULL`
makes a committed answer survive a power cut, which matters more here than speed.
The file is created readable by its owner only: it holds health data.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils


def _v1(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            user_key TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'active',
            state TEXT NOT NULL,
            language TEXT NOT NULL,
            respondent TEXT,
            answers TEXT NOT NULL DEFAULT '{}',
            editing INTEGER NOT NULL DEFAULT 0,
            last_question TEXT NOT NULL DEFAULT '',
            draft TEXT NOT NULL DEFAULT '[]',
            outcome TEXT NOT NULL DEFAULT '',
            dialog_id TEXT NOT NULL,
            dialog_version TEXT NOT NULL,
            dialog_hash TEXT NOT NULL,
            consent_version TEXT NOT NULL DEFAULT '',
            consented_at TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE UNIQUE INDEX conversations_by_user ON conversations(channel, user_key)")
    db.execute(
        """
        CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            question_id TEXT NOT NULL,
            value TEXT NOT NULL,
            answered_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX answers_by_conversation ON answers(conversation_id)")
    db.execute(
        """
        CREATE TABLE outcomes (
            id INTEGER PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            outcome TEXT NOT NULL,
            reasons TEXT NOT NULL,
            ready_from TEXT NOT NULL DEFAULT '',
            dialog_version TEXT NOT NULL,
            decided_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX outcomes_by_conversation ON outcomes(conversation_id)")


def _v2_telegram(db: sqlite_utils.Database) -> None:
    """Telegram: update ids already seen (replays change nothing) and the one reminder per conversation."""
    db.execute("CREATE TABLE telegram_updates (update_id INTEGER PRIMARY KEY, seen_at TEXT NOT NULL)")
    db.execute(
        """
        CREATE TABLE telegram_reminders (
            conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
            chat_id INTEGER NOT NULL,
            due_at TEXT NOT NULL DEFAULT '',
            sent_at TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX telegram_reminders_due ON telegram_reminders(due_at)")


#: Schema migrations, in order. Never edit a released one: append a new function.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2_telegram]


def open_database(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed, mode 0600) and migrate the screening database."""
    path = Path(path)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    migrate(db)
    return db


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database) -> None:
    """Bring the schema up to date, one transaction per step."""
    current = schema_version(db)
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"The database schema is version {current}, newer than this program knows ({len(MIGRATIONS)}). "
            "Upgrade the program before using this database."
        )
    for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
