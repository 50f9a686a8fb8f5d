"""The notifications' outbox as the notifier (bot/notify) and the console see it.

A message to the study team is written in the unit of work of whatever caused it when
there is one (the notifier's in-step callback runs inside the screening step's), so a
lead and its announcement are saved together; each other write (claim, sent, failed) is
one transaction of the outbox repository on its own. What a message says is built when it
is sent, from the lead's id, outcome and urgency only (`lead_facts`), never its contact
details or answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..store.outbox import Message
from ..store.storage import Storage

__all__ = ["LeadFacts", "Message", "NotificationOutbox"]


@dataclass(frozen=True)
class LeadFacts:
    """What a notification may say of a lead."""

    id: str
    outcome: str
    urgent: bool
    #: The trial (dialog id) the lead is for: a team running several trials is told which.
    trial: str = ""


class NotificationOutbox:
    """Write, claim, mark and list the messages to the study team."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._outbox = storage.read.outbox

    def lead_facts(self, lead_id: str) -> LeadFacts | None:
        """The lead's id, outcome and urgency; None once it is gone (erased, withdrawn)."""
        leads = self.storage.read.leads
        lead = leads.get(lead_id) if leads is not None else None
        return LeadFacts(lead.id, lead.outcome, bool(lead.urgent), lead.dialog_id) if lead is not None else None

    def add(self, lead_id: str, kind: str, urgent: bool, targets: list[tuple[str, str]], at: str) -> None:
        """One message per (key, label) target; inside a step, part of its unit of work."""
        self._outbox.add(lead_id, kind, urgent, targets, at)

    def has(self, lead_id: str, kinds: tuple[str, ...]) -> bool:
        return self._outbox.has(lead_id, kinds)

    def claim_due(self, now: str, claim_until: str, limit: int = 20) -> list[Message]:
        """Messages due now and not claimed by another process, urgent first; claimed for this one."""
        return self._outbox.claim_due(now, claim_until, limit)

    def sent(self, message_id: int, at: str) -> None:
        self._outbox.sent(message_id, at)

    def failed(self, message_id: int, error: str, next_try_at: str) -> None:
        self._outbox.failed(message_id, error, next_try_at)

    def recent(self, limit: int = 100) -> list[Message]:
        """Waiting messages first (urgent first), then the newest sent ones."""
        return self._outbox.recent(limit)

    def of_lead(self, lead_id: str) -> list[Message]:
        return self._outbox.of_lead(lead_id)

    def failing(self) -> int:
        """Messages not delivered that have failed at least once."""
        return self._outbox.failing()

    def unannounced_leads(self, since: str) -> list[dict[str, Any]]:
        """Leads ready to announce since `since` that no message was ever written for (a crash's leftovers)."""
        return self._outbox.unannounced_leads(since)
