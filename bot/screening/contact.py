"""Contact capture after an outcome that offers it: steps of the one flow, the same for every channel.

A person who may be a candidate, or whose answers need a check, is asked (a consent of its
own, with a version) whether the study team may contact them; so is anyone who may be at
risk, whatever the outcome, with a consent text of its own, and their lead is urgent. The
steps are states of the flow (bot/dialog/flow.py): contact_consent, contact_phone
(typed, or a channel's share-contact button; read with `phonenumbers` in the dialog file's
`[region]`), contact_name (optional), contact_time, contact_language (the languages the
dialog file lists), then contact_done; "no" leads to contact_declined.

"No, thank you" means it, whenever it is said: after going back from a later step,
after starting again, after changing answers, in any channel. The conversation's lead,
if it has one (a phone number given earlier), is deleted with everything in it, the
record of the earlier contact consent is cleared, and the staff messages about it are
blanked (the `withdrawn` event). A lead exists only with contact consent; it is written
when a valid mobile number arrives, so a person who stops after that can still be called.
Typed names and numbers with hidden characters get a kind re-ask and are never stored.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime

import phonenumbers

from ..dialog import flow, rules
from ..dialog.engine import Conversation, Engine
from ..dialog.model import NOT_SURE, Region
from ..dialog.rules import N_, Invalid
from ..i18n import Translator, _
from ..replies import Action, Choose, Command, Text
from ..safe_text import TOO_LONG, is_hidden, typed_text
from .effects import Step
from .lead_facts import screening_of
from .presenter import CALL_TIMES, CONTACT_CONSENT_OPTIONS, Presenter

#: Bump when the wording of CONTACT_CONSENT_TEXT changes: each lead records the version it agreed to.
#: contact-2: no longer says "only the study team can see them" (the server's staff can; on
#: Telegram, Telegram can): it says what the details are used for instead.
CONTACT_CONSENT_VERSION = "contact-2"
URGENT_CONTACT_CONSENT_VERSION = "contact-urgent-1"
SKIP_WORDS = {"skip", "跳过", "-"}
MAX_NAME = 60
MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def parse_phone(text: str, region: Region) -> str | Invalid:
    """A typed phone number as E.164 ('+8613912345678'), or why it is not a mobile number we can call.

    A number without + and a country code is read as one of the dialog file's `[region]`."""
    example = {"example": region.phone_example}
    if len(text) > 40:
        return Invalid(N_("That is too long for a phone number. Please type only the number."), {})
    if any(is_hidden(ch) for ch in text):
        return Invalid(
            N_("That has a hidden or special sign in it. Please type only the digits, like {example}."), example
        )
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if not cleaned:
        return Invalid(N_("Please type your mobile phone number, like {example}."), example)
    if any(unicodedata.category(ch).startswith("L") for ch in cleaned):
        return Invalid(N_("Please type only the digits of your phone number, like {example}."), example)
    if sum(ch.isdigit() for ch in cleaned) < 7:
        return Invalid(N_("That number is too short. Please type the whole mobile number, like {example}."), example)
    try:
        number = phonenumbers.parse(cleaned, region.phone_region or None)
    except phonenumbers.NumberParseException:
        return Invalid(N_("That does not look like a phone number. Please type it again, like {example}."), example)
    if not phonenumbers.is_valid_number(number):
        return Invalid(
            N_(
                "That number does not look right. Please check it. For a number from another country, "
                "start with + and the country code."
            ),
            {},
        )
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        return Invalid(
            N_(
                "This looks like a landline number. Please give a mobile number, so the study team can reach you. "
                "For a number from another country, start with + and the country code."
            ),
            {},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _now() -> str:
    """Microseconds: the consent time also tells one contact capture from the next (see LeadStore)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class ContactCapture:
    """Reads each input at a contact step and says what changes; the service applies it in its unit of work."""

    def __init__(self, engine: Engine, presenter: Presenter, today: Callable[[], object]) -> None:
        self.engine = engine
        self.presenter = presenter
        self.dialog = engine.dialog
        self.today = today

    def command(self, conv: Conversation, command: Command, t: Translator, step: Step) -> bool:
        """The commands that mean something inside contact capture; False lets the service handle it."""
        if command.name == "contact" and conv.state == flow.CONTACT_PHONE:
            raw = command.arg.strip()
            self._phone(conv, "+" + raw if raw.isdigit() else raw, t, step)
            return True
        if command.name == "skip" and conv.state == flow.CONTACT_NAME:
            self._name(conv, "", t, step)
            return True
        if command.name == "back" and conv.state in flow.CONTACT_STEPS[1:]:
            self.engine.back(conv)
            step.save(conv)
            return True
        return False

    def handle(self, conv: Conversation, action: Action, t: Translator, step: Step) -> None:
        state = conv.state
        if state == flow.CONTACT_CONSENT:
            choice = _pick(action, flow.CONTACT_CONSENT, CONTACT_CONSENT_OPTIONS, t)
            if choice == "yes":
                urgent = bool(self.engine.urgent_reason(conv))
                version = URGENT_CONTACT_CONSENT_VERSION if urgent else CONTACT_CONSENT_VERSION
                conv.contact_consent_version, conv.contact_consented_at = version, _now()
                self.engine.fire(conv, "agree")
                step.save(conv)
                step.count("contact_agreed")
                return
            if choice == "no":
                self._declined(conv, t, step)
                return
        elif state == flow.CONTACT_PHONE and isinstance(action, Text):
            self._phone(conv, action.text, t, step)
            return
        elif state == flow.CONTACT_NAME and isinstance(action, Text):
            typed = rules.normalise(action.text)
            skip = typed in SKIP_WORDS or typed == rules.normalise(t(_("Skip")))
            self._name(conv, "" if skip else action.text, t, step)
            return
        elif state == flow.CONTACT_TIME:
            choice = _pick(action, flow.CONTACT_TIME, CALL_TIMES, t)
            if choice:
                step.lead_details(conv, call_time=choice)
                self.engine.fire(conv, "next")
                step.save(conv)
                return
        elif state == flow.CONTACT_LANGUAGE:
            choice = _pick(action, flow.CONTACT_LANGUAGE, self.presenter.call_languages(conv, t), t, translate=False)
            if choice:
                step.lead_details(conv, call_language=choice)
                self.engine.fire(conv, "next")
                step.save(conv)
                step.lead_event(conv, "completed")
                step.say(*self._next_steps(conv, t))
                step.after_outcome = True
                return
        if state in (flow.CONTACT_PHONE, flow.CONTACT_NAME) and not isinstance(action, Text):
            step.say(t(_("Please type your answer.")))
            return
        step.say(t(_("Please choose one answer from the list, or type its number.")))

    # ------------------------------------------------------------------ steps

    def _phone(self, conv: Conversation, typed: str, t: Translator, step: Step) -> None:
        phone = parse_phone(typed, self.dialog.region)
        if isinstance(phone, Invalid):
            step.say(t(phone.message, **phone.params))
            return
        self.engine.fire(conv, "next")
        step.save(conv)
        step.record_contact(conv, phone, screening_of(self.engine, conv, self.engine.findings(conv)))

    def _name(self, conv: Conversation, typed: str, t: Translator, step: Step) -> None:
        name = typed_text(typed, MAX_NAME)
        if isinstance(name, Invalid):
            if name.message == TOO_LONG:
                step.say(t(_("Please type a shorter name (at most {count} letters)."), count=MAX_NAME))
            else:
                step.say(t(name.message, **name.params))
            return
        if typed and not any(unicodedata.category(ch).startswith("L") for ch in name):
            step.say(t(_("Please type a name, or choose Skip.")))
            return
        if name:
            step.lead_details(conv, name=name)
        self.engine.fire(conv, "next")
        step.save(conv)

    def _declined(self, conv: Conversation, t: Translator, step: Step) -> None:
        """No contact: and so no lead, even one made from a phone number given before (see module doc)."""
        self.engine.fire(conv, "decline")
        conv.contact_consent_version, conv.contact_consented_at = "", ""
        step.save(conv)
        step.withdraw_lead(conv)
        step.count("contact_declined")
        texts = self.presenter.texts
        site = texts.site
        lines = [t(_("That is fine. We keep no contact details.")), texts.site_text(t, closing=False)]
        if site.phone or site.email:
            lines.append(t(_("You can contact them to talk about the next step.")))
        lines.append(t(_("If you change your mind, choose Back and then show the result again.")))
        if self.engine.urgent_reason(conv):
            step.count("contact_declined_urgent")
            lines.append(texts.crisis_text(conv, t))
        step.say(*lines)
        step.after_outcome = True

    def _next_steps(self, conv: Conversation, t: Translator) -> list[str]:
        texts = self.presenter.texts
        days = texts.site.response_days.strip()
        when = (
            t(_("A member of the study team will usually call you within {days} working days."), days=days)
            if days
            else t(_("A member of the study team will call you soon."))
        )
        chat = self.dialog.texts
        if texts.respondent(conv) == "caregiver":
            about = [
                t(_("They will ask you some more questions about the patient's health.")),
                t.dialog(chat.visit_caregiver or chat.visit),
                t(_("Only the study team can decide if the patient can join.")),
            ]
        else:
            about = [
                t(_("They will ask you some more questions about your health.")),
                t.dialog(chat.visit),
                t(_("Only the study team can decide if you can join.")),
            ]
        result = [
            t(_("Thank you. We have saved your contact details, locked (encrypted).")),
            "\n".join([t(_("What happens next:")), when, *filter(None, about)]),
        ]
        if self.engine.urgent_reason(conv):
            result.append(texts.crisis_text(conv, t))
        return result


def _pick(
    action: Action, question: str, options: tuple[tuple[str, str], ...], t: Translator, translate: bool = True
) -> str:
    """The option chosen by a button, its number, or its words; "" when none."""
    if isinstance(action, Choose):
        return action.option if action.question == question and action.option in dict(options) else ""
    if not isinstance(action, Text):
        return ""
    typed = rules.normalise(action.text)
    for number, (oid, label) in enumerate(options, start=1):
        shown = t(label) if translate else label
        if typed in {str(number), rules.normalise(label), rules.normalise(shown), oid}:
            return oid
    return ""


__all__ = ["CONTACT_CONSENT_VERSION", "NOT_SURE", "URGENT_CONTACT_CONSENT_VERSION", "ContactCapture", "parse_phone"]
