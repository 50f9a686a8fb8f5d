"""Issue 17, one person, one lead: typing someone else's number never reaches their lead.

A screening that gives a number another lead already has makes its own lead, linked as a
possible duplicate; staff merge the two or mark them "not a duplicate" (command line and
Telegram), recorded in both histories and the audit log; erasing one never touches the other.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bot.channels.telegram.staff import MERGE_BUTTON, NOT_DUPLICATE_BUTTON, POSSIBLE_DUPLICATE, StaffOptions
from bot.cli import main
from bot.dialog.model import Dialog
from bot.staff import staff_identity
from bot.store import audit

from .conftest import (
    DIALOG_PATH,
    LOCALES,
    AsSeen,
    Screener,
    give_contact,
    make_lead_screener,
    reach_outcome,
    start_screening,
)
from .fake_bot_api import FakeBotApi
from .telegram_support import Person, running_bot
from .test_telegram_staff import become_lead, staff_post

PHONE = "139 1234 5678"
t = AsSeen("en", LOCALES)
STAFF_ID = 424242
STAFF_CHAT = -100777


@pytest.fixture
def staff_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "nurse-li")
    for name in ("SCREENING_KEY", "SCREENING_KEY_FILE", "SCREENING_CONFIG", "SCREENING_DB"):
        monkeypatch.delenv(name, raising=False)


def run(db_path: Path, *args: str) -> int:
    return main(["--db", str(db_path), "--dialog", str(DIALOG_PATH), *args])


def two_people_one_number(dialog: Dialog, db_path: Path):  # type: ignore[no-untyped-def]
    """Alice gives her number; then Bob types the same number in a screening of his own."""
    screener = make_lead_screener(dialog, db_path)
    alice = start_screening(screener, user="alice")
    reach_outcome(alice, dialog)
    give_contact(alice, PHONE, "Alice")
    bob = start_screening(screener, user="bob")
    reach_outcome(bob, dialog, {"diagnosis_year": "not sure"})
    give_contact(bob, PHONE, "Bob")
    by_name = {lead.name: lead for lead in screener.leads.find()}
    return screener, alice, bob, by_name["Alice"], by_name["Bob"]


def test_typing_someone_elses_number_never_reaches_their_lead(dialog: Dialog, db_path: Path) -> None:
    screener, _alice, bob, alice_lead, bob_lead = two_people_one_number(dialog, db_path)
    assert alice_lead.conversation_id == screener.store.load("test", "alice").id
    assert (alice_lead.outcome, alice_lead.repeat_count, alice_lead.call_time) == ("likely_candidate", 0, "afternoon")
    assert bob_lead.conversation_id == screener.store.load("test", "bob").id and bob_lead.outcome == "needs_review"
    assert alice_lead.open_duplicates() == [bob_lead.id] and bob_lead.open_duplicates() == [alice_lead.id]
    assert [h["change"] for h in screener.leads.get(alice_lead.id).history] == ["created", "duplicate"]

    bob.press("Start again")  # Bob screens again and types yet another number: still only his own lead
    reach_outcome(bob, dialog)
    give_contact(bob, "139 8765 4321", None)
    alice_lead_now, bob_lead_now = screener.leads.get(alice_lead.id), screener.leads.get(bob_lead.id)
    assert (alice_lead_now.phone, alice_lead_now.name) == ("+8613912345678", "Alice")
    assert bob_lead_now.phone == "+8613987654321" and bob_lead_now.repeat_count == 1
    assert alice_lead_now.duplicates == [] == bob_lead_now.duplicates, "the number changed: no longer linked"


def test_deleting_one_never_touches_the_other(dialog: Dialog, db_path: Path, staff_env: None, capsys) -> None:
    screener, alice, bob, alice_lead, _bob_lead = two_people_one_number(dialog, db_path)
    bob.command("delete")  # Bob cannot erase Alice's lead ...
    bob.press("Yes")
    [left] = screener.leads.find()
    assert (left.id, left.name, left.duplicates) == (alice_lead.id, "Alice", [])
    alice.command("delete")  # ... and Alice's delete takes her name and number out of every list
    alice.press("Yes")
    assert run(db_path, "leads", "list") == 0
    out = capsys.readouterr().out
    assert "No leads match" in out and "Alice" not in out and "5678" not in out


def test_staff_merge_from_the_command_line(dialog: Dialog, db_path: Path, staff_env: None, capsys) -> None:
    screener, _alice, _bob, alice_lead, bob_lead = two_people_one_number(dialog, db_path)
    assert run(db_path, "leads", "list") == 0
    out = capsys.readouterr().out
    assert "POSSIBLE DUPLICATE OF" in out
    bob_row = next(line for line in out.splitlines() if line.startswith(bob_lead.id))
    assert bob_row.rstrip().endswith(alice_lead.id)
    assert run(db_path, "leads", "show", bob_lead.id) == 0
    out = capsys.readouterr().out
    assert f"{alice_lead.id}: possible duplicate (same phone number), not decided yet" in out
    assert f"leads merge {bob_lead.id} --into OTHER_ID" in out

    assert run(db_path, "leads", "merge", bob_lead.id, "--into", alice_lead.id, "--note", "same voice") == 0
    bob_now, alice_now = screener.leads.get(bob_lead.id), screener.leads.get(alice_lead.id)
    assert (bob_now.status, bob_now.close_reason) == ("closed", "duplicate")
    assert alice_now.status == "new" and alice_now.name == "Alice", "the kept lead keeps its own details"
    assert bob_now.history[-1]["note"] == f"same person as {alice_lead.id}: merged into it — same voice"
    assert alice_now.history[-1]["note"].startswith(f"{bob_lead.id} was the same person")
    assert alice_now.duplicates == [
        {"id": bob_lead.id, "reason": "same phone number", "state": "merged", "kept": alice_lead.id}
    ]
    entry = audit.entries(screener.store.db)[0]
    assert (entry["who"], entry["action"], entry["lead_id"], entry["detail"]) == (
        staff_identity(),
        "merge",
        bob_lead.id,
        f"into={alice_lead.id}",
    )
    capsys.readouterr()
    assert run(db_path, "leads", "show", alice_lead.id) == 0
    assert f"{bob_lead.id}: the same person, merged into {alice_lead.id}" in capsys.readouterr().out

    # Erasing the kept lead leaves the merged one as it was (only the link goes).
    assert run(db_path, "leads", "erase", alice_lead.id, "--yes") == 0
    bob_after = screener.leads.get(bob_lead.id)
    assert (bob_after.status, bob_after.name, bob_after.duplicates) == ("closed", "Bob", [])


def test_staff_mark_not_a_duplicate(dialog: Dialog, db_path: Path, staff_env: None, capsys) -> None:
    screener, _alice, _bob, alice_lead, bob_lead = two_people_one_number(dialog, db_path)
    assert run(db_path, "leads", "not-duplicate", alice_lead.id, bob_lead.id, "--note", "a carer for two") == 0
    assert "not the same person" in capsys.readouterr().out
    for lead in (screener.leads.get(alice_lead.id), screener.leads.get(bob_lead.id)):
        assert lead.open_duplicates() == [] and lead.duplicates[0]["state"] == "not_duplicate"
        assert "not the same person as" in lead.history[-1]["note"] and lead.status == "new"
    assert audit.entries(screener.store.db)[0]["action"] == "not-duplicate"
    assert run(db_path, "leads", "merge", alice_lead.id, "--into", alice_lead.id) == 1
    assert "cannot be a duplicate of itself" in capsys.readouterr().err
    assert run(db_path, "leads", "merge", alice_lead.id, "--into", "nope") == 1


def test_the_export_names_the_possible_duplicate(dialog: Dialog, db_path: Path, staff_env: None, tmp_path) -> None:
    _screener, _alice, _bob, alice_lead, bob_lead = two_people_one_number(dialog, db_path)
    out = tmp_path / "leads.csv"
    assert run(db_path, "leads", "export", "-o", str(out)) == 0
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig")))}
    assert rows[bob_lead.id]["possible_duplicate_of"] == alice_lead.id


# ---------------------------------------------------------------------- Telegram


async def test_telegram_staff_see_the_link_and_merge_with_a_button(
    api: FakeBotApi, dialog: Dialog, db_path: Path
) -> None:
    screener: Screener = make_lead_screener(dialog, db_path)
    staff_options = StaffOptions(chat_id=STAFF_CHAT, user_ids=frozenset({STAFF_ID}), language="en")
    first, second, staff = Person(api), Person(api), Person(api, chat_id=STAFF_ID)
    async with running_bot(api, screener, staff=staff_options):
        await become_lead(first, dialog, "+8613912345678")
        [older] = screener.leads.find()
        await become_lead(second, dialog, "+8613912345678")
        newer = next(lead for lead in screener.leads.find() if lead.id != older.id)
        post = await staff_post(api, newer.id)
        assert t(POSSIBLE_DUPLICATE, id=older.id) in post.text
        [page] = await staff.say("/leads", new_messages=1)
        assert t(POSSIBLE_DUPLICATE, id=older.id) in page.text
        [card] = await staff.say(f"/lead_{newer.id}", new_messages=1)
        assert t(POSSIBLE_DUPLICATE, id=older.id) in card.text
        labels = [b["text"] for b in card.buttons]
        assert t(MERGE_BUTTON, id=older.id) in labels and t(NOT_DUPLICATE_BUTTON, id=older.id) in labels
        outsider = Person(api)
        await outsider.tap(t(MERGE_BUTTON, id=older.id), card)  # not staff: nothing happens
        assert screener.leads.get(newer.id).status == "new"
        await staff.tap(t(MERGE_BUTTON, id=older.id), card)
        card = api.messages[card.message_id]
        post = api.messages[post.message_id]
    merged = screener.leads.get(newer.id)
    assert (merged.status, merged.close_reason) == ("closed", "duplicate")
    assert screener.leads.get(older.id).status == "new"
    assert "Merged into" in card.text and t(MERGE_BUTTON, id=older.id) not in [b["text"] for b in card.buttons]
    assert "Status: closed (duplicate)" in post.text
    who = f"telegram:{STAFF_ID}"
    assert (who, "merge", newer.id) in [(e["who"], e["action"], e["lead_id"]) for e in audit.entries(screener.store.db)]
    assert merged.history[-1]["who"] == who
