"""One step, one unit of work: every input of every channel commits exactly once.

The database connection's statements are traced: a commit is a COMMIT, or a write run
outside any transaction (SQLite then commits it on its own). Each channel is driven as a
person uses it (the terminal chat in process, the web chat's pages, Telegram through the
fake Bot API), and each step is counted: a consent, an ordinary answer, the summary
confirmed (an outcome), the phone number (a lead made), and an outcome reached while the
person has a lead (the lead kept current).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.channels.terminal import run_terminal
from bot.dialog.model import Dialog
from bot.replies import Command, Text
from bot.screening import Key
from bot.store.sqlcipher import sqlite

from .conftest import Screener, harmless_answer, make_lead_screener
from .fake_bot_api import FakeBotApi
from .telegram_support import Person, running_bot
from .web_driver import WebUser, answer, harmless, make_app

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
PHONE = "13912345678"


class Commits:
    """Counts the commits of one connection."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.total = 0
        conn.set_trace_callback(self._seen)

    def _seen(self, sql: str) -> None:
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if head == "COMMIT" or (head in WRITES and not self.conn.in_transaction):
            self.total += 1

    @contextmanager
    def counting(self, steps: dict[str, int], name: str) -> Iterator[None]:
        before = self.total
        yield
        steps[name] = self.total - before


def commits_of(screener: Screener) -> Commits:
    return Commits(screener.storage.db.conn)


def assert_one_each(steps: dict[str, int]) -> None:
    assert set(steps) == {
        "consent",
        "answer",
        "separate consent",
        "summary confirmed",
        "lead made",
        "outcome, lead kept",
    }
    assert steps == dict.fromkeys(steps, 1), steps


# ---------------------------------------------------------------- the terminal


class Typist(io.StringIO):
    """A person at the terminal: reads the question asked now and types what a person would."""

    def __init__(self, screener: Screener, dialog: Dialog, commits: Commits) -> None:
        super().__init__()
        self.screener, self.dialog, self.commits = screener, dialog, commits
        self.steps: dict[str, int] = {}
        self.typed: tuple[str, int] | None = None
        self.plan = ["summary", "Change: Age", "17", "quit"]

    def isatty(self) -> bool:
        return False

    def readline(self, size: int = -1) -> str:
        if self.typed is not None:
            name, before = self.typed
            if name:
                self.steps[name] = self.commits.total - before
        name, line = self._next()
        self.typed = (name, self.commits.total)
        return line + "\n"

    def _next(self) -> tuple[str, str]:
        conv = self.screener.conversation(Key("terminal", "t"))
        state = conv.state
        if state == "consent":
            return "consent", "1"
        if self.dialog.separate_consent(state) is not None:
            return "separate consent", "1"
        if self.dialog.has_question(state) and not conv.editing:
            name = "answer" if "answer" not in self.steps else ""
            return name, harmless_answer(self.dialog.question(state))
        if state == "summary":
            return "summary confirmed", "1"
        if state == "contact_consent":
            return "", "1"
        if state == "contact_phone":
            return "lead made", PHONE
        if state == "contact_name":
            return "", "skip"
        if state in ("contact_time", "contact_language"):
            return "", "1"
        step = self.plan.pop(0)
        return ("outcome, lead kept" if step == "17" else ""), step


