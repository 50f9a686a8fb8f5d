"""The screening's messages in the person's language: outcomes, the site, crisis help, welcome, help, privacy.

Every text a trial owns comes from its dialog file (the greeting, what the chat is for,
the site, the crisis lines); this module only puts them together. Dialog texts are
translated with the trial's own catalog domain (`Translator.dialog`), the code's
messages with the shared one, so two trials never share a translation by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from .. import howto
from ..dialog import rules
from ..dialog.engine import Conversation
from ..dialog.model import CONSENT, LIKELY_CANDIDATE, NEEDS_REVIEW, NOT_ELIGIBLE, NOT_YET, Dialog, Question, Site
from ..i18n import Translator, _, available_languages


class Texts:
    """What the chat says, for one dialog and one site; translators are kept, one per language.

    `trials` are every dialog the deployment runs (this one among them): a person's /delete names
    the trials it erased, and a welcome names the trial when there are several."""

    def __init__(
        self,
        dialog: Dialog,
        site: Site,
        locales_dir: Path,
        today: Callable[[], date],
        trials: Sequence[Dialog] = (),
    ) -> None:
        self.dialog = dialog
        self.site = site
        self.locales_dir = locales_dir
        self.today = today
        self.languages = available_languages(locales_dir)
        self.trials = {d.id: d for d in trials} or {dialog.id: dialog}
        self._translators: dict[str, Translator] = {}

    @property
    def several_trials(self) -> bool:
        return len(self.trials) > 1

    def trial_title(self, dialog_id: str, language: str) -> str:
        """A trial's title in a language, from that trial's own catalog (its id when it is not run here)."""
        dialog = self.trials.get(dialog_id)
        if dialog is None:
            return dialog_id
        if dialog is self.dialog:
            return self.translator(language).dialog(dialog.title)
        return Translator.for_dialog(language, self.locales_dir, dialog.id, dialog.source_path).dialog(dialog.title)

    def translator(self, language: str) -> Translator:
        """One Translator per language, kept: every update and every prompt asks for one."""
        t = self._translators.get(language)
        if t is None:
            t = self._translators[language] = Translator.for_dialog(
                language, self.locales_dir, self.dialog.id, self.dialog.source_path
            )
        return t

    def respondent(self, conv: Conversation) -> str | None:
        return self.dialog.respondent_of(conv.answers)

    # ------------------------------------------------------------------ answers and outcomes

    def answer_text(self, question: Question, value: Any, conv: Conversation, t: Translator) -> str:
        """An answer as the person would say it, in their language."""
        if value == rules.NOT_SURE and question.kind in ("number", "year"):
            return t(_("Not sure"))
        if question.kind in ("choice", "multi"):
            caregiver = self.respondent(conv) == "caregiver"
            labels = []
            for option_id in value if isinstance(value, list) else [value]:
                option = question.option(option_id)
                if option:
                    label = option.label_caregiver if caregiver and option.label_caregiver else option.label
                    labels.append(t.dialog(label))
            return t(_(", ")).join(labels) if labels else str(value)
        return str(value)

    def outcome_texts(
        self,
        conv: Conversation,
        findings: list[rules.Finding],
        t: Translator,
        urgent: bool,
        contact_offered: bool,
        before_crisis: Iterable[str] = (),
    ) -> list[str]:
        """The outcome, its reasons and the site; `before_crisis` (the reminder notes) come before the
        crisis text, which is always the last thing a person who may be at risk reads."""
        respondent = self.respondent(conv)
        outcome = self.dialog.outcomes[conv.outcome]
        ready = rules.ready_from(findings)
        body = t.dialog(outcome.body(respondent))
        if ready:
            body = body.replace("{date}", t.date(ready))
        texts = [f"{t.dialog(outcome.heading(respondent))}\n{body}"]
        if conv.outcome == NOT_ELIGIBLE:
            reasons = _unique(self.dialog.criteria[f.criterion].reason for f in findings if f.status == "not_met")
            texts.append(t(_("The reason:")) + "\n" + "\n".join(f"• {t.dialog(r)}" for r in reasons))
        elif conv.outcome == NOT_YET:
            waits = [
                "• "
                + t(
                    _("{label}: {answer}"),
                    label=t.dialog(self.dialog.criteria[f.criterion].label),
                    answer=t(_("from about {date}"), date=t.date(f.until)),
                )
                for f in findings
                if f.status == "wait" and f.until
            ]
            texts.append(t(_("The time rules:")) + "\n" + "\n".join(_unique(waits)))
        if conv.outcome in (NEEDS_REVIEW, NOT_YET):
            unclear = _unique(self.dialog.question(f.question).label for f in findings if f.status == "unclear")
            if unclear:
                lines = "\n".join(f"• {t.dialog(label)}" for label in unclear)
                texts.append(t(_("The study team will check these answers:")) + "\n" + lines)
        if conv.outcome in (LIKELY_CANDIDATE, NEEDS_REVIEW) or urgent:
            texts.append(self.site_text(t, closing=not contact_offered))
        texts.extend(before_crisis)
        if urgent:
            texts.append(self.crisis_text(conv, t))
        return texts

    # ------------------------------------------------------------------ safety

    def fill_safety_numbers(self, text: str, t: Translator) -> str:
        """Fill {lines} (every crisis line, one per row) and {<line id>} (one number) in a safety text."""
        for line in self.dialog.safety.lines:
            text = text.replace("{" + line.id + "}", line.number)
        if "{lines}" in text:
            rows = [
                "• "
                + t(_("{label}: {number}"), label=t.dialog(line.label), number=line.number)
                + (f" ({t.dialog(line.hours)})" if line.hours else "")
                for line in self.dialog.safety.lines
                if line.crisis
            ]
            text = text.replace("{lines}", "\n".join(rows))
        return text

    def crisis_text(self, conv: Conversation, t: Translator) -> str:
        """The crisis-help text, in the carer's words when a carer answers, with the numbers filled in."""
        return self.fill_safety_numbers(t.dialog(self.dialog.safety.crisis(self.respondent(conv))), t)

    def emergency_text(self, conv: Conversation, t: Translator) -> str:
        return self.fill_safety_numbers(t.dialog(self.dialog.safety.emergency(self.respondent(conv))), t)

    def unwell_now_text(self, t: Translator) -> str:
        """One line for the welcome and the help: what to do if very unwell now ("" when not set)."""
        text = self.dialog.safety.unwell_now
        return self.fill_safety_numbers(t.dialog(text), t) if text else ""

    # ------------------------------------------------------------------ the chat itself

    def welcome(self, conv: Conversation, t: Translator) -> list[str]:
        """The greeting at /start (or a new web page), with what to do if very unwell now."""
        if conv.state == CONSENT:
            texts = [t.dialog(self.dialog.texts.greeting)]
        elif self.several_trials:
            texts = [
                t(
                    _("Welcome back to the questions for this study: {study}. Let's continue where you left off."),
                    study=t.dialog(self.dialog.title),
                )
            ]
        else:
            texts = [t(_("Welcome back. Let's continue where you left off."))]
        return [*texts, *filter(None, [self.unwell_now_text(t)])]

    def consent_text(self, t: Translator, channel: str) -> str:
        """The consent notice, with where the server is (SITE_SERVER_LOCATION) filled in, and each
        action ({delete} ...) named the way the person's channel does it (bot/howto.py)."""
        place = self.site.server_location
        shown = t.dialog(place) if place else t(_("not yet set by the hospital"))
        return t.dialog(self.dialog.consent.text, server_location=shown, **howto.how_to(channel, t))

    def separate_consent_text(self, conv: Conversation, consent_id: str, t: Translator) -> str:
        consent = self.dialog.separate_consent(consent_id)
        assert consent is not None
        return t.dialog(consent.prompt(self.respondent(conv))).replace("{recipient}", consent.recipient)

    def privacy_text(self, conv: Conversation, t: Translator) -> str:
        """/privacy: the consent notice, and the separate notices that apply to this channel."""
        texts = [self.consent_text(t, conv.channel)]
        for consent in self.dialog.consents:
            if consent.applies_to(conv.channel):
                texts.append(self.separate_consent_text(conv, consent.id, t))
        return "\n\n".join(texts)

    def site_text(self, t: Translator, closing: bool = True) -> str:
        """Who runs the study and how to reach them; unset details are simply left out.

        `closing=False` leaves out the last line (what to do next), for when contact capture says it."""
        s = self.site
        lines = [
            t(
                _("This study is run by the study team at {hospital}, {city}."),
                hospital=t.dialog(s.hospital),
                city=t.dialog(s.city),
            )
        ]
        if s.investigator:
            lines.append(t(_("Lead doctor: {name}"), name=t.dialog(s.investigator)))
        if s.department:
            lines.append(t(_("Department: {department}"), department=t.dialog(s.department)))
        if s.address:
            lines.append(t(_("Address: {address}"), address=t.dialog(s.address)))
        if s.phone:
            lines.append(t(_("Phone: {phone}"), phone=s.phone))
        if s.email:
            lines.append(t(_("E-mail: {email}"), email=s.email))
        if s.hours:
            lines.append(t(_("Hours: {hours}"), hours=t.dialog(s.hours)))
        if closing and (s.phone or s.email):
            lines.append(t(_("You can contact them to talk about the next step.")))
        elif closing:
            lines.append(t(_("The study team will get in touch with you about the next step.")))
        return "\n".join(lines)

    def help_text(self, t: Translator, conv: Conversation | None, can_remind: bool) -> str:
        """What the chat is (in a carer's words when a carer answers), what to do if very unwell now, and
        each thing a person can do, named as their channel does (bot/howto.py)."""
        channel = conv.channel if conv is not None else ""
        caregiver = conv is not None and self.respondent(conv) == "caregiver"
        about = self.dialog.texts.about_caregiver if caregiver else self.dialog.texts.about
        names = howto.commands(channel, t, self.languages)
        lines = [t.dialog(about), *filter(None, [self.unwell_now_text(t)]), howto.help_intro(channel, t)]
        for action, does in howto.HELP:
            if names[action] and (action != "stop" or can_remind):
                lines.append(t(_("{label}: {answer}"), label=names[action], answer=t(does)))
        return "\n".join(lines)


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))
