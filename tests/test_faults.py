"""The bot process killed with SIGKILL at random points while people answer, twenty times.

A real subprocess (`python -m bot.cli run`, the production entry point: settings from the
environment, the real Application, long polling) talks to the fake Bot API on 127.0.0.1.
Only a separate process can be killed for real: SQLite's and the OS's view of the file is
then exactly what a crash leaves. The kill points are drawn from a seeded RNG (counted in
calls the bot makes to Telegram, so they fall before, during and after commits and sends).

After every kill, before the restart: `PRAGMA integrity_check` is ok, and every answer that
was acknowledged to a person (the bot echoed it under its question, or asked the next one)
is in the database. After the last restart every conversation goes on to its outcome.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.dialog.model import CONSENT, SUMMARY, Dialog

from .conftest import ROOT
from .fake_bot_api import FakeBotApi
from .telegram_support import Patient

KILLS = 20
SEED = 11
PEOPLE = 6


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi()
    await fake.start()
    yield fake
    await fake.stop()


class BotProcess:
    """`screening-bot run` in a subprocess, against the fake API; killed with SIGKILL, never asked to stop."""

    def __init__(self, api: FakeBotApi, db_path: Path, log: Path) -> None:
        self.api, self.db_path, self.log = api, db_path, log
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        polls = len(self.api.calls_to("getUpdates"))
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": self.api.token,
            "TELEGRAM_API_BASE_URL": self.api.base_url,
            "SCREENING_DB": str(self.db_path),
            "TELEGRAM_REMINDER_HOURS": "0",
            "SCREENING_LOG_LEVEL": "WARNING",
        }
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        await self.api.wait_for(lambda: len(self.api.calls_to("getUpdates")) > polls, timeout=20)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no clean-up of any kind
        self.proc.wait()
        assert self.proc.returncode == -9


async def stop_waiting(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the people's tasks. Again if need be: Python 3.11's wait_for can swallow a cancellation
    that arrives just as what it waits for is done."""
    while pending := [t for t in tasks if not t.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=1)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def check_database(db_path: Path, people: list[Patient]) -> None:
    """Integrity, and every acknowledged answer on disk (read with a separate connection, as after a crash)."""
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for person in people:
            row = db.execute(
                "SELECT id, state, outcome FROM conversations WHERE channel = 'telegram' AND user_key = ?",
                [str(person.chat_id)],
            ).fetchone()
            if not person.acknowledged:
                continue
            assert row is not None, "an acknowledged consent has no conversation"
            conversation_id, state, outcome = row
            assert state != CONSENT
            stored = {
                (q, json.dumps(json.loads(v)))
                for q, v in db.execute(
                    "SELECT question_id, value FROM answers WHERE conversation_id = ?", [conversation_id]
                )
            }
            for step, value in person.acknowledged:
                if step == SUMMARY:
                    assert outcome, "an acknowledged confirmation has no outcome"
                elif step != CONSENT:
                    assert (step, json.dumps(value)) in stored, f"acknowledged answer to {step} is not on disk"
    finally:
        db.close()


async def test_killed_twenty_times_loses_no_acknowledged_answer_and_every_chat_resumes(
    api: FakeBotApi, dialog: Dialog, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    db_path, log = tmp_path / "screening.db", tmp_path / "bot.log"
    bot = BotProcess(api, db_path, log)
    people = [Patient(api, dialog, rng) for _ in range(PEOPLE)]
    acknowledged_total = 0
    for _kill in range(KILLS):
        await bot.start()
        calls_before_kill = len(api.calls) + rng.randint(1, 60)
        active = [p for p in people if not p.finished]
        tasks = [asyncio.create_task(p.keep_answering()) for p in active]
        await api.wait_for(lambda: len(api.calls) >= calls_before_kill or all(t.done() for t in tasks), timeout=20)  # noqa: B023
        bot.kill()
        for person in active:
            person.stopped = True
        await stop_waiting(tasks)
        for person in active:
            person.settle()
        check_database(db_path, people)
        acknowledged_total = sum(len(p.acknowledged) for p in people)
        newcomers = min(sum(p.finished for p in active), 3 * PEOPLE - len(people))
        people += [Patient(api, dialog, rng) for _ in range(newcomers)]
    await bot.start()
    try:
        await asyncio.wait_for(asyncio.gather(*(p.keep_answering() for p in people if not p.finished)), 30)
    finally:
        bot.kill()
    check_database(db_path, people)
    assert all(p.finished for p in people)
    db = sqlite3.connect(db_path)
    outcomes = db.execute("SELECT count(*) FROM conversations WHERE outcome != ''").fetchone()[0]
    db.close()
    assert outcomes == len(people), "every conversation resumed and reached its outcome"
    assert acknowledged_total > KILLS, "the kills fell while people were answering"
    assert "Traceback" not in log.read_text(errors="replace")