def test_the_terminal_commits_once_per_step(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    typist = Typist(screener, dialog, commits_of(screener))
    run_terminal(screener, session="t", stdin=typist, out=io.StringIO())
    assert screener.conversation(Key("terminal", "t")).outcome == "not_eligible"
    assert screener.storage.read.leads.find()[0].outcome == "not_eligible"  # the lead was kept current
    assert_one_each(typist.steps)


# ---------------------------------------------------------------- the web chat


def test_the_web_chat_commits_once_per_step(dialog: Dialog, db_path: Path) -> None:
    app, screener = make_app(dialog, db_path, leads=True)
    user = WebUser(app)
    commits = commits_of(screener)
    steps: dict[str, int] = {}
    with commits.counting(steps, "consent"):
        user.choose("agree")
    with commits.counting(steps, "answer"):
        answer(user, dialog.question("respondent"), "self")
    while user.page.question != "summary" and (qid := user.page.question):
        if dialog.separate_consent(qid) is not None:
            with commits.counting(steps, "separate consent"):
                user.choose("agree")
        else:
            answer(user, dialog.question(qid), harmless(dialog.question(qid)))
    with commits.counting(steps, "summary confirmed"):
        user.press("These are right: show the result")
    user.press("Yes, please contact me")
    with commits.counting(steps, "lead made"):
        user.type(PHONE)
    user.press("Skip")
    user.press("Afternoon")
    user.press("Chinese (Mandarin)")
    user.press("Summary for my doctor")
    user.press("Change: Age")
    with commits.counting(steps, "outcome, lead kept"):
        user.type("17")
    assert screener.storage.read.leads.find()[0].outcome == "not_eligible"
    assert_one_each(steps)


# ---------------------------------------------------------------- Telegram


async def test_telegram_commits_once_per_step(api: FakeBotApi, dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    person = Person(api)
    steps: dict[str, int] = {}
    async with running_bot(api, screener):
        await person.say("/start")
        commits = commits_of(screener)  # after the start-up's own upkeep
        with commits.counting(steps, "consent"):
            await person.tap(dialog.consent.agree)
        while (consent := dialog.separate_consent(person.step)) is not None:  # Telegram's servers abroad
            with commits.counting(steps, "separate consent"):
                await person.tap(consent.agree)
        with commits.counting(steps, "answer"):
            await person.tap("I am the patient")
        while person.step != "summary":
            step = person.step
            if (consent := dialog.separate_consent(step)) is not None:
                with commits.counting(steps, "separate consent"):
                    await person.tap(consent.agree)
                continue
            question = dialog.question(step)
            typed = harmless_answer(question)
            if question.kind in ("number", "year") or question.kind == "multi":
                await person.say(typed)
            else:
                await person.tap(question.options[int(typed) - 1].label)
        with commits.counting(steps, "summary confirmed"):
            await person.tap("These are right: show the result")
        await person.tap("Yes, please contact me")
        with commits.counting(steps, "lead made"):
            await person.say(PHONE)
        await person.tap("Skip")
        await person.tap("Afternoon")
        await person.tap("Chinese (Mandarin)")
        await person.tap("Summary for my doctor")
        await person.tap("Change: Age")
        with commits.counting(steps, "outcome, lead kept"):
            await person.say("17")
    assert screener.storage.read.leads.find()[0].outcome == "not_eligible"
    assert_one_each(steps)


def test_a_step_that_fails_half_way_leaves_nothing_of_itself(dialog: Dialog, db_path: Path) -> None:
    """The unit of work is one transaction: the counters of an outcome that could not be stored are
    not counted either (SQLite itself refuses the outcome's row here, as a full disk would)."""
    screener = make_lead_screener(dialog, db_path)
    key = Key("test", "p")
    screener.handle(key, Command("start"))
    screener.handle(key, Command("agree"))
    for _ in range(60):
        conv = screener.conversation(key)
        if conv.state == "summary":
            break
        if dialog.separate_consent(conv.state) is not None:
            screener.handle(key, Text("1"))
            continue
        screener.handle(key, Text(harmless_answer(dialog.question(conv.state))))
    before = screener.storage.read.audit.totals()
    screener.storage.db.execute(
        "CREATE TEMP TRIGGER refuse_outcomes BEFORE INSERT ON outcomes BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    try:
        screener.handle(key, Command("confirm"))
        raise AssertionError("the outcome was stored")
    except sqlite.IntegrityError:  # the bot's SQLite library (SQLCipher), whose errors are its own
        pass
    assert screener.storage.read.audit.totals() == before  # no "finished", no "outcome:..." without the outcome
    assert screener.conversation(key).state == "summary"
