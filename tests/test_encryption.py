"""Health answers encrypted at rest: the whole database (SQLCipher), its key outside the data folder,
modes that let others read fixed at start, and a database from before encrypted in place."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.fernet import Fernet

from bot.dialog.model import Dialog
from bot.store import open_database, sqlcipher
from bot.store.vault import open_vault

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
from .test_terminal import CANDIDATE

#: What a screening stores in the clear inside the database: question ids, answer values and the
#: words of the schema (conversations.answers, answers.value, outcomes.reasons ...).
HEALTH_WORDS = (b"diagnosis_year", b"pregnan", b"likely_candidate", b"needs_review", b"answers", b"CREATE TABLE")


def files_of(db_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))


def test_a_screening_leaves_no_health_answer_readable_in_the_files(dialog: Dialog, tmp_path: Path) -> None:
    db = tmp_path / "data" / "screening.db"
    result = screening_bot("--db", str(db), "chat", input="\n".join(CANDIDATE) + "\nquit\n")
    assert result.returncode == 0, result.stderr
    raw = files_of(db)
    assert not raw.startswith(sqlcipher.PLAINTEXT_HEADER)
    for word in HEALTH_WORDS:
        assert word not in raw, word
    clear = stored_bytes(db)  # the same file decrypted with the key: the test can tell
    assert b"diagnosis_year" in clear and b"CREATE TABLE" in clear
    with peek(db) as conn:
        assert conn.execute("SELECT count(*) FROM answers").fetchone()[0] >= 10
    no_key = sqlcipher.connect(db)  # without the key: not even the table names
    try:
        no_key.execute("SELECT name FROM sqlite_master").fetchall()
    except sqlcipher.sqlite.DatabaseError as exc:
        assert "not a database" in str(exc)
    else:
        raise AssertionError("the database opened without its key")
    finally:
        no_key.close()


def test_the_write_ahead_log_holds_no_answer_readable_either(dialog: Dialog, db_path: Path) -> None:
    """While the bot runs, the last answers are in the WAL (and -shm) beside the file: encrypted too."""
    screener = make_lead_screener(dialog, db_path)
    chat = start_screening(screener)
    reach_outcome(chat, dialog, {"diagnosis_year": "not sure"})
    give_contact(chat, "13912345678", "Li Na")
    wal = db_path.with_name(db_path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0
    raw = files_of(db_path)
    for word in (*HEALTH_WORDS, b"13912345678", b"Li Na"):
        assert word not in raw, word
    assert b"diagnosis_year" in stored_bytes(db_path)


def test_the_key_is_kept_outside_the_data_folder_readable_by_its_owner_only(tmp_path: Path, key_home: Path) -> None:
    db = tmp_path / "data" / "screening.db"
    assert screening_bot("--db", str(db), "chat", input="quit\n").returncode == 0
    key = key_file_for(db)
    assert key == key_home / "screening-bot" / "screening.key"
    assert key.parent != db.parent and not list(db.parent.glob("*.key"))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    Fernet(key.read_text().strip())


def test_the_key_may_come_from_the_environment_and_then_no_file_is_made(tmp_path: Path) -> None:
    db = tmp_path / "screening.db"
    key = Fernet.generate_key().decode()
    assert screening_bot("--db", str(db), "chat", input="1\nquit\n", env={"SCREENING_KEY": key}).returncode == 0
    assert not key_file_for(db).exists()
    assert not db.read_bytes().startswith(sqlcipher.PLAINTEXT_HEADER)
    other = screening_bot("--db", str(db), "stats", env={"SCREENING_KEY": Fernet.generate_key().decode()})
    assert_one_clear_line(other, "SCREENING_KEY does not open the database")
    assert screening_bot("--db", str(db), "stats", env={"SCREENING_KEY": key}).returncode == 0


def test_a_key_or_database_others_can_read_is_fixed_at_start_with_a_warning(dialog: Dialog, tmp_path: Path) -> None:
    db = tmp_path / "screening.db"
    assert screening_bot("--db", str(db), "chat", input="1\n1\n40\nquit\n").returncode == 0
    key = key_file_for(db)
    files = [key, *(p for p in db.parent.glob("screening.db*"))]
    for path in files:
        path.chmod(0o644)
    result = screening_bot("--db", str(db), "stats")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "the key file" in result.stderr and "could be read by other users (mode 0644)" in result.stderr
    assert "rotate the key" in result.stderr
    assert "the database file" in result.stderr
    for path in files:
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


# ---------------------------------------------------------------------- a database from before


def plaintext_database_with_a_lead(dialog: Dialog, db_path: Path) -> tuple[str, str]:
    """A database as the releases before encryption made it (key beside it), with a lead; its phone and id."""
    from bot.store.storage import Storage

    from .conftest import LOCALES, TODAY, Screener

    db = open_database(db_path)
    old_key_file = db_path.with_suffix(".key")
    screener = Screener(dialog, Storage(db, dialog, open_vault(db, "", old_key_file)), LOCALES, today=lambda: TODAY)
    chat = start_screening(screener, user="before")
    reach_outcome(chat, dialog, {"diagnosis_year": "not sure"})
    give_contact(chat, "13912345678", "Li Na")
    [lead] = screener.leads.find()
    db.conn.close()
    return lead.phone, lead.id


def test_a_database_from_before_is_encrypted_in_place_and_keeps_everything(dialog: Dialog, tmp_path: Path) -> None:
    db_path = tmp_path / "data" / "screening.db"
    phone, lead_id = plaintext_database_with_a_lead(dialog, db_path)
    assert db_path.read_bytes().startswith(sqlcipher.PLAINTEXT_HEADER)
    assert b"diagnosis_year" in files_of(db_path)

    result = screening_bot("--db", str(db_path), "leads", "show", lead_id)
    assert result.returncode == 0, result.stderr
    assert phone in result.stdout and "Li Na" in result.stdout, "every lead still there, readable"
    assert "was not encrypted: it is now" in result.stderr
    assert "same folder as the database" in result.stderr, "the key from before is used, and the bot says to move it"
    raw = files_of(db_path)
    assert not raw.startswith(sqlcipher.PLAINTEXT_HEADER) and b"diagnosis_year" not in raw
    assert not db_path.with_name(db_path.name + ".encrypting").exists()
    db, _vault = opened(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM answers").fetchone()[0] > 10
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_database_from_before_is_not_encrypted_while_another_program_has_it_open(
    dialog: Dialog, tmp_path: Path
) -> None:
    db_path = tmp_path / "screening.db"
    plaintext_database_with_a_lead(dialog, db_path)
    reader = sqlcipher.connect(db_path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM answers").fetchone()
    try:
        result = screening_bot("--db", str(db_path), "stats")
    finally:
        reader.close()
    result.stderr = result.stderr.strip().splitlines()[-1]  # after the warning that the key sits beside it
    assert_one_clear_line(result, "is not encrypted yet, and another program has it open", "Stop it")
    assert db_path.read_bytes().startswith(sqlcipher.PLAINTEXT_HEADER), "left as it was"
    assert screening_bot("--db", str(db_path), "stats").returncode == 0
    assert not db_path.read_bytes().startswith(sqlcipher.PLAINTEXT_HEADER)


def test_the_test_helpers_make_databases_as_production_does(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    start_screening(screener).send("1")
    assert not db_path.read_bytes().startswith(sqlcipher.PLAINTEXT_HEADER)
