"""Not yet, but soon: one reminder on the ready date, and answering again with earlier answers as defaults.

At a "not yet" outcome, on a channel that can send a message unasked (Telegram), the
person is offered one reminder on the date they may meet the time rules: the flow's
`reminder_offer` step. It is a separate, explicit opt-in: its text has a version, and the
version and time of the "yes" are kept. Channels that cannot send unasked (web, terminal)
tell the person to note the date down instead (the web can offer `calendar_file`).

The reminder goes out at the dialog file's `[region] reminder_time` in its `time_zone`. It
invites the person to answer again from the start; each question then shows the earlier
answer, with a "Same as before" button unless the answer is one that changes with time.
/stop cancels it; /delete erases it with the conversation; it is never sent when the trial
stops recruiting. The answers are kept until the reminder, then for the not-eligible
retention period (bot/store/retention.py); the opt-in text says so.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..dialog.engine import Conversation
from ..dialog.flow import NOT_YET, ReminderStatus
from ..dialog.model import Dialog, Region
from ..i18n import Translator, _
from ..store.storage import UnitOfWork

#: Bump when the meaning of the opt-in text changes; stored with each "yes".
REMINDER_CONSENT_VERSION = "1"


def due_at(ready_on: date, region: Region) -> datetime:
    """When the reminder for a ready date is sent, in UTC: the region's reminder time, in its time zone."""
    hour, minute = (int(part) for part in region.reminder_time.split(":"))
    local = datetime.combine(ready_on, time(hour, minute), tzinfo=ZoneInfo(region.time_zone))
    return local.astimezone(UTC)


def calendar_file(ready_on: date, t: Translator, dialog: Dialog) -> str:
    """A one-event iCalendar file (RFC 5545) for the ready date, for channels that cannot send reminders."""
    summary = t.dialog(dialog.texts.calendar_title) if dialog.texts.calendar_title else t.dialog(dialog.title)
    trial = dialog.trial
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    day, after = ready_on.strftime("%Y%m%d"), (ready_on + timedelta(days=1)).strftime("%Y%m%d")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Screening bot//" + trial + "//EN",
        "BEGIN:VEVENT",
        f"UID:{trial}-{day}@screening-bot",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{day}",
        f"DTEND;VALUE=DATE:{after}",
        "SUMMARY:" + summary.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;"),
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


class Rescreen:
    """The reminder offer's facts and answers, and what an outcome changes in a reminder."""

    def __init__(
        self, dialog: Dialog, today: Callable[[], date], reminding_channels: Collection[str], keep_days: int
    ) -> None:
        self.dialog = dialog
        self.today = today
        #: Channels that can send a message unasked (Telegram).
        self.channels = frozenset(reminding_channels)
        #: Days the answers are kept after the reminder (the not-eligible retention period).
        self.keep_days = keep_days

    def ready_on(self, conv: Conversation, work: UnitOfWork) -> date | None:
        """The date named at the conversation's last "not yet" outcome (stable as time passes)."""
        if conv.outcome != NOT_YET:
            return None
        outcomes = work.conversations.outcomes(conv.id)
        ready = outcomes[-1]["ready_from"] if outcomes else ""
        return date.fromisoformat(ready) if ready else None

    def offer_on(self, conv: Conversation, work: UnitOfWork) -> date | None:
        """The date a reminder may be offered for now (a reminding channel, a recruiting trial, a date to come)."""
        ready = self.ready_on(conv, work)
        if ready is None or conv.channel not in self.channels or not self.dialog.recruiting:
            return None
        return ready if ready > self.today() else None

    def offer_pending(self, conv: Conversation, work: UnitOfWork) -> bool:
        """The offer is made unless the person already answered it for this date."""
        ready = self.offer_on(conv, work)
        if ready is None:
            return False
        row = work.reminders.row(conv.id)
        stopped = (ReminderStatus.STOPPED, ReminderStatus.CLOSED)
        return row is None or row["ready_on"] != ready.isoformat() or row["status"] in stopped

    def outcome_reached(self, conv: Conversation, ready: date | None, t: Translator, work: UnitOfWork) -> list[str]:
        """After a new outcome is saved: defaults are used up; a reminder follows the new result."""
        store = work.reminders
        store.forget_earlier_answers(conv.id)
        row = store.row(conv.id)
        notices: list[str] = []
        if conv.outcome != NOT_YET or ready is None:
            store.end(conv.id, ReminderStatus.CLOSED)
        elif row and row["status"] == ReminderStatus.AGREED and row["ready_on"] != ready.isoformat():
            store.move(conv.id, ready, due_at(ready, self.dialog.region))
            notices.append(t(_("Your reminder is now on {date}."), date=t.date(ready)))
        if conv.outcome == NOT_YET and ready and conv.channel not in self.channels:
            notices.append(
                t(_("Please write down this date: {date}. This chat cannot send you a reminder."), date=t.date(ready))
            )
        return notices

    def answer_offer(self, conv: Conversation, yes: bool, t: Translator, work: UnitOfWork) -> str:
        """Record the answer to the offer; the notice to show."""
        ready = self.offer_on(conv, work)
        assert ready is not None
        if yes:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            due = due_at(ready, self.dialog.region)
            work.reminders.answer(conv.id, ready, ReminderStatus.AGREED, due, REMINDER_CONSENT_VERSION, now)
            return t(_("Thank you. We will send you one message on {date}."), date=t.date(ready))
        work.reminders.answer(conv.id, ready, ReminderStatus.DECLINED)
        return t(_("All right. We will not send a reminder. You can come back at any time."))
