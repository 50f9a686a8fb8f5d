"""Reading one input at the conversation's current step: consents, answers, commands.

Each reader asks the engine to move (the engine decides), writes through the step's unit
of work and says what to tell the person; it never draws a prompt (presenter.py) and never
commits (service.py). Bad input never changes what is stored: it only earns a kind re-ask.
Typed text is first checked for signs of risk (bot/dialog/signals.py), whatever is asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from .. import howto
from ..dialog import flow, rules, signals
from ..dialog.engine import Conversation, Engine, NotNow
from ..dialog.model import CONSENT, DECLINED, NOT_SURE, Question
from ..i18n import Translator, _
from ..logs import log_event
from ..replies import Action, Choose, ChooseMany, Command, Text
from .commands import Commands
from .contact import ContactCapture
from .effects import Step
from .lead_facts import screening_of
from .presenter import Presenter
from .rescreen import Rescreen

log = logging.getLogger("bot.screening")

#: Typed words that work in every language, besides the translated labels.
ALWAYS_WORDS = {NOT_SURE: ["not sure", "unsure", "don't know", "dont know", "不知道", "不清楚", "不確定"]}


class Steps:
    """Every input of every channel goes through `read`, inside the service's unit of work."""

    def __init__(self, engine: Engine, presenter: Presenter, rescreen: Rescreen, today: Callable[[], date]) -> None:
        self.engine = engine
        self.dialog = engine.dialog
        self.presenter = presenter
        self.texts = presenter.texts
        self.rescreen = rescreen
        self.today = today
        self.contact = ContactCapture(engine, presenter, today)
        self.commands = Commands(self)
        self._words_cache: dict[tuple[str, str], dict[str, list[str]]] = {}

    def read(self, conv: Conversation, action: Action, step: Step) -> None:
        """Apply one action to a conversation; what to say is collected in `step`."""
        t = self.texts.translator(conv.language)
        if isinstance(action, Text) and (found := signals.detect(action.text, self.dialog.safety.signals)):
            self._risk_signal(conv, found, t, step)
        elif isinstance(action, Command):
            self.commands.run(conv, action, t, step)
        elif conv.state == CONSENT:
            self._consent(conv, action, t, step)
        elif (consent := self.engine.current_consent(conv)) is not None:
            self._separate_consent(conv, consent.id, action, t, step)
        elif (question := self.engine.current_question(conv)) is not None:
            self.answer(conv, question, action, t, step)
        elif conv.state in flow.CONTACT_STEPS:
            self.contact.handle(conv, action, t, step)
        elif conv.state == flow.SUMMARY:
            step.say(t(_("Please use the buttons below: confirm your answers, or pick one to change.")))
        elif conv.state == flow.REMINDER_OFFER and isinstance(action, Text):
            step.say(t(_("Please choose one answer from the list, or type its number.")))
        elif conv.outcome:
            step.say(
                t(
                    _("Your screening is finished. To answer again, {restart}. To delete your answers, {delete}."),
                    **howto.how_to(conv.channel, t),
                )
            )

    # ------------------------------------------------------------------ safety

    def _risk_signal(self, conv: Conversation, kinds: list[str], t: Translator, step: Step) -> None:
        """A typed message that may mean a risk: help at once, then the same step again.

        Only an anonymous count is kept, never the text. A possible risk of suicide is also
        noted on the conversation (a yes/no, not the words), once the person has agreed to
        health questions, so the study team is offered as a contact at the end."""
        for kind in kinds:
            step.count(f"signal:{kind}")
            log_event(log, "risk_signal", conv=conv.id, kind=kind)
            step.say(self.texts.crisis_text(conv, t) if kind == "suicide" else self.texts.emergency_text(conv, t))
        keep = conv.state not in (CONSENT, DECLINED) and self.engine.may_keep_health_data(conv)
        if "suicide" in kinds and keep and not conv.risk_signal and self.engine.current_consent(conv) is None:
            conv.risk_signal = True
            step.save(conv)
        step.alert = "crisis" if "suicide" in kinds else "emergency"

    # ------------------------------------------------------------------ consents

    def _consent(self, conv: Conversation, action: Action, t: Translator, step: Step) -> None:
        c = self.dialog.consent
        words = {
            "agree": [c.agree, t.dialog(c.agree), "yes", "1"],
            "decline": [c.decline, t.dialog(c.decline), "no", "2"],
        }
        if c.under_age:
            words["under_age"] = [c.under_age, t.dialog(c.under_age), "3"]
        choice = _choice(action, CONSENT, words)
        if choice == "agree":
            self.engine.agree(conv, c.version, _now())
            step.save(conv)
            step.count("consented")
            log_event(log, "consented", conv=conv.id)
            step.say(t(_("Thank you. Let's begin.")))
        elif choice == "decline":
            self.engine.decline(conv)
            step.delete(conv)
            step.count("declined_consent")
            step.say(t.dialog(c.declined))
        elif choice == "under_age":
            self.under_age(conv, t, step)
        else:
            step.say(
                t(_('Please choose "{agree}" or "{decline}".'), agree=t.dialog(c.agree), decline=t.dialog(c.decline))
            )

    def under_age(self, conv: Conversation, t: Translator, step: Step, at_age_question: bool = False) -> None:
        """A child under the guardian age (PIPL art. 31): nothing is kept, and the chat ends kindly."""
        consent = self.dialog.consent
        caregiver = self.texts.respondent(conv) == "caregiver"
        text = consent.under_age_text_caregiver if caregiver else consent.under_age_text
        step.delete(conv)
        step.count("stopped:under_guardian_age")
        log_event(log, "under_guardian_age", conv=conv.id)
        step.say(t.dialog(text or consent.under_age_text))
        if at_age_question:
            step.say(t(_("If the age was a typing mistake, please start again.")))

    def _separate_consent(self, conv: Conversation, consent_id: str, action: Action, t: Translator, step: Step) -> None:
        """A consent of its own (health data, servers abroad): agree goes on, decline ends with nothing kept."""
        consent = self.dialog.separate_consent(consent_id)
        assert consent is not None
        words = {
            "agree": [consent.agree, t.dialog(consent.agree), "yes", "1"],
            "decline": [consent.decline, t.dialog(consent.decline), "no", "2"],
        }
        choice = _choice(action, consent.id, words)
        if choice == "agree":
            self.advance(conv, t, step, lambda: self.engine.give_consent(conv, _now()))
        elif choice == "decline":
            self.engine.decline(conv)
            step.delete(conv)
            step.count(f"declined_consent:{consent.id}")
            step.say(t.dialog(consent.declined))
        else:
            agree, decline = t.dialog(consent.agree), t.dialog(consent.decline)
            step.say(t(_('Please choose "{agree}" or "{decline}".'), agree=agree, decline=decline))

    # ------------------------------------------------------------------ answers

    def answer(self, conv: Conversation, question: Question, action: Action, t: Translator, step: Step) -> None:
        if isinstance(action, Choose | ChooseMany) and action.question != question.id:
            step.say(t(_("That button belongs to an earlier question. Here is the current one.")))
            return
        if isinstance(action, Choose):
            if action.option == NOT_SURE and question.kind in ("number", "year") and question.not_sure:
                value: Any = NOT_SURE
            elif question.option(action.option) is None:
                step.say(t(_("Please choose one answer from the list, or type its number.")))
                return
            elif question.kind == "multi":
                self._toggle(conv, question, action.option, step)
                return
            else:
                value = action.option
        elif isinstance(action, ChooseMany):
            if question.kind != "multi":  # no channel sends this; a list would be stored as a one-choice answer
                step.say(t(_("Please choose one answer from the list, or type its number.")))
                return
            value = rules.check_multi(question, list(action.options))
        else:
            assert isinstance(action, Text)
            value = rules.parse_answer(question, action.text, self.today(), self._words(question, t))
        if isinstance(value, rules.Invalid):
            params = {k: (t.dialog(v) if isinstance(v, str) else v) for k, v in value.params.items()}
            step.say(t(value.message, **params))
            return
        if self._under_guardian_age(question, value):
            self.under_age(conv, t, step, at_age_question=True)
            return
        if question.kind in ("choice", "multi"):
            picked = value if isinstance(value, list) else [value]
            if any(question.option(o).safety for o in picked):  # type: ignore[union-attr]
                step.say(self.texts.crisis_text(conv, t))
        self.advance(conv, t, step, lambda: self.engine.answer(conv, value))

    def _under_guardian_age(self, question: Question, value: Any) -> bool:
        """True when the patient's age may be under the age at which a guardian must consent."""
        gate = self.dialog.consent
        if not gate.guardian_age or question.id != gate.age_question or not isinstance(value, int):
            return False
        youngest, _oldest = rules.age_range(question, value, self.today())
        return youngest < gate.guardian_age

    def _toggle(self, conv: Conversation, question: Question, option_id: str, step: Step) -> None:
        """One tap on a multiple-choice button: add or remove it from the draft answer."""
        option = question.option(option_id)
        assert option is not None
        draft = [o for o in conv.draft if o != option_id] if option_id in conv.draft else [*conv.draft, option_id]
        if option.exclusive and option_id in draft:
            draft = [option_id]
        elif option_id in draft:
            draft = [o for o in draft if not question.option(o).exclusive]  # type: ignore[union-attr]
        conv.draft = draft
        step.save(conv)

    def advance(self, conv: Conversation, t: Translator, step: Step, move: Callable[[], None]) -> None:
        """Move through the engine and save; at a new outcome, record it, say it, and keep a lead current."""
        before = conv.outcome
        try:
            move()
        except NotNow:
            step.say(t(_("That is not possible here.")))
            return
        if not conv.outcome or before:
            step.save(conv)
            return
        findings = self.engine.findings(conv)
        day = rules.ready_from(findings)
        urgent = bool(self.engine.urgent_reason(conv))
        if urgent:
            step.count("finished_urgent")
        step.count("finished")
        step.count(f"outcome:{conv.outcome}")
        log_event(log, "outcome", conv=conv.id, outcome=conv.outcome)
        offered = self.engine.contact_offered(conv)
        if not offered:
            step.rescreened(conv, screening_of(self.engine, conv, findings))
        step.save(conv, findings=findings, ready_from=day.isoformat() if day else "")
        notes = self.rescreen.outcome_reached(conv, day, t, step.work)
        step.say(*self.texts.outcome_texts(conv, findings, t, urgent, offered, before_crisis=notes))
        step.after_outcome = True

    def _words(self, question: Question, t: Translator) -> dict[str, list[str]]:
        """What a person may type for each option in their language; kept per language, as every typed
        answer needs it (callers only read it)."""
        key = (question.id, t.language)
        words = self._words_cache.get(key)
        if words is None:
            words = {o.id: [o.label, t.dialog(o.label)] for o in question.options}
            for option in question.options:
                if option.label_caregiver:
                    words[option.id] += [option.label_caregiver, t.dialog(option.label_caregiver)]
            words[NOT_SURE] = words.get(NOT_SURE, []) + ALWAYS_WORDS[NOT_SURE] + [t(_("Not sure"))]
            self._words_cache[key] = words
        return words


def _choice(action: Action, question: str, words: dict[str, list[str]]) -> str:
    """The consent button tapped, or the typed words of one; "" when neither."""
    if isinstance(action, Choose) and action.question == question:
        return action.option
    if isinstance(action, Text):
        typed = rules.normalise(action.text)
        return next((k for k, v in words.items() if typed in {rules.normalise(w) for w in v}), "")
    return ""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
