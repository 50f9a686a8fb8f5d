"""The names of the flow: every state a conversation can be in besides its questions, and the reminder's answers.

One enum per domain, so a word means one thing: `State.DECLINED` is a person who did not
agree to the consent notice, `State.CONTACT_DECLINED` one who said no to being contacted,
`ReminderStatus.DECLINED` a "no, thank you" to the reminder offer. The values are what
the database stores. A dialog file cannot name a question or a consent after any state
(the loader refuses it), so a question can never be mistaken for a step of the flow.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where a conversation is, besides at a question or a separate consent of the dialog file."""

    #: The consent notice, before anything else.
    CONSENT = "consent"
    #: The answers, shown to check before the outcome.
    SUMMARY = "summary"
    #: The person did not agree to the consent notice (or a separate consent): nothing is kept.
    DECLINED = "declined"
    # The outcomes, in the trial's words.
    LIKELY_CANDIDATE = "likely_candidate"
    NEEDS_REVIEW = "needs_review"
    NOT_ELIGIBLE = "not_eligible"
    NOT_YET = "not_yet"
    # Contact capture, after an outcome that offers it (a separate consent, then the details).
    CONTACT_CONSENT = "contact_consent"
    CONTACT_PHONE = "contact_phone"
    CONTACT_NAME = "contact_name"
    CONTACT_TIME = "contact_time"
    CONTACT_LANGUAGE = "contact_language"
    CONTACT_DONE = "contact_done"
    CONTACT_DECLINED = "contact_declined"
    # The offer of one reminder on the date a "not yet" person may meet the time rules.
    REMINDER_OFFER = "reminder_offer"
    #: The end after the reminder offer was answered.
    FINISHED = "finished"


class ReminderStatus(StrEnum):
    """The reminder on the ready date: agreed -> sent (or stopped / closed); declined is a "no, thank you"."""

    AGREED = "agreed"
    DECLINED = "declined"
    SENT = "sent"
    STOPPED = "stopped"
    CLOSED = "closed"


# The same names as plain text, as the machine and the database hold them (transitions reads an Enum
# state by its member name, "NOT_YET", not by its value).
CONSENT, SUMMARY, DECLINED = State.CONSENT.value, State.SUMMARY.value, State.DECLINED.value
LIKELY_CANDIDATE, NEEDS_REVIEW = State.LIKELY_CANDIDATE.value, State.NEEDS_REVIEW.value
NOT_ELIGIBLE, NOT_YET = State.NOT_ELIGIBLE.value, State.NOT_YET.value
OUTCOMES = (LIKELY_CANDIDATE, NEEDS_REVIEW, NOT_ELIGIBLE, NOT_YET)
CONTACT_CONSENT, CONTACT_PHONE = State.CONTACT_CONSENT.value, State.CONTACT_PHONE.value
CONTACT_NAME, CONTACT_TIME = State.CONTACT_NAME.value, State.CONTACT_TIME.value
CONTACT_LANGUAGE = State.CONTACT_LANGUAGE.value
CONTACT_DONE, CONTACT_DECLINED = State.CONTACT_DONE.value, State.CONTACT_DECLINED.value
REMINDER_OFFER, FINISHED = State.REMINDER_OFFER.value, State.FINISHED.value
#: The steps of contact capture, in order (each asks one thing).
CONTACT_STEPS = (CONTACT_CONSENT, CONTACT_PHONE, CONTACT_NAME, CONTACT_TIME, CONTACT_LANGUAGE)
#: Where a finished screening rests: the outcome itself, or the end of what was offered after it.
AT_REST = (*OUTCOMES, CONTACT_DONE, CONTACT_DECLINED, FINISHED)
#: Every state after an outcome: the conversation has an outcome while it is in one of these.
AFTER_OUTCOME = (*AT_REST, *CONTACT_STEPS, REMINDER_OFFER)
#: Names a dialog file cannot give a question or a consent.
RESERVED = frozenset(state.value for state in State)
