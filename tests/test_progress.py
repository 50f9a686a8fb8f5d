"""Progress a person can trust, and the answers that end a screening asked early."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from bot.dialog.model import NOT_SURE, Dialog, Question
from bot.replies import Choose, ChooseMany, Text

from .conftest import Chat, Screener, answer_until, start_screening
from .test_conversations import number_of

PROGRESS = re.compile(r"^Question (\d+) of up to (\d+)\n")


def any_answer(question: Question, rng: random.Random) -> object:
    """A random valid answer: any option(s), any number in range, a year, or "not sure"."""
    if question.kind == "number":
        if question.not_sure and rng.random() < 0.2:
            return Choose(question.id, NOT_SURE)
        return Text(str(rng.randint(question.min or 1, question.max or 99)))
    if question.kind == "year":
        if rng.random() < 0.2:
            return Choose(question.id, NOT_SURE)
        return Text(str(rng.choice([2010, 2025, 2026])))
    if question.kind == "multi":
        exclusive = [o.id for o in question.options if o.exclusive]
        others = [o.id for o in question.options if not o.exclusive]
        if rng.random() < 0.5:
            return ChooseMany(question.id, (rng.choice(exclusive),))
        return ChooseMany(question.id, tuple(rng.sample(others, rng.randint(1, min(3, len(others))))))
    return Choose(question.id, rng.choice(question.options).id)


def shown_progress(chat: Chat) -> tuple[int, int] | None:
    match = PROGRESS.match(chat.asked)
    return (int(match.group(1)), int(match.group(2))) if match else None


@pytest.mark.parametrize("seed", range(60))
def test_the_total_shown_never_grows_along_any_path(screener: Screener, dialog: Dialog, seed: int) -> None:
    """Random answers from the first question to the end: the number goes up by one, the total never up."""
    rng = random.Random(seed)
    chat = start_screening(screener, user=f"path-{seed}")
    seen: list[tuple[int, int]] = []
    for _ in range(80):
        step = chat.question
        if dialog.separate_consent(step) is not None:
            chat._do(Choose(step, "agree"))
            continue
        if not dialog.has_question(step):
            break
        progress = shown_progress(chat)
        assert progress is not None, chat.asked
        seen.append(progress)
        chat._do(any_answer(dialog.question(step), rng))
        while chat.question == step and chat.reply.prompt and chat.reply.prompt.kind != "multi":
            chat._do(any_answer(dialog.question(step), rng))  # e.g. a number out of range: asked again
    numbers, totals = [n for n, _t in seen], [t for _n, t in seen]
    assert numbers == list(range(1, len(numbers) + 1)), seen
    assert all(later <= earlier for earlier, later in itertools.pairwise(totals)), seen
    assert all(n <= t for n, t in seen), seen


def test_the_total_starts_at_every_question_and_shrinks_as_answers_skip_some(
    screener: Screener, dialog: Dialog
) -> None:
    chat = start_screening(screener)
    assert shown_progress(chat) == (1, len(dialog.questions))
    answer_until(chat, dialog, stop_at="travel", overrides={"sex": number_of(dialog.question("sex"), "female")})
    assert shown_progress(chat) == (4, len(dialog.questions) - 1), "a woman is not asked about a partner's plans"


class CountingChat(Chat):
    """A Chat that counts what the person sends after /start."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.inputs = -1  # the /start the constructor sends is not the person's input
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def _do(self, action: object):  # type: ignore[override]
        self.inputs += 1
        return super()._do(action)


def test_a_pregnant_person_is_told_within_ten_inputs(screener: Screener, dialog: Dialog) -> None:
    """Before 1.3.0 a pregnant person answered 19 questions (and 20 inputs) before hearing it."""
    chat = CountingChat(screener)
    chat.send("1")
    answer_until(chat, dialog, stop_at="pregnant")
    chat.send(number_of(dialog.question("pregnant"), "yes"))
    assert chat.state() == "not_eligible" and "This study may not fit you" in chat.said
    assert chat.inputs <= 10, chat.inputs


@pytest.mark.parametrize("question_id", ["age", "travel", "b_cell_drugs", "pregnant", "baby_plans"])
def test_common_knock_outs_come_before_the_long_lists(dialog: Dialog, question_id: str) -> None:
    """Age, Wuhan, rituximab and the like, pregnancy: among the first questions, before the lupus history."""
    assert dialog.position(question_id) < dialog.position("diagnosis_year")
    assert dialog.position(question_id) < dialog.position("treatments")
