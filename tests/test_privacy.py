"""Issue 6: encryption at rest, keys, erasure, retention and logs, against real SQLite files."""

from __future__ import annotations

import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.dialog.model import Dialog
from bot.logs import log_event
from bot.store import audit, open_database, sqlcipher
from bot.store.leads import LeadStore
from bot.store.retention import RetentionPeriods, erase_lead, purge
from bot.store.vault import VaultError, open_protected, pseudonym, rotate_key

from .conftest import Chat, give_contact, key_file_for, make_lead_screener, reach_outcome, start_screening, stored_bytes

PHONE_TYPED, PHONE_E164 = "139 7531 8642", "+8613975318642"
NAME = "Quillon Zephyrine 龘靐"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def raw_bytes(db_path: Path) -> bytes:
    """The database file and its write-ahead log, decrypted page by page (conftest.stored_bytes)."""
    return stored_bytes(db_path)


def opened(db_path: Path, env_key: str = "") -> tuple:  # type: ignore[type-arg]
    """The database and its vault, as every command opens them."""
    return open_protected(db_path, env_key, key_file_for(db_path))


def all_rows(db, table: str) -> list[dict]:
    return list(db.query(f"SELECT * FROM {table}"))


def lead_for(screener, user: str = "person-1", phone: str = PHONE_TYPED, name: str | None = NAME) -> Chat:
    chat = start_screening(screener, user=user)
    reach_outcome(chat, screener.dialog)
    give_contact(chat, phone, name)
    return chat


# ---------------------------------------------------------------------- encryption at rest


