"""Leads on Telegram: the share-contact button, the staff chat, staff buttons and commands, privacy of chat ids.

The real Application polls the fake Bot API on loopback; the person, the staff member
and an outsider act only through it. Database checks read the real SQLite file.
"""

from __future__ import annotations

import copy
import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.channels.telegram.handlers import CONTACT_NOT_YOURS, NUMBER_SAVED, REMINDER, SHARE_BUTTON
from bot.channels.telegram.staff import ERASED_POST, LEAD_CHANGED, NEW_LEAD, PRIVATE_ONLY, StaffOptions
from bot.dialog.model import Dialog
from bot.i18n import _
from bot.store import audit
from bot.store.vault import rotate_key

from .conftest import LOCALES, AsSeen, Screener, answer_until, key_file_for, make_lead_screener, start_screening
from .fake_bot_api import ChatMessage, FakeBotApi
from .telegram_support import (
    Clock,
    Person,
    agree_to_everything_asked_first,
    conversation_of,
    erasures_followed_up,
    running_bot,
)
from .test_telegram_conversations import screen

STAFF_ID = 424242
STAFF_CHAT = -100777
PHONE = "+8613800138000"
OTHER_PHONE = "+8613900139000"
t = AsSeen("en", LOCALES)


@pytest.fixture
def screener(dialog: Dialog, db_path: Path) -> Screener:
    return make_lead_screener(dialog, db_path)


def staffed(api: FakeBotApi, screener: Screener, **changes: Any):  # type: ignore[no-untyped-def]
    staff = StaffOptions(chat_id=STAFF_CHAT, user_ids=frozenset({STAFF_ID}), language="en", page_size=1)
    return running_bot(api, screener, staff=staff, **changes)


def contact_update(person: Person, user_id: int | None, phone: str = PHONE) -> dict[str, Any]:
    contact: dict[str, Any] = {"phone_number": phone, "first_name": "Someone"}
    if user_id is not None:
        contact["user_id"] = user_id
    return {"update_id": person.api.next_update_id(), "message": person._message(contact=contact)}


async def reach_phone_question(person: Person, dialog: Dialog, answers: dict[str, str] | None = None) -> None:
    await person.say("/start")
    await screen(person, dialog, t, typed=False, answers=answers or {})
    assert person.step == "contact_consent"
    await person.tap(t(_("Yes, please contact me")))
    assert person.step == "contact_phone"


async def become_lead(person: Person, dialog: Dialog, phone: str = PHONE) -> None:
    """A likely candidate who shares their own contact, skips the name, afternoon, Chinese."""
    await reach_phone_question(person, dialog)
    await person.send(contact_update(person, person.chat_id, phone), new_messages=2)
    assert person.step == "contact_name"
    await person.tap(t(_("Skip")))
    await person.tap(t(_("Afternoon")))
    await person.tap(t(_("Chinese (Mandarin)")))


async def staff_post(api: FakeBotApi, lead_id: str) -> ChatMessage:
    return await api.wait_for(lambda: next((m for m in api.chat(STAFF_CHAT) if lead_id in m.text), None))


def audit_actions(screener: Screener) -> list[tuple[str, str, str]]:
    return [(e["who"], e["action"], e["lead_id"]) for e in audit.entries(screener.store.db)]


