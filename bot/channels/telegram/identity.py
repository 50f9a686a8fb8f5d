"""The one place a Telegram chat becomes a conversation key.

The raw chat id is personal data (it finds the person's Telegram account), so the
database keys a Telegram conversation by a keyed hash of it instead (the vault's
`pseudonym`): stable across restarts (the hash key lives, encrypted, in the
database), meaningless without the encryption key. Only the reminder table keeps a
way back to the chat, encrypted (bot/store/telegram.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...screening import ScreeningService

CHANNEL = "telegram"


def telegram_user_key(chat_id: int, service: ScreeningService) -> str:
    """The pseudonymous user key of a Telegram private chat (needs the service's vault)."""
    return service.pseudonym(CHANNEL, chat_id)
