"""Shared test helpers: a real dialog, a real SQLite file, and a chat driver that reads like a conversation."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.dialog.load import load_dialog
from bot.dialog.model import Dialog, Question
from bot.replies import Button, Choose, Command, Reply, Text
from bot.screening import Screener
from bot.store import ConversationStore, open_database

from .fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parent.parent
DIALOG_PATH = ROOT / "dialogs" / "nct06349343.toml"
LOCALES = ROOT / "locales"
TODAY = date(2026, 11, 25)


@contextmanager
def peek(db_path: Path) -> Iterator[sqlite3.Connection]:
    """The database file as another program opens it: a connection of its own, closed after."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="session")
def dialog() -> Dialog:
    return load_dialog(DIALOG_PATH)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "screening.db"


def make_screener(dialog: Dialog, db_path: Path, today: date = TODAY, **site: str) -> Screener:
    """A screener over a real database file, as every channel builds it."""
    return Screener(
        dialog, ConversationStore(open_database(db_path), dialog), LOCALES, site_overrides=site, today=lambda: today
    )


@pytest.fixture
def screener(dialog: Dialog, db_path: Path) -> Screener:
    return make_screener(dialog, db_path)


class Chat:
    """One person talking to the screener; the conversation is reloaded from SQLite at every step."""

    def __init__(self, screener: Screener, user: str = "person-1", language: str | None = None) -> None:
        self.screener = screener
        self.user = user
        self.language = language
        self.reply: Reply = self._do(Command("start"))

    def _do(self, action: Any) -> Reply:
        conv = self.screener.open("test", self.user, language_hint=self.language)
        self.reply = self.screener.handle(conv, action)
        return self.reply

    def send(self, text: str) -> Reply:
        return self._do(Text(text))

    def command(self, name: str, arg: str = "") -> Reply:
        return self._do(Command(name, arg))

    def buttons(self) -> list[Button]:
        prompt = self.reply.prompt
        return [*prompt.options, *prompt.navigation] if prompt else []

    def press(self, label: str) -> Reply:
        for button in self.buttons():
            if button.label == label:
                return self._do(button.action)
        raise AssertionError(f"no button {label!r}; buttons: {[b.label for b in self.buttons()]}")

    @property
    def asked(self) -> str:
        return self.reply.prompt.text if self.reply.prompt else ""

    @property
    def question(self) -> str:
        return self.reply.prompt.question if self.reply.prompt else ""

    @property
    def said(self) -> str:
        return "\n".join(self.reply.notices)

    def assert_asked(self, text: str) -> None:
        assert text in self.asked, (
            f"expected to be asked {text!r}, but was asked:\n{self.asked}\n(notices: {self.said})"
        )

    def state(self) -> str:
        conv = self.screener.store.load("test", self.user)
        return conv.state if conv else ""


def harmless_answer(question: Question) -> str:
    """The answer a person who meets every rule would type for this question."""
    if question.kind == "number":
        return "15" if question.max is not None and question.max < 40 else "40"
    if question.kind == "year":
        return "2015"
    if question.kind == "multi" and question.option("none") and not question.option("none").rules_out:
        return str(question.options.index(question.option("none")) + 1)
    for number, option in enumerate(question.options, start=1):
        if not (option.rules_out or option.review or option.wait_days or option.exclusive):
            return str(number)
    raise AssertionError(f"{question.id} has no harmless answer")


def answer_until(
    chat: Chat, dialog: Dialog, stop_at: str | None = None, overrides: dict[str, str] | None = None
) -> None:
    """Answer harmlessly (or with `overrides`) until the question `stop_at`, the summary, or an outcome.

    A separate consent on the way (health data, Telegram's servers) is agreed to."""
    overrides = overrides or {}
    for _ in range(100):
        qid = chat.question
        if qid and qid != stop_at and dialog.separate_consent(qid) is not None:
            chat._do(Choose(qid, "agree"))
            continue
        if not qid or qid == stop_at or not dialog.has_question(qid):
            return
        chat.send(overrides[qid] if qid in overrides else harmless_answer(dialog.question(qid)))
    raise AssertionError("the dialog did not end")


def start_screening(screener: Screener, user: str = "person-1", language: str | None = None) -> Chat:
    chat = Chat(screener, user, language)
    chat.send("1")  # I agree
    return chat


# ---------------------------------------------------------------- leads (contact capture, encryption)


def make_lead_screener(dialog: Dialog, db_path: Path, today: date = TODAY, on_lead: Any = (), **site: str) -> Screener:
    """A screener with contact capture, encrypted leads and a key file beside the database, as `build_screener`."""
    from bot.store.leads import LeadStore
    from bot.store.vault import open_vault

    db = open_database(db_path)
    vault = open_vault(db, "", db_path.with_suffix(".key"))
    return Screener(
        dialog,
        ConversationStore(db, dialog),
        LOCALES,
        site_overrides=site,
        today=lambda: today,
        leads=LeadStore(db, vault),
        on_lead=on_lead,
    )


def reach_outcome(chat: Chat, dialog: Dialog, overrides: dict[str, str] | None = None) -> None:
    """Answer (harmlessly, or with `overrides`) to the end and confirm the summary."""
    answer_until(chat, dialog, overrides=overrides)
    if chat.reply.prompt and chat.reply.prompt.kind == "summary":
        chat.press("These are right: show the result")


def give_contact(chat: Chat, phone: str, name: str | None) -> None:
    """From the contact question: agree, give a phone and a name (or skip), afternoon, Chinese."""
    chat.press("Yes, please contact me")
    chat.send(phone)
    assert chat.question == "contact_name", chat.said
    chat.press("Skip") if name is None else chat.send(name)
    chat.press("Afternoon")
    chat.press("Chinese (Mandarin)")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API on 127.0.0.1, for every Telegram test."""
    fake = FakeBotApi()
    await fake.start()
    yield fake
    await fake.stop()
