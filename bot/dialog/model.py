"""The screening script as plain, immutable Python objects.

These mirror `dialogs/*.toml` one to one, so that what a study coordinator reads in
the file is what the engine runs. Nothing here knows about channels or storage.

Long on purpose: the whole dialog file as typed objects, one dataclass per table of the
file, read together as one data dictionary.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from .flow import CONSENT, DECLINED, LIKELY_CANDIDATE, NEEDS_REVIEW, NOT_ELIGIBLE, NOT_YET, OUTCOMES, SUMMARY

Kind = Literal["choice", "multi", "number", "year"]
Lay = Literal["yes", "partly", "no"]
CriterionKind = Literal["inclusion", "exclusion"]
ConsentKind = Literal["sensitive_data", "cross_border"]

__all__ = ["CONSENT", "DECLINED", "LIKELY_CANDIDATE", "NEEDS_REVIEW", "NOT_ELIGIBLE", "NOT_YET", "OUTCOMES", "SUMMARY"]

#: The answer a person gives when a typed question (number, year) offers "not sure".
NOT_SURE = "not_sure"

#: Placeholders a shared text (the consent notice) may use for an action that each channel names
#: its own way: "tap Delete my answers" on the web, "send /delete" on Telegram (bot/howto.py fills them).
ACTION_PLACEHOLDERS = ("delete", "start", "restart")


Unit = Literal["days", "weeks", "months", "years"]
UNITS: tuple[Unit, ...] = ("days", "weeks", "months", "years")


@dataclass(frozen=True, slots=True)
class Duration:
    """A span of time as a person says it: "14 days", "12 weeks", "3 months", "1 year".

    Months and years are calendar months and years (a year after 2025-11-25 is 2026-11-25, not 52
    weeks later); a day that a shorter month lacks becomes its last day (31 January + 1 month is
    the 28th or 29th of February)."""

    amount: int
    unit: Unit

    def after(self, day: date) -> date:
        if self.unit == "days":
            return day + timedelta(days=self.amount)
        if self.unit == "weeks":
            return day + timedelta(weeks=self.amount)
        months = self.amount * (12 if self.unit == "years" else 1)
        year, month = divmod(day.month - 1 + months, 12)
        year += day.year
        return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))

    def __str__(self) -> str:
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {unit}"


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    lay: Lay
    label: str
    reason: str = ""
    #: Inclusion rules must hold, exclusion rules must not (ids starting with I or E, unless `kind` says).
    kind: CriterionKind = "exclusion"


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    label: str
    label_caregiver: str = ""
    rules_out: str = ""
    review: bool = False
    #: Time alone stands in the way: the rule is met this long after the answer ("not yet").
    wait: Duration | None = None
    criterion: str = ""
    exclusive: bool = False
    safety: bool = False


@dataclass(frozen=True, slots=True)
class Condition:
    """One `ask_if` test on an earlier answer; see `rules.condition_holds`."""

    question: str
    any_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()
    years_ago_at_most: int | None = None
    at_least: float | None = None
    at_most: float | None = None
    #: Holds when the date a year question gives (with its known month) may lie less than
    #: this long ago; the loader fills `month_question` from the year question's `since`.
    less_than_ago: Duration | None = None
    month_question: str = ""


@dataclass(frozen=True, slots=True)
class Accept:
    """Range a number must fall in to meet `criterion`; outside it rules out."""

    min: int
    max: int
    criterion: str


@dataclass(frozen=True, slots=True)
class Since:
    """A year (with an optional month and day) that must lie at least `at_least` before today.

    The day is asked only when the month leaves the date open, so the "not yet" date is exact."""

    at_least: Duration
    criterion: str
    month_question: str = ""
    day_question: str = ""


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    kind: Kind
    text: str
    label: str
    text_caregiver: str = ""
    criteria: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    ask_if: tuple[Condition, ...] = ()
    not_sure: bool = False
    min: int | None = None
    max: int | None = None
    birth_year: bool = False
    accept: Accept | None = None
    since: Since | None = None

    def option(self, option_id: str) -> Option | None:
        for option in self.options:
            if option.id == option_id:
                return option
        return None

    def prompt(self, respondent: str | None) -> str:
        if respondent == "caregiver" and self.text_caregiver:
            return self.text_caregiver
        return self.text


@dataclass(frozen=True, slots=True)
class OutcomeText:
    title: str
    text: str
    text_caregiver: str = ""
    title_caregiver: str = ""

    def heading(self, respondent: str | None) -> str:
        if respondent == "caregiver" and self.title_caregiver:
            return self.title_caregiver
        return self.title

    def body(self, respondent: str | None) -> str:
        if respondent == "caregiver" and self.text_caregiver:
            return self.text_caregiver
        return self.text


@dataclass(frozen=True, slots=True)
class Consent:
    """The first consent: the notice (who, why, where answers go, how long, deletion) and "I agree".

    `{server_location}` in the text is where the server is (SITE_SERVER_LOCATION). A child under
    `guardian_age` must not consent alone (PIPL art. 31): the `under_age` button, and a patient
    under that age at `age_question`, end the chat with `under_age_text` and nothing kept."""

    version: str
    text: str
    agree: str
    decline: str
    declined: str
    under_age: str = ""
    under_age_text: str = ""
    under_age_text_caregiver: str = ""
    guardian_age: int = 0
    age_question: str = ""


@dataclass(frozen=True, slots=True)
class SeparateConsent:
    """A consent of its own, asked once right before the question `before` (PIPL art. 29 and 39).

    `kind` says what it is for: "sensitive_data" (health answers) or "cross_border" (answers that
    pass through servers outside mainland China, named in `recipient`). `channels` limits it to
    some channels ("telegram"); empty means every channel. Declining ends the chat, nothing kept."""

    id: str
    kind: ConsentKind
    version: str
    before: str
    text: str
    agree: str
    decline: str
    declined: str
    text_caregiver: str = ""
    channels: tuple[str, ...] = ()
    recipient: str = ""

    def applies_to(self, channel: str) -> bool:
        return not self.channels or channel in self.channels

    def prompt(self, respondent: str | None) -> str:
        if respondent == "caregiver" and self.text_caregiver:
            return self.text_caregiver
        return self.text


@dataclass(frozen=True, slots=True)
class HelpLine:
    """A phone number a person at risk can call; `crisis` lines are listed in the crisis text."""

    id: str
    number: str
    label: str
    hours: str = ""
    crisis: bool = False


#: The kinds of typed message that are checked for signs of risk, and what each one shows.
SIGNAL_KINDS = ("suicide", "emergency")


@dataclass(frozen=True, slots=True)
class Safety:
    """What a person at risk is shown, and the phrases that tell a typed message may mean risk.

    Texts name numbers only through placeholders: `{lines}` (the crisis lines, one per row)
    and `{<line id>}` (one number), so every number is a HelpLine the site confirms."""

    text: str = ""
    text_caregiver: str = ""
    emergency_text: str = ""
    emergency_text_caregiver: str = ""
    unwell_now: str = ""
    lines: tuple[HelpLine, ...] = ()
    #: kind ("suicide", "emergency") -> phrases, as written in the dialog file.
    signals: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def crisis(self, respondent: str | None) -> str:
        return self.text_caregiver if respondent == "caregiver" and self.text_caregiver else self.text

    def emergency(self, respondent: str | None) -> str:
        if respondent == "caregiver" and self.emergency_text_caregiver:
            return self.emergency_text_caregiver
        return self.emergency_text


@dataclass(frozen=True, slots=True)
class Site:
    """Who runs the study and how to reach them; empty fields are left out."""

    hospital: str = ""
    department: str = ""
    city: str = ""
    address: str = ""
    investigator: str = ""
    phone: str = ""
    email: str = ""
    hours: str = ""
    #: How many working days the team usually needs to call back (SITE_RESPONSE_DAYS); "" promises nothing.
    response_days: str = ""
    #: Where the server that keeps the answers is (SITE_SERVER_LOCATION), named in the consent notice.
    server_location: str = ""


@dataclass(frozen=True, slots=True)
class CallLanguage:
    """A language the study team can call in: `id` is matched against the chat language ("zh" for zh_Hans)."""

    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Region:
    """Where the trial's people live (`[region]`): how phone numbers are read, when reminders go out,
    which languages the team calls in."""

    #: phonenumbers' region for a number typed without + and a country code ("CN").
    phone_region: str = ""
    #: A mobile number as people there write it, shown as an example.
    phone_example: str = ""
    #: IANA time zone of the site: reminders go out at `reminder_time` there.
    time_zone: str = "UTC"
    reminder_time: str = "09:00"
    call_languages: tuple[CallLanguage, ...] = ()


@dataclass(frozen=True, slots=True)
class ChatTexts:
    """The trial's own words around the questions (`[texts]`): nothing trial-specific is in the code."""

    #: The first line of a new chat ("Hello! This is the screening chat for a lupus study.").
    greeting: str = ""
    #: What the chat is, in the help (the patient's and the carer's wording).
    about: str = ""
    about_caregiver: str = ""
    #: What the study team does after a call, at the end of contact capture.
    visit: str = ""
    visit_caregiver: str = ""
    #: The title of the calendar entry for the "not yet" date.
    calendar_title: str = ""


