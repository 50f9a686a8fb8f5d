"""Not yet, but soon: the summary the person keeps, the reminder opt-in, answering again with defaults, retention."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.dialog.load import DialogError, load_dialog
from bot.dialog.model import Dialog
from bot.i18n import Translator
from bot.retention import Retention
from bot.screening.rescreen import REMINDER_CONSENT_VERSION, calendar_file, due_at
from bot.screening.summary import RESULT_WORDS
from bot.store.retention import purge

from .conftest import (
    DIALOG_PATH,
    LOCALES,
    TODAY,
    AsSeen,
    Chat,
    answer_until,
    give_contact,
    make_lead_screener,
    make_screener,
    reach_outcome,
    start_screening,
)

EN, ZH = AsSeen("en", LOCALES), AsSeen("zh_Hans", LOCALES)
DIAGNOSED = TODAY - timedelta(weeks=20)
READY = TODAY + timedelta(weeks=4)
#: A person diagnosed 20 weeks ago, who knows the day.
TWENTY_WEEKS = {
    "diagnosis_year": str(DIAGNOSED.year),
    "diagnosis_month": str(DIAGNOSED.month),
    "diagnosis_day": str(DIAGNOSED.day),
}


def result_line(t: Translator, dialog: Dialog, criterion: str, result: str) -> str:
    word = t(RESULT_WORDS[result], date=t.date(READY)) if result == "not_yet" else t(RESULT_WORDS[result])
    return "• " + t("{label}: {answer}", label=t(dialog.criteria[criterion].label), answer=word)


def reminder_row(chat: Chat) -> dict | None:
    conv = chat.screener.store.load("test", chat.user)
    assert conv is not None
    return chat.screener.storage.read.reminders.row(conv.id)


# ---------------------------------------------------------------- the summary


def test_the_summary_in_both_languages_lists_every_answer_and_rule_and_matches_the_lead(
    dialog: Dialog, db_path: Path
) -> None:
    screener = make_lead_screener(dialog, db_path)
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    give_contact(chat, "+8613912345678", "Li Hua")
    reply = chat.command("summary")
    english, chinese = reply.notices
    conv = screener.store.load("test", chat.user)
    assert conv is not None
    lead = json.loads(next(screener.store.db.query("SELECT criteria FROM leads"))["criteria"])
    assert set(lead) == set(dialog.criteria)
    for t, text in ((EN, english), (ZH, chinese)):
        assert t("This is not a medical decision. It only shows the answers given in a screening chat.") in text
        assert t.date(TODAY) in text and dialog.version in text and dialog.trial in text
        for question, value in screener.engine.summary(conv):
            answer = screener.answer_text(question, value, conv, t)
            assert "• " + t("{label}: {answer}", label=t(question.label), answer=answer) in text
        for criterion, result in lead.items():
            assert result_line(t, dialog, criterion, result) in text, criterion
    assert "李华" not in chinese and "Li Hua" not in english and "13912345678" not in english + chinese


def test_a_chinese_reader_gets_chinese_first_then_english_with_the_not_yet_date(dialog: Dialog, screener) -> None:
    chat = Chat(screener, language="zh-hans")
    chat.send("1")
    answer_until(chat, dialog, overrides=TWENTY_WEEKS)
    chat.press(ZH("These are right: show the result"))
    assert chat.state() == "not_yet"
    chinese, english = chat.command("summary").notices
    assert result_line(ZH, dialog, "I3", "not_yet") in chinese
    assert result_line(EN, dialog, "I3", "not_yet") in english
    assert result_line(EN, dialog, "I4a", "study_team") in english
    assert EN(dialog.outcomes["not_yet"].title) in english


def test_a_summary_answer_can_be_changed_through_the_edit_flow(dialog: Dialog, screener) -> None:
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    chat.command("summary")
    chat.press("Change: Age")
    assert chat.question == "age"
    chat.send("41")
    assert chat.reply.prompt.kind == "summary"
    assert "• Age: 41" in chat.asked
    chat.press("These are right: show the result")
    assert chat.state() == "likely_candidate"


def test_the_summary_waits_for_the_end(dialog: Dialog, screener) -> None:
    chat = start_screening(screener)
    reply = chat.command("summary")
    assert reply.notices == ["Your summary is ready when you reach the end of the questions."]
    assert chat.question == "respondent"


# ---------------------------------------------------------------- the offer (channel-neutral part)


def test_where_no_reminder_can_be_sent_the_date_is_given_to_note_down(dialog: Dialog, screener) -> None:
    chat = start_screening(screener)
    reach_outcome(chat, dialog, overrides=TWENTY_WEEKS)
    assert f"Please write down this date: {EN.date(READY)}." in chat.said
    assert chat.reply.prompt.question != "reminder_offer"
    assert "Summary for my doctor" in [b.label for b in chat.buttons()]
    ics = calendar_file(READY, EN, dialog)
    assert f"DTSTART;VALUE=DATE:{READY:%Y%m%d}\r\n" in ics and ics.startswith("BEGIN:VCALENDAR")


def test_the_opt_in_is_separate_and_records_its_version_and_time(dialog: Dialog, db_path: Path) -> None:
    screener = make_screener(dialog, db_path, reminding=("test",))
    chat = start_screening(screener)
    reach_outcome(chat, dialog, overrides=TWENTY_WEEKS)
    assert chat.reply.prompt.question == "reminder_offer"
    assert EN.date(READY) in chat.asked and "30 days" in chat.asked
    assert reminder_row(chat) is None
    chat.press("Yes, remind me")
    row = reminder_row(chat)
    assert row is not None and row["status"] == "agreed" and row["ready_on"] == READY.isoformat()
    assert row["consent_version"] == REMINDER_CONSENT_VERSION and row["consented_at"]
    assert row["due_at"] == due_at(READY, dialog.region).isoformat(timespec="seconds")
    assert row["due_at"] == f"{READY.isoformat()}T01:00:00+00:00"  # 09:00 in Wuhan (UTC+8, the dialog file's time zone)
    assert chat.reply.prompt.question == ""  # the offer is answered: the usual end buttons
    chat.command("stop")
    assert reminder_row(chat)["status"] == "stopped"


def test_no_offer_when_the_trial_stopped_recruiting(dialog: Dialog, db_path: Path) -> None:
    screener = make_screener(replace(dialog, recruiting=False), db_path, reminding=("test",))
    chat = start_screening(screener)
    reach_outcome(chat, replace(dialog, recruiting=False), overrides=TWENTY_WEEKS)
    assert chat.state() == "not_yet"
    assert chat.reply.prompt.question != "reminder_offer"
    assert chat.command("remind_yes").notices == ["That is not possible here."]
    assert reminder_row(chat) is None


def test_answering_again_offers_earlier_answers_but_not_ones_that_age(dialog: Dialog, db_path: Path) -> None:
    screener = make_screener(dialog, db_path, reminding=("test",))
    chat = start_screening(screener)
    reach_outcome(chat, dialog, overrides=TWENTY_WEEKS)
    chat.press("Yes, remind me")
    # On the ready date, the person answers again from the reminder.
    later = make_screener(dialog, db_path, today=READY, reminding=("test",))
    chat.screener = later
    chat.command("rescreen")
    assert chat.question == "respondent"
    assert "Last time: I am the patient" in chat.asked
    chat.press("Same as before")
    assert chat.question == "age"
    assert "Last time: 40" in chat.asked
    assert "Same as before" not in [b.label for b in chat.buttons()]  # an age in years changes with time
    chat.send("40")
    for _ in range(40):
        if chat.question and dialog.has_question(chat.question):
            chat.press("Same as before")
        else:
            break
    chat.press("These are right: show the result")
    assert chat.state() == "likely_candidate"
    assert later.storage.read.reminders.earlier_answers(later.store.load("test", chat.user).id) == {}


def test_an_outcome_that_is_no_longer_not_yet_closes_the_reminder(dialog: Dialog, db_path: Path) -> None:
    screener = make_screener(dialog, db_path, reminding=("test",))
    chat = start_screening(screener)
    reach_outcome(chat, dialog, overrides=TWENTY_WEEKS)
    chat.press("Yes, remind me")
    chat.command("summary")
    chat.press("Change: Day lupus was found")
    chat.send("1")  # 1 July... still not yet, a week earlier
    chat.press("These are right: show the result")
    assert "Your reminder is now on" in chat.said
    assert reminder_row(chat)["ready_on"] == (READY - timedelta(days=7)).isoformat()
    chat.command("summary")
    chat.press("Change: Year lupus was found")
    chat.send("2015")
    chat.press("These are right: show the result")
    assert chat.state() == "likely_candidate"
    assert reminder_row(chat)["status"] == "closed"


# ---------------------------------------------------------------- retention


def test_an_opted_in_not_yet_is_kept_until_its_reminder_then_the_usual_period(dialog: Dialog, db_path: Path) -> None:
    screener = make_screener(dialog, db_path, reminding=("test",))
    waiting, other = start_screening(screener, "waiting"), start_screening(screener, "other")
    for chat in (waiting, other):
        reach_outcome(chat, dialog, overrides={**TWENTY_WEEKS, "treatment_time": "1"})  # 12 weeks to wait
    waiting.press("Yes, remind me")
    other.press("No, thank you")
    db, periods = screener.store.db, Retention()
    past_30_days = datetime.now(UTC) + timedelta(days=31)
    assert purge(db, past_30_days, periods).finished_without_lead == 1
    assert screener.store.load("test", "other") is None
    conv = screener.store.load("test", "waiting")
    assert conv is not None
    sent = datetime.now(UTC) + timedelta(days=84)
    assert screener.storage.read.reminders.claim(conv.id, sent)
    assert purge(db, sent + timedelta(days=29), periods).total == 0
    assert purge(db, sent + timedelta(days=31), periods).finished_without_lead == 1
    assert db.execute("SELECT count(*) FROM ready_reminders").fetchone()[0] == 0


def test_delete_erases_the_reminder(dialog: Dialog, db_path: Path) -> None:
    screener = make_screener(dialog, db_path, reminding=("test",))
    chat = start_screening(screener)
    reach_outcome(chat, dialog, overrides=TWENTY_WEEKS)
    chat.press("Yes, remind me")
    chat.command("delete")
    chat.press("Yes")
    assert screener.store.db.execute("SELECT count(*) FROM ready_reminders").fetchone()[0] == 0


# ---------------------------------------------------------------- the dialog file


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("min = 1\nmax = 31\nnot_sure = true", "min = 1\nmax = 40\nnot_sure = true", "min = 1 and max = 31"),
        (
            'ask_if = [{ question = "diagnosis_year", less_than_ago = "24 weeks" }]',
            'ask_if = [{ question = "age", less_than_ago = "24 weeks" }]',
            "has no 'since'",
        ),
    ],
)
def test_the_loader_checks_the_day_question(tmp_path: Path, old: str, new: str, problem: str) -> None:
    text = DIALOG_PATH.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "dialog.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DialogError, match=problem):
        load_dialog(path)
