"""The screening service: every channel's input becomes one step here (service.py)."""

from .daily_purge import DailyPurge
from .service import Due, Key, ScreeningService
from .trials import Trials
from .upkeep import DueNudge, DueReadyReminder, Upkeep

__all__ = ["DailyPurge", "Due", "DueNudge", "DueReadyReminder", "Key", "ScreeningService", "Trials", "Upkeep"]
