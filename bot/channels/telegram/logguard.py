"""Keeping the bot token and people's data out of the logs.

httpx logs every request URL at INFO, and the URL holds the token
(`/bot<token>/sendMessage`); python-telegram-bot logs whole updates and message
parameters (names, phone numbers, answers) at DEBUG, and the token itself when
it sets the API URL. So those loggers are held at WARNING/INFO whatever the
configured level, and as a second guard every log record is scrubbed of the token
when it is created, before any handler sees it (bot/logs.py, `keep_secrets_out`).
`screening-bot` registers the token at start-up, before anything can log it; the
tests and the benchmark, which build the application directly, get it here.
"""

from __future__ import annotations

import logging

from ...logs import REDACTED, keep_secrets_out, redact

__all__ = ["REDACTED", "guard_logs", "redact"]

#: Loggers that would write URLs (httpx) or update contents (ptb at DEBUG), with the lowest level allowed.
_QUIETER = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "telegram": logging.INFO}


def guard_logs(*secrets: str) -> None:
    """Silence the chatty loggers and scrub these secrets from every record from now on."""
    keep_secrets_out(*secrets)
    for name, lowest in _QUIETER.items():
        logger = logging.getLogger(name)
        if logger.level < lowest:
            logger.setLevel(lowest)
