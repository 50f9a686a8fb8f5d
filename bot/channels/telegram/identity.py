"""The one place a Telegram chat becomes a conversation key.

Every lookup of a Telegram conversation goes through `telegram_user_key`, so the
key can later be pseudonymised (e.g. a keyed hash) by changing this function alone.
"""

from __future__ import annotations

CHANNEL = "telegram"


def telegram_user_key(chat_id: int) -> str:
    return str(chat_id)
