"""Conversations, their answer history and outcomes, in SQLite.

A conversation is one row holding its current state and answers (so loading it is
one read), plus an append-only history of every answer and every outcome, so a
changed answer never erases what was said before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlite_utils

from ..dialog.engine import Conversation
from ..dialog.model import Dialog
from ..dialog.rules import Finding
from . import audit
from .transactions import after_commit, now_iso, transaction
from .wipe import request_wipe

__all__ = ["ConversationStore", "Stored", "after_commit", "now_iso", "transaction"]

#: The columns `load` reads: each is the Conversation field of the same name.
_LOAD_COLUMNS = (
    "id", "channel", "user_key", "source", "state", "language", "answers", "editing", "last_question", "draft",
    "consent_version", "consented_at", "outcome", "contact_consent_version", "contact_consented_at",
    "consents", "risk_signal",
)  # fmt: skip
_LOAD_SQL = f"SELECT {', '.join(_LOAD_COLUMNS)} FROM conversations WHERE channel = ? AND user_key = ? AND dialog_id = ?"


#: Never rewritten once the row exists (a conversation keeps its id, its person and its trial), so the
#: update leaves the (channel, user_key, dialog_id) index page alone: one page less per commit.
_KEY_COLUMNS = ("id", "channel", "user_key", "dialog_id")


@cache
def _save_sql(columns: tuple[str, ...]) -> str:
    """The UPSERT for these columns (created_at only on the first insert); cached: every accepted input saves."""
    updated = ", ".join(f"{k} = excluded.{k}" for k in columns if k not in _KEY_COLUMNS)
    return (
        f"INSERT INTO conversations ({', '.join(columns)}, created_at) VALUES ({', '.join('?' for _ in columns)}, ?)"
        f" ON CONFLICT(id) DO UPDATE SET {updated}"
    )


#: json.dumps(..., ensure_ascii=False) builds a new encoder per call; this one is reused (same output).
_to_json = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class Stored:
    """One of a person's conversations, as another trial's service sees it: which trial, and how far."""

    id: str
    dialog_id: str
    state: str
    outcome: str
    updated_at: str


class ConversationStore:
    """Load and save conversations for one dialog (one trial): a person has one conversation per trial."""

    def __init__(self, db: sqlite_utils.Database, dialog: Dialog) -> None:
        self.db = db
        self.dialog = dialog

    def load(self, channel: str, user_key: str) -> Conversation | None:
        """One plain SELECT: called for every update, so no sqlite-utils query wrapper (its
        SAVEPOINT/RELEASE around a read triples the statements)."""
        row = self.db.execute(_LOAD_SQL, [channel, user_key, self.dialog.id]).fetchone()
        if row is None:
            return None
        fields = dict(zip(_LOAD_COLUMNS, row, strict=True))
        fields["answers"] = json.loads(fields["answers"])
        fields["draft"] = json.loads(fields["draft"])
        fields["editing"] = bool(fields["editing"])
        fields["consents"] = json.loads(fields["consents"])
        fields["risk_signal"] = bool(fields["risk_signal"])
        return Conversation(**fields)

    def save(self, conv: Conversation, findings: list[Finding] | None = None, ready_from: str = "") -> None:
        """Write the conversation, its new answers and (when given) its outcome in one transaction."""
        stamp = now_iso()
        row = {
            "id": conv.id,
            "channel": conv.channel,
            "user_key": conv.user_key,
            "status": "finished" if conv.outcome else "active",
            "state": conv.state,
            "language": conv.language,
            "respondent": self.dialog.respondent_of(conv.answers),
            "answers": _to_json(conv.answers),
            "editing": int(conv.editing),
            "last_question": conv.last_question,
            "draft": json.dumps(conv.draft),
            "outcome": conv.outcome,
            "dialog_id": self.dialog.id,
            "dialog_version": self.dialog.version,
            "dialog_hash": self.dialog.content_hash,
            "consent_version": conv.consent_version,
            "consented_at": conv.consented_at,
            "source": conv.source,
            "contact_consent_version": conv.contact_consent_version,
            "contact_consented_at": conv.contact_consented_at,
            "consents": _to_json(conv.consents),
            "risk_signal": int(conv.risk_signal),
            "updated_at": stamp,
        }
        with transaction(self.db):
            self.db.execute(_save_sql(tuple(row)), [*row.values(), stamp])
            for question_id, value in conv.new_answers:
                self.db.execute(
                    "INSERT INTO answers (conversation_id, question_id, value, answered_at) VALUES (?, ?, ?, ?)",
                    [conv.id, question_id, _to_json(value), stamp],
                )
            if findings is not None and conv.outcome:
                self.db.execute(
                    "INSERT INTO outcomes (conversation_id, outcome, reasons, ready_from, dialog_version, decided_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        conv.id,
                        conv.outcome,
                        json.dumps([_finding_row(f) for f in findings]),
                        ready_from,
                        self.dialog.version,
                        stamp,
                    ],
                )
        conv.new_answers.clear()

    def delete(self, conversation_id: str) -> bool:
        """Erase a conversation with its answers and outcomes (foreign keys cascade), and empty the log."""
        with transaction(self.db):
            answered = self.db.execute("SELECT 1 FROM answers WHERE conversation_id = ? LIMIT 1", [conversation_id])
            said_something = answered.fetchone() is not None
            cursor = self.db.execute("DELETE FROM conversations WHERE id = ?", [conversation_id])
            if cursor.rowcount:
                request_wipe(self.db)
            if cursor.rowcount and said_something:  # so a restore of an older backup deletes it again
                mark = audit.erasure_mark(self.db, conversation_id)
                audit.record(self.db, "person", "erase", detail=f"erased={mark}: a consent declined, answers deleted")
        return cursor.rowcount > 0

    def of_person(self, channel: str, user_key: str) -> list[Stored]:
        """The person's conversations in every trial, the one changed last first."""
        rows = self.db.execute(
            "SELECT id, dialog_id, state, outcome, updated_at FROM conversations WHERE channel = ? AND user_key = ?"
            " ORDER BY updated_at DESC, rowid DESC",
            [channel, user_key],
        ).fetchall()
        return [Stored(*row) for row in rows]

    def unfinished_by_state(self, dialog_id: str | None = None) -> dict[str, int]:
        """How many unfinished screenings wait at each step (for the funnel): of one trial, or (None) of all."""
        where, params = (" AND dialog_id = ?", [dialog_id]) if dialog_id is not None else ("", [])
        rows = self.db.query(
            f"SELECT state, COUNT(*) AS c FROM conversations WHERE outcome = ''{where} GROUP BY state", params
        )
        return {r["state"]: r["c"] for r in rows}

    def answer_history(self, conversation_id: str) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT question_id, value, answered_at FROM answers WHERE conversation_id = ? ORDER BY id",
                [conversation_id],
            )
        )

    def outcomes(self, conversation_id: str) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM outcomes WHERE conversation_id = ? ORDER BY id", [conversation_id]))


def _finding_row(f: Finding) -> dict[str, Any]:
    return {
        "criterion": f.criterion,
        "question": f.question,
        "status": f.status,
        "until": f.until.isoformat() if f.until else "",
    }
