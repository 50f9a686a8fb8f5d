"""Running the real Telegram Application against the fake Bot API, and a person who uses it."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from telegram.ext import Application

from bot.channels.telegram import TelegramOptions, Webhook, build_application
from bot.channels.telegram.app import start, stop
from bot.channels.telegram.identity import CHANNEL, telegram_user_key
from bot.channels.telegram.keyboards import CHECKED, decode
from bot.dialog.engine import Conversation
from bot.dialog.model import CONSENT, SUMMARY, Dialog
from bot.i18n import Translator
from bot.store.wipe import pending

from .conftest import Screener, harmless_answer
from .fake_bot_api import ChatMessage, FakeBotApi, InProcessRequest

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
    in_process: bool = False,
    **changes: Any,
) -> AsyncIterator[Application]:
    """The real Application against the fake API: over loopback HTTP, or (`in_process`) through
    ptb's request layer, for tests with so many chats that httpx's connection pool would dominate."""
    request = InProcessRequest(api) if in_process else None
    app = build_application(screener, options_for(api, **changes), clock=clock or Clock(), request=request)
    await start(app, webhook)
    try:
        yield app
    finally:
        await stop(app)


#: `Patient.wait_for_prompt`'s sign that the chat ended with nothing kept.
ENDED = ChatMessage(message_id=-1, chat_id=0, text="", reply_markup=None)


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
        before = max(self.api.messages, default=0)

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
        before = max(self.api.messages, default=0)
        self.last_update = update
        await self.api.queue(update)
        await self.api.wait_for(lambda: query_id in self.api.queries_answered)
        return [m for m in self._bot_messages() if m.message_id > before]

    def texts(self) -> list[str]:
        return [m.text for m in self._bot_messages()]

    def all_text(self) -> str:
        return "\n".join(self.texts())


async def erasures_followed_up(app: Application) -> None:
    """Wait until the bot has emptied the write-ahead log after an erasure (it does so off the event loop)."""
    follow_up = app.bot_data["erasures"]
    for _ in range(20):
        if not pending(follow_up.upkeep.storage.db):
            return
        follow_up.wake()
        await follow_up.checked.wait()
    raise AssertionError("the pending WAL wipe was never done")


async def agree_to_everything_asked_first(
    person: Person, dialog: Dialog, t: Callable[[str], str] = lambda text: text
) -> None:
    """Tap "I agree" on the consent notice, then on each separate consent asked before the first
    question on Telegram (Telegram's servers abroad): the person is then asked who is answering.
    `t` translates the labels for a person who reads another language."""
    await person.tap(t(dialog.consent.agree))
    while (consent := dialog.separate_consent(person.step)) is not None:
        await person.tap(t(consent.agree))


def translator(language: str, screener: Screener) -> Translator:
    return screener.translator(language)


def conversation_of(screener: Screener, person: Person) -> Conversation | None:
    """The person's conversation, found the way the bot finds it: by the pseudonym of the chat id."""
    return screener.store.load(CHANNEL, telegram_user_key(person.chat_id, screener))


class Patient(Person):
    """Answers whatever the bot asks now (typing or tapping, chosen by the seeded RNG) and notes
    which answers the bot acknowledged, as the person saw it in the chat."""

    def __init__(self, api: FakeBotApi, dialog: Dialog, rng: random.Random) -> None:
        super().__init__(api)
        self.dialog, self.rng = dialog, rng
        #: (question id, stored value) for answers; ("consent", True) and ("summary", True) for the steps.
        self.acknowledged: list[tuple[str, Any]] = []
        self.pending: tuple[str, Any, ChatMessage] | None = None
        #: For each typed text the age question would read as a child's age: the newest bot message then.
        self.child_like_sends: list[int] = []
        self.finished = False
        #: Set when the bot is killed: the person stops (they would wait for an answer).
        self.stopped = False

    def latest_prompt(self) -> ChatMessage | None:
        prompts = [m for m in self._bot_messages() if m.buttons]
        return max(prompts, key=lambda m: m.message_id) if prompts else None

    def step_of(self, message: ChatMessage | None) -> str:
        decoded = decode(message.buttons[0]["callback_data"]) if message else None
        return decoded[0] if decoded else ""

    def settle(self) -> None:
        """Did the bot acknowledge the pending answer? It did if it echoed it or moved on."""
        if self.pending is None:
            return
        step, value, asked = self.pending
        echoed = f"\n\n{CHECKED}" in self.api.messages[asked.message_id].text
        latest = self.latest_prompt()
        moved_on = latest is not None and latest.message_id > asked.message_id and self.step_of(latest) != step
        if echoed or moved_on:
            self.acknowledged.append((step, value))
        self.pending = None

    def ended_ids(self) -> list[int]:
        """The messages that ended the chat with nothing kept. After a crash, a typed "1" meant for a
        button question can land on the age question (a patient under 14), and a typed "2" on a
        consent ("I don't agree"): both delete the conversation."""
        consent = self.dialog.consent
        texts = [consent.under_age_text, consent.under_age_text_caregiver, consent.declined]
        texts += [c.declined for c in self.dialog.consents]
        ended = {text.strip().split("\n")[0] for text in texts if text}
        return [m.message_id for m in self._bot_messages() if m.text.split("\n")[0] in ended]

    def ended_after(self, after: int) -> bool:
        return any(message_id > after for message_id in self.ended_ids())

    def could_have_ended_as_a_child(self) -> bool:
        """True if this person ever typed a number the age question reads as a child's age ("1" meant
        for a button, "2015" meant for the year of diagnosis). After a crash, such a text can land on
        the age question (the bot rightly takes it for the question it is asking), which deletes the
        conversation; a kill can come before the person sees why. The caller also checks that no
        more chats lost answers than the bot counted children stopped."""
        return bool(self.child_like_sends)

    async def wait_for_prompt(self, after: int) -> ChatMessage:
        """The next question; after a chat that ended with nothing kept, /start is said again first."""

        def arrived() -> ChatMessage | None:
            latest = self.latest_prompt()
            if latest and latest.message_id > after:
                return latest
            if self.ended_after(after):
                return ENDED
            return None

        try:
            found = await self.api.wait_for(arrived, timeout=20)
            if found is ENDED:
                after = max(self.api.messages, default=0)
                await self.api.queue(self.text_update("/start"))
                return await self.wait_for_prompt(after)
            return found
        except TimeoutError:
            seen = [(m.message_id, m.text[:30], bool(m.buttons)) for m in self._bot_messages()][-4:]
            offsets = [c.params.get("offset") for c in self.api.calls_to("getUpdates")][-3:]
            queued = [u["update_id"] for u in self.api._queue]
            raise AssertionError(
                f"{self.chat_id}: no prompt after {after}; {seen}; last={self.last_update}; {offsets=} {queued=}"
            ) from None

    async def keep_answering(self) -> None:
        """Say /start (to see where things are after a restart), then answer until the outcome."""
        self.stopped = False
        before = max(self.api.messages, default=0)
        await self.api.queue(self.text_update("/start"))
        prompt = await self.wait_for_prompt(before)
        while not self.finished and not self.stopped:
            step = self.step_of(prompt)
            update, value = self.answer(step, prompt)
            if update is None:
                self.finished = True
                return
            self.pending = (step, value, prompt)
            before = max(self.api.messages, default=0)
            self.last_update = update
            if self.reads_as_a_child(update.get("message", {}).get("text", "")):
                self.child_like_sends.append(before)
            await self.api.queue(update)
            prompt = await self.wait_for_prompt(before)
            self.settle()

    def reads_as_a_child(self, text: str) -> bool:
        """An age under the guardian age, or a birth year that could mean one."""
        if not text.isdigit():
            return False
        youngest_birth_year = date.today().year - self.dialog.consent.guardian_age - 1
        return int(text) < self.dialog.consent.guardian_age or int(text) > youngest_birth_year

    def answer(self, step: str, prompt: ChatMessage) -> tuple[dict[str, Any] | None, Any]:
        if step == CONSENT:
            return self.tap_update(prompt, self.dialog.consent.agree), True
        if (consent := self.dialog.separate_consent(step)) is not None:
            return self.tap_update(prompt, consent.agree), True
        if step == SUMMARY:
            return self.tap_update(prompt, prompt.buttons[0]["text"]), True
        if not self.dialog.has_question(step):
            return None, None  # an outcome: the screening is done
        question = self.dialog.question(step)
        try:
            typed = harmless_answer(question)
        except AssertionError:  # asked only after an answer that rules out (a crash can lead there)
            typed = "1"
        if question.kind == "number":
            return self.text_update(typed), int(typed)
        if question.kind == "year":
            return self.text_update(typed), int(typed)
        option = question.options[int(typed) - 1]
        if question.kind == "multi":
            return self.text_update(typed), [option.id]
        if self.rng.random() < 0.5:
            return self.tap_update(prompt, prompt.buttons[int(typed) - 1]["text"]), option.id
        return self.text_update(typed), option.id
