"""The ready-date reminder over Telegram: the real Application, a frozen clock, the fake Bot API."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.dialog.model import Dialog
from bot.i18n import _
from bot.screening.presenter import REMINDER_TEXT

from .conftest import LOCALES, TODAY, AsSeen, Screener, make_lead_screener
from .fake_bot_api import FakeBotApi
from .telegram_support import Clock, Person, running_bot
from .test_telegram_conversations import screen

T = AsSeen("en", LOCALES)
DIAGNOSED = TODAY - timedelta(weeks=20)
READY = TODAY + timedelta(weeks=4)
TWENTY_WEEKS = {
    "diagnosis_year": str(DIAGNOSED.year),
    "diagnosis_month": str(DIAGNOSED.month),
    "diagnosis_day": str(DIAGNOSED.day),
}
THE_DAY_BEFORE = datetime(READY.year, READY.month, READY.day, tzinfo=UTC) - timedelta(hours=12)
ON_THE_DAY = datetime(READY.year, READY.month, READY.day, 9, tzinfo=UTC)


@pytest.fixture
def screener(dialog: Dialog, db_path: Path) -> Screener:
    """The Telegram channel needs the vault: it keeps chat ids only encrypted."""
    return make_lead_screener(dialog, db_path)


async def not_yet(person: Person, dialog: Dialog, opt_in: bool) -> None:
    """Screen to "not yet" (diagnosed 20 weeks ago) and answer the reminder offer."""
    await person.say("/start")
    await screen(person, dialog, T, typed=False, answers=TWENTY_WEEKS)
    assert person.step == "reminder_offer"
    assert T.date(READY) in person.all_text()
    await person.tap(T(_("Yes, remind me")) if opt_in else T(_("No, thank you")))


def reminders_in(api: FakeBotApi, person: Person) -> int:
    return sum(T(REMINDER_TEXT) in m.text for m in api.chat(person.chat_id) if m.from_bot)


async def test_the_reminder_comes_once_on_the_date_after_a_restart_and_invites_to_answer_again(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    person = Person(api)
    async with running_bot(api, screener):
        await not_yet(person, dialog, opt_in=True)
    async with running_bot(api, screener, clock=Clock(THE_DAY_BEFORE)) as app:  # restarted in between
        assert await app.bot_data["ready_reminders"].send_due() == 0
    clock = Clock(ON_THE_DAY)
    async with running_bot(api, screener, clock=clock) as app:
        await api.wait_for(lambda: reminders_in(api, person) == 1 or None)
        assert await app.bot_data["ready_reminders"].send_due() == 0
        clock.advance(days=3)
        assert await app.bot_data["ready_reminders"].send_due() == 0
        reminder = next(m for m in api.chat(person.chat_id) if T(REMINDER_TEXT) in m.text)
        assert [b["text"] for b in reminder.buttons] == [T(_("Answer again")), T(_("Stop reminders"))]
        await person.tap(T(_("Answer again")), message=reminder)
        last = [m for m in api.chat(person.chat_id) if m.from_bot][-1]
        assert "Last time: I am the patient" in last.text
        assert T(_("Same as before")) in [b["text"] for b in last.buttons]
    async with running_bot(api, screener, clock=Clock(ON_THE_DAY + timedelta(days=10))) as app:
        assert await app.bot_data["ready_reminders"].send_due() == 0
    assert reminders_in(api, person) == 1


async def test_a_bot_that_was_down_on_the_day_sends_it_when_it_next_runs(
    api: FakeBotApi, screener: Screener, dialog: Dialog
) -> None:
    person = Person(api)
    async with running_bot(api, screener):
        await not_yet(person, dialog, opt_in=True)
    async with running_bot(api, screener, clock=Clock(ON_THE_DAY + timedelta(days=5))):
        await api.wait_for(lambda: reminders_in(api, person) == 1 or None)
        reminder = next(m for m in api.chat(person.chat_id) if T(REMINDER_TEXT) in m.text)
        await person.tap(T(_("Stop reminders")), message=reminder)
        assert T(_("Done. We will not send you any reminders.")) in person.all_text()
    assert reminders_in(api, person) == 1


@pytest.mark.parametrize("how", ["/stop", "/delete", "no opt-in"])
async def test_no_reminder_after_stop_delete_or_without_the_opt_in(
    api: FakeBotApi, screener: Screener, dialog: Dialog, how: str
) -> None:
    person = Person(api)
    async with running_bot(api, screener):
        await not_yet(person, dialog, opt_in=how != "no opt-in")
        if how == "/stop":
            await person.say("/stop")
            assert "We will not send you any reminders" in person.all_text()
        elif how == "/delete":
            await person.say("/delete")
            await person.tap(T(_("Yes")), message=person.prompt())
    async with running_bot(api, screener, clock=Clock(ON_THE_DAY)) as app:
        assert await app.bot_data["ready_reminders"].send_due() == 0
    assert reminders_in(api, person) == 0
    if how == "/delete":
        assert screener.store.db.execute("SELECT count(*) FROM ready_reminders").fetchone()[0] == 0


async def test_no_reminder_once_the_trial_stops_recruiting(
    api: FakeBotApi, screener: Screener, dialog: Dialog, db_path: Path
) -> None:
    person = Person(api)
    async with running_bot(api, screener):
        await not_yet(person, dialog, opt_in=True)
    stopped = make_lead_screener(replace(dialog, recruiting=False), db_path)
    async with running_bot(api, stopped, clock=Clock(ON_THE_DAY)) as app:
        assert await app.bot_data["ready_reminders"].send_due() == 0
        newcomer = Person(api)
        await newcomer.say("/start")
        await screen(newcomer, dialog, T, typed=False, answers=TWENTY_WEEKS)
        assert newcomer.step == "finished"  # nothing is offered
    assert reminders_in(api, person) == 0
    assert [r["status"] for r in stopped.store.db.query("SELECT status FROM ready_reminders")] == ["closed"]
