"""The Telegram channel (python-telegram-bot v22): see app.py for how it is built and run."""

from .app import TelegramOptions, Webhook, build_application, check_telegram, run_telegram
from .identity import CHANNEL, telegram_user_key

__all__ = [
    "CHANNEL", "TelegramOptions", "Webhook", "build_application", "check_telegram", "run_telegram", "telegram_user_key"
]  # fmt: skip
