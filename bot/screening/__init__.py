"""The screening service: every channel's input becomes one step here (service.py)."""

from .service import Due, Key, ScreeningService
from .trials import Trials
from .upkeep import DueNudge, DueReadyReminder, Upkeep

__all__ = ["Due", "DueNudge", "DueReadyReminder", "Key", "ScreeningService", "Trials", "Upkeep"]