@dataclass(frozen=True, slots=True)
class TwoLanguages:
    """A name as it is officially written in English and in Chinese: not a translation from the catalogs."""

    en: str = ""
    zh: str = ""


@dataclass(frozen=True, slots=True)
class Study:
    """What the ethics pack and the launch check state about the trial (`[study]`); patients do not see it.

    "" means not known yet: `screening-bot check-launch` lists it until it is filled in."""

    #: The date of this dialog version (版本日期), printed with the version on every page of the pack.
    version_date: str = ""
    official_title: TwoLanguages = field(default_factory=TwoLanguages)
    sponsor: TwoLanguages = field(default_factory=TwoLanguages)
    #: Who decides why and how the answers are used (PIPL: 个人信息处理者).
    data_controller: TwoLanguages = field(default_factory=TwoLanguages)
    ethics_committee: TwoLanguages = field(default_factory=TwoLanguages)
    ethics_committee_phone: str = ""
    ethics_committee_email: str = ""


@dataclass(frozen=True, slots=True)
class ToConfirm:
    """One thing in the dialog file the site must confirm before launch (`[[to_confirm]]`)."""

    #: Where in the file: a section and key ("safety.text"), a question ("questions.age"), an option
    #: ("questions.travel.options.no"); the loader refuses a part the file does not have.
    part: str
    #: What to confirm, in plain words, in English and Chinese.
    what: TwoLanguages


