"""Whole screenings in Chinese, through the engine and the terminal, and switching language mid-way."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.dialog.model import Dialog
from bot.replies import Reply

from .conftest import LOCALES, ROOT, AsSeen, Chat, Screener, answer_until
from .test_conversations import number_of

ZH = AsSeen("zh_Hans", LOCALES)
#: Latin-script words allowed in a Chinese reply: medical abbreviations Chinese patients
#: read as they are, the app's name, and Telegram's own commands.
ALLOWED_LATIN = {"CAR-T", "SLE", "HIV", "Telegram", "/delete", "/start"}


def latin_words(text: str) -> list[str]:
    """Latin-script words that are not allowed: any one means an English text slipped through."""
    found = re.findall(r"/?[A-Za-z][A-Za-z'-]*", text)
    return [w for w in found if w not in ALLOWED_LATIN]


class RecordingChat(Chat):
    """A Chat that keeps every reply, to check all of them for English."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.replies: list[Reply] = []
        super().__init__(*args, **kwargs)

    def _do(self, action: Any) -> Reply:
        reply = super()._do(action)
        self.replies.append(reply)
        return reply

    def everything_shown(self) -> str:
        parts = []
        for reply in self.replies:
            parts += reply.notices
            if reply.prompt:
                parts += [reply.prompt.text, reply.prompt.hint]
                parts += [b.label for b in (*reply.prompt.options, *reply.prompt.navigation)]
        return "\n".join(parts)


def screen_in_chinese(screener: Screener, dialog: Dialog, overrides: dict[str, str], respondent: str) -> RecordingChat:
    chat = RecordingChat(screener, language="zh-hans")
    chat.press("我同意")
    chat.press(respondent)
    answer_until(chat, dialog, overrides=overrides)
    if chat.reply.prompt and chat.reply.prompt.kind == "summary":
        chat.press("都对了，看结果")
    chat.command("help")
    chat.command("privacy")
    chat.command("delete")
    chat.press("否")
    return chat


def outcome_routes(dialog: Dialog) -> list[tuple[str, dict[str, str]]]:
    return [
        ("likely_candidate", {}),
        ("needs_review", {"active": number_of(dialog.question("active"), "not_sure")}),
        ("not_eligible", {"travel": number_of(dialog.question("travel"), "no")}),
        ("not_yet", {"diagnosis_year": "2026", "diagnosis_month": "8", "diagnosis_day": "不知道"}),
    ]


@pytest.mark.parametrize("outcome_index", range(4))
@pytest.mark.parametrize("respondent", ["我是患者本人", "我替患者回答"])
def test_each_outcome_in_chinese_with_no_english_shown(
    screener: Screener, dialog: Dialog, outcome_index: int, respondent: str
) -> None:
    outcome, overrides = outcome_routes(dialog)[outcome_index]
    chat = screen_in_chinese(screener, dialog, overrides, respondent)
    assert chat.state() == outcome
    shown = chat.everything_shown()
    carer = "caregiver" if respondent == "我替患者回答" else "self"
    assert ZH(dialog.outcomes[outcome].heading(carer)) in shown
    assert "请不要因为这次聊天" in shown
    if outcome == "not_yet":
        assert "2027年2月15日" in shown
    if outcome == "likely_candidate":
        assert "华中科技大学同济医学院附属协和医院" in shown and "李秋柏教授" in shown
    assert latin_words(shown) == [], shown


def test_the_english_check_would_catch_an_untranslated_text(screener: Screener, dialog: Dialog) -> None:
    chat = RecordingChat(screener, language="en")
    chat.press("I agree")
    assert "Who" in latin_words(chat.everything_shown())


def test_chinese_words_answer_every_kind_of_question(screener: Screener, dialog: Dialog) -> None:
    chat = Chat(screener, language="zh-cn")
    chat.send("我同意")
    chat.send("我替患者回答")
    chat.assert_asked("患者今年多大？")
    chat.send("４０岁")
    chat.send("女")
    chat.send("是")
    chat.send("我同意")  # the health consent
    chat.send("都没有")
    chat.send("否")
    chat.send("否")
    chat.send("是")
    chat.send("不确定")
    chat.send("是")
    chat.send("羟氯喹、他克莫司")
    conv = screener.store.load("test", "person-1")
    assert conv.answers["age"]["value"] == 40
    assert conv.answers["diagnosis_year"]["value"] == "not_sure"
    assert conv.answers["treatments"]["value"] == ["hydroxychloroquine", "tacrolimus"]


