"""The audit log and the anonymous counters: what staff did, and how many people did what.

The audit log is append-only (SQLite triggers refuse UPDATE and DELETE) and tamper-evident:
each entry carries `chain`, an HMAC-SHA256 over the previous entry's chain and this entry's
content, keyed with the audit key (a random key in the vault, encrypted with the encryption
key, never in the clear in the database). Editing, deleting or inserting an entry, or dropping
a trigger to do so, breaks the chain from there on, and `verify` (`screening-bot audit verify`,
and every start of a long-running process) says where. Keyed, not a plain hash: with a plain
SHA-256 chain whoever can write the file could recompute every later link after an edit; with
the key that takes the key too (and the file itself is encrypted with a key made from the same
secret). Removing the newest entries leaves a shorter chain that still verifies: `verify`
prints the head (the number of entries and the last link) so it can be noted elsewhere.

Entries name the staff member (on the command line: the login name and uid the operating
system gives, never a name typed in; on Telegram: the user id), the action, a lead id and the
ids of the leads a view or export showed (`leads_seen`), never contact details or answers, so
an erasure can be logged without keeping what was erased.

Counters are per month and per trial (the dialog id) and carry no other ids: they are what
is left of a screening after erasure or purge, so the funnel in `screening-bot stats`
survives both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from .transactions import transaction
from .wipe import database_file

#: The two triggers that keep the log append-only, exactly as the schema makes them.
TRIGGERS = {
    f"audit_log_no_{verb.lower()}": (
        f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log\n"
        "                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )
    for verb in ("UPDATE", "DELETE")
}
GENESIS = "audit-chain-start"
_COLUMNS = ("id", "at", "who", "action", "lead_id", "detail", "leads_seen")

#: database file (or in-memory database) -> the audit key its vault holds
_KEYS: dict[str, bytes] = {}


def _where(db: sqlite_utils.Database) -> str:
    return database_file(db) or f"memory:{id(db)}"


def use_key(db: sqlite_utils.Database, key: bytes) -> None:
    """The vault tells the log its key (bot/store/vault.open_vault); every connection to the file shares it.

    A database opened without its vault (only tests do) chains with an empty key."""
    _KEYS[_where(db)] = key


def _key(db: sqlite_utils.Database) -> bytes:
    return _KEYS.get(_where(db), b"")


def erasure_mark(db: sqlite_utils.Database, conversation_id: str) -> str:
    """A keyed hash of an erased conversation's id, for its audit entry: it links to nothing left in the
    database, yet a restore can find the conversation in an older backup and erase it again."""
    return hmac.new(_key(db), f"erased\0{conversation_id}".encode(), hashlib.sha256).hexdigest()[:24]


def _stamp(at: datetime | None) -> datetime:
    return (at or datetime.now(UTC)).astimezone(UTC)


def link(key: bytes, previous: str, row: dict[str, Any] | tuple[Any, ...]) -> str:
    """The chain value of one entry: HMAC-SHA256(key, previous link + the entry's canonical content)."""
    values = [row[c] for c in _COLUMNS] if isinstance(row, dict) else list(row)
    content = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, f"{previous}\n{content}".encode(), hashlib.sha256).hexdigest()


