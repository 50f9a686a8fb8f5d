"""The study team on Telegram: new leads posted to the staff chat, status buttons, /leads /lead /stats /export.

Who is staff: the Telegram user ids in STAFF_USER_IDS. To anyone else the staff
commands do not exist (their handlers do not match, so `/leads` goes on to the
screening and gets the same answer as any unknown command) and a staff button only
stops its spinner. Every read, export and status change is in the audit log under
`telegram:<user id>`.

What reaches the staff chat (often a group, and always Telegram's servers): the lead
id, the outcome and what the team must check, but not the phone number or name unless
STAFF_NOTIFY_CONTACT=1. Staff read the whole lead with /lead ID in a private chat
with the bot; /lead and /export answer only there.

Lead events arrive from the screening service as plain sync callbacks once the
step that made them has committed; they are queued and posted by `flush()` right after that update
is answered, so the person's reply never waits on the staff chat.

When a lead is erased (the person's /delete, `leads erase`, retention) or withdrawn
(the person said no to contact), every staff message that showed it is blanked: the
staff chat's post, each private /lead card (edited), each /export file (deleted, or
where Telegram no longer allows that, captioned as out of date). The bot remembers
those messages by chat id, message id and lead id only (bot/store/telegram.py);
`blank_orphans` catches erasures made outside this process.

Possible duplicates (two leads with the same phone number) show in the post, in
/leads and on the card, which has buttons to merge them or to mark them as different
people. Every text from the database is shown with hidden characters escaped
(bot/safe_text.py), so a stored control or bidi character cannot change what staff see.

Long on purpose: the staff desk on Telegram: posts, cards, buttons and commands share
the drawing of a lead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from ...config import Settings
from ...dialog.model import LIKELY_CANDIDATE, NEEDS_REVIEW, NOT_SURE, Dialog
from ...i18n import Translator, _, language_name, negotiate
from ...safe_text import escaped
from ...screening import ScreeningService, Trials
from ...screening.presenter import CALL_TIMES
from ...screening.summary import RESULT_WORDS, shown_result
from ...screening.team import (
    CARD_VIEW,
    CLOSE_REASONS,
    EXPORT,
    FINISHED_STATUSES,
    MERGED,
    NOT_DUPLICATE,
    OPEN,
    Lead,
    LeadError,
    StaffPost,
    StaffView,
    TeamService,
)
from ...staff.views import (
    OUTCOME_NAMES,
    REASON_LABELS,
    STATUS_LABELS,
    export_table,
    funnel,
    urgent_reasons,
    write_export,
)
from .sending import ChatBlocked, Sender

log = logging.getLogger(__name__)

#: callback_data of staff buttons starts with this; the screening's buttons never do.
PREFIX = "s"
_SEP = "|"
#: How every staff button's callback_data starts.
STAFF_BUTTONS = PREFIX + _SEP
#: Which message a status button sits on: the staff chat's post, or a /lead card in a private chat.
POST, CARD = "p", "c"

OUTCOME_LABELS = OUTCOME_NAMES
RESULT_LABELS = {"not_met": _("not met"), "not_yet": _("not yet"), "unclear": _("unclear")}
RESPONDENT_LABELS = {"self": _("the patient"), "caregiver": _("a carer")}

NEW_LEAD = _("New lead {id}")
SCREENED_AGAIN = _("Lead {id} (screened again)")
URGENT_LEAD = _("URGENT: lead {id}. Please call first.")
URGENT_WHY = _("Why: {reasons}")
PRIVATE_ONLY = _("For privacy, use this command only in a private chat with me.")
NO_SUCH_LEAD = _("There is no lead {id}. Type /leads to see the open leads.")
LEAD_GONE = _("This lead is no longer here.")
LEAD_CHANGED = _("Someone changed this lead just now. The message shows it as it is now.")
STATUS_SAVED = _("Saved: {status}")
ERASED_POST = _("Lead {id} was deleted. Nothing about this person is kept.")
WITHDRAWN_POST = _("Lead {id} was deleted: the person does not want to be contacted.")
EXPORT_OUT_OF_DATE = _("This file is out of date: a lead in it was deleted. Please delete this file now.")
NEWER_POST = _("Lead {id}: see the newer message below.")
POSSIBLE_DUPLICATE = _("Possible duplicate of /lead_{id} (same phone number)")
MERGED_INTO = _("Merged into /lead_{id} (the same person)")
MERGED_FROM = _("/lead_{id} was the same person and was merged into this lead")
NOT_SAME_PERSON = _("Not the same person as /lead_{id}")
MERGE_BUTTON = _("Same person as {id}: close this lead")
NOT_DUPLICATE_BUTTON = _("Not the same person as {id}")
#: With several trials, each post, card, list line and statistics block says which study.
STUDY = _("Study: {trial}")


@dataclass(frozen=True)
class StaffOptions:
    """STAFF_CHAT_ID, STAFF_USER_IDS, STAFF_NOTIFY_CONTACT and STAFF_LANGUAGE, checked."""

    chat_id: int | None = None
    user_ids: frozenset[int] = field(default_factory=frozenset)
    notify_contact: bool = False
    language: str = ""
    page_size: int = 8

    @classmethod
    def from_settings(cls, settings: Settings) -> StaffOptions:
        return cls(
            chat_id=settings.staff_chat_id,
            user_ids=frozenset(settings.staff_user_ids),
            notify_contact=settings.staff_notify_contact,
            language=settings.staff_language,
        )


def who(user_id: int) -> str:
    """The staff member as the audit log and the lead history name them."""
    return f"telegram:{user_id}"


def _minute(stamp: str) -> str:
    return stamp[:16].replace("T", " ")


class StaffDesk:
    """Staff notifications, buttons and commands; registered by the channel before the screening's handlers."""

    def __init__(
        self,
        screening: ScreeningService | Trials,
        team: TeamService,
        sender: Sender,
        options: StaffOptions,
        clock: Callable[[], datetime],
    ) -> None:
        self.trials = Trials.of(screening)
        self.service = self.trials.default
        self.team = team
        self.sender = sender
        self.options = options
        self.clock = clock
        self.pending: list[tuple[str, str]] = []
        self._flusher: asyncio.Task[None] | None = None
        #: One blanking at a time: the sweep for leads erased elsewhere must not race a queued event
        #: (which knows why the lead went: erased or withdrawn).
        self._blanking = asyncio.Lock()

    # ------------------------------------------------------------------ wiring

    def register(self, app: Application) -> None:
        """Staff handlers run before the private-chat gate (group -1); each one ends the update's handling."""
        app.add_handler(CallbackQueryHandler(self.answer_button, pattern=rf"^{PREFIX}\{_SEP}"), group=-1)
        if not self.options.user_ids:
            return
        staff = filters.User(user_id=self.options.user_ids) & filters.UpdateType.MESSAGE
        where = filters.ChatType.PRIVATE
        if self.options.chat_id is not None:
            where = where | filters.Chat(chat_id=self.options.chat_id)
        app.add_handler(CommandHandler(["leads", "stats"], self.answer_overview, filters=staff & where), group=-1)
        app.add_handler(CommandHandler(["lead", "export"], self.answer_private, filters=staff & where), group=-1)
        lead_link = filters.Regex(r"^/lead_[0-9a-f]{8}(@\w+)?$")
        app.add_handler(MessageHandler(lead_link & staff & where, self.answer_private), group=-1)

    def on_lead(self, lead_id: str, event: str) -> None:
        """The service's callback: queue what the staff chat must hear of, and post it soon.

        A Telegram update flushes the queue itself once it is handled; a lead from another
        channel in this process (the web chat under `screening-bot run --web`) has no such
        update, so a flush is also started on the running event loop.
        """
        if event not in ("created", "completed", "repeat", "erased", "withdrawn"):
            return
        self.pending.append((lead_id, event))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (e.g. a command-line tool): nothing can be posted now
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self.flush(), name="staff-chat-posts")

    async def flush(self) -> None:
        """Post what was queued, urgent leads first; a failure is logged and never reaches the person."""
        while self.pending:
            async with self._blanking:
                if not self.pending:
                    return
                self.pending.sort(key=lambda item: not self._urgent(item[0]))
                lead_id, event = self.pending.pop(0)
                await self._handle(lead_id, event)

    async def _handle(self, lead_id: str, event: str) -> None:
        try:
            if event in ("erased", "withdrawn"):
                text = WITHDRAWN_POST if event == "withdrawn" else ERASED_POST
                await self._blank(self.team.staff_post(lead_id), lead_id, text)
                for view in self.team.staff_views(lead_id):
                    await self._blank_view(view, text)
            else:
                await self._post(lead_id, event)
        except Exception as exc:
            log.error("staff chat: the %s post for lead %s failed (%s)", event, lead_id, type(exc).__name__)

    def _urgent(self, lead_id: str) -> bool:
        return self.team.urgent(lead_id)

    async def blank_orphans(self) -> int:
        """Blank the staff messages of leads erased from the command line or removed by retention."""
        async with self._blanking:
            queued = {lead_id for lead_id, _event in self.pending}  # flush() says why they went
            posts = [p for p in self.team.orphan_staff_posts() if p.lead_id not in queued]
            for post in posts:
                await self._blank(post, post.lead_id)
            views = [v for v in self.team.orphan_staff_views() if v.lead_id not in queued]
            for view in views:
                await self._blank_view(view, ERASED_POST)
        return len(posts) + len(views)

    # ------------------------------------------------------------------ the staff chat

    def post_translator(self) -> Translator:
        language = self.options.language or self.service.default_language
        return self.service.translator(negotiate(language, self.service.languages))

    async def _post(self, lead_id: str, event: str) -> None:
        if self.options.chat_id is None:
            return
        lead = self.team.lead(lead_id)
        if lead is None:
            return
        if event == "created" and not lead.urgent:
            return  # the post waits until contact capture is complete; an urgent lead is posted at once
        if event == "repeat" and lead.outcome in (LIKELY_CANDIDATE, NEEDS_REVIEW) and not lead.urgent:
            return  # contact capture is under way again: its "completed" posts the lead
        t = self.post_translator()
        old = self.team.staff_post(lead.id)
        if old is not None:
            await self.sender.edit(old.chat_id, old.message_id, t(NEWER_POST, id=lead.id), None)
        try:
            sent = await self.sender.send(
                self.options.chat_id, self.summary(lead, t), self.status_keyboard(lead, t, POST)
            )
        except ChatBlocked:
            log.warning("staff chat: the bot cannot write there (removed from the group?); lead %s not posted", lead.id)
            return
        if sent is not None:
            self.team.save_staff_post(StaffPost(lead.id, sent.chat_id, sent.message_id), self.clock())

    async def _blank(self, post: StaffPost | None, lead_id: str, text: str = ERASED_POST) -> None:
        if post is None:
            return
        t = self.post_translator()
        with contextlib.suppress(ChatBlocked):
            await self.sender.edit(post.chat_id, post.message_id, t(text, id=lead_id), None)
        self.team.forget_staff_post(lead_id)

    async def _blank_view(self, view: StaffView, text: str) -> None:
        """A private card is edited to say the lead is gone; an export file is deleted (or, when Telegram
        no longer lets the bot delete it, its caption asks the staff member to)."""
        t = self.post_translator()
        with contextlib.suppress(ChatBlocked):
            if view.kind == EXPORT:
                if not await self.sender.delete(view.chat_id, view.message_id):
                    await self.sender.edit_caption(view.chat_id, view.message_id, t(EXPORT_OUT_OF_DATE))
            else:
                await self.sender.edit(view.chat_id, view.message_id, t(text, id=view.lead_id), None)
        self.team.forget_staff_view(view)

    def _own(self, lead: Lead, t: Translator) -> tuple[Dialog | None, Translator]:
        """The lead's trial's dialog (None when that trial is no longer run here) and a translator in the same
        language that knows that trial's texts."""
        service = self.trials.get(lead.dialog_id)
        return (service.dialog, service.translator(t.language)) if service else (None, t)

    def _study(self, lead: Lead, t: Translator) -> list[str]:
        """ "Study: <title>" when this bot screens for several trials; nothing with one."""
        if not self.trials.several:
            return []
        service = self.trials.get(lead.dialog_id)
        return [t(STUDY, trial=self.trials.title(lead.dialog_id, t.language) if service else lead.dialog_id)]

    def summary(self, lead: Lead, t: Translator) -> str:
        """The short post for the staff chat: what to check and when to call, no contact details by default."""
        dialog, t = self._own(lead, t)
        title = SCREENED_AGAIN if lead.repeat_count else NEW_LEAD
        lines = [t(URGENT_LEAD, id=lead.id)] if lead.urgent else []
        if lead.urgent:
            reasons = [t.either(r) for r in urgent_reasons(lead.urgent, dialog)]
            lines.append(t(URGENT_WHY, reasons=t(_("; ")).join(reasons)))
        lines += [
            t(title, id=lead.id),
            *self._study(lead, t),
            t(_("Result: {outcome}"), outcome=t(OUTCOME_LABELS.get(lead.outcome, lead.outcome))),
            t(_("Status: {status}"), status=self.status_text(lead, t)),
            t(_("Channel: {channel}. Source: {source}"), channel=lead.channel, source=lead.source or "-"),
            t(
                _("Chat language: {language}. Answered by: {who}"),
                language=language_name(lead.language),
                who=t(RESPONDENT_LABELS.get(lead.respondent or "self", "")),
            ),
            t(_("Answers to check: {count}"), count=len(lead.review_answers)),
        ]
        open_criteria = self.open_criteria(lead, t)
        if open_criteria:
            lines.append(t(_("Rules not met or not clear:")) + "\n" + "\n".join(open_criteria))
        lines.append(t(_("Best time to call: {time}"), time=self.call_time(lead, t)))
        lines += self.duplicate_lines(lead, t)
        if self.options.notify_contact:
            lines.append(t(_("Name: {name}"), name=lead.name or "-"))
            lines.append(t(_("Phone: {phone}"), phone=lead.phone))
        lines.append(t(_("Details: /lead_{id} (in a private chat with me)"), id=lead.id))
        return escaped("\n".join(lines), keep_newlines=True)

    def duplicate_lines(self, lead: Lead, t: Translator) -> list[str]:
        """What staff should know about other leads that may be the same person."""
        texts = {OPEN: POSSIBLE_DUPLICATE, NOT_DUPLICATE: NOT_SAME_PERSON}
        lines = []
        for link in lead.duplicates:
            if link["state"] == MERGED:
                text = MERGED_FROM if link["kept"] == lead.id else MERGED_INTO
            else:
                text = texts.get(link["state"], POSSIBLE_DUPLICATE)
            lines.append(t(text, id=link["id"]))
        return lines

    def status_text(self, lead: Lead, t: Translator) -> str:
        text = t(STATUS_LABELS.get(lead.status, lead.status))
        if lead.close_reason:
            text += f" ({t(REASON_LABELS.get(lead.close_reason, lead.close_reason))})"
        return text

    def call_time(self, lead: Lead, t: Translator) -> str:
        dialog, t = self._own(lead, t)
        times = dict(CALL_TIMES)
        languages = {c.id: c.label for c in dialog.region.call_languages} if dialog else {}
        parts = [t(times[lead.call_time]) if lead.call_time in times else "-"]
        if lead.call_language in languages:
            parts.append(t.dialog(languages[lead.call_language]))
        return ", ".join(parts)

    def open_criteria(self, lead: Lead, t: Translator) -> list[str]:
        dialog, t = self._own(lead, t)
        criteria = dialog.criteria if dialog else {}
        return [
            f"• {cid} {t.dialog(criteria[cid].label) if cid in criteria else ''}: {t(RESULT_LABELS[result])}"
            for cid, result in lead.criteria.items()
            if result in RESULT_LABELS
        ]

    def status_keyboard(self, lead: Lead, t: Translator, where: str) -> InlineKeyboardMarkup | None:
        """Buttons for the next status (none once a lead is enrolled or closed); on a private card, also
        one pair per open possible duplicate: merge (close this one) or not the same person."""
        rows: list[list[InlineKeyboardButton]] = []
        if lead.status not in FINISHED_STATUSES:

            def button(status: str, label: str) -> InlineKeyboardButton:
                return InlineKeyboardButton(label, callback_data=_data("set", where, lead.id, lead.status, status))

            rows.append([button("contacted", t(_("Contacted")))])
            attempt = int(lead.status[-1]) if lead.status.startswith("attempt_") else 0
            if attempt < 3:
                rows[0].append(button(f"attempt_{attempt + 1}", t(_("No answer: attempt {n}"), n=attempt + 1)))
            rows.append([button("visit_booked", t(_("Visit booked"))), button("enrolled", t(_("Enrolled")))])
            rows.append(
                [InlineKeyboardButton(t(_("Close…")), callback_data=_data("close", where, lead.id, lead.status))]
            )
        if where == CARD:
            for other in lead.open_duplicates():
                rows.append(
                    [
                        InlineKeyboardButton(
                            t(MERGE_BUTTON, id=other), callback_data=_data("dup", lead.id, other, MERGED)
                        )
                    ]
                )
                rows.append(
                    [
                        InlineKeyboardButton(
                            t(NOT_DUPLICATE_BUTTON, id=other), callback_data=_data("dup", lead.id, other, NOT_DUPLICATE)
                        )
                    ]
                )
        return InlineKeyboardMarkup(rows) if rows else None

    def reason_keyboard(self, lead: Lead, t: Translator, where: str) -> InlineKeyboardMarkup:
        rows = [
            [
                InlineKeyboardButton(
                    t(REASON_LABELS[reason]), callback_data=_data("set", where, lead.id, lead.status, "closed", reason)
                )
            ]
            for reason in CLOSE_REASONS
        ]
        rows.append([InlineKeyboardButton(t(_("Back")), callback_data=_data("back", where, lead.id, lead.status))])
        return InlineKeyboardMarkup(rows)

    # ------------------------------------------------------------------ buttons

    async def answer_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        user = update.effective_user
        assert query is not None
        if user is None or user.id not in self.options.user_ids:
            await self.sender.answer_button(query.id)  # neutral: nothing happens, nothing is said
            raise ApplicationHandlerStop
        t = self.translator_for(update)
        parts = (query.data or "").split(_SEP)
        message = query.message if isinstance(query.message, Message) else None
        try:
            if parts[1] == "page" and len(parts) in (3, 4) and parts[2].isdigit() and message is not None:
                trial = parts[3] if len(parts) == 4 and self.trials.get(parts[3]) else ""
                text, markup = self.leads_page(int(parts[2]), t, user.id, trial)
                await self.sender.edit(message.chat_id, message.message_id, text, markup)
                await self.sender.answer_button(query.id)
            elif parts[1] in ("set", "close", "back") and len(parts) >= 5 and message is not None:
                await self._status_button(query.id, message, parts, t, user.id)
            elif parts[1] == "dup" and len(parts) == 5 and message is not None:
                await self._duplicate_button(query.id, message, parts[2], parts[3], parts[4], t, user.id)
            else:
                await self.sender.answer_button(query.id)
        except ChatBlocked:
            pass
        raise ApplicationHandlerStop

    async def _status_button(self, query_id: str, message: Message, parts: list[str], t: Translator, user: int) -> None:
        verb, where, lead_id, seen = parts[1:5]
        lead = self.team.lead(lead_id)
        if lead is None:
            await self.sender.answer_button(query_id, t(LEAD_GONE))
            await self.sender.edit(message.chat_id, message.message_id, None, None)
            return
        shown_in = self.post_translator() if where == POST else t
        if lead.status != seen:  # a double tap, or someone else was quicker
            await self._redraw(message, lead, where, shown_in, user)
            await self.sender.answer_button(query_id, t(LEAD_CHANGED))
            return
        if verb == "close":
            await self.sender.edit(
                message.chat_id, message.message_id, None, self.reason_keyboard(lead, shown_in, where)
            )
            await self.sender.answer_button(query_id)
            return
        if verb == "back":
            await self.sender.edit(
                message.chat_id, message.message_id, None, self.status_keyboard(lead, shown_in, where)
            )
            await self.sender.answer_button(query_id)
            return
        status, reason = parts[5], parts[6] if len(parts) > 6 else ""
        try:
            lead = self.team.set_status(lead.id, status, who(user), reason=reason)
        except LeadError:
            await self.sender.answer_button(query_id)
            return
        await self._redraw(message, lead, where, shown_in, user)
        if where == CARD:  # keep the staff chat's post in step
            post = self.team.staff_post(lead.id)
            if post is not None:
                pt = self.post_translator()
                await self.sender.edit(
                    post.chat_id, post.message_id, self.summary(lead, pt), self.status_keyboard(lead, pt, POST)
                )
        await self.sender.answer_button(query_id, t(STATUS_SAVED, status=self.status_text(lead, t)))

    async def _duplicate_button(
        self, query_id: str, message: Message, lead_id: str, other_id: str, decision: str, t: Translator, user: int
    ) -> None:
        """Merge this lead into the other (it is closed as a duplicate), or mark them as different people."""
        lead = self.team.lead(lead_id)
        if lead is None:
            await self.sender.answer_button(query_id, t(LEAD_GONE))
            await self.sender.edit(message.chat_id, message.message_id, None, None)
            return
        if other_id not in lead.open_duplicates():  # decided already, or the other lead is gone
            await self._redraw(message, lead, CARD, t, user)
            await self.sender.answer_button(query_id, t(LEAD_CHANGED))
            return
        try:
            if decision == MERGED:
                lead = self.team.merge(lead.id, other_id, who(user), via="telegram ")
            else:
                lead = self.team.not_duplicate(lead.id, other_id, who(user), via="telegram ")
        except LeadError:
            await self.sender.answer_button(query_id)
            return
        await self._redraw(message, lead, CARD, t, user)
        pt = self.post_translator()
        for shown_lead in (lead, self.team.lead(other_id)):  # keep both staff chat posts in step
            post = self.team.staff_post(shown_lead.id) if shown_lead else None
            if shown_lead is not None and post is not None:
                await self.sender.edit(
                    post.chat_id,
                    post.message_id,
                    self.summary(shown_lead, pt),
                    self.status_keyboard(shown_lead, pt, POST),
                )
        await self.sender.answer_button(query_id, t(STATUS_SAVED, status=self.status_text(lead, t)))

    async def _redraw(self, message: Message, lead: Lead, where: str, t: Translator, user: int) -> None:
        text = self.summary(lead, t) if where == POST else self.card(lead, t)
        await self.sender.edit(message.chat_id, message.message_id, text, self.status_keyboard(lead, t, where))

    # ------------------------------------------------------------------ commands

    def translator_for(self, update: Update) -> Translator:
        """Staff read the bot in their Telegram app's language."""
        user = update.effective_user
        code = user.language_code if user else None
        return self.service.translator(negotiate(code or self.service.default_language, self.service.languages))

    async def answer_overview(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/leads and /stats: allowed in a private chat and in the staff chat (no contact details in either)."""
        message, user = update.effective_message, update.effective_user
        assert message is not None and message.text and user is not None
        t = self.translator_for(update)
        head, *args = message.text.split()
        command = head[1:].split("@")[0].lower()
        trial = next((a.lower() for a in args if self.trials.get(a.lower())), "")  # `/leads <dialog id>`
        if command == "leads":
            text, markup = self.leads_page(0, t, user.id, trial)
        else:
            text, markup = self.stats(t, user.id, trial), None
        await self._reply(message.chat_id, text, markup)
        raise ApplicationHandlerStop

    async def answer_private(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/lead ID (or the /lead_ID link) and /export [csv|xlsx]: contact details, so private chats only."""
        message, user = update.effective_message, update.effective_user
        assert message is not None and message.text and user is not None
        t = self.translator_for(update)
        head, *args = message.text.split()
        command = head[1:].split("@")[0].lower()
        if message.chat.type != ChatType.PRIVATE:
            await self._reply(message.chat_id, t(PRIVATE_ONLY))
        elif command == "export":  # /export [csv|xlsx] [<dialog id>], in any order
            trial = next((a.lower() for a in args if self.trials.get(a.lower())), "")
            fmt = next((a.lower() for a in args if not self.trials.get(a.lower())), "csv")
            await self._export(message.chat_id, fmt, t, user.id, trial)
        else:
            lead_id = command.removeprefix("lead_") if command.startswith("lead_") else (args[0] if args else "")
            await self._show_lead(message.chat_id, lead_id, t, user.id)
        raise ApplicationHandlerStop

    async def _reply(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        with contextlib.suppress(ChatBlocked):
            await self.sender.send(chat_id, text[:4096], markup)

    def leads_page(
        self, offset: int, t: Translator, user: int, trial: str = ""
    ) -> tuple[str, InlineKeyboardMarkup | None]:
        """Open leads (of one trial, with `/leads <dialog id>`), newest first, one page; each row links to /lead_ID."""
        found = self.team.leads("open", trial=trial or None)
        offset = max(0, min(offset, max(len(found) - 1, 0)))
        page = found[offset : offset + self.options.page_size]
        self.team.record(
            who(user),
            "list",
            detail=f"telegram status=open offset={offset} rows={len(page)}",
            seen=[lead.id for lead in page],
        )
        if not found:
            return t(_("There are no open leads.")), None
        lines = [
            t(
                _("Open leads {first}-{last} of {total}, newest first:"),
                first=offset + 1,
                last=offset + len(page),
                total=len(found),
            )
        ]
        for lead in page:
            line = (
                (t(_("URGENT")) + " · " if lead.urgent else "")
                + f"/lead_{lead.id} · "
                + (f"{lead.dialog_id} · " if self.trials.several else "")
                + f"{_minute(lead.created_at)} · {self.status_text(lead, t)} · "
                f"{t(OUTCOME_LABELS.get(lead.outcome, lead.outcome))} · {self.call_time(lead, t)}"
            )
            for other in lead.open_duplicates():
                line += " · " + t(POSSIBLE_DUPLICATE, id=other)
            lines.append(escaped(line))
        buttons = []
        if offset > 0:
            previous = max(0, offset - self.options.page_size)
            buttons.append(
                InlineKeyboardButton(t(_("Previous")), callback_data=_data("page", str(previous), *_trial(trial)))
            )
        if offset + self.options.page_size < len(found):
            following = offset + self.options.page_size
            buttons.append(
                InlineKeyboardButton(t(_("Next")), callback_data=_data("page", str(following), *_trial(trial)))
            )
        return "\n".join(lines), InlineKeyboardMarkup([buttons]) if buttons else None

    async def _show_lead(self, chat_id: int, lead_id: str, t: Translator, user: int) -> None:
        lead = self.team.lead(lead_id) if lead_id else None
        if lead is None:
            await self._reply(chat_id, t(NO_SUCH_LEAD, id=lead_id[:16]))
            return
        self.team.record(who(user), "read", lead.id, "telegram", seen=[lead.id])
        with contextlib.suppress(ChatBlocked):
            sent = await self.sender.send(chat_id, self.card(lead, t)[:4096], self.status_keyboard(lead, t, CARD))
            if sent is not None:  # it shows the phone number: blanked if the lead is erased
                self.team.save_staff_view(sent.chat_id, sent.message_id, [lead.id], CARD_VIEW, self.clock())

    def card(self, lead: Lead, t: Translator) -> str:
        """The whole lead, decrypted, for a private chat with a staff member, in its trial's words."""
        dialog, t = self._own(lead, t)
        lines = [t(URGENT_LEAD, id=lead.id)] if lead.urgent else []
        if lead.urgent:
            reasons = [t.either(r) for r in urgent_reasons(lead.urgent, dialog)]
            lines.append(t(URGENT_WHY, reasons=t(_("; ")).join(reasons)))
        lines += [
            t(_("Lead {id}"), id=lead.id),
            *self._study(lead, t),
            t(_("Status: {status}"), status=self.status_text(lead, t)),
            t(_("Result: {outcome}"), outcome=t(OUTCOME_LABELS.get(lead.outcome, lead.outcome))),
            t(_("Answered by: {who}"), who=t(RESPONDENT_LABELS.get(lead.respondent or "self", ""))),
            t(_("Name: {name}"), name=lead.name or "-"),
            t(_("Phone: {phone}"), phone=lead.phone),
            t(_("Best time to call: {time}"), time=self.call_time(lead, t)),
            t(_("Chat language: {language}"), language=language_name(lead.language)),
            t(_("Channel: {channel}. Source: {source}"), channel=lead.channel, source=lead.source or "-"),
            t(_("Screened again: {count} times"), count=lead.repeat_count),
            t(_("Dialog version: {version}"), version=lead.dialog_version),
            t(
                _("Agreed to be contacted: {time} UTC (text {version})"),
                time=_minute(lead.contact_consented_at),
                version=lead.contact_consent_version,
            ),
            t(_("Created: {time} UTC"), time=_minute(lead.created_at)),
            *self.duplicate_lines(lead, t),
        ]
        if lead.review_answers:
            lines.append("\n" + t(_("Answers to check:")))
            lines += [f"• {self._answer(item, t, dialog)}" for item in lead.review_answers]
        criteria = dialog.criteria if dialog else {}
        results = {**RESULT_WORDS, **RESULT_LABELS, "study_team": _("the study team checks")}
        lines.append("\n" + t(_("Rules:")))
        lines += [
            f"• {cid} {t.dialog(criteria[cid].label) if cid in criteria else ''}: "
            + t(results.get(shown := shown_result(result, criteria.get(cid)), shown))
            for cid, result in lead.criteria.items()
        ]
        lines.append("\n" + t(_("History:")))
        lines += [
            f"• {_minute(h['at'])} · {h['who']} · {h['change']} · {t(STATUS_LABELS.get(h['status'], h['status']))}"
            + (f" · {h['note']}" if h["note"] else "")
            for h in lead.history
        ]
        return escaped("\n".join(lines), keep_newlines=True)

    def _answer(self, item: dict[str, Any], t: Translator, dialog: Dialog | None) -> str:
        question_id, value = item["question"], item.get("answer")
        if dialog is None or not dialog.has_question(question_id):
            return f"{question_id}: {value}"
        question = dialog.question(question_id)
        if value == NOT_SURE:
            shown = t(_("Not sure"))
        else:
            picked = value if isinstance(value, list) else [value]
            shown = ", ".join(t.dialog(o.label) if (o := question.option(str(v))) else str(v) for v in picked)
        return f"{t.dialog(question.label)}: {shown}"

    def stats(self, t: Translator, user: int, trial: str = "") -> str:
        """The funnel of bot/staff.py (the same numbers as `screening-bot stats`), in the staff member's language:
        one block per trial (each has its own questions), or the one trial of `/stats <dialog id>`."""
        services = [self.trials.get(trial)] if self.trials.get(trial) else list(self.trials)
        self.team.record(who(user), "stats", detail="telegram" + (f" trial={trial}" if trial else ""))
        lines: list[str] = []
        for service in services:
            assert service is not None
            own = service.translator(t.language)
            steps, stops, statuses = funnel(self.team.counts(service.dialog.id), service.dialog)
            if self.trials.several:
                lines.append(("\n" if lines else "") + own(STUDY, trial=own.dialog(service.dialog.title)))
            lines.append(own(_("Screening funnel (counts only, all time):")))
            for label, count in steps:
                lines.append(f"  • {own(label[2:])}: {count}" if label.startswith("- ") else f"{own(label)}: {count}")
            lines.append("\n" + own(_("Where unfinished screenings stop (now / removed):")))
            lines += [f"• {own.either(label)}: {live} / {removed}" for _qid, label, live, removed in stops] or ["-"]
            lines.append("\n" + own(_("Leads by status:")))
            lines += [f"• {own(STATUS_LABELS.get(status, status))}: {count}" for status, count in statuses]
        return "\n".join(lines)

    async def _export(self, chat_id: int, fmt: str, t: Translator, user: int, trial: str = "") -> None:
        if fmt not in ("csv", "xlsx"):
            await self._reply(chat_id, t(_("Type /export for a CSV file, or /export xlsx for Excel.")))
            return
        dialogs = [self.team.dialogs[trial]] if trial in self.team.dialogs else list(self.team.dialogs.values())
        leads = self.team.leads(trial=trial or None)
        headers, rows = export_table(leads, dialogs)
        data = write_export(fmt, headers, rows)
        detail = f"telegram format={fmt}" + (f" trial={trial}" if trial else "") + f" rows={len(rows)}"
        self.team.record(who(user), "export", detail=detail, seen=[x.id for x in leads])
        name = f"leads-{self.clock().date().isoformat()}.{fmt}"
        caption = t(
            _("{count} leads. This file holds phone numbers: keep it safe, and delete it when done."), count=len(rows)
        )
        with contextlib.suppress(ChatBlocked):
            sent = await self.sender.send_document(chat_id, data, name, caption)
            if sent is not None:  # the file holds every lead in it: deleted if one of them is erased
                ids = [lead.id for lead in leads]
                self.team.save_staff_view(sent.chat_id, sent.message_id, ids, EXPORT, self.clock())


def _trial(trial: str) -> tuple[str, ...]:
    """A trial filter carried by a button (none: every trial)."""
    return (trial,) if trial else ()


def _data(*parts: str) -> str:
    data = _SEP.join((PREFIX, *parts))
    assert len(data.encode()) <= 64, data
    return data
