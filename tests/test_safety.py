"""A person at risk always reaches a human: risk answers, typed risk messages, the crisis text, urgent leads."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.dialog import signals
from bot.dialog.load import DialogError, parse_dialog
from bot.dialog.model import Dialog
from bot.staff.views import show_lead
from bot.store import audit

from .conftest import (
    DIALOG_PATH,
    LOCALES,
    AsSeen,
    Chat,
    Screener,
    answer_until,
    give_contact,
    make_lead_screener,
    reach_outcome,
    start_screening,
)
from .test_conversations import number_of

ZH = AsSeen("zh_Hans", LOCALES)
HANT = AsSeen("zh_Hant", LOCALES)


@pytest.fixture
def screener(dialog: Dialog, db_path: Path) -> Screener:
    """As `screening-bot run` builds it: with contact capture and encrypted leads."""
    return make_lead_screener(dialog, db_path, phone="+86 27 8572 6114")


def low_mood_yes(dialog: Dialog) -> dict[str, str]:
    return {"low_mood": number_of(dialog.question("low_mood"), "yes")}


def crisis_numbers(dialog: Dialog) -> list[str]:
    return [line.number for line in dialog.safety.lines if line.crisis]


# ---------------------------------------------------------------- a risk answer, whatever the outcome


def test_a_risk_answer_with_a_short_treatment_is_not_yet_and_still_reaches_a_person(
    screener: Screener, dialog: Dialog
) -> None:
    chat = start_screening(screener)
    overrides = {
        **low_mood_yes(dialog),
        "treatment_time": number_of(dialog.question("treatment_time"), "under_1_month"),
    }
    answer_until(chat, dialog, stop_at="low_mood", overrides=overrides)
    chat.send(overrides["low_mood"])
    assert all(n in chat.said for n in crisis_numbers(dialog)), "crisis help at once"
    reach_outcome(chat, dialog, overrides)
    assert chat.state() == "not_yet"
    assert "Not yet, but maybe later" in chat.said
    assert "Phone: +86 27 8572 6114" in chat.said, "the site's phone at the end"
    assert chat.said.rstrip().endswith(dialog.safety.text.splitlines()[-1]), "the crisis text last, again"
    assert chat.question == "contact_consent"
    chat.assert_asked("You told us something that matters for your safety")
    give_contact(chat, "139 1234 5678", None)
    assert "You are not alone" in chat.said, "the crisis text again at the very end"
    lead = screener.leads.find()[0]
    assert lead.outcome == "not_yet" and lead.urgent == "low_mood"
    assert lead.contact_consent_version == "contact-urgent-1"


def test_a_risk_answer_then_a_rule_out_still_offers_contact(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, overrides=low_mood_yes(dialog))
    chat.press("Change: Can come to Wuhan")
    chat.send(number_of(dialog.question("travel"), "no"))
    assert chat.state() == "not_eligible"
    assert "This study may not fit you" in chat.said and "You are not alone" in chat.said
    assert chat.question == "contact_consent"
    chat.press("No, thank you")
    assert "We keep no contact details" in chat.said
    assert "Phone: +86 27 8572 6114" in chat.said and "You are not alone" in chat.said
    assert screener.leads.find() == []
    assert audit.totals(screener.store.db)["contact_declined_urgent"] == 1


def test_without_a_risk_a_rule_out_offers_no_contact(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="travel")
    chat.send(number_of(dialog.question("travel"), "no"))
    assert chat.state() == "not_eligible" and chat.question != "contact_consent"
    assert "You are not alone" not in chat.said


def test_an_urgent_lead_comes_first_and_says_why(screener: Screener, dialog: Dialog) -> None:
    calm = start_screening(screener, user="calm")
    reach_outcome(calm, dialog)
    give_contact(calm, "139 1111 2222", "Calm")
    worried = start_screening(screener, user="worried")
    reach_outcome(worried, dialog, low_mood_yes(dialog))
    give_contact(worried, "139 3333 4444", "Worried")
    calm_again = start_screening(screener, user="later")
    reach_outcome(calm_again, dialog)
    give_contact(calm_again, "139 5555 6666", "Later")
    leads = screener.leads.find()
    assert [lead.name for lead in leads] == ["Worried", "Later", "Calm"]
    shown = show_lead(leads[0], dialog)
    assert "URGENT" in shown and "Thoughts of suicide in the past year" in shown
    assert "URGENT" not in show_lead(leads[1], dialog)


# ---------------------------------------------------------------- typed messages


TRUE_POSITIVES = [
    ("I want to kill myself", "suicide"),
    ("i dont want to live anymore", "suicide"),
    ("I don't want to live like this", "suicide"),
    ("Sometimes I think she wants to die", "suicide"),
    ("SUICIDE", "suicide"),
    ("我不想活了", "suicide"),
    ("活着没意思，想自杀", "suicide"),
    ("我想 结束 自己的生命", "suicide"),
    ("我不想活了。", "suicide"),
    ("活著沒意思，想自殺", "suicide"),
    ("ｋｉｌｌ ｍｙｓｅｌｆ", "suicide"),
    ("high fever and chest pain", "emergency"),
    ("I can't breathe", "emergency"),
    ("She passed out", "emergency"),
    ("胸口很闷，喘不过气", "emergency"),
    ("發高燒，呼吸困難", "emergency"),
]
FALSE_POSITIVES = [
    "I take medicine for my kidneys",
    "40",
    "2015",
    "1, 3",
    "not sure",
    "I am on a diet",
    "My mother died of lupus",
    "the pain in my joints is bad",
    "Hydroxychloroquine",
    "I killed time reading",
    "股骨头坏死",
    "我在吃治肾的药",
    "胸部拍过片子",
    "死亡率是多少",
    "不确定",
    "我替患者回答",
]


@pytest.mark.parametrize(("typed", "kind"), TRUE_POSITIVES)
def test_risk_phrases_are_found_in_english_and_chinese(dialog: Dialog, typed: str, kind: str) -> None:
    assert signals.detect(typed, dialog.safety.signals) == [kind]


@pytest.mark.parametrize("typed", FALSE_POSITIVES)
def test_harmless_messages_raise_no_alarm(dialog: Dialog, typed: str) -> None:
    assert signals.detect(typed, dialog.safety.signals) == []


def test_every_chinese_phrase_is_listed_in_both_scripts(dialog: Dialog) -> None:
    import opencc

    to_traditional = [opencc.OpenCC(c) for c in ("s2t", "s2tw")]
    for kind, phrases in dialog.safety.signals.items():
        listed = {signals.fold(p) for p in phrases}
        for phrase in phrases:
            for converter in to_traditional:
                assert signals.fold(converter.convert(phrase)) in listed, (kind, phrase)


def stored_everywhere(screener: Screener) -> str:
    """Every row of every table, as text: a typed risk message must be in none of them."""
    db = screener.store.db
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return "\n".join(str(row) for table in tables for row in db.execute(f"SELECT * FROM {table}"))


@pytest.mark.parametrize("step", ["consent", "respondent", "age", "health", "treatments", "summary", "contact_phone"])
@pytest.mark.parametrize(("typed", "kind"), [("I want to kill myself", "suicide"), ("胸痛得厉害", "emergency")])
def test_a_typed_risk_anywhere_shows_help_asks_again_and_stores_nothing(
    screener: Screener, dialog: Dialog, step: str, typed: str, kind: str
) -> None:
    chat = Chat(screener)
    if step != "consent":
        chat.send("1")
        if step in ("summary", "contact_phone"):
            reach_outcome(chat, dialog) if step == "contact_phone" else answer_until(chat, dialog)
            if step == "contact_phone":
                chat.press("Yes, please contact me")
        else:
            answer_until(chat, dialog, stop_at=step)
    before = (chat.asked, screener.store.load("test", "person-1"))
    chat.send(typed)
    if kind == "suicide":
        assert "You are not alone" in chat.said and all(n in chat.said for n in crisis_numbers(dialog))
    else:
        assert "This chat cannot help in an emergency" in chat.said and "call 120" in chat.said
    assert chat.reply.alert and chat.asked == before[0], "the same question, asked again"
    after = screener.store.load("test", "person-1")
    if before[1] is not None:
        assert after.answers == before[1].answers and after.state == before[1].state
    assert typed not in stored_everywhere(screener)
    assert audit.totals(screener.store.db)[f"signal:{kind}"] == 1


def test_a_typed_risk_after_the_health_consent_makes_the_lead_urgent(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="active")
    chat.send("我不想活了")
    assert "You are not alone" in chat.said
    reach_outcome(chat, dialog, {"travel": "1"})
    assert chat.state() == "likely_candidate"
    chat.assert_asked("You told us something that matters for your safety")
    give_contact(chat, "139 1234 5678", None)
    assert screener.leads.find()[0].urgent == "typed_risk"


def test_a_typed_risk_before_the_health_consent_is_not_kept(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    chat.send("I want to kill myself")
    assert "You are not alone" in chat.said
    assert screener.store.load("test", "person-1").risk_signal is False


def test_a_typed_risk_is_met_with_the_carer_s_words_when_a_carer_answers(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    chat.press("I am answering for the patient")
    chat.send("she wants to kill herself")
    assert "If the patient might hurt themselves" in chat.said
    assert "If you might hurt yourself" not in chat.said
    chat.send("胸口痛")
    assert "If the patient is very unwell now, call 120" in chat.said


# ---------------------------------------------------------------- the texts


def test_the_crisis_text_gives_every_number_from_its_list_and_never_says_free(dialog: Dialog) -> None:
    texts = [dialog.safety.text, dialog.safety.text_caregiver, dialog.safety.emergency_text, dialog.safety.unwell_now]
    for text in texts:
        assert not re.search(r"\d{3}", text), "numbers come from [[safety.lines]], marked for the site to confirm"
        assert "free" not in text.lower()
    for language in (ZH, HANT):
        for text in texts:
            assert "免费" not in language(text) and "免費" not in language(text)
    assert "24 hours" in [line.hours for line in dialog.safety.lines if line.number == "120"]
    assert "08:00 to 02:00" in next(line.hours for line in dialog.safety.lines if line.number == "12356")
    assert all(dialog.waits_for_confirmation(f"safety.lines.{line.id}") for line in dialog.safety.lines), (
        "every number is marked for the site to confirm"
    )


def test_the_carer_s_crisis_text_speaks_of_the_patient(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    chat.press("I am answering for the patient")
    answer_until(chat, dialog, stop_at="low_mood")
    chat.send(number_of(dialog.question("low_mood"), "yes"))
    assert "If the patient might hurt themselves" in chat.said
    assert "If you might hurt yourself" not in chat.said
    assert "如果患者可能伤害自己" in ZH(dialog.safety.text_caregiver)


def test_welcome_and_help_say_what_to_do_if_very_unwell_now(screener: Screener) -> None:
    chat = Chat(screener)
    assert "If you are very unwell now, call 120" in chat.said
    chat.command("help")
    assert "If you are very unwell now, call 120" in chat.said
    chinese = Chat(screener, user="zh", language="zh-cn")
    assert "如果您现在很不舒服，请拨打120" in chinese.said


# ---------------------------------------------------------------- the loader refuses unsafe data


@pytest.fixture
def data() -> dict[str, Any]:
    return tomllib.loads(DIALOG_PATH.read_text(encoding="utf-8"))


def refused(data: dict[str, Any], *words: str) -> None:
    with pytest.raises(DialogError) as caught:
        parse_dialog(data, source="dialogs/test.toml")
    for word in words:
        assert word in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("phrase", "words"),
    [("die", "single English word"), ("死", "at least 2 characters"), ("...", "no letters")],
)
def test_a_phrase_that_would_raise_false_alarms_is_refused(data: dict[str, Any], phrase: str, words: str) -> None:
    data["safety"]["signals"]["suicide"].append(phrase)
    refused(data, "[safety.signals]", words)


def test_a_phrase_listed_twice_is_refused(data: dict[str, Any]) -> None:
    data["safety"]["signals"]["emergency"].append("Chest  Pain!")
    refused(data, "listed twice")


def test_a_number_typed_into_a_safety_text_is_refused(data: dict[str, Any]) -> None:
    data["safety"]["text"] = data["safety"]["text"].replace("{lines}", "call 12356")
    refused(data, "[safety]", "number typed into it", "[[safety.lines]]")


def test_an_unknown_number_placeholder_is_refused(data: dict[str, Any]) -> None:
    data["safety"]["unwell_now"] = "Call {ambulance}."
    refused(data, "{ambulance}", "[[safety.lines]]")


def test_a_risk_answer_can_never_rule_out(data: dict[str, Any]) -> None:
    low_mood = next(q for q in data["questions"] if q["id"] == "low_mood")
    low_mood["options"][0] = {"id": "yes", "label": "Yes", "rules_out": "E2", "safety": True}
    data["criteria"]["E2"]["reason"] = "The study cannot take people who had thoughts of suicide."
    refused(data, "option 'yes'", "must never rule out")


def test_the_shipped_dialog_needs_no_lenient_reading(dialog: Dialog) -> None:
    parse_dialog(copy.deepcopy(tomllib.loads(DIALOG_PATH.read_text(encoding="utf-8"))), source="shipped")


def test_migration_7_brings_an_existing_database_up_to_date(tmp_path: Path, dialog: Dialog) -> None:
    """A database made by the previous release (schema 6) gains leads.urgent and the consents columns."""
    import sqlite_utils

    from bot.store import open_database, sqlcipher
    from bot.store.db import MIGRATIONS

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(sqlcipher.connect(path))
    for number, step in enumerate(MIGRATIONS[:6], start=1):
        step(old)
        old.execute(f"PRAGMA user_version = {number}")
    old.conn.close()
    db = open_database(path)
    assert "urgent" in db["leads"].columns_dict
    assert {"consents", "risk_signal"} <= set(db["conversations"].columns_dict)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
