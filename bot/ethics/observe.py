"""What the bot does after each kind of answer, measured by running it, so the pack's claims are true.

The pack must not say the bot does what its code does not. So the flow after an outcome is
not described in prose: the generator drives the real service (an empty database in
memory, a throwaway key, the real contact capture) through one made-up person per kind of
answer and records what happened: the outcome, the crisis help shown, the site contact,
the offer of contact, the lead and whether the study team was told. The answers are picked
from the dialog file, so the record follows any change of questions, rules or code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from ..dialog.flow import CONTACT_CONSENT as CONSENT_QUESTION
from ..dialog.flow import REMINDER_OFFER as OFFER
from ..dialog.model import CONSENT, SUMMARY, Dialog, Option, Question
from ..replies import Action, Choose, ChooseMany, Command, Reply, Text
from ..screening import Key, ScreeningService
from ..store import open_database
from ..store.storage import Storage
from ..store.vault import open_vault
from . import bilingual as P
from .bilingual import Bi

#: A made-up mainland mobile number for the person who agrees to be contacted (never stored on disk).
TEST_PHONE = "13800138000"
CHANNEL = "ethics-pack"
#: A second channel that, like Telegram, can send a message unasked (so it offers the reminder).
REMINDING_CHANNEL = "ethics-pack-reminding"

#: The kinds of answer a person can give besides the ordinary ones.
REVIEW, WAIT, RULE_OUT = "review", "wait", "rule_out"
EMPTY = Bi("", "")


@dataclass(frozen=True)
class Plan:
    """What the made-up person will say: a safety answer or not, and at most one other concern."""

    safety: bool = False
    concern: str = ""


PLANS = (
    Plan(),
    Plan(concern=REVIEW),
    Plan(concern=WAIT),
    Plan(concern=RULE_OUT),
    Plan(safety=True),
    Plan(safety=True, concern=WAIT),
    Plan(safety=True, concern=RULE_OUT),
)


@dataclass
class Observed:
    """One made-up person's screening, as the bot ran it."""

    plan: Plan
    person: Bi = EMPTY
    reachable: bool = True
    why_not: Bi = EMPTY
    outcome: str = ""
    crisis_at_answer: bool = False
    crisis_at_end: bool = False
    site_contact: bool = False
    contact_offered: bool = False
    lead_made: bool = False
    staff_told: bool = False
    #: On a channel that can send unasked (Telegram): was the reminder on the ready date offered?
    reminder_offered: bool = False
    #: The planned answers (question id -> option id): the safety answer and the one concern.
    planned: dict[str, str] = field(default_factory=dict)


@dataclass
class Observations:
    people: list[Observed] = field(default_factory=list)
    #: Conversations stored after a person declined the consent notice (the pack says "nothing is kept").
    kept_after_declining: int = 0

    def contact_outcomes(self, safety: bool = False) -> list[str]:
        """The outcomes after which contact was offered, in the order first seen."""
        seen = [p.outcome for p in self.people if p.reachable and p.plan.safety == safety and p.contact_offered]
        return list(dict.fromkeys(seen))

    def of(self, plan: Plan) -> Observed | None:
        return next((p for p in self.people if p.plan == plan), None)


def _effect_free(option: Option) -> bool:
    return not (option.rules_out or option.review or option.wait is not None or option.safety)


