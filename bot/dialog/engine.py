"""The screening state machine, built once from the dialog and shared by every conversation.

pytransitions holds the states and transitions as data: consent, one state per
question in dialog order (with each separate consent just before its question), the
summary, and the outcomes. One machine serves every
conversation: a conversation meets the machine only while one input is handled
(`Engine.fire`), so the cost per input does not grow with the number of people
mid-screening.

Skips are not extra edges: entering a question that does not apply (its `ask_if`
fails), or a separate consent already given or not for this channel, passes straight
on in the same direction, which keeps the drawn flow a readable chain for an ethics
committee. "Back" steps over separate consents: a consent is asked once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from transitions import EventData, Machine, MachineError

from . import rules
from .model import (
    CONSENT,
    DECLINED,
    LIKELY_CANDIDATE,
    NEEDS_REVIEW,
    NOT_ELIGIBLE,
    NOT_YET,
    OUTCOMES,
    SUMMARY,
    Dialog,
    Question,
    SeparateConsent,
)


@dataclass(eq=False)
class Conversation:
    """One person's screening: where they are and what they said. Plain data, easy to store."""

    id: str = field(default_factory=lambda: secrets.token_hex(8))
    channel: str = ""
    user_key: str = ""
    source: str = ""
    state: str = CONSENT
    language: str = "en"
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    editing: bool = False
    last_question: str = ""
    draft: list[str] = field(default_factory=list)
    consent_version: str = ""
    consented_at: str = ""
    outcome: str = ""
    #: Where the person is in giving contact details after the outcome (see bot/contact.py), "" before.
    contact_step: str = ""
    contact_consent_version: str = ""
    contact_consented_at: str = ""
    #: Separate consents given (PIPL): consent id -> {"version": ..., "at": ...}; kept across restarts.
    consents: dict[str, dict[str, str]] = field(default_factory=dict)
    #: A typed message may have meant a risk of suicide (the text itself is never kept); see Screener.
    risk_signal: bool = False
    #: Answers given since the last save, oldest first: the store appends them to the history.
    new_answers: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def respondent(self) -> str | None:
        entry = self.answers.get("respondent")
        return entry["value"] if entry else None


class NotNow(Exception):
    """The input cannot apply in the conversation's current state (e.g. 'back' at the first question)."""


