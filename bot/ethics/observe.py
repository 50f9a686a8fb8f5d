"""What the bot does after each kind of answer, measured by running it, so the pack's claims are true.

The pack must not say the bot does what its code does not. So the flow after an outcome is
not described in prose: the generator drives the real service (an empty database in
memory, a throwaway key, the real contact capture) through one made-up person per kind of
answer and records what happened: the outcome, the crisis help shown, the site contact,
the offer of contact, the lead, whether it was marked urgent and whether the study team was
told. Other made-up people meet the separate consents on each channel (and decline them),
stop at the under-14 gate, and type the phrases of [safety.signals]. The answers and
phrases are picked from the dialog file, so the record follows any change of questions,
rules or code.

Long on purpose: each kind of made-up person and what is recorded of them sit
together, so a statement of the pack and the run that proves it are read side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from ..dialog import signals as signal_phrases
from ..dialog.engine import Conversation
from ..dialog.flow import CONTACT_CONSENT as CONSENT_QUESTION
from ..dialog.flow import REMINDER_OFFER as OFFER
from ..dialog.load import CHANNELS
from ..dialog.model import CONSENT, SIGNAL_KINDS, SUMMARY, Dialog, Option, Question
from ..replies import Action, Choose, ChooseMany, Command, Prompt, Reply, Text
from ..screening import Key, ScreeningService
from ..store import open_database
from ..store.storage import Storage
from ..store.vault import open_vault
from . import bilingual as P
from .bilingual import Bi

#: A made-up mainland mobile number for the person who agrees to be contacted (never stored on disk).
TEST_PHONE = "13800138000"
#: The channels as the bot names them (bot/dialog/load.py CHANNELS): a separate consent may apply to some only.
WEB, TELEGRAM = "web", "telegram"
assert WEB in CHANNELS and TELEGRAM in CHANNELS
#: Every person is run as on the web chat; again as on Telegram, which can send a message unasked (a reminder).
CHANNEL = WEB
REMINDING_CHANNEL = TELEGRAM

#: The kinds of answer a person can give besides the ordinary ones.
REVIEW, WAIT, RULE_OUT = "review", "wait", "rule_out"
#: The kinds of typed sign of risk ([safety.signals]); only words of suicide make a person "at risk".
SUICIDE, EMERGENCY = SIGNAL_KINDS
#: The respondent answer of a carer (Conversation.respondent).
CAREGIVER = "caregiver"
EMPTY = Bi("", "")


@dataclass(frozen=True)
class Plan:
    """What the made-up person will say: a safety answer or not, at most one other concern, and
    perhaps one typed message with a phrase of [safety.signals] (typed once health data may be kept)."""

    safety: bool = False
    concern: str = ""
    typed: str = ""

    @property
    def at_risk(self) -> bool:
        """A risk answer, or typed words of suicide: the bot must bring such a person to a human."""
        return self.safety or self.typed == SUICIDE

    @property
    def ordinary(self) -> bool:
        """No risk answer and nothing typed: what every outcome's "then" describes."""
        return not (self.safety or self.typed)


PLANS = (
    Plan(),
    Plan(concern=REVIEW),
    Plan(concern=WAIT),
    Plan(concern=RULE_OUT),
    Plan(safety=True),
    Plan(safety=True, concern=WAIT),
    Plan(safety=True, concern=RULE_OUT),
    Plan(typed=SUICIDE),
    Plan(typed=SUICIDE, concern=RULE_OUT),
    Plan(typed=EMERGENCY),
)


@dataclass
class Observed:
    """One made-up person's screening, as the bot ran it."""

    plan: Plan
    person: Bi = EMPTY
    reachable: bool = True
    why_not: Bi = EMPTY
    outcome: str = ""
    #: The crisis text (as the person reads it, numbers filled in) right after the risk answer or typed words.
    crisis_at_answer: bool = False
    crisis_at_end: bool = False
    site_contact: bool = False
    contact_offered: bool = False
    lead_made: bool = False
    #: Why the lead says the team should reach this person first ("" = not urgent), as stored.
    lead_urgent: str = ""
    #: The version of the contact consent the lead recorded.
    contact_version: str = ""
    staff_told: bool = False
    #: On a channel that can send unasked (Telegram): was the reminder on the ready date offered?
    reminder_offered: bool = False
    #: The planned answers (question id -> option id): the safety answer and the one concern.
    planned: dict[str, str] = field(default_factory=dict)
    #: (question id, the words typed there) for a person who typed a sign of risk.
    typed_at: tuple[str, str] | None = None


