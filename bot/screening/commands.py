"""Commands and navigation: start, help, privacy, language, delete, back, restart, confirm, edit, done,
the summary a person keeps, the reminder's commands (remind_yes/no, stop, rescreen, same) and change.

Like steps.py, each command asks the engine to move and writes through the step's unit of work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from .. import howto
from ..dialog import flow
from ..dialog.engine import Conversation, Engine, NotNow
from ..dialog.flow import ReminderStatus
from ..dialog.model import CONSENT, DECLINED, NOT_ELIGIBLE, NOT_SURE, Question
from ..dialog.rules import ages_with_time
from ..i18n import Translator, _, language_name, match_language
from ..logs import log_event
from ..replies import Action, Choose, ChooseMany, Command, Text
from .contact import ContactCapture
from .effects import Step
from .presenter import Presenter
from .rescreen import Rescreen
from .summary import summary_notices, with_change_buttons
from .texts import Texts


class Reader(Protocol):
    """What commands need of the step readers (steps.py), which own them: named here, so that
    this module never imports steps.py back."""

    engine: Engine
    texts: Texts
    presenter: Presenter
    rescreen: Rescreen
    contact: ContactCapture

    def read(self, conv: Conversation, action: Action, step: Step) -> None: ...

    def answer(self, conv: Conversation, question: Question, action: Action, t: Translator, step: Step) -> None: ...

    def advance(self, conv: Conversation, t: Translator, step: Step, move: Callable[[], None]) -> None: ...


log = logging.getLogger("bot.screening")


class Commands:
    def __init__(self, steps: Reader) -> None:
        self.steps = steps
        self.engine = steps.engine
        self.texts = steps.texts
        self.rescreen = steps.rescreen

    def run(self, conv: Conversation, command: Command, t: Translator, step: Step) -> None:
        name = command.name
        if conv.state in flow.CONTACT_STEPS and self.steps.contact.command(conv, command, t, step):
            return
        if conv.state not in (CONSENT, DECLINED) and self._reminder(conv, command, t, step):
            return
        if name == "summary" and conv.state not in (CONSENT, DECLINED):
            if not conv.outcome:
                step.say(t(_("Your summary is ready when you reach the end of the questions.")))
            else:
                step.say(*summary_notices(self.engine, self.texts, conv, t))
                step.decorate = lambda prompt: with_change_buttons(self.engine, conv, prompt, t)
            return
        if name == "change" and conv.state not in (CONSENT, DECLINED):
            self._change(conv, command.arg, t, step)
        elif name == "start":
            if command.arg and not conv.source:
                conv.source = command.arg[:64]
            if conv.state == CONSENT:
                step.count("started")
            step.say(*self.texts.welcome(conv, t))
        elif name == "help":
            step.say(self.texts.help_text(t, conv, can_remind=conv.channel in self.rescreen.channels))
        elif name == "privacy":
            step.say(self.texts.privacy_text(conv, t))
        elif name == "language":
            self._language(conv, command.arg, t, step)
        elif name == "delete":
            step.show = self.steps.presenter.confirm_delete(t)
        elif name == "delete_confirm":
            erased = step.erase(conv)
            log_event(log, "erased", conv=conv.id)
            step.say(self._deleted(conv, erased, t))
        elif name == "delete_cancel":
            step.say(t(_("Nothing was deleted.")))
        elif name in ("agree", "decline") and conv.state == CONSENT:
            self.steps.read(conv, Choose(CONSENT, name), step)
        elif conv.state in (CONSENT, DECLINED):
            step.say(t(_("Please answer the question about consent first.")))
        elif name == "back":
            self.steps.advance(conv, t, step, lambda: self.engine.back(conv))
        elif name == "restart":
            step.say(t(_("Let's start again. Your earlier answers are cleared.")))
            self.steps.advance(conv, t, step, lambda: self.engine.restart(conv))
        elif name == "confirm":
            self.steps.advance(conv, t, step, lambda: self.engine.confirm(conv))
        elif name == "edit":
            self.steps.advance(conv, t, step, lambda: self.engine.edit(conv, command.arg))
        elif name == "done":
            question = self.engine.current_question(conv)
            if question is None or question.kind != "multi":
                step.say(t(_("That is not possible here.")))
            elif not conv.draft:
                step.say(t(_("Please choose at least one answer first.")))
            else:
                self.steps.answer(conv, question, ChooseMany(question.id, tuple(conv.draft)), t, step)
        else:
            step.say(t(_("Sorry, I don't know that command. Type help to see what you can do.")))

    def _deleted(self, conv: Conversation, erased: list[str], t: Translator) -> str:
        """What /delete says: with several trials, which of them held answers of this person (all gone)."""
        start = howto.how_to(conv.channel, t)
        if not self.texts.several_trials or not erased:
            return t(_("Your answers are deleted. Nothing about you is kept. To begin again, {start}."), **start)
        studies = t(_(", ")).join(self.texts.trial_title(dialog_id, t.language) for dialog_id in erased)
        return t(
            _(
                "Your answers are deleted, for every study you answered here: {studies}. "
                "Nothing about you is kept. To begin again, {start}."
            ),
            studies=studies,
            **start,
        )

    def _language(self, conv: Conversation, wanted: str, t: Translator, step: Step) -> None:
        if not wanted:
            step.show = self.steps.presenter.language_menu(t)
            return
        chosen = match_language(wanted, self.texts.languages)
        if chosen is None:
            names = ", ".join(language_name(lang) for lang in self.texts.languages)
            step.say(t(_("Sorry, we do not have that language. You can choose: {names}."), names=names))
            return
        conv.language = chosen
        step.save(conv)
        step.say(self.texts.translator(chosen)(_("Language changed to English.")))

    # ------------------------------------------------------------------ the reminder and answering again

    def _reminder(self, conv: Conversation, command: Command, t: Translator, step: Step) -> bool:
        """remind_yes, remind_no, stop, rescreen and same; False lets `run` go on."""
        name = command.name
        work = step.work
        if name in ("remind_yes", "remind_no"):
            if conv.state != flow.REMINDER_OFFER or self.rescreen.offer_on(conv, work) is None:
                step.say(t(_("That is not possible here.")))
                return True
            step.say(self.rescreen.answer_offer(conv, name == "remind_yes", t, work))
            self.engine.fire(conv, "agree" if name == "remind_yes" else "decline")
            step.save(conv)
        elif name == "stop":
            work.reminders.end(conv.id, ReminderStatus.STOPPED)
            step.stop_nudges = True
            step.say(t(_("Done. We will not send you any reminders.")))
        elif name == "rescreen":
            if conv.outcome or conv.state == flow.SUMMARY:
                earlier = dict(conv.answers)
            else:
                earlier = work.reminders.earlier_answers(conv.id) or dict(conv.answers)
            if work.reminders.row(conv.id) is None:
                step.say(t(_("That is not possible here.")))
                return True
            work.reminders.keep_earlier_answers(conv.id, earlier)
            step.say(t(_("Let's start again. Each question shows your answer from last time.")))
            self.steps.advance(conv, t, step, lambda: self.engine.restart(conv))
        elif name == "same":
            self._same_as_before(conv, t, step)
        else:
            return False
        return True

    def _same_as_before(self, conv: Conversation, t: Translator, step: Step) -> None:
        question = self.engine.current_question(conv)
        entry = step.work.reminders.earlier_answers(conv.id).get(question.id) if question else None
        value = entry["value"] if entry else None
        if question is None or value is None or ages_with_time(question, value):
            step.say(t(_("That is not possible here.")))
            return
        action: Action
        if question.kind == "multi":
            action = ChooseMany(question.id, tuple(value))
        elif question.kind == "choice" or value == NOT_SURE:
            action = Choose(question.id, value)
        else:
            action = Text(str(value))
        self.steps.answer(conv, question, action, t, step)

    def _change(self, conv: Conversation, question_id: str, t: Translator, step: Step) -> None:
        """From the summary the person keeps: back to the answers, then into the edit flow."""

        def move() -> None:
            if conv.outcome == NOT_ELIGIBLE:
                if question_id != conv.last_question:
                    raise NotNow("change")
                self.engine.back(conv)
                return
            if conv.outcome:
                self.engine.back(conv)
            self.engine.edit(conv, question_id)

        self.steps.advance(conv, t, step, move)
