"""The audit log is tamper-evident: every edit, deletion, insertion or dropped trigger is found; staff are
who the operating system says; views and exports name the leads they showed."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
import sqlite_utils

from bot.dialog.model import Dialog
from bot.staff import staff_identity
from bot.store import audit, sqlcipher
from bot.store.db import MIGRATIONS

from .cli_support import screening_bot
from .conftest import give_contact, make_lead_screener, opened, peek, reach_outcome, start_screening


@pytest.fixture
def logged(dialog: Dialog, db_path: Path) -> Path:
    """A database whose log has a few entries: two leads read and listed by staff, one erased."""
    screener = make_lead_screener(dialog, db_path)
    for user, phone in (("a", "13912345678"), ("b", "13912345679"), ("c", "13912345670")):
        chat = start_screening(screener, user=user)
        reach_outcome(chat, dialog)
        give_contact(chat, phone, None)
    screener.store.db.close()
    for command in (["leads", "list"], ["leads", "export", "--format", "json"], ["stats"]):
        assert screening_bot("--db", str(db_path), *command).returncode == 0
    return db_path


def verify(db_path: Path):  # type: ignore[no-untyped-def]
    return screening_bot("--db", str(db_path), "audit", "verify")


def tamper(db_path: Path, *statements: str) -> None:
    """What someone with the file (and its key) and an sqlite3 shell could do."""
    with peek(db_path) as conn:
        for statement in statements:
            conn.execute(statement)


def test_an_untouched_log_verifies(logged: Path) -> None:
    result = verify(logged)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The audit log is intact" in result.stdout and "head " in result.stdout


def test_an_edit_after_dropping_the_trigger_is_found(logged: Path) -> None:
    tamper(
        logged,
        "DROP TRIGGER audit_log_no_update",
        "UPDATE audit_log SET who = 'Prof. Qiubai Li' WHERE action = 'list'",
    )
    result = verify(logged)
    assert result.returncode == 1
    assert "THE AUDIT LOG WAS TAMPERED WITH" in result.stdout
    assert "the trigger audit_log_no_update was dropped" in result.stdout
    assert ", list) was changed or inserted" in result.stdout


def test_an_edit_with_the_triggers_put_back_is_found_all_the_same(logged: Path) -> None:
    tamper(
        logged,
        "DROP TRIGGER audit_log_no_update",
        "UPDATE audit_log SET leads_seen = '' WHERE action = 'export'",
        audit.TRIGGERS["audit_log_no_update"],
    )
    result = verify(logged)
    assert result.returncode == 1 and "trigger" not in result.stdout
    assert ", export) was changed or inserted" in result.stdout


def test_a_deleted_entry_is_found(logged: Path) -> None:
    with peek(logged) as conn:
        middle = conn.execute("SELECT id FROM audit_log WHERE action = 'list'").fetchone()[0]
    tamper(logged, "DROP TRIGGER audit_log_no_delete", f"DELETE FROM audit_log WHERE id = {middle}")
    result = verify(logged)
    assert result.returncode == 1 and f"entries {middle} were deleted" in result.stdout


def test_an_inserted_entry_is_found(logged: Path) -> None:
    with peek(logged) as conn:
        last, chain = conn.execute("SELECT id, chain FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    forged = audit.link(b"", chain, (last + 1, "2026-11-25T00:00:00+00:00", "root (uid 0)", "stats", "", "", ""))
    tamper(
        logged,
        "INSERT INTO audit_log (id, at, who, action, lead_id, detail, leads_seen, chain) VALUES"
        f" ({last + 1}, '2026-11-25T00:00:00+00:00', 'root (uid 0)', 'stats', '', '', '', '{forged}')",
    )
    result = verify(logged)
    assert result.returncode == 1 and f"entry {last + 1} (2026-11-25T00:00:00+00:00, stats)" in result.stdout


def test_a_tampered_log_is_said_loudly_at_start(logged: Path) -> None:
    tamper(logged, "DROP TRIGGER audit_log_no_delete")
    result = screening_bot("--db", str(logged), "chat", input="quit\n")
    assert result.returncode == 0, "the bot still starts: people and crisis help must not be shut out"
    assert "ERROR" in result.stderr and "THE AUDIT LOG WAS TAMPERED WITH" in result.stderr
    assert "audit_log_no_delete was dropped" in result.stderr


def test_who_is_the_operating_system_s_user_never_a_typed_name(logged: Path) -> None:
    result = screening_bot("--db", str(logged), "leads", "list", "--staff", "Prof. Qiubai Li", env={"USER": "prof-li"})
    assert result.returncode == 0
    with peek(logged) as conn:
        who, detail = conn.execute("SELECT who, detail FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    uid = os.getuid()
    assert who == f"{pwd.getpwuid(uid).pw_name} (uid {uid})" == staff_identity()
    assert "Prof. Qiubai Li" in detail and "signed" in detail, "only a note"


def test_views_and_exports_name_the_leads_they_showed(logged: Path) -> None:
    db, _vault = opened(logged)
    ids = {row[0] for row in db.execute("SELECT id FROM leads")}
    seen = {e["action"]: e["leads_seen"].split() for e in audit.entries(db) if e["action"] in ("list", "export")}
    assert set(seen["list"]) == ids and set(seen["export"]) == ids


def test_entries_from_before_the_chain_are_chained_with_a_marked_genesis(tmp_path: Path) -> None:
    """A database from the release before (schema 8) with audit entries: chained when it is opened."""
    path = tmp_path / "old.db"
    conn = sqlcipher.connect(path)
    before = sqlite_utils.Database(conn)
    for number, step in enumerate(MIGRATIONS[:8], start=1):
        step(before)
        before.execute(f"PRAGMA user_version = {number}")
    for n in range(3):
        before.execute(
            "INSERT INTO audit_log (at, who, action, detail) VALUES (?, 'nurse-li', 'list', ?)",
            [f"2026-01-0{n + 1}T00:00:00+00:00", f"rows={n}"],
        )
    conn.close()
    db, _vault = opened(path)
    rows = list(db.query("SELECT id, action, detail, chain FROM audit_log ORDER BY id"))
    assert [r["action"] for r in rows] == ["list", "list", "list", audit.GENESIS]
    assert rows[-1]["detail"] == "entries 1 to 3 were made before the chain; chained now, as found"
    assert all(r["chain"] for r in rows)
    assert audit.verify(db).intact
    assert verify(path).returncode == 0
