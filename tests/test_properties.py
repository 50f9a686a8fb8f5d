"""Property-based tests: arbitrary text, numbers, button data and commands at every kind of step.

Whatever arrives (typed text of any kind, numbers of any size, Choose/ChooseMany with made-up
question and option ids, commands with any argument, any callback_data string a client could
send), no exception escapes and what is stored stays valid: a known state, answers that parse
for their question, a draft made of the current question's options. The Screener runs with
contact capture on (as `screening-bot run` builds it), over a real SQLite file.
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.telegram.keyboards import decode
from bot.dialog.engine import Conversation
from bot.dialog.flow import AFTER_OUTCOME
from bot.dialog.model import NOT_SURE, Dialog, Question
from bot.replies import Action, Choose, ChooseMany, Command, Text

from .conftest import Chat, Screener, harmless_answer, make_lead_screener
from .fake_bot_api import FakeBotApi
from .telegram_support import running_bot

#: Update ids stay new across examples: the database (shared by the examples) remembers every id it saw.
UPDATE_IDS = itertools.count(1_000_000)
COMMANDS = [
    "start", "help", "privacy", "language", "delete", "delete_confirm", "delete_cancel", "agree", "decline",
    "back", "restart", "confirm", "edit", "done", "skip", "contact",
]  # fmt: skip


def _steps(dialog: Dialog) -> dict[str, str]:
    """One question of each kind, plus consent, a separate consent, the summary, the outcome and contact capture."""
    by_kind: dict[str, str] = {}
    for question in dialog.questions:
        by_kind.setdefault(question.kind, question.id)
    separate = {"separate_consent": dialog.consents[-1].id} if dialog.consents else {}
    return {
        "consent": "consent",
        **separate,
        **by_kind,
        "summary": "summary",
        "outcome": "outcome",
        "phone": "contact_phone",
    }


@pytest.fixture(scope="module")
def world(dialog: Dialog) -> tuple[Screener, dict[str, Conversation]]:
    """A lead-capturing screener over a real file, and a conversation saved at each kind of step."""
    screener = make_lead_screener(dialog, Path(tempfile.mkdtemp()) / "screening.db")
    chat = Chat(screener, "template")
    snapshots: dict[str, Conversation] = {"consent": copy.deepcopy(screener.open("test", "template"))}
    chat.send("1")
    wanted = set(_steps(dialog).values())
    for _ in range(100):
        conv = screener.store.load("test", "template")
        assert conv is not None
        step = chat.question or (chat.reply.prompt.kind if chat.reply.prompt else "")
        if step in wanted and step not in snapshots:
            snapshots[step] = copy.deepcopy(conv)
        if step == "summary":
            chat.press("These are right: show the result")
            snapshots["outcome"] = copy.deepcopy(screener.store.load("test", "template"))
            chat.press("Yes, please contact me")
            snapshots["contact_phone"] = copy.deepcopy(screener.store.load("test", "template"))
            break
        if dialog.separate_consent(step) is not None:
            chat.send("1")  # agree
            continue
        chat.send(harmless_answer(dialog.question(step)))
    assert set(snapshots) >= wanted, set(wanted) - set(snapshots)
    return screener, snapshots


def fresh(screener: Screener, snapshot: Conversation) -> Conversation:
    conv = copy.deepcopy(snapshot)
    conv.id, conv.user_key = secrets.token_hex(8), secrets.token_hex(8)
    screener.store.save(conv)
    return conv


# ------------------------------------------------------------------ what people (and clients) can send

option_ids = st.one_of(
    st.sampled_from(["none", NOT_SURE, "agree", "decline", "self", "yes", "no"]), st.text(max_size=20)
)
question_ids = st.one_of(
    st.sampled_from(["respondent", "age", "diagnosis_year", "treatments", "consent", "contact_time"]),
    st.text(max_size=20),
)
texts = st.one_of(
    st.text(max_size=300),
    st.integers(-(10**15), 10**15).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["1", "2, 3", "1,1,1", "0", "99", "1900", "2100", "not sure", "不知道", "一", " ", "", "1" * 5000]),
    st.lists(st.integers(0, 20), max_size=6).map(lambda ns: ", ".join(map(str, ns))),
)
callback_data = st.one_of(
    st.text(max_size=64),
    st.builds(lambda *parts: "|".join(parts), st.sampled_from(["c", "k", "x", ""]), question_ids, option_ids),
    st.builds(
        lambda tag, name, arg: f"k|{tag}|{name}|{arg}",
        st.sampled_from(["*", "summary", "finished", "age", "treatments"]),
        st.sampled_from(COMMANDS),
        st.text(max_size=20),
    ),
)
actions: st.SearchStrategy[Action | None] = st.one_of(
    st.builds(Text, texts),
    st.builds(Choose, question_ids, option_ids),
    st.builds(ChooseMany, question_ids, st.lists(option_ids, max_size=5).map(tuple)),
    st.builds(Command, st.one_of(st.sampled_from(COMMANDS), st.text(max_size=12)), st.text(max_size=40)),
    callback_data.map(lambda data: (decode(data) or (None, None))[1]),
)


# ------------------------------------------------------------------ what must hold


def valid_answer(question: Question, value: Any) -> bool:
    ids = {o.id for o in question.options}
    if question.kind in ("number", "year"):
        return (value == NOT_SURE and question.not_sure) or (isinstance(value, int) and not isinstance(value, bool))
    if question.kind == "choice":
        return value in ids
    return isinstance(value, list) and bool(value) and set(value) <= ids and len(set(value)) == len(value)


def assert_stored_state_is_valid(screener: Screener, conv: Conversation) -> None:
    stored = screener.store.load(conv.channel, conv.user_key)
    if stored is None:
        return  # declined or deleted: nothing kept
    dialog = screener.dialog
    assert stored.state in screener.engine.machine.states
    for question_id, entry in stored.answers.items():
        assert valid_answer(dialog.question(question_id), entry["value"]), (question_id, entry)
    question = screener.engine.current_question(stored)
    assert set(stored.draft) <= ({o.id for o in question.options} if question else set())
    # contact capture and the reminder offer are steps after an outcome, and only there
    assert (stored.state in AFTER_OUTCOME) == bool(stored.outcome), (stored.state, stored.outcome)
    for consent_id, record in stored.consents.items():
        consent = dialog.separate_consent(consent_id)
        assert consent is not None and record["version"] == consent.version and record["at"]
    for row in screener.store.answer_history(stored.id):
        assert valid_answer(dialog.question(row["question_id"]), json.loads(row["value"]))


@pytest.mark.parametrize(
    "step", ["consent", "separate_consent", "choice", "multi", "number", "year", "summary", "outcome", "phone"]
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(actions, min_size=1, max_size=8))
def test_anything_at_any_step_raises_nothing_and_keeps_the_stored_state_valid(
    world: tuple[Screener, dict[str, Conversation]], dialog: Dialog, step: str, sequence: list[Action | None]
) -> None:
    screener, snapshots = world
    conv = fresh(screener, snapshots[_steps(dialog)[step]])
    for action in sequence:
        if action is None:  # callback_data the bot never made: the channel refuses it before the Screener
            continue
        current = screener.open(conv.channel, conv.user_key)
        reply = screener.handle(current, action)
        assert reply.notices or reply.prompt
        assert_stored_state_is_valid(screener, current)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(callback_data, min_size=10, max_size=30), step=st.sampled_from(["choice", "multi", "number"]))
async def test_any_button_data_through_telegram_is_answered_kindly(
    world: tuple[Screener, dict[str, Conversation]], dialog: Dialog, data: list[str], step: str
) -> None:
    """Arbitrary callback_data through the real Application: every tap is answered (the spinner
    stops), nothing crashes, the stored state stays valid and the bot still answers afterwards."""
    screener, snapshots = world
    api = FakeBotApi()
    chat_id = 7_000_000 + secrets.randbelow(1_000_000)
    conv = copy.deepcopy(snapshots[_steps(dialog)[step]])
    conv.id, conv.channel, conv.user_key = secrets.token_hex(8), "telegram", str(chat_id)
    screener.store.save(conv)
    user = {"id": chat_id, "is_bot": False, "first_name": "T"}
    chat = {"id": chat_id, "type": "private", "first_name": "T"}
    async with running_bot(api, screener, in_process=True):
        for n, raw in enumerate(data):
            message = {"message_id": 10_000_000 + n, "date": 1, "chat": chat, "from": user, "text": "Question"}
            update = {
                "update_id": next(UPDATE_IDS),
                "callback_query": {"id": f"q{n}", "from": user, "chat_instance": "i", "data": raw, "message": message},
            }
            await api.queue(update)
        await api.wait_for(lambda: {f"q{n}" for n in range(len(data))} <= api.queries_answered)
        start = {
            "update_id": next(UPDATE_IDS),
            "message": {"message_id": 999, "date": 1, "chat": chat, "from": user, "text": "/start",
                        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]},
        }  # fmt: skip
        await api.queue(start)
        await api.wait_for(lambda: any("Welcome back" in m.text or "Hello" in m.text for m in api.chat(chat_id)))
    assert not [m for m in api.chat(chat_id) if "something went wrong" in m.text]
    assert_stored_state_is_valid(screener, conv)
