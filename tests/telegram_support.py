"""Running the real Telegram Application against the fake Bot API, and a person who uses it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram.ext import Application

from bot.channels.telegram import TelegramOptions, Webhook, build_application
from bot.channels.telegram.app import start, stop
from bot.channels.telegram.identity import CHANNEL, telegram_user_key
from bot.channels.telegram.keyboards import decode
from bot.dialog.engine import Conversation
from bot.i18n import Translator
from bot.screening import Screener

from .fake_bot_api import ChatMessage, FakeBotApi

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
_chat_ids = itertools.count(5550001)


class Clock:
    """The bot's clock, moved by the test (reminders)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def options_for(api: FakeBotApi, **changes: Any) -> TelegramOptions:
    """Production options, with short timeouts and back-off so failures are quick to test."""
    base = TelegramOptions(
        token=api.token,
        api_base_url=api.base_url,
        connect_timeout=2.0,
        read_timeout=2.0,
        poll_timeout=5,
        send_backoff=0.01,
        messages_per_second=1000.0,
    )
    return replace(base, **changes)


@asynccontextmanager
async def running_bot(
    api: FakeBotApi,
    screener: Screener,
    clock: Callable[[], datetime] | None = None,
    webhook: Webhook | None = None,
    **changes: Any,
) -> AsyncIterator[Application]:
    app = build_application(screener, options_for(api, **changes), clock=clock or Clock())
    await start(app, webhook)
    try:
        yield app
    finally:
        await stop(app)


class Person:
    """Someone in a private chat with the bot, acting through the fake Bot API only."""

    def __init__(self, api: FakeBotApi, language_code: str = "en", chat_id: int | None = None) -> None:
        self.api = api
        self.chat_id = chat_id or next(_chat_ids)
        self.language_code = language_code
        self.first_name = "Test"
        self.last_update: dict[str, Any] = {}

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.chat_id, "is_bot": False, "first_name": self.first_name, "language_code": self.language_code}

    def _message(self, **content: Any) -> dict[str, Any]:
        message_id = next(self.api._ids)
        return {
            "message_id": message_id,
            "date": 1_790_000_000,
            "chat": {"id": self.chat_id, "type": "private", "first_name": self.first_name},
            "from": self.user,
            **content,
        }

    def text_update(self, text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": self.api.next_update_id(), "message": self._message(**content)}

    def _bot_messages(self) -> list[ChatMessage]:
        return [m for m in self.api.chat(self.chat_id) if m.from_bot]

    async def send(self, update: dict[str, Any], new_messages: int = 0, prompt: bool = True) -> list[ChatMessage]:
        """Deliver an update; wait for a new prompt (a message with buttons) or for `new_messages` messages."""
        before = max((m.message_id for m in self.api.messages.values()), default=0)

        def arrived() -> list[ChatMessage] | None:
            new = [m for m in self._bot_messages() if m.message_id > before]
            if new_messages and len(new) >= new_messages:
                return new
            if not new_messages and prompt and any(m.buttons for m in new):
                return new
            return None

        self.last_update = update
        await self.api.queue(update)
        return await self.api.wait_for(arrived)

    async def say(self, text: str, **wait: Any) -> list[ChatMessage]:
        return await self.send(self.text_update(text), **wait)

    def prompt(self) -> ChatMessage:
        """The message whose buttons are live (the bot keeps only one)."""
        live = [m for m in self._bot_messages() if m.buttons]
        assert len(live) == 1, f"expected one live keyboard, found {len(live)}: {[m.text[:40] for m in live]}"
        return live[0]

    def labels(self) -> list[str]:
        return [b["text"] for b in self.prompt().buttons]

    @property
    def step(self) -> str:
        """The question id (or summary/finished) the live buttons belong to."""
        decoded = decode(self.prompt().buttons[0]["callback_data"])
        assert decoded is not None
        return decoded[0]

    def asked(self, step: str) -> bool:
        """Whether the live buttons belong to `step` (False while the bot is between two prompts)."""
        live = [m for m in self._bot_messages() if m.buttons]
        return len(live) == 1 and (decode(live[0].buttons[0]["callback_data"]) or ("",))[0] == step

    def tap_update(self, message: ChatMessage, label: str) -> dict[str, Any]:
        data = next((b["callback_data"] for b in message.buttons if b["text"] == label), None)
        assert data is not None, f"no button {label!r} in {[b['text'] for b in message.buttons]}"
        return {
            "update_id": self.api.next_update_id(),
            "callback_query": {
                "id": str(next(self.api._ids)),
                "from": self.user,
                "chat_instance": "ci",
                "data": data,
                "message": self.api.message_json(message),
            },
        }

    async def tap(self, label: str, message: ChatMessage | None = None) -> list[ChatMessage]:
        """Tap a button (on the live prompt unless told) and wait until the bot has answered the tap."""
        return await self.deliver_tap(self.tap_update(message or self.prompt(), label))

    async def deliver_tap(self, update: dict[str, Any]) -> list[ChatMessage]:
        query_id = update["callback_query"]["id"]
        before = max((m.message_id for m in self.api.messages.values()), default=0)
        self.last_update = update
        await self.api.queue(update)
        await self.api.wait_for(
            lambda: any(c.params.get("callback_query_id") == query_id for c in self.api.calls_to("answerCallbackQuery"))
        )
        return [m for m in self._bot_messages() if m.message_id > before]

    def texts(self) -> list[str]:
        return [m.text for m in self._bot_messages()]

    def all_text(self) -> str:
        return "\n".join(self.texts())


def translator(language: str, screener: Screener) -> Translator:
    return Translator(language, screener.locales_dir)


def conversation_of(screener: Screener, person: Person) -> Conversation | None:
    """The person's conversation, found the way the bot finds it: by the pseudonym of the chat id."""
    return screener.store.load(CHANNEL, telegram_user_key(person.chat_id, screener))