async def test_a_likely_candidate_shares_a_contact_and_the_staff_chat_hears_of_it(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    person = Person(api)
    async with staffed(api, screener):
        await reach_phone_question(person, dialog)
        [keyboard] = [m.reply_markup for m in api.chat(person.chat_id) if (m.reply_markup or {}).get("keyboard")]
        assert keyboard["keyboard"] == [[{"text": t(SHARE_BUTTON), "request_contact": True}]]
        assert keyboard["one_time_keyboard"] is True
        assert [b["text"] for b in person.prompt().buttons] == ["Back"]  # typing works too
        new = await person.send(contact_update(person, person.chat_id), new_messages=2)
        assert new[0].text == t(NUMBER_SAVED) and new[0].reply_markup == {"remove_keyboard": True}
        assert person.step == "contact_name" and "Skip" in person.labels()
        await person.tap("Skip")
        await person.tap("Afternoon")
        await person.tap("Chinese (Mandarin)")
        [lead] = screener.leads.find()
        post = await staff_post(api, lead.id)
    assert (lead.phone, lead.name, lead.username, lead.call_time) == (PHONE, "", "", "afternoon")
    assert lead.channel == "telegram" and lead.status == "new"
    assert f"New lead {lead.id}" in post.text and "likely candidate" in post.text and "Afternoon" in post.text
    assert "Answers to check: 0" in post.text and f"/lead_{lead.id}" in post.text
    assert "13800138000" not in post.text and "Someone" not in post.text, "no contact details in the staff chat"
    assert [b["text"] for b in post.buttons][:2] == ["Contacted", "No answer: attempt 1"]
    assert len(api.chat(STAFF_CHAT)) == 1


async def test_contact_details_go_to_the_staff_chat_only_when_configured(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    staff = StaffOptions(chat_id=STAFF_CHAT, user_ids=frozenset({STAFF_ID}), notify_contact=True)
    person = Person(api)
    async with running_bot(api, screener, staff=staff):
        await become_lead(person, dialog)
        [lead] = screener.leads.find()
        post = await staff_post(api, lead.id)
    assert f"Phone: {PHONE}" in post.text


async def test_a_contact_shared_by_someone_else_is_refused(api: FakeBotApi, screener: Screener, dialog: Dialog) -> None:
    person = Person(api)
    async with staffed(api, screener):
        await reach_phone_question(person, dialog)
        for other in (person.chat_id + 1, None):
            new = await person.send(contact_update(person, other))
            assert new[0].text == t(CONTACT_NOT_YOURS)
            assert person.step == "contact_phone"
        await person.say("139 1234 5678")  # typing the number still works
        assert person.step == "contact_name"
    [lead] = screener.leads.find()
    assert lead.phone == "+8613912345678"


async def test_staff_set_the_status_with_buttons_and_the_post_follows(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    person, staff, outsider = Person(api), Person(api, chat_id=STAFF_ID), Person(api)
    async with staffed(api, screener):
        await become_lead(person, dialog)
        [lead] = screener.leads.find()
        post = await staff_post(api, lead.id)
        stale = copy.deepcopy(post)

        await outsider.tap("Contacted", post)  # not staff: a neutral answer, nothing else
        assert api.calls_to("answerCallbackQuery")[-1].params.get("text") is None
        assert screener.leads.get(lead.id).status == "new" and api.messages[post.message_id].text == post.text

        await staff.tap("Contacted", post)
        post = api.messages[post.message_id]
        assert "Status: contacted" in post.text
        assert api.calls_to("answerCallbackQuery")[-1].params["text"] == "Saved: contacted"

        await staff.tap("Contacted", stale)  # a double tap on the old buttons changes nothing
        assert api.calls_to("answerCallbackQuery")[-1].params["text"] == t(LEAD_CHANGED)

        await staff.tap("Close…", post)
        post = api.messages[post.message_id]
        await staff.tap("could not reach them", post)
        post = api.messages[post.message_id]
    lead = screener.leads.get(lead.id)
    assert (lead.status, lead.close_reason) == ("closed", "unreachable")
    assert "Status: closed (could not reach them)" in post.text and not post.buttons
    assert [(h["who"], h["status"]) for h in lead.history] == [
        ("screening", "new"),
        (f"telegram:{STAFF_ID}", "contacted"),
        (f"telegram:{STAFF_ID}", "closed"),
    ]
    changes = [a for a in audit_actions(screener) if a[1] == "set-status"]
    assert changes == [(f"telegram:{STAFF_ID}", "set-status", lead.id)] * 2


async def test_staff_commands_do_not_exist_for_anyone_else(api: FakeBotApi, screener: Screener, dialog: Dialog) -> None:
    person, outsider = Person(api), Person(api)
    async with staffed(api, screener):
        await become_lead(person, dialog)
        [lead] = screener.leads.find()
        await outsider.say("/start")
        await agree_to_everything_asked_first(outsider, dialog)
        await outsider.tap("I am the patient")
        unknown = [m.text for m in await outsider.say("/frobnicate")]
        for command in ("/leads", "/stats", f"/lead {lead.id}", f"/lead_{lead.id}", "/export"):
            assert [m.text for m in await outsider.say(command)] == unknown, command
    assert "know that command" in unknown[0]
    assert lead.id not in outsider.all_text() and not api.calls_to("sendDocument")
    assert [a for a in audit_actions(screener) if a[1] in ("list", "read", "stats", "export", "set-status")] == []


async def test_staff_list_read_and_count_in_telegram(api: FakeBotApi, screener: Screener, dialog: Dialog) -> None:
    first, second, staff = Person(api), Person(api), Person(api, chat_id=STAFF_ID)
    async with staffed(api, screener):
        await become_lead(first, dialog)
        await become_lead(second, dialog, OTHER_PHONE)
        newest, oldest = screener.leads.find()
        [page] = await staff.say("/leads", new_messages=1)
        assert f"/lead_{newest.id}" in page.text and oldest.id not in page.text  # one per page here
        await staff.tap("Next", page)
        page = api.messages[page.message_id]
        assert f"/lead_{oldest.id}" in page.text and [b["text"] for b in page.buttons] == ["Previous"]
        [card] = await staff.say(f"/lead_{oldest.id}", new_messages=1)
        assert PHONE in card.text and "History:" in card.text and card.buttons
        [stats] = await staff.say("/stats", new_messages=1)
        group = Person(api, chat_id=STAFF_ID)
        in_group = group.text_update(f"/lead {oldest.id}")
        in_group["message"]["chat"] = {"id": STAFF_CHAT, "type": "group", "title": "Study team"}
        await api.queue(in_group)
        await api.wait_for(lambda: any(m.text == t(PRIVATE_ONLY) for m in api.chat(STAFF_CHAT)))
    assert "leads created: 2" in stats.text and "likely candidate: 2" in stats.text
    assert [m.text for m in api.chat(STAFF_CHAT) if PHONE in m.text] == []
    who = f"telegram:{STAFF_ID}"
    assert {(who, "list", ""), (who, "read", oldest.id), (who, "stats", "")} <= set(audit_actions(screener))


async def test_export_sends_a_csv_whose_rows_match_the_database(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    people, staff = [Person(api), Person(api)], Person(api, chat_id=STAFF_ID)
    async with staffed(api, screener):
        for person, phone in zip(people, (PHONE, OTHER_PHONE), strict=True):
            await become_lead(person, dialog, phone)
        screener.leads.set_status(screener.leads.find()[0].id, "contacted", "test")
        [sent] = await staff.say("/export", new_messages=1)
        [xlsx] = await staff.say("/export xlsx", new_messages=1)
    assert sent.document is not None and xlsx.document is not None
    name, data = sent.document
    assert name.endswith(".csv") and data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    stored = {
        r["id"]: r
        for r in screener.store.db.query("SELECT id, status, outcome, phone_enc, call_time, channel FROM leads")
    }
    assert sorted(r["id"] for r in rows) == sorted(stored) and len(rows) == 2
    assert {r["phone"] for r in rows} == {"'" + PHONE, "'" + OTHER_PHONE}  # marked as text for spreadsheets
    for row in rows:
        db_row = stored[row["id"]]
        assert row["phone"] == "'" + screener.leads.vault.decrypt(db_row["phone_enc"])
        assert (row["status"], row["outcome"], row["call_time"], row["channel"]) == (
            db_row["status"],
            db_row["outcome"],
            db_row["call_time"],
            db_row["channel"],
        )
    assert xlsx.document[0].endswith(".xlsx") and xlsx.document[1][:2] == b"PK"
    exports = [e["detail"] for e in audit.entries(screener.store.db) if e["action"] == "export"]
    assert exports == ["telegram format=xlsx rows=2", "telegram format=csv rows=2"]


def _stored_bytes(db_path: Path) -> bytes:
    from .conftest import stored_bytes

    return stored_bytes(db_path)  # decrypted page by page: free pages and old WAL frames included


async def test_the_chat_id_is_stored_only_encrypted_and_delete_takes_everything(
    api: FakeBotApi, screener: Screener, dialog: Dialog, db_path: Path
) -> None:
    chat_id = 987654321987
    raw = [str(chat_id).encode(), chat_id.to_bytes(6, "big")]  # as text, and as SQLite stores the integer
    person = Person(api, chat_id=chat_id)
    async with staffed(api, screener) as app:
        await become_lead(person, dialog)
        [lead] = screener.leads.find()
        await staff_post(api, lead.id)
        conv = conversation_of(screener, person)
        assert conv is not None and conv.user_key == screener.pseudonym("telegram", chat_id) != str(chat_id)
        await person.say("/restart")  # mid-screening again: a reminder is scheduled
        [reminder] = list(screener.store.db.query("SELECT chat_id, chat_enc FROM telegram_reminders"))
        assert (reminder["chat_id"], reminder["chat_enc"]) == (0, "")  # the one copy is the conversation's:
        [address] = list(screener.store.db.query("SELECT conversation_id, address_enc FROM channel_addresses"))
        assert address["conversation_id"] == conv.id
        assert screener.leads.vault.decrypt(address["address_enc"]) == str(chat_id)
        assert not any(r in _stored_bytes(db_path) for r in raw)

        await person.say("/delete")
        await person.tap("Yes")
        await api.wait_for(lambda: api.messages[api.chat(STAFF_CHAT)[0].message_id].text == t(ERASED_POST, id=lead.id))
        await erasures_followed_up(app)  # the log is emptied off the event loop
    db = screener.store.db
    tables = (
        "conversations",
        "leads",
        "lead_history",
        "telegram_reminders",
        "telegram_staff_posts",
        "channel_addresses",
    )
    for table in tables:
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    assert ("person", "erase", lead.id) in audit_actions(screener)
    assert not any(r in _stored_bytes(db_path) for r in raw)
    # Not even in the write-ahead log: it is emptied once the step that erased has committed.
    assert conv.id.encode() not in _stored_bytes(db_path)


async def test_reminders_survive_a_key_rotation(api: FakeBotApi, dialog: Dialog, db_path: Path) -> None:
    clock = Clock()
    person = Person(api)
    screener = make_lead_screener(dialog, db_path)
    async with running_bot(api, screener, clock=clock):
        await person.say("/start")
        await agree_to_everything_asked_first(person, dialog)
        await person.tap("I am the patient")
    rotate_key(screener.store.db, screener.leads.vault, key_file_for(db_path))
    clock.advance(hours=25)
    async with running_bot(api, make_lead_screener(dialog, db_path), clock=clock) as app:
        assert await app.bot_data["reminders"].send_due() == 1
    assert REMINDER in person.texts()


async def test_the_retention_purge_runs_daily_inside_the_bot(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    clock = Clock(datetime.now(UTC))  # the stores stamp rows with the real time
    lead_person, quiet, staff = Person(api), Person(api), Person(api, chat_id=STAFF_ID)
    async with staffed(api, screener, clock=clock) as app:
        purge = app.bot_data["purge"]
        await become_lead(lead_person, dialog)
        [lead] = screener.leads.find()
        post = await staff_post(api, lead.id)
        await staff.tap("Close…", post)
        await staff.tap("duplicate", api.messages[post.message_id])
        await quiet.say("/start")
        await agree_to_everything_asked_first(quiet, dialog)  # then says no more

        async def a_day_later(days: float) -> None:
            clock.advance(days=days)
            purge.wake()
            await purge.checked.wait()

        await a_day_later(31)
        assert conversation_of(screener, quiet) is None, "unfinished for 31 days: removed"
        assert screener.leads.get(lead.id) is not None, "a closed lead is kept 180 days"
        purged = [e for e in audit.entries(screener.store.db) if e["action"] == "purge"]
        await a_day_later(0.5)  # not a day since the last purge: nothing runs
        assert [e for e in audit.entries(screener.store.db) if e["action"] == "purge"] == purged
        await a_day_later(150)
        assert screener.leads.get(lead.id) is None
        assert api.messages[post.message_id].text == t(ERASED_POST, id=lead.id)
    assert {e["who"] for e in audit.entries(screener.store.db) if e["action"] == "purge"} == {"retention"}


def test_staff_settings_are_checked() -> None:
    from bot.config import ConfigError, load_settings

    options = StaffOptions.from_settings(
        load_settings(environ={"STAFF_CHAT_ID": "-100123", "STAFF_USER_IDS": "1, 22", "STAFF_NOTIFY_CONTACT": "1"})
    )
    assert (options.chat_id, options.user_ids, options.notify_contact) == (-100123, frozenset({1, 22}), True)
    assert StaffOptions.from_settings(load_settings(environ={})).notify_contact is False
    for bad in ({"STAFF_CHAT_ID": "@team"}, {"STAFF_USER_IDS": "1;2"}, {"STAFF_NOTIFY_CONTACT": "maybe"}):
        with pytest.raises(ConfigError):
            StaffOptions.from_settings(load_settings(environ=bad))


async def test_staff_read_in_their_own_language(api: FakeBotApi, screener: Screener, dialog: Dialog) -> None:
    zh = AsSeen("zh_Hans", LOCALES)
    staff = Person(api, chat_id=STAFF_ID, language_code="zh-hans")
    async with staffed(api, screener):
        [stats] = await staff.say("/stats", new_messages=1)
        [leads] = await staff.say("/leads", new_messages=1)
    assert zh(_("Screening funnel (counts only, all time):")) in stats.text
    assert zh(_("started (consent notice shown)")) in stats.text
    assert leads.text == zh(_("There are no open leads."))


async def test_a_lead_from_the_web_chat_in_the_same_process_reaches_the_staff_chat(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    """Under `screening-bot run --web` the web chat's Screener calls are made in the bot's event
    loop; its leads are posted without waiting for anyone's Telegram update."""
    async with staffed(api, screener):
        web_person = start_screening(screener, user="web-visitor")
        answer_until(web_person, dialog)
        web_person.press("These are right: show the result")
        web_person.press(t(_("Yes, please contact me")))
        web_person.send("13800138000")
        web_person.press(t(_("Skip")))
        web_person.press(t(_("Afternoon")))
        web_person.press(t(_("Chinese (Mandarin)")))
        lead_id = screener.store.db.execute("SELECT id FROM leads").fetchone()[0]
        post = await staff_post(api, lead_id)
    assert t(NEW_LEAD, id=lead_id) in post.text
    assert "13800138000" not in post.text  # no contact details in the group by default
