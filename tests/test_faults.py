"""The bot process killed with SIGKILL at random points while people answer, twenty times.

A real subprocess (`python -m bot.cli run`, the production entry point: settings from the
environment, the real Application, long polling) talks to the fake Bot API on 127.0.0.1.
Only a separate process can be killed for real: SQLite's and the OS's view of the file is
then exactly what a crash leaves. The kill points are drawn from a seeded RNG (counted in
calls the bot makes to Telegram, so they fall before, during and after commits and sends).

After every kill, before the restart: `PRAGMA integrity_check` is ok, and every answer the
chat shows as taken (the bot echoes an answer under its question, after it is on disk) is
in the database. After the last restart every conversation goes on to its outcome.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.channels.telegram.keyboards import CHECKED
from bot.dialog.model import Dialog
from bot.store.vault import open_vault

from .conftest import ROOT, connect_apart, key_file_for
from .fake_bot_api import FakeBotApi
from .telegram_support import Patient

KILLS = 20
SEED = 11
PEOPLE = 6


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


def acknowledged(person: Patient, dialog: Dialog) -> list[tuple[str, Any, int]]:
    """The answers the chat shows as taken: a question message with "✓ <answer>" under it.

    Read from the chat as the person sees it, not from what the simulated person meant to
    answer: after a crash a person may answer a question they think is still open, and the
    bot rightly takes it for the question it is asking (a "1" meant for a button can even be taken
    as an age under 14, which ends the chat with nothing kept: answers before that do not count).
    Returns (question id, stored value, id of the question's message)."""
    taken = []
    messages = person._bot_messages()
    ended = [
        m.message_id for m in messages if person.ended_after(m.message_id - 1) and not person.ended_after(m.message_id)
    ]
    if ended:  # a patient under 14 (a crash-confused "1" at the age question): nothing kept before that
        messages = [m for m in messages if m.message_id > max(ended)]
    for message in messages:
        asked, mark, answer = message.text.rpartition(f"\n\n{CHECKED}")
        if not mark:
            continue
        matches = [q for q in dialog.questions if q.text in asked or (q.text_caregiver and q.text_caregiver in asked)]
        if not matches:
            continue  # the consent text
        question = max(matches, key=lambda q: len(q.text))
        if question.kind in ("number", "year"):
            taken.append((question.id, int(answer), message.message_id))
            continue
        if answer.isdigit():
            option = question.options[int(answer) - 1]
        else:
            option = next(o for o in question.options if answer in (o.label, o.label_caregiver))
        taken.append((question.id, [option.id] if question.kind == "multi" else option.id, message.message_id))
    return taken


def check_database(db_path: Path, people: list[Patient], dialog: Dialog) -> int:
    """Integrity, and every acknowledged answer on disk (read with a separate connection, as after
    a crash); returns how many acknowledged answers there are."""
    db = connect_apart(db_path)
    count = 0
    ended_unseen: set[int] = set()
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        vault = open_vault(sqlite_utils.Database(db), "", key_file_for(db_path))
        for person in people:
            taken = acknowledged(person, dialog)
            if not taken:
                continue
            count += len(taken)
            row = db.execute(
                "SELECT id FROM conversations WHERE channel = 'telegram' AND user_key = ?",
                [vault.pseudonym("telegram", person.chat_id)],
            ).fetchone()
            stored = [
                (q, json.loads(v))
                for q, v in db.execute(
                    "SELECT question_id, value FROM answers WHERE conversation_id = ? ORDER BY id",
                    [row[0] if row else ""],
                )
            ]
            for question_id, value, _shown_in in taken:
                if (question_id, value) in stored:
                    continue
                # Not on disk: right only if the chat was then ended as a child's (nothing kept) by a
                # crash-confused number, and the kill came before the person saw why.
                assert person.could_have_ended_as_a_child(), (
                    f"the chat shows {(question_id, value)} as taken, but it is not on disk: {stored}"
                )
                ended_unseen.add(person.chat_id)
                count -= 1
        children_stopped = db.execute(
            "SELECT coalesce(sum(count), 0) FROM counters WHERE name = 'stopped:under_guardian_age'"
        ).fetchone()[0]
        assert len(ended_unseen) <= children_stopped, (
            f"{len(ended_unseen)} chats lost acknowledged answers, but only {children_stopped} ended as a child's"
        )
    finally:
        db.close()
    return count


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
        acknowledged_total = check_database(db_path, people, dialog)
        newcomers = min(sum(p.finished for p in active), 3 * PEOPLE - len(people))
        people += [Patient(api, dialog, rng) for _ in range(newcomers)]
    await bot.start()
    try:
        await asyncio.wait_for(asyncio.gather(*(p.keep_answering() for p in people if not p.finished)), 30)
    finally:
        bot.kill()
    check_database(db_path, people, dialog)
    assert all(p.finished for p in people)
    db = connect_apart(db_path)
    outcomes = db.execute("SELECT count(*) FROM conversations WHERE outcome != ''").fetchone()[0]
    db.close()
    assert outcomes == len(people), "every conversation resumed and reached its outcome"
    assert acknowledged_total > KILLS, "the kills fell while people were answering"
    assert "Traceback" not in log.read_text(errors="replace")
