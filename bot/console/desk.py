"""What the staff console does with leads, statistics, exports, accounts and the audit log: one interface.

The console's pages call only this class; it holds no SQL and never opens the store: it
works through the team's service (leads, call attempts, statistics, erasure, the audit
log), the accounts' service and the notifications' outbox (bot/screening), and the
staff commands' shared helpers (the funnel, export rows, safe exports). Each change is
one unit of work with its audit entry.

Every method that shows or changes a lead records it in the audit log under the person's
console name (`console:<username>`): opening the queue, a lead, a lead's contact details,
each change, each export (naming the leads in it), each refusal; what a list, a lead page or
an export showed is also in the entry's `leads_seen`, as on the command line and Telegram.

Long on purpose: the console's one place that reads and changes leads, with each
change's audit entry beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..dialog.engine import Conversation
from ..dialog.model import OUTCOMES, Dialog
from ..dialog.rules import Invalid
from ..safe_text import typed_text
from ..screening import ScreeningService, Trials
from ..screening.accounts import Account, AccountError, AccountService
from ..screening.contact import parse_phone
from ..screening.notifications import Message, NotificationOutbox
from ..screening.team import Lead, LeadError, TeamService
from ..staff.views import export_table, funnel, write_export

#: Who may do what (issue 19). Admins run accounts and see the audit log, not leads.
COORDINATOR, VIEWER, ADMIN = "coordinator", "viewer", "admin"
SEE_LEADS = (COORDINATOR, VIEWER)
SEE_CONTACT = (COORDINATOR,)
CHANGE_LEADS = (COORDINATOR,)
EXPORT = (COORDINATOR,)
STATISTICS = (COORDINATOR, VIEWER)
NOTIFICATIONS = (COORDINATOR, ADMIN)
AUDIT_LOG = (COORDINATOR, ADMIN)
ACCOUNTS = (ADMIN,)
#: An audit entry holds at most 500 characters: an export names its leads in entries of this many.
IDS_PER_ENTRY = 40
WEEKS_SHOWN = 12


class Refused(PermissionError):
    """The person's role may not do this (already recorded in the audit log)."""


def who(account: Account) -> str:
    """The name the audit log and a lead's history give a console user."""
    return f"console:{account.username}"


@dataclass(frozen=True)
class Filters:
    """The queue's filters, as the page's form sends them; "" is "any"."""

    status: str = "open"
    trial: str = ""
    outcome: str = ""
    source: str = ""
    channel: str = ""
    since: str = ""
    until: str = ""
    search: str = ""

    def described(self) -> str:
        """For the audit log: which filters were used (never the phone number searched for)."""
        used = [f"{k}={v}" for k, v in vars(self).items() if v and k != "search"]
        if self.search:
            used.append("search=phone" if not _looks_like_id(self.search) else f"search={self.search.strip()}")
        return " ".join(used)


@dataclass(frozen=True)
class QueueRow:
    lead: Lead
    last_attempt: dict[str, Any] | None


@dataclass
class LeadPage:
    lead: Lead
    attempts: list[dict[str, Any]]
    answers: list[tuple[Any, Any]]
    with_contact: bool
    outbox: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class Statistics:
    funnel: list[tuple[str, int]]
    all_steps: list[list[Any]]
    stops: list[list[Any]]
    by_source: dict[str, dict[str, int]]
    by_week: dict[str, dict[str, int]]
    by_status: list[list[Any]]
    #: The trial these numbers are of (its dialog id): statistics are per trial, each with its own questions.
    trial: str = ""


