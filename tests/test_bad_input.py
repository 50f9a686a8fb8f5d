"""Bad input at every question kind gets a clear re-ask and changes nothing stored."""

from __future__ import annotations

import pytest

from bot.dialog.model import Dialog

from .conftest import Screener, answer_until, start_screening


def snapshot(screener: Screener) -> tuple:
    db = screener.store.db
    return (
        db.execute("SELECT state, answers, draft, language FROM conversations").fetchall(),
        db.execute("SELECT count(*) FROM answers").fetchone()[0],
    )


CASES = {
    # question id: [(typed, words the re-ask must contain)]
    "age": [
        ("", "Please type a number, like 35."),
        ("abc", "Please type a number, like 35."),
        ("250", "between 1 and 120"),
        ("0", "between 1 and 120"),
        ("-5", "Please type a number"),
        ("x" * 5000, "too long"),
        ("😀", "Please type a number"),
        ("12.5", "Please type a number"),
    ],
    "diagnosis_year": [
        ("2099", "in the future"),
        ("1800", "1940 or later"),
        ("abc", "4 digits"),
        ("21", "4 digits"),
        ("🙂🙂", "4 digits"),
    ],
    "active": [
        ("9", "from 1 to 3"),
        ("0", "from 1 to 3"),
        ("maybe later", "choose one answer"),
        ("👍", "choose one answer"),
        ("", "choose one answer"),
    ],
    "treatments": [
        ("99", "from 1 to 12"),
        ("1, 11", "cannot be chosen together"),
        ("banana", "Please choose from the list"),
        ("", "Please choose from the list"),
    ],
}


@pytest.mark.parametrize(
    ("question_id", "typed", "expected"), [(q, t, e) for q, cases in CASES.items() for t, e in cases]
)
def test_bad_input_is_re_asked_and_nothing_changes(
    screener: Screener, dialog: Dialog, question_id: str, typed: str, expected: str
) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at=question_id)
    before = snapshot(screener)
    asked_before = chat.asked
    chat.send(typed)
    assert expected in chat.said
    assert chat.question == question_id and chat.asked == asked_before
    assert snapshot(screener) == before


@pytest.mark.parametrize("typed", ["３５", " 35 ", "35 years", "35岁"])
def test_friendly_forms_of_a_number_are_understood(screener: Screener, dialog: Dialog, typed: str) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="age")
    chat.send(typed)
    assert chat.question == "sex"
    assert screener.store.load("test", "person-1").answers["age"]["value"] == 35


def test_option_words_work_as_well_as_numbers(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    chat.send("i am answering for the patient")
    chat.assert_asked("How old is the patient?")


def test_unknown_command_is_answered_kindly(screener: Screener) -> None:
    chat = start_screening(screener)
    chat.command("fly")
    assert "don't know that command" in chat.said
    chat.assert_asked("Who is answering")


def test_a_command_mid_question_keeps_the_question(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="age")
    for name in ("help", "privacy"):
        chat.command(name)
        chat.assert_asked("How old are you?")
    assert "The hospital is in charge of your information" in chat.said
