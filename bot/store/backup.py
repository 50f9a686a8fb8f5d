"""Backups that restore: a consistent, encrypted copy taken while the bot runs, and the way back.

`backup` uses SQLite's online backup API on a connection of its own: it copies every page of
one consistent snapshot (a read transaction: in WAL mode the bot goes on writing meanwhile,
and nothing it commits later is in the copy), into a new file encrypted with the same key as
the database (SQLCipher). The copy is checked (`PRAGMA integrity_check`), synced and renamed
into place, so a backup file is whole or absent. Its name says when it was taken.

A backup holds what was erased after it was made: copies older than BACKUP_KEEP_DAYS are
deleted by the next backup, which bounds how long an erased answer can live on.

`restore` checks the backup (it must open with a key there is, be undamaged, not newer than
this program), keeps the database it replaces beside it, copies the backup in under the
newest key, and then erases again everything the replaced database's audit log says was
erased after the backup was taken, and deletes the leads of people who said no to contact
since, so a restore never brings back someone who asked to be deleted, nor a phone number
someone took back. (The log keeps a keyed hash of each erased conversation's id,
`audit.erasure_mark`: it links to nothing left, but matches the conversation in an older copy.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_utils

from ..errors import Problem
from . import audit, sqlcipher
from .db import MIGRATIONS, StoreError, database_files
from .leads import LeadStore
from .retention import erase_conversation
from .vault import Vault

#: <database name>-<UTC time>.db, e.g. screening-20261125T030000Z.db
STAMP = "%Y%m%dT%H%M%SZ"
NAME = re.compile(r"^(?P<stem>.+)-(?P<at>\d{8}T\d{6}Z)\.db$")


@dataclass(frozen=True)
class BackupMade:
    path: Path
    conversations: int
    answers: int
    leads: int
    removed: list[Path]


def backup_name(db_path: Path, at: datetime) -> str:
    return f"{db_path.stem}-{at.astimezone(UTC).strftime(STAMP)}.db"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_backup(
    db: sqlite_utils.Database, db_path: Path, folder: Path, keep_days: int, now: datetime | None = None
) -> BackupMade:
    """Copy `db` (opened with its key) into `folder`, check the copy, and drop copies older than `keep_days`."""
    now = now or datetime.now(UTC)
    key = sqlcipher.key_of(db)
    if key is None:
        raise Problem(f"the database {db_path} is not encrypted, so a backup of it would not be: start the bot once.")
    if folder.resolve() == db_path.resolve().parent:
        raise Problem(
            f"the backup folder {folder} is the database's own folder: a backup there is lost with the disk. "
            "Choose a folder on another disk (SCREENING_BACKUP_DIR or --out)."
        )
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
    final = folder / backup_name(db_path, now)
    partial = final.with_name(final.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    source = sqlcipher.connect(db_path, key)  # its own connection: the bot's goes on meanwhile
    target = sqlcipher.connect(partial, key)
    try:
        source.backup(target)  # one consistent snapshot, every page, in one step
        found = target.execute("PRAGMA integrity_check").fetchone()[0]
        if found != "ok":
            raise StoreError(f"the backup of {db_path} failed its check ({found}); the database may be damaged.")
        counts = [
            int(target.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("conversations", "answers", "leads")
        ]
    except BaseException:
        target.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    target.close()
    _fsync(partial)
    os.replace(partial, final)
    _fsync(folder)
    removed = prune(folder, db_path.stem, now - timedelta(days=keep_days), keep=final)
    return BackupMade(final, *counts, removed)


def prune(folder: Path, stem: str, before: datetime, keep: Path) -> list[Path]:
    """Delete this database's backups taken before `before` (never `keep`, the one just made)."""
    removed = []
    for path in sorted(folder.glob(f"{stem}-*.db")):
        match = NAME.match(path.name)
        if not match or match["stem"] != stem or path == keep:
            continue
        taken = datetime.strptime(match["at"], STAMP).replace(tzinfo=UTC)
        if taken < before:
            path.unlink()
            removed.append(path)
    return removed


def newest_backup(folder: Path, stem: str) -> tuple[Path, datetime] | None:
    """The newest backup of the database named `stem` in `folder`, and when it was taken."""
    found = []
    for path in folder.glob(f"{stem}-*.db"):
        match = NAME.match(path.name)
        if match and match["stem"] == stem:
            found.append((datetime.strptime(match["at"], STAMP).replace(tzinfo=UTC), path))
    if not found:
        return None
    at, path = max(found)
    return path, at


@dataclass(frozen=True)
class Restored:
    kept_aside: Path | None
    erased_again: int


