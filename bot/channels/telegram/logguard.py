"""Keeping the bot token and people's data out of the logs.

httpx logs every request URL at INFO, and the URL holds the token
(`/bot<token>/sendMessage`); python-telegram-bot logs whole updates and message
parameters (names, phone numbers, answers) at DEBUG. So those loggers are held at
WARNING/INFO whatever the configured level, and as a second guard every log record
is scrubbed of the token when it is created, before any handler sees it.
"""

from __future__ import annotations

import logging
import traceback

_secrets: set[str] = set()
_installed = False
REDACTED = "[REDACTED]"

#: Loggers that would write URLs (httpx) or update contents (ptb at DEBUG), with the lowest level allowed.
_QUIETER = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "telegram": logging.INFO}


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    return text


def guard_logs(*secrets: str) -> None:
    """Silence the chatty loggers and scrub these secrets from every record from now on."""
    global _installed
    _secrets.update(s for s in secrets if s)
    for name, lowest in _QUIETER.items():
        logger = logging.getLogger(name)
        if logger.level < lowest:
            logger.setLevel(lowest)
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def scrubbed_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if not _secrets:
            return record
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return record

    logging.setLogRecordFactory(scrubbed_record)
    _installed = True
