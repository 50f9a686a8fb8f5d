"""Telegram updates in, screening replies out.

Each handler is named after what it answers. They all end in `TelegramChannel._run`,
which, holding the chat's lock (a chat's updates stay in order; different chats run
concurrently), hands one Action to the screening service (one unit of work: the answer,
the update id, the chat's encrypted address, the reminders) and draws the Reply: notices
as messages, the prompt as a message with an inline
keyboard. Only one keyboard per chat is live: when a new prompt is sent, the
previous one loses its buttons, and an answered question is edited to show the
answer, so a double tap cannot answer twice.

With several trials, each update goes to one trial's service: the one a deep link names
(`start=<dialog id>-<source>`), a button was drawn for, or the person picked in the "which
study?" menu (what `/start` alone shows); otherwise the trial of the conversation they used
last. A person can so screen for two trials in one chat without either touching the other.

Long on purpose: the Telegram transport for every kind of update (messages, taps,
contacts, edits, errors, reminders) beside the one drawing code they share.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from ...dialog.model import CONSENT
from ...errors import STORAGE_ERRORS
from ...i18n import Translator, _, negotiate
from ...logs import exception_summary
from ...replies import NOT_SAVED, SOMETHING_WENT_WRONG, WHICH_STUDY, Action, Choose, Command, Prompt, Reply, Text
from ...screening import DueNudge, Key, ScreeningService, Trials, Upkeep
from . import keyboards
from .identity import CHANNEL, telegram_user_key
from .sending import ChatBlocked, Sender
from .staff import STAFF_BUTTONS, StaffDesk

log = logging.getLogger(__name__)

#: Telegram's limit for one message.
MESSAGE_LIMIT = 4096
#: Deep-link payloads Telegram allows (t.me/<bot>?start=poster-wuhan).
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: How much of a typed answer is echoed under its question.
ECHO_LIMIT = 100

STALE_BUTTON = _("That button belongs to an earlier question.")
NOT_TEXT = _("I can only read typed text and button taps. Please tap a button, or type your answer.")
CONTACT = _(
    "Thank you, but this chat does not need your phone number, so it was not kept. "
    "Please tap a button, or type your answer."
)
CONTACT_NOT_YOURS = _(
    "That phone number belongs to someone else's Telegram account, so it was not kept. "
    "Please tap the button to share your own number, or type the number."
)
SHARE_HINT = _("You can tap the button below to share the phone number of this Telegram account.")
SHARE_BUTTON = _("Share my phone number")
NUMBER_SAVED = _("Thank you. We have your number.")
KEYBOARD_CLOSED = _("OK.")
EDITED = _("I cannot see changes to a message. Please send your answer again as a new message.")
PRIVATE_ONLY = _("I only talk in private chats. Please open a private chat with me to do the screening.")
REMINDER = _("Hello again. Your screening is not finished. When you are ready, you can go on where you stopped.")
#: Chats whose chosen trial is remembered in memory until they use it (see `_service`).
CHOSEN_LIMIT = 10_000


class TelegramChannel:
    """The screening on Telegram: handlers, drawing replies, reminders."""

    def __init__(
        self,
        screening: ScreeningService | Trials,
        sender: Sender,
        reminder_after: timedelta | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.trials = Trials.of(screening)
        #: The default trial's service: the code's words for what belongs to no trial (the command menu ...).
        self.service = self.trials.default
        self.upkeep = Upkeep(self.trials)
        self.sender = sender
        self.reminder_after = reminder_after
        self.clock = clock
        #: chat id -> (lock, holders and waiters)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        #: chat id -> (message id, prompt tag, text) of the message whose buttons are live.
        self._live_prompt: dict[int, tuple[int, str, str]] = {}
        #: chat id -> deep-link source, held in memory only until the person consents (then it is saved).
        self._pending_source: dict[int, str] = {}
        #: chats that show the "share my phone number" keyboard (it must be taken away after the phone step).
        self._contact_keyboard: set[int] = set()
        #: chat id -> the trial the person picked (a deep link, the "which study?" menu), held in memory only
        #: until that trial's conversation is the one they used last (then the database tells).
        self._chosen: OrderedDict[int, str] = OrderedDict()
        #: the study team's side (set by build_application when the vault is there).
        self.staff: StaffDesk | None = None

    def register(self, app: Application) -> None:
        app.add_handler(TypeHandler(Update, self.drop_replayed_update), group=-2)
        if self.staff is not None:
            self.staff.register(app)  # before the private-chat gate: staff buttons also work in the staff chat
        app.add_handler(TypeHandler(Update, self.keep_to_private_chats), group=-1)
        app.add_handler(ChatMemberHandler(self.note_blocked_bot, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_handler(CommandHandler("start", self.answer_start, filters=filters.UpdateType.MESSAGE))
        app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, self.answer_command))
        app.add_handler(CallbackQueryHandler(self.answer_button))
        app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, self.answer_text))
        app.add_handler(MessageHandler(filters.UpdateType.EDITED, self.explain_edited_message))
        app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.CONTACT, self.answer_contact))
        app.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self.explain_not_text))
        app.add_error_handler(self.tell_about_error)

    @contextlib.asynccontextmanager
    async def _lock(self, chat_id: int) -> AsyncIterator[None]:
        """One update of a chat at a time; the lock is forgotten when nobody holds or waits for it,
        so memory does not grow with every chat the bot has ever seen."""
        lock, users = self._locks.get(chat_id) or (asyncio.Lock(), 0)
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users == 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)

    # ------------------------------------------------------------------ gates (before any handler)

    async def drop_replayed_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A second delivery stops here. A screening step records its update id in its own unit of work
        (so a step is one commit); any other update is recorded now, before anything else happens."""
        if self.upkeep.update_seen(update.update_id):
            log.info("a replayed update was dropped")
            raise ApplicationHandlerStop
        if not self._is_step(update) and not self.upkeep.note_update(update.update_id, self.clock()):
            raise ApplicationHandlerStop

    def _is_step(self, update: Update) -> bool:
        """A message or a screening button in a private chat, not for the staff desk: the service records it."""
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            return False
        if update.callback_query is not None:
            return not (update.callback_query.data or "").startswith(STAFF_BUTTONS)
        message = update.message
        if message is None or not (message.text or message.contact):
            return False
        user = update.effective_user
        staff = self.staff is not None and user is not None and user.id in self.staff.options.user_ids
        return not (staff and (message.text or "").startswith("/"))

    async def keep_to_private_chats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Health questions belong in a private chat; in groups the bot only says so when addressed."""
        chat = update.effective_chat
        if chat is None:
            raise ApplicationHandlerStop
        if chat.type == ChatType.PRIVATE:
            return
        message = update.message
        if message is not None and message.text and message.text.startswith("/"):
            user = update.effective_user
            t = self.service.translator(self._language_for(user.language_code if user else None))
            with contextlib.suppress(ChatBlocked):
                await self.sender.send(chat.id, t(PRIVATE_ONLY))
        raise ApplicationHandlerStop

    # ------------------------------------------------------------------ handlers

    async def answer_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start, or a deep link t.me/<bot>?start=<campaign>: the campaign is kept as the source. With several
        trials the link names one (`start=<dialog id>-<campaign>`); `/start` alone asks which study."""
        payload = context.args[0] if context.args else ""
        payload = payload if START_PAYLOAD.fullmatch(payload) else ""
        trial, source = self._start_payload(payload)
        await self._run(update, Command("start", source), source=source, trial=trial, ask=not trial)

    def _start_payload(self, payload: str) -> tuple[str, str]:
        """(trial, campaign) of a deep link: `<dialog id>-<campaign>` or `<dialog id>` names a trial; anything
        else is a campaign of no trial in particular (the only one, or the person picks)."""
        for dialog_id in sorted(self.trials.ids, key=len, reverse=True):
            if payload == dialog_id or payload.startswith(dialog_id + "-"):
                return dialog_id, payload[len(dialog_id) + 1 :]
        return "", payload

    async def answer_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help, /back, /restart, /language [en|zh], /privacy, /delete and any other /word."""
        assert update.message and update.message.text
        head, _sep, rest = update.message.text.strip().partition(" ")
        name = head[1:].split("@", 1)[0].lower()
        await self._run(update, Command(name, rest.strip()))

    async def answer_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message and update.message.text is not None
        await self._run(update, Text(update.message.text))

    async def answer_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A tap: on a "which study?" button, /start in that trial; else an answer in the trial it was drawn for."""
        data = update.callback_query.data if update.callback_query else ""
        study = keyboards.chosen_study(data or "")
        if study is not None:
            await self._run(update, Command("start"), trial=study)
        else:
            await self._run(update, None, trial=keyboards.trial_of(data or ""))

    async def explain_edited_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._explain(update, EDITED)

    async def answer_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared contact: the phone answer when the phone is asked and it is the sender's own; else not kept."""
        assert update.message and update.message.contact
        await self._run(update, _SHARED_CONTACT)

    async def explain_not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice, files, locations ..."""
        await self._explain(update, NOT_TEXT)

    async def note_blocked_bot(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        member = update.my_chat_member
        if member and member.new_chat_member.status == ChatMemberStatus.BANNED:
            self._blocked(member.chat.id)

    async def tell_about_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Say sorry, and log it (type and code location only: no message text, no ids).

        A failed save (a full disk, a database locked too long) is no bug: the step was rolled back
        whole, so the person hears that this answer was not saved, their earlier ones are safe, and to
        try again later, as in the web chat and the terminal; sending it again once there is room
        simply works. Anything else is a bug: a reference, the incident id of its log line."""
        incident = secrets.token_hex(4)
        error = context.error
        storage = isinstance(error, STORAGE_ERRORS)
        if storage:
            log.error("event=unavailable %s", exception_summary(error) if error else "?")
        else:
            log.error("incident %s while handling an update: %s", incident, exception_summary(error) if error else "?")
        if not (
            isinstance(update, Update) and update.effective_chat and update.effective_chat.type == ChatType.PRIVATE
        ):
            return
        chat_id = update.effective_chat.id
        user = update.effective_user
        try:
            language = self._language_of(chat_id, user)
        except Exception:  # the database may be what failed
            language = self._language_for(user.language_code if user else None)
        t = self.service.translator(language)
        try:
            if update.callback_query:
                await self.sender.answer_button(update.callback_query.id)
            await self.sender.send(chat_id, t(NOT_SAVED) if storage else t(SOMETHING_WENT_WRONG, incident=incident))
        except Exception as exc:
            log.error("incident %s: could not tell the person (%s)", incident, type(exc).__name__)

    # ------------------------------------------------------------------ one step of a conversation

    async def _run(
        self, update: Update, action: Action | None, source: str = "", trial: str = "", ask: bool = False
    ) -> None:
        """One step: the trial's service changes everything it changes in one unit of work (and waits until it
        is on disk), then the channel draws what the person sees. `trial` names the trial (a deep link, a
        button); `ask` shows the "which study?" menu when the bot screens for several."""
        chat = update.effective_chat
        assert chat is not None
        user = update.effective_user
        async with self._lock(chat.id):
            source = source or self._pending_source.pop(chat.id, "")
            key = self._key(chat.id, user, source)
            service = None if ask and self.trials.several else self._service(chat.id, key, trial)
            if service is None:  # several trials, and nothing tells which: the person picks
                draw = await self._which_study(chat.id, key, update)
            elif update.callback_query is not None and keyboards.chosen_study(update.callback_query.data or ""):
                draw = await self._picked_study(service, chat.id, key, update)
            elif update.callback_query is not None:
                draw = await self._tap(service, chat.id, key, update)
            elif action is _SHARED_CONTACT:
                draw = await self._contact(service, chat.id, key, update)
            else:
                assert action is not None
                draw = await self._say(service, chat.id, key, update, action)
            if source and (service is None or service.conversation(key).state == CONSENT):
                self._pending_source[chat.id] = source
            if service is not None:
                self._settle(chat.id, key, service)
            try:
                await draw()
            except ChatBlocked:
                self._blocked(chat.id)
            finally:
                if self.staff is not None:
                    await self.staff.flush()

    # ------------------------------------------------------------------ which trial

    def _service(self, chat_id: int, key: Key, trial: str = "") -> ScreeningService | None:
        """The trial an update is for: the one named (a deep link, a button, the menu), else the one the person
        picked last, else the one whose conversation they used last; None when none of these tells."""
        if not self.trials.several:
            return self.service
        named = self.trials.get(trial) if trial else None
        if named is not None:
            self._chosen.pop(chat_id, None)
            self._chosen[chat_id] = trial
            while len(self._chosen) > CHOSEN_LIMIT:
                self._chosen.popitem(last=False)
            return named
        chosen = self._chosen.get(chat_id)
        if chosen is not None and self.trials.get(chosen) is not None:
            return self.trials.get(chosen)
        return self.trials.latest(CHANNEL, key.user)

    def _settle(self, chat_id: int, key: Key, service: ScreeningService) -> None:
        """Forget a picked trial once its conversation is the one used last: the database tells from then on."""
        if self._chosen.get(chat_id) == service.dialog.id and self.trials.latest(CHANNEL, key.user) is service:
            del self._chosen[chat_id]

    def _language_of(self, chat_id: int, user: User | None) -> str:
        """The language of the conversation the person is in (their client's, before any)."""
        key = self._key(chat_id, user)
        service = self._service(chat_id, key)
        if service is None:
            return self._language_for(user.language_code if user else None)
        return service.conversation(key).language

    async def _which_study(self, chat_id: int, key: Key, update: Update) -> Draw:
        """The "which study?" menu: one button per trial, in the person's language. Changes nothing."""
        await self._not_a_step(update)
        user = update.effective_user
        language = self._language_for(user.language_code if user else None)
        latest = self.trials.latest(CHANNEL, key.user)
        if latest is not None:
            language = latest.conversation(key).language
        t = self.service.translator(language)
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(self.trials.title(i, language), callback_data=keyboards.study_button(i))]
                for i in self.trials.ids
            ]
        )
        query = update.callback_query

        async def draw() -> None:
            await self.sender.send(chat_id, t(WHICH_STUDY), markup)
            if query is not None:
                await self.sender.answer_button(query.id)

        return draw

    async def _picked_study(self, service: ScreeningService, chat_id: int, key: Key, update: Update) -> Draw:
        """A tap in the "which study?" menu: /start in that trial; the menu loses its buttons."""
        query = update.callback_query
        assert query is not None
        message = query.message if isinstance(query.message, Message) else None
        draw = await self._say(service, chat_id, key, update, Command("start"))
        drawing = [self.sender.edit(chat_id, message.message_id, None, None)] if message else []
        return lambda: self._then_answer(query.id, *drawing, draw())

    # ------------------------------------------------------------------ one step, drawn

    async def _step(self, service: ScreeningService, key: Key, update: Update, action: Action) -> Reply | None:
        """The trial's step for this update; None for a replayed one (nothing to draw)."""
        return await service.step(
            key, action, update_id=update.update_id, nudge_after=self.reminder_after, now=self.clock()
        )

    async def _not_a_step(self, update: Update) -> None:
        """An update that changes nothing (a stale tap, a contact not asked for): only its id is recorded."""
        self.upkeep.note_update(update.update_id, self.clock())
        await self.service.flush()

    async def _contact(self, service: ScreeningService, chat_id: int, key: Key, update: Update) -> Draw:
        """Telegram's share-contact button at the phone question; a contact anywhere else is not kept."""
        assert update.message and update.message.contact
        contact, user = update.message.contact, update.effective_user
        current = service.current(key).prompt
        t = service.translator(service.conversation(key).language)
        if current is None or current.kind != "phone":
            await self._not_a_step(update)
            return lambda: self.sender.send(chat_id, t(CONTACT))
        if user is None or contact.user_id != user.id:
            await self._not_a_step(update)
            reply: Reply | None = Reply([t(CONTACT_NOT_YOURS)], current)
        else:
            reply = await self._step(service, key, update, Command("contact", contact.phone_number))
        return self._drawing(service, chat_id, reply, key)

    def _drawing(self, service: ScreeningService, chat_id: int, reply: Reply | None, key: Key) -> Draw:
        if reply is None:
            return _nothing
        t = self._words(service, key, reply)
        return lambda: self._show(chat_id, reply, t, self._trial(service))

    @staticmethod
    def _words(service: ScreeningService, key: Key, reply: Reply) -> Translator:
        """The translator for what is drawn after a step: the reply's language (no second read of the conversation)."""
        return service.translator(reply.language or service.conversation(key).language)

    def _trial(self, service: ScreeningService) -> str:
        """What a button names as its trial: the dialog id with several trials, nothing with one."""
        return service.dialog.id if self.trials.several else ""

    async def _say(self, service: ScreeningService, chat_id: int, key: Key, update: Update, action: Action) -> Draw:
        live = self._live_prompt.get(chat_id)
        reply = await self._step(service, key, update, action)
        if reply is None:
            return _nothing
        t = self._words(service, key, reply)
        trial = self._trial(service)
        if not (live and isinstance(action, Text) and _live_tag(reply.prompt, trial) != live[1]):
            return lambda: self._show(chat_id, reply, t, trial)
        # A typed answer moved the dialog on: show it under its question, without buttons.
        message_id, _tag, text = live
        self._live_prompt.pop(chat_id, None)

        async def draw() -> None:
            await asyncio.gather(
                self.sender.edit(chat_id, message_id, f"{text}\n\n{keyboards.CHECKED}{action.text[:ECHO_LIMIT]}"),
                self._show(chat_id, reply, t, trial),
            )

        return draw

    async def _tap(self, service: ScreeningService, chat_id: int, key: Key, update: Update) -> Draw:
        query = update.callback_query
        assert query is not None
        message = query.message if isinstance(query.message, Message) else None
        decoded = keyboards.decode(query.data or "")
        current = keyboards.prompt_tag(service.current(key).prompt)
        if decoded is None or decoded[0] not in (keyboards.ANY_STEP, current):
            await self._not_a_step(update)
            t = service.translator(service.conversation(key).language)

            async def stale() -> None:
                await asyncio.gather(
                    self.sender.answer_button(query.id, t(STALE_BUTTON)),
                    *([self.sender.edit(chat_id, message.message_id, None, None)] if message else []),
                )

            return stale
        tag, action = decoded
        reply = await self._step(service, key, update, action)
        if reply is None:
            return _nothing
        t = self._words(service, key, reply)
        trial = self._trial(service)
        new_tag = keyboards.prompt_tag(reply.prompt)
        if message is None:
            return lambda: self._then_answer(query.id, self._show(chat_id, reply, t, trial))
        if new_tag == tag and reply.prompt and reply.prompt.kind == "multi" and not reply.notices:
            # A tick on a multiple-choice question: redraw the buttons in place.
            markup = keyboards.keyboard(reply.prompt, trial)

            return lambda: self._then_answer(query.id, self.sender.edit(chat_id, message.message_id, None, markup))
        chosen = ""
        if isinstance(action, Choose):
            chosen = keyboards.tapped_label(message.reply_markup, query.data or "")
        elif action.name == "done":
            chosen = t(_(", ")).join(keyboards.ticked_labels(message.reply_markup))
        answered = None  # only the buttons go, unless the answer moved the dialog on
        if chosen and new_tag != tag and message.text:
            answered = f"{message.text}\n\n{keyboards.CHECKED}{chosen}"
        if self._live_prompt.get(chat_id, (None,))[0] == message.message_id:
            self._live_prompt.pop(chat_id)

        return lambda: self._then_answer(
            query.id,
            self.sender.edit(chat_id, message.message_id, answered, None),
            self._show(chat_id, reply, t, trial),
        )

    async def _then_answer(self, query_id: str, *drawing: Awaitable[object]) -> None:
        """Draw, then stop the button's spinner: it turns until the person sees the result of the tap."""
        await asyncio.gather(*drawing)
        await self.sender.answer_button(query_id)

    async def _show(self, chat_id: int, reply: Reply, t: Translator, trial: str = "") -> None:
        """Notices as messages, then the prompt with its keyboard (its buttons naming `trial`, when there are
        several); the previous keyboard goes away.

        Edits of earlier messages go out together with the messages (one round trip to
        Telegram instead of two); messages keep their order.

        At the phone question a reply keyboard with Telegram's share-contact button is
        shown (a message can carry only one keyboard, so it comes in its own message,
        before the question with its Back button); the first message after that step
        takes it away again."""
        prompt = reply.prompt
        notices = list(reply.notices)
        asks_phone = prompt is not None and prompt.kind == "phone"
        remove = chat_id in self._contact_keyboard and not asks_phone
        if remove and not notices:
            notices.append(t(NUMBER_SAVED) if prompt and prompt.question == "contact_name" else t(KEYBOARD_CLOSED))
        for notice in notices:
            for chunk in _chunks(notice):
                await self.sender.send(chat_id, chunk, ReplyKeyboardRemove() if remove else None)
                if remove:
                    self._contact_keyboard.discard(chat_id)
                    remove = False
        if asks_phone and chat_id not in self._contact_keyboard:
            share = KeyboardButton(t(SHARE_BUTTON), request_contact=True)
            markup = ReplyKeyboardMarkup([[share]], one_time_keyboard=True, resize_keyboard=True)
            if await self.sender.send(chat_id, t(SHARE_HINT), markup) is not None:
                self._contact_keyboard.add(chat_id)
        previous = self._live_prompt.pop(chat_id, None)
        if prompt is None or prompt.kind == "ended":
            if previous:
                await self.sender.edit(chat_id, previous[0], None, None)
            return
        text = keyboards.prompt_text(prompt)
        send = self.sender.send(chat_id, text[:MESSAGE_LIMIT], keyboards.keyboard(prompt, trial))
        if previous:
            _edited, sent = await asyncio.gather(self.sender.edit(chat_id, previous[0], None, None), send)
        else:
            sent = await send
        if sent is not None:
            self._live_prompt[chat_id] = (sent.message_id, _live_tag(prompt, trial), text[:MESSAGE_LIMIT])

    async def _explain(self, update: Update, message: str) -> None:
        chat = update.effective_chat
        assert chat is not None
        async with self._lock(chat.id):
            self.upkeep.note_update(update.update_id, self.clock())
            language = self._language_of(chat.id, update.effective_user)
            try:
                await self.sender.send(chat.id, self.service.translator(language)(message))
            except ChatBlocked:
                self._blocked(chat.id)

    def _key(self, chat_id: int, user: User | None = None, source: str = "") -> Key:
        """The person as the service knows them: a pseudonym of the chat id, and the chat id to keep encrypted."""
        hint = user.language_code if user else None
        return Key(CHANNEL, telegram_user_key(chat_id, self.service), hint, source, address=chat_id)

    def _language_for(self, code: str | None) -> str:
        return negotiate(code or self.service.default_language, self.service.languages)

    def _blocked(self, chat_id: int) -> None:
        self.upkeep.mark_inactive(self._key(chat_id))
        self._live_prompt.pop(chat_id, None)
        log.info("a person blocked the bot: their conversation is now inactive")

    # ------------------------------------------------------------------ reminders

    async def remind(self, due: DueNudge) -> bool:
        """Send the one gentle reminder with the current question; False when it no longer applies."""
        async with self._lock(due.chat_id):
            found = self.upkeep.nudge(CHANNEL, due, self.clock())
            if found is None:
                return False
            await self.service.flush()
            try:
                reminder = Reply([found.translator(REMINDER)], found.prompt)
                await self._show(
                    due.chat_id, reminder, found.translator, found.dialog_id if self.trials.several else ""
                )
            except ChatBlocked:
                self._blocked(due.chat_id)
            return True


async def _nothing() -> None:
    """A replayed update: nothing to draw."""


def _live_tag(prompt: Prompt | None, trial: str) -> str:
    """The live prompt's tag, with its trial: the same question id in two trials is two prompts."""
    return f"{trial}/{keyboards.prompt_tag(prompt)}" if trial else keyboards.prompt_tag(prompt)


def _tapped(update: Update, command: str) -> bool:
    decoded = keyboards.decode(update.callback_query.data or "") if update.callback_query else None
    return decoded is not None and isinstance(decoded[1], Command) and decoded[1].name == command


#: What a step shows, run once what it changed is committed.
Draw = Callable[[], Awaitable[object]]

#: Marks a shared contact for `_run` (what it means depends on the question asked).
_SHARED_CONTACT = Command("__shared_contact__")


def _chunks(text: str) -> list[str]:
    """Split a long text at line breaks to fit Telegram's message limit."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > MESSAGE_LIMIT:
            chunks.append(line[:MESSAGE_LIMIT])
            line = line[MESSAGE_LIMIT:]
        if current and len(current) + 1 + len(line) > MESSAGE_LIMIT:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current or not chunks:
        chunks.append(current)
    return chunks
