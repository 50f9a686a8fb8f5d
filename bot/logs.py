"""Structured log lines that carry a pseudonymous conversation id and never personal data.

`log_event(log, "outcome", conv=conv.id, outcome="needs_review")` writes
`event=outcome conv=3f2a... outcome=needs_review`. The conversation id is random
(not derived from a chat id) and means nothing once the conversation is erased.
Fields that would carry personal data are refused outright, so a careless call
fails in tests instead of leaking in production. Per-conversation events log at
DEBUG by default (SCREENING_LOG_LEVEL=DEBUG shows them), so the terminal chat stays quiet.
"""

from __future__ import annotations

import logging

#: Field names that must never reach a log line.
FORBIDDEN = frozenset(
    {"phone", "name", "username", "text", "answer", "answers", "chat_id", "user_id", "user_key", "token", "key"}
)


def log_event(logger: logging.Logger, event: str, conv: str = "", level: int = logging.DEBUG, **fields: object) -> None:
    """Log one event as key=value pairs; raises ValueError for a field that could hold personal data."""
    bad = FORBIDDEN.intersection(fields)
    if bad:
        raise ValueError(f"log_event: personal data must not be logged ({', '.join(sorted(bad))})")
    if logger.isEnabledFor(level):
        parts = [f"event={event}"] + ([f"conv={conv}"] if conv else []) + [f"{k}={v}" for k, v in fields.items()]
        logger.log(level, " ".join(parts))
