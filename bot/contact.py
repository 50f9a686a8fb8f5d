"""Contact capture after "likely candidate" and "needs review", the same for every channel.

A person who may be at risk (a risk answer, or a typed message that may mean a risk of
suicide: `Screener.urgent_reason`) is offered contact after any outcome, with a consent
text of its own, and their lead is marked urgent so the study team reaches them first.

Sub-steps, kept in `Conversation.contact_step` (the outcome state itself does not change):

    ask       a separate, explicit consent to be contacted (text version + time recorded)
    phone     typed (or Command("contact", phone) from a channel's share-contact button),
              parsed with `phonenumbers`: default region CN, international numbers with +
    name      optional (Skip)
    time      preferred time to call
    language  the language for the call
    done      told what happens next and how long it usually takes
    declined  shown the site's contact details; no contact details are kept

"No, thank you" means it, whenever it is said: after going back from a later step,
after starting again, after changing answers, in any channel. The conversation's lead,
if it has one (a phone number given earlier), is deleted with everything in it
(LeadStore.withdraw), the record of the earlier contact consent is cleared, and the
staff messages about it are blanked (the `withdrawn` event). A lead exists only with
contact consent.

A mobile number is required: the study team calls and sends text messages, and a
landline reaches a patient only at home. Landlines get a clear re-ask.

The lead is written when a valid phone number arrives, so a person who stops after
that step can still be called. Channels learn of leads through `on_lead(lead_id,
event)` callbacks (events: created, repeat, updated, completed, erased, withdrawn).

Typed names (and phone numbers) with hidden characters (controls, bidi overrides,
zero-width characters ...) get a kind re-ask and are never stored (bot/safe_text.py).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import phonenumbers

from .dialog import rules
from .dialog.engine import Conversation
from .dialog.model import LIKELY_CANDIDATE, NEEDS_REVIEW, NOT_SURE
from .dialog.rules import N_, Invalid
from .i18n import Translator, _
from .logs import log_event
from .replies import Action, Button, Choose, Command, Prompt, Reply, Text
from .safe_text import TOO_LONG, is_hidden, typed_text
from .store import audit
from .store.leads import LeadStore, Screening

if TYPE_CHECKING:
    from .screening import Screener

log = logging.getLogger(__name__)

#: Bump when the wording of CONTACT_CONSENT_TEXT changes: each lead records the version it agreed to.
#: contact-2: no longer says "only the study team can see them" (the server's staff can; on
#: Telegram, Telegram can): it says what the details are used for instead.
CONTACT_CONSENT_VERSION = "contact-2"
CONTACT_CONSENT_TEXT = _(
    "Would you like the study team to contact you about this study?\n"
    "If yes, we will ask for your phone number. You can also give your name.\n"
    "We keep these details locked (encrypted). The study team uses them only to contact you.\n"
    "If no, we keep no contact details. You can still contact the study team yourself."
)
#: After a risk answer, whatever the outcome: the offer of a person to talk to, and its own version.
URGENT_CONTACT_CONSENT_VERSION = "contact-urgent-1"
URGENT_CONTACT_CONSENT_TEXT = _(
    "You told us something that matters for your safety. "
    "Would you like a person from the study team to contact you?\n"
    "They can talk with you about your answers and about the study.\n"
    "If yes, we will ask for your phone number. You can also give your name.\n"
    "We keep these details locked (encrypted). The study team uses them only to contact you.\n"
    "The study team is not an emergency service. If you are in danger now, call {emergency}.\n"
    "If no, we keep no contact details. The numbers above are there for you at any time."
)
PHONE_QUESTION = _(
    "Please type your mobile phone number.\nFor a number outside mainland China, start with + and the country code."
)
PHONE_QUESTION = _(
    "Please type your mobile phone number.\nFor a number outside mainland China, start with + and the country code."
)
ASK, PHONE, NAME, TIME, LANGUAGE, DONE, DECLINED = "ask", "phone", "name", "time", "language", "done", "declined"
ACTIVE_STEPS = (ASK, PHONE, NAME, TIME, LANGUAGE)
CONSENT_QUESTION, TIME_QUESTION, LANGUAGE_QUESTION = "contact_consent", "contact_time", "contact_language"
CONSENT_OPTIONS = (("yes", _("Yes, please contact me")), ("no", _("No, thank you")))
CALL_TIMES = (("morning", _("Morning")), ("afternoon", _("Afternoon")), ("any", _("Any time")))
CALL_LANGUAGES = (("zh", _("Chinese (Mandarin)")), ("en", _("English")))
SKIP_WORDS = {"skip", "跳过", "-"}
MAX_NAME = 60
PHONE_REGION = "CN"
MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}

OnLead = Callable[[str, str], None]


def parse_phone(text: str, region: str = PHONE_REGION) -> str | Invalid:
    """A typed phone number as E.164 ('+8613912345678'), or why it is not a mobile number we can call."""
    if len(text) > 40:
        return Invalid(N_("That is too long for a phone number. Please type only the number."), {})
    if any(is_hidden(ch) for ch in text):
        return Invalid(
            N_("That has a hidden or special sign in it. Please type only the digits, like 139 1234 5678."), {}
        )
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if not cleaned:
        return Invalid(N_("Please type your mobile phone number, like 139 1234 5678."), {})
    if any(unicodedata.category(ch).startswith("L") for ch in cleaned):
        return Invalid(N_("Please type only the digits of your phone number, like 139 1234 5678."), {})
    if sum(ch.isdigit() for ch in cleaned) < 7:
        return Invalid(
            N_("That number is too short. A mobile number in mainland China has 11 digits, like 139 1234 5678."), {}
        )
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return Invalid(N_("That does not look like a phone number. Please type it again, like 139 1234 5678."), {})
    if not phonenumbers.is_valid_number(number):
        return Invalid(
            N_(
                "That number does not look right. Please check it. For a number outside mainland China, "
                "start with + and the country code, like +852 ..."
            ),
            {},
        )
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        return Invalid(
            N_(
                "This looks like a landline number. Please give a mobile number, so the study team can reach you. "
                "For a number outside mainland China, start with + and the country code."
            ),
            {},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _now() -> str:
    """Microseconds: the consent time also tells one contact capture from the next (see LeadStore)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class ContactCapture:
    """The contact sub-steps, driven by the Screener; it owns no I/O beyond the LeadStore it is given."""

    def __init__(self, screener: Screener, leads: LeadStore) -> None:
        self.screener = screener
        self.leads = leads

    # ------------------------------------------------------------------ entry points for the Screener

    def active(self, conv: Conversation) -> bool:
        """Contact capture was offered at this outcome (see `offered`) and is not finished."""
        return bool(conv.outcome) and conv.contact_step in ACTIVE_STEPS

    def offered(self, conv: Conversation) -> bool:
        """Contact is offered to possible candidates, to people whose answers need a check, and to
        anyone who may be at risk, whatever the outcome."""
        return conv.outcome in (LIKELY_CANDIDATE, NEEDS_REVIEW) or bool(self.screener.urgent_reason(conv))

    def outcome_reached(self, conv: Conversation, findings: list[rules.Finding]) -> None:
        """Called before the new outcome is saved: start contact capture, or keep an existing lead current."""
        if self.offered(conv):
            conv.contact_step = ASK
            return
        conv.contact_step = ""
        lead_id = self.leads.rescreened(conv.id, self.screening(conv, findings))
        if lead_id:
            self.notify(lead_id, "repeat")

    def command(self, conv: Conversation, command: Command, t: Translator) -> Reply | None:
        """The commands that mean something inside contact capture; None lets the Screener handle it."""
        if not self.active(conv):
            return None
        if command.name == "contact" and conv.contact_step == PHONE:
            raw = command.arg.strip()
            return self._phone(conv, "+" + raw if raw.isdigit() else raw, t)
        if command.name == "skip" and conv.contact_step == NAME:
            return self._name(conv, "", t)
        if command.name == "back" and conv.contact_step != ASK:
            steps = list(ACTIVE_STEPS)
            conv.contact_step = steps[steps.index(conv.contact_step) - 1]
            self.screener.store.save(conv)
            return Reply([], self.prompt(conv, t))
        return None

    def handle(self, conv: Conversation, action: Action, t: Translator) -> Reply:
        step = conv.contact_step
        if step == ASK:
            choice = self._pick(action, CONSENT_QUESTION, CONSENT_OPTIONS, t)
            if choice == "yes":
                conv.contact_step = PHONE
                urgent = bool(self.screener.urgent_reason(conv))
                version = URGENT_CONTACT_CONSENT_VERSION if urgent else CONTACT_CONSENT_VERSION
                conv.contact_consent_version, conv.contact_consented_at = version, _now()
                self.screener.store.save(conv)
                audit.count(self.screener.store.db, "contact_agreed")
                return Reply([], self.prompt(conv, t))
            if choice == "no":
                return self._declined(conv, t)
        elif step == PHONE and isinstance(action, Text):
            return self._phone(conv, action.text, t)
        elif step == NAME and isinstance(action, Text):
            typed = rules.normalise(action.text)
            skip = typed in SKIP_WORDS or typed == rules.normalise(t(_("Skip")))
            return self._name(conv, "" if skip else action.text, t)
        elif step == TIME:
            choice = self._pick(action, TIME_QUESTION, CALL_TIMES, t)
            if choice:
                self._save_details(conv, call_time=choice)
                conv.contact_step = LANGUAGE
                self.screener.store.save(conv)
                return Reply([], self.prompt(conv, t))
        elif step == LANGUAGE:
            choice = self._pick(action, LANGUAGE_QUESTION, self._languages(conv), t)
            if choice:
                lead_id = self._save_details(conv, call_language=choice)
                conv.contact_step = DONE
                self.screener.store.save(conv)
                if lead_id:
                    self.notify(lead_id, "completed")
                return Reply(self._next_steps(conv, t), self.screener.prompt(conv))
        if step in (PHONE, NAME) and not isinstance(action, Text):
            return Reply([t(_("Please type your answer."))], self.prompt(conv, t))
        return Reply([t(_("Please choose one answer from the list, or type its number."))], self.prompt(conv, t))

    def prompt(self, conv: Conversation, t: Translator) -> Prompt:
        back = Button(t(_("Back")), Command("back"))
        step = conv.contact_step
        if step == ASK:
            if self.screener.urgent_reason(conv):
                text = self.screener.fill_safety_numbers(t(URGENT_CONTACT_CONSENT_TEXT), t)
            else:
                text = t(CONTACT_CONSENT_TEXT)
            return self._choice(CONSENT_QUESTION, text, CONSENT_OPTIONS, t, back)
        if step == PHONE:
            return Prompt(
                "phone",
                t(PHONE_QUESTION),
                question="contact_phone",
                navigation=[back],
            )
        if step == NAME:
            return Prompt(
                "text",
                t(_("What name should the study team use when they call? You can skip this.")),
                question="contact_name",
                navigation=[Button(t(_("Skip")), Command("skip")), back],
            )
        if step == TIME:
            return self._choice(TIME_QUESTION, t(_("When is the best time to call you?")), CALL_TIMES, t, back)
        return self._choice(
            LANGUAGE_QUESTION,
            t(_("Which language should the study team use when they call?")),
            self._languages(conv),
            t,
            back,
        )

    # ------------------------------------------------------------------ steps

    def _phone(self, conv: Conversation, typed: str, t: Translator) -> Reply:
        phone = parse_phone(typed)
        if isinstance(phone, Invalid):
            return Reply([t(phone.message)], self.prompt(conv, t))
        findings = self.screener.engine.findings(conv)
        lead_id, event = self.leads.record_contact(
            conv.id,
            conv.channel,
            conv.source,
            self.screening(conv, findings),
            phone,
            conv.contact_consent_version,
            conv.contact_consented_at,
        )
        conv.contact_step = NAME
        self.screener.store.save(conv)
        if event in ("created", "repeat"):
            audit.count(self.screener.store.db, "lead_created" if event == "created" else "lead_repeat")
        log_event(log, "lead_" + event, conv=conv.id, lead=lead_id)
        self.notify(lead_id, event)
        return Reply([], self.prompt(conv, t))

    def _name(self, conv: Conversation, typed: str, t: Translator) -> Reply:
        name = typed_text(typed, MAX_NAME)
        if isinstance(name, Invalid):
            if name.message == TOO_LONG:
                message = t(_("Please type a shorter name (at most {count} letters)."), count=MAX_NAME)
            else:
                message = t(name.message, **name.params)
            return Reply([message], self.prompt(conv, t))
        if typed and not any(unicodedata.category(ch).startswith("L") for ch in name):
            return Reply([t(_("Please type a name, or choose Skip."))], self.prompt(conv, t))
        if name:
            self._save_details(conv, name=name)
        conv.contact_step = TIME
        self.screener.store.save(conv)
        return Reply([], self.prompt(conv, t))

    def _declined(self, conv: Conversation, t: Translator) -> Reply:
        """No contact: and so no lead, even one made from a phone number given before (see module doc)."""
        conv.contact_step = DECLINED
        conv.contact_consent_version, conv.contact_consented_at = "", ""
        self.screener.store.save(conv)
        withdrawn = self.leads.withdraw(conv.id)
        audit.count(self.screener.store.db, "contact_declined")
        for lead_id in withdrawn:
            log_event(log, "lead_withdrawn", conv=conv.id, lead=lead_id)
            self.notify(lead_id, "withdrawn")
        site = self.screener.site
        lines = [t(_("That is fine. We keep no contact details.")), self.screener.site_text(t, closing=False)]
        if site.phone or site.email:
            lines.append(t(_("You can contact them to talk about the next step.")))
        lines.append(t(_("If you change your mind, choose Back and then show the result again.")))
        if self.screener.urgent_reason(conv):
            audit.count(self.screener.store.db, "contact_declined_urgent")
            lines.append(self.screener.crisis_text(conv, t))
        return Reply(lines, self.screener.prompt(conv))

    def _next_steps(self, conv: Conversation, t: Translator) -> list[str]:
        days = self.screener.site.response_days.strip()
        when = (
            t(_("A member of the study team will usually call you within {days} working days."), days=days)
            if days
            else t(_("A member of the study team will call you soon."))
        )
        if conv.respondent == "caregiver":
            about = [
                t(_("They will ask you some more questions about the patient's health.")),
                t(_("If the study may fit the patient, they will invite them to a visit at the hospital in Wuhan.")),
                t(_("Only the study team can decide if the patient can join.")),
            ]
        else:
            about = [
                t(_("They will ask you some more questions about your health.")),
                t(_("If the study may fit you, they will invite you to a visit at the hospital in Wuhan.")),
                t(_("Only the study team can decide if you can join.")),
            ]
        texts = [
            t(_("Thank you. We have saved your contact details, locked (encrypted).")),
            "\n".join([t(_("What happens next:")), when, *about]),
        ]
        if self.screener.urgent_reason(conv):
            texts.append(self.screener.crisis_text(conv, t))
        return texts

    # ------------------------------------------------------------------ helpers

    def screening(self, conv: Conversation, findings: list[rules.Finding]) -> Screening:
        """The plain-data summary a lead keeps: reasons, answers to check, each criterion's result."""
        dialog = self.screener.dialog
        today = self.screener.today()
        review = [
            {"question": f.question, "answer": conv.answers.get(f.question, {}).get("value", NOT_SURE)}
            for f in findings
            if f.status == "unclear"
        ]
        return Screening(
            outcome=conv.outcome,
            respondent=conv.respondent,
            language=conv.language,
            dialog_version=dialog.version,
            reasons=[
                {"criterion": f.criterion, "question": f.question, "status": f.status, "until": str(f.until or "")}
                for f in findings
            ],
            review_answers=list({r["question"]: r for r in review}.values()),
            criteria=dict(rules.criterion_results(dialog, conv.answers, today)),
            urgent=self.screener.urgent_reason(conv),
        )

    def notify(self, lead_id: str, event: str) -> None:
        """Tell every channel's callback; a failing callback never breaks the screening."""
        for callback in self.screener.on_lead:
            try:
                callback(lead_id, event)
            except Exception:
                log.exception("on_lead callback failed for event=%s lead=%s", event, lead_id)

    def _save_details(self, conv: Conversation, **details: str) -> str | None:
        lead_id = self.leads.lead_of(conv.id)
        if lead_id:
            self.leads.add_details(lead_id, **details)
        return lead_id

    def _languages(self, conv: Conversation) -> tuple[tuple[str, str], ...]:
        """Both call languages, the person's chat language first."""
        first = "zh" if conv.language.startswith("zh") else "en"
        return tuple(sorted(CALL_LANGUAGES, key=lambda o: o[0] != first))

    def _choice(
        self, question: str, text: str, options: tuple[tuple[str, str], ...], t: Translator, back: Button
    ) -> Prompt:
        return Prompt(
            "choice",
            text,
            question=question,
            options=[Button(t(label), Choose(question, oid)) for oid, label in options],
            navigation=[back],
        )

    def _pick(self, action: Action, question: str, options: tuple[tuple[str, str], ...], t: Translator) -> str:
        """The option chosen by a button, its number, or its words; "" when none."""
        if isinstance(action, Choose):
            return action.option if action.question == question and action.option in dict(options) else ""
        if not isinstance(action, Text):
            return ""
        typed = rules.normalise(action.text)
        for number, (oid, label) in enumerate(options, start=1):
            if typed in {str(number), rules.normalise(label), rules.normalise(t(label)), oid}:
                return oid
        return ""
