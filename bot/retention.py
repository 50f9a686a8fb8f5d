"""How long the bot keeps what people tell it: one place, read by the ethics pack (and the clean-up).

The defaults are the periods the consent notice and the ethics pack promise. A
deployment may set them in `bot/config.py` Settings (`retention_unfinished_days`,
`retention_not_eligible_days`, `retention_closed_lead_days`); when Settings has such a
field, its value wins here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
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
        ]


def retention_from(settings: Any = None) -> Retention:
    """The retention periods in force: Settings' `retention_*` fields when it has them, else the defaults."""
    values: dict[str, int] = {}
    for f in fields(Retention):
        value = getattr(settings, f"retention_{f.name}", None) if settings is not None else None
        if value not in (None, ""):
            values[f.name] = int(value)
    return Retention(**values)
