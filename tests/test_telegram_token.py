"""The bot token never appears in any output, and every way Telegram can refuse or vanish ends clearly.

The real program (`python -m bot.cli run`) runs in a subprocess against the fake Bot API
(tests/fake_bot_api.py), which answers 401 or 404 to a wrong token, can revoke the token
while the bot runs, and can go away and come back. Everything the process writes (stdout
and stderr, logs included) is searched for the token and for its secret half alone.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.channels.telegram.link import TelegramProblem, check_token_format

from .cli_support import assert_one_clear_line, clean_env, screening_bot, snapshot
from .conftest import ROOT
from .fake_bot_api import FakeBotApi
from .telegram_support import Person

TOKEN = "7654321:AAE-the-secret-part-of-the-token-0123456789"
SECRET_HALF = TOKEN.split(":")[1]


def bot_env(api_url: str, db: Path, **more: str) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api_url,
        "SCREENING_DB": str(db),
        "TELEGRAM_REMINDER_HOURS": "0",
        **more,
    }


def assert_no_token(*outputs: str) -> None:
    for text in outputs:
        assert TOKEN not in text and SECRET_HALF not in text, "the token was printed"
        assert "Traceback" not in text


async def run_bot(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The bot in a subprocess, off the event loop (the fake API answers on this loop meanwhile)."""
    return await asyncio.to_thread(screening_bot, "run", env=env, timeout=60)


# ---------------------------------------------------------------- before any network call


@pytest.mark.parametrize(
    ("token", "hint"),
    [
        ("hello", "it has no colon"),
        ("123456:short", "too short"),
        ("bot123456:AAE-the-secret-part-of-the-token-0123456789", "not all digits"),
        ("123456:AAE-the-secret-part-of-the-token-0123456789\n", "a line break at one end"),
        ("'123456:AAE-the-secret-part-of-the-token-0123456789'", "quote marks"),
        ("123456:AAE-the-secret-part-of-the-token/0123456789", "other than letters"),
    ],
)
def test_an_impossible_token_is_refused_by_its_shape(token: str, hint: str) -> None:
    with pytest.raises(TelegramProblem, match=hint) as refused:
        check_token_format(token)
    assert token.strip("'\n") not in str(refused.value)


async def test_an_impossible_token_is_refused_before_any_network_call(api: FakeBotApi, tmp_path: Path) -> None:
    env = bot_env(api.base_url, tmp_path / "s.db", TELEGRAM_BOT_TOKEN="123456:" + SECRET_HALF[:20])
    result = await run_bot(env)
    assert_one_clear_line(result, "does not look like a bot token", "It was not sent anywhere", "@BotFather")
    assert_no_token(result.stdout, result.stderr)
    assert SECRET_HALF[:20] not in result.stderr
    assert api.calls == [], "nothing went to Telegram"
    assert snapshot(tmp_path) == {}


# ---------------------------------------------------------------- refused at start


@pytest.mark.parametrize("status", [401, 404])
async def test_a_refused_token_at_start_stops_with_a_clear_line_and_writes_nothing(
    api: FakeBotApi, tmp_path: Path, status: int
) -> None:
    api.refuse_with = status  # the fake's own token differs from TOKEN
    result = await run_bot(bot_env(api.base_url, tmp_path / "s.db"))
    line = assert_one_clear_line(result, "refused the bot token", f"{status} ", "getMe", "@BotFather")
    assert_no_token(result.stdout, result.stderr, line)
    assert [c.method for c in api.calls] == ["getMe"]
    assert snapshot(tmp_path) == {}, "no database and no key for a bot that never ran"


# ---------------------------------------------------------------- unreachable at start


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens there once it is closed


def test_telegram_unreachable_at_start_is_retried_then_stops_with_a_clear_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = screening_bot("run", env=bot_env(url, tmp_path / "s.db", TELEGRAM_START_SECONDS="2"), timeout=60)
    retries = [line for line in result.stderr.splitlines() if "trying again in" in line]
    assert len(retries) >= 2, result.stderr  # after 0 s and 1 s; given up at 2 s
    assert all(f"cannot reach Telegram at {url}" in line and "WARNING" in line for line in retries)
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(f"error: cannot reach Telegram at {url}") and "HTTPS_PROXY" in message
    assert result.returncode == 2
    assert_no_token(result.stdout, result.stderr)
    assert snapshot(tmp_path) == {}


# ---------------------------------------------------------------- while running


class RunningBot:
    """`screening-bot run` in the background, its output in a file; waits on what the fake API sees.

    It logs at DEBUG, the most it ever says, so that a token anywhere in its output would be found."""

    def __init__(self, api: FakeBotApi, tmp_path: Path) -> None:
        self.api = api
        self.output = tmp_path / "bot.log"
        env = clean_env(**bot_env(api.base_url, tmp_path / "s.db", SCREENING_LOG_LEVEL="DEBUG"))
        env["TELEGRAM_BOT_TOKEN"] = api.token
        with self.output.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    async def polling(self, more_than: int = 0) -> None:
        await self.api.wait_for(lambda: len(self.api.calls_to("getUpdates")) > more_than, timeout=30)

    async def exit_status(self, timeout: float = 30) -> int:
        return await asyncio.to_thread(self.proc.wait, timeout)

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    async def stop(self) -> None:
        """SIGTERM, as a supervisor stops it; waited for off the loop, where the fake API must keep answering."""
        if self.proc.poll() is None:
            self.proc.terminate()
            await asyncio.to_thread(self.proc.wait, 30)


async def test_a_token_revoked_while_running_stops_the_process_with_a_clear_line(
    api: FakeBotApi, tmp_path: Path
) -> None:
    token = api.token
    bot = RunningBot(api, tmp_path)
    try:
        await bot.polling()
        await api.revoke_token()
        status = await bot.exit_status()
    finally:
        await bot.stop()
    output = bot.text()
    assert status == 2, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("error: Telegram stopped accepting the bot token while the bot was running")
    assert "401 Unauthorized on getUpdates" in last and "Answers given so far are saved" in last
    assert "Traceback" not in output
    assert token not in output and token.split(":")[1] not in output


async def test_network_errors_while_running_are_retried_with_a_line_each_and_the_bot_recovers(
    api: FakeBotApi, tmp_path: Path
) -> None:
    token = api.token
    bot = RunningBot(api, tmp_path)
    try:
        await bot.polling()
        await api.stop()  # Telegram unreachable: the long poll breaks, new connections are refused
        deadline = time.monotonic() + 30
        while bot.text().count("polling: no answer from Telegram") < 2:
            assert time.monotonic() < deadline and bot.proc.poll() is None, bot.text()
            await asyncio.sleep(0.2)  # reading the log file as it grows; no ordering depends on it
        await api.start(port=api.port)
        person = Person(api)
        await person.say("/start")  # answered once polling is back: nothing was lost meanwhile
        assert any("Hello" in text for text in api.bot_texts(person.chat_id))
        assert bot.proc.poll() is None, "still running"
    finally:
        await bot.stop()
    output = bot.text()
    retries = [line for line in output.splitlines() if "polling: no answer from Telegram" in line]
    assert all("WARNING" in line and "trying again" in line for line in retries)
    assert "Telegram answers again" in output
    assert "Traceback" not in output
    assert token not in output and token.split(":")[1] not in output
    assert os.path.exists(tmp_path / "s.db")