def _open_backup(backup: Path, keys: Sequence[bytes]) -> tuple[sqlcipher.sqlite.Connection, bytes]:
    for key in keys:
        conn = sqlcipher.connect(backup, key)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher.sqlite.DatabaseError:
            conn.close()
            continue
        return conn, key
    raise Problem(
        f"no key there is opens the backup {backup} (it was made with another key: restore the key file that was "
        "in use when the backup was made, e.g. from before a rotate-key, then try again)."
    )


def in_use(db_path: Path, key: bytes | None) -> bool:
    """Whether another program has the database open (leaving WAL mode needs the file to itself)."""
    if not db_path.exists():
        return False
    conn = sqlcipher.connect(db_path, key, timeout=0)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA journal_mode=WAL")
        return False
    except sqlcipher.sqlite.OperationalError as exc:
        return "locked" in str(exc)
    except sqlcipher.sqlite.DatabaseError:  # damaged or another key: nobody can be using it for much
        return False
    finally:
        conn.close()


def check_backup(backup: Path, keys: Sequence[bytes]) -> tuple[int, str]:
    """(schema version, newest audit time) of a backup that opens, is undamaged and not newer than this program."""
    if not backup.is_file():
        raise Problem(f"there is no backup file {backup}. Give the path of a file `screening-bot backup` wrote.")
    conn, _key = _open_backup(backup, keys)
    try:
        found = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if found != "ok":
            raise Problem(f"the backup {backup} is damaged ({found}); restore an older one.")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise Problem(f"the backup {backup} was made by a newer screening-bot (schema {version}); upgrade first.")
        newest = conn.execute("SELECT max(at) FROM audit_log").fetchone()[0] or ""
    finally:
        conn.close()
    return version, newest


def withdrawn_since(db_path: Path, key: bytes | None, since: str) -> set[str]:
    """The ids of the leads deleted since `since` because the person said no to contact (audit: withdraw-contact)."""
    if not db_path.exists():
        return set()
    conn = sqlcipher.connect(db_path, key)
    try:
        rows = conn.execute(
            "SELECT lead_id FROM audit_log WHERE action = 'withdraw-contact' AND at >= ?", [since]
        ).fetchall()
    except sqlcipher.sqlite.Error:
        return set()
    finally:
        conn.close()
    return {lead_id for (lead_id,) in rows if lead_id}


def erased_since(db_path: Path, key: bytes | None, since: str) -> set[str]:
    """The erasure marks (audit.erasure_mark) the replaced database's audit log holds from `since` on, if readable."""
    if not db_path.exists():
        return set()
    conn = sqlcipher.connect(db_path, key)
    try:
        rows = conn.execute(
            "SELECT detail FROM audit_log WHERE action = 'erase' AND at >= ? ORDER BY id", [since]
        ).fetchall()
    except sqlcipher.sqlite.Error:
        return set()
    finally:
        conn.close()
    return {match[1] for (detail,) in rows if (match := re.search(r"\berased=([0-9a-f]+)\b", detail))}


def restore_backup(backup: Path, db_path: Path, keys: Sequence[bytes], now: datetime | None = None) -> Restored:
    """Put the backup in the database's place (under the newest key); the replaced files are kept beside it.

    The caller has checked the backup (`check_backup`) and that nobody uses the database (`in_use`),
    and afterwards opens the database as usual (migrations, vault) and erases `erased_since` again."""
    now = now or datetime.now(UTC)
    source, _key = _open_backup(backup, keys)
    incoming = db_path.with_name(db_path.name + ".restoring")
    incoming.unlink(missing_ok=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(incoming, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    target = sqlcipher.connect(incoming, keys[0])
    try:
        source.backup(target)
        if target.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise Problem(f"the copy of {backup} failed its check; nothing was replaced.")
    except BaseException:
        target.close()
        incoming.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    target.close()
    _fsync(incoming)
    aside = None
    if db_path.exists():
        aside = db_path.with_name(f"{db_path.name}.before-restore-{now.strftime(STAMP)}")
        for path, moved in zip(database_files(db_path), database_files(aside), strict=True):
            if path.exists():
                os.replace(path, moved)
    os.replace(incoming, db_path)
    _fsync(db_path.parent)
    return Restored(aside, 0)


def erase_again(db: sqlite_utils.Database, vault: Vault, marks: set[str], withdrawn: set[str]) -> int:
    """After a restore: erase again every conversation the replaced database's log says was erased after
    the backup (`marks`), and delete the leads of people who said no to contact since (`withdrawn`).
    Returns how many."""
    erased = [cid for (cid,) in db.execute("SELECT id FROM conversations") if audit.erasure_mark(db, cid) in marks]
    again = sum(erase_conversation(db, conversation, "restore") for conversation in erased)
    leads = LeadStore(db, vault)
    for lead in filter(None, (leads.get(lead_id) for lead_id in withdrawn)):
        again += len(leads.withdraw(lead.conversation_id))  # "no, thank you" to contact, said after the backup
    return again
