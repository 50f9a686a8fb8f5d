"""Consent that is true (PIPL): the controller and the server named, a separate consent for health data
and for Telegram's servers abroad, no child under 14 consenting alone, every consent versioned."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dialog.model import Dialog
from bot.replies import Choose, Command
from bot.store import audit

from .conftest import LOCALES, AsSeen, Chat, Screener, answer_until, make_lead_screener, make_screener, start_screening

ZH = AsSeen("zh_Hans", LOCALES)


@pytest.fixture
def screener(dialog: Dialog, db_path: Path) -> Screener:
    return make_lead_screener(dialog, db_path)


def rows(screener: Screener, table: str) -> int:
    return screener.store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_the_notice_is_true_names_the_controller_and_the_server_s_place(dialog: Dialog, db_path: Path) -> None:
    assert "Only the study team can see your answers" not in dialog.consent.text
    assert "只有研究团队能看到您的回答" not in ZH(dialog.consent.text)
    screener = make_screener(dialog, db_path, server_location="Wuhan, China (the hospital's own server)")
    chat = Chat(screener)
    chat.assert_asked("The hospital is in charge of your information (it is the data controller).")
    chat.assert_asked("Where it is: Wuhan, China (the hospital's own server).")
    chat.assert_asked("So can the staff who look after the server.")
    unset = Chat(make_screener(dialog, db_path.with_name("other.db")))
    unset.assert_asked("Where it is: not yet set by the hospital.")


def test_the_health_consent_comes_before_the_first_health_question(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="health")
    assert chat.question == "health"
    conv = screener.store.load("test", "person-1")
    assert set(conv.answers) == {"respondent", "age", "sex", "travel"}, "nothing about health before it"
    chat.assert_asked("This is sensitive information. We need it only to see if the study may fit you.")
    chat.assert_asked("If you do not agree, we stop here and delete what you told us.")
    chat.press("I agree")
    conv = screener.store.load("test", "person-1")
    assert conv.consents["health"]["version"] == "1" and conv.consents["health"]["at"]
    assert conv.consent_version == dialog.consent.version


def test_declining_the_health_consent_keeps_nothing(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="health")
    chat.press("I don't agree")
    assert "We have deleted what you told us" in chat.said and chat.reply.ended
    assert rows(screener, "conversations") == 0 and rows(screener, "answers") == 0
    assert audit.totals(screener.store.db)["declined_consent:health"] == 1


def test_a_carer_is_asked_for_the_patient_s_agreement(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    chat.press("I am answering for the patient")
    answer_until(chat, dialog, stop_at="health")
    chat.assert_asked("Does the patient agree that we use their health information for this?")


def test_the_cross_border_consent_is_asked_on_telegram_only(screener: Screener, dialog: Dialog) -> None:
    consent = dialog.separate_consent("cross_border")
    assert consent is not None and consent.channels == ("telegram",) and consent.recipient
    web = start_screening(screener)
    assert web.question == "respondent"
    conv = screener.open("telegram", "someone")
    reply = screener.handle(conv, Choose("consent", "agree"))
    assert reply.prompt is not None and reply.prompt.question == "cross_border"
    assert f"Who gets them: {consent.recipient}." in reply.prompt.text
    assert "outside mainland China" in reply.prompt.text and "not end-to-end encrypted" in reply.prompt.text
    reply = screener.handle(conv, Choose("cross_border", "agree"))
    assert reply.prompt is not None and reply.prompt.question == "respondent"
    conv = screener.open("telegram", "someone")  # as stored
    assert conv.consents["cross_border"]["version"] == consent.version
    assert "接收方：{recipient}。" in ZH(consent.text)


def test_declining_the_cross_border_consent_keeps_nothing(screener: Screener, dialog: Dialog) -> None:
    conv = screener.open("telegram", "someone")
    screener.handle(conv, Choose("consent", "agree"))
    reply = screener.handle(conv, Choose("cross_border", "decline"))
    assert "You can use the study's web page instead" in reply.notices[0] and reply.ended
    assert rows(screener, "conversations") == 0


def test_privacy_shows_every_notice_that_applies(screener: Screener, dialog: Dialog) -> None:
    conv = screener.open("telegram", "someone")
    screener.handle(conv, Choose("consent", "agree"))
    said = "\n".join(screener.handle(conv, Command("privacy")).notices)
    assert "The hospital is in charge of your information" in said and "Telegram's computers" in said
    web = start_screening(screener)
    web.command("privacy")
    assert "Telegram's computers" not in web.said


def test_a_child_under_14_is_stopped_at_the_notice_with_nothing_kept(screener: Screener, dialog: Dialog) -> None:
    chat = Chat(screener)
    assert dialog.consent.under_age in [b.label for b in chat.buttons()]
    chat.press(dialog.consent.under_age)
    assert "This study is for adults aged 18 to 70" in chat.said and chat.reply.ended
    assert rows(screener, "conversations") == 0


@pytest.mark.parametrize(
    ("who", "age"),
    [("I am the patient", "12"), ("I am the patient", "2013"), ("I am answering for the patient", "9")],
)
def test_a_patient_under_14_is_stopped_at_the_age_question_with_nothing_kept(
    screener: Screener, dialog: Dialog, who: str, age: str
) -> None:
    chat = start_screening(screener)
    chat.press(who)
    chat.send(age)
    assert "This study is for adults aged 18 to 70" in chat.said and chat.reply.ended
    assert "we have not kept" in chat.said.lower()
    assert rows(screener, "conversations") == 0 and rows(screener, "answers") == 0
    assert audit.totals(screener.store.db)["stopped:under_guardian_age"] == 1


def test_a_teenager_of_15_is_told_the_age_rule_as_before(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    chat.send("1")
    chat.send("15")
    assert chat.state() == "not_eligible" and "The study is for people aged 18 to 70." in chat.said
