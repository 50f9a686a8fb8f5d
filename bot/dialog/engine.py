"""The screening engine: one `transitions` machine (machine.py), built once and shared by every conversation.

A conversation meets the machine only while one input is handled (`Engine.fire`), so
the cost per input does not grow with the number of people mid-screening. The engine
is pure: it decides where a conversation goes and what its answers mean; storing and
showing are for the service and the presenter (bot/screening).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from transitions import MachineError

from . import rules
from .conversation import Conversation
from .flow import (
    CONTACT_STEPS,
    LIKELY_CANDIDATE,
    NEEDS_REVIEW,
    NOT_YET,
    OUTCOMES,
    SUMMARY,
)
from .machine import FlowMachine, consent_needed
from .model import Dialog, Question, SeparateConsent

__all__ = ["Conversation", "Engine", "NotNow"]


class NotNow(Exception):
    """The input cannot apply in the conversation's current state (e.g. 'back' at the first question)."""


class Engine:
    """Runs conversations through one dialog. Pure: the clock is passed in, nothing is stored here."""

    def __init__(self, dialog: Dialog, today: Callable[[], date] = date.today, contact_capture: bool = True) -> None:
        self.dialog = dialog
        self.today = today
        #: Whether contact is offered after an outcome (a deployment with the encryption vault).
        self.contact_capture = contact_capture
        self.flow = FlowMachine(dialog, today)
        self.machine = self.flow.machine
        self.first_question = self.flow.first_question
        self.chain = self.flow.chain

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
                if consent_needed(conv, consent):
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

    consent_needed = staticmethod(consent_needed)

    def give_consent(self, conv: Conversation, at: str) -> None:
        """The person agreed to the separate consent asked now: note its version and time, and go on."""
        consent = self.current_consent(conv)
        if consent is None:
            raise NotNow("give_consent")
        conv.consents[consent.id] = {"version": consent.version, "at": at}
        self.fire(conv, "next")

    def may_keep_health_data(self, conv: Conversation) -> bool:
        """True once every separate consent for sensitive (health) data on this channel was given."""
        return not any(consent_needed(conv, c) for c in self.dialog.consents if c.kind == "sensitive_data")

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
        """One step back: within contact capture to the step before, else out of the outcome."""
        conv.draft = []
        self.fire(conv, "back")
        if self.dialog.has_question(conv.state) or conv.state == SUMMARY:
            conv.outcome = ""

    def restart(self, conv: Conversation) -> None:
        conv.outcome = ""
        self.fire(conv, "restart")

    def edit(self, conv: Conversation, question_id: str) -> None:
        if question_id not in conv.answers:
            raise NotNow("edit")
        self.fire(conv, "edit", question=question_id)

    def confirm(self, conv: Conversation) -> None:
        self.fire(conv, "confirm")

    # ------------------------------------------------------------------ after an outcome

    def urgent_reason(self, conv: Conversation) -> str:
        """Why the study team should reach this person first, or "" when nothing suggests a risk:
        the ids of questions answered with a risk answer, and "typed_risk" after a typed message
        that may have meant a risk of suicide (comma-separated)."""
        reasons = rules.safety_answers(self.dialog, conv.answers, self.today())
        if conv.risk_signal:
            reasons.append("typed_risk")
        return ",".join(reasons)

    def contact_offered(self, conv: Conversation) -> bool:
        """Contact is offered to possible candidates, to people whose answers need a check, and to
        anyone who may be at risk, whatever the outcome."""
        if not self.contact_capture:
            return False
        return conv.outcome in (LIKELY_CANDIDATE, NEEDS_REVIEW) or bool(self.urgent_reason(conv))

    def after_outcome(self, conv: Conversation, reminder_on_offer: bool) -> None:
        """What follows an outcome just reached, or the end of contact capture: contact first (when
        offered), then the reminder offer (`reminder_on_offer`: the service found it may be offered)."""
        if conv.state in OUTCOMES and self.contact_offered(conv):
            self.fire(conv, "offer_contact")
        elif conv.outcome == NOT_YET and reminder_on_offer and conv.state not in CONTACT_STEPS:
            self.fire(conv, "offer_reminder")

    # ------------------------------------------------------------------ reading the answers

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
