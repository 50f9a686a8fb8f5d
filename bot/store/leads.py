"""Leads: people who may fit the study and agreed that the study team contacts them.

A lead belongs to the conversation that made it, and only that conversation ever
changes it: erasing the conversation erases the lead and its history, and saying
"no" to contact deletes it (`withdraw`). There is no lead without contact consent.

Contact details are stored only encrypted; the phone number also as a keyed hash.
The same conversation screening again updates its own lead (a repeat). A screening
in another conversation that gives a number some lead already has makes a lead of
its own, linked to the other as a *possible duplicate* (`lead_links`): staff merge
them or mark them "not a duplicate". Typing someone else's number therefore never
reaches their lead, their answers or their erasure.

Every change keeps who, when and a note in `lead_history`.

Long on purpose: the only code that encrypts and decrypts contact details: keeping all
of it in one module is the point.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from . import audit
from .conversations import transaction
from .vault import Vault
from .wipe import request_wipe

#: Statuses, in the order a lead usually moves; `closed` needs one of CLOSE_REASONS.
STATUSES = ("new", "attempt_1", "attempt_2", "attempt_3", "contacted", "visit_booked", "enrolled", "closed")
CLOSE_REASONS = ("not_eligible_at_visit", "declined", "unreachable", "duplicate")
#: A possible duplicate is open until staff decide: merged (one is closed as a duplicate of
#: the other, which is kept) or not the same person.
OPEN, MERGED, NOT_DUPLICATE = "open", "merged", "not_duplicate"
SAME_PHONE = "same phone number"
#: Leads in these statuses are done with; retention counts from their last status change.
FINISHED_STATUSES = ("enrolled", "closed")


class LeadError(ValueError):
    """A staff request that cannot apply (unknown lead, unknown status, closing without a reason)."""


@dataclass(frozen=True)
class Screening:
    """What a finished screening says about the person, as plain data for the lead (no contact details)."""

    outcome: str
    respondent: str | None
    language: str
    dialog_version: str
    reasons: list[dict[str, Any]] = field(default_factory=list)
    review_answers: list[dict[str, Any]] = field(default_factory=list)
    criteria: dict[str, str] = field(default_factory=dict)
    #: Why the study team should reach this person first ("" = not urgent): see Engine.urgent_reason.
    urgent: str = ""
    #: The trial (the dialog's id) the person screened for.
    dialog_id: str = ""


@dataclass
class Lead:
    """A lead with its contact details decrypted, for staff."""

    id: str
    conversation_id: str
    channel: str
    source: str
    outcome: str
    respondent: str | None
    language: str
    call_language: str
    call_time: str
    phone: str
    name: str
    username: str
    reasons: list[dict[str, Any]]
    review_answers: list[dict[str, Any]]
    criteria: dict[str, str]
    dialog_version: str
    contact_consent_version: str
    contact_consented_at: str
    status: str
    close_reason: str
    repeat_count: int
    created_at: str
    updated_at: str
    status_changed_at: str
    history: list[dict[str, Any]] = field(default_factory=list)
    #: Why the study team should reach this person first: question ids of risk answers and/or
    #: "typed_risk" (comma-separated); "" when nothing suggests a risk.
    urgent: str = ""
    #: Other leads this one may be the same person as: {"id", "reason", "state", "kept"}.
    duplicates: list[dict[str, str]] = field(default_factory=list)
    #: The trial (the dialog's id) the lead is for.
    dialog_id: str = ""

    def open_duplicates(self) -> list[str]:
        """The ids of possible duplicates staff have not decided on yet."""
        return [d["id"] for d in self.duplicates if d["state"] == OPEN]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LeadStore:
    """Create, update and read leads; the only code that encrypts or decrypts contact details."""

    def __init__(self, db: sqlite_utils.Database, vault: Vault, clock: Callable[[], datetime] = _utc_now) -> None:
        self.db = db
        self.vault = vault
        self.clock = clock

    def _now(self) -> str:
        return self.clock().astimezone(UTC).isoformat(timespec="seconds")

    # ------------------------------------------------------------------ from the screening

    def record_contact(
        self,
        conversation_id: str,
        channel: str,
        source: str,
        screening: Screening,
        phone_e164: str,
        consent_version: str,
        consented_at: str,
    ) -> tuple[str, str]:
        """Save a confirmed phone number with the screening; returns (lead id, 'created' | 'repeat' | 'updated').

        Only this conversation's own lead is updated: a repeat when it comes from a new
        contact consent (the consent time, to the microsecond, tells one contact capture
        from the next), else a changed number. Without one, a new lead is made, even
        when another lead has the same number: that one is only linked, as a possible
        duplicate, never changed.
        """
        stamp = self._now()
        phone_hash = self.vault.phone_hash(phone_e164)
        found = list(
            self.db.query(
                "SELECT id, contact_consented_at FROM leads WHERE conversation_id = ? ORDER BY created_at LIMIT 1",
                [conversation_id],
            )
        )
        values = {
            "conversation_id": conversation_id,
            "channel": channel,
            "source": source,
            "outcome": screening.outcome,
            "respondent": screening.respondent,
            "language": screening.language,
            "phone_enc": self.vault.encrypt(phone_e164),
            "phone_hash": phone_hash,
            "reasons": json.dumps(screening.reasons),
            "review_answers": json.dumps(screening.review_answers, ensure_ascii=False),
            "criteria": json.dumps(screening.criteria),
            "dialog_version": screening.dialog_version,
            "contact_consent_version": consent_version,
            "contact_consented_at": consented_at,
            "urgent": screening.urgent,
            "dialog_id": screening.dialog_id,
            "updated_at": stamp,
        }
        with transaction(self.db):
            if not found:
                lead_id = self._new_id()
                row = {"id": lead_id, **values, "status": "new", "created_at": stamp, "status_changed_at": stamp}
                self.db["leads"].insert(row)  # sqlite-utils: a savepoint inside the step's unit of work
                self._history(lead_id, stamp, "screening", "created", "new", f"outcome {screening.outcome}")
                event = "created"
            else:
                lead_id = found[0]["id"]
                repeat = found[0]["contact_consented_at"] != consented_at
                self.db.execute(
                    f"UPDATE leads SET {', '.join(f'{k} = ?' for k in values)}"
                    f"{', repeat_count = repeat_count + 1' if repeat else ''} WHERE id = ?",
                    [*values.values(), lead_id],
                )
                status = self._status(lead_id)
                if repeat:
                    self._history(lead_id, stamp, "screening", "repeat", status, f"screened again ({channel})")
                else:
                    self._history(lead_id, stamp, "screening", "phone", status, "phone number changed")
                event = "repeat" if repeat else "updated"
            self._link_same_phone(lead_id, phone_hash, stamp)
        return lead_id, event

    def _link_same_phone(self, lead_id: str, phone_hash: str, stamp: str) -> None:
        """Keep this lead's possible duplicates in step with its number: link every other lead with the
        same number (unless staff already decided about that pair); drop open links the number left."""
        same = {
            r["id"]
            for r in self.db.query("SELECT id FROM leads WHERE phone_hash = ? AND id != ?", [phone_hash, lead_id])
        }
        for link in self._links(lead_id):
            if link["state"] == OPEN and link["reason"] == SAME_PHONE and link["id"] not in same:
                self.db.execute(
                    "DELETE FROM lead_links WHERE (lead_id = ? AND other_id = ?) OR (lead_id = ? AND other_id = ?)",
                    [lead_id, link["id"], link["id"], lead_id],
                )
                for one, other in ((lead_id, link["id"]), (link["id"], lead_id)):
                    note = f"no longer a possible duplicate of {other} (phone number changed)"
                    self._history(one, stamp, "screening", "duplicate", self._status(one), note)
        linked = {link["id"] for link in self._links(lead_id)}
        for other in sorted(same - linked):
            self.db.execute(
                "INSERT INTO lead_links (lead_id, other_id, reason, noted_at) VALUES (?, ?, ?, ?)",
                [lead_id, other, SAME_PHONE, stamp],
            )
            for one, two in ((lead_id, other), (other, lead_id)):
                self._history(
                    one,
                    stamp,
                    "screening",
                    "duplicate",
                    self._status(one),
                    f"possible duplicate of {two} ({SAME_PHONE})",
                )
            audit.count(self.db, "lead_possible_duplicate", dialog_id=self._trial(lead_id))

    def withdraw(self, conversation_id: str) -> list[str]:
        """The person said no to contact: their lead, with every contact detail, its history and its
        duplicate links, is deleted (and the write-ahead log emptied). Returns the deleted lead ids."""
        rows = list(self.db.query("SELECT id, dialog_id FROM leads WHERE conversation_id = ?", [conversation_id]))
        lead_ids = [r["id"] for r in rows]
        if not lead_ids:
            return []
        with transaction(self.db):
            self.db.execute("DELETE FROM leads WHERE conversation_id = ?", [conversation_id])
            for lead_id in lead_ids:
                audit.record(self.db, "person", "withdraw-contact", lead_id, "no contact wanted: lead deleted")
            audit.count(self.db, "contact_withdrawn", len(lead_ids), dialog_id=rows[0]["dialog_id"])
            request_wipe(self.db)
        return lead_ids

    def add_details(
        self,
        lead_id: str,
        *,
        name: str | None = None,
        call_time: str | None = None,
        call_language: str | None = None,
        username: str | None = None,
    ) -> None:
        """The optional details asked after the phone number; names are encrypted like phones."""
        values: dict[str, str] = {}
        if name is not None:
            values["name_enc"] = self.vault.encrypt(name)
        if username is not None:
            values["username_enc"] = self.vault.encrypt(username)
        if call_time is not None:
            values["call_time"] = call_time
        if call_language is not None:
            values["call_language"] = call_language
        if not values:
            return
        values["updated_at"] = self._now()
        with transaction(self.db):
            self.db.execute(
                f"UPDATE leads SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?", [*values.values(), lead_id]
            )

    def by_status(self, dialog_id: str | None = None) -> dict[str, int]:
        """How many leads have each status (for the funnel): of one trial, or (None) of every trial."""
        where, params = (" WHERE dialog_id = ?", [dialog_id]) if dialog_id is not None else ("", [])
        rows = self.db.query(f"SELECT status, COUNT(*) AS c FROM leads{where} GROUP BY status", params)
        return {r["status"]: r["c"] for r in rows}

    def lead_of(self, conversation_id: str) -> str | None:
        row = list(self.db.query("SELECT id FROM leads WHERE conversation_id = ? LIMIT 1", [conversation_id]))
        return row[0]["id"] if row else None

    def rescreened(self, conversation_id: str, screening: Screening) -> str | None:
        """A person with a lead finished the screening again: keep the lead current and mark the repeat."""
        lead_id = self.lead_of(conversation_id)
        if lead_id is None:
            return None
        stamp = self._now()
        with transaction(self.db):
            self.db.execute(
                "UPDATE leads SET outcome = ?, respondent = ?, language = ?, reasons = ?, review_answers = ?,"
                " criteria = ?, dialog_version = ?, urgent = ?, repeat_count = repeat_count + 1, updated_at = ?"
                " WHERE id = ?",
                [
                    screening.outcome,
                    screening.respondent,
                    screening.language,
                    json.dumps(screening.reasons),
                    json.dumps(screening.review_answers, ensure_ascii=False),
                    json.dumps(screening.criteria),
                    screening.dialog_version,
                    screening.urgent,
                    stamp,
                    lead_id,
                ],
            )
            self._history(
                lead_id, stamp, "screening", "repeat", self._status(lead_id), f"screened again: {screening.outcome}"
            )
        return lead_id

    # ------------------------------------------------------------------ for staff

    def get(self, lead_id: str) -> Lead | None:
        rows = list(self.db.query("SELECT * FROM leads WHERE id = ?", [lead_id.strip().lower()]))
        if not rows:
            return None
        lead = self._lead(rows[0])
        lead.history = list(
            self.db.query(
                "SELECT at, who, change, status, note FROM lead_history WHERE lead_id = ? ORDER BY id", [lead.id]
            )
        )
        lead.duplicates = self._links(lead.id)
        return lead

    def find(
        self,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        dialog_id: str | None = None,
    ) -> list[Lead]:
        """Urgent leads first, then newest first; `since`/`until` are ISO dates (inclusive) on the creation time;
        `dialog_id` keeps one trial's leads."""
        where, params = [], []
        if dialog_id is not None:
            where.append("dialog_id = ?")
            params.append(dialog_id)
        if status:
            if status == "open":
                where.append(f"status NOT IN ({', '.join('?' for _ in FINISHED_STATUSES)})")
                params += list(FINISHED_STATUSES)
            else:
                check_status(status)
                where.append("status = ?")
                params.append(status)
        if since:
            where.append("substr(created_at, 1, 10) >= ?")
            params.append(since)
        if until:
            where.append("substr(created_at, 1, 10) <= ?")
            params.append(until)
        sql = (
            "SELECT * FROM leads"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY urgent != '' DESC, created_at DESC, rowid DESC"
        )
        leads = [self._lead(r) for r in self.db.query(sql, params)]
        links: dict[str, list[dict[str, str]]] = {}
        for row in self.db.query("SELECT * FROM lead_links ORDER BY noted_at, rowid"):
            for one, other in ((row["lead_id"], row["other_id"]), (row["other_id"], row["lead_id"])):
                links.setdefault(one, []).append(_link(row, other))
        for lead in leads:
            lead.duplicates = links.get(lead.id, [])
        return leads

    def set_status(self, lead_id: str, status: str, who: str, note: str = "", reason: str = "") -> Lead:
        """Change a lead's status, keeping who, when and a note; closing needs a reason."""
        check_status(status)
        if status == "closed" and reason not in CLOSE_REASONS:
            raise LeadError(f"closing a lead needs a reason: one of {', '.join(CLOSE_REASONS)}")
        if status != "closed" and reason:
            raise LeadError("a reason is only for closing a lead")
        lead = self.get(lead_id)
        if lead is None:
            raise LeadError(f"no lead {lead_id!r}")
        stamp = self._now()
        with transaction(self.db):
            self.db.execute(
                "UPDATE leads SET status = ?, close_reason = ?, status_changed_at = ?, updated_at = ? WHERE id = ?",
                [status, reason, stamp, stamp, lead.id],
            )
            self._history(lead.id, stamp, who, "status", status, " — ".join(x for x in (reason, note) if x))
        updated = self.get(lead.id)
        assert updated is not None
        return updated

    def merge(self, lead_id: str, into_id: str, who: str, note: str = "") -> Lead:
        """Staff found two leads to be the same person: `lead_id` is closed as a duplicate of `into_id`,
        which is kept. Nothing moves between the two conversations, so erasing either one later
        never touches the other; both histories say what happened."""
        lead, kept = self._pair(lead_id, into_id)
        stamp = self._now()
        with transaction(self.db):
            self._decide(lead.id, kept.id, MERGED, who, stamp, kept=kept.id)
            self.db.execute(
                "UPDATE leads SET status = 'closed', close_reason = 'duplicate', status_changed_at = ?, updated_at = ?"
                " WHERE id = ?",
                [stamp, stamp, lead.id],
            )
            extra = f" — {note}" if note else ""
            self._history(lead.id, stamp, who, "merge", "closed", f"same person as {kept.id}: merged into it{extra}")
            self._history(
                kept.id,
                stamp,
                who,
                "merge",
                kept.status,
                f"{lead.id} was the same person: merged into this lead{extra}",
            )
        merged = self.get(lead.id)
        assert merged is not None
        return merged

    def not_duplicate(self, lead_id: str, other_id: str, who: str, note: str = "") -> Lead:
        """Staff found two leads with the same number to be different people (e.g. one carer for two patients)."""
        lead, other = self._pair(lead_id, other_id)
        stamp = self._now()
        with transaction(self.db):
            self._decide(lead.id, other.id, NOT_DUPLICATE, who, stamp)
            extra = f" — {note}" if note else ""
            for one, two in ((lead, other), (other, lead)):
                self._history(one.id, stamp, who, "duplicate", one.status, f"not the same person as {two.id}{extra}")
        decided = self.get(lead.id)
        assert decided is not None
        return decided

    # ------------------------------------------------------------------ helpers

    def _pair(self, lead_id: str, other_id: str) -> tuple[Lead, Lead]:
        lead, other = self.get(lead_id), self.get(other_id)
        if lead is None:
            raise LeadError(f"no lead {lead_id!r}")
        if other is None:
            raise LeadError(f"no lead {other_id!r}")
        if lead.id == other.id:
            raise LeadError("a lead cannot be a duplicate of itself")
        return lead, other

    def _decide(self, one: str, two: str, state: str, who: str, stamp: str, kept: str = "") -> None:
        """Record the staff decision on the link between two leads (made here when staff link them themselves)."""
        cursor = self.db.execute(
            "UPDATE lead_links SET state = ?, decided_at = ?, decided_by = ?, kept = ?"
            " WHERE (lead_id = ? AND other_id = ?) OR (lead_id = ? AND other_id = ?)",
            [state, stamp, who[:64], kept, one, two, two, one],
        )
        if cursor.rowcount == 0:
            self.db.execute(
                "INSERT INTO lead_links (lead_id, other_id, reason, state, noted_at, decided_at, decided_by, kept)"
                " VALUES (?, ?, 'staff', ?, ?, ?, ?, ?)",
                [one, two, state, stamp, stamp, who[:64], kept],
            )

    def _links(self, lead_id: str) -> list[dict[str, str]]:
        rows = self.db.query(
            "SELECT * FROM lead_links WHERE lead_id = ? OR other_id = ? ORDER BY noted_at, rowid", [lead_id, lead_id]
        )
        return [_link(r, r["other_id"] if r["lead_id"] == lead_id else r["lead_id"]) for r in rows]

    def _new_id(self) -> str:
        while True:
            lead_id = secrets.token_hex(4)
            if not list(self.db.query("SELECT 1 FROM leads WHERE id = ?", [lead_id])):
                return lead_id

    def _status(self, lead_id: str) -> str:
        return next(self.db.query("SELECT status FROM leads WHERE id = ?", [lead_id]))["status"]

    def _trial(self, lead_id: str) -> str:
        return next(self.db.query("SELECT dialog_id FROM leads WHERE id = ?", [lead_id]))["dialog_id"]

    def _history(self, lead_id: str, at: str, who: str, change: str, status: str, note: str) -> None:
        row = {"lead_id": lead_id, "at": at, "who": who[:64], "change": change, "status": status, "note": note[:500]}
        self.db["lead_history"].insert(row)

    def _lead(self, r: dict[str, Any]) -> Lead:
        return Lead(
            id=r["id"],
            conversation_id=r["conversation_id"],
            channel=r["channel"],
            source=r["source"],
            outcome=r["outcome"],
            respondent=r["respondent"],
            language=r["language"],
            call_language=r["call_language"],
            call_time=r["call_time"],
            phone=self.vault.decrypt(r["phone_enc"]),
            name=self.vault.decrypt(r["name_enc"]),
            username=self.vault.decrypt(r["username_enc"]),
            reasons=json.loads(r["reasons"]),
            review_answers=json.loads(r["review_answers"]),
            criteria=json.loads(r["criteria"]),
            dialog_version=r["dialog_version"],
            contact_consent_version=r["contact_consent_version"],
            contact_consented_at=r["contact_consented_at"],
            status=r["status"],
            close_reason=r["close_reason"],
            repeat_count=r["repeat_count"],
            created_at=r["created_at"],
            updated_at=r["updated_at"],
            status_changed_at=r["status_changed_at"],
            urgent=r["urgent"],
            dialog_id=r["dialog_id"],
        )


def _link(row: dict[str, Any], other: str) -> dict[str, str]:
    return {"id": other, "reason": row["reason"], "state": row["state"], "kept": row["kept"]}


def check_status(status: str) -> None:
    if status not in STATUSES:
        raise LeadError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
