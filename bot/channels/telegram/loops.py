"""The bot's background loops share `PeriodicCheck` with the web chat: it lives in bot/periodic.py."""

from ...periodic import PeriodicCheck

__all__ = ["PeriodicCheck"]
