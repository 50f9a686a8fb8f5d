"""The last reply of a web session, as text to keep in SQLite between a post and the page after it.

A post is answered with a redirect; the page after it shows what the post's reply said.
That reply is kept in the database (bot/store/web_state.py), not in the process, so the
page may be drawn by another worker. Its buttons are kept with their actions (bot/replies.py:
a choice, several, a command, typed text), read back without a check: only this module writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ...replies import Button, Choose, ChooseMany, Command, Prompt, Text


@dataclass
class Turn:
    """What the last post showed (what was said, the notices, the prompt), to draw after the redirect.

    `step` is where the conversation stood after the post (app.step_token): the turn is shown
    only while it still stands there. `alert` is set when the notices are help for a person
    who may be at risk (Reply.alert). `after_tap` is true for the reply to a tap (kept, or
    shown at once), false for the current step shown afresh."""

    step: str
    said: str
    notices: list[str]
    prompt: Prompt | None
    alert: str = ""
    after_tap: bool = False


def _button(button: Button) -> list[Any]:
    action = button.action
    if isinstance(action, Choose):
        return [button.label, "choose", action.question, action.option]
    if isinstance(action, ChooseMany):
        return [button.label, "many", action.question, list(action.options)]
    if isinstance(action, Command):
        return [button.label, "command", action.name, action.arg]
    return [button.label, "text", action.text]


def _unbutton(data: list[Any]) -> Button:
    label, kind, *values = data
    if kind == "choose":
        return Button(label, Choose(values[0], values[1]))
    if kind == "many":
        return Button(label, ChooseMany(values[0], tuple(values[1])))
    if kind == "command":
        return Button(label, Command(values[0], values[1]))
    if kind == "text":
        return Button(label, Text(values[0]))
    raise ValueError(f"a stored button of an unknown kind: {kind!r}")


def dump(turn: Turn) -> str:
    prompt = turn.prompt
    stored: dict[str, Any] = {"step": turn.step, "said": turn.said, "notices": turn.notices, "alert": turn.alert}
    if prompt is not None:
        stored["prompt"] = {
            "kind": prompt.kind,
            "text": prompt.text,
            "question": prompt.question,
            "options": [_button(b) for b in prompt.options],
            "navigation": [_button(b) for b in prompt.navigation],
            "selected": prompt.selected,
            "hint": prompt.hint,
        }
    return json.dumps(stored, ensure_ascii=False, separators=(",", ":"))


def load(text: str) -> Turn:
    stored = json.loads(text)
    prompt = None
    if (p := stored.get("prompt")) is not None:
        prompt = Prompt(
            p["kind"],
            p["text"],
            question=p["question"],
            options=[_unbutton(b) for b in p["options"]],
            navigation=[_unbutton(b) for b in p["navigation"]],
            selected=p["selected"],
            hint=p["hint"],
        )
    return Turn(stored["step"], stored["said"], stored["notices"], prompt, stored["alert"], after_tap=True)
