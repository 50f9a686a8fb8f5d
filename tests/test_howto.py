"""Shared texts name each action the person's own channel's way, never another channel's (bot/howto.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.dialog.model import Dialog
from bot.howto import how_to
from bot.replies import Command, Text

from .conftest import LOCALES, AsSeen, Screener, harmless_answer, make_screener

#: How each channel's way of doing things looks, in any language.
SLASH_COMMAND = re.compile(r"(?<![\w/])/[a-z]+\b")
MARKS = {
    "web": re.compile(r'tap "|点“|點「'),
    "telegram": SLASH_COMMAND,
    "terminal": re.compile(r'type "|输入“|輸入「'),
}


def everything_said(screener: Screener, dialog: Dialog, channel: str, language: str) -> str:
    """Consent, help, privacy, a typed word after the outcome, and the goodbye after deleting."""
    said: list[str] = []

    def do(action) -> None:
        conv = screener.open(channel, "person-1", language_hint=language)
        reply = screener.handle(conv, action)
        said.extend(reply.notices)
        if reply.prompt:
            said.append(reply.prompt.text)

    do(Command("start"))
    do(Command("agree"))
    for _ in range(60):
        conv = screener.open(channel, "person-1")
        question = screener.engine.current_question(conv)
        if question is None:
            break
        do(Text(harmless_answer(question)))
    do(Command("confirm"))
    do(Command("help"))
    do(Command("privacy"))
    do(Text("hello"))  # typed at the finished screening: says how to answer again or delete
    do(Command("delete"))
    do(Command("delete_confirm"))
    return "\n".join(said)


@pytest.mark.parametrize("language", ["en", "zh_Hans", "zh_Hant"])
@pytest.mark.parametrize("channel", ["web", "telegram", "terminal"])
def test_each_channel_says_only_its_own_way(dialog: Dialog, db_path: Path, channel: str, language: str) -> None:
    screener = make_screener(dialog, db_path, reminding=("telegram",))  # as `screening-bot run` builds it
    text = everything_said(screener, dialog, channel, language)
    t = AsSeen(language, LOCALES)
    how = how_to(channel, t)
    assert screener.consent_text(t, channel) in text
    for filled in how.values():
        assert filled in text or filled == how["restart"], filled
    assert MARKS[channel].search(text), f"{channel} shows its own way"
    for other, mark in MARKS.items():
        if other != channel:
            assert not mark.search(text), f"{channel} ({language}) shows {other}'s way: {mark.search(text)}"
    assert "{" not in text and "}" not in text, "every placeholder is filled"
    reminders = t("stop all reminders") in text
    assert reminders == (channel == "telegram"), "only Telegram sends reminders, so only its help names them"


def test_the_web_names_its_buttons_and_telegram_its_menu(screener: Screener) -> None:
    t = AsSeen("zh_Hans", LOCALES)
    assert how_to("web", t)["delete"] == "点“删除我的回答”"
    assert how_to("telegram", t) == {"delete": "发送 /delete", "restart": "发送 /restart", "start": "发送 /start"}
    assert how_to("terminal", t)["delete"] == "输入“删除”"
    assert how_to("terminal", AsSeen("en", LOCALES))["start"] == "run the chat again"
