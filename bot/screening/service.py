"""Where every input of every channel becomes an answer and a reply: one call, one unit of work.

A channel turns its transport into one `ScreeningService.handle(key, action)` (or, in the
async channels, `await step(...)`, which also waits until the step is on disk) and draws
the `Reply` it gets back. The service opens one unit of work (one transaction: the answer,
the counters, the lead, the reminders, the audit entry and the channel's own records),
lets the flow read the input (steps.py, commands.py, contact.py: the engine decides), asks
the presenter for the prompt, commits, and only then tells the study team's channels of a
lead. Channels never see the database; this is the only door to it for a screening.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ..dialog import flow
from ..dialog.engine import Conversation, Engine
from ..dialog.model import Dialog
from ..i18n import Translator, negotiate
from ..logs import log_event
from ..replies import Action, Prompt, Reply
from ..retention import Retention
from ..store.storage import Storage, UnitOfWork
from .accounts import AccountService
from .effects import Step
from .notifications import NotificationOutbox
from .presenter import Extras, Presenter
from .rescreen import Rescreen
from .steps import Steps
from .team import TeamService
from .texts import Texts
from .web_sessions import WebSessions

log = logging.getLogger("bot.screening")
#: The quiet-time reminder is due on the first mark of this step after the quiet time: a nudge after a day of
#: quiet loses nothing by coming a few minutes later, and its row is then rewritten once per step of time, not
#: at every message (one write fewer per update).
NUDGE_STEP = timedelta(minutes=10)

OnLead = Callable[[str, str], None]


@dataclass(frozen=True)
class Key:
    """Who is talking, as a channel knows them."""

    channel: str
    #: The channel's key for the person: a pseudonym (Telegram), a session hash (web), a session name (terminal).
    user: str
    #: The client's language, for a new conversation.
    language_hint: str | None = None
    #: A campaign, for a new conversation.
    source: str = ""
    #: Where the channel can reach the person unasked (a Telegram chat id): kept encrypted, for reminders.
    address: int | None = None


@dataclass(frozen=True)
class Due:
    """A reminder to send now: to whom, in what language, what to show."""

    address: int
    translator: Translator
    prompt: Prompt
    #: The trial of the conversation it is about (its buttons name it when there are several trials).
    dialog_id: str = ""


class ScreeningService:
    """Runs screenings for every channel against one dialog and one database."""

    def __init__(
        self,
        dialog: Dialog,
        storage: Storage,
        locales_dir: Path,
        *,
        site_overrides: dict[str, str] | None = None,
        default_language: str = "",
        today: Callable[[], date] = date.today,
        retention: Retention | None = None,
        reminding_channels: Collection[str] = (),
        on_lead: Collection[OnLead] = (),
        trials: Sequence[Dialog] = (),
    ) -> None:
        """`reminding_channels` can send a message unasked (Telegram): they offer the reminder on the
        "not yet" date. Each `on_lead(lead_id, event)` hears of every lead change, after its commit.
        `trials` are every dialog the deployment runs on this database, this one among them (bot/screening/
        trials.py): a person's /delete erases and names them all."""
        self.dialog = dialog
        self.storage = storage
        self.today = today
        self.default_language = default_language
        self.site = replace(dialog.site, **(site_overrides or {}))
        self.texts = Texts(dialog, self.site, locales_dir, today, trials)
        self.languages = self.texts.languages
        self.locales_dir = locales_dir
        self.engine = Engine(dialog, today=today, contact_capture=storage.vault is not None)
        keep_days = (retention or Retention()).not_eligible_days
        self.rescreen = Rescreen(dialog, today, reminding_channels, keep_days)
        self.presenter = Presenter(self.engine, self.texts, lambda: keep_days)
        self.steps = Steps(self.engine, self.presenter, self.rescreen, today)
        self._on_lead: list[OnLead] = list(on_lead)
        self._in_step: list[OnLead] = []

    def subscribe(self, on_lead: OnLead, in_step: bool = False) -> Callable[[], None]:
        """Hear of every lead change; returns the unsubscribe. By default once the step has committed (a
        channel that tells the study team); `in_step` inside the step's unit of work, before its commit,
        so what the callback writes (the notifications' outbox) is saved with the lead, or not at all."""
        hooks = self._in_step if in_step else self._on_lead
        hooks.append(on_lead)
        return lambda: hooks.remove(on_lead) if on_lead in hooks else None

    @property
    def lead_subscribers(self) -> list[tuple[OnLead, bool]]:
        """Who hears of lead changes: (callback, True when it runs inside the step's unit of work)."""
        return [(c, False) for c in self._on_lead] + [(c, True) for c in self._in_step]

    @property
    def keeps_contacts(self) -> bool:
        """True with the encryption vault: contact capture, leads, pseudonyms."""
        return self.storage.vault is not None

    def team(self) -> TeamService:
        """The study team's service on the same database (the staff chat, commands and console)."""
        return TeamService(self.storage, self.texts.trials)

    def accounts(self) -> AccountService:
        """The staff console's accounts on the same database (needs the vault: their second factor is encrypted)."""
        return AccountService(self.storage)

    def notifications(self) -> NotificationOutbox:
        """The outbox of the study team's notifications on the same database."""
        return NotificationOutbox(self.storage)

    def web_sessions(self) -> WebSessions:
        """The web chat's rate-limit buckets and kept replies on the same database (shared by its workers)."""
        return WebSessions(self.storage)

    def translator(self, language: str) -> Translator:
        return self.texts.translator(language)

    def pseudonym(self, channel: str, raw_id: str | int) -> str:
        """The user key a channel should store instead of its raw user id (e.g. a Telegram chat id)."""
        if self.storage.vault is None:
            raise RuntimeError("pseudonym() needs the encryption vault: build the Storage with a vault")
        return self.storage.vault.pseudonym(channel, raw_id)

    # ------------------------------------------------------------------ one step

    def handle(
        self,
        key: Key,
        action: Action,
        *,
        update_id: int | None = None,
        nudge_after: timedelta | None = None,
        now: datetime | None = None,
        keep: Callable[[Reply], None] | None = None,
    ) -> Reply | None:
        """Apply one action and say what to show next, in one unit of work.

        `update_id` (Telegram) is recorded in the same unit of work: a second delivery changes
        nothing and gets None. `nudge_after` is the channel's quiet time before one reminder of an
        unfinished screening (counted from this input). `keep(reply)` is the channel's own record
        of the reply (the web chat's page after its redirect, through `web_sessions()`): written in
        a savepoint of the same unit of work, so it commits with the step, once, and a failure
        there undoes only itself."""
        now = now or datetime.now(UTC)
        with self.storage.unit_of_work() as work:
            records = work.channel_records
            if update_id is not None and records is not None and not records.first_time_seen(update_id, now):
                log.info("a replayed update was dropped")
                return None
            if key.address is not None and records is not None:
                records.rekey_legacy(key.address)  # only while a conversation from before rotate-key waits
            conv = self._open(work, key)
            step = Step(work)
            self.steps.read(conv, action, step)
            if step.after_outcome and not step.deleted:
                moved_from = conv.state
                self.engine.after_outcome(conv, self.rescreen.offer_pending(conv, work))
                if conv.state != moved_from:
                    step.save(conv)
            if not step.deleted and key.address is not None and records is not None:
                self._channel_records(work, conv, key.address, nudge_after, step.stop_nudges, now)
            reply = self._reply(conv, step, work)
            if keep is not None:
                with self.storage.savepoint():
                    keep(reply)
            self._tell(step.lead_events, self._in_step)
        self._tell(step.lead_events)
        return reply

    async def step(self, key: Key, action: Action, **options: object) -> Reply | None:
        """`handle`, then wait until the step is on disk (group commit): what is shown is never lost."""
        reply = self.handle(key, action, **options)  # type: ignore[arg-type]
        await self.flush()
        return reply

    async def flush(self) -> None:
        """Return once everything committed so far is on disk (group commit; at once otherwise)."""
        await self.storage.flush()

    def _open(self, work: UnitOfWork, key: Key) -> Conversation:
        conv = work.conversations.load(key.channel, key.user)
        if conv is None:
            return Conversation(
                channel=key.channel,
                user_key=key.user,
                language=negotiate(key.language_hint or self.default_language, self.languages),
                source=key.source[:64],
            )
        settled = (flow.CONSENT, flow.DECLINED, *flow.AFTER_OUTCOME)
        if conv.state not in settled and self.engine.resume(conv):
            log_event(log, "resumed_after_dialog_change", conv=conv.id)
        return conv

    def _reply(self, conv: Conversation, step: Step, work: UnitOfWork) -> Reply:
        if step.show is not None:
            prompt = step.show
        elif step.deleted:
            prompt = Prompt("ended", "")
        else:
            prompt = self.presenter.prompt(conv, self._extras(conv, work))
        if step.decorate is not None:
            prompt = step.decorate(prompt)
        return Reply(step.notices, prompt, alert=step.alert, language=conv.language)

    def _extras(self, conv: Conversation, work: UnitOfWork) -> Extras:
        extras = Extras()
        if self.engine.current_question(conv) is not None:
            extras.earlier = work.reminders.earlier_answers(conv.id)
        elif conv.state == flow.REMINDER_OFFER:
            extras.offer_on = self.rescreen.offer_on(conv, work)
        elif conv.state == flow.CONTACT_CONSENT:
            extras.urgent = bool(self.engine.urgent_reason(conv))
        return extras

    def _channel_records(
        self,
        work: UnitOfWork,
        conv: Conversation,
        address: int,
        nudge_after: timedelta | None,
        stop: bool,
        now: datetime,
    ) -> None:
        """Where the person is reached unasked (encrypted), the quiet-time reminder, the ready-date reminder."""
        records = work.channel_records
        assert records is not None
        records.remember_chat(conv.id, address)
        if nudge_after is not None:
            if conv.state in (flow.CONSENT, flow.DECLINED) or conv.outcome:
                records.cancel_reminder(conv.id)
            else:
                records.schedule_reminder(conv.id, address, next_mark(now + nudge_after, NUDGE_STEP))
        if work.reminders.needs_address(conv.id):
            work.reminders.note_address(conv.id, records.vault.encrypt(str(address)))
        if stop:  # after /stop, the quiet-time reminder is used up too
            records.schedule_reminder(conv.id, address, now)
            records.claim_reminder(conv.id, now)

    def _tell(self, events: list[tuple[str, str]], hooks: list[OnLead] | None = None) -> None:
        """Tell every callback; a failing callback never breaks the screening (an in-step one is undone alone)."""
        for lead_id, event in events:
            for callback in list(self._on_lead if hooks is None else hooks):
                try:
                    if hooks is None:
                        callback(lead_id, event)
                    else:
                        with self.storage.savepoint():
                            callback(lead_id, event)
                except Exception:
                    log.exception("on_lead callback failed for event=%s lead=%s", event, lead_id)

    # ------------------------------------------------------------------ looking, not changing

    def conversation(self, key: Key) -> Conversation:
        """The person's conversation as it is stored (or a new, unsaved one): for a channel to look at."""
        return self._open(self.storage.read, key)

    def current(self, key: Key) -> Reply:
        """What the person is asked now (e.g. after a restart of the process, or a page reload)."""
        conv = self.conversation(key)
        return Reply([], self.presenter.prompt(conv, self._extras(conv, self.storage.read)), language=conv.language)

    def welcome(self, key: Key) -> list[str]:
        conv = self.conversation(key)
        return self.texts.welcome(conv, self.translator(conv.language))

    def outcome_texts(self, key: Key) -> list[str]:
        """The result and its reasons again, for a channel that redraws a finished screening (web reload)."""
        conv = self.conversation(key)
        if not conv.outcome:
            return []
        findings = self.engine.findings(conv)
        t = self.translator(conv.language)
        urgent = bool(self.engine.urgent_reason(conv))
        return self.texts.outcome_texts(conv, findings, t, urgent, self.engine.contact_offered(conv))

    # ------------------------------------------------------------------ durability and upkeep

    def group_commit(self) -> Callable[[], Awaitable[None]] | None:
        """Group commit for an async process (see bot/store/storage.py); the flush every reply waits for."""
        return self.storage.group_commit()

    def close(self) -> None:
        """Close the database connection: this process hands the database over (the web workers' parent)."""
        self.storage.close()


def next_mark(moment: datetime, step: timedelta) -> datetime:
    """`moment` rounded up to a whole `step` (counted from the epoch): never earlier than `moment`."""
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    over = (moment - epoch) % step
    return moment + (step - over) if over else moment