def test_traditional_chinese_from_a_taiwan_client(screener: Screener) -> None:
    chat = Chat(screener, language="zh-TW")
    assert "這個聊天由華中科技大學同濟醫學院附屬協和醫院" in chat.asked
    chat.press("我同意")
    chat.assert_asked("誰在回答這些問題？")


def test_switching_language_keeps_every_answer_and_asks_the_same_question_again(
    screener: Screener, dialog: Dialog
) -> None:
    chat = Chat(screener, language="en-US")
    chat.press("I agree")
    answer_until(chat, dialog, stop_at="treatments")
    chat.press("Hydroxychloroquine")
    before = screener.store.load("test", "person-1")
    chat.command("language", "zh")
    assert chat.said == "已换成简体中文。"
    assert chat.question == "treatments"
    chat.assert_asked(ZH(dialog.question("treatments").text))
    assert "羟氯喹" in [b.label for b in chat.buttons()]
    after = screener.store.load("test", "person-1")
    assert after.answers == before.answers and after.draft == ["hydroxychloroquine"]
    chat.command("language", "zh-tw")
    chat.assert_asked("您用過下面哪些治狼瘡的藥？")
    chat.command("language", "en")
    assert chat.said == "Language changed to English."
    chat.assert_asked(dialog.question("treatments").text)
    chat.command("language", "klingon")
    assert "Sorry, we do not have that language" in chat.said and "简体中文" in chat.said
    assert screener.store.load("test", "person-1").answers == before.answers


def test_the_language_menu_offers_every_catalog(screener: Screener) -> None:
    chat = Chat(screener)
    chat.command("language")
    assert [b.label for b in chat.buttons()] == ["English", "简体中文", "繁體中文"]
    chat.press("简体中文")
    assert chat.reply.prompt.kind == "consent" and "您同意回答这些问题吗？" in chat.asked


# ---------------------------------------------------------------- the terminal, a real subprocess


def terminal(db: Path, lines: list[str], lang: str = "zh_CN.UTF-8") -> str:
    env = {**os.environ, "SCREENING_DB": str(db), "LANG": lang}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout


#: Every question answered with its Chinese words, for a person who meets every rule.
CANDIDATE_WORDS = [
    "我同意", "我是患者本人", "40岁", "女", "是", "我同意", "都没有", "否", "否", "是",
    "2015", "是", "羟氯喹、他克莫司", "3个月或更久", "都没有", "都没有", "都没有", "都没有",
    "都没有", "都没有", "是", "否", "否", "否",
]  # fmt: skip
TRAVEL, ACTIVE, TREATMENT_TIME = 4, 11, 13


def with_answer(line: int, words: str) -> list[str]:
    lines = list(CANDIDATE_WORDS)
    lines[line] = words
    return lines


@pytest.mark.parametrize(
    ("lines", "outcome"),
    [
        ([*CANDIDATE_WORDS, "都对了，看结果"], "您可能适合参加"),
        ([*with_answer(ACTIVE, "不确定"), "都对了，看结果"], "需要研究团队核实"),
        (with_answer(TRAVEL, "否")[: TRAVEL + 1], "这项研究可能不适合您"),
        ([*with_answer(TREATMENT_TIME, "不到1个月"), "都对了，看结果"], "现在还不行，以后也许可以"),
    ],
)
def test_the_terminal_reaches_each_outcome_with_chinese_words(tmp_path: Path, lines: list[str], outcome: str) -> None:
    out = terminal(tmp_path / "s.db", lines)
    assert outcome in out
    assert "请核对您的回答" in out or outcome == "这项研究可能不适合您"
    typed = {f"> {line}" for line in lines}
    shown = "\n".join(line for line in out.splitlines() if line not in typed)
    assert latin_words(shown) == [], shown


def test_lang_in_the_terminal_switches_and_asks_again(tmp_path: Path) -> None:
    out = terminal(tmp_path / "s.db", ["1", "1", "40", "lang zh", "1", "语言 en", "quit"], lang="C.UTF-8")
    assert out.index("What was your sex at birth?") < out.index("已换成简体中文。")
    assert out.index("您出生时的性别是？") < out.index("Language changed to English.")
    assert "Can come to Wuhan" not in out and "Could you come?" in out
