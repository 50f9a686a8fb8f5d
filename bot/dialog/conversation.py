"""One person's screening as plain data: where they are and what they said. Easy to store, nothing bound to it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from .flow import CONSENT


@dataclass(eq=False)
class Conversation:
    """One person's screening. `state` is a question id, a separate consent id, or a `flow.State`."""

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
    #: The outcome reached ("" before one, and again after going back from it).
    outcome: str = ""
    contact_consent_version: str = ""
    contact_consented_at: str = ""
    #: Separate consents given (PIPL): consent id -> {"version": ..., "at": ...}; kept across restarts.
    consents: dict[str, dict[str, str]] = field(default_factory=dict)
    #: A typed message may have meant a risk of suicide (the text itself is never kept).
    risk_signal: bool = False
    #: Answers given since the last save, oldest first: the store appends them to the history.
    new_answers: list[tuple[str, Any]] = field(default_factory=list)
