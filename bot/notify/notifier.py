"""Tell the study team of new leads, urgent first, and keep trying until each message is delivered.

`on_lead` is the screening service's in-step callback: it writes the messages to the
outbox inside the unit of work of the step that made the lead (one transaction), so a
lead and its announcement are saved together. `run` (a task beside the web server or the
Telegram bot) sends what is due, then sleeps until the next lead or POLL_SECONDS. A
failed message waits 30 s, 1 min, 2 min ... up to 30 min between tries, for as long
as it takes; the console lists it with its error meanwhile. A sweep also announces any
lead left without a message (made by a process without notifications, or lost to a
crash between the lead's commit and its message's).

The text is built when it is sent, in STAFF_LANGUAGE, from the lead id, its outcome,
whether it is urgent and (with several trials) which study: never a name, a phone number
or an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..config import Settings
from ..i18n import Translator, _, negotiate
from ..screening import Trials
from ..screening.notifications import Message, NotificationOutbox
from .targets import Target, parse_targets

if TYPE_CHECKING:
    from ..screening import ScreeningService

log = logging.getLogger(__name__)

#: How often the outbox is looked at even when nothing wakes the sender (messages from other processes).
POLL_SECONDS = 15.0
#: A claimed message is another process's for this long (longer than any one send takes).
CLAIM_SECONDS = 120
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 30 * 60
#: The sweep looks this far back for leads without a message (older ones were in the console all along).
SWEEP_DAYS = 2

NEW, AGAIN, TEST = "new", "again", "test"
OUTCOME_WORDS = {
    "likely_candidate": _("likely candidate"),
    "needs_review": _("needs review"),
    "not_eligible": _("likely not eligible"),
    "not_yet": _("not yet"),
}
TITLE_NEW = _("New lead {id}")
TITLE_URGENT = _("URGENT: lead {id}. Please call first.")
TITLE_AGAIN = _("Lead {id} (screened again)")
TITLE_TEST = _("Test message from the screening bot")
BODY_RESULT = _("Result: {outcome}")
BODY_TRIAL = _("Study: {trial}")
BODY_OPEN = _("Open the staff console: {url}")
BODY_OPEN_NO_URL = _("Open the staff console to see it.")
BODY_TEST = _("Notifications work. New leads will be announced here, without names or phone numbers.")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def retry_after(tries: int) -> int:
    """Seconds to wait after the `tries`-th failure: 30, 60, 120 ... at most 30 minutes."""
    return min(FIRST_RETRY_SECONDS * 2 ** max(tries - 1, 0), MAX_RETRY_SECONDS)


class Notifier:
    """The outbox's writer (on_lead) and sender (run); also a `beside` server for the Telegram bot."""

    def __init__(
        self,
        outbox: NotificationOutbox,
        targets: list[Target],
        translator: Translator,
        console_url: str = "",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        trial_names: dict[str, str] | None = None,
    ) -> None:
        """`trial_names` (dialog id -> title in the staff language) are given when the deployment runs several
        trials: each message then says which study the lead is for."""
        self.outbox = outbox
        self.trial_names = trial_names or {}
        self.targets = {t.key: t for t in targets}
        self.t = translator
        self.console_url = console_url.rstrip("/")
        self.clock = clock
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit = False

    # ------------------------------------------------------------------ writing

    def on_lead(self, lead_id: str, event: str) -> None:
        """The service's in-step callback: an urgent lead is announced as soon as it exists, any other when its
        contact capture is complete; a lead screened again is announced again."""
        if not self.targets or event not in ("created", "completed", "repeat"):
            return
        lead = self.outbox.lead_facts(lead_id)
        if lead is None:
            return
        if event == "repeat":
            self.enqueue(lead.id, AGAIN, lead.urgent, wake=False)
        elif (event == "completed" or lead.urgent) and not self.outbox.has(lead.id, (NEW,)):
            self.enqueue(lead.id, NEW, lead.urgent, wake=False)

    def committed(self, lead_id: str, event: str) -> None:
        """The service's after-commit callback: the step's messages are in the outbox now, send them."""
        self.wake()

    def enqueue(self, lead_id: str, kind: str, urgent: bool, wake: bool = True) -> None:
        """Add the messages; `wake=False` inside a step, whose commit wakes the sender (`committed`)."""
        targets = [(t.key, t.label) for t in self.targets.values()]
        self.outbox.add(lead_id, kind, urgent, targets, _iso(self.clock()))
        if wake:
            self.wake()

    def wake(self) -> None:
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: the next start sends it
                self._loop.call_soon_threadsafe(self._wake.set)

    def sweep(self) -> int:
        """Announce leads that should have been announced and were not (see the module's docstring)."""
        if not self.targets:
            return 0
        since = _iso(self.clock() - timedelta(days=SWEEP_DAYS))
        found = self.outbox.unannounced_leads(since)
        for row in found:
            self.enqueue(row["id"], NEW, bool(row["urgent"]))
        return len(found)

    # ------------------------------------------------------------------ sending

    async def send_due(self) -> int:
        """Send every message that is due now, urgent first; returns how many were delivered."""
        delivered = 0
        while True:
            now = self.clock()
            due = self.outbox.claim_due(_iso(now), _iso(now + timedelta(seconds=CLAIM_SECONDS)))
            if not due:
                return delivered
            for message in due:
                delivered += await self._send(message)

    async def _send(self, message: Message) -> int:
        target = self.targets.get(message.target)
        if target is None:  # the setting changed since: kept, shown in the console, tried again later
            error = "this target is no longer in NOTIFY_URLS"
        else:
            title, body = self.text(message)
            error = await asyncio.to_thread(target.send, title, body)
        if not error:
            self.outbox.sent(message.id, _iso(self.clock()))
            return 1
        wait = retry_after(message.tries + 1)
        self.outbox.failed(message.id, error, _iso(self.clock() + timedelta(seconds=wait)))
        log.warning(
            "notification %s (lead %s) to %s not delivered (try %s); trying again in %s s",
            message.id, message.lead_id or "-", target.service if target else "a removed target", message.tries + 1,
            wait,
        )  # fmt: skip
        return 0

    def text(self, message: Message) -> tuple[str, str]:
        """(title, body) in the staff language: a lead id, its outcome, urgent or not, and the console's address."""
        t = self.t
        if message.kind == TEST:
            return t(TITLE_TEST), t(BODY_TEST)
        lead = self.outbox.lead_facts(message.lead_id)
        outcome = lead.outcome if lead else ""
        short = message.lead_id
        if message.urgent:
            title = t(TITLE_URGENT, id=short)
        else:
            title = t(TITLE_AGAIN if message.kind == AGAIN else TITLE_NEW, id=short)
        lines = [t(BODY_RESULT, outcome=t(OUTCOME_WORDS.get(outcome, outcome)))] if outcome else []
        if lead and lead.trial in self.trial_names:
            lines.insert(0, t(BODY_TRIAL, trial=self.trial_names[lead.trial]))
        if self.console_url:
            lines.append(t(BODY_OPEN, url=f"{self.console_url}/staff/leads/{message.lead_id}"))
        else:
            lines.append(t(BODY_OPEN_NO_URL))
        return title, "\n".join(lines)

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Until stopped: sweep, send what is due, sleep until woken or POLL_SECONDS."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not self._exit:
            try:
                self.sweep()
                await self.send_due()
            except Exception as exc:  # a database hiccup: logged, tried again at the next round
                log.error("notifications: %s; trying again in %s s", type(exc).__name__, POLL_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()

    async def serve(self) -> None:
        """For `screening-bot run` (the Telegram bot's `beside`): the same as run()."""
        await self.run()

    @property
    def running(self) -> bool:
        """The sender has started (on its event loop) and not been told to stop."""
        return self._wake is not None and not self._exit

    @property
    def should_exit(self) -> bool:
        return self._exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._exit = value
        if value:
            self.wake()


def notifier_for(screening: ScreeningService | Trials, settings: Settings) -> Notifier | None:
    """The Notifier of this deployment (None without NOTIFY_URLS or without leads), its on_lead registered
    with every trial.

    Messages are in STAFF_LANGUAGE, else SCREENING_LANGUAGE, else English."""
    trials = Trials.of(screening)
    if not settings.notify_urls or not trials.keeps_contacts:
        return None
    language = negotiate(settings.staff_language or settings.language, trials.languages)
    notifier = Notifier(
        trials.notifications(),
        parse_targets(settings.notify_urls),
        trials.translator(language),
        settings.public_url,
        trial_names={i: trials.title(i, language) for i in trials.ids} if trials.several else None,
    )
    trials.subscribe(notifier.on_lead, in_step=True)  # the outbox row commits with the lead
    trials.subscribe(notifier.committed)  # and only then the sender looks for it
    return notifier
