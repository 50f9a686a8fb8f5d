"""What the person is asked now: each state of the flow as a channel-neutral Prompt, in their language.

The flow (bot/dialog) decides where a conversation is; this module only draws it:
the consent notice, a separate consent, a question with its buttons and progress, the
summary to check, each step of contact capture, the reminder offer, and the finished
screening's buttons. It reads nothing and writes nothing: what it needs to know about
the world (an earlier answer offered as a default, the date a reminder would be for)
comes in through the `Extras` the service fills.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..dialog import flow
from ..dialog.engine import Conversation, Engine
from ..dialog.model import CONSENT, NOT_SURE, SUMMARY, Question
from ..dialog.rules import ages_with_time
from ..i18n import Translator, _, language_name
from ..replies import Button, Choose, Command, Prompt
from .texts import Texts

#: The contact steps' own questions: a tap carries the step it answers, so a stale tap is told apart.
CONTACT_CONSENT_TEXT = _(
    "Would you like the study team to contact you about this study?\n"
    "If yes, we will ask for your phone number. You can also give your name.\n"
    "We keep these details locked (encrypted). The study team uses them only to contact you.\n"
    "If no, we keep no contact details. You can still contact the study team yourself."
)
#: After a risk answer, whatever the outcome: the offer of a person to talk to, and its own version.
URGENT_CONTACT_CONSENT_TEXT = _(
    "You told us something that matters for your safety. "
    "Would you like a person from the study team to contact you?\n"
    "They can talk with you about your answers and about the study.\n"
    "If yes, we will ask for your phone number. You can also give your name.\n"
    "We keep these details locked (encrypted). The study team uses them only to contact you.\n"
    "The study team is not an emergency service. If you are in danger now, call {emergency}.\n"
    "If no, we keep no contact details. The numbers above are there for you at any time."
)
CONTACT_CONSENT_OPTIONS = (("yes", _("Yes, please contact me")), ("no", _("No, thank you")))
CALL_TIMES = (("morning", _("Morning")), ("afternoon", _("Afternoon")), ("any", _("Any time")))

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


@dataclass
class Extras:
    """What a prompt shows besides the conversation itself, read by the service in the same unit of work."""

    #: The answers from last time, while the person answers again after a reminder (question id -> entry).
    earlier: dict[str, Any] = field(default_factory=dict)
    #: The date the reminder on offer would be for (None: no offer now).
    offer_on: date | None = None
    #: Whether a risk answer or a typed risk makes this person urgent (contact consent wording).
    urgent: bool = False


class Presenter:
    """Prompts for every state of the flow."""

    def __init__(self, engine: Engine, texts: Texts, keep_days: Callable[[], int]) -> None:
        self.engine = engine
        self.dialog = engine.dialog
        self.texts = texts
        self.keep_days = keep_days
        self._question_cache: dict[tuple[str, str, bool], tuple[str, tuple[Button, ...], tuple[Button, ...], str]] = {}

    def prompt(self, conv: Conversation, extras: Extras) -> Prompt:
        """The prompt for the conversation's current state."""
        t = self.texts.translator(conv.language)
        state = conv.state
        if state == CONSENT:
            c = self.dialog.consent
            options = [
                Button(t.dialog(c.agree), Choose(CONSENT, "agree")),
                Button(t.dialog(c.decline), Choose(CONSENT, "decline")),
            ]
            if c.under_age:
                options.append(Button(t.dialog(c.under_age), Choose(CONSENT, "under_age")))
            return Prompt("consent", self.texts.consent_text(t, conv.channel), question=CONSENT, options=options)
        if (consent := self.engine.current_consent(conv)) is not None:
            return Prompt(
                "consent",
                self.texts.separate_consent_text(conv, consent.id, t),
                question=consent.id,
                options=[
                    Button(t.dialog(consent.agree), Choose(consent.id, "agree")),
                    Button(t.dialog(consent.decline), Choose(consent.id, "decline")),
                ],
            )
        question = self.engine.current_question(conv)
        if question is not None:
            return self._question_prompt(conv, question, extras, t)
        if state == SUMMARY:
            return self._summary_prompt(conv, t)
        if state in flow.CONTACT_STEPS:
            return self._contact_prompt(conv, extras, t)
        if state == flow.REMINDER_OFFER and extras.offer_on is not None:
            return Prompt(
                "finished",
                t(OFFER_TEXT, date=t.date(extras.offer_on), days=self.keep_days()),
                question=flow.REMINDER_OFFER,
                options=[
                    Button(t(_("Yes, remind me")), Command("remind_yes")),
                    Button(t(_("No, thank you")), Command("remind_no")),
                ],
            )
        if conv.outcome:
            caregiver = self.texts.respondent(conv) == "caregiver"
            return Prompt(
                "finished",
                t(_("What would you like to do now?")),
                options=[
                    Button(
                        t(_("Summary for the patient's doctor") if caregiver else _("Summary for my doctor")),
                        Command("summary"),
                    ),
                    Button(t(_("Back")), Command("back")),
                    Button(t(_("Start again")), Command("restart")),
                    Button(t(_("Delete my answers")), Command("delete")),
                ],
            )
        return Prompt("ended", "")

    # ------------------------------------------------------------------ questions

    def _question_prompt(self, conv: Conversation, question: Question, extras: Extras, t: Translator) -> Prompt:
        number, total = self.engine.progress(conv)
        body, options, navigation, hint = self._question_parts(question, t, self.texts.respondent(conv) == "caregiver")
        prompt = Prompt(
            question.kind,
            t(_("Question {number} of up to {total}"), number=number, total=total) + "\n" + body,
            question=question.id,
            options=list(options),
            navigation=list(navigation),
            selected=list(conv.draft),
            hint=hint,
        )
        entry = extras.earlier.get(question.id)
        if entry is not None:  # answering again after a reminder: last time's answer, offered back
            value = entry["value"]
            prompt.text += "\n" + t(_("Last time: {answer}"), answer=self.texts.answer_text(question, value, conv, t))
            if not ages_with_time(question, value):
                prompt.navigation.insert(0, Button(t(_("Same as before")), Command("same")))
        return prompt

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
            Button(
                t.dialog(o.label_caregiver if caregiver and o.label_caregiver else o.label), Choose(question.id, o.id)
            )
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
        body = t.dialog(question.prompt("caregiver" if caregiver else None))
        parts = self._question_cache[key] = (body, options, tuple(navigation), hint)
        return parts

    def _summary_prompt(self, conv: Conversation, t: Translator) -> Prompt:
        lines = [t(_("Please check your answers:"))]
        edits = []
        for question, value in self.engine.summary(conv):
            shown = self.texts.answer_text(question, value, conv, t)
            label = t.dialog(question.label)
            lines.append("• " + t(_("{label}: {answer}"), label=label, answer=shown))
            edits.append(Button(t(_("Change: {label}"), label=label), Command("edit", question.id)))
        return Prompt(
            "summary",
            "\n".join(lines),
            options=[Button(t(_("These are right: show the result")), Command("confirm")), *edits],
            navigation=[Button(t(_("Back")), Command("back"))],
        )

    # ------------------------------------------------------------------ contact capture

    def _contact_prompt(self, conv: Conversation, extras: Extras, t: Translator) -> Prompt:
        back = Button(t(_("Back")), Command("back"))
        state = conv.state
        if state == flow.CONTACT_CONSENT:
            if extras.urgent:
                text = self.texts.fill_safety_numbers(t(URGENT_CONTACT_CONSENT_TEXT), t)
            else:
                text = t(CONTACT_CONSENT_TEXT)
            return self._choice(flow.CONTACT_CONSENT, text, CONTACT_CONSENT_OPTIONS, t, back)
        if state == flow.CONTACT_PHONE:
            region = self.dialog.region
            return Prompt(
                "phone",
                t(_("Please type your mobile phone number, like {example}."), example=region.phone_example)
                + "\n"
                + t(_("For a number from another country, start with + and the country code.")),
                question=flow.CONTACT_PHONE,
                navigation=[back],
            )
        if state == flow.CONTACT_NAME:
            return Prompt(
                "text",
                t(_("What name should the study team use when they call? You can skip this.")),
                question=flow.CONTACT_NAME,
                navigation=[Button(t(_("Skip")), Command("skip")), back],
            )
        if state == flow.CONTACT_TIME:
            text = t(_("When is the best time to call you?"))
            return self._choice(flow.CONTACT_TIME, text, CALL_TIMES, t, back)
        text = t(_("Which language should the study team use when they call?"))
        return self._choice(flow.CONTACT_LANGUAGE, text, self.call_languages(conv, t), t, back, translate=False)

    def call_languages(self, conv: Conversation, t: Translator) -> tuple[tuple[str, str], ...]:
        """The languages the study team calls in (the dialog file's), the person's chat language first."""
        offered = [(c.id, t.dialog(c.label)) for c in self.dialog.region.call_languages]
        return tuple(sorted(offered, key=lambda o: not conv.language.startswith(o[0])))

    def _choice(
        self,
        question: str,
        text: str,
        options: tuple[tuple[str, str], ...],
        t: Translator,
        back: Button,
        translate: bool = True,
    ) -> Prompt:
        return Prompt(
            "choice",
            text,
            question=question,
            options=[Button(t(label) if translate else label, Choose(question, oid)) for oid, label in options],
            navigation=[back],
        )

    # ------------------------------------------------------------------ anywhere

    def reminder(self, t: Translator) -> Prompt:
        """The reminder message itself, with its two buttons (they work whatever is asked now)."""
        return Prompt(
            "reminder",
            t(REMINDER_TEXT),
            options=[
                Button(t(_("Answer again")), Command("rescreen")),
                Button(t(_("Stop reminders")), Command("stop")),
            ],
        )

    def language_menu(self, t: Translator) -> Prompt:
        buttons = [Button(language_name(lang), Command("language", lang)) for lang in self.texts.languages]
        return Prompt("language", t(_("Choose your language.")), options=buttons)

    def confirm_delete(self, t: Translator) -> Prompt:
        """Asked before /delete; with several trials it says that the answers for every study go."""
        if self.texts.several_trials:
            question = t(_("Delete all your answers, for every study you answered here? This cannot be undone."))
        else:
            question = t(_("Delete all your answers? This cannot be undone."))
        return Prompt(
            "confirm_delete",
            question,
            options=[Button(t(_("Yes")), Command("delete_confirm")), Button(t(_("No")), Command("delete_cancel"))],
        )
