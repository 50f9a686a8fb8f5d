"""Sending to Telegram without losing a message and without sending one twice.

A send is retried only when Telegram certainly did not act on it: a 429 (after the
`retry_after` it asks for), an error status from the server (e.g. 502), or a
connection that was never made. A timeout or a connection dropped *after* the
request went out means "maybe delivered": a message is then not sent again (a
duplicate question confuses people more than a missing one, and the next thing the
person types shows the current question again). Edits and callback answers are
idempotent, so they are retried on every transient error.

This is the only place that retries a send. python-telegram-bot's `AIORateLimiter` only
keeps the pace (app.py: its default `max_retries=0`), so a 429 is tried `attempts` times
in all, not `attempts` times the limiter's own retries.

Nothing goes out before the answers it acknowledges are on disk: each call first
awaits `durable` (bot/store/durable.py: one fsync shared by every chat waiting).

Every call is one of ptb's public `Bot` methods (`send_message`, `edit_message_text`,
...), so the defaults, rate limiter, request layer and error classes are ptb's own.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TypeVar

import httpx
from telegram import Bot, InlineKeyboardMarkup, InputFile, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)
T = TypeVar("T")

#: httpx errors raised before the request reached the server: safe to send again.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True, slots=True)
class Sent:
    """A message Telegram accepted: where it is, so it can be edited later."""

    chat_id: int
    message_id: int


class ChatBlocked(Exception):
    """Telegram answered 403: the person blocked the bot or deleted the chat."""


def maybe_delivered(error: NetworkError) -> bool:
    """True when the server may have acted on the request although we got no answer."""
    cause = error.__cause__
    if cause is None:
        # Telegram (or its gateway) answered with an error status: it did not act.
        return False
    return not isinstance(cause, _NEVER_SENT)


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # ptb 22 warns that the int will become a timedelta: both are fine here
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        retry_after = error.retry_after
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)


class Sender:
    """Every call the channel makes to Telegram goes through here."""

    def __init__(
        self,
        bot: Bot,
        attempts: int = 5,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        durable: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.bot = bot
        self.durable = durable
        self.attempts = attempts
        self.backoff = backoff
        self.max_wait = max_wait

    async def _call(self, what: str, call: Callable[[], Awaitable[T]], idempotent: bool) -> T | None:
        if self.durable is not None:
            await self.durable()
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return await call()
            except Forbidden as exc:
                raise ChatBlocked from exc
            except RetryAfter as exc:
                wait = _seconds(exc)
                reason = "rate limited"
            except BadRequest:
                raise
            except NetworkError as exc:  # TimedOut is a NetworkError
                if not idempotent and maybe_delivered(exc):
                    log.warning(
                        "%s: no answer from Telegram after sending (%s); not sending it again", what, _kind(exc)
                    )
                    return None
                wait, delay = delay, delay * 2
                reason = _kind(exc)
            if attempt == self.attempts or wait > self.max_wait:
                log.error("%s: giving up after %d attempts (%s)", what, attempt, reason)
                return None
            log.info("%s: %s, trying again in %.1f s (attempt %d)", what, reason, wait, attempt)
            await asyncio.sleep(wait)
        return None

    async def send(self, chat_id: int, text: str, markup: Markup | None = None) -> Sent | None:
        """A new message; None when it could not be sent (or may have been, see module doc)."""
        sent = await self._call(
            "sendMessage", lambda: self.bot.send_message(chat_id, text, reply_markup=markup), idempotent=False
        )
        return Sent(chat_id, sent.message_id) if sent is not None else None

    async def send_document(self, chat_id: int, data: bytes, filename: str, caption: str = "") -> Sent | None:
        """A file (staff exports); like a message, never sent twice."""
        sent = await self._call(
            "sendDocument",
            lambda: self.bot.send_document(chat_id, InputFile(data, filename=filename), caption=caption or None),
            idempotent=False,
        )
        return Sent(chat_id, sent.message_id) if sent is not None else None

    async def edit(
        self, chat_id: int, message_id: int, text: str | None, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Change a message we sent (text and buttons, or only the buttons when text is None)."""
        call: Callable[[], Awaitable[object]]
        if text is None:
            what = "editMessageReplyMarkup"
            call = partial(
                self.bot.edit_message_reply_markup, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        else:
            what = "editMessageText"
            call = partial(
                self.bot.edit_message_text, text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        try:
            await self._call(what, call, idempotent=True)
        except BadRequest as exc:
            # "message is not modified", "message to edit not found": the message is as good as it gets.
            log.info("edit skipped: %s", _kind(exc))

    async def delete(self, chat_id: int, message_id: int) -> bool:
        """Delete a message we sent; False when Telegram refuses (e.g. older than 48 hours) or it is gone."""
        try:
            done = await self._call(
                "deleteMessage", lambda: self.bot.delete_message(chat_id, message_id), idempotent=True
            )
        except BadRequest as exc:
            log.info("delete refused: %s", _kind(exc))
            return False
        return bool(done)

    async def edit_caption(self, chat_id: int, message_id: int, caption: str) -> None:
        """Change the caption of a file we sent."""
        try:
            await self._call(
                "editMessageCaption",
                lambda: self.bot.edit_message_caption(chat_id=chat_id, message_id=message_id, caption=caption),
                idempotent=True,
            )
        except BadRequest as exc:
            log.info("caption edit skipped: %s", _kind(exc))

    async def answer_button(self, query_id: str, text: str = "") -> None:
        """Stop the button's spinner (with a short note when there is one)."""
        try:
            await self._call(
                "answerCallbackQuery",
                lambda: self.bot.answer_callback_query(query_id, text=text or None),
                idempotent=True,
            )
        except BadRequest as exc:  # "query is too old": the spinner is long gone
            log.info("callback answer skipped: %s", _kind(exc))


def _kind(exc: BaseException) -> str:
    """A description of an error that carries no message text, ids or tokens."""
    cause = exc.__cause__
    return type(exc).__name__ + (f"/{type(cause).__name__}" if cause else "")
