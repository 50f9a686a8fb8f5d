"""The database as the services see it: small repositories, and one unit of work around each step.

A unit of work is one SQLite transaction (`BEGIN IMMEDIATE` ... `COMMIT`): everything a
step changes (the answer, the counters, the lead, the reminder, the audit entry, the
channel's records) commits together or not at all. The repositories' own `transaction()`
blocks become savepoints inside it, so a repository stays safe to use alone (a staff
tool, a test) and still joins the step's one commit.

Durability is the unit of work's concern too. Alone (terminal, staff tools) the database
commits with `synchronous=FULL`: a committed step is on disk. In the long-running async
processes (Telegram, and the web chat, alone or inside `run --web`) `group_commit()` switches to
one shared fsync (durable.py), and `flush()` returns only once everything committed
before it is on disk: the service awaits it before it hands a reply to a channel.

Only this package speaks SQL; nothing above it imports sqlite3 or sqlite_utils.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlite_utils

from ..dialog.model import Dialog
from . import audit as audit_log
from .contact_attempts import ContactAttempts
from .conversations import ConversationStore, transaction
from .durable import DurableLog
from .leads import LeadStore
from .outbox import Outbox
from .ready_reminders import ReadyReminderStore
from .retention import Erased, erase_conversation, erase_person
from .staff_accounts import StaffAccounts
from .staff_views import StaffViews
from .telegram import TelegramStore
from .transactions import savepoint
from .vault import Vault
from .web_state import WebState
from .wipe import database_file, defer_wipes, wipe_pending_async


class Audit:
    """The audit log and the anonymous monthly counters (audit.py), as a repository; counts go to one trial's
    counters (`dialog_id`)."""

    def __init__(self, db: sqlite_utils.Database, dialog_id: str = "") -> None:
        self.db = db
        self.dialog_id = dialog_id

    def count(self, name: str, n: int = 1, at: datetime | None = None) -> None:
        audit_log.count(self.db, name, n, at, self.dialog_id)

    def record(
        self,
        who: str,
        action: str,
        lead_id: str = "",
        detail: str = "",
        at: datetime | None = None,
        seen: Iterable[str] = (),
    ) -> None:
        """One entry, chained to the last (audit.py); `seen`: the ids of the leads the action showed."""
        audit_log.record(self.db, who, action, lead_id, detail, at, seen)

    def entries(self, limit: int = 100) -> list[dict[str, Any]]:
        return audit_log.entries(self.db, limit)

    def totals(self, dialog_id: str | None = None) -> dict[str, int]:
        """The counters of one trial, or (None) of every trial together."""
        return audit_log.totals(self.db, dialog_id)


@dataclass
class UnitOfWork:
    """The repositories of one step; everything written through them commits once, together."""

    conversations: ConversationStore
    leads: LeadStore
    reminders: ReadyReminderStore
    channel_records: TelegramStore | None
    audit: Audit
    contact_attempts: ContactAttempts
    outbox: Outbox
    staff_accounts: StaffAccounts | None
    staff_views: StaffViews
    web_state: WebState

    def erase(self, conversation_id: str, who: str) -> bool:
        """Erase a conversation with everything linked to it, logged without the erased data."""
        return erase_conversation(self.conversations.db, conversation_id, who)

    def erase_person(self, channel: str, user_key: str, who: str) -> list[Erased]:
        """Erase a person's conversations in every trial (their /delete), each as `erase` does."""
        return erase_person(self.conversations.db, channel, user_key, who)


@dataclass
class _Durability:
    """The group commit of one database, shared by the storages of every trial on it."""

    log: DurableLog | None = None


class Storage:
    """One database, its repositories and its units of work, for one dialog.

    Several trials on one database each get a Storage of their own (`for_dialog`): the conversations
    and the counters are the trial's; everything else, the connection and its group commit are shared."""

    def __init__(self, db: sqlite_utils.Database, dialog: Dialog, vault: Vault | None = None) -> None:
        self.db = db
        self.dialog = dialog
        self.vault = vault
        self._work = UnitOfWork(
            conversations=ConversationStore(db, dialog),
            leads=LeadStore(db, vault),  # without a vault: counts and erasure only, no contact details
            reminders=ReadyReminderStore(db),
            channel_records=TelegramStore(db, vault) if vault is not None else None,
            audit=Audit(db, dialog.id),
            contact_attempts=ContactAttempts(db),
            outbox=Outbox(db),
            staff_accounts=StaffAccounts(db, vault) if vault is not None else None,  # TOTP secrets are encrypted
            staff_views=StaffViews(db),
            web_state=WebState(db),
        )
        self._durability = _Durability()

    def for_dialog(self, dialog: Dialog) -> Storage:
        """The same database for another trial: its own conversations and counters; the connection, the
        other repositories and the group commit shared."""
        sibling = copy.copy(self)
        sibling.dialog = dialog
        sibling._work = replace(
            self._work, conversations=ConversationStore(self.db, dialog), audit=Audit(self.db, dialog.id)
        )
        return sibling

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """One transaction: committed when the block ends, rolled back whole if it raises."""
        with transaction(self.db):
            yield self._work

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the open unit of work that a failure undoes on its own, for a caller that catches it and
        goes on; any other failure inside a unit of work undoes all of it."""
        with savepoint(self.db):
            yield

    @property
    def read(self) -> UnitOfWork:
        """The repositories for reading (no transaction is opened; each read sees the last commit)."""
        return self._work

    # ------------------------------------------------------------------ durability

    def group_commit(self) -> Callable[[], Awaitable[None]] | None:
        """Switch to group commit (once) and return the flush to await before acknowledging anything;
        None for a database in memory, which has nothing to flush."""
        shared = self._durability
        if shared.log is None:
            path = database_file(self.db)
            if not path:
                return None
            shared.log = DurableLog(self.db, path)
        return shared.log.flush

    @property
    def group_committing(self) -> bool:
        return self._durability.log is not None

    async def flush(self) -> None:
        """Everything committed so far is on disk (at once without group commit: FULL synced it)."""
        if self._durability.log is not None:
            await self._durability.log.flush()

    def close(self) -> None:
        """Close the connection (a process that hands the database over to others, e.g. web workers)."""
        self.db.close()

    # ------------------------------------------------------------------ after erasures

    def defer_wipes(self, schedule: Callable[[], None]) -> Callable[[], None]:
        """An async process takes over emptying the write-ahead log after erasures (wipe.py)."""
        return defer_wipes(self.db, schedule)

    async def wipe_pending(self) -> bool:
        return await wipe_pending_async(self.db)