@dataclass
class ConsentSeen:
    """One separate consent ([[consents]]), met by a person on each channel, then declined."""

    id: str
    #: Channel -> the question asked right after agreeing ("" where it was not asked at all).
    asked_before: dict[str, str] = field(default_factory=dict)
    #: The version kept with the conversation after "I agree".
    recorded_version: str = ""
    #: Where it was declined, whether its `declined` text was shown, and conversations kept afterwards.
    declined_on: str = ""
    declined_text_shown: bool = False
    kept_after_declining: int = 0


@dataclass
class UnderAgeSeen:
    """A child under the guardian age (PIPL art. 31), stopped at the notice or at the age question."""

    where: Bi
    text_shown: bool
    kept: int


@dataclass
class SignalSeen:
    """One typed message with a phrase of [safety.signals], and what the bot did with it."""

    kind: str
    typed: str
    respondent: str
    question: str
    #: The kind's text (crisis or emergency), in the respondent's wording, with the numbers filled in.
    help_shown: bool
    asked_again: bool
    #: Rows in the database that hold the typed words (any table).
    stored: int
    #: How much the anonymous counter signal:<kind> went up.
    counted: int
    #: The conversation notes a possible risk of suicide (a yes/no, never the words).
    marked: bool


@dataclass
class DeclineSeen:
    """A person at risk who says no to being contacted."""

    crisis_shown: bool
    site_shown: bool
    lead_made: bool


@dataclass
class Observations:
    people: list[Observed] = field(default_factory=list)
    #: Conversations stored after a person declined the consent notice (the pack says "nothing is kept").
    kept_after_declining: int = 0
    consents: list[ConsentSeen] = field(default_factory=list)
    under_age: list[UnderAgeSeen] = field(default_factory=list)
    signals: list[SignalSeen] = field(default_factory=list)
    #: The "if you are very unwell now" line: in the welcome, in the help (None: the script has none).
    unwell_now: tuple[bool, bool] | None = None
    #: A person at risk who declines contact (None: no person at risk can be made with this script).
    urgent_declined: DeclineSeen | None = None

    def contact_outcomes(self, at_risk: bool = False) -> list[str]:
        """The outcomes after which contact was offered, in the order first seen: to ordinary people
        (no risk answer, nothing typed), or to people at risk."""
        seen = [
            p.outcome
            for p in self.people
            if p.reachable and p.contact_offered and (p.plan.at_risk if at_risk else p.plan.ordinary)
        ]
        return list(dict.fromkeys(seen))

    def at_risk(self) -> list[Observed]:
        return [p for p in self.people if p.plan.at_risk and p.reachable]

    def of(self, plan: Plan) -> Observed | None:
        return next((p for p in self.people if p.plan == plan), None)

    def consent(self, consent_id: str) -> ConsentSeen | None:
        return next((c for c in self.consents if c.id == consent_id), None)


def _effect_free(option: Option) -> bool:
    return not (option.rules_out or option.review or option.wait is not None or option.safety)


def first_phrase(dialog: Dialog, kind: str, chinese: bool) -> str:
    """The first phrase of a kind in English (or in Chinese), as the dialog file lists it ("" if none)."""
    phrases = dialog.safety.signals.get(kind, ())
    return next((p for p in phrases if signal_phrases.is_han(p) == chinese), "")


