"""The bot's connection to Telegram: a token checked before use, refusals that stop the bot, patient retries.

- A token that cannot be a bot token is refused before any network call (`check_token_format`).
- At start, `reach_telegram` asks Telegram who the bot is (getMe): a refused token (401/404)
  stops the bot at once; a network failure is retried with a growing pause, one log line per
  try, until TELEGRAM_START_SECONDS have passed; then the bot stops with a clear message.
- While running, every call goes through `WatchedRequest`: the first 401/404 (the token was
  revoked) stops the bot with a clear message and a non-zero exit, so a supervisor restarts it
  or raises an alarm (python-telegram-bot on its own would stop polling and stay alive, deaf).
  Network failures while polling are retried by python-telegram-bot with a growing pause (at
  most 30 s); each gets a log line here, and so does the first success after them.

No message, log line or exception text made here contains the token (python-telegram-bot's own
"The token `...` was rejected" is dropped, never shown).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.request import BaseRequest, RequestData

from ...errors import Problem
from .sending import _kind

log = logging.getLogger(__name__)

#: What @BotFather hands out: the bot's id, a colon, then the secret (35 characters today).
TOKEN_FORMAT = re.compile(r"[0-9]+:[A-Za-z0-9_-]{30,}")
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 30.0
BOTFATHER = "Get the current token from @BotFather (/mybots, then API Token) and set TELEGRAM_BOT_TOKEN to it."


class TelegramProblem(Problem):
    """The bot cannot work with Telegram: a malformed or refused token, or no connection at start."""


def check_token_format(token: str) -> None:
    """Refuse a token that cannot be right, without sending it anywhere, and without printing it."""
    if TOKEN_FORMAT.fullmatch(token):
        return
    if token != token.strip():
        hint = "it has a space or a line break at one end"
    elif any(quote in token for quote in "'\"`"):
        hint = "it has quote marks in it"
    elif ":" not in token:
        hint = "it has no colon"
    elif not token.partition(":")[0].isdigit():
        hint = "the part before the colon is not all digits"
    else:
        hint = "the part after the colon is too short or has characters other than letters, digits, - and _"
    raise TelegramProblem(
        f"TELEGRAM_BOT_TOKEN does not look like a bot token ({hint}). A token is the bot's number, a colon, "
        f"then 30 or more letters, digits, - or _, like 123456789:AAH... It was not sent anywhere. {BOTFATHER}"
    )


class TelegramLink:
    """What every call to Telegram shows about the connection: a refused token, failures in a row."""

    def __init__(self, api_base_url: str) -> None:
        self.api_base_url = api_base_url
        #: "401 Unauthorized on getUpdates" once Telegram refused the token; empty until then.
        self.refused = ""
        #: Called once, at the first refusal (the bot's `serve` stops the bot).
        self.on_refused: Callable[[], object] | None = None
        self.failures_in_a_row = 0

    def answered(self, method: str, status: int) -> None:
        if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND):
            if not self.refused:
                self.refused = f"{status} {HTTPStatus(status).phrase} on {method}"
                if self.on_refused is not None:  # while running; at start the bot stops with the message
                    log.error("Telegram refused the bot token (%s): stopping the bot", self.refused)
                    self.on_refused()
            return
        if self.failures_in_a_row:
            log.warning("Telegram answers again, after %d failed call(s)", self.failures_in_a_row)
            self.failures_in_a_row = 0

    def failed(self) -> None:
        self.failures_in_a_row += 1

    def polling_failed(self, error: TelegramError) -> None:
        """python-telegram-bot's error_callback for polling: one line per failed poll, then it retries."""
        log.warning(
            "polling: no answer from Telegram at %s (%s, %d failure(s) in a row); trying again after a pause "
            "that grows to at most %.0f s",
            self.api_base_url,
            _kind(error),
            self.failures_in_a_row,
            LONGEST_PAUSE,
        )

    def refused_message(self, while_running: bool = False) -> str:
        what = self.refused or "401 Unauthorized"
        if while_running:
            return (
                f"Telegram stopped accepting the bot token while the bot was running ({what}): it was probably "
                f"revoked or replaced. Answers given so far are saved. {BOTFATHER} Then start the bot again."
            )
        base = "" if self.api_base_url.rstrip("/") == "https://api.telegram.org" else f" at {self.api_base_url}"
        return (
            f"Telegram{base} refused the bot token ({what}): it is mistyped, revoked, or belongs to another "
            f"server (TELEGRAM_API_BASE_URL). {BOTFATHER}"
        )


class WatchedRequest(BaseRequest):
    """python-telegram-bot's HTTP layer (`inner`), with every answer's status shown to a TelegramLink."""

    def __init__(self, inner: BaseRequest, link: TelegramLink) -> None:
        self.inner = inner
        self.link = link

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        try:
            status, payload = await self.inner.do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
            )
        except NetworkError:
            self.link.failed()
            raise
        self.link.answered(url.rsplit("/", 1)[-1], status)
        return status, payload


async def reach_telegram(bot: Bot, link: TelegramLink, give_up_after: float) -> None:
    """Ask Telegram who the bot is (getMe), retrying network failures with a growing pause.

    Raises TelegramProblem when the token is refused (at once) or when Telegram could not be
    reached within `give_up_after` seconds."""
    started = time.monotonic()
    pause = FIRST_PAUSE
    attempt = 1
    while True:
        try:
            await bot.initialize()
            return
        except InvalidToken:
            raise TelegramProblem(link.refused_message()) from None  # ptb's message holds the token
        except (NetworkError, RetryAfter) as exc:  # TimedOut is a NetworkError
            waited = time.monotonic() - started
            if waited >= give_up_after:
                raise TelegramProblem(
                    f"cannot reach Telegram at {link.api_base_url} ({_kind(exc)}; {attempt} tries in {waited:.0f} s). "
                    "Check the network, a firewall or proxy (HTTPS_PROXY), and TELEGRAM_API_BASE_URL; "
                    "TELEGRAM_START_SECONDS sets how long to keep trying. Telegram is blocked in mainland China: "
                    "run the bot where it is reachable (the web chat, screening-bot web, works without it)."
                ) from None
            pause = min(pause, give_up_after - waited)
            log.warning(
                "cannot reach Telegram at %s (%s); trying again in %.1f s (try %d)",
                link.api_base_url,
                _kind(exc),
                pause,
                attempt,
            )
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
            attempt += 1
