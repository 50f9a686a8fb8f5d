"""What a channel receives and sends: inputs as actions, outputs as replies.

Every channel (terminal, Telegram, web) turns what a person did into an `Action`
and draws a `Reply` its own way, so the wording and the rules live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class Text:
    """Something typed."""

    text: str


@dataclass(frozen=True, slots=True)
class Choose:
    """A tap on an option of a question; `question` lets a stale tap be told apart."""

    question: str
    option: str


@dataclass(frozen=True, slots=True)
class ChooseMany:
    """A whole multiple-choice answer at once (web checkboxes, Telegram's Done button)."""

    question: str
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Command:
    """A command or a navigation button: start, help, back, restart, privacy, language, delete ...

    `Command("contact", "+8613912345678")` is a shared phone number (e.g. Telegram's
    share-contact button); `Command("skip")` skips the optional name.
    """

    name: str
    arg: str = ""


Action = Text | Choose | ChooseMany | Command

PromptKind = Literal[
    "consent",
    "choice",
    "multi",
    "number",
    "year",
    "phone",
    "text",
    "summary",
    "outcome",
    "finished",
    "language",
    "confirm_delete",
    "reminder",
    "ended",
]


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action: Action


@dataclass(slots=True)
class Prompt:
    """What the person is asked now, with the buttons that answer it."""

    kind: PromptKind
    text: str
    question: str = ""
    options: list[Button] = field(default_factory=list)
    navigation: list[Button] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)
    hint: str = ""


@dataclass(slots=True)
class Reply:
    """Messages to show, in order, then the prompt (None when the conversation has ended).

    `alert` is "crisis" or "emergency" when a typed message may have meant a risk: the
    notices are then help to show at once, and a channel never echoes what was typed."""

    notices: list[str] = field(default_factory=list)
    prompt: Prompt | None = None
    alert: str = ""

    @property
    def ended(self) -> bool:
        return self.prompt is None or self.prompt.kind == "ended"
