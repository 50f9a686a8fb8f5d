"""Whole screenings through the real engine, state machine and SQLite file, one outcome at a time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.dialog.model import Dialog, Question

from .conftest import TODAY, Chat, Screener, answer_until, make_screener, start_screening


def number_of(question: Question, option_id: str) -> str:
    return str([o.id for o in question.options].index(option_id) + 1)


def route_to(dialog: Dialog, target: str) -> dict[str, str]:
    """Answers that make `target` (and the questions it depends on) apply."""
    overrides: dict[str, str] = {}
    pending = [dialog.question(target)]
    while pending:
        for condition in pending.pop().ask_if:
            source = dialog.question(condition.question)
            if condition.any_of:
                overrides[source.id] = number_of(source, condition.any_of[0])
            elif condition.none_of:
                allowed = next(o.id for o in source.options if o.id not in condition.none_of)
                overrides[source.id] = number_of(source, allowed)
            elif condition.years_ago_at_most is not None:
                overrides[source.id] = str(TODAY.year - 1)
            pending.append(source)
    if "diagnosis_year" in overrides and target != "diagnosis_month":
        overrides["diagnosis_month"] = "1"
    return overrides


def finish(chat: Chat, dialog: Dialog, overrides: dict[str, str] | None = None) -> None:
    answer_until(chat, dialog, overrides=overrides)
    if chat.reply.prompt and chat.reply.prompt.kind == "summary":
        chat.press("These are right: show the result")


KNOCK_OUTS = [
    (q.id, o.id, o.rules_out)
    for q in __import__("bot.dialog.load", fromlist=["x"])
    .load_dialog(__import__("tests.conftest", fromlist=["x"]).DIALOG_PATH)
    .questions
    for o in q.options
    if o.rules_out
]
REVIEWS = [
    (q.id, o.id)
    for q in __import__("bot.dialog.load", fromlist=["x"])
    .load_dialog(__import__("tests.conftest", fromlist=["x"]).DIALOG_PATH)
    .questions
    for o in q.options
    if o.review
]


def test_a_person_who_meets_every_rule_may_be_a_candidate(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    chat.assert_asked("Who is answering these questions?")
    answer_until(chat, dialog)
    assert chat.reply.prompt.kind == "summary"
    chat.assert_asked("Please check your answers")
    chat.assert_asked("• Age: 40")
    chat.press("These are right: show the result")
    assert "You may be a candidate" in chat.said
    assert "This is not a decision" in chat.said
    assert "Please do not change your medicines" in chat.said
    assert "Prof. Qiubai Li" in chat.said and "Union Hospital" in chat.said
    assert "The study team will get in touch with you" in chat.said
    assert "eligible" not in chat.said.lower()
    assert chat.state() == "likely_candidate"
    conv = screener.store.load("test", "person-1")
    assert [o["outcome"] for o in screener.store.outcomes(conv.id)] == ["likely_candidate"]


def test_configured_site_phone_is_shown_and_nothing_is_invented(dialog: Dialog, db_path) -> None:
    screener = make_screener(dialog, db_path, phone="+86 27 0000 0000", email="study@example.org")
    chat = start_screening(screener)
    finish(chat, dialog)
    assert "Phone: +86 27 0000 0000" in chat.said and "E-mail: study@example.org" in chat.said
    assert "You can contact them" in chat.said


@pytest.mark.parametrize(("question_id", "option_id", "criterion"), KNOCK_OUTS)
def test_each_knock_out_ends_at_once_with_its_reason(
    screener: Screener, dialog: Dialog, question_id: str, option_id: str, criterion: str
) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at=question_id, overrides=route_to(dialog, question_id))
    assert chat.question == question_id
    chat.send(number_of(dialog.question(question_id), option_id))
    assert chat.state() == "not_eligible"
    assert "This study may not fit you" in chat.said
    assert dialog.criteria[criterion].reason in chat.said
    assert "This is not a medical decision" in chat.said


@pytest.mark.parametrize(
    ("typed", "outcome"),
    [
        ("17", "not_eligible"),
        ("18", "likely_candidate"),
        ("70", "likely_candidate"),
        ("71", "not_eligible"),
        ("1950", "not_eligible"),
        ("1990", "likely_candidate"),
        ("2008", "needs_review"),
    ],
)
def test_age_rule_by_age_or_birth_year(screener: Screener, dialog: Dialog, typed: str, outcome: str) -> None:
    chat = start_screening(screener)
    finish(chat, dialog, overrides={"age": typed})
    assert chat.state() == outcome
    if outcome == "not_eligible":
        assert "The study is for people aged 18 to 70." in chat.said


@pytest.mark.parametrize(("question_id", "option_id"), REVIEWS)
def test_not_sure_never_rules_out_it_asks_for_review(
    screener: Screener, dialog: Dialog, question_id: str, option_id: str
) -> None:
    chat = start_screening(screener)
    overrides = route_to(dialog, question_id)
    overrides[question_id] = number_of(dialog.question(question_id), option_id)
    finish(chat, dialog, overrides=overrides)
    assert chat.state() == "needs_review", chat.said
    assert "The study team will check these answers" in chat.said
    assert dialog.question(question_id).label in chat.said


@pytest.mark.parametrize("question_id", ["diagnosis_year"])
def test_not_sure_on_a_typed_question_gives_review(screener: Screener, dialog: Dialog, question_id: str) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at=question_id)
    chat.press("Not sure")
    finish(chat, dialog)
    assert chat.state() == "needs_review"


def test_recent_diagnosis_is_not_yet_with_the_date(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    finish(chat, dialog, overrides={"diagnosis_year": "2026", "diagnosis_month": "8", "diagnosis_day": "not sure"})
    assert chat.state() == "not_yet"
    assert "Not yet, but maybe later" in chat.said
    # Diagnosed in August 2026, day not known: surely 24 weeks from 31 August 2026 on.
    assert "February 15, 2027" in chat.said


def test_diagnosed_20_weeks_ago_is_not_yet_until_4_weeks_from_today(screener: Screener, dialog: Dialog) -> None:
    """The day is asked when the month leaves the rule open, so the date is exact, not the month's end."""
    diagnosed = TODAY - timedelta(weeks=20)
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="diagnosis_year")
    chat.send(str(diagnosed.year))
    chat.send(str(diagnosed.month))
    assert chat.question == "diagnosis_day"
    finish(chat, dialog, overrides={"diagnosis_day": str(diagnosed.day)})
    assert chat.state() == "not_yet"
    ready = TODAY + timedelta(weeks=4)
    assert f"from about {ready:%B} {ready.day}, {ready.year}" in chat.said


