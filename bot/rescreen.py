"""Not yet, but soon: one reminder on the ready date, and answering again with earlier answers as defaults.

At a "not yet" outcome, on a channel that can send a message unasked (Telegram), the
person is offered one reminder on the date they may meet the time rules. It is a
separate, explicit opt-in: its text has a version, and the version and time of the
"yes" are kept. Channels that cannot send unasked (web, terminal) tell the person to
note the date down instead (the web can offer `calendar_file` as an .ics download).

The reminder invites the person to answer again from the start; each question then
shows the earlier answer, with a "Same as before" button unless the answer is one
that changes with time (a wait, or an age in years). /stop (or the button in the
reminder) cancels it; /delete erases it with the conversation; it is never sent when
the trial stops recruiting. The answers are kept until the reminder, then for the
not-eligible retention period (bot/store/retention.py); the opt-in text says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .dialog.engine import Conversation, NotNow
from .dialog.model import NOT_ELIGIBLE, NOT_SURE, NOT_YET, OUTCOMES, SUMMARY, Question
from .i18n import Translator, _
from .replies import Action, Button, Choose, ChooseMany, Command, Prompt, Reply, Text
from .retention import Retention
from .store.ready_reminders import AGREED, CLOSED, DECLINED, STOPPED, ReadyReminderStore

if TYPE_CHECKING:
    from .screening import Screener

#: Bump when the meaning of the opt-in text changes; stored with each "yes".
REMINDER_CONSENT_VERSION = "1"
#: Reminders go out in the morning in China, where the study is.
SEND_AT = time(9, 0, tzinfo=timezone(timedelta(hours=8)))
OFFER = "reminder_offer"

OFFER_TEXT = _(
    "Would you like a reminder?\n"
    "We can send you one message on {date}. It will ask if you want to answer the questions again.\n"
    "To do this, we keep your answers until then, and for {days} days after. "
    "Then you can reuse them.\n"
    "You can stop the reminder at any time: type /stop. Type /delete to delete everything.\n"
    "It is your choice. It changes nothing else."
)
REMINDER_TEXT = _(
    "Hello again. You asked us to remind you today.\n"
    "From your answers last time, you may now meet the study's time rules.\n"
    "Would you like to answer the questions again? We show your earlier answers, so it is quick."
)


def due_at(ready_on: date) -> datetime:
    """When the reminder for a ready date is sent, in UTC."""
    return datetime.combine(ready_on, SEND_AT).astimezone(UTC)


def calendar_file(ready_on: date, t: Translator, trial: str) -> str:
    """A one-event iCalendar file (RFC 5545) for the ready date, for channels that cannot send reminders."""
    summary = t(_("Lupus study: you may answer the screening questions again"))
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
    """The reminder offer, the reminder itself, /stop, and earlier answers as defaults."""

    def __init__(self, screener: Screener, keep_days: int = Retention().not_eligible_days) -> None:
        self.screener = screener
        self.store = ReadyReminderStore(screener.store.db)
        #: Channels that can send a message unasked; a channel adds itself (Telegram does).
        self.channels: set[str] = set()
        #: Days the answers are kept after the reminder (the not-eligible retention period).
        self.keep_days = keep_days

    # ------------------------------------------------------------------ the offer

    def ready_on(self, conv: Conversation) -> date | None:
        """The date named at the conversation's last "not yet" outcome (stable as time passes)."""
        if conv.state != NOT_YET:
            return None
        outcomes = self.screener.store.outcomes(conv.id)
        ready = outcomes[-1]["ready_from"] if outcomes else ""
        return date.fromisoformat(ready) if ready else None

    def offer_pending(self, conv: Conversation) -> bool:
        ready = self.ready_on(conv)
        if ready is None or conv.channel not in self.channels or not self.screener.dialog.recruiting:
            return False
        if ready <= self.screener.today():
            return False
        row = self.store.row(conv.id)
        return row is None or row["ready_on"] != ready.isoformat() or row["status"] in (STOPPED, CLOSED)

    def prompt(self, conv: Conversation, t: Translator) -> Prompt | None:
        """The opt-in, shown after a "not yet" outcome until it is answered; None otherwise."""
        if not self.offer_pending(conv):
            return None
        ready = self.ready_on(conv)
        assert ready is not None
        return Prompt(
            "finished",
            t(OFFER_TEXT, date=t.date(ready), days=self.keep_days),
            question=OFFER,
            options=[
                Button(t(_("Yes, remind me")), Command("remind_yes")),
                Button(t(_("No, thank you")), Command("remind_no")),
            ],
        )

    def outcome_reached(self, conv: Conversation, ready: date | None, t: Translator) -> list[str]:
        """After a new outcome is saved: defaults are used up; a reminder follows the new result."""
        self.store.forget_earlier_answers(conv.id)
        row = self.store.row(conv.id)
        notices: list[str] = []
        if conv.outcome != NOT_YET or ready is None:
            self.store.end(conv.id, CLOSED)
        elif row and row["status"] == AGREED and row["ready_on"] != ready.isoformat():
            self.store.move(conv.id, ready, due_at(ready))
            notices.append(t(_("Your reminder is now on {date}."), date=t.date(ready)))
        if conv.outcome == NOT_YET and ready and conv.channel not in self.channels:
            notices.append(
                t(_("Please write down this date: {date}. This chat cannot send you a reminder."), date=t.date(ready))
            )
        return notices

    # ------------------------------------------------------------------ commands

    def command(self, conv: Conversation, command: Command, t: Translator) -> Reply | None:
        """remind_yes, remind_no, stop, rescreen and same; None lets the Screener handle it."""
        name = command.name
        if name in ("remind_yes", "remind_no"):
            return self._answer_offer(conv, name == "remind_yes", t)
        if name == "stop":
            self.store.end(conv.id, STOPPED)
            return Reply([t(_("Done. We will not send you any reminders."))], self.screener.prompt(conv))
        if name == "rescreen":
            return self._again(conv, t)
        if name == "same":
            return self._same_as_before(conv, t)
        return None

    def _answer_offer(self, conv: Conversation, yes: bool, t: Translator) -> Reply:
        if not self.offer_pending(conv):
            return Reply([t(_("That is not possible here."))], self.screener.prompt(conv))
        ready = self.ready_on(conv)
        assert ready is not None
        if yes:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            self.store.answer(conv.id, ready, AGREED, due_at(ready), REMINDER_CONSENT_VERSION, now)
            notice = t(_("Thank you. We will send you one message on {date}."), date=t.date(ready))
        else:
            self.store.answer(conv.id, ready, DECLINED)
            notice = t(_("All right. We will not send a reminder. You can come back at any time."))
        return Reply([notice], self.screener.prompt(conv))

    def reminder(self, conv: Conversation, t: Translator) -> Reply:
        """The reminder message itself, with its two buttons (they work whatever is asked now)."""
        return Reply(
            [],
            Prompt(
                "reminder",
                t(REMINDER_TEXT),
                options=[
                    Button(t(_("Answer again")), Command("rescreen")),
                    Button(t(_("Stop reminders")), Command("stop")),
                ],
            ),
        )

    def _again(self, conv: Conversation, t: Translator) -> Reply:
        if conv.state in OUTCOMES or conv.state == SUMMARY:
            earlier = dict(conv.answers)
        else:
            earlier = self.store.earlier_answers(conv.id) or dict(conv.answers)
        if self.store.row(conv.id) is None:
            return Reply([t(_("That is not possible here."))], self.screener.prompt(conv))
        self.store.keep_earlier_answers(conv.id, earlier)
        notice = t(_("Let's start again. Each question shows your answer from last time."))
        return self.screener._advance(conv, [notice], t, lambda: self.screener.engine.restart(conv))

    # ------------------------------------------------------------------ earlier answers as defaults

    def earlier_value(self, conv: Conversation, question: Question) -> Any:
        """The answer from last time, or None; one read, as it runs for every question prompt."""
        entry = self.store.earlier_answers(conv.id).get(question.id)
        return entry["value"] if entry else None

    def decorate(self, conv: Conversation, question: Question, prompt: Prompt, t: Translator) -> Prompt:
        """Show the earlier answer under the question, and offer it back when it cannot have aged."""
        value = self.earlier_value(conv, question)
        if value is None:
            return prompt
        shown = self.screener.answer_text(question, value, conv, t)
        prompt.text += "\n" + t(_("Last time: {answer}"), answer=shown)
        if not _changes_with_time(question, value):
            prompt.navigation.insert(0, Button(t(_("Same as before")), Command("same")))
        return prompt

    def _same_as_before(self, conv: Conversation, t: Translator) -> Reply:
        question = self.screener.engine.current_question(conv)
        value = self.earlier_value(conv, question) if question else None
        if question is None or value is None or _changes_with_time(question, value):
            return Reply([t(_("That is not possible here."))], self.screener.prompt(conv))
        action: Action
        if question.kind == "multi":
            action = ChooseMany(question.id, tuple(value))
        elif question.kind == "choice" or value == NOT_SURE:
            action = Choose(question.id, value)
        else:
            action = Text(str(value))
        return self.screener._answer(conv, question, action, t)

    # ------------------------------------------------------------------ correcting an answer after the end

    def change(self, conv: Conversation, question_id: str, t: Translator) -> Reply:
        """From the summary the person keeps: back to the answers, then into the edit flow."""
        engine = self.screener.engine

        def step() -> None:
            if conv.state == NOT_ELIGIBLE:
                if question_id != conv.last_question:
                    raise NotNow("change")
                engine.back(conv)
                return
            if conv.state in OUTCOMES:
                engine.back(conv)
            engine.edit(conv, question_id)

        return self.screener._advance(conv, [], t, step)


def _changes_with_time(question: Question, value: Any) -> bool:
    """An answer that is likely different now: a wait ('in the last 4 weeks') or an age in years."""
    if question.kind in ("choice", "multi"):
        picked = value if isinstance(value, list) else [value]
        return any((o := question.option(p)) is not None and o.wait_days for p in picked)
    if question.accept is not None and isinstance(value, int):
        return not (question.birth_year and value >= 1900)
    return False
