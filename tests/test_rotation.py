"""Issue 17, rotation rotates everything: with the old key and a copy of the database from before,
nothing in the new database opens or matches; and everything still works after the rotation.

The attack the issue describes: the old key decrypts the old copy's hash key, and hashing every
candidate phone number finds each lead's number by its phone hash. Here the candidates are the
10,000 numbers around the real ones (the issue tried 10^6); the same attack on the old copy finds
them, so the test can tell.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from bot.channels.telegram.keyboards import decode
from bot.cli import main
from bot.dialog.model import Dialog
from bot.store import sqlcipher
from bot.store.vault import database_key, pseudonym

from .conftest import (
    DIALOG_PATH,
    database_key_for,
    give_contact,
    key_file_for,
    make_lead_screener,
    opened,
    reach_outcome,
    start_screening,
    stored_bytes,
)
from .fake_bot_api import FakeBotApi
from .telegram_support import Person, agree_to_everything_asked_first, conversation_of, running_bot

PHONES = {"+8613912340007": "139 1234 0007", "+8613912345042": "139 1234 5042"}
CANDIDATES = [f"+86139123{n:05d}" for n in range(40_000, 50_000)] + [f"+861391234{n:04d}" for n in range(10_000)]
TOKEN = re.compile(rb"gAAAAA[A-Za-z0-9_\-]{40,}={0,2}")
HEX64, HEX32 = re.compile(rb"[0-9a-f]{64}"), re.compile(rb"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def raw_bytes(db_path: Path) -> bytes:
    """The file and its WAL as they lie on the disk (encrypted: SQLCipher)."""
    wal = db_path.with_name(db_path.name + "-wal")
    return db_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def copy_of(db_path: Path, to: Path) -> Path:
    """A consistent copy of the database as it is now (SQLite's online backup), under the same key."""
    key = database_key_for(db_path)
    source, target = sqlcipher.connect(db_path, key), sqlcipher.connect(to, key)
    source.backup(target)
    source.close()
    target.close()
    return to


def old_hash_key(old_copy: Path, old_key: bytes) -> bytes:
    token = sqlcipher.connect(old_copy, database_key(old_key)).execute("SELECT hash_key_enc FROM vault").fetchone()[0]
    return Fernet(old_key).decrypt(token.encode())


def phone_hashes(hash_key: bytes) -> dict[str, str]:
    return {hmac.new(hash_key, f"phone\0{p}".encode(), hashlib.sha256).hexdigest(): p for p in CANDIDATES}


@pytest.fixture
def staff_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "nurse-li")
    for name in ("SCREENING_KEY", "SCREENING_KEY_FILE", "SCREENING_CONFIG", "SCREENING_DB"):
        monkeypatch.delenv(name, raising=False)


