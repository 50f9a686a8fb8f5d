"""The screening flow as data: every state and transition of the one `transitions` machine.

The chain: consent, one state per question in dialog order (each separate consent just
before its question), the summary, the outcomes; then what follows an outcome, as states
of the same machine, so the ethics pack's picture shows them: contact capture (its own
consent, then phone, name, time, language) and the offer of a reminder on the "not yet"
date. Skips are not extra edges: entering a question that does not apply (its `ask_if`
fails), or a separate consent already given or not for this channel, passes straight on
in the same direction. "Back" steps over separate consents: a consent is asked once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from typing import Any

from transitions import EventData, Machine

from . import rules
from .conversation import Conversation
from .flow import (
    AFTER_OUTCOME,
    AT_REST,
    CONSENT,
    CONTACT_CONSENT,
    CONTACT_DECLINED,
    CONTACT_DONE,
    CONTACT_LANGUAGE,
    CONTACT_NAME,
    CONTACT_PHONE,
    CONTACT_STEPS,
    CONTACT_TIME,
    DECLINED,
    FINISHED,
    LIKELY_CANDIDATE,
    NEEDS_REVIEW,
    NOT_ELIGIBLE,
    NOT_YET,
    OUTCOMES,
    REMINDER_OFFER,
    SUMMARY,
)
from .model import Dialog, SeparateConsent


class FlowMachine:
    """Builds the machine for one dialog; its callbacks are pure (the clock is passed in)."""

    def __init__(self, dialog: Dialog, today: Callable[[], date]) -> None:
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
            states=self.states(),
            transitions=self.transitions(),
            initial=CONSENT,
            send_event=True,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )

    def state_names(self) -> list[str]:
        return [CONSENT, *self.chain, SUMMARY, *OUTCOMES, *CONTACT_STEPS, CONTACT_DONE, CONTACT_DECLINED,
                REMINDER_OFFER, FINISHED, DECLINED]  # fmt: skip

    def states(self) -> list[dict[str, Any]]:
        states: list[dict[str, Any]] = [{"name": CONSENT}]
        states += [{"name": step, "on_enter": [self._pass_if_not_needed]} for step in self.chain]
        states.append({"name": SUMMARY, "on_enter": [self._tidy_for_summary]})
        states += [{"name": name} for name in (*OUTCOMES, *CONTACT_STEPS, CONTACT_DONE, CONTACT_DECLINED)]
        states += [{"name": REMINDER_OFFER}, {"name": FINISHED}, {"name": DECLINED, "final": True}]
        return states

    def transitions(self) -> list[dict[str, Any]]:
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
        after_outcome = [s for s in AFTER_OUTCOME if s not in CONTACT_STEPS[1:]]
        for qid in ids:
            t.append({"trigger": "back", "source": after_outcome, "dest": qid, "conditions": [_ruled_out_at(qid)]})
            t.append(
                {
                    "trigger": "edit",
                    "source": SUMMARY,
                    "dest": qid,
                    "conditions": [_edit_target_is(qid)],
                    "before": [_start_editing],
                }
            )
        t.append({"trigger": "back", "source": after_outcome, "dest": SUMMARY, "unless": [_was_ruled_out]})
        for outcome in (NOT_ELIGIBLE, NOT_YET, NEEDS_REVIEW):
            t.append({"trigger": "confirm", "source": SUMMARY, "dest": outcome, "conditions": [self._is(outcome)]})
        t.append({"trigger": "confirm", "source": SUMMARY, "dest": LIKELY_CANDIDATE})
        t += self._after_outcome()
        t.append(
            {
                "trigger": "restart",
                "source": [s for s in self.state_names() if s != CONSENT],
                "dest": self.first_question,
                "before": [_forget_answers],
            }
        )
        return t

    def _after_outcome(self) -> list[dict[str, Any]]:
        """Contact capture and the reminder offer: entered by the service once an outcome is recorded."""
        t: list[dict[str, Any]] = [
            {"trigger": "offer_contact", "source": list(OUTCOMES), "dest": CONTACT_CONSENT},
            {"trigger": "agree", "source": CONTACT_CONSENT, "dest": CONTACT_PHONE},
            {"trigger": "decline", "source": CONTACT_CONSENT, "dest": CONTACT_DECLINED},
            {"trigger": "offer_reminder", "source": [NOT_YET, CONTACT_DONE, CONTACT_DECLINED], "dest": REMINDER_OFFER},
            {"trigger": "agree", "source": REMINDER_OFFER, "dest": FINISHED},
            {"trigger": "decline", "source": REMINDER_OFFER, "dest": FINISHED},
        ]
        steps = [CONTACT_PHONE, CONTACT_NAME, CONTACT_TIME, CONTACT_LANGUAGE, CONTACT_DONE]
        for here, after in itertools.pairwise(steps):
            t.append({"trigger": "next", "source": here, "dest": after})
        for before, here in itertools.pairwise(CONTACT_STEPS):
            t.append({"trigger": "back", "source": here, "dest": before})
        return t

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
            conv: Conversation = event.model
            return rules.outcome_of(rules.assess(self.dialog, conv.answers, self.today())) == outcome

        return test

    def _pass_if_not_needed(self, event: EventData) -> None:
        """Skip a question that does not apply, or (when editing) one already answered; and a
        separate consent already given, or not asked on this channel."""
        conv: Conversation = event.model
        consent = self.dialog.separate_consent(conv.state)
        if consent is not None:
            if not consent_needed(conv, consent):
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


def consent_needed(conv: Conversation, consent: SeparateConsent) -> bool:
    """A separate consent is asked when it applies to the channel and this version was not given."""
    given = conv.consents.get(consent.id, {})
    return consent.applies_to(conv.channel) and given.get("version") != consent.version


def _ruled_out_at(question_id: str) -> Callable[[EventData], bool]:
    def test(event: EventData) -> bool:
        conv: Conversation = event.model
        return conv.outcome == NOT_ELIGIBLE and conv.last_question == question_id

    return test


def _was_ruled_out(event: EventData) -> bool:
    return bool(event.model.outcome == NOT_ELIGIBLE)


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


__all__ = ["AT_REST", "FlowMachine", "consent_needed"]
