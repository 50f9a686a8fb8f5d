"""`screening-bot run --web`: the Telegram bot and the web chat in one process, on one database."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from bot.channels.telegram import build_application
from bot.channels.telegram.app import serve
from bot.channels.web.cli import embedded_web
from bot.config import load_settings
from bot.dialog.model import Dialog

from .conftest import make_lead_screener
from .fake_bot_api import FakeBotApi
from .telegram_support import Person, options_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_one_process_serves_telegram_and_the_web_chat(dialog: Dialog, db_path: Path) -> None:
    api = FakeBotApi()
    await api.start()
    screener = make_lead_screener(dialog, db_path)
    port = free_port()
    settings = load_settings(environ={"WEB_PORT": str(port), "WEB_SECRET": "x" * 32, "SCREENING_DB": str(db_path)})
    web = embedded_web(screener, settings)
    stopping = asyncio.Event()
    bot = asyncio.create_task(serve(build_application(screener, options_for(api)), beside=[web], stopping=stopping))
    try:
        async with asyncio.timeout(20):
            while not web.started:
                await asyncio.sleep(0)  # yield to the server starting in this loop; no timing involved
            person = Person(api)
            await person.say("/start")
            await person.tap(dialog.consent.agree)
            async with httpx.AsyncClient() as client:
                page = await client.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and 'lang="en"' in page.text
        assert "Telegram" in page.text  # the consent notice, from the same dialog
        channels = {row[0] for row in screener.store.db.execute("SELECT DISTINCT channel FROM conversations")}
        assert "telegram" in channels
    finally:
        stopping.set()
        await bot
        await api.stop()
    assert web.should_exit


async def test_inside_the_bot_the_web_chat_flushes_each_answer_before_it_replies(dialog: Dialog, db_path: Path) -> None:
    """The bot's connection group-commits (synchronous=NORMAL + one fsync before any reply);
    the embedded web chat must wait for that flush too, or a power cut could lose an answer
    whose page was already shown."""
    from bot.channels.web.cli import embedded_web

    screener = make_lead_screener(dialog, db_path)
    settings = load_settings(environ={"WEB_PORT": str(free_port()), "WEB_SECRET": "x" * 32})
    web = embedded_web(screener, settings)
    chat = web.config.app.state.web_chat
    assert chat.service is screener and screener.storage.group_committing  # the service's step waits for the flush
    assert screener.store.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: flushed by the channel


def test_run_web_without_a_token_serves_the_web_chat_alone_and_says_so(tmp_path: Path) -> None:
    """No token: the web chat alone (a terminal chat would only wait on a console nobody reads)."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SCREENING_", "TELEGRAM_", "WEB_"))}
    environ |= {"SCREENING_DB": str(tmp_path / "screening.db"), "WEB_PORT": str(port), "WEB_SECRET": "x" * 32}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--web"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=environ,
    )
    watchdog = threading.Timer(60, proc.kill)  # only if it never starts: the test then fails below
    watchdog.start()
    try:
        said = []
        for line in proc.stderr:  # type: ignore[union-attr]
            said.append(line)
            if "Web chat on http:" in line:  # printed once its port is taken: connections queue from then on
                break
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and "Telegram" in page.text  # the consent notice
    finally:
        proc.terminate()  # SIGTERM, as a supervisor stops it
        out, rest = proc.communicate(timeout=30)
        watchdog.cancel()
    assert proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it caught, after a clean stop
    assert said[0] == "No TELEGRAM_BOT_TOKEN is set: serving the web chat only (no Telegram, no terminal chat).\n"
    assert out == ""  # no terminal chat: it would have shown the consent notice here
    assert "Traceback" not in "".join(said) + rest