@dataclass(frozen=True, slots=True)
class Dialog:
    id: str
    version: str
    trial: str
    title: str
    recruiting: bool
    consent: Consent
    site: Site
    safety: Safety
    criteria: dict[str, Criterion]
    questions: tuple[Question, ...]
    outcomes: dict[str, OutcomeText]
    respondent_question: str = ""
    source_path: str = ""
    content_hash: str = ""
    study: Study = field(default_factory=Study)
    to_confirm: tuple[ToConfirm, ...] = ()
    consents: tuple[SeparateConsent, ...] = ()
    region: Region = field(default_factory=Region)
    texts: ChatTexts = field(default_factory=ChatTexts)
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def respondent_of(self, answers: dict[str, dict]) -> str | None:
        """Who answers ("self" or "caregiver"), from `respondent_question` (None before it, or without one)."""
        entry = answers.get(self.respondent_question) if self.respondent_question else None
        return entry["value"] if entry else None

    @property
    def safety_text(self) -> str:
        """The crisis-help text (patient's wording), as earlier versions named it."""
        return self.safety.text

    def waits_for_confirmation(self, part: str) -> bool:
        """True while a `[[to_confirm]]` item names this part of the file (e.g. "safety.lines.emergency")."""
        return any(item.part == part for item in self.to_confirm)

    def separate_consent(self, consent_id: str) -> SeparateConsent | None:
        return next((c for c in self.consents if c.id == consent_id), None)

    def question(self, question_id: str) -> Question:
        return self.questions[self._index[question_id]]

    def position(self, question_id: str) -> int:
        return self._index[question_id]

    def has_question(self, question_id: str) -> bool:
        return question_id in self._index