class Engine:
    """Runs conversations through one dialog. Pure: the clock is passed in, nothing is stored here."""

    def __init__(self, dialog: Dialog, today: Callable[[], date] = date.today) -> None:
        self.dialog = dialog
        self.today = today
        self.first_question = dialog.questions[0].id
        #: Every step in order: each separate consent just before the question it precedes.
        self.chain: list[str] = []
        for q in dialog.questions:
            self.chain += [c.id for c in dialog.consents if c.before == q.id]
            self.chain.append(q.id)
        self.machine = Machine(
            model=None,
            states=self._states(),
            transitions=self._transitions(),
            initial=CONSENT,
            send_event=True,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )

    # ------------------------------------------------------------------ the machine as data

    def _states(self) -> list[dict[str, Any]]:
        states: list[dict[str, Any]] = [{"name": CONSENT}]
        states += [{"name": step, "on_enter": [self._pass_if_not_needed]} for step in self.chain]
        states.append({"name": SUMMARY, "on_enter": [self._tidy_for_summary]})
        states += [{"name": name, "final": True} for name in (*OUTCOMES, DECLINED)]
        return states

    def _transitions(self) -> list[dict[str, Any]]:
        ids = [q.id for q in self.dialog.questions]
        consents = [c.id for c in self.dialog.consents]
        t: list[dict[str, Any]] = [
            {"trigger": "agree", "source": CONSENT, "dest": self.chain[0]},
            {"trigger": "decline", "source": [CONSENT, *consents], "dest": DECLINED},
        ]
        for here, after in zip(self.chain, [*self.chain[1:], SUMMARY], strict=True):
            if here not in consents:
                t.append({"trigger": "next", "source": here, "dest": NOT_ELIGIBLE, "conditions": [self._rules_out]})
            t.append({"trigger": "next", "source": here, "dest": after})
        for here, before in zip(ids[1:], ids[:-1], strict=True):
            t.append({"trigger": "back", "source": here, "dest": before})
        t.append({"trigger": "back", "source": SUMMARY, "dest": ids[-1]})
        for qid in ids:
            t.append({"trigger": "back", "source": NOT_ELIGIBLE, "dest": qid, "conditions": [_last_question_is(qid)]})
            t.append(
                {
                    "trigger": "edit",
                    "source": SUMMARY,
                    "dest": qid,
                    "conditions": [_edit_target_is(qid)],
                    "before": [_start_editing],
                }
            )
        for outcome in (LIKELY_CANDIDATE, NEEDS_REVIEW, NOT_YET):
            t.append({"trigger": "back", "source": outcome, "dest": SUMMARY})
        for outcome, test in (
            (NOT_ELIGIBLE, self._is(NOT_ELIGIBLE)),
            (NOT_YET, self._is(NOT_YET)),
            (NEEDS_REVIEW, self._is(NEEDS_REVIEW)),
        ):
            t.append({"trigger": "confirm", "source": SUMMARY, "dest": outcome, "conditions": [test]})
        t.append({"trigger": "confirm", "source": SUMMARY, "dest": LIKELY_CANDIDATE})
        t.append(
            {
                "trigger": "restart",
                "source": [s for s in self._state_names() if s != CONSENT],
                "dest": self.first_question,
                "before": [_forget_answers],
            }
        )
        return t

    def _state_names(self) -> list[str]:
        return [CONSENT, *self.chain, SUMMARY, *OUTCOMES, DECLINED]

    # ------------------------------------------------------------------ callbacks

    def _rules_out(self, event: EventData) -> bool:
        conv: Conversation = event.model
        question = self.dialog.question(event.transition.source)
        found = rules.findings_for(self.dialog, question, conv.answers, self.today())
        if any(f.status == "not_met" for f in found):
            conv.last_question = question.id
            return True
        return False

    def _is(self, outcome: str) -> Callable[[EventData], bool]:
        def test(event: EventData) -> bool:
            return self.outcome_now(event.model) == outcome

        return test

    def _pass_if_not_needed(self, event: EventData) -> None:
        """Skip a question that does not apply, or (when editing) one already answered; and a
        separate consent already given, or not asked on this channel."""
        conv: Conversation = event.model
        consent = self.dialog.separate_consent(conv.state)
        if consent is not None:
            if not self.consent_needed(conv, consent):
                event.machine.events["next"].trigger(conv)
            return
        question = self.dialog.question(conv.state)
        direction = event.event.name
        needed = rules.should_ask(question, conv.answers, self.today())
        if direction in ("next", "agree", "restart") and needed and not (conv.editing and question.id in conv.answers):
            return
        if direction == "back" and needed:
            return
        if direction in ("edit",):
            return
        if not needed:
            conv.answers.pop(question.id, None)
        step = "back" if direction == "back" else "next"
        if step == "back" and conv.state == self.first_question:
            return
        event.machine.events[step].trigger(conv)

    def _tidy_for_summary(self, event: EventData) -> None:
        """Leaving edit mode: drop answers to questions the new branching no longer asks."""
        conv: Conversation = event.model
        conv.editing = False
        asked = {q.id for q in rules.asked_questions(self.dialog, conv.answers, self.today())}
        for qid in list(conv.answers):
            if qid not in asked:
                del conv.answers[qid]

    # ------------------------------------------------------------------ the engine's API

    def fire(self, conv: Conversation, trigger: str, **kwargs: Any) -> None:
        """Run one trigger on the shared machine; raise NotNow when it means nothing in this state.

        The conversation is passed to the machine's event for this one call and never
        added to `machine.models`: nothing is bound to it and nothing accumulates, so
        the cost of an input is the same with ten or a hundred thousand conversations.
        """
        try:
            ok = self.machine.events[trigger].trigger(conv, **kwargs)
        except (MachineError, KeyError) as exc:
            raise NotNow(trigger) from exc
        if not ok:
            raise NotNow(trigger)
        if conv.state in OUTCOMES:
            conv.outcome = conv.state

    def agree(self, conv: Conversation, version: str, at: str) -> None:
        conv.consent_version, conv.consented_at = version, at
        self.fire(conv, "agree")

    def decline(self, conv: Conversation) -> None:
        self.fire(conv, "decline")

    def current_question(self, conv: Conversation) -> Question | None:
        return self.dialog.question(conv.state) if self.dialog.has_question(conv.state) else None

    def resume(self, conv: Conversation) -> bool:
        """A conversation saved at a step this dialog no longer has (a question removed in a newer
        version): go on at the first step still to do, skipping the answers already given on the way
        (edit mode, left at the summary). True when it was moved."""
        if conv.state in self.machine.states:
            return False
        today = self.today()
        for step in self.chain:
            consent = self.dialog.separate_consent(step)
            if consent is not None:
                if self.consent_needed(conv, consent):
                    break
                continue
            question = self.dialog.question(step)
            if step not in conv.answers and rules.should_ask(question, conv.answers, today):
                break
        else:
            step = SUMMARY
        conv.state, conv.editing, conv.draft = step, step != SUMMARY, []
        return True

    def current_consent(self, conv: Conversation) -> SeparateConsent | None:
        """The separate consent asked now, or None."""
        return self.dialog.separate_consent(conv.state)

    @staticmethod
    def consent_needed(conv: Conversation, consent: SeparateConsent) -> bool:
        """A separate consent is asked when it applies to the channel and this version was not given."""
        given = conv.consents.get(consent.id, {})
        return consent.applies_to(conv.channel) and given.get("version") != consent.version

    def give_consent(self, conv: Conversation, at: str) -> None:
        """The person agreed to the separate consent asked now: note its version and time, and go on."""
        consent = self.current_consent(conv)
        if consent is None:
            raise NotNow("give_consent")
        conv.consents[consent.id] = {"version": consent.version, "at": at}
        self.fire(conv, "next")

    def may_keep_health_data(self, conv: Conversation) -> bool:
        """True once every separate consent for sensitive (health) data on this channel was given."""
        return not any(self.consent_needed(conv, c) for c in self.dialog.consents if c.kind == "sensitive_data")

    def answer(self, conv: Conversation, value: Any) -> None:
        """Record an already-parsed answer to the current question and move on."""
        question = self.current_question(conv)
        if question is None:
            raise NotNow("answer")
        conv.answers[question.id] = {"value": value, "on": self.today().isoformat()}
        conv.new_answers.append((question.id, value))
        conv.draft = []
        self.fire(conv, "next")

    def back(self, conv: Conversation) -> None:
        conv.draft = []
        conv.outcome = ""
        self.fire(conv, "back")
        conv.contact_step = ""

    def restart(self, conv: Conversation) -> None:
        conv.outcome = ""
        self.fire(conv, "restart")
        conv.contact_step = ""

    def edit(self, conv: Conversation, question_id: str) -> None:
        if question_id not in conv.answers:
            raise NotNow("edit")
        self.fire(conv, "edit", question=question_id)

    def confirm(self, conv: Conversation) -> None:
        self.fire(conv, "confirm")

    def findings(self, conv: Conversation) -> list[rules.Finding]:
        return rules.assess(self.dialog, conv.answers, self.today())

    def outcome_now(self, conv: Conversation) -> str:
        return rules.outcome_of(self.findings(conv))

    def summary(self, conv: Conversation) -> list[tuple[Question, Any]]:
        """The answers that count, in dialog order, for the summary shown before the outcome."""
        return [
            (q, conv.answers[q.id]["value"])
            for q in rules.asked_questions(self.dialog, conv.answers, self.today())
            if q.id in conv.answers
        ]

    def progress(self, conv: Conversation) -> tuple[int, int]:
        """(this question's number, the most questions there can be), for 'Question 3 of up to 24'.

        The most: the questions before this one that applied, plus this one and every later
        question the answers so far do not already skip. An answer can only skip questions,
        never add one that was not counted, so going forward the total never grows; it
        shrinks as answers rule out the questions that depend on them."""
        today = self.today()
        here = self.dialog.position(conv.state) if self.dialog.has_question(conv.state) else len(self.dialog.questions)
        before = 0
        ahead = 0
        for position, question in enumerate(self.dialog.questions):
            if position < here:
                before += not question.ask_if or rules.should_ask(question, conv.answers, today)
            else:
                ahead += rules.may_still_apply(self.dialog, question, conv.answers, today, here)
        if here == len(self.dialog.questions):
            return before, before
        return before + 1, before + ahead


def _last_question_is(question_id: str) -> Callable[[EventData], bool]:
    def test(event: EventData) -> bool:
        return event.model.last_question == question_id

    return test


def _edit_target_is(question_id: str) -> Callable[[EventData], bool]:
    def test(event: EventData) -> bool:
        return event.kwargs.get("question") == question_id

    return test


def _start_editing(event: EventData) -> None:
    event.model.editing = True


def _forget_answers(event: EventData) -> None:
    conv: Conversation = event.model
    conv.answers.clear()
    conv.editing = False
    conv.draft = []
    conv.last_question = ""
