"""Read-only queries the study team's views need beyond leads and counters (issue 19).

Counts for the console's statistics (by campaign source, by week, how far leads got)
and the answers behind a lead, for its page. The counts come from the rows still kept:
a screening removed by retention or erased is in the anonymous counters only, which
have no source or week (see bot/store/audit.py).
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

#: Statuses a lead reaches once the study team has spoken with the person.
REACHED = ("contacted", "visit_booked", "enrolled")


class StaffViews:
    """The statistics' queries and a lead's answers, as a repository of the unit of work (storage.py)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def outcomes_by_source(self, dialog_id: str | None = None) -> list[dict[str, Any]]:
        """(source, outcome, count) for finished screenings still kept, of one trial or (None) all; "" is no
        campaign."""
        where, params = (" AND dialog_id = ?", [dialog_id]) if dialog_id is not None else ("", [])
        return list(
            self.db.query(
                f"SELECT source, outcome, COUNT(*) AS count FROM conversations WHERE outcome != ''{where}"
                " GROUP BY source, outcome ORDER BY source, outcome",
                params,
            )
        )

    def outcomes_by_week(self, since: str, dialog_id: str | None = None) -> list[dict[str, Any]]:
        """(week's Monday as YYYY-MM-DD, outcome, count) of outcomes decided since `since`, from the outcome
        history (a screening done again counts again), of one trial or (None) all."""
        where, params = (
            (" AND conversation_id IN (SELECT id FROM conversations WHERE dialog_id = ?)", [dialog_id])
            if dialog_id is not None
            else ("", [])
        )
        return list(
            self.db.query(
                "SELECT date(substr(decided_at, 1, 10), '-' || ((CAST(strftime('%w', substr(decided_at, 1, 10))"
                " AS INTEGER) + 6) % 7) || ' days') AS week, outcome, COUNT(*) AS count FROM outcomes"
                f" WHERE decided_at >= ?{where} GROUP BY week, outcome ORDER BY week",
                [since, *params],
            )
        )

    def leads_reached(self, dialog_id: str | None = None) -> tuple[int, int]:
        """(leads the team has spoken with, leads enrolled), among the leads still kept, from their history;
        of one trial or (None) all."""
        where, params = (
            (" AND lead_id IN (SELECT id FROM leads WHERE dialog_id = ?)", [dialog_id])
            if dialog_id is not None
            else ("", [])
        )
        marks = ", ".join("?" for _ in REACHED)
        reached = next(
            self.db.query(
                f"SELECT COUNT(DISTINCT lead_id) AS c FROM lead_history WHERE status IN ({marks}){where}",
                [*REACHED, *params],
            )
        )["c"]
        enrolled = next(
            self.db.query(
                f"SELECT COUNT(DISTINCT lead_id) AS c FROM lead_history WHERE status = 'enrolled'{where}", params
            )
        )["c"]
        return reached, enrolled

    def answers_of(self, conversation_id: str) -> dict[str, Any]:
        """A conversation's current answers ({question id: {"value": ...}}), {} when it is gone."""
        rows = list(self.db.query("SELECT answers FROM conversations WHERE id = ?", [conversation_id]))
        return json.loads(rows[0]["answers"]) if rows else {}
