"""What one page shows, in the order a screen reader meets it, and where the focus lands.

A page is one turn of the chat: what the person did, the replies (thanks, a problem
with the answer, an outcome), then the current question. After a tap the focus moves
to what is new and matters most (WCAG 2.4.3): the outcome's heading when the turn
reached one, else the box to type the answer in, else the question, else the first
reply. chat.js moves it there after swapping the page in and announces the replies
before it in a live region; without JavaScript the new page puts it there itself
(`autofocus`), so both ways a screen reader starts at the new question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Element ids the focus can land on (the templates give each its id).
OUTCOME, ANSWER, PROMPT, FIRST_NOTICE = "outcome-title", "answer", "prompt", "n1"


@dataclass(frozen=True)
class Notice:
    """One reply bubble. `turn` marks what this turn said (announced), not what is shown again for context."""

    id: str
    text: str
    turn: bool
    title: str = ""  # set on the outcome: its headline, drawn as a heading
    body: str = ""


def page_notices(said_now: Sequence[str], context: Sequence[str], outcome_title: str) -> list[Notice]:
    """The reply bubbles: this turn's, then the outcome and its reasons when shown again (a reload, contact steps).

    The outcome's text starts with its headline on a line of its own; that bubble becomes
    a heading and a body, so it stands out and can be reached by heading navigation."""
    notices = []
    for number, (text, turn) in enumerate([*((t, True) for t in said_now), *((t, False) for t in context)], 1):
        title, _newline, body = text.partition("\n")
        if outcome_title and title == outcome_title:
            notices.append(Notice(f"n{number}", text, turn, title=title, body=body))
        else:
            notices.append(Notice(f"n{number}", text, turn))
    return notices


def focus_target(notices: Sequence[Notice], has_prompt: bool, typed: bool) -> str:
    """The id of what the focus moves to after a tap."""
    if any(n.title and n.turn for n in notices):
        return OUTCOME
    if typed:
        return ANSWER
    if has_prompt:
        return PROMPT
    return FIRST_NOTICE if notices else ""


def announced(notices: Sequence[Notice], focus: str) -> list[str]:
    """The ids of this turn's replies that come before the focus target: read out by the live region."""
    if focus in (OUTCOME, FIRST_NOTICE):
        return []
    return [n.id for n in notices if n.turn and not n.title]