def test_the_day_is_not_asked_when_the_month_settles_the_rule(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="diagnosis_year")
    chat.send("2026")
    chat.send("5")  # 31 May 2026 + 24 weeks is before today: met whatever the day
    assert chat.question == "active"


def test_a_diagnosis_month_that_straddles_the_rule_needs_review(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    finish(chat, dialog, overrides={"diagnosis_year": "2026", "diagnosis_month": "6", "diagnosis_day": "not sure"})
    assert chat.state() == "needs_review"


def test_short_treatment_is_not_yet_from_twelve_weeks(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    q = dialog.question("treatment_time")
    finish(chat, dialog, overrides={"treatment_time": number_of(q, "under_1_month")})
    assert chat.state() == "not_yet"
    day = TODAY + timedelta(days=84)
    assert f"{day:%B} {day.day}, {day.year}" in chat.said


def test_a_clear_no_beats_a_time_rule(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    q = dialog.question("treatment_time")
    answer_until(chat, dialog, stop_at="travel", overrides={"treatment_time": number_of(q, "under_1_month")})
    chat.send("2")  # cannot travel to Wuhan
    assert chat.state() == "not_eligible"


def test_caregiver_wording(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    chat.press("I am answering for the patient")
    chat.assert_asked("How old is the patient?")
    answer_until(chat, dialog, stop_at="jak_btk_last_dose", overrides=route_to(dialog, "jak_btk_last_dose"))
    assert "They still take it" in [b.label for b in chat.buttons()]
    chat.press("4 to 8 weeks ago")
    finish(chat, dialog)
    assert "The patient may be" not in chat.said
    assert "the patient may meet the study's time rules" in chat.said


def test_caregiver_outcome_wording(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    finish(chat, dialog, overrides={"respondent": "2"})
    assert "the patient may be a candidate" in chat.said
    assert "do not change the patient's medicines" in chat.said


def test_back_goes_to_the_previous_question_and_keeps_answers(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    chat.send("1")
    chat.send("40")
    chat.assert_asked("What was your sex at birth")
    chat.press("Back")
    chat.assert_asked("How old are you?")
    chat.press("Back")
    chat.assert_asked("Who is answering")
    assert "Back" not in [b.label for b in chat.buttons()]
    chat.command("back")
    assert "not possible" in chat.said
    chat.send("2")
    chat.assert_asked("How old is the patient?")


def test_back_skips_questions_that_did_not_apply(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="active")
    chat.press("Back")
    assert chat.question == "diagnosis_year"  # the month was not asked for 2015


def test_back_from_a_knock_out_lets_a_mis_tap_be_fixed(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="travel")
    chat.send("2")
    assert chat.state() == "not_eligible"
    chat.press("Back")
    assert chat.question == "travel"
    chat.send("1")
    assert chat.question == "health"  # the health consent comes next: the person goes on
    answer_until(chat, dialog)
    assert chat.reply.prompt.kind == "summary"


def test_restart_clears_answers_but_keeps_history(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="active")
    given = len(screener.store.load("test", "person-1").answers)
    chat.command("restart")
    assert "Let's start again" in chat.said
    chat.assert_asked("Who is answering")
    conv = screener.store.load("test", "person-1")
    assert conv.answers == {}
    assert len(screener.store.answer_history(conv.id)) == given
    assert conv.consents["health"]["version"] == dialog.separate_consent("health").version  # asked once


def test_edit_from_summary_reruns_the_branching(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    sex = dialog.question("sex")
    answer_until(chat, dialog, overrides={"sex": number_of(sex, "male")})
    assert "Partner's plans for a baby" in chat.asked and "Pregnant or breastfeeding" not in chat.asked
    chat.press("Change: Sex")
    assert chat.question == "sex"
    chat.send(number_of(sex, "female"))
    chat.assert_asked("Are you pregnant or breastfeeding now?")
    chat.send("2")
    chat.assert_asked("Do you plan to have a baby")
    chat.send("2")
    assert chat.reply.prompt.kind == "summary"
    assert "Pregnant or breastfeeding: No" in chat.asked
    assert "Partner's plans" not in chat.asked
    chat.press("Change: Can come to Wuhan")
    chat.send("2")
    assert chat.state() == "not_eligible"


def test_changing_an_answer_keeps_the_old_one_in_the_history(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog)
    chat.press("Change: Age")
    chat.send("41")
    conv = screener.store.load("test", "person-1")
    ages = [h["value"] for h in screener.store.answer_history(conv.id) if h["question_id"] == "age"]
    assert ages == ["40", "41"]
    assert conv.answers["age"]["value"] == 41


def test_resume_after_the_process_restarts(dialog: Dialog, db_path) -> None:
    chat = start_screening(make_screener(dialog, db_path))
    answer_until(chat, dialog, stop_at="treatments")
    second_life = Chat(make_screener(dialog, db_path))
    assert "Welcome back" in second_life.said
    assert second_life.question == "treatments"
    answer_until(second_life, dialog)
    assert second_life.reply.prompt.kind == "summary"


def test_suicidal_thoughts_get_crisis_help_at_once_and_a_person_follows_up(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="low_mood")
    chat.send("1")
    assert "12356" in chat.said and "You are not alone" in chat.said
    finish(chat, dialog)
    assert chat.state() == "needs_review"


def test_declining_consent_keeps_nothing(screener: Screener) -> None:
    chat = Chat(screener)
    chat.press("I don't agree")
    assert "We have not kept anything" in chat.said
    assert chat.reply.ended
    assert screener.store.db.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0


def test_health_questions_wait_for_consent(screener: Screener) -> None:
    chat = Chat(screener)
    chat.send("35")
    assert chat.reply.prompt.kind == "consent"
    chat.command("back")
    assert "consent first" in chat.said


def test_multi_choice_by_taps_then_done(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="treatments")
    chat.press("Hydroxychloroquine")
    chat.press("Tacrolimus")
    chat.press("Tacrolimus")
    chat.press("Azathioprine")
    assert chat.reply.prompt.selected == ["hydroxychloroquine", "azathioprine"]
    chat.press("None of these")
    assert chat.reply.prompt.selected == ["none"]
    chat.press("Hydroxychloroquine")
    chat.press("Done")
    conv = screener.store.load("test", "person-1")
    assert conv.answers["treatments"]["value"] == ["hydroxychloroquine"]


def test_a_stale_button_cannot_answer_another_question(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    old = chat.buttons()[0]
    chat.press("I am the patient")
    chat._do(old.action)
    assert "earlier question" in chat.said
    assert chat.question == "age"


def test_a_transaction_inside_another_joins_its_commit_and_a_savepoint_fails_alone(tmp_path: Path) -> None:
    """The Telegram channel commits all one update changes at once; only a savepoint's failure is undone alone."""
    from bot.store.conversations import after_commit, transaction
    from bot.store.db import open_database
    from bot.store.transactions import savepoint

    db = open_database(tmp_path / "t.db")
    db.execute("CREATE TABLE notes (text TEXT)")
    done: list[str] = []
    statements: list[str] = []
    with transaction(db):
        db.conn.set_trace_callback(statements.append)
        db.execute("INSERT INTO notes VALUES ('outer')")
        with pytest.raises(ValueError), savepoint(db):
            db.execute("INSERT INTO notes VALUES ('inner, undone')")
            raise ValueError
        with transaction(db):
            db.execute("INSERT INTO notes VALUES ('inner, kept')")
        db.conn.set_trace_callback(None)
        after_commit(db, lambda: done.append("after"))
        assert done == [] and db.conn.in_transaction
    assert done == ["after"]
    assert [r[0] for r in db.execute("SELECT text FROM notes")] == ["outer", "inner, kept"]
    # the joined transaction costs no statement of its own; the savepoint three (made, undone, released)
    assert [s.split()[0] for s in statements] == ["INSERT", "SAVEPOINT", "INSERT", "ROLLBACK", "RELEASE", "INSERT"]

    with pytest.raises(RuntimeError), transaction(db):
        db.execute("INSERT INTO notes VALUES ('rolled back')")
        after_commit(db, lambda: done.append("never"))
        raise RuntimeError
    with transaction(db):
        pass
    assert done == ["after"] and db.execute("SELECT count(*) FROM notes").fetchone()[0] == 2


def test_a_failure_caught_inside_a_transaction_without_a_savepoint_undoes_all_of_it(tmp_path: Path) -> None:
    """A joined write that failed half way cannot slip into the commit because someone caught the error."""
    from bot.store.conversations import transaction
    from bot.store.db import open_database
    from bot.store.transactions import HalfWritten, savepoint

    db = open_database(tmp_path / "t.db")
    db.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(HalfWritten), transaction(db):
        db.execute("INSERT INTO notes VALUES ('outer')")
        try:
            with transaction(db):
                db.execute("INSERT INTO notes VALUES ('half')")
                raise ValueError
        except ValueError:
            pass  # caught, but the transaction is no longer whole
    assert db.execute("SELECT count(*) FROM notes").fetchone()[0] == 0 and not db.conn.in_transaction

    # inside a savepoint the same failure is undone there, and the rest commits
    with transaction(db):
        db.execute("INSERT INTO notes VALUES ('outer')")
        with pytest.raises(ValueError), savepoint(db), transaction(db):
            db.execute("INSERT INTO notes VALUES ('half')")
            raise ValueError
    assert [r[0] for r in db.execute("SELECT text FROM notes")] == ["outer"]

    # a failure left by one transaction never reaches the next
    with transaction(db):
        db.execute("INSERT INTO notes VALUES ('next')")
    assert db.execute("SELECT count(*) FROM notes").fetchone()[0] == 2
