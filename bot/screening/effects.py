"""One step as it happens: what it writes (through the unit of work's repositories) and what it says.

The service opens one unit of work per input and hands the flow's readers a `Step`: every
write goes through it into that one transaction, every notice is collected in order, and
what must be told after the commit (a lead made, changed or gone) waits until the commit
has happened, so the study team never hears of a lead that was rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..dialog.engine import Conversation
from ..dialog.rules import Finding
from ..logs import log_event
from ..replies import Prompt
from ..store.leads import Screening
from ..store.storage import UnitOfWork

log = logging.getLogger("bot.screening")


@dataclass
class Step:
    work: UnitOfWork
    notices: list[str] = field(default_factory=list)
    #: (lead id, event) to tell the channels once the step has committed.
    lead_events: list[tuple[str, str]] = field(default_factory=list)
    #: Set when the step reached an outcome or ended contact capture: the service looks at what follows.
    after_outcome: bool = False
    #: Set when the conversation was deleted (declined, under age, erased): nothing is saved after it.
    deleted: bool = False
    alert: str = ""
    #: A prompt to show instead of the step's own (the language menu, "delete everything?").
    show: Prompt | None = None
    #: Changes the step's prompt before it is shown (the kept summary adds its "Change" buttons).
    decorate: Callable[[Prompt], Prompt] | None = None
    #: /stop: the channel's quiet-time reminder is used up too.
    stop_nudges: bool = False

    def say(self, *texts: str) -> None:
        self.notices.extend(texts)

    def save(self, conv: Conversation, findings: list[Finding] | None = None, ready_from: str = "") -> None:
        self.work.conversations.save(conv, findings=findings, ready_from=ready_from)

    def delete(self, conv: Conversation) -> None:
        self.work.conversations.delete(conv.id)
        self.deleted = True

    def erase(self, conv: Conversation) -> list[str]:
        """The person's /delete: their conversation in every trial of this database, each with everything
        linked to it (store/retention.py). Returns the trials erased (their dialog ids)."""
        erased = self.work.erase_person(conv.channel, conv.user_key, "person")
        self.deleted = True
        for each in erased:
            self.lead_events.extend((lead_id, "erased") for lead_id in each.lead_ids)
        return [each.dialog_id for each in erased]

    def count(self, name: str, n: int = 1) -> None:
        self.work.audit.count(name, n)

    # ------------------------------------------------------------------ leads

    def record_contact(self, conv: Conversation, phone: str, screening: Screening) -> None:
        leads = self.work.leads
        assert leads is not None
        lead_id, event = leads.record_contact(
            conv.id,
            conv.channel,
            conv.source,
            screening,
            phone,
            conv.contact_consent_version,
            conv.contact_consented_at,
        )
        if event in ("created", "repeat"):
            self.count("lead_created" if event == "created" else "lead_repeat")
        log_event(log, "lead_" + event, conv=conv.id, lead=lead_id)
        self.lead_events.append((lead_id, event))

    def lead_details(self, conv: Conversation, **details: Any) -> None:
        leads = self.work.leads
        lead_id = leads.lead_of(conv.id) if leads else None
        if leads is not None and lead_id:
            leads.add_details(lead_id, **details)

    def lead_event(self, conv: Conversation, event: str) -> None:
        lead_id = self.work.leads.lead_of(conv.id) if self.work.leads else None
        if lead_id:
            self.lead_events.append((lead_id, event))

    def withdraw_lead(self, conv: Conversation) -> None:
        if self.work.leads is None:
            return
        for lead_id in self.work.leads.withdraw(conv.id):
            log_event(log, "lead_withdrawn", conv=conv.id, lead=lead_id)
            self.lead_events.append((lead_id, "withdrawn"))

    def rescreened(self, conv: Conversation, screening: Screening) -> None:
        """A finished screening again, without a new contact capture: keep an existing lead current."""
        lead_id = self.work.leads.rescreened(conv.id, screening) if self.work.leads else None
        if lead_id:
            self.lead_events.append((lead_id, "repeat"))
