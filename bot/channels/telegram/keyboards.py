"""Buttons on the wire: a Prompt as an inline keyboard, and callback_data back into an Action.

callback_data is `c|<question>|<option>` for an option or `k|<tag>|<command>|<arg>` for a
command button. The tag is the prompt the button was drawn for (its question id, or
"summary"/"finished"), so a tap on an old message is recognised as stale instead of
answering whatever is asked now. "*" marks prompts that are not a dialog step
(language menu, delete confirmation): their buttons are never stale.

When the bot screens for several trials, every button also names the trial it was drawn
for (`<dialog id>/c|...`), so a tap goes to that trial's conversation whatever the person
answered last; `t|<dialog id>` is a button of the "which study?" menu.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from ...replies import Action, Button, Choose, Command, Prompt

#: Telegram's limit for callback_data, in bytes.
CALLBACK_DATA_LIMIT = 64
ANY_STEP = "*"
CHECKED = "✓ "
_SEP = "|"
_TRIAL = "/"
_STUDY = "t"  # not "s": the staff desk's buttons start with "s|"


def prompt_tag(prompt: Prompt | None) -> str:
    """Which dialog step a prompt belongs to; '' when nothing is asked."""
    if prompt is None or prompt.kind == "ended":
        return ""
    if prompt.kind in ("language", "confirm_delete", "reminder"):
        return ANY_STEP
    return prompt.question or prompt.kind


def encode(tag: str, action: Action, trial: str = "") -> str:
    """A button's callback_data; `trial` (with several trials) names the trial it was drawn for."""
    if isinstance(action, Choose):
        data = _SEP.join(("c", action.question, action.option))
    elif isinstance(action, Command):
        data = _SEP.join(("k", tag, action.name, action.arg))
    else:
        raise ValueError(f"no button for {type(action).__name__}")
    if trial:
        data = f"{trial}{_TRIAL}{data}"
    if len(data.encode()) > CALLBACK_DATA_LIMIT:
        raise ValueError(f"callback_data too long ({len(data.encode())} bytes): {data}")
    return data


def trial_of(data: str) -> str:
    """The trial a button was drawn for ("" when the bot screens for one trial)."""
    head, sep, _rest = data.partition(_TRIAL)
    return head if sep and _SEP not in head else ""


def study_button(dialog_id: str) -> str:
    """The callback_data of one trial in the "which study?" menu."""
    return _SEP.join((_STUDY, dialog_id))


def chosen_study(data: str) -> str | None:
    """The trial a "which study?" button picks, or None for any other button."""
    kind, sep, dialog_id = data.partition(_SEP)
    return dialog_id if kind == _STUDY and sep and dialog_id and _SEP not in dialog_id else None


def decode(data: str) -> tuple[str, Action] | None:
    """(tag, action) from callback_data (its trial, if any, is `trial_of`), or None for data this bot never made."""
    if trial_of(data):
        data = data.partition(_TRIAL)[2]
    parts = data.split(_SEP)
    if parts[0] == "c" and len(parts) == 3 and all(parts[1:]):
        return parts[1], Choose(parts[1], parts[2])
    if parts[0] == "k" and len(parts) == 4 and parts[1] and parts[2]:
        return parts[1], Command(parts[2], parts[3])
    return None


def option_id(action: Action) -> str:
    return action.option if isinstance(action, Choose) else ""


def keyboard(prompt: Prompt, trial: str = "") -> InlineKeyboardMarkup | None:
    """One option per row (labels are long sentences), navigation together on the last row; `trial` names
    the trial in every button when the bot screens for several."""
    tag = prompt_tag(prompt)

    def button(b: Button) -> tuple[str, str]:
        ticked = prompt.kind == "multi" and option_id(b.action) in prompt.selected
        return (CHECKED if ticked else "") + b.label, encode(tag, b.action, trial)

    rows = tuple((button(b),) for b in prompt.options)
    if prompt.navigation:
        rows += (tuple(button(b) for b in prompt.navigation),)
    return _markup(rows) if rows else None


class SharedKeyboard(InlineKeyboardMarkup):
    """A keyboard shared by every chat at the same question, in the same language (`_markup`).

    ptb puts a keyboard into a request through its public `to_dict()`, which walks every button
    at every send. A shared keyboard never changes (ptb objects are immutable), so its dict is made
    once, and each send gets a fresh copy of it."""

    __slots__ = ("_wire",)

    def __init__(self, inline_keyboard: Sequence[Sequence[InlineKeyboardButton]]) -> None:
        super().__init__(inline_keyboard)
        object.__setattr__(self, "_wire", super().to_dict())  # our own slot, set once

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        if not recursive:
            return super().to_dict(recursive=False)
        wire: dict[str, Any] = self._wire
        return {**wire, "inline_keyboard": [[dict(button) for button in row] for row in wire["inline_keyboard"]]}


@lru_cache(maxsize=1024)
def _markup(rows: tuple[tuple[tuple[str, str], ...], ...]) -> InlineKeyboardMarkup:
    """The same question in the same language gets the same keyboard: built once (ptb objects are
    immutable, so sharing them is safe). Building them was a tenth of the bot's time per update."""
    return SharedKeyboard([[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows])


def prompt_text(prompt: Prompt) -> str:
    return f"{prompt.text}\n\n{prompt.hint}" if prompt.hint else prompt.text


def tapped_label(markup: InlineKeyboardMarkup | None, data: str) -> str:
    """The label of the button that carried `data`, as the person saw it (without a tick)."""
    for row in markup.inline_keyboard if markup else ():
        for b in row:
            if b.callback_data == data:
                return b.text.removeprefix(CHECKED)
    return ""


def ticked_labels(markup: InlineKeyboardMarkup | None) -> list[str]:
    return [
        b.text.removeprefix(CHECKED)
        for row in (markup.inline_keyboard if markup else ())
        for b in row
        if b.text.startswith(CHECKED)
    ]
