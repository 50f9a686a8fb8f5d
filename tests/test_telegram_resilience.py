"""The Telegram channel when things go wrong: stale and double taps, replays, restarts, a flaky API."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
import random
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.channels.telegram import Webhook
from bot.channels.telegram.handlers import CONTACT, EDITED, NOT_TEXT, PRIVATE_ONLY, REMINDER, STALE_BUTTON
from bot.channels.telegram.keyboards import CHECKED
from bot.dialog.model import Dialog

from .conftest import Screener, make_lead_screener
from .fake_bot_api import FakeBotApi
from .telegram_support import Clock, Patient, Person, agree_to_everything_asked_first, conversation_of, running_bot


@pytest.fixture
def screener(dialog: Dialog, db_path: Path) -> Screener:
    """As in production: the Telegram channel needs the vault (pseudonymous keys, encrypted chat ids)."""
    return make_lead_screener(dialog, db_path)


async def begin(person: Person, dialog: Dialog) -> None:
    """/start, agree, 'I am the patient': the person is asked their age."""
    await person.say("/start")
    await agree_to_everything_asked_first(person, dialog)
    await person.tap("I am the patient")
    assert person.step == "age"


def history(screener: Screener, person: Person, question: str) -> list[str]:
    conv = conversation_of(screener, person)
    assert conv is not None
    return [h["value"] for h in screener.store.answer_history(conv.id) if h["question_id"] == question]


async def test_a_stale_button_is_refused_and_changes_nothing(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    person = Person(api)
    async with running_bot(api, screener):
        await person.say("/start")
        await agree_to_everything_asked_first(person, dialog)
        old = copy.deepcopy(person.prompt())  # a client may still show old buttons
        await person.tap("I am the patient")
        new = await person.tap("I am answering for the patient", message=old)
    assert new == []
    toast = api.calls_to("answerCallbackQuery")[-1].params.get("text")
    assert toast == STALE_BUTTON
    assert history(screener, person, "respondent") == ['"self"']
    assert person.step == "age"


async def test_a_double_tap_answers_once(api: FakeBotApi, screener: Screener, dialog: Dialog) -> None:
    person = Person(api)
    async with running_bot(api, screener):
        await person.say("/start")
        await agree_to_everything_asked_first(person, dialog)
        prompt = person.prompt()
        first, second = person.tap_update(prompt, "I am the patient"), person.tap_update(prompt, "I am the patient")
        await api.queue(second | {"update_id": first["update_id"] + 1} if False else first)
        await person.deliver_tap(second)
    assert history(screener, person, "respondent") == ['"self"']
    asked_age = [m for m in api.chat(person.chat_id) if "How old are you?" in m.text]
    assert len(asked_age) == 1
    assert person.prompt().text.startswith(asked_age[0].text)
    answered = api.messages[prompt.message_id]
    assert answered.text.endswith("✓ I am the patient") and not answered.buttons


async def test_an_update_delivered_three_times_has_one_effect(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    person = Person(api)
    async with running_bot(api, screener):
        await begin(person, dialog)
        tap = person.last_update  # "I am the patient"
        await person.say("40")
        answer = person.last_update
        before = len(person.texts())
        for update in (answer, tap, answer, tap):  # each arrives three times in all
            await api.replay(update)
        await person.say("/help", new_messages=2)  # handled after the replays: same chat, in order
        assert len(person.texts()) == before + 2
    assert history(screener, person, "age") == ["40"]
    assert history(screener, person, "respondent") == ['"self"']
    assert person.step == "sex"
    tap_id = tap["callback_query"]["id"]
    assert [c.params.get("callback_query_id") for c in api.calls_to("answerCallbackQuery")].count(tap_id) == 1


async def test_a_restart_of_the_bot_resumes_mid_dialog(api: FakeBotApi, db_path, dialog: Dialog) -> None:
    person = Person(api)
    async with running_bot(api, make_lead_screener(dialog, db_path)):
        await begin(person, dialog)
        await person.say("40")
    old_prompt = person.prompt()
    async with running_bot(api, make_lead_screener(dialog, db_path)):
        await person.tap("Back", old_prompt)  # a button drawn before the restart still works
        assert person.step == "age"
        await person.say("41")
        await person.say("/start")
        assert "Welcome back" in person.all_text()
        assert person.step == "sex"
    assert history(make_lead_screener(dialog, db_path), person, "age") == ["40", "41"]


async def test_429_then_502_then_a_timeout_loses_nothing_and_sends_nothing_twice(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    person = Person(api)
    async with running_bot(api, screener, read_timeout=0.5):
        await person.say("/start")
        await agree_to_everything_asked_first(person, dialog)
        api.failures["sendMessage"].extend(["429:1", "502", "hang"])
        await person.tap("I am the patient")
        attempts = [c for c in api.calls_to("sendMessage") if "How old are you?" in c.params["text"]]
        assert [c.outcome for c in attempts] == ["429", "502", "hang"]
        assert attempts[1].at - attempts[0].at >= 1.0, "retry_after was respected"
        age_question = attempts[-1]
        await person.say("40")
        await person.say("1")  # female
        # The age question's message id never came back, so its buttons could not be removed:
        # they are refused as stale.
        stale = next(m for m in api.chat(person.chat_id) if m.text == age_question.params["text"])
        await person.tap("Back", stale)
        assert api.calls_to("answerCallbackQuery")[-1].params.get("text") == STALE_BUTTON
    texts = person.texts()
    assert sum("How old are you?" in t for t in texts) == 1
    assert sum("What was your sex at birth?" in t for t in texts) == 1
    assert history(screener, person, "age") == ["40"]
    assert conversation_of(screener, person).state == "travel"


async def test_a_429_that_never_ends_is_tried_send_attempts_times_in_all(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    """One layer retries: the Sender. ptb's rate limiter beneath it only keeps the pace, so a 429
    is not retried by both (3 tries with 3 of the limiter's own under each made 12)."""
    person = Person(api)
    async with running_bot(api, screener, send_attempts=3):
        await person.say("/start")
        await agree_to_everything_asked_first(person, dialog)
        api.failures["sendMessage"].extend(["429:1"] * 20)
        await person.tap("I am the patient")
        tries = [c for c in api.calls_to("sendMessage") if "How old are you?" in c.params["text"]]
        assert [c.outcome for c in tries] == ["429"] * 3
        assert all(later.at - earlier.at >= 1.0 for earlier, later in itertools.pairwise(tries)), "retry_after"
        api.failures["sendMessage"].clear()
        await person.say("/start")  # the question that could not be sent comes back at the next message
        assert person.step == "age"
    assert conversation_of(screener, person).state == "age"


async def test_a_person_who_blocked_the_bot_becomes_inactive_and_gets_no_reminder(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    clock = Clock()
    person = Person(api)
    async with running_bot(api, screener, clock=clock) as app:
        await begin(person, dialog)
        api.blocked.add(person.chat_id)
        await person.api.queue(person.text_update("40"))
        await api.wait_for(lambda: any(c.outcome == "403" for c in api.calls))
        conv_status = lambda: screener.store.db.execute("SELECT status FROM conversations").fetchone()[0]  # noqa: E731
        await api.wait_for(lambda: conv_status() == "inactive")
        clock.advance(hours=25)
        assert await app.bot_data["reminders"].send_due() == 0
        api.blocked.clear()
        await person.say("1")
        assert conv_status() == "active"


async def test_one_gentle_reminder_survives_a_restart_and_never_comes_twice(
    api: FakeBotApi, db_path, dialog: Dialog
) -> None:
    clock = Clock()
    person = Person(api)
    async with running_bot(api, make_lead_screener(dialog, db_path), clock=clock) as app:
        await begin(person, dialog)
        clock.advance(hours=23)
        assert await app.bot_data["reminders"].send_due() == 0
    clock.advance(hours=2)
    async with running_bot(api, make_lead_screener(dialog, db_path), clock=clock) as app:
        app.bot_data["reminders"].wake()
        await api.wait_for(lambda: REMINDER in person.texts())
        assert person.step == "age"  # the question comes again with the reminder
        clock.advance(hours=48)
        assert await app.bot_data["reminders"].send_due() == 0
        await person.say("40")
        clock.advance(hours=48)
        assert await app.bot_data["reminders"].send_due() == 0
    assert person.texts().count(REMINDER) == 1


async def test_the_reminder_waits_the_whole_quiet_time_and_its_row_is_not_rewritten_at_every_message(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    """Due on the first 10-minute mark after 24 h of quiet: never early, at most 10 minutes late; messages
    within one mark leave its row alone (one write fewer per update)."""
    clock = Clock(datetime(2026, 11, 30, 8, 3, 20, tzinfo=UTC))
    person = Person(api)
    due = lambda: screener.store.db.execute("SELECT due_at FROM telegram_reminders").fetchone()[0]  # noqa: E731
    async with running_bot(api, screener, clock=clock) as app:
        await begin(person, dialog)
        assert due() == "2026-12-01T08:10:00+00:00"
        updates: list[str] = []
        screener.store.db.conn.set_trace_callback(updates.append)
        clock.advance(minutes=5)
        await person.say("40")
        screener.store.db.conn.set_trace_callback(None)
        assert not [sql for sql in updates if sql.startswith("UPDATE telegram_reminders")]
        assert due() == "2026-12-01T08:10:00+00:00"
        clock.advance(minutes=2)  # 08:10:20: the next mark
        await person.tap(person.labels()[0])
        assert due() == "2026-12-01T08:20:00+00:00"
        clock.advance(hours=24, minutes=-1)  # 24 h less 1 minute after the last message
        assert await app.bot_data["reminders"].send_due() == 0
        clock.advance(minutes=10)  # 24 h 9 min after it, still before the mark (08:20)
        assert await app.bot_data["reminders"].send_due() == 0
        clock.advance(minutes=1)  # past the mark: at most 10 minutes late
        assert await app.bot_data["reminders"].send_due() == 1
    assert person.texts().count(REMINDER) == 1


async def test_things_that_are_not_answers_get_a_short_explanation(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    person = Person(api)
    async with running_bot(api, screener):
        await begin(person, dialog)
        for content, expected in [
            (
                {
                    "sticker": {
                        "file_id": "s",
                        "file_unique_id": "s",
                        "width": 1,
                        "height": 1,
                        "is_animated": False,
                        "is_video": False,
                        "type": "regular",
                    }
                },
                NOT_TEXT,
            ),
            ({"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]}, NOT_TEXT),
            ({"voice": {"file_id": "v", "file_unique_id": "v", "duration": 1}}, NOT_TEXT),
            ({"document": {"file_id": "d", "file_unique_id": "d"}}, NOT_TEXT),
            ({"location": {"latitude": 30.5, "longitude": 114.3}}, NOT_TEXT),
            ({"contact": {"phone_number": "+8613800138000", "first_name": "Test"}}, CONTACT),
        ]:
            update = {"update_id": api.next_update_id(), "message": person._message(**content)}
            new = await person.send(update, new_messages=1)
            assert [m.text for m in new] == [expected]
        edited = {"update_id": api.next_update_id(), "edited_message": person._message(text="41", edit_date=1)}
        assert [m.text for m in await person.send(edited, new_messages=1)] == [EDITED]
        long = await person.say("🙂" * 4000)
        assert "How old are you?" in long[-1].text
    assert person.step == "age"
    assert history(screener, person, "age") == []


async def test_in_a_group_the_bot_only_says_it_talks_in_private(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    person = Person(api)
    group = -100123

    def in_group(text: str) -> dict:
        update = person.text_update(text)
        update["message"]["chat"] = {"id": group, "type": "group", "title": "Lupus friends"}
        return update

    async with running_bot(api, screener):
        await api.queue(in_group("I am 40"))
        await api.queue(in_group("/start@screening_test_bot"))
        await api.wait_for(lambda: api.chat(group))
        await person.say("/start")  # a later private update: the group ones are done by now
    assert [m.text for m in api.chat(group)] == [PRIVATE_ONLY]
    assert screener.store.db.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0


async def test_chats_run_side_by_side_and_each_chat_stays_in_order(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    ann, bo = Person(api), Person(api)
    async with running_bot(api, screener):
        await begin(ann, dialog)
        await begin(bo, dialog)
        for update in (ann.text_update("40"), bo.text_update("50"), ann.text_update("1"), bo.text_update("2")):
            await api.queue(update)
        await api.wait_for(lambda: ann.asked("travel") and bo.asked("travel"))
    assert history(screener, ann, "age") == ["40"] and history(screener, ann, "sex") == ['"female"']
    assert history(screener, bo, "age") == ["50"] and history(screener, bo, "sex") == ['"male"']


async def test_an_error_is_logged_with_an_incident_id_and_the_person_is_told_kindly(
    api: FakeBotApi, screener: Screener, dialog: Dialog, caplog: pytest.LogCaptureFixture
) -> None:
    person = Person(api)
    async with running_bot(api, screener):
        await begin(person, dialog)
        api.failures["sendMessage"].append("400")
        new = await person.say("40", new_messages=1)
    assert "Sorry, something went wrong on our side" in new[0].text
    incidents = [r for r in caplog.records if r.levelno == logging.ERROR and "incident" in r.getMessage()]
    assert incidents and incidents[0].getMessage().split()[1].rstrip(":") in new[0].text


async def test_a_failing_command_menu_does_not_stop_the_bot(
    api: FakeBotApi, screener: Screener, dialog: Dialog, caplog: pytest.LogCaptureFixture
) -> None:
    api.failures["setMyCommands"].extend(["500"] * 20)
    person = Person(api)
    async with running_bot(api, screener):
        await begin(person, dialog)
    assert any("command menu" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


async def test_webhook_checks_the_secret_token_on_every_call(
    api: FakeBotApi, screener: Screener, dialog: Dialog, unused_tcp_port: int
) -> None:
    webhook = Webhook(f"http://127.0.0.1:{unused_tcp_port}/telegram-hook", "127.0.0.1", unused_tcp_port)
    person = Person(api)
    async with running_bot(api, screener, webhook=webhook), httpx.AsyncClient() as client:
        set_webhook = api.calls_to("setWebhook")[-1].params
        assert set_webhook["url"] == webhook.url and set_webhook["secret_token"] == webhook.secret_token
        update = person.text_update("/start")
        header = "X-Telegram-Bot-Api-Secret-Token"
        wrong = await client.post(webhook.url, json=update, headers={header: "not-the-secret"})
        missing = await client.post(webhook.url, json=update)
        assert (wrong.status_code, missing.status_code) == (403, 403)
        right = await client.post(webhook.url, json=update, headers={header: webhook.secret_token})
        assert right.status_code == 200
        await api.wait_for(lambda: person.texts())
    assert any("Hello!" in t for t in person.texts())
    assert len(webhook.secret_token) >= 32


async def test_bursts_of_429_502_and_timeouts_lose_no_answer_and_send_no_message_twice(
    api: FakeBotApi, screener: Screener, dialog: Dialog, caplog: pytest.LogCaptureFixture
) -> None:
    """Five people go through whole screenings while every kind of call fails in bursts."""
    rng = random.Random(429)
    people = [Patient(api, dialog, rng) for _ in range(5)]
    methods = ["sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery"]
    bursts = [["429:0", "429:0", "502"], ["502", "502", "502"], ["hang"], ["429:0", "hang", "502"]]
    injected = 0

    async def trouble() -> None:
        nonlocal injected
        while not all(p.finished for p in people):
            calls = len(api.calls)
            await api.wait_for(lambda: len(api.calls) >= calls + 15 or all(p.finished for p in people))  # noqa: B023
            api.failures[rng.choice(methods)].extend(rng.choice(bursts))
            injected += 1

    async with running_bot(api, screener, read_timeout=0.3):
        maker = asyncio.create_task(trouble())
        await asyncio.wait_for(asyncio.gather(*(p.keep_answering() for p in people)), 60)
        await maker
    assert injected >= 10
    outcomes = [c.outcome for c in api.calls]
    assert {"429", "502", "hang"} <= set(outcomes)
    for person in people:
        prompts = [t for t in person.texts() if re.match(r"Question \d+ of \d+", t)]
        asked = [t.split("\n\n")[0] for t in prompts]
        assert len(asked) == len(set(asked)), "a question was sent twice"
        conv = conversation_of(screener, person)
        assert conv is not None and conv.outcome
        stored = {(h["question_id"], h["value"]) for h in screener.store.answer_history(conv.id)}
        for step, value in person.acknowledged:
            if dialog.has_question(step):
                assert (step, json.dumps(value)) in stored, f"the answer to {step} was lost"
        assert len(stored) == len(screener.store.answer_history(conv.id)), "an answer was stored twice"
    assert not [r for r in caplog.records if "incident" in r.getMessage()], "no error reached a person"


async def test_two_hundred_people_at_once_never_see_each_others_questions_or_answers(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    people = [Person(api) for _ in range(200)]
    # The age is different for neighbours, so an answer shown in a wrong chat is caught.
    answers = {p.chat_id: (str(20 + i % 40), "1") for i, p in enumerate(people)}

    async def screening(person: Person) -> None:
        await person.say("/start")
        await agree_to_everything_asked_first(person, dialog)
        await person.tap("I am the patient")
        age, sex = answers[person.chat_id]
        await person.say(age)
        await person.say(sex)

    async with running_bot(api, screener, in_process=True):
        await asyncio.wait_for(asyncio.gather(*(screening(p) for p in people)), 60)
    reference = [m.text for m in api.chat(people[0].chat_id)]
    for person in people:
        age, sex = answers[person.chat_id]
        texts = [m.text for m in api.chat(person.chat_id)]
        echoes = [t.rsplit(CHECKED, 1)[1] for t in texts if CHECKED in t]
        assert echoes == [
            dialog.consent.agree,
            dialog.separate_consent("cross_border").agree,
            "I am the patient",
            age,
            sex,
        ]
        assert [t.split(CHECKED)[0] for t in texts] == [t.split(CHECKED)[0] for t in reference]
        assert history(screener, person, "age") == [age]
        assert history(screener, person, "sex") == ['"female"']
        assert person.step == "travel"


async def test_an_age_under_14_ends_the_chat_with_nothing_kept_and_start_begins_again(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    """E.g. a "1" typed for a button question lands on the age question: kindly stopped, a typo can be redone."""
    person = Person(api)
    async with running_bot(api, screener):
        await begin(person, dialog)
        new = await person.say("1", new_messages=2)
        assert new[0].text == dialog.consent.under_age_text
        assert "If the age was a typing mistake, please start again." in person.all_text()
        assert conversation_of(screener, person) is None
        await person.say("/start")
        assert person.step == "consent"