class _Person:
    def __init__(
        self,
        screener: ScreeningService,
        plan: Plan,
        key: str,
        today: date,
        told: set[str],
        channel: str = CHANNEL,
        picks: dict[str, str] | None = None,
        contact: str = "yes",
    ) -> None:
        """`told` collects the lead ids the study team's channels heard of (the service's on_lead);
        `picks` fixes some answers (question id -> option id); `contact` is the answer to the offer."""
        self.screener = screener
        self.dialog = screener.dialog
        self.channel = channel
        self.told = told
        self.plan = plan
        self.key_name = key
        self.today = today
        self.picks = picks or {}
        self.contact = contact
        self.gave_safety = False
        self.gave_concern = False
        self.gave_typed = False
        self.concern_said: Bi | None = None
        self.safety_said: Bi | None = None
        self.typed_said: Bi | None = None
        #: Answers with an effect given only because a question offered nothing else.
        self.unplanned: list[Bi] = []
        self.planned: dict[str, str] = {}
        #: (separate consent id, the question asked right after agreeing to it).
        self.consents_met: list[tuple[str, str]] = []
        self.last_option: Option | None = None
        #: The reply to the answer to the offer of contact.
        self.last_reply = Reply([])
        self.en = screener.translator("en")

    def do(self, action: Action) -> Reply:
        reply = self.screener.handle(self.key(), action)
        assert reply is not None
        return reply

    def key(self) -> Key:
        return Key(self.channel, self.key_name, "en")

    def conversation(self) -> Conversation:
        return self.screener.conversation(self.key())

    def crisis(self) -> str:
        """The crisis text as this person reads it (their wording, the numbers filled in)."""
        return self.screener.texts.crisis_text(self.conversation(), self.en)

    def words(self, question: Question, option: Option) -> Bi:
        zh = self.screener.translator("zh_Hans")
        return P.ANSWERED.format(
            question=Bi(question.label, zh(question.label)), option=Bi(option.label, zh(option.label))
        )

    def pick(self, question: Question) -> Option | None:
        """The option this person picks, or None for a typed answer."""
        options = question.options
        if question.id in self.picks:
            return question.option(self.picks[question.id])
        if self.plan.safety and not self.gave_safety and (o := next((o for o in options if o.safety), None)):
            self.gave_safety, self.safety_said = True, self.words(question, o)
            self.planned[question.id] = o.id
            return o
        wanted = {
            REVIEW: lambda o: o.review and not o.safety,
            WAIT: lambda o: o.wait is not None,
            RULE_OUT: lambda o: bool(o.rules_out),
        }.get(self.plan.concern)
        # A rule-out ends the screening at once: after the safety answer or the typed words, or they would
        # never be given.
        ready = not (self.plan.concern == RULE_OUT and self.plan.safety and not self.gave_safety)
        ready = ready and not (self.plan.typed and not self.gave_typed)
        if wanted and ready and not self.gave_concern and (o := next((o for o in options if wanted(o)), None)):
            self.gave_concern, self.concern_said = True, self.words(question, o)
            self.planned[question.id] = o.id
            return o
        clean = [o for o in options if _effect_free(o)]
        # "None of these" where there is one: naming a medicine would bring its follow-up questions.
        picked = next((o for o in clean if o.exclusive), None) or (clean[0] if clean else None)
        if picked is None and options:
            picked = next((o for o in options if not (o.rules_out or o.safety)), options[0])
            self.unplanned.append(self.words(question, picked))
        return picked

    def typed(self, question: Question) -> str:
        if question.accept is not None:
            return str((question.accept.min + question.accept.max) // 2)
        if question.kind == "year":
            return str(max(question.min or 0, self.today.year - 5))
        return str(question.min if question.min is not None else 1)

    def answer(self, question: Question) -> Reply:
        option = self.pick(question)
        if question.kind == "multi" and option:
            action: Action = ChooseMany(question.id, (option.id,))
        elif option:
            action = Choose(question.id, option.id)
        else:
            action = Text(self.typed(question))
        reply = self.do(action)
        self.last_option = option
        return reply

    def walk(
        self, reply: Reply, stop: Callable[[Prompt], bool], on_question: Callable[[Question], Reply | None]
    ) -> Reply:
        """Agree to each separate consent and answer each question until `stop` holds for the prompt
        (or the questions end). `on_question` may act on a question first (returning its reply)."""
        for _ in range(4 * len(self.dialog.questions) + 8):
            prompt = reply.prompt
            if prompt is None or stop(prompt):
                return reply
            if self.dialog.separate_consent(prompt.question) is not None:
                reply = self.do(Choose(prompt.question, "agree"))
                self.consents_met.append((prompt.question, reply.prompt.question if reply.prompt else ""))
                continue
            if not prompt.question or not self.dialog.has_question(prompt.question):
                return reply
            question = self.dialog.question(prompt.question)
            reply = on_question(question) or self.answer(question)
        return reply

    def health_may_be_kept(self) -> bool:
        """Past every consent for health data: a typed sign of suicide risk is now noted."""
        return self.screener.engine.may_keep_health_data(self.conversation())

    def start(self) -> Reply:
        self.do(Command("start"))
        return self.do(Choose(CONSENT, "agree"))

    def run(self) -> Observed:
        seen = Observed(self.plan)
        site_line = self.screener.texts.site_text(self.en, closing=False).splitlines()[0]
        phrase = first_phrase(self.dialog, self.plan.typed, chinese=False) if self.plan.typed else ""

        def step(question: Question) -> Reply:
            """Type the planned words of risk once health data may be kept; otherwise answer the question."""
            if phrase and not self.gave_typed and self.health_may_be_kept():
                reply = self.do(Text(phrase))
                self.gave_typed, seen.typed_at = True, (question.id, phrase)
                kind = P.SIGNAL_NAMES.get(self.plan.typed, Bi.same(self.plan.typed))
                label = Bi(question.label, self.screener.translator("zh_Hans").dialog(question.label))
                self.typed_said = P.SCENARIO_TYPED.format(text=phrase, kind=kind, question=label)
            else:
                reply = self.answer(question)
                if not (self.last_option and self.last_option.safety):
                    return reply
            seen.crisis_at_answer |= self.crisis() in reply.notices
            return reply

        reply = self.walk(self.start(), lambda p: p.kind == SUMMARY, step)
        if reply.prompt and reply.prompt.kind == SUMMARY:
            reply = self.do(Command("confirm"))
        conv = self.conversation()
        seen.outcome = conv.outcome
        seen.crisis_at_end = self.crisis() in reply.notices
        seen.site_contact = any(site_line in notice for notice in reply.notices)
        seen.contact_offered = bool(reply.prompt and reply.prompt.question == CONSENT_QUESTION)
        seen.reminder_offered = bool(reply.prompt and reply.prompt.question == OFFER)
        if seen.contact_offered and self.screener.keeps_contacts:
            self.last_reply = self.do(Choose(CONSENT_QUESTION, self.contact))
            if self.contact == "yes":
                self.do(Text(TEST_PHONE))
            leads = self.screener.storage.read.leads
            lead_id = leads.lead_of(conv.id)
            lead = leads.get(lead_id) if lead_id else None
            seen.lead_made = lead is not None
            seen.staff_told = lead_id is not None and lead_id in self.told
            if lead is not None:
                seen.lead_urgent, seen.contact_version = lead.urgent, lead.contact_consent_version
        seen.reachable, seen.why_not = self._reachable()
        seen.person = self._person()
        seen.planned = dict(self.planned)
        return seen

    def _reachable(self) -> tuple[bool, Bi]:
        if self.plan.safety and not self.gave_safety:
            return False, Bi("no question offers a safety answer", "没有问题提供安全相关回答")
        if self.plan.typed and not self.gave_typed:
            return False, Bi("the script lists no such phrase", "脚本中没有这类短语")
        if self.plan.concern and not self.gave_concern:
            if self.plan.concern == RULE_OUT and self.plan.safety:
                return False, P.NO_RULE_OUT_AFTER
            if self.plan.concern == RULE_OUT and self.plan.typed:
                return False, P.NO_RULE_OUT_AFTER_TYPED
            return False, Bi("no question offers such an answer", "没有问题提供这种回答")
        return True, Bi("", "")

    def _person(self) -> Bi:
        concern = {REVIEW: P.SCENARIO_REVIEW, WAIT: P.SCENARIO_WAIT, RULE_OUT: P.SCENARIO_RULE_OUT}.get(
            self.plan.concern
        )
        parts = []
        if self.plan.safety:
            parts.append(P.SCENARIO_SAFETY.format(answer=self.safety_said or Bi("…", "…")))
        if self.plan.typed:
            parts.append(self.typed_said or Bi("…", "…"))
        if concern:
            parts.append(concern.format(answer=self.concern_said or Bi("…", "…")))
        parts += [P.SCENARIO_UNPLANNED.format(answer=said) for said in self.unplanned]
        if not parts:
            return P.SCENARIO_CLEAR
        said = parts[0]
        for more in parts[1:]:
            said = P.SCENARIO_AND.format(first=said, second=Bi(more.en[:1].lower() + more.en[1:], more.zh))
        return said


class _Observer:
    """The made-up people, run one after the other through one service and one database in memory."""

    def __init__(self, dialog: Dialog, locales_dir: Path, site_overrides: dict[str, str] | None) -> None:
        self.db = open_database(":memory:")
        vault = open_vault(self.db, Fernet.generate_key().decode(), Path("unused.key"))
        self.told: set[str] = set()
        self.today = date.today()
        self.dialog = dialog
        self.screener = ScreeningService(
            dialog,
            Storage(self.db, dialog, vault),
            locales_dir,
            site_overrides=site_overrides,
            today=lambda: self.today,
            # As `screening-bot run` builds it for Telegram: that channel can send a reminder.
            reminding_channels=(REMINDING_CHANNEL,),
            on_lead=[self.heard],
        )
        self.en = self.screener.translator("en")
        self.count = 0

    def heard(self, lead_id: str, event: str) -> None:
        self.told.add(lead_id)

    def person(self, plan: Plan = Plan(), channel: str = CHANNEL, **kwargs: Any) -> _Person:
        self.count += 1
        return _Person(self.screener, plan, f"person-{self.count}", self.today, self.told, channel, **kwargs)

    def kept(self, person: _Person) -> int:
        """Conversations stored for this person."""
        return int(
            self.db.execute(
                "SELECT count(*) FROM conversations WHERE channel = ? AND user_key = ?",
                [person.channel, person.key_name],
            ).fetchone()[0]
        )

    def stored(self, text: str) -> int:
        """Rows of any table that hold this text."""
        tables = [r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return sum(text in str(row) for table in tables for row in self.db.execute(f'SELECT * FROM "{table}"'))

    # ------------------------------------------------------------------ the made-up people

    def plans(self) -> list[Observed]:
        found = []
        has_safety = any(o.safety for q in self.dialog.questions for o in q.options)
        for plan in PLANS:
            if (plan.safety and not has_safety) or (plan.typed and not self.dialog.safety.signals.get(plan.typed)):
                continue
            seen = self.person(plan).run()
            seen.reminder_offered = self.person(plan, REMINDING_CHANNEL).run().reminder_offered
            found.append(seen)
        return found

    def declined_notice(self) -> int:
        decliner = self.person()
        decliner.do(Command("start"))
        decliner.do(Choose(CONSENT, "decline"))
        return self.kept(decliner)

    def separate_consents(self) -> list[ConsentSeen]:
        """Each separate consent: where it is asked on each channel, what "I agree" keeps, what declining does."""
        if not self.dialog.consents:
            return []
        seen = {c.id: ConsentSeen(c.id) for c in self.dialog.consents}
        for channel in CHANNELS:
            walker = self.person(channel=channel)
            walker.walk(walker.start(), lambda p: p.kind == SUMMARY, lambda q: None)
            for c in seen.values():
                c.asked_before[channel] = ""
            for consent_id, next_question in walker.consents_met:
                seen[consent_id].asked_before[channel] = next_question
            given = walker.conversation().consents
            for c in seen.values():
                c.recorded_version = c.recorded_version or given.get(c.id, {}).get("version", "")
        for consent in self.dialog.consents:
            channel = next((ch for ch in CHANNELS if consent.applies_to(ch)), "")
            if not channel:
                continue
            decliner = self.person(channel=channel)
            decliner.walk(decliner.start(), lambda p, c=consent: p.question == c.id, lambda q: None)
            if decliner.conversation().state != consent.id:
                continue
            reply = decliner.do(Choose(consent.id, "decline"))
            c = seen[consent.id]
            c.declined_on = channel
            c.declined_text_shown = self.en(consent.declined) in reply.notices
            c.kept_after_declining = self.kept(decliner)
        return list(seen.values())

    def under_age(self) -> list[UnderAgeSeen]:
        """The under-14 gate: the notice's button, and a child's age at the age question (patient and carer)."""
        gate = self.dialog.consent
        found = []
        if gate.under_age:
            child = self.person()
            child.do(Command("start"))
            reply = child.do(Choose(CONSENT, "under_age"))
            shown = self.en(gate.under_age_text) in reply.notices
            found.append(UnderAgeSeen(P.UNDER_AGE_AT_NOTICE, shown, self.kept(child)))
        if not (gate.guardian_age and self.dialog.has_question(gate.age_question)):
            return found
        age = gate.guardian_age - 1
        for picks, text, where in (
            ({}, gate.under_age_text, P.UNDER_AGE_PATIENT),
            (self.carer(), gate.under_age_text_caregiver, P.UNDER_AGE_CARER),
        ):
            if picks is None or not text:
                continue
            child = self.person(picks=picks)
            child.walk(child.start(), lambda p: p.question == gate.age_question, lambda q: None)
            if child.conversation().state != gate.age_question:
                continue
            reply = child.do(Text(str(age)))
            found.append(UnderAgeSeen(where.format(age=age), self.en(text) in reply.notices, self.kept(child)))
        return found

    def carer(self) -> dict[str, str] | None:
        """The answer that makes a carer the respondent (None when the script does not ask who answers)."""
        question = self.dialog.respondent_question
        if not (question and self.dialog.has_question(question)):
            return None
        return {question: CAREGIVER} if self.dialog.question(question).option(CAREGIVER) else None

    def typed_signals(self) -> list[SignalSeen]:
        """Each kind of phrase typed once health data may be kept: in English by a patient, in Chinese by a carer."""
        found = []
        for kind in self.dialog.safety.signals:
            for chinese, picks in ((False, {}), (True, self.carer())):
                phrase = first_phrase(self.dialog, kind, chinese)
                if not phrase or picks is None:
                    continue
                person = self.person(picks=picks)
                reply = person.walk(person.start(), lambda p, who=person: who.health_may_be_kept(), lambda q: None)
                if reply.prompt is None or not self.dialog.has_question(reply.prompt.question):
                    continue
                conv = person.conversation()
                texts = self.screener.texts
                text = texts.crisis_text if kind == SUICIDE else texts.emergency_text
                before = self.screener.storage.read.audit.totals().get(f"signal:{kind}", 0)
                after = person.do(Text(phrase))
                found.append(
                    SignalSeen(
                        kind=kind,
                        typed=phrase,
                        respondent=self.dialog.respondent_of(conv.answers) or "self",
                        question=reply.prompt.question,
                        help_shown=text(conv, self.en) in after.notices,
                        asked_again=after.prompt is not None and after.prompt.question == reply.prompt.question,
                        stored=self.stored(phrase),
                        counted=self.screener.storage.read.audit.totals().get(f"signal:{kind}", 0) - before,
                        marked=person.conversation().risk_signal,
                    )
                )
        return found

    def unwell_now(self) -> tuple[bool, bool] | None:
        texts = self.screener.texts
        line = texts.unwell_now_text(self.en)
        if not line:
            return None
        conv = self.person().conversation()
        return line in texts.welcome(conv, self.en), line in texts.help_text(self.en, conv, can_remind=False)

    def urgent_declined(self) -> DeclineSeen | None:
        """The first kind of person at risk, who says no to being contacted."""
        for plan in (Plan(safety=True), Plan(typed=SUICIDE)):
            person = self.person(plan, contact="no")
            seen = person.run()
            if seen.reachable and seen.contact_offered:
                notices = person.last_reply.notices
                site_line = self.screener.texts.site_text(self.en, closing=False).splitlines()[0]
                return DeclineSeen(
                    crisis_shown=person.crisis() in notices,
                    site_shown=any(site_line in n for n in notices),
                    lead_made=seen.lead_made,
                )
        return None


def observe(dialog: Dialog, locales_dir: Path, site_overrides: dict[str, str] | None = None) -> Observations:
    """Run the made-up people through the real screening, in an empty database in memory."""
    run = _Observer(dialog, locales_dir, site_overrides)
    found = Observations(people=run.plans())
    found.kept_after_declining = run.declined_notice()
    found.consents = run.separate_consents()
    found.under_age = run.under_age()
    found.signals = run.typed_signals()
    found.unwell_now = run.unwell_now()
    found.urgent_declined = run.urgent_declined()
    return found
