"""Structured log lines that carry a pseudonymous conversation id and never personal data.

`log_event(log, "outcome", conv=conv.id, outcome="needs_review")` writes
`event=outcome conv=3f2a... outcome=needs_review`. The conversation id is random
(not derived from a chat id) and means nothing once the conversation is erased.
Fields that would carry personal data are refused outright, so a careless call
fails in tests instead of leaking in production. Per-conversation events log at
DEBUG by default (SCREENING_LOG_LEVEL=DEBUG shows them), so the terminal chat stays quiet.

Secrets (the bot token, the encryption key, the web secret) are removed from every
record (`keep_secrets_out`), and `OneLineFormatter` writes each record on one line:
an exception becomes its type and where it happened, never a multi-line traceback,
and its message only when it comes from the system or a library (a message of our
own code may quote what someone typed).
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

#: Field names that must never reach a log line.
FORBIDDEN = frozenset(
    {"phone", "name", "username", "text", "answer", "answers", "chat_id", "user_id", "user_key", "token", "key"}
)
REDACTED = "[REDACTED]"
#: Exceptions from these modules (and every OSError) describe the system, not a person: their message is kept.
_SAFE_MESSAGE_MODULES = ("sqlite3", "telegram", "httpx", "httpcore", "h11", "ssl", "socket", "uvicorn", "tornado")
_PROJECT = Path(__file__).resolve().parent.parent
_secrets: set[str] = set()
_factory_installed = False


def log_event(logger: logging.Logger, event: str, conv: str = "", level: int = logging.DEBUG, **fields: object) -> None:
    """Log one event as key=value pairs; raises ValueError for a field that could hold personal data."""
    bad = FORBIDDEN.intersection(fields)
    if bad:
        raise ValueError(f"log_event: personal data must not be logged ({', '.join(sorted(bad))})")
    if logger.isEnabledFor(level):
        parts = [f"event={event}"] + ([f"conv={conv}"] if conv else []) + [f"{k}={v}" for k, v in fields.items()]
        logger.log(level, " ".join(parts))


# ---------------------------------------------------------------------- secrets


def redact(text: str) -> str:
    """The text with every registered secret replaced by [REDACTED]."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def keep_secrets_out(*secrets: str) -> None:
    """Remove these secrets from every log record from now on, before any handler sees it.

    A bot token is also registered without its public part (the bot id before the colon),
    so it is caught where a URL or a message carries only the secret half. Several keys
    in one value (SCREENING_KEY="new,old") are registered one by one.
    """
    global _factory_installed
    for value in secrets:
        for secret in [value, *value.replace(",", "\n").splitlines()]:
            secret = secret.strip()
            if len(secret) >= 8:
                _secrets.add(secret)
            _, colon, secret_half = secret.partition(":")
            if colon and len(secret_half) >= 16:
                _secrets.add(secret_half)
    if _factory_installed or not _secrets:
        return
    make_record = logging.getLogRecordFactory()

    def scrubbed_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    logging.setLogRecordFactory(scrubbed_record)
    _factory_installed = True


# ---------------------------------------------------------------------- exceptions on one line


def _where(filename: str) -> str:
    """A frame's file, short: `telegram/_bot.py` for a library, `bot/cli.py` for ours."""
    path = Path(filename)
    parts = path.parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1 :])
    try:
        return str(path.resolve().relative_to(_PROJECT))
    except ValueError:
        return "/".join(parts[-2:])  # the standard library: json/decoder.py


def exception_summary(exc: BaseException, frames: int = 6) -> str:
    """`KeyError in bot/staff.py:120 cmd_leads_show < bot/cli.py:130 main`: the innermost frames first.

    The message is kept only for system and library errors (e.g. `OSError: [Errno 28] No space
    left on device`); for anything else only the type, since our own messages may quote input.
    What caused it (`raise ... from`, or an error while handling another) follows after `caused by`.
    """
    name = type(exc).__name__
    module = type(exc).__module__.split(".")[0]
    text = f"{module}.{name}" if module not in ("builtins", "__main__") else name
    if isinstance(exc, OSError) or module in _SAFE_MESSAGE_MODULES:
        message = " ".join(str(exc).split())[:300]
        if message:
            text += f": {message}"
    stack = traceback.extract_tb(exc.__traceback__)[::-1][:frames]
    if stack:
        text += " in " + " < ".join(f"{_where(f.filename)}:{f.lineno} {f.name}" for f in stack)
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if cause is not None and cause is not exc:
        text += f"; caused by {exception_summary(cause, frames=2)}"
    return redact(text)


class OneLineFormatter(logging.Formatter):
    """`2026-11-25 10:00:00,000 ERROR bot incident 3fa2c1: KeyError in bot/...`: one record, one line.

    A supervisor's log (journald, docker logs) then holds no tracebacks and no secrets, and
    `grep incident` finds every reported failure."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def, override]
        return exception_summary(ei[1]) if ei and ei[1] is not None else ""

    def format(self, record: logging.LogRecord) -> str:
        kept = record.exc_text, record.stack_info
        record.exc_text, record.stack_info = None, None  # drawn again on one line, not the scrubbed traceback
        try:
            text = super().format(record)
        finally:
            record.exc_text, record.stack_info = kept
        return redact(" | ".join(line.strip() for line in text.splitlines() if line.strip()))