class Desk:
    """The console's one way into the data; `clock` is the time for every stamp and timeout."""

    def __init__(
        self, screening: ScreeningService | Trials, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.trials = Trials.of(screening)
        if not self.trials.keeps_contacts:
            raise RuntimeError("the staff console needs leads: build the service's Storage with the vault")
        self.screener = self.trials.default
        self.dialog = self.screener.dialog
        self.team: TeamService = self.trials.team()
        self.accounts: AccountService = self.trials.accounts()
        self.outbox: NotificationOutbox = self.trials.notifications()
        self.clock = clock

    def service_of(self, lead: Lead) -> ScreeningService | None:
        """The screening service of a lead's trial (None when that trial is no longer run here)."""
        return self.trials.get(lead.dialog_id)

    def dialogs_of(self, trial: str) -> list[Dialog]:
        """The trials a view is about: the one chosen, else every trial run here."""
        return [self.team.dialogs[trial]] if trial in self.team.dialogs else list(self.team.dialogs.values())

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def stamp(self) -> str:
        return self.now().isoformat(timespec="seconds")

    # ------------------------------------------------------------------ roles

    def allow(self, account: Account, roles: tuple[str, ...], what: str, lead_id: str = "") -> None:
        """Go on, or raise Refused after writing the refusal to the audit log."""
        if account.role not in roles:
            self.team.record(who(account), "refused", lead_id, f"console {what} (role {account.role})")
            raise Refused(what)

    # ------------------------------------------------------------------ leads

    def queue(self, account: Account, filters: Filters, record: bool = True) -> list[QueueRow]:
        """Urgent first, then newest first, filtered; a phone number is searched for exactly (coordinators).
        `record` is false for an export, which is recorded with the leads it holds."""
        self.allow(account, SEE_LEADS, "queue")
        status = filters.status if filters.status not in ("", "all") else None
        trial = filters.trial if filters.trial in self.team.dialogs else None
        found = self.team.leads(status, filters.since or None, filters.until or None, trial=trial)
        search = filters.search.strip()
        if search:
            if _looks_like_id(search):
                found = [lead for lead in found if lead.id == search.lower()]
            elif account.role in SEE_CONTACT:  # a number without + is read as each trial's region reads it
                read = [parse_phone(search, d.region) for d in self.team.dialogs.values()]
                phones = {phone for phone in read if not isinstance(phone, Invalid)}
                found = [lead for lead in found if lead.phone in phones]
            else:
                found = []
        for name in ("outcome", "source", "channel"):
            wanted = getattr(filters, name)
            if wanted:
                found = [lead for lead in found if getattr(lead, name) == wanted]
        latest = self.team.latest_attempts()
        if record:
            detail = f"console {filters.described()} rows={len(found)}"
            self.team.record(who(account), "list", detail=detail.replace("  ", " "), seen=[lead.id for lead in found])
        return [QueueRow(lead, latest.get(lead.id)) for lead in found]

    def choices(self) -> dict[str, list[str]]:
        """What the queue's filters offer: the trials run here (when several), the sources and channels that
        leads have."""
        leads = self.team.leads()
        return {
            "trial": list(self.team.dialogs) if len(self.team.dialogs) > 1 else [],
            "source": sorted({lead.source for lead in leads if lead.source}),
            "channel": sorted({lead.channel for lead in leads}),
        }

    def lead(self, account: Account, lead_id: str, with_contact: bool = False) -> LeadPage | None:
        """One lead; its contact details only when asked for and allowed. Each view is in the audit log."""
        self.allow(account, SEE_LEADS, "lead", lead_id[:16])
        if with_contact:
            self.allow(account, SEE_CONTACT, "contact details", lead_id[:16])
        lead = self.team.lead(lead_id)
        if lead is None:
            return None
        action = "read-contact" if with_contact else "read"
        self.team.record(who(account), action, lead.id, "console", seen=[lead.id])
        answers = self._answers(lead)
        if not with_contact:
            lead.phone = lead.name = lead.username = ""
        return LeadPage(lead, self.team.attempts(lead.id), answers, with_contact, self.outbox.of_lead(lead.id))

    def _answers(self, lead: Lead) -> list[tuple[Any, Any]]:
        """(question, answer) for every answer that counts, as the person's own summary lists them."""
        stored = self.team.answers_of(lead)
        service = self.service_of(lead)
        if not stored or service is None:
            return []
        return service.engine.summary(Conversation(answers=stored))

    def set_status(self, account: Account, lead_id: str, status: str, reason: str = "", note: str = "") -> Lead:
        self.allow(account, CHANGE_LEADS, "status", lead_id[:16])
        return self.team.set_status(lead_id, status, who(account), note=_note(note), reason=reason, via="console ")

    def record_attempt(self, account: Account, lead_id: str, result: str, note: str = "") -> Lead:
        """Keep a call or message and its result; a new lead not reached moves to the next attempt status,
        a lead reached becomes "contacted"."""
        self.allow(account, CHANGE_LEADS, "contact attempt", lead_id[:16])
        return self.team.record_attempt(lead_id, result, who(account), self.stamp(), _note(note), via="console ")

    def merge(self, account: Account, lead_id: str, into: str, note: str = "") -> Lead:
        self.allow(account, CHANGE_LEADS, "merge", lead_id[:16])
        return self.team.merge(lead_id, into, who(account), _note(note), via="console ")

    def not_duplicate(self, account: Account, lead_id: str, other: str, note: str = "") -> Lead:
        self.allow(account, CHANGE_LEADS, "not-duplicate", lead_id[:16])
        return self.team.not_duplicate(lead_id, other, who(account), _note(note), via="console ")

    def erase(self, account: Account, lead_id: str) -> bool:
        """Erase a lead and the whole screening behind it (the team's service records it)."""
        self.allow(account, CHANGE_LEADS, "erase", lead_id[:16])
        return self.team.erase(lead_id.strip().lower(), who(account))

    # ------------------------------------------------------------------ exports

    def export(self, account: Account, fmt: str, filters: Filters) -> tuple[bytes, str, int]:
        """(file, file name, rows): the command line's export, with the same safety rules; the audit log
        names every lead in it."""
        self.allow(account, EXPORT, "export")
        if fmt not in ("csv", "xlsx"):
            raise ValueError(fmt)
        found = [row.lead for row in self.queue(account, filters, record=False)]
        headers, rows = export_table(found, self.dialogs_of(filters.trial))
        data = write_export(fmt, headers, rows)
        ids = [lead.id for lead in found]
        chunks = [ids[i : i + IDS_PER_ENTRY] for i in range(0, len(ids), IDS_PER_ENTRY)] or [[]]
        for number, chunk in enumerate(chunks, start=1):
            part = f" part {number}/{len(chunks)}" if len(chunks) > 1 else ""
            used = f" {filters.described()}" if filters.described() else ""
            detail = f"console format={fmt}{used} rows={len(ids)}{part} leads={','.join(chunk) or '-'}"
            self.team.record(who(account), "export", detail=detail, seen=chunk)
        return data, f"leads-{self.now().date().isoformat()}.{fmt}", len(found)

    # ------------------------------------------------------------------ statistics

    def statistics(self, account: Account, record: bool = True, trial: str = "") -> Statistics:
        """The numbers of the statistics page, of one trial (the default one unless `trial` names another);
        `record` is false for its charts (the page's view is recorded)."""
        self.allow(account, STATISTICS, "statistics")
        dialog = self.team.dialogs.get(trial) or self.dialog
        counts = self.team.counts(dialog.id)
        steps, stops, by_status = funnel(counts, dialog)
        reached, enrolled = self.team.leads_reached(dialog.id)
        totals = counts.totals
        main = [
            ("started", totals.get("started", 0)),
            ("consented", totals.get("consented", 0)),
            *[(f"outcome:{o}", totals.get(f"outcome:{o}", 0)) for o in OUTCOMES],
            ("contact_agreed", totals.get("contact_agreed", 0)),
            ("lead_created", totals.get("lead_created", 0)),
            ("contacted", reached),
            ("enrolled", enrolled),
        ]
        by_source: dict[str, dict[str, int]] = {}
        for row in self.team.outcomes_by_source(dialog.id):
            by_source.setdefault(row["source"], {})[row["outcome"]] = row["count"]
        since = (self.now() - timedelta(weeks=WEEKS_SHOWN)).date()
        monday = since - timedelta(days=since.weekday())
        by_week: dict[str, dict[str, int]] = {
            (monday + timedelta(weeks=n)).isoformat(): {} for n in range(WEEKS_SHOWN + 1)
        }
        for row in self.team.outcomes_by_week(monday.isoformat(), dialog.id):
            by_week.setdefault(row["week"], {})[row["outcome"]] = row["count"]
        if record:
            several = len(self.team.dialogs) > 1
            self.team.record(who(account), "stats", detail=f"console trial={dialog.id}" if several else "console")
        return Statistics(main, steps, stops, by_source, by_week, by_status, dialog.id)

    # ------------------------------------------------------------------ notifications, audit

    def notifications(self, account: Account, limit: int = 100) -> list[Message]:
        self.allow(account, NOTIFICATIONS, "notifications")
        return self.outbox.recent(limit)

    def notifications_failing(self) -> int:
        return self.outbox.failing()

    def audit_log(self, account: Account, limit: int = 200) -> list[dict[str, Any]]:
        self.allow(account, AUDIT_LOG, "audit log")
        return self.team.audit_entries(limit)

    # ------------------------------------------------------------------ accounts (admins)

    def all_accounts(self, account: Account) -> list[Account]:
        self.allow(account, ACCOUNTS, "accounts")
        return self.accounts.all()

    def add_account(self, account: Account, username: str, role: str, password_hash: str) -> Account:
        self.allow(account, ACCOUNTS, "add account")
        return self.accounts.add(check_username(username), role, password_hash, self.stamp(), who(account), "console")

    def reset_account(self, account: Account, username: str, password_hash: str) -> Account:
        self.allow(account, ACCOUNTS, "reset account")
        return self.accounts.reset(username, password_hash, who(account), "console")

    def disable_account(self, account: Account, username: str, disabled: bool) -> Account:
        self.allow(account, ACCOUNTS, "disable account")
        if username == account.username and disabled:
            raise AccountError("you cannot disable your own account")
        return self.accounts.set_disabled(username, disabled, who(account), "console")

    def record(self, account: Account | None, action: str, detail: str, name: str = "") -> None:
        """Sign-ins, sign-outs and their failures, through the audit log's one function."""
        self.accounts.record(who(account) if account else f"console:{name[:40] or '?'}", action, detail)


def _looks_like_id(text: str) -> bool:
    text = text.strip().lower()
    return len(text) == 8 and all(c in "0123456789abcdef" for c in text)


def _note(note: str) -> str:
    """A staff note is checked like anything typed that is kept: no hidden characters, at most 500 letters."""
    checked = typed_text(note or "", 500)
    if isinstance(checked, Invalid):
        raise LeadError("a note must be plain text of at most 500 letters, without hidden characters")
    return checked


def check_username(username: str) -> str:
    name = username.strip()
    if not (2 <= len(name) <= 40) or not all(c.isalnum() or c in "._-" for c in name) or not name.isascii():
        raise AccountError("a user name has 2 to 40 letters, digits, dots, dashes or underscores")
    return name


def parse_day(text: str) -> str:
    """A date from a filter, or "" when it is not one."""
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return ""
