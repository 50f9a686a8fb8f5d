"""The token, phone numbers, chat ids and answers stay out of the logs (and the phone out of the database)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.dialog.model import Dialog

from .conftest import Screener, make_lead_screener
from .fake_bot_api import FakeBotApi
from .telegram_support import Person, agree_to_everything_asked_first, running_bot

TOKEN = "7654321:AAE-known-secret-token-for-the-log-test"
PHONE = "+86 138 0013 8000"
PHONE_DIGITS = "13800138000"
CHAT_ID = 987654321987


@pytest.fixture
def screener(dialog: Dialog, db_path: Path) -> Screener:
    """As in production: the Telegram channel needs the vault (pseudonymous keys, encrypted chat ids)."""
    return make_lead_screener(dialog, db_path)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi(token=TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


def rendered(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info:
        text += logging.Formatter().formatException(record.exc_info) if not record.exc_text else record.exc_text
    return text


async def test_no_token_phone_chat_id_or_answer_in_any_log_record(
    api: FakeBotApi, screener: Screener, dialog: Dialog, caplog: pytest.LogCaptureFixture, db_path
) -> None:
    caplog.set_level(logging.DEBUG)
    person = Person(api, chat_id=CHAT_ID)
    person.first_name = "Meiling"
    async with running_bot(api, screener):
        await person.say("/start")
        await agree_to_everything_asked_first(person, dialog)
        await person.tap("I am the patient")
        contact = {"contact": {"phone_number": PHONE, "first_name": "Meiling", "user_id": CHAT_ID}}
        await person.send({"update_id": api.next_update_id(), "message": person._message(**contact)}, new_messages=1)
        await person.say(PHONE)  # typed at the age question: refused, not kept
        api.failures["sendMessage"].extend(["429:1", "502"])
        await person.say("47")
        api.failures["sendMessage"].append("400")  # an incident, with a traceback in the log
        await person.say("2011", new_messages=1)
    records = [rendered(r) for r in caplog.records]
    assert any("incident" in r for r in records), "the test did exercise the error log"
    assert any(api.base_url in r or "getUpdates" in r or "Application" in r for r in records)
    for text in records:
        assert TOKEN not in text and TOKEN.split(":")[1] not in text
        assert PHONE not in text and PHONE_DIGITS not in text.replace(" ", "")
        assert str(CHAT_ID) not in text and "Meiling" not in text
        assert "I am the patient" not in text, "answers are not logged"
    db_bytes = b"".join(p.read_bytes() for p in db_path.parent.glob("screening.db*"))
    assert PHONE_DIGITS.encode() not in db_bytes.replace(b" ", b"") and b"Meiling" not in db_bytes
