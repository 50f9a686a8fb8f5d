"""What a channel receives and sends: inputs as actions, outputs as replies.

Every channel (terminal, Telegram, web) turns what a person did into an `Action`
and draws a `Reply` its own way, so the wording and the rules live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .i18n import _

# What every channel says when something fails on our side, in the same words.
#: An answer could not be stored (a full disk, a locked database).
NOT_SAVED = _(
    "Sorry, your last answer could not be saved just now. Your earlier answers are safe. Please try again later."
)
#: The screening could not even be shown (the web chat's page, for the same reasons).
UNAVAILABLE = _(
    "Sorry, the screening is not available just now. Your answers so far are safe. Please try again in a few minutes."
)
#: Asked when a deployment screens for several trials and nothing tells which one a person means (a chat's
#: first message, Telegram's /start alone, the terminal without --trial): each channel lists the trials.
WHICH_STUDY = _(
    "This chat has the questions for more than one study. Which study would you like to answer questions for?"
)
#: Anything else that failed (a bug); the incident id is in the log line about it.
SOMETHING_WENT_WRONG = _(
    "Sorry, something went wrong on our side. Your answers so far are safe. "
    "Please try again in a moment. (Reference: {incident})"
)


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
    notices are then help to show at once, and a channel never echoes what was typed.
    `language` is the conversation's language after the step, so a channel words its own
    additions (an echoed answer, a notice) the same way without reading the conversation again."""

    notices: list[str] = field(default_factory=list)
    prompt: Prompt | None = None
    alert: str = ""
    language: str = ""

    @property
    def ended(self) -> bool:
        return self.prompt is None or self.prompt.kind == "ended"