def record(
    db: sqlite_utils.Database,
    who: str,
    action: str,
    lead_id: str = "",
    detail: str = "",
    at: datetime | None = None,
    seen: Iterable[str] = (),
) -> None:
    """Append one entry, chained to the last; `detail` must never hold contact details or answers.

    `seen`: the ids of the leads the action showed (a list, a card, an export)."""
    with transaction(db):  # the write lock: no other entry can come between reading the last link and this one
        last = db.execute("SELECT id, chain FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        number, previous = (int(last[0]) + 1, last[1]) if last else (1, "")
        row = (
            number,
            _stamp(at).isoformat(timespec="seconds"),
            who[:64] or "unknown",
            action,
            lead_id,
            detail[:500],
            " ".join(dict.fromkeys(seen)),
        )
        entry = dict(zip(_COLUMNS, row, strict=True))
        db["audit_log"].insert({**entry, "chain": link(_key(db), previous, row)})  # sqlite-utils: a savepoint


def start_chain(db: sqlite_utils.Database, key: bytes) -> int:
    """Chain every entry there is (made before the chain, or without the key) under `key`, then add the
    marked genesis entry; once, when the vault first makes the audit key. Returns how many were chained.

    The append-only triggers are lifted for this one transaction and put back as they were."""
    with transaction(db):
        rows = list(db.query(f"SELECT {', '.join(_COLUMNS)} FROM audit_log ORDER BY id"))
        for name in TRIGGERS:
            db.execute(f"DROP TRIGGER IF EXISTS {name}")
        previous = ""
        for row in rows:
            previous = link(key, previous, row)
            db.execute("UPDATE audit_log SET chain = ? WHERE id = ?", [previous, row["id"]])
        for sql in TRIGGERS.values():
            db.execute(sql)
        use_key(db, key)
        detail = (
            f"entries 1 to {rows[-1]['id']} were made before the chain; chained now, as found" if rows else "a new log"
        )
        record(db, "screening-bot", GENESIS, detail=detail)
    return len(rows)


@dataclass(frozen=True)
class Verdict:
    entries: int
    head: str
    problems: list[str]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(db: sqlite_utils.Database) -> Verdict:
    """Check the triggers and every link; say where the log was edited, cut or added to."""
    problems = []
    triggers = {
        r[0]: " ".join(r[1].split())
        for r in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")
    }
    for name, sql in TRIGGERS.items():
        if name not in triggers:
            problems.append(f"the trigger {name} was dropped: the log could be edited without an error")
        elif triggers[name] != " ".join(sql.split()):
            problems.append(f"the trigger {name} was changed")
    key = _key(db)
    rows = list(db.query(f"SELECT {', '.join(_COLUMNS)}, chain FROM audit_log ORDER BY id"))
    previous, expected_id, head = "", None, ""
    for row in rows:
        if expected_id is not None and row["id"] != expected_id:
            gone = f"{expected_id}" if row["id"] == expected_id + 1 else f"{expected_id} to {row['id'] - 1}"
            problems.append(f"entries {gone} were deleted")
        if row["chain"] != link(key, previous, row):
            problems.append(f"entry {row['id']} ({row['at']}, {row['action']}) was changed or inserted")
        previous, expected_id, head = row["chain"], row["id"] + 1, row["chain"]
    if rows and not any(r["action"] == GENESIS for r in rows):
        problems.append("the genesis entry of the chain is missing")
    return Verdict(len(rows), head, problems)


def entries(db: sqlite_utils.Database, limit: int = 100) -> list[dict[str, Any]]:
    """The newest entries first."""
    return list(db.query("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", [limit]))


def count(db: sqlite_utils.Database, name: str, n: int = 1, at: datetime | None = None, dialog_id: str = "") -> None:
    """Add `n` to an anonymous monthly counter of one trial (e.g. 'started', 'outcome:needs_review',
    'stopped:age'); "" for a count that belongs to no trial."""
    if n <= 0:
        return
    db.execute(
        "INSERT INTO counters (month, dialog_id, name, count) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(month, dialog_id, name) DO UPDATE SET count = count + excluded.count",
        [_stamp(at).strftime("%Y-%m"), dialog_id, name, n],
    )


def totals(db: sqlite_utils.Database, dialog_id: str | None = None) -> dict[str, int]:
    """Every counter summed over all months: of one trial, or (None) of every trial together."""
    where, params = ("WHERE dialog_id = ?", [dialog_id]) if dialog_id is not None else ("", [])
    rows = db.query(f"SELECT name, SUM(count) AS total FROM counters {where} GROUP BY name", params)
    return {r["name"]: r["total"] for r in rows}