class _Person:
    def __init__(
        self, screener: ScreeningService, plan: Plan, key: str, today: date, told: set[str], channel: str = CHANNEL
    ) -> None:
        """`told` collects the lead ids the study team's channels heard of (the service's on_lead)."""
        self.screener = screener
        self.channel = channel
        self.told = told
        self.plan = plan
        self.key = key
        self.today = today
        self.gave_safety = False
        self.gave_concern = False
        self.said: list[Bi] = []
        self.concern_said: Bi | None = None
        self.safety_said: Bi | None = None
        #: Answers with an effect given only because a question offered nothing else.
        self.unplanned: list[Bi] = []
        self.planned: dict[str, str] = {}

    def do(self, action: Action) -> Reply:
        reply = self.screener.handle(Key(self.channel, self.key, "en"), action)
        assert reply is not None
        return reply

    def words(self, question: Question, option: Option) -> Bi:
        zh = self.screener.translator("zh_Hans")
        return P.ANSWERED.format(
            question=Bi(question.label, zh(question.label)), option=Bi(option.label, zh(option.label))
        )

    def pick(self, question: Question) -> Option | None:
        """The option this person picks, or None for a typed answer."""
        options = question.options
        if self.plan.safety and not self.gave_safety and (o := next((o for o in options if o.safety), None)):
            self.gave_safety, self.safety_said = True, self.words(question, o)
            self.planned[question.id] = o.id
            return o
        wanted = {
            REVIEW: lambda o: o.review and not o.safety,
            WAIT: lambda o: o.wait is not None,
            RULE_OUT: lambda o: bool(o.rules_out),
        }.get(self.plan.concern)
        # A rule-out ends the screening at once: after the safety answer, or it would never be given.
        ready = not (self.plan.concern == RULE_OUT and self.plan.safety and not self.gave_safety)
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

    def run(self) -> Observed:
        seen = Observed(self.plan)
        safety_text = self.screener.translator("en").dialog(self.screener.dialog.safety_text)
        site_line = self.screener.texts.site_text(self.screener.translator("en"), closing=False).splitlines()[0]
        self.do(Command("start"))
        reply = self.do(Choose(CONSENT, "agree"))
        for _ in range(4 * len(self.screener.dialog.questions) + 4):
            prompt = reply.prompt
            if prompt is not None and self.screener.dialog.separate_consent(prompt.question) is not None:
                reply = self.do(Choose(prompt.question, "agree"))  # a separate consent: this person agrees
                continue
            if prompt is None or not prompt.question or not self.screener.dialog.has_question(prompt.question):
                break
            question = self.screener.dialog.question(prompt.question)
            option = self.pick(question)
            if question.kind == "multi" and option:
                action: Action = ChooseMany(question.id, (option.id,))
            elif option:
                action = Choose(question.id, option.id)
            else:
                action = Text(self.typed(question))
            reply = self.do(action)
            if option and option.safety and safety_text in reply.notices:
                seen.crisis_at_answer = True
        if reply.prompt and reply.prompt.kind == SUMMARY:
            reply = self.do(Command("confirm"))
        conv = self.screener.conversation(Key(self.channel, self.key))
        seen.outcome = conv.outcome
        seen.crisis_at_end = safety_text in reply.notices
        seen.site_contact = any(site_line in notice for notice in reply.notices)
        seen.contact_offered = bool(reply.prompt and reply.prompt.question == CONSENT_QUESTION)
        seen.reminder_offered = bool(reply.prompt and reply.prompt.question == OFFER)
        if seen.contact_offered and self.screener.keeps_contacts:
            self.do(Choose(CONSENT_QUESTION, "yes"))
            self.do(Text(TEST_PHONE))
            lead = self.screener.storage.read.leads.lead_of(conv.id)
            seen.lead_made = lead is not None
            seen.staff_told = lead is not None and lead in self.told
        seen.reachable, seen.why_not = self._reachable()
        seen.person = self._person()
        seen.planned = dict(self.planned)
        return seen

    def _reachable(self) -> tuple[bool, Bi]:
        if self.plan.safety and not self.gave_safety:
            return False, Bi("no question offers a safety answer", "没有问题提供安全相关回答")
        if self.plan.concern and not self.gave_concern:
            if self.plan.concern == RULE_OUT and self.plan.safety:
                return False, P.NO_RULE_OUT_AFTER
            return False, Bi("no question offers such an answer", "没有问题提供这种回答")
        return True, Bi("", "")

    def _person(self) -> Bi:
        concern = {REVIEW: P.SCENARIO_REVIEW, WAIT: P.SCENARIO_WAIT, RULE_OUT: P.SCENARIO_RULE_OUT}.get(
            self.plan.concern
        )
        parts = []
        if self.plan.safety:
            parts.append(P.SCENARIO_SAFETY.format(answer=self.safety_said or Bi("…", "…")))
        if concern:
            parts.append(concern.format(answer=self.concern_said or Bi("…", "…")))
        parts += [P.SCENARIO_UNPLANNED.format(answer=said) for said in self.unplanned]
        if not parts:
            return P.SCENARIO_CLEAR
        said = parts[0]
        for more in parts[1:]:
            said = P.SCENARIO_AND.format(first=said, second=Bi(more.en[:1].lower() + more.en[1:], more.zh))
        return said


def observe(dialog: Dialog, locales_dir: Path, site_overrides: dict[str, str] | None = None) -> Observations:
    """Run one made-up person per plan through the real screening, in an empty database in memory."""
    db = open_database(":memory:")
    vault = open_vault(db, Fernet.generate_key().decode(), Path("unused.key"))
    told: set[str] = set()

    def heard(lead_id: str, event: str) -> None:
        told.add(lead_id)

    today = date.today()
    screener = ScreeningService(
        dialog,
        Storage(db, dialog, vault),
        locales_dir,
        site_overrides=site_overrides,
        today=lambda: today,
        reminding_channels=(REMINDING_CHANNEL,),
        on_lead=[heard],
    )
    found = Observations()
    plans = [p for p in PLANS if not p.safety or any(o.safety for q in dialog.questions for o in q.options)]
    for number, plan in enumerate(plans):
        seen = _Person(screener, plan, f"person-{number}", today, told).run()
        again = _Person(screener, plan, f"person-{number}", today, told, REMINDING_CHANNEL).run()
        seen.reminder_offered = again.reminder_offered
        found.people.append(seen)
    before = _conversations(db)
    decliner = _Person(screener, Plan(), "declines", today, told)
    decliner.do(Command("start"))
    decliner.do(Choose(CONSENT, "decline"))
    found.kept_after_declining = _conversations(db) - before
    return found


def _conversations(db: Any) -> int:
    return int(db.execute("SELECT count(*) FROM conversations").fetchone()[0])