def test_contact_details_are_not_in_the_database_file_or_its_wal(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    lead_for(screener)
    [lead] = screener.leads.find()
    assert (lead.phone, lead.name) == (PHONE_E164, NAME)  # readable through the key ...
    wal = db_path.with_name(db_path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0  # ... the WAL really holds the last writes ...
    data = raw_bytes(db_path)
    for secret in (PHONE_E164, "13975318642", "139 7531 8642", NAME, "Quillon", "龘靐"):
        assert secret.encode() not in data, secret  # ... but neither file holds them in clear
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_the_key_file_is_created_on_first_run_readable_by_its_owner_only(db_path: Path) -> None:
    key_file = key_file_for(db_path)
    opened(db_path)
    assert key_file.parent != db_path.parent, "outside the data folder"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    Fernet(key_file.read_text().strip())


def test_a_missing_key_is_a_clear_error_at_start(dialog: Dialog, db_path: Path) -> None:
    make_lead_screener(dialog, db_path)
    key_file_for(db_path).unlink()
    with pytest.raises(VaultError, match=r"no key was found.*Restore the key from your backup"):
        opened(db_path)


def test_a_wrong_key_is_a_clear_error_at_start(dialog: Dialog, db_path: Path) -> None:
    make_lead_screener(dialog, db_path)
    with pytest.raises(VaultError, match="SCREENING_KEY does not open the database"):
        opened(db_path, Fernet.generate_key().decode())


def test_a_malformed_key_is_a_clear_error(db_path: Path) -> None:
    with pytest.raises(VaultError, match="not a Fernet key"):
        opened(db_path, "hunter2")


def test_key_rotation_keeps_every_lead_readable(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    lead_for(screener, "a", "13912345678", "Li Na")
    lead_for(screener, "b", "+852 9123 4567", None)
    key_file = key_file_for(db_path)
    old_key = key_file.read_text().strip()
    screener.store.db.close()
    db, vault = opened(db_path)
    new_key = rotate_key(db, vault, key_file)
    assert key_file.read_text().strip() == new_key.decode() != old_key
    reopened = LeadStore(*opened(db_path))
    assert sorted((lead.phone, lead.name) for lead in reopened.find()) == [
        ("+85291234567", ""),
        ("+8613912345678", "Li Na"),
    ]
    with pytest.raises(VaultError):
        opened(db_path, old_key)
    # possible duplicates are still found by phone after rotation: the hashes were re-derived
    again = make_lead_screener(dialog, db_path)
    lead_for(again, "c", "13912345678", None)
    newest = again.leads.find()[0]
    assert newest.open_duplicates() == [next(lead.id for lead in again.leads.find() if lead.name == "Li Na")]


def test_channel_pseudonyms_are_stable_and_hide_the_raw_id(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    key = screener.pseudonym("telegram", 123456789)
    assert (
        key
        == screener.pseudonym("telegram", "123456789")
        == make_lead_screener(dialog, db_path).pseudonym("telegram", 123456789)
    )
    assert "123456789" not in key and key != screener.pseudonym("web", 123456789)
    assert key != pseudonym("telegram", 123456789, b"another installation's key")


# ---------------------------------------------------------------------- consent and erasure


def test_disagreeing_to_consent_keeps_nothing(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    chat = Chat(screener, user="person-who-says-no")
    chat.press("I don't agree")
    assert chat.reply.ended
    db = screener.store.db
    for table in ("conversations", "answers", "outcomes", "leads", "lead_history"):
        assert all_rows(db, table) == [], table
    assert [e["action"] for e in all_rows(db, "audit_log")] == ["audit-chain-start"], "only the log's own start"
    assert audit.totals(db) == {"started": 1, "declined_consent": 1}
    assert b"person-who-says-no" not in raw_bytes(db_path)


def test_delete_leaves_no_row_that_links_to_the_person(dialog: Dialog, db_path: Path) -> None:
    events: list[tuple[str, str]] = []
    screener = make_lead_screener(dialog, db_path, on_lead=[lambda lead, event: events.append((lead, event))])
    other = lead_for(screener, user="someone-else", phone="13912345678", name="Wang Fang")
    chat = lead_for(screener, user="person-to-erase-7f3k")
    lead_id = screener.leads.lead_of(screener.open("test", "person-to-erase-7f3k").id)
    chat.command("delete")
    chat.press("Yes")
    assert "Your answers are deleted" in chat.said
    db = screener.store.db
    conv_ids = {r["id"] for r in all_rows(db, "conversations")}
    assert len(conv_ids) == 1  # only the other person's
    for table in ("answers", "outcomes", "leads"):
        assert {r["conversation_id"] for r in all_rows(db, table)} <= conv_ids, table
    assert {r["lead_id"] for r in all_rows(db, "lead_history")} == {screener.leads.find()[0].id}
    assert [lead.name for lead in screener.leads.find()] == ["Wang Fang"]
    [entry] = [e for e in audit.entries(db) if e["action"] == "erase"]
    assert entry["who"] == "person" and entry["lead_id"] == lead_id
    assert NAME not in str(entry) and PHONE_E164 not in str(entry)
    assert (lead_id, "erased") in events
    assert audit.totals(db)["erased_by_person"] == 1
    assert b"person-to-erase-7f3k" not in raw_bytes(db_path)  # overwritten, and the WAL emptied
    assert other.state() == "likely_candidate"


def test_delete_mid_screening_counts_where_it_stopped(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    chat = start_screening(screener)
    chat.command("delete")
    chat.press("Yes")
    assert all_rows(screener.store.db, "conversations") == []
    assert audit.totals(screener.store.db)[f"stopped:{dialog.questions[0].id}"] == 1


def test_staff_erase_a_lead_by_id(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    lead_for(screener)
    [lead] = screener.leads.find()
    assert erase_lead(screener.store.db, lead.id, "nurse-wu")
    db = screener.store.db
    for table in ("conversations", "answers", "outcomes", "leads", "lead_history"):
        assert all_rows(db, table) == [], table
    assert next((e["who"], e["action"], e["lead_id"]) for e in audit.entries(db)) == ("nurse-wu", "erase", lead.id)
    assert not erase_lead(db, lead.id, "nurse-wu")


def test_the_audit_log_cannot_be_edited(db_path: Path) -> None:
    db = open_database(db_path)
    audit.record(db, "nurse-wu", "read", "abcd1234")
    with pytest.raises(sqlcipher.sqlite.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET who = 'someone else'")
    with pytest.raises(sqlcipher.sqlite.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")


# ---------------------------------------------------------------------- retention


def age(db, user: str, days: float, lead_days: float | None = None) -> None:
    """Make a conversation (and its lead's last status change) `days` old at NOW."""
    stamp = (NOW - timedelta(days=days)).isoformat(timespec="seconds")
    db.execute("UPDATE conversations SET updated_at = ? WHERE user_key = ?", [stamp, user])
    if lead_days is not None:
        lead_stamp = (NOW - timedelta(days=lead_days)).isoformat(timespec="seconds")
        db.execute(
            "UPDATE leads SET status_changed_at = ? WHERE conversation_id IN"
            " (SELECT id FROM conversations WHERE user_key = ?)",
            [lead_stamp, user],
        )


def test_purge_removes_exactly_what_is_past_its_period(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    db = screener.store.db
    for user in ("unfinished-old", "unfinished-new"):
        start_screening(screener, user=user).send("1")
    for user in ("not-eligible-old", "not-eligible-new"):
        reach_outcome(start_screening(screener, user=user), dialog, {"age": "80"})
    for n, user in enumerate(("closed-old", "closed-new", "enrolled-old", "open-old")):
        lead_for(screener, user=user, phone=f"1391234567{n}", name=None)
    ids = {lead.conversation_id: lead.id for lead in screener.leads.find()}
    by_user = {r["user_key"]: r["id"] for r in all_rows(db, "conversations")}
    screener.leads.set_status(ids[by_user["closed-old"]], "closed", "nurse", reason="unreachable")
    screener.leads.set_status(ids[by_user["closed-new"]], "closed", "nurse", reason="declined")
    screener.leads.set_status(ids[by_user["enrolled-old"]], "enrolled", "nurse")
    age(db, "unfinished-old", 30.1)
    age(db, "unfinished-new", 29.9)
    age(db, "not-eligible-old", 31)
    age(db, "not-eligible-new", 29)
    age(db, "closed-old", 400, lead_days=180.1)
    age(db, "closed-new", 400, lead_days=179.9)
    age(db, "enrolled-old", 400, lead_days=200)
    age(db, "open-old", 900, lead_days=900)

    dry = purge(db, NOW, RetentionPeriods(), dry_run=True)
    assert (dry.unfinished, dry.finished_without_lead, dry.closed_leads) == (1, 1, 2)
    assert len(all_rows(db, "conversations")) == 8

    done = purge(db, NOW, RetentionPeriods())
    assert done == dry
    left = sorted(r["user_key"] for r in all_rows(db, "conversations"))
    assert left == ["closed-new", "not-eligible-new", "open-old", "unfinished-new"]
    assert len(screener.leads.find()) == 2
    assert {r["conversation_id"] for r in all_rows(db, "answers")} <= {by_user[u] for u in left}
    assert audit.totals(db)["purged:closed_leads"] == 2
    assert audit.totals(db)[f"stopped:{dialog.questions[1].id}"] == 1
    assert audit.entries(db)[0]["action"] == "purge"
    assert purge(db, NOW, RetentionPeriods()).total == 0


def test_purge_periods_are_configurable(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    start_screening(screener, user="u").send("1")
    age(screener.store.db, "u", 3)
    assert purge(screener.store.db, NOW, RetentionPeriods(unfinished_days=7), dry_run=True).unfinished == 0
    assert purge(screener.store.db, NOW, RetentionPeriods(unfinished_days=2), dry_run=True).unfinished == 1


async def test_the_daily_purge_callback_runs_in_an_event_loop(dialog: Dialog, db_path: Path) -> None:
    from bot.store.retention import daily_purge

    screener = make_lead_screener(dialog, db_path)
    start_screening(screener, user="u").send("1")
    age(screener.store.db, "u", 40)
    job = daily_purge(screener.store.db, RetentionPeriods(), clock=lambda: NOW)
    counts = await job(object())  # what PTB's JobQueue passes: a context
    assert counts.unfinished == 1 and all_rows(screener.store.db, "conversations") == []


# ---------------------------------------------------------------------- logs


def test_logs_carry_no_personal_data(dialog: Dialog, db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    screener = make_lead_screener(dialog, db_path)
    chat = lead_for(screener, user="chat-id-99887766")
    chat.command("delete")
    chat.press("Yes")
    text = caplog.text
    assert "event=outcome" in text and "event=lead_created" in text and "event=erased" in text
    for secret in ("99887766", PHONE_E164, "13975318642", NAME, "Quillon"):
        assert secret not in text


def test_log_event_refuses_personal_fields() -> None:
    with pytest.raises(ValueError, match="personal data"):
        log_event(logging.getLogger("t"), "oops", phone="+8613912345678")