async def test_an_old_key_and_an_old_copy_recover_nothing_and_everything_still_works(
    api: FakeBotApi, dialog: Dialog, db_path: Path, tmp_path: Path, staff_env: None, capsys
) -> None:
    screener = make_lead_screener(dialog, db_path)
    for number, typed in enumerate(PHONES.values()):
        chat = start_screening(screener, user=f"lead-{number}")
        reach_outcome(chat, dialog)
        give_contact(chat, typed, f"Person {number}")
    mid_screening, legacy = Person(api, chat_id=7_100_200_300), Person(api, chat_id=7_100_200_301)
    async with running_bot(api, screener):
        for person in (mid_screening, legacy):
            await person.say("/start")
            await agree_to_everything_asked_first(person, dialog)
            await person.tap("I am the patient")
    steps = {mid_screening.chat_id: mid_screening.step, legacy.chat_id: legacy.step}
    legacy_conv = conversation_of(screener, legacy)
    # A conversation untouched since before chat ids were kept: rotation cannot re-derive its pseudonym.
    screener.store.db.execute("DELETE FROM channel_addresses WHERE conversation_id = ?", [legacy_conv.id])

    key_file = key_file_for(db_path)
    old_key = key_file.read_text().strip().encode()
    old_copy = copy_of(db_path, tmp_path / "before-rotation.db")
    old_pseudonyms = {
        pseudonym("telegram", p.chat_id, old_hash_key(old_copy, old_key)) for p in (mid_screening, legacy)
    }

    # The attack works on the old copy: the test can tell.
    old_hashes = phone_hashes(old_hash_key(old_copy, old_key))
    in_old_copy = {
        r[0] for r in sqlcipher.connect(old_copy, database_key(old_key)).execute("SELECT phone_hash FROM leads")
    }
    assert {old_hashes[h] for h in in_old_copy} == set(PHONES)

    screener.store.db.close()
    assert main(["--db", str(db_path), "--dialog", str(DIALOG_PATH), "rotate-key"]) == 0
    assert "2 lead(s) re-encrypted" in capsys.readouterr().err

    # ------------------------------------------------ the old key and the old copy against the new database
    on_disk = raw_bytes(db_path)
    assert not TOKEN.findall(on_disk) and b"CREATE TABLE" not in on_disk, "the file itself is encrypted"
    with pytest.raises(sqlcipher.sqlite.DatabaseError):  # the old key's database key opens nothing either
        sqlcipher.connect(db_path, database_key(old_key)).execute("SELECT count(*) FROM leads").fetchone()
    data = stored_bytes(db_path)  # decrypted with the new key: what an attacker with it would see
    tokens = TOKEN.findall(data)
    assert len(tokens) >= 6  # phones, names, chat ids, the hash keys: all there, encrypted
    old = Fernet(old_key)
    for token in tokens:
        with pytest.raises(InvalidToken):
            old.decrypt(token)
    db = opened(db_path)[0]
    new_phone_hashes = {r["phone_hash"] for r in db.query("SELECT phone_hash FROM leads")}
    assert len(new_phone_hashes) == 2 and not new_phone_hashes & in_old_copy
    assert not {h.decode() for h in HEX64.findall(data)} & set(old_hashes), "no candidate's old hash anywhere"
    user_keys = {r["user_key"] for r in db.query("SELECT user_key FROM conversations")}
    assert not user_keys & old_pseudonyms
    assert not {h.decode() for h in HEX32.findall(data)} & old_pseudonyms, "no old pseudonym anywhere"

    # ------------------------------------------------ and everything still works with the new key
    assert main(["--db", str(db_path), "--dialog", str(DIALOG_PATH), "leads", "list"]) == 0
    listed = capsys.readouterr().out
    assert all(e164 in listed for e164 in PHONES) and "Person 0" in listed
    rotated = make_lead_screener(dialog, db_path)
    assert rotated.leads.vault.legacy_hash_key, "kept, encrypted, while the legacy conversation waits"
    async with running_bot(api, rotated):
        for person in (mid_screening, legacy):
            new = await person.say("/start")
            assert "Welcome back" in "\n".join(m.text for m in new), person.chat_id
            asked = [m for m in new if m.buttons][-1]
            assert decode(asked.buttons[0]["callback_data"])[0] == steps[person.chat_id], "the same conversation"
    assert conversation_of(rotated, legacy).id == legacy_conv.id
    assert rotated.leads.vault.legacy_hash_key == b""
    assert next(opened(db_path)[0].query("SELECT legacy_hash_key_enc FROM vault"))["legacy_hash_key_enc"] == ""
    # possible duplicates are still found by the phone hash
    again = start_screening(rotated, user="someone-new")
    reach_outcome(again, dialog)
    give_contact(again, PHONES["+8613912340007"], None)
    newest = rotated.leads.find()[0]
    assert [rotated.leads.get(i).phone for i in newest.open_duplicates()] == ["+8613912340007"]


def test_rotating_twice_keeps_a_waiting_legacy_conversation_reachable(dialog: Dialog, db_path: Path) -> None:
    from bot.store.telegram import TelegramStore
    from bot.store.vault import rotate_key

    screener = make_lead_screener(dialog, db_path)
    db = screener.store.db
    chat_id = 7_100_200_999
    old_user_key = screener.pseudonym("telegram", chat_id)
    db.execute(
        "INSERT INTO conversations (id, channel, user_key, state, language, dialog_id, dialog_version, dialog_hash,"
        " created_at, updated_at) VALUES ('legacy1', 'telegram', ?, 'age', 'en', 'x', '1', 'h', '', '')",
        [old_user_key],
    )
    key_file = key_file_for(db_path)
    db.close()
    for _ in range(2):
        rotating, vault = opened(db_path)
        rotate_key(rotating, vault, key_file)
        rotating.close()
    db, vault = opened(db_path)
    row = next(db.query("SELECT user_key FROM conversations WHERE id = 'legacy1'"))
    assert row["user_key"] != old_user_key
    store = TelegramStore(db, vault)
    assert store.rekey_legacy(chat_id)
    row = next(db.query("SELECT user_key FROM conversations WHERE id = 'legacy1'"))
    assert row["user_key"] == vault.pseudonym("telegram", chat_id)
    assert vault.legacy_hash_key == b""
