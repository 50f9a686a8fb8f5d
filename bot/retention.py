"""How long the bot keeps what people tell it: one place, read by the clean-up and the ethics pack.

The defaults are the periods the consent notice and the ethics pack promise. A
deployment sets them with RETAIN_UNFINISHED_DAYS, RETAIN_NOT_ELIGIBLE_DAYS and
RETAIN_CLOSED_LEAD_DAYS (bot/config.py); the purge (bot/store/retention.py) and the
ethics pack both read them through `retention_from`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Retention:
    #: A screening nobody finished is erased this many days after its last answer.
    unfinished_days: int = 30
    #: A finished screening without a lead (any outcome, no contact details) is erased this many days after it.
    not_eligible_days: int = 30
    #: A lead the study team has closed is erased this many days after closing.
    closed_lead_days: int = 180


def retention_from(settings: Any = None) -> Retention:
    """The retention periods in force: the deployment's settings (bot.config.Settings) when given, else the defaults."""
    if settings is None:
        return Retention()
    return Retention(
        unfinished_days=settings.retain_unfinished_days,
        not_eligible_days=settings.retain_not_eligible_days,
        closed_lead_days=settings.retain_closed_lead_days,
    )
