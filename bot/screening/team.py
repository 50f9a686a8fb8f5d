"""The study team's side: leads, their status, call attempts, possible duplicates, erasure, the
funnel and the console's statistics, the audit log.

The staff tools (`screening-bot leads|stats|audit|purge|rotate-key`, the staff chat and
commands on Telegram, and the web console) go through this service, never the store: each
change is one unit of work that also writes its audit entry, so a change is never without
its record. It names the staff member in every entry (and, with `via`, where the change was
made); entries hold no contact details and no answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..dialog.flow import SUMMARY
from ..dialog.model import Dialog
from ..retention import Retention
from ..store.audit import Verdict, verify
from ..store.backup import BackupMade, make_backup
from ..store.contact_attempts import RESULTS
from ..store.leads import CLOSE_REASONS, FINISHED_STATUSES, MERGED, NOT_DUPLICATE, OPEN, STATUSES, Lead, LeadError
from ..store.retention import PurgeCounts, erase_lead, purge
from ..store.storage import Storage, UnitOfWork
from ..store.telegram import CARD as CARD_VIEW
from ..store.telegram import EXPORT, StaffPost, StaffView
from ..store.vault import rotate_key
from ..store.wipe import pending

__all__ = [
    "CARD_VIEW", "CLOSE_REASONS", "EXPORT", "FINISHED_STATUSES", "MERGED", "NOT_DUPLICATE", "OPEN", "RESULTS",
    "STATUSES", "BackupMade", "Counts", "Lead", "LeadError", "PurgeCounts", "StaffPost", "StaffView", "TeamService",
    "Verdict", "next_status",
]  # fmt: skip

#: A call attempt that did not reach the person moves a new lead on to the next attempt status.
NOT_REACHED = ("no_answer", "busy", "message_left")


@dataclass(frozen=True)
class Counts:
    """What the funnel is made of: anonymous counters, unfinished screenings by step, leads by status."""

    totals: dict[str, int]
    live_by_state: dict[str, int]
    leads_by_status: dict[str, int]


class TeamService:
    """Leads and records for staff, one unit of work per change, over every trial on the database.

    `dialogs` are the trials the deployment runs (by id, the default first): each lead is shown in
    its own trial's words (`dialog_of`), and lists, exports and numbers can keep to one trial."""

    def __init__(self, storage: Storage, dialogs: Mapping[str, Dialog] | None = None, signed: str = "") -> None:
        self.storage = storage
        self.dialogs: dict[str, Dialog] = dict(dialogs or {storage.dialog.id: storage.dialog})
        #: A name the staff member typed (`--staff`): noted in each entry's detail, never as who it was.
        self.signed = signed

    @property
    def dialog(self) -> Dialog:
        """The default trial's dialog."""
        return next(iter(self.dialogs.values()))

    def dialog_of(self, lead: Lead) -> Dialog | None:
        """The dialog of a lead's trial; None when that trial is no longer run here (its ids are shown)."""
        return self.dialogs.get(lead.dialog_id)

    def check_trial(self, dialog_id: str | None) -> str | None:
        """A trial filter as typed (a dialog id), checked against the trials run here; None is every trial."""
        if dialog_id is None or dialog_id == "":
            return None
        wanted = dialog_id.strip().lower()
        if wanted not in self.dialogs:
            raise LeadError(f"no trial {dialog_id!r} here: the trials are {', '.join(self.dialogs)}")
        return wanted

    def _record(
        self, work: UnitOfWork, who: str, action: str, lead_id: str = "", detail: str = "", seen: Iterable[str] = ()
    ) -> None:
        note = f' (signed "{self.signed}")' if self.signed else ""
        work.audit.record(who, action, lead_id, detail + note, seen=seen)

    @property
    def _leads(self) -> Any:
        leads = self.storage.read.leads
        if leads is None:
            raise LeadError("the staff tools need the encryption vault")
        return leads

    # ------------------------------------------------------------------ leads

    def lead(self, lead_id: str, who: str = "", action: str = "read") -> Lead | None:
        """A lead with its contact details; with `who`, the read is in the audit log."""
        found = self._leads.get(lead_id)
        if found is not None and who:
            with self.storage.unit_of_work() as work:
                self._record(work, who, action, found.id, seen=[found.id])
        return found

    def urgent(self, lead_id: str) -> bool:
        found = self._leads.get(lead_id)
        return found is not None and bool(found.urgent)

    def leads(
        self,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        who: str = "",
        action: str = "list",
        detail: str = "",
        trial: str | None = None,
    ) -> list[Lead]:
        """Urgent leads first, then newest first, of one trial (a dialog id) or of all; with `who`, the listing
        is in the audit log with the leads it showed."""
        found = self._leads.find(status, since, until, self.check_trial(trial))
        if who:
            with self.storage.unit_of_work() as work:
                detail = detail.replace("{rows}", str(len(found)))
                self._record(work, who, action, detail=detail, seen=[lead.id for lead in found])
        return found

    def set_status(self, lead_id: str, status: str, who: str, note: str = "", reason: str = "", via: str = "") -> Lead:
        with self.storage.unit_of_work() as work:
            lead = self._leads.set_status(lead_id, status, who, note=note, reason=reason)
            self._record(work, who, "set-status", lead.id, f"{via}status={lead.status} reason={lead.close_reason}")
        return lead

    def record_attempt(self, lead_id: str, result: str, who: str, at: str, note: str = "", via: str = "") -> Lead:
        """Keep a call or message and its result, in one unit of work with the status it moves the lead to
        (`next_status`) and both audit entries."""
        if result not in RESULTS:
            raise LeadError(f"unknown result {result!r}")
        with self.storage.unit_of_work() as work:
            lead = self._leads.get(lead_id)
            if lead is None:
                raise LeadError(f"no lead {lead_id!r}")
            work.contact_attempts.record(lead.id, at, who, result, note)
            self._record(work, who, "contact-attempt", lead.id, f"{via}result={result}")
            status = next_status(lead.status, result)
            if status != lead.status:
                lead = self._leads.set_status(lead.id, status, who, note=f"call attempt: {result}")
                self._record(work, who, "set-status", lead.id, f"{via}status={status} (call attempt)")
        return lead

    def attempts(self, lead_id: str) -> list[dict[str, Any]]:
        """A lead's call attempts, newest first."""
        return self.storage.read.contact_attempts.of_lead(lead_id)

    def latest_attempts(self) -> dict[str, dict[str, Any]]:
        """Each lead's last call attempt, by lead id."""
        return self.storage.read.contact_attempts.latest()

    def answers_of(self, lead: Lead) -> dict[str, Any]:
        """The answers behind a lead, as stored ({} once its screening is gone)."""
        return self.storage.read.staff_views.answers_of(lead.conversation_id)

    def merge(self, lead_id: str, into: str, who: str, note: str = "", via: str = "") -> Lead:
        with self.storage.unit_of_work() as work:
            lead = self._leads.merge(lead_id, into, who, note)
            self._record(work, who, "merge", lead.id, f"{via}into={into.strip().lower()}")
        return lead

    def not_duplicate(self, lead_id: str, other: str, who: str, note: str = "", via: str = "") -> Lead:
        with self.storage.unit_of_work() as work:
            lead = self._leads.not_duplicate(lead_id, other, who, note)
            self._record(work, who, "not-duplicate", lead.id, f"{via}other={other.strip().lower()}")
        return lead

    def erase(self, lead_id: str, who: str) -> bool:
        """Erase a lead with the whole screening behind it (logged without its data)."""
        return erase_lead(self.storage.db, lead_id, who)

    def wipe_pending(self) -> bool:
        """True while an erasure's write-ahead log could not be emptied yet (a reader was open)."""
        return bool(pending(self.storage.db))

    def record(self, who: str, action: str, lead_id: str = "", detail: str = "", seen: Iterable[str] = ()) -> None:
        """One audit entry; `seen`: the ids of the leads the action showed (a list, a card, an export)."""
        with self.storage.unit_of_work() as work:
            self._record(work, who, action, lead_id, detail, seen)

    # ------------------------------------------------------------------ numbers and the log

    def counts(self, trial: str | None = None) -> Counts:
        """The funnel's numbers of one trial (a dialog id), or of every trial together (None)."""
        trial = self.check_trial(trial)
        read = self.storage.read
        by_status = self._leads.by_status(trial)
        totals = read.audit.totals(trial)
        unfinished = read.conversations.unfinished_by_state(trial)
        return Counts(totals, unfinished, {s: by_status.get(s, 0) for s in STATUSES})

    def outcomes_by_source(self, trial: str | None = None) -> list[dict[str, Any]]:
        """(source, outcome, count) of the finished screenings still kept."""
        return self.storage.read.staff_views.outcomes_by_source(self.check_trial(trial))

    def outcomes_by_week(self, since: str, trial: str | None = None) -> list[dict[str, Any]]:
        """(week's Monday, outcome, count) of outcomes decided since `since`."""
        return self.storage.read.staff_views.outcomes_by_week(since, self.check_trial(trial))

    def leads_reached(self, trial: str | None = None) -> tuple[int, int]:
        """(leads the team has spoken with, leads enrolled)."""
        return self.storage.read.staff_views.leads_reached(self.check_trial(trial))

    def audit_entries(self, limit: int = 100) -> list[dict[str, Any]]:
        return self.storage.read.audit.entries(limit)

    def verify_audit(self) -> Verdict:
        """Check the audit log's chain and its append-only triggers (bot/store/audit.py)."""
        return verify(self.storage.db)

    def backup(self, db_path: Path, folder: Path, keep_days: int, who: str) -> BackupMade:
        """An encrypted, consistent copy of the database in `folder`; copies older than `keep_days` deleted."""
        made = make_backup(self.storage.db, db_path, folder, keep_days)
        with self.storage.unit_of_work() as work:
            work.audit.record(who, "backup", detail=f"file={made.path.name} removed={len(made.removed)}")
        return made

    def purge(self, periods: Retention, who: str, dry_run: bool = False, now: datetime | None = None) -> PurgeCounts:
        return purge(self.storage.db, now or datetime.now(UTC), periods, dry_run=dry_run, who=who)

    def rotate_key(self, key_file: Path | None, who: str) -> tuple[bytes, int]:
        """New keys, everything re-encrypted and re-derived; (the new key, how many leads)."""
        assert self.storage.vault is not None
        new_key = rotate_key(self.storage.db, self.storage.vault, key_file)
        with self.storage.unit_of_work() as work:
            work.audit.record(who, "rotate-key", detail="new keys: all re-encrypted, hashes and pseudonyms re-derived")
        return new_key, sum(self._leads.by_status().values())

    # ------------------------------------------------------------------ staff messages on Telegram

    def staff_post(self, lead_id: str) -> StaffPost | None:
        return self._records.staff_post(lead_id)

    def save_staff_post(self, post: StaffPost, now: datetime) -> None:
        self._records.save_staff_post(post, now)

    def forget_staff_post(self, lead_id: str) -> None:
        self._records.forget_staff_post(lead_id)

    def orphan_staff_posts(self) -> list[StaffPost]:
        return self._records.orphan_staff_posts()

    def save_staff_view(self, chat_id: int, message_id: int, lead_ids: list[str], kind: str, now: datetime) -> None:
        self._records.save_staff_view(chat_id, message_id, lead_ids, kind, now)

    def staff_views(self, lead_id: str) -> list[StaffView]:
        return self._records.staff_views(lead_id)

    def orphan_staff_views(self) -> list[StaffView]:
        return self._records.orphan_staff_views()

    def forget_staff_view(self, view: StaffView) -> None:
        self._records.forget_staff_view(view)

    @property
    def _records(self) -> Any:
        records = self.storage.read.channel_records
        assert records is not None
        return records


def next_status(status: str, result: str) -> str:
    """Where a call attempt moves a lead: reached → contacted; not reached → the next attempt (up to 3)."""
    if status in FINISHED_STATUSES or status in ("contacted", "visit_booked"):
        return status
    if result == "reached":
        return "contacted"
    if result in NOT_REACHED:
        attempt = int(status[-1]) if status.startswith("attempt_") else 0
        return f"attempt_{min(attempt + 1, 3)}"
    return status


#: The state whose unfinished screenings the funnel names "checking the answers".
CHECKING = SUMMARY
