"""Where an input becomes an answer and a reply: the one place every channel calls.

`Screener.handle` loads the person's conversation, applies one action through the
engine, saves the result in one transaction, and says what to show next. Bad
input never changes what is stored: it only earns a kind re-ask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .dialog import rules, signals
from .dialog.engine import Conversation, Engine, NotNow
from .dialog.model import (
    CONSENT,
    DECLINED,
    LIKELY_CANDIDATE,
    NEEDS_REVIEW,
    NOT_ELIGIBLE,
    NOT_SURE,
    NOT_YET,
    OUTCOMES,
    SUMMARY,
    Dialog,
    Question,
    SeparateConsent,
    Site,
)
from .i18n import Translator, _, available_languages, language_name, match_language, negotiate
from .logs import log_event
from .replies import Action, Button, Choose, ChooseMany, Command, Prompt, Reply, Text
from .store import ConversationStore, audit
from .store.leads import LeadStore
from .store.retention import erase_conversation

log = logging.getLogger(__name__)

#: Typed words that work in every language, besides the translated labels.
ALWAYS_WORDS = {NOT_SURE: ["not sure", "unsure", "don't know", "dont know", "不知道", "不清楚", "不確定"]}


class Screener:
    """Runs screenings for every channel against one dialog and one database."""

    def __init__(
        self,
        dialog: Dialog,
        store: ConversationStore,
        locales_dir: Path,
        site_overrides: dict[str, str] | None = None,
        default_language: str = "",
        today: Callable[[], date] = date.today,
        leads: LeadStore | None = None,
        on_lead: Sequence[Callable[[str, str], None]] = (),
    ) -> None:
        """With `leads`, likely candidates and needs-review outcomes are asked for contact details
        (bot/contact.py) and each `on_lead(lead_id, event)` callback hears of every lead change."""
        self.dialog = dialog
        self.store = store
        self.engine = Engine(dialog, today=today)
        self.locales_dir = locales_dir
        self.languages = available_languages(locales_dir)
        self._translators: dict[str, Translator] = {}
        self._words_cache: dict[tuple[str, str], dict[str, list[str]]] = {}
        self._question_cache: dict[tuple[str, str, bool], tuple[str, tuple[Button, ...], tuple[Button, ...], str]] = {}
        self.default_language = default_language
        self.site = replace(dialog.site, **(site_overrides or {}))
        self.today = today
        self.leads = leads
        self.on_lead: list[Callable[[str, str], None]] = list(on_lead)
        self.contact = None
        if leads is not None:
            from .contact import ContactCapture

            self.contact = ContactCapture(self, leads)
        from .rescreen import Rescreen

        self.rescreen = Rescreen(self)

    def pseudonym(self, channel: str, raw_id: str | int) -> str:
        """The user key a channel should store instead of its raw user id (e.g. a Telegram chat id)."""
        if self.leads is None:
            raise RuntimeError("pseudonym() needs the encryption vault: build the Screener with leads=LeadStore(...)")
        return self.leads.vault.pseudonym(channel, raw_id)

    # ------------------------------------------------------------------ conversations

    def translator(self, language: str) -> Translator:
        """One Translator per language, kept: every update and every prompt asks for one."""
        t = self._translators.get(language)
        if t is None:
            t = self._translators[language] = Translator(language, self.locales_dir)
        return t

    def open(self, channel: str, user_key: str, language_hint: str | None = None, source: str = "") -> Conversation:
        """The person's conversation, or a new one in the language their client reports."""
        conv = self.store.load(channel, user_key)
        if conv is not None and conv.state not in (CONSENT, DECLINED, *OUTCOMES) and self.engine.resume(conv):
            log_event(log, "resumed_after_dialog_change", conv=conv.id)
        if conv is None:
            conv = Conversation(
                channel=channel,
                user_key=user_key,
                language=negotiate(language_hint or self.default_language, self.languages),
                source=source[:64],
            )
        return conv

    def handle(self, conv: Conversation, action: Action) -> Reply:
        """Apply one action to a conversation and say what to show next.

        Typed text is first checked for signs of risk (bot/dialog/signals.py), whatever is
        asked: a match shows help at once and asks again, and the text is never an answer."""
        t = self.translator(conv.language)
        if isinstance(action, Text) and (found := signals.detect(action.text, self.dialog.safety.signals)):
            return self._risk_signal(conv, found, t)
        if isinstance(action, Command):
            return self._command(conv, action, t)
        if conv.state == CONSENT:
            return self._consent(conv, action, t)
        if (consent := self.engine.current_consent(conv)) is not None:
            return self._separate_consent(conv, consent, action, t)
        question = self.engine.current_question(conv)
        if question is not None:
            return self._answer(conv, question, action, t)
        if self.contact and self.contact.active(conv):
            return self.contact.handle(conv, action, t)
        if conv.state == SUMMARY:
            return Reply(
                [t(_("Please use the buttons below: confirm your answers, or pick one to change."))], self.prompt(conv)
            )
        if conv.state in OUTCOMES:
            return Reply(
                [t(_("Your screening is finished. Type restart to answer again, or delete to delete your answers."))],
                self.prompt(conv),
            )
        return Reply([], self.prompt(conv))

    def outcome_texts(self, conv: Conversation) -> list[str]:
        """The result and its reasons again, for a channel that redraws a finished screening (web reload)."""
        if conv.state not in OUTCOMES:
            return []
        return self._outcome_texts(conv, self.engine.findings(conv), self.translator(conv.language))

    def current(self, conv: Conversation) -> Reply:
        """Show again what the person is being asked (e.g. after a restart of the process)."""
        return Reply([], self.prompt(conv))

    # ------------------------------------------------------------------ steps

    def _risk_signal(self, conv: Conversation, kinds: list[str], t: Translator) -> Reply:
        """A typed message that may mean a risk: help at once, then the same step again.

        Only an anonymous count is kept, never the text. A possible risk of suicide is also
        noted on the conversation (a yes/no, not the words), once the person has agreed to
        health questions, so the study team is offered as a contact at the end, as after a
        risk answer."""
        notices = []
        for kind in kinds:
            audit.count(self.store.db, f"signal:{kind}")
            log_event(log, "risk_signal", conv=conv.id, kind=kind)
            notices.append(self.crisis_text(conv, t) if kind == "suicide" else self.emergency_text(conv, t))
        keep = conv.state not in (CONSENT, DECLINED) and self.engine.may_keep_health_data(conv)
        if "suicide" in kinds and keep and not conv.risk_signal and self.engine.current_consent(conv) is None:
            conv.risk_signal = True
            self.store.save(conv)
        return Reply(notices, self.prompt(conv), alert="crisis" if "suicide" in kinds else "emergency")

    def _consent(self, conv: Conversation, action: Action, t: Translator) -> Reply:
        words = {
            "agree": [self.dialog.consent.agree, t(self.dialog.consent.agree), "yes", "1"],
            "decline": [self.dialog.consent.decline, t(self.dialog.consent.decline), "no", "2"],
        }
        if self.dialog.consent.under_age:
            words["under_age"] = [self.dialog.consent.under_age, t(self.dialog.consent.under_age), "3"]
        choice = ""
        if isinstance(action, Choose) and action.question == CONSENT:
            choice = action.option
        elif isinstance(action, Text):
            typed = rules.normalise(action.text)
            choice = next((k for k, v in words.items() if typed in {rules.normalise(w) for w in v}), "")
        if choice == "agree":
            self.engine.agree(conv, self.dialog.consent.version, _now())
            self.store.save(conv)
            audit.count(self.store.db, "consented")
            log_event(log, "consented", conv=conv.id)
            return Reply([t(_("Thank you. Let's begin."))], self.prompt(conv))
        if choice == "decline":
            self.engine.decline(conv)
            self.store.delete(conv.id)
            audit.count(self.store.db, "declined_consent")
            return Reply([t(self.dialog.consent.declined)], Prompt("ended", ""))
        if choice == "under_age":
            return self._under_age(conv, t)
        return Reply(
            [
                t(
                    _('Please choose "{agree}" or "{decline}".'),
                    agree=t(self.dialog.consent.agree),
                    decline=t(self.dialog.consent.decline),
                )
            ],
            self.prompt(conv),
        )

    def _under_age(self, conv: Conversation, t: Translator, at_age_question: bool = False) -> Reply:
        """A child under the guardian age (PIPL art. 31): nothing is kept, and the chat ends kindly.

        The study is for adults, so a child can never join; a parent or guardian answering
        for a child reaches the same end at the age question."""
        consent = self.dialog.consent
        text = consent.under_age_text_caregiver if conv.respondent == "caregiver" else consent.under_age_text
        self.store.delete(conv.id)
        audit.count(self.store.db, "stopped:under_guardian_age")
        log_event(log, "under_guardian_age", conv=conv.id)
        notices = [t(text or consent.under_age_text)]
        if at_age_question:
            notices.append(t(_("If the age was a typing mistake, please start again.")))
        return Reply(notices, Prompt("ended", ""))

    def _separate_consent(self, conv: Conversation, consent: SeparateConsent, action: Action, t: Translator) -> Reply:
        """A consent of its own (health data, servers abroad): agree goes on, decline ends with nothing kept."""
        words = {
            "agree": [consent.agree, t(consent.agree), "yes", "1"],
            "decline": [consent.decline, t(consent.decline), "no", "2"],
        }
        choice = ""
        if isinstance(action, Choose) and action.question == consent.id:
            choice = action.option
        elif isinstance(action, Text):
            typed = rules.normalise(action.text)
            choice = next((k for k, v in words.items() if typed in {rules.normalise(w) for w in v}), "")
        if choice == "agree":
            return self._advance(conv, [], t, lambda: self.engine.give_consent(conv, _now()))
        if choice == "decline":
            self.engine.decline(conv)
            self.store.delete(conv.id)
            audit.count(self.store.db, f"declined_consent:{consent.id}")
            return Reply([t(consent.declined)], Prompt("ended", ""))
        return Reply(
            [t(_('Please choose "{agree}" or "{decline}".'), agree=t(consent.agree), decline=t(consent.decline))],
            self.prompt(conv),
        )

    def _answer(self, conv: Conversation, question: Question, action: Action, t: Translator) -> Reply:
        if isinstance(action, Choose | ChooseMany) and action.question != question.id:
            return Reply(
                [t(_("That button belongs to an earlier question. Here is the current one."))], self.prompt(conv)
            )
        if isinstance(action, Choose):
            if action.option == NOT_SURE and question.kind in ("number", "year") and question.not_sure:
                value: Any = NOT_SURE
            elif question.option(action.option) is None:
                return Reply([t(_("Please choose one answer from the list, or type its number."))], self.prompt(conv))
            elif question.kind == "multi":
                return self._toggle(conv, question, action.option, t)
            else:
                value = action.option
        elif isinstance(action, ChooseMany):
            if question.kind != "multi":  # no channel sends this; a list would be stored as a one-choice answer
                return Reply([t(_("Please choose one answer from the list, or type its number."))], self.prompt(conv))
            value = rules.check_multi(question, list(action.options))
        else:
            value = rules.parse_answer(question, action.text, self.today(), self._words(question, t))
        if isinstance(value, rules.Invalid):
            return Reply([self._invalid(value, t)], self.prompt(conv))
        if self._under_guardian_age(conv, question, value):
            return self._under_age(conv, t, at_age_question=True)
        notices = []
        if question.kind in ("choice", "multi"):
            picked = value if isinstance(value, list) else [value]
            if any(question.option(o).safety for o in picked):  # type: ignore[union-attr]
                notices.append(self.crisis_text(conv, t))
        return self._advance(conv, notices, t, lambda: self.engine.answer(conv, value))

    def _under_guardian_age(self, conv: Conversation, question: Question, value: Any) -> bool:
        """True when the patient's age may be under the age at which a guardian must consent."""
        gate = self.dialog.consent
        if not gate.guardian_age or question.id != gate.age_question or not isinstance(value, int):
            return False
        youngest, _oldest = rules.age_range(question, value, self.today())
        return youngest < gate.guardian_age

    def _toggle(self, conv: Conversation, question: Question, option_id: str, t: Translator) -> Reply:
        """One tap on a multiple-choice button: add or remove it from the draft answer."""
        option = question.option(option_id)
        assert option is not None
        draft = [o for o in conv.draft if o != option_id] if option_id in conv.draft else [*conv.draft, option_id]
        if option.exclusive and option_id in draft:
            draft = [option_id]
        elif option_id in draft:
            draft = [o for o in draft if not question.option(o).exclusive]  # type: ignore[union-attr]
        conv.draft = draft
        self.store.save(conv)
        return Reply([], self.prompt(conv))

    def _advance(self, conv: Conversation, notices: list[str], t: Translator, step: Callable[[], None]) -> Reply:
        before = conv.state
        try:
            step()
        except NotNow:
            return Reply([t(_("That is not possible here."))], self.prompt(conv))
        findings = None
        ready = ""
        if conv.state in OUTCOMES and before not in OUTCOMES:
            findings = self.engine.findings(conv)
            day = rules.ready_from(findings)
            ready = day.isoformat() if day else ""
            if self.contact:
                self.contact.outcome_reached(conv, findings)
            if self.urgent_reason(conv):
                audit.count(self.store.db, "finished_urgent")
            audit.count(self.store.db, "finished")
            audit.count(self.store.db, f"outcome:{conv.outcome}")
            log_event(log, "outcome", conv=conv.id, outcome=conv.outcome)
        self.store.save(conv, findings=findings, ready_from=ready)
        if findings is not None:
            date_notes = self.rescreen.outcome_reached(conv, rules.ready_from(findings), t)
            notices.extend(self._outcome_texts(conv, findings, t, before_crisis=date_notes))
        return Reply(notices, self.prompt(conv))

    def _command(self, conv: Conversation, command: Command, t: Translator) -> Reply:
        name = command.name
        if self.contact and (reply := self.contact.command(conv, command, t)) is not None:
            return reply
        if conv.state not in (CONSENT, DECLINED) and (reply := self.rescreen.command(conv, command, t)) is not None:
            return reply
        if name == "summary" and conv.state not in (CONSENT, DECLINED):
            from .summary import summary_reply

            return summary_reply(self, conv, t)
        if name == "change" and conv.state not in (CONSENT, DECLINED):
            return self.rescreen.change(conv, command.arg, t)
        if name == "start":
            if command.arg and not conv.source:
                conv.source = command.arg[:64]
            return Reply(self.welcome(conv, t, count=True), self.prompt(conv))
        if name == "help":
            return Reply([self.help_text(t, conv)], self.prompt(conv))
        if name == "privacy":
            return Reply([self.privacy_text(conv, t)], self.prompt(conv))
        if name == "language":
            return self._language(conv, command.arg, t)
        if name == "delete":
            return Reply([], self._confirm_delete_prompt(t))
        if name == "delete_confirm":
            leads = [self.leads.lead_of(conv.id)] if self.leads else []
            erase_conversation(self.store.db, conv.id, "person")
            log_event(log, "erased", conv=conv.id)
            if self.contact:
                for lead_id in filter(None, leads):
                    self.contact.notify(lead_id, "erased")
            return Reply(
                [t(_("Your answers are deleted. Nothing about you is kept. Type /start to begin again."))],
                Prompt("ended", ""),
            )
        if name == "delete_cancel":
            return Reply([t(_("Nothing was deleted."))], self.prompt(conv))
        if name in ("agree", "decline") and conv.state == CONSENT:
            return self._consent(conv, Choose(CONSENT, name), t)
        if conv.state in (CONSENT, DECLINED):
            return Reply([t(_("Please answer the question about consent first."))], self.prompt(conv))
        if name == "back":
            return self._advance(conv, [], t, lambda: self.engine.back(conv))
        if name == "restart":
            cleared = t(_("Let's start again. Your earlier answers are cleared."))
            return self._advance(conv, [cleared], t, lambda: self.engine.restart(conv))
        if name == "confirm":
            return self._advance(conv, [], t, lambda: self.engine.confirm(conv))
        if name == "edit":
            return self._advance(conv, [], t, lambda: self.engine.edit(conv, command.arg))
        if name == "done":
            question = self.engine.current_question(conv)
            if question is None or question.kind != "multi":
                return Reply([t(_("That is not possible here."))], self.prompt(conv))
            if not conv.draft:
                return Reply([t(_("Please choose at least one answer first."))], self.prompt(conv))
            return self._answer(conv, question, ChooseMany(question.id, tuple(conv.draft)), t)
        return Reply([t(_("Sorry, I don't know that command. Type help to see what you can do."))], self.prompt(conv))

    def _language(self, conv: Conversation, wanted: str, t: Translator) -> Reply:
        if not wanted:
            buttons = [Button(language_name(lang), Command("language", lang)) for lang in self.languages]
            return Reply([], Prompt("language", t(_("Choose your language.")), options=buttons))
        chosen = match_language(wanted, self.languages)
        if chosen is None:
            names = ", ".join(language_name(lang) for lang in self.languages)
            return Reply(
                [t(_("Sorry, we do not have that language. You can choose: {names}."), names=names)], self.prompt(conv)
            )
        conv.language = chosen
        self.store.save(conv)
        t = self.translator(chosen)
        return Reply([t(_("Language changed to English."))], self.prompt(conv))

    # ------------------------------------------------------------------ presentation

    def _words(self, question: Question, t: Translator) -> dict[str, list[str]]:
        """What a person may type for each option in their language; kept per language, as every typed
        answer needs it (callers only read it)."""
        key = (question.id, t.language)
        words = self._words_cache.get(key)
        if words is None:
            words = self._words_cache[key] = self._typed_words(question, t)
        return words

    def _typed_words(self, question: Question, t: Translator) -> dict[str, list[str]]:
        words: dict[str, list[str]] = {o.id: [o.label, t(o.label)] for o in question.options}
        for option in question.options:
            if option.label_caregiver:
                words[option.id] += [option.label_caregiver, t(option.label_caregiver)]
        words[NOT_SURE] = words.get(NOT_SURE, []) + ALWAYS_WORDS[NOT_SURE] + [t(_("Not sure"))]
        return words

    def _invalid(self, invalid: rules.Invalid, t: Translator) -> str:
        params = {k: (t(v) if isinstance(v, str) else v) for k, v in invalid.params.items()}
        return t(invalid.message, **params) if params else t(invalid.message)

    def prompt(self, conv: Conversation) -> Prompt:
        """The prompt for the conversation's current state."""
        t = self.translator(conv.language)
        if conv.state == CONSENT:
            c = self.dialog.consent
            options = [Button(t(c.agree), Choose(CONSENT, "agree")), Button(t(c.decline), Choose(CONSENT, "decline"))]
            if c.under_age:
                options.append(Button(t(c.under_age), Choose(CONSENT, "under_age")))
            return Prompt("consent", self.consent_text(t), question=CONSENT, options=options)
        if (consent := self.engine.current_consent(conv)) is not None:
            return Prompt(
                "consent",
                t(consent.prompt(conv.respondent)).replace("{recipient}", consent.recipient),
                question=consent.id,
                options=[
                    Button(t(consent.agree), Choose(consent.id, "agree")),
                    Button(t(consent.decline), Choose(consent.id, "decline")),
                ],
            )
        question = self.engine.current_question(conv)
        if question is not None:
            return self._question_prompt(conv, question, t)
        if conv.state == SUMMARY:
            return self._summary_prompt(conv, t)
        if self.contact and self.contact.active(conv):
            return self.contact.prompt(conv, t)
        if conv.state in OUTCOMES:
            return self.rescreen.prompt(conv, t) or Prompt(
                "finished",
                t(_("What would you like to do now?")),
                options=[
                    Button(
                        t(
                            _("Summary for the patient's doctor")
                            if conv.respondent == "caregiver"
                            else _("Summary for my doctor")
                        ),
                        Command("summary"),
                    ),
                    Button(t(_("Back")), Command("back")),
                    Button(t(_("Start again")), Command("restart")),
                    Button(t(_("Delete my answers")), Command("delete")),
                ],
            )
        return Prompt("ended", "")

    def _question_prompt(self, conv: Conversation, question: Question, t: Translator) -> Prompt:
        number, total = self.engine.progress(conv)
        body, options, navigation, hint = self._question_parts(question, t, conv.respondent == "caregiver")
        prompt = Prompt(
            question.kind,
            t(_("Question {number} of up to {total}"), number=number, total=total) + "\n" + body,
            question=question.id,
            options=list(options),
            navigation=list(navigation),
            selected=list(conv.draft),
            hint=hint,
        )
        return self.rescreen.decorate(conv, question, prompt, t)

    def _question_parts(
        self, question: Question, t: Translator, caregiver: bool
    ) -> tuple[str, tuple[Button, ...], tuple[Button, ...], str]:
        """A question's translated text, buttons and hint, which never change: kept per language and
        respondent, as every update shows a question. (Buttons are frozen; each Prompt gets its own lists.)"""
        key = (question.id, t.language, caregiver)
        parts = self._question_cache.get(key)
        if parts is not None:
            return parts
        options = tuple(
            Button(t(o.label_caregiver if caregiver and o.label_caregiver else o.label), Choose(question.id, o.id))
            for o in question.options
        )
        navigation = []
        hint = ""
        if question.kind in ("number", "year") and question.not_sure:
            navigation.append(Button(t(_("Not sure")), Choose(question.id, NOT_SURE)))
        if question.kind == "multi":
            navigation.append(Button(t(_("Done")), Command("done")))
            hint = t(_("Tap all that apply, then tap Done. Or type the numbers, like 1, 3."))
        if question.id != self.engine.first_question:
            navigation.append(Button(t(_("Back")), Command("back")))
        body = t(question.prompt("caregiver" if caregiver else None))
        parts = self._question_cache[key] = (body, options, tuple(navigation), hint)
        return parts

    def _summary_prompt(self, conv: Conversation, t: Translator) -> Prompt:
        lines = [t(_("Please check your answers:"))]
        edits = []
        for question, value in self.engine.summary(conv):
            shown = self.answer_text(question, value, conv, t)
            lines.append("• " + t(_("{label}: {answer}"), label=t(question.label), answer=shown))
            edits.append(Button(t(_("Change: {label}"), label=t(question.label)), Command("edit", question.id)))
        return Prompt(
            "summary",
            "\n".join(lines),
            options=[Button(t(_("These are right: show the result")), Command("confirm")), *edits],
            navigation=[Button(t(_("Back")), Command("back"))],
        )

    def answer_text(self, question: Question, value: Any, conv: Conversation, t: Translator) -> str:
        """An answer as the person would say it, in their language."""
        if value == NOT_SURE and question.kind in ("number", "year"):
            return t(_("Not sure"))
        if question.kind in ("choice", "multi"):
            caregiver = conv.respondent == "caregiver"
            labels = []
            for option_id in value if isinstance(value, list) else [value]:
                option = question.option(option_id)
                if option:
                    labels.append(t(option.label_caregiver if caregiver and option.label_caregiver else option.label))
            return t(_(", ")).join(labels) if labels else str(value)
        return str(value)

    def _outcome_texts(
        self, conv: Conversation, findings: list[rules.Finding], t: Translator, before_crisis: list[str] | None = None
    ) -> list[str]:
        """The outcome, its reasons and the site; `before_crisis` (the reminder notes) come before the
        crisis text, which is always the last thing a person who may be at risk reads."""
        outcome = self.dialog.outcomes[conv.outcome]
        ready = rules.ready_from(findings)
        body = t(outcome.body(conv.respondent))
        if ready:
            body = body.replace("{date}", t.date(ready))
        texts = [f"{t(outcome.heading(conv.respondent))}\n{body}"]
        if conv.outcome == NOT_ELIGIBLE:
            reasons = _unique(self.dialog.criteria[f.criterion].reason for f in findings if f.status == "not_met")
            texts.append(t(_("The reason:")) + "\n" + "\n".join(f"• {t(r)}" for r in reasons))
        elif conv.outcome == NOT_YET:
            waits = [f for f in findings if f.status == "wait"]
            lines = [
                "• "
                + t(
                    _("{label}: {answer}"),
                    label=t(self.dialog.criteria[f.criterion].label),
                    answer=t(_("from about {date}"), date=t.date(f.until)),
                )
                for f in waits
                if f.until
            ]
            texts.append(t(_("The time rules:")) + "\n" + "\n".join(_unique(lines)))
        if conv.outcome in (NEEDS_REVIEW, NOT_YET):
            unclear = _unique(self.dialog.question(f.question).label for f in findings if f.status == "unclear")
            if unclear:
                texts.append(
                    t(_("The study team will check these answers:"))
                    + "\n"
                    + "\n".join(f"• {t(label)}" for label in unclear)
                )
        urgent = bool(self.urgent_reason(conv))
        if conv.outcome in (LIKELY_CANDIDATE, NEEDS_REVIEW) or urgent:
            texts.append(self.site_text(t, closing=self.contact is None))
        texts.extend(before_crisis or [])
        if urgent:
            texts.append(self.crisis_text(conv, t))
        return texts

    # ------------------------------------------------------------------ safety

    def urgent_reason(self, conv: Conversation) -> str:
        """Why the study team should reach this person first, or "" when nothing suggests a risk:
        the ids of questions answered with a risk answer, and "typed_risk" after a typed message
        that may have meant a risk of suicide (comma-separated)."""
        reasons = rules.safety_answers(self.dialog, conv.answers, self.today())
        if conv.risk_signal:
            reasons.append("typed_risk")
        return ",".join(reasons)

    def fill_safety_numbers(self, text: str, t: Translator) -> str:
        """Fill {lines} (every crisis line, one per row) and {<line id>} (one number) in a safety text."""
        for line in self.dialog.safety.lines:
            text = text.replace("{" + line.id + "}", line.number)
        if "{lines}" in text:
            rows = [
                "• "
                + t(_("{label}: {number}"), label=t(line.label), number=line.number)
                + (f" ({t(line.hours)})" if line.hours else "")
                for line in self.dialog.safety.lines
                if line.crisis
            ]
            text = text.replace("{lines}", "\n".join(rows))
        return text

    def crisis_text(self, conv: Conversation, t: Translator) -> str:
        """The crisis-help text, in the carer's words when a carer answers, with the numbers filled in."""
        return self.fill_safety_numbers(t(self.dialog.safety.crisis(conv.respondent)), t)

    def emergency_text(self, conv: Conversation, t: Translator) -> str:
        return self.fill_safety_numbers(t(self.dialog.safety.emergency(conv.respondent)), t)

    def unwell_now_text(self, t: Translator) -> str:
        """One line for the welcome and the help: what to do if very unwell now ("" when not set)."""
        text = self.dialog.safety.unwell_now
        return self.fill_safety_numbers(t(text), t) if text else ""

    def welcome(self, conv: Conversation, t: Translator, count: bool = False) -> list[str]:
        """The greeting at /start (or a new web page), with what to do if very unwell now."""
        if conv.state == CONSENT:
            if count:
                audit.count(self.store.db, "started")
            texts = [t(_("Hello! This is the screening chat for a lupus study."))]
        else:
            texts = [t(_("Welcome back. Let's continue where you left off."))]
        return [*texts, *filter(None, [self.unwell_now_text(t)])]

    def consent_text(self, t: Translator) -> str:
        """The consent notice, with where the server is (SITE_SERVER_LOCATION) filled in."""
        place = self.site.server_location
        shown = t(place) if place else t(_("not yet set by the hospital"))
        return t(self.dialog.consent.text).replace("{server_location}", shown)

    def privacy_text(self, conv: Conversation, t: Translator) -> str:
        """/privacy: the consent notice, and the separate notices that apply to this channel."""
        texts = [self.consent_text(t)]
        for consent in self.dialog.consents:
            if consent.applies_to(conv.channel):
                texts.append(t(consent.prompt(conv.respondent)).replace("{recipient}", consent.recipient))
        return "\n\n".join(texts)

    def site_text(self, t: Translator, closing: bool = True) -> str:
        """Who runs the study and how to reach them; unset details are simply left out.

        `closing=False` leaves out the last line (what to do next), for when contact capture says it."""
        s: Site = self.site
        lines = [
            t(_("This study is run by the study team at {hospital}, {city}."), hospital=t(s.hospital), city=t(s.city))
        ]
        if s.investigator:
            lines.append(t(_("Lead doctor: {name}"), name=t(s.investigator)))
        if s.department:
            lines.append(t(_("Department: {department}"), department=t(s.department)))
        if s.address:
            lines.append(t(_("Address: {address}"), address=t(s.address)))
        if s.phone:
            lines.append(t(_("Phone: {phone}"), phone=s.phone))
        if s.email:
            lines.append(t(_("E-mail: {email}"), email=s.email))
        if s.hours:
            lines.append(t(_("Hours: {hours}"), hours=t(s.hours)))
        if closing and (s.phone or s.email):
            lines.append(t(_("You can contact them to talk about the next step.")))
        elif closing:
            lines.append(t(_("The study team will get in touch with you about the next step.")))
        return "\n".join(lines)

    def help_text(self, t: Translator, conv: Conversation | None = None) -> str:
        caregiver = conv is not None and conv.respondent == "caregiver"
        about = (
            _("This chat asks questions to see if a lupus study may fit the patient. It is not medical advice.")
            if caregiver
            else _("This chat asks questions to see if a lupus study may fit you. It is not medical advice.")
        )
        return "\n".join(
            [
                t(about),
                *filter(None, [self.unwell_now_text(t)]),
                t(_("You can use these commands:")),
                t(_("back: go to the previous question")),
                t(_("restart: start again from the first question")),
                t(_("language: choose English or Chinese")),
                t(_("privacy: read how we use your answers")),
                t(_("summary: a summary of your answers, for your doctor")),
                t(_("stop: stop all reminders")),
                t(_("delete: delete your answers")),
            ]
        )

    def _confirm_delete_prompt(self, t: Translator) -> Prompt:
        return Prompt(
            "confirm_delete",
            t(_("Delete all your answers? This cannot be undone.")),
            options=[Button(t(_("Yes")), Command("delete_confirm")), Button(t(_("No")), Command("delete_cancel"))],
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))
