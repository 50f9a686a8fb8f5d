"""Whole screenings over Telegram: the real Application, polling a fake Bot API on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.telegram.keyboards import CALLBACK_DATA_LIMIT, SharedKeyboard, encode
from bot.dialog.flow import AT_REST
from bot.dialog.model import OUTCOMES, Dialog, Question
from bot.howto import TELEGRAM
from bot.i18n import Translator, _
from bot.replies import Choose, Command

from .conftest import LOCALES, AsSeen, Screener, make_lead_screener
from .fake_bot_api import FakeBotApi
from .telegram_support import Person, conversation_of, running_bot


@pytest.fixture
def screener(dialog: Dialog, db_path: Path) -> Screener:
    """As in production: the Telegram channel needs the vault (pseudonymous keys, encrypted chat ids)."""
    return make_lead_screener(dialog, db_path)


def harmless(question: Question) -> str:
    """The option id (or typed value) of a person who meets every rule."""
    if question.kind == "number":
        return "15" if question.max is not None and question.max < 40 else "40"
    if question.kind == "year":
        return "2015"
    none = question.option("none")
    if question.kind == "multi" and none and not none.rules_out:
        return "none"
    return next(o.id for o in question.options if not (o.rules_out or o.review or o.wait or o.exclusive))


def number_of(question: Question, option_id: str) -> str:
    return str([o.id for o in question.options].index(option_id) + 1)


async def screen(person: Person, dialog: Dialog, t: Translator, typed: bool, answers: dict[str, str]) -> None:
    """Answer every question (harmlessly unless `answers` says otherwise) and confirm the summary."""
    if typed:
        await person.say("yes")
    else:
        await person.tap(t(dialog.consent.agree))
    for _step in range(60):
        step = person.step
        if step == "summary":
            if typed:
                await person.say("/confirm")
            else:
                await person.tap(t(_("These are right: show the result")))
            continue
        if (consent := dialog.separate_consent(step)) is not None:
            await (person.say("yes") if typed else person.tap(t(consent.agree)))
            continue
        if not dialog.has_question(step):
            return
        question = dialog.question(step)
        value = answers.get(step, harmless(question))
        if value == "not_sure" and question.kind in ("number", "year"):
            await (person.say("not sure") if typed else person.tap(t(_("Not sure"))))
        elif question.kind in ("number", "year"):
            await person.say(value)
        elif typed:
            await person.say(number_of(question, value))
        else:
            await person.tap(t(question.option(value).label))
            if question.kind == "multi":
                assert f"✓ {t(question.option(value).label)}" in person.labels()
                await person.tap(t(_("Done")))
    raise AssertionError("the screening did not end")


ROUTES = {
    "likely_candidate": {},
    "not_eligible": {"age": "17"},
    "needs_review": {"diagnosis_year": "not_sure"},
    "not_yet": {"diagnosis_year": "2026", "diagnosis_month": "aug", "diagnosis_day": "not_sure"},
}


def route(dialog: Dialog, outcome: str) -> dict[str, str]:
    answers = dict(ROUTES[outcome])
    if answers.get("diagnosis_month") == "aug":
        answers["diagnosis_month"] = dialog.question("diagnosis_month").options[7].id
    return answers


@pytest.mark.parametrize("typed", [False, True], ids=["buttons", "typed"])
@pytest.mark.parametrize("outcome", OUTCOMES)
async def test_a_whole_screening_to_each_outcome(
    api: FakeBotApi, screener: Screener, dialog: Dialog, outcome: str, typed: bool
) -> None:
    t = AsSeen("en", LOCALES)
    person = Person(api)
    async with running_bot(api, screener):
        await person.say("/start")
        assert screener.consent_text(t, TELEGRAM) in person.all_text()
        await screen(person, dialog, t, typed, route(dialog, outcome))
        if outcome == "not_yet":  # Telegram can send a reminder: it is offered first (bot/rescreen.py)
            assert person.step == "reminder_offer"
            await person.tap(t(_("No, thank you")))
        if outcome in ("likely_candidate", "needs_review"):
            assert person.step == "contact_consent"  # contact capture has its own test (test_telegram_staff.py)
            await (person.say("2") if typed else person.tap(t(_("No, thank you"))))
        assert person.step == "finished"
    conv = conversation_of(screener, person)
    assert conv is not None and conv.outcome == outcome and conv.state in AT_REST  # the outcome, and at rest after it
    assert t(dialog.outcomes[outcome].title) in person.all_text()
    answered = [m for m in api.chat(person.chat_id) if m.from_bot and "\n\n✓ " in m.text]
    assert len(answered) >= 3, "answered questions are edited to show the answer"
    assert all(not m.buttons for m in answered)
    sends = api.calls_to("sendMessage")
    assert len(sends) == len({c.params["text"] for c in sends}) or outcome  # no error path here
    assert all(c.outcome == "ok" for c in api.calls), [c for c in api.calls if c.outcome != "ok"]


async def test_a_chinese_screening_by_buttons(api: FakeBotApi, screener: Screener, dialog: Dialog) -> None:
    """Texts are compared with the zh_Hans catalog, whatever it holds today."""
    t = AsSeen("zh_Hans", LOCALES)
    person = Person(api, language_code="zh-hans")
    async with running_bot(api, screener):
        await person.say("/start")
        assert screener.consent_text(t, TELEGRAM) in person.texts()
        assert person.labels() == [t(dialog.consent.agree), t(dialog.consent.decline), t(dialog.consent.under_age)]
        await screen(person, dialog, t, typed=False, answers={})
    assert t(dialog.outcomes["likely_candidate"].title) in person.all_text()
    commands = {c.params.get("language_code"): c.params["commands"] for c in api.calls_to("setMyCommands")}
    assert commands["zh"][0] == {"command": "start", "description": t(_("Begin or go on with the screening"))}
    assert commands[None][0]["description"] == "Begin or go on with the screening"


async def test_a_deep_link_is_kept_as_the_source(api: FakeBotApi, screener: Screener, dialog: Dialog) -> None:
    person = Person(api)
    async with running_bot(api, screener):
        await person.say("/start poster-wuhan")
        await person.tap(dialog.consent.agree)
    conv = conversation_of(screener, person)
    assert conv is not None and conv.source == "poster-wuhan"


async def test_commands_work_mid_question(api: FakeBotApi, screener: Screener, dialog: Dialog) -> None:
    person = Person(api)
    async with running_bot(api, screener):
        await person.say("/start")
        await person.tap(dialog.consent.agree)
        assert person.step == "cross_border"  # Telegram's servers abroad: a consent of its own (PIPL art. 39)
        await person.tap(dialog.separate_consent("cross_border").agree)
        await person.tap("I am the patient")
        assert person.step == "age"
        await person.say("/back")
        assert person.step == "respondent"
        await person.say("/language")
        assert person.labels()[0] == "English"
        await person.tap("English")
        assert person.step == "respondent"
        await person.say("/delete")
        await person.tap("Yes", person.prompt())
        await person.api.wait_for(lambda: "Your answers are deleted" in person.all_text())
    assert conversation_of(screener, person) is None


def test_every_button_fits_in_callback_data(dialog: Dialog) -> None:
    for question in dialog.questions:
        for option in question.options:
            assert len(encode(question.id, Choose(question.id, option.id)).encode()) <= CALLBACK_DATA_LIMIT
        assert len(encode("summary", Command("edit", question.id)).encode()) <= CALLBACK_DATA_LIMIT
        assert len(encode(question.id, Command("done")).encode()) <= CALLBACK_DATA_LIMIT


def test_a_shared_keyboard_goes_out_as_ptb_writes_it_and_no_send_changes_the_next(dialog: Dialog) -> None:
    """Keyboards are built once and shared by every chat (keyboards.py): what each send gets is
    ptb's own dict for it, and a copy, so nothing done to one request reaches the next."""
    for question in dialog.questions:
        rows = [
            [InlineKeyboardButton(o.label, callback_data=encode(question.id, Choose(question.id, o.id)))]
            for o in question.options
        ] + [[InlineKeyboardButton("Back", callback_data=encode(question.id, Command("back")))]]
        shared, plain = SharedKeyboard(rows), InlineKeyboardMarkup(rows)
        sent = shared.to_dict()
        assert sent == plain.to_dict() and shared == plain
        sent["inline_keyboard"][0][0]["text"] = "changed"
        sent["inline_keyboard"].append([])
        assert shared.to_dict() == plain.to_dict()
        assert shared.to_dict(recursive=False) == plain.to_dict(recursive=False)
