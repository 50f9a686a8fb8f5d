"""The safety flows in every channel: the terminal (a real subprocess), Telegram (the fake Bot API)
and the web chat (the ASGI test client) all reach the same Screener, so each shows help at once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.dialog.model import Dialog
from bot.i18n import _
from bot.replies import Choose, ChooseMany, Command, Text

from .conftest import LOCALES, AsSeen, connect_apart, make_lead_screener
from .fake_bot_api import FakeBotApi
from .telegram_support import Person, agree_to_everything_asked_first, running_bot
from .test_telegram_staff import STAFF_CHAT, staffed
from .test_terminal import chat as terminal_chat
from .web_driver import WebUser, make_app, translator

t = AsSeen("en", LOCALES)


def everything_in(db_path: Path) -> str:
    """Every row of every table (read with a fresh connection): what a copy of the file would hold."""
    db = connect_apart(db_path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(str(row) for table in tables for row in db.execute(f"SELECT * FROM {table}"))
    finally:
        db.close()


# ---------------------------------------------------------------- terminal


def test_the_terminal_shows_crisis_help_for_a_typed_message_and_asks_again(tmp_path: Path, dialog: Dialog) -> None:
    db = tmp_path / "s.db"
    result = terminal_chat(db, ["1", "1", "40", "I want to kill myself", "quit"])
    out = result.stdout
    assert result.returncode == 0 and result.stderr == ""
    said = out.split("> I want to kill myself", 1)[1]
    assert "You are not alone" in said and "12356" in said and "010-82951332" in said
    assert said.index("You are not alone") < said.index("What was your sex at birth?"), "then the question again"
    assert "I want to kill myself" not in everything_in(db)


def test_the_terminal_welcome_says_what_to_do_if_very_unwell(tmp_path: Path) -> None:
    out = terminal_chat(tmp_path / "s.db", ["quit"]).stdout
    assert "If you are very unwell now, call 120 or go to a hospital." in out


# ---------------------------------------------------------------- Telegram


async def test_telegram_a_typed_risk_gets_help_at_once_and_is_neither_kept_nor_logged(
    api: FakeBotApi, dialog: Dialog, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    screener = make_lead_screener(dialog, db_path)
    person = Person(api, language_code="zh-hans")
    async with running_bot(api, screener):
        await person.say("/start")
        assert "如果您现在很不舒服，请拨打120" in person.all_text()
        await agree_to_everything_asked_first(person, dialog, AsSeen("zh_Hans", LOCALES))
        await person.tap("我是患者本人")
        assert person.step == "age"
        new = await person.say("我不想活了")
        assert person.step == "age", "the question comes again"
    help_text = "\n".join(m.text for m in new)
    assert "您不是一个人" in help_text and "12356" in help_text and "120" in help_text
    assert "我不想活了" not in everything_in(db_path)
    assert not [r for r in caplog.records if "我不想活了" in r.getMessage()]


async def test_telegram_an_urgent_lead_is_posted_first_and_says_urgent(
    api: FakeBotApi, dialog: Dialog, db_path: Path
) -> None:
    """Two leads arrive in the same moment (from the web chat in the bot's process): the urgent one first."""
    screener = make_lead_screener(dialog, db_path)
    async with staffed(api, screener):
        calm, worried = screener.open("web", "calm"), screener.open("web", "worried")
        for conv, risk in ((calm, False), (worried, True)):
            screener.handle(conv, Choose("consent", "agree"))
            for _ in range(60):
                if conv.state not in [q.id for q in dialog.questions] and conv.state != "health":
                    break
                if conv.state == "health":
                    screener.handle(conv, Choose("health", "agree"))
                    continue
                question = dialog.question(conv.state)
                if question.id == "low_mood":
                    screener.handle(conv, Choose("low_mood", "yes" if risk else "no"))
                elif question.kind == "multi":
                    picked = "hydroxychloroquine" if question.id == "treatments" else "none"
                    screener.handle(conv, ChooseMany(question.id, (picked,)))
                elif question.kind in ("number", "year"):
                    screener.handle(conv, Text("40" if question.id == "age" else "2015"))
                else:
                    harmless = next(o for o in question.options if not (o.rules_out or o.review or o.wait))
                    screener.handle(conv, Choose(question.id, harmless.id))
            screener.handle(conv, Command("confirm"))
            screener.handle(conv, Choose("contact_consent", "yes"))
            screener.handle(conv, Text("139 1234 567" + ("1" if risk else "2")))
            screener.handle(conv, Command("skip"))
            screener.handle(conv, Choose("contact_time", "any"))
            screener.handle(conv, Choose("contact_language", "zh"))

        def posts() -> list[str]:
            return [c.params["text"] for c in api.calls_to("sendMessage") if c.params["chat_id"] == STAFF_CHAT]

        await api.wait_for(lambda: len(posts()) >= 3)
    [urgent_lead] = [lead for lead in screener.leads.find() if lead.urgent]
    [calm_lead] = [lead for lead in screener.leads.find() if not lead.urgent]
    first, *_, last = posts()
    assert first.startswith(f"URGENT: lead {urgent_lead.id}. Please call first."), "told first, at once"
    assert "Why: Thoughts of suicide in the past year" in first
    assert calm_lead.id in last and "URGENT" not in last


# ---------------------------------------------------------------- web


def test_the_web_page_takes_a_typed_message_at_a_button_question(dialog: Dialog, db_path: Path, tmp_path: Path):
    locales = LOCALES
    app, _screener = make_app(dialog, db_path, locales)
    tr = translator("en", locales)
    user = WebUser(app)
    assert "If you are very unwell now, call 120" in user.page.text
    user.press(tr(dialog.consent.agree))
    user.choose("self")
    user.type("40")
    assert user.page.question == "sex" and tr(_("Or type a message")) in user.page.html
    page = user.type("high fever and chest pain")
    assert page.question == "sex", "the question comes again"
    assert "This chat cannot help in an emergency" in page.text and "call 120" in page.text
    assert 'role="alert"' in page.html
    assert "high fever and chest pain" not in page.html, "never echoed back"
    page = user.type("Female")
    assert page.question == "travel", "the message box also takes an answer's words"
    assert "high fever and chest pain" not in everything_in(db_path)
