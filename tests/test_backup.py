"""Backups that restore: taken while answers are being written, encrypted, checked, and put back whole,
without bringing back anyone erased since."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.dialog.model import Dialog
from bot.store import audit, sqlcipher
from bot.store.backup import backup_name
from bot.store.leads import LeadStore

from .cli_support import assert_one_clear_line, screening_bot
from .conftest import (
    give_contact,
    key_file_for,
    make_lead_screener,
    opened,
    peek,
    reach_outcome,
    start_screening,
    stored_bytes,
)


def answers_in(db_path: Path) -> set[tuple[str, str, str]]:
    with peek(db_path) as conn:
        return {tuple(r) for r in conn.execute("SELECT conversation_id, question_id, value FROM answers")}


def test_a_backup_taken_during_writes_restores_with_every_committed_answer(
    dialog: Dialog, db_path: Path, tmp_path: Path
) -> None:
    screener = make_lead_screener(dialog, db_path)
    stop, committed, progress = threading.Event(), threading.Event(), [0]

    def people_answering() -> None:  # the bot, meanwhile: one screening after another, each answer committed
        person = 0
        while not stop.is_set():
            chat = start_screening(screener, user=f"writer-{person}")
            reach_outcome(chat, dialog)
            person += 1
            progress[0] = person
            if person >= 3:
                committed.set()
            # A busy bot, not one that never lets go: a loop that takes SQLite's write lock again the
            # moment it commits starves every other writer (the lock has no queue), so the backup's
            # audit entry waited out its 5 s and the command said the database was locked (1 run in 3).
            # A short breath between people is what a real bot's network waits give; the writes still
            # overlap the backup (`during` below).
            stop.wait(0.02)

    writer = threading.Thread(target=people_answering)
    writer.start()
    try:
        assert committed.wait(120)
        before = answers_in(db_path)  # committed before the backup starts: all must be in it
        at_start = progress[0]
        result = screening_bot("--db", str(db_path), "backup", "--out", str(tmp_path / "backups"))
        during = progress[0]
    finally:
        stop.set()
        writer.join()
    assert result.returncode == 0, result.stderr
    backup = Path(result.stdout.strip())
    assert backup.parent == tmp_path / "backups" and backup.name.startswith("screening-")
    assert "Keep the key apart from the backups" in result.stderr
    assert stat_mode(backup) == 0o600 and stat_mode(backup.parent) == 0o700
    assert not backup.read_bytes().startswith(sqlcipher.PLAINTEXT_HEADER), "the backup is encrypted"
    assert b"diagnosis_year" not in backup.read_bytes()
    assert during >= at_start

    # Restored elsewhere (another machine: the same key, a new path): whole, and every committed answer there.
    elsewhere = tmp_path / "elsewhere" / "screening.db"
    env = {"SCREENING_KEY_FILE": str(key_file_for(db_path))}
    restored = screening_bot("--db", str(elsewhere), "restore", str(backup), "--yes", env=env)
    assert restored.returncode == 0, restored.stderr
    conn = sqlcipher.connect(elsewhere, sqlcipher_key(db_path))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        got = {tuple(r) for r in conn.execute("SELECT conversation_id, question_id, value FROM answers")}
    finally:
        conn.close()
    assert before <= got, "every answer committed before the backup began is in it"
    assert len(before) > 30


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def sqlcipher_key(db_path: Path) -> bytes:
    from .conftest import database_key_for

    key = database_key_for(db_path)
    assert key is not None
    return key


def test_restore_puts_the_backup_back_and_never_brings_back_an_erasure(
    dialog: Dialog, db_path: Path, tmp_path: Path
) -> None:
    screener = make_lead_screener(dialog, db_path)
    for user, phone in (("stays", "13912345678"), ("asks-to-be-deleted", "13912345679"), ("no-contact", "13912345670")):
        chat = start_screening(screener, user=user)
        reach_outcome(chat, dialog)
        give_contact(chat, phone, None)
    screener.store.db.close()
    made = screening_bot("--db", str(db_path), "backup", "--out", str(tmp_path / "backups"))
    backup = Path(made.stdout.strip())

    # After the backup: one person asks to be deleted, another starts a screening.
    screener = make_lead_screener(dialog, db_path)
    gone = screener.store.load("test", "asks-to-be-deleted")
    assert gone is not None
    start_screening(screener, user="after-the-backup").send("1")
    from .conftest import Chat

    Chat(screener, user="asks-to-be-deleted").command("delete_confirm")
    taken_back = screener.store.load("test", "no-contact")
    assert taken_back is not None and screener.leads.withdraw(taken_back.id)  # "No, thank you" to contact, after all
    again = screener.store.load("test", "asks-to-be-deleted")
    assert again is None or again.id != gone.id

    # The bot is running (this connection): restore refuses.
    busy = screening_bot("--db", str(db_path), "restore", str(backup), "--yes")
    assert_one_clear_line(busy, "is open in another program", "Stop them first")
    screener.store.db.close()

    result = screening_bot("--db", str(db_path), "restore", str(backup), "--yes")
    assert result.returncode == 0, result.stderr
    assert "2 erasure(s) made since the backup were made again" in result.stdout
    db, _vault = opened(db_path)
    users = {row[0] for row in db.execute("SELECT user_key FROM conversations")}
    assert "stays" in users and "asks-to-be-deleted" not in users and "after-the-backup" not in users
    phones = {lead.phone for lead in LeadStore(db, _vault).find()}
    assert phones == {"+8613912345678"}, "no lead comes back, nor a number someone took back"
    assert gone.id.encode() not in stored_bytes(db_path), "not even in free pages or the log"
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert audit.verify(db).intact
    assert [e["action"] for e in audit.entries(db, 3)] == ["restore", "withdraw-contact", "erase"]
    aside = next(tmp_path.glob("screening.db.before-restore-*"))
    assert "before-restore" in result.stderr and str(aside) in result.stderr


def test_a_backup_that_cannot_be_used_is_refused_in_one_line(dialog: Dialog, db_path: Path, tmp_path: Path) -> None:
    make_lead_screener(dialog, db_path).store.db.close()
    folder = tmp_path / "backups"
    backup = Path(screening_bot("--db", str(db_path), "backup", "--out", str(folder)).stdout.strip())
    other_key = tmp_path / "other.key"
    from cryptography.fernet import Fernet

    other_key.write_text(Fernet.generate_key().decode())
    other_key.chmod(0o600)
    wrong = screening_bot(
        "--db", str(db_path), "restore", str(backup), "--yes", env={"SCREENING_KEY_FILE": str(other_key)}
    )
    assert_one_clear_line(wrong, "no key there is opens the backup")
    missing = screening_bot("--db", str(db_path), "restore", str(folder / "nope.db"), "--yes")
    assert_one_clear_line(missing, "there is no backup file")
    no_place = screening_bot("--db", str(db_path), "backup")
    assert_one_clear_line(no_place, "say where the backup goes", "SCREENING_BACKUP_DIR")
    beside = screening_bot("--db", str(db_path), "backup", "--out", str(db_path.parent))
    assert_one_clear_line(beside, "is the database's own folder")


def test_backups_older_than_the_keep_period_are_deleted(dialog: Dialog, db_path: Path, tmp_path: Path) -> None:
    make_lead_screener(dialog, db_path).store.db.close()
    folder = tmp_path / "backups"
    folder.mkdir()
    old = folder / backup_name(db_path, datetime.now(UTC) - timedelta(days=15))
    recent = folder / backup_name(db_path, datetime.now(UTC) - timedelta(days=13))
    other = folder / "notes.db"
    for path in (old, recent, other):
        path.write_bytes(b"x")
    result = screening_bot("--db", str(db_path), "backup", env={"SCREENING_BACKUP_DIR": str(folder)})
    assert result.returncode == 0, result.stderr
    assert not old.exists() and recent.exists() and other.exists()
    assert "1 backup(s) older than 14 days deleted" in result.stderr
    assert len(os.listdir(folder)) == 3
