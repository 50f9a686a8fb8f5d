"""How long the bot keeps what people tell it: one place, read by the ethics pack (and the clean-up).

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
    #: The answers of a person found "likely not eligible" are erased after this many days.
    not_eligible_days: int = 30
    #: A lead the study team has closed is erased this many days after closing.
    closed_lead_days: int = 180

    def periods(self) -> list[tuple[str, int]]:
        """(what is kept, days) in plain words, for the ethics pack."""
        return [
            ("Unfinished screenings (answers of people who stopped part way)", self.unfinished_days),
            ("Answers of people found likely not eligible", self.not_eligible_days),
            ("Leads (contact details and answers) after the study team closes them", self.closed_lead_days),
            (
                'Answers of a "not yet" person who asked for a reminder, counted from the day it is sent '
                "(kept until then, as the reminder opt-in says)",
                self.not_eligible_days,
            ),
        ]


def retention_from(settings: Any = None) -> Retention:
    """The retention periods in force: the deployment's settings (bot.config.Settings) when given, else the defaults."""
    if settings is None:
        return Retention()
    return Retention(
        unfinished_days=settings.retain_unfinished_days,
        not_eligible_days=settings.retain_not_eligible_days,
        closed_lead_days=settings.retain_closed_lead_days,
    )
