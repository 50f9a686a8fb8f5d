"""Building and running the Telegram bot: everything ptb is told, in one visible place.

`serve` is used by `screening-bot run` and by the tests alike (rather than ptb's
`run_polling`, which owns the event loop): initialise, register the command menu
(optional: a failure is logged, the bot still runs), start polling or the webhook,
start the reminder loop, the daily retention purge (bot/screening/daily_purge.py) and the erasure follow-up (WAL
wipes off the event loop, staff messages blanked); on stop, the same in reverse.
The study team's side (staff chat, staff commands) is in staff.py.

Long on purpose: everything ptb is told, in one visible place (the house style asks for
one main() that wires it all).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, BaseUpdateProcessor
from telegram.request import BaseRequest, HTTPXRequest

from ...config import ConfigError, Settings
from ...errors import explain_os_error
from ...i18n import _
from ...retention import Retention, retention_from
from ...screening import DailyPurge, ScreeningService, Trials
from .erasures import ErasureFollowUp
from .handlers import TelegramChannel
from .link import TelegramLink, TelegramProblem, WatchedRequest, check_token_format, reach_telegram
from .logguard import guard_logs
from .ready_reminders import ReadyReminders
from .reminders import Reminders
from .sending import Sender, _kind
from .staff import StaffDesk, StaffOptions

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.telegram.org"

#: The command menu. Descriptions go through gettext; one menu per language below.
COMMANDS = [
    ("start", _("Begin or go on with the screening")),
    ("help", _("How this chat works")),
    ("back", _("Go back to the previous question")),
    ("restart", _("Start again from the first question")),
    ("language", _("Choose English or Chinese")),
    ("privacy", _("How we use your answers")),
    ("summary", _("A summary of your answers, for your doctor")),
    ("stop", _("Stop all reminders")),
    ("delete", _("Delete your answers")),
]
#: Added to the menu in the private chats of staff (STAFF_USER_IDS) only.
STAFF_COMMANDS = [
    ("leads", _("Open leads, newest first")),
    ("lead", _("One whole lead: /lead ID")),
    ("stats", _("How many people start, finish and stop")),
    ("export", _("All leads as a file (CSV, or /export xlsx)")),
]
#: Telegram client language code ("" = everyone else) -> our catalog.
MENU_LANGUAGES = {"": "en", "en": "en", "zh": "zh_Hans"}


@dataclass(frozen=True)
class TelegramOptions:
    token: str = field(repr=False)
    api_base_url: str = DEFAULT_API_BASE_URL
    reminder_after: timedelta | None = timedelta(hours=24)
    reminder_check_every: float = 60.0
    #: Seconds; a send that gets no answer within read_timeout counts as "maybe delivered".
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    poll_timeout: int = 10
    #: Tries of one call in all; the Sender is the only layer that retries (sending.py).
    send_attempts: int = 5
    #: Telegram's flood limit for all chats together, kept by ptb's AIORateLimiter (which retries nothing).
    messages_per_second: float = 30.0
    send_backoff: float = 0.5
    staff: StaffOptions = field(default_factory=StaffOptions)
    retention: Retention = field(default_factory=Retention)
    #: Seconds between "is a purge due?" checks; a purge runs at start and then once a day.
    purge_check_every: float = 3600.0
    #: How long to keep trying to reach Telegram at start before giving up (link.py).
    start_seconds: float = 60.0
    #: Seconds between retries of an erasure's follow-up (WAL wipe, staff messages) until it is done.
    erasure_check_every: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramOptions:
        """The options from the settings; a token that cannot be right is refused here, before any network call."""
        check_token_format(settings.telegram_token)
        hours = settings.telegram_reminder_hours
        return cls(
            token=settings.telegram_token,
            start_seconds=settings.telegram_start_seconds,
            api_base_url=settings.telegram_api_base_url or DEFAULT_API_BASE_URL,
            reminder_after=timedelta(hours=hours) if hours > 0 else None,
            staff=StaffOptions.from_settings(settings),
            retention=retention_from(settings),
        )


@dataclass(frozen=True)
class Webhook:
    """Webhook mode: Telegram calls `url`; we listen on listen:port and check the secret on every call."""

    url: str
    listen: str = "127.0.0.1"
    port: int = 8443
    secret_token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    @property
    def url_path(self) -> str:
        return urlsplit(self.url).path.lstrip("/")


def build_application(
    screening: ScreeningService | Trials,
    options: TelegramOptions,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    *,
    request: BaseRequest | None = None,
    update_processor: BaseUpdateProcessor | None = None,
) -> Application:
    """The ptb Application with our handlers, rate limiter and timeouts; the channel is in bot_data.

    `request` (ptb's HTTP layer) and `update_processor` (ptb's concurrency, default 256 updates at
    once) are for the benchmark and tests only: they replace the network and time each update,
    leaving everything else as it runs in production. With several trials (bot/screening/trials.py) one bot
    screens for all of them."""
    trials = Trials.of(screening)
    if not trials.keeps_contacts:
        raise ConfigError("the Telegram channel needs the encryption vault (build the service's Storage with a vault)")
    guard_logs(options.token)
    root = options.api_base_url.rstrip("/")
    builder = (
        ApplicationBuilder()
        .token(options.token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .concurrent_updates(update_processor or True)
        .rate_limiter(AIORateLimiter(overall_max_rate=options.messages_per_second, max_retries=0))
    )
    link = TelegramLink(root)
    sending, polling = (request, request) if request is not None else http_requests(options)
    builder = builder.request(WatchedRequest(sending, link)).get_updates_request(WatchedRequest(polling, link))
    app = builder.build()
    app.bot_data["link"] = link
    durable = trials.default.group_commit()  # every step waits for its fsync, for all chats (store/durable.py)
    sender = Sender(app.bot, attempts=options.send_attempts, backoff=options.send_backoff, durable=durable)
    channel = TelegramChannel(trials, sender, options.reminder_after, clock)
    channel.staff = StaffDesk(trials, trials.team(), sender, options.staff, clock)
    channel.register(app)
    app.bot_data["channel"] = channel
    app.bot_data["reminders"] = Reminders(channel, options.reminder_check_every)
    app.bot_data["ready_reminders"] = ReadyReminders(channel, options.reminder_check_every)
    purge = DailyPurge(trials.default, options.retention, clock, options.purge_check_every)  # every trial's data
    if channel.staff is not None:
        purge.after.append(channel.staff.blank_orphans)  # the staff posts of leads it removed
    app.bot_data["purge"] = purge
    app.bot_data["erasures"] = ErasureFollowUp(channel, options.erasure_check_every)
    app.bot_data["options"] = options
    return app


def http_requests(options: TelegramOptions) -> tuple[BaseRequest, BaseRequest]:
    """ptb's HTTP layer for sending (many connections) and for polling (one), with our timeouts."""
    return (
        HTTPXRequest(
            connect_timeout=options.connect_timeout,
            read_timeout=options.read_timeout,
            write_timeout=options.read_timeout,
        ),
        HTTPXRequest(connection_pool_size=1, read_timeout=options.read_timeout),
    )


def check_telegram(settings: Settings) -> None:
    """Before anything is written: the token's format, then Telegram's answer to it (getMe, retried).

    `screening-bot run` calls this before it opens the database, so a wrong token or no network
    stops it with one line and leaves no new database or key behind."""
    options = TelegramOptions.from_settings(settings)
    guard_logs(options.token)

    async def ask() -> None:
        root = options.api_base_url.rstrip("/")
        link = TelegramLink(root)
        sending, polling = http_requests(options)
        bot = Bot(
            options.token,
            base_url=f"{root}/bot",
            base_file_url=f"{root}/file/bot",
            request=WatchedRequest(sending, link),
            get_updates_request=WatchedRequest(polling, link),
        )
        try:
            await reach_telegram(bot, link, options.start_seconds)
        finally:
            await bot.shutdown()

    asyncio.run(ask())


async def register_commands(app: Application, service: ScreeningService, staff: StaffOptions | None = None) -> None:
    """The command menu in each language (and for staff, theirs). Optional: a failure is logged, the bot runs on."""
    for code, language in MENU_LANGUAGES.items():
        t = service.translator(language)
        try:
            await app.bot.set_my_commands(
                [BotCommand(name, t(text)) for name, text in COMMANDS], language_code=code or None
            )
            for user_id in sorted(staff.user_ids if staff else ()):
                await app.bot.set_my_commands(
                    [BotCommand(name, t(text)) for name, text in [*COMMANDS, *STAFF_COMMANDS]],
                    scope=BotCommandScopeChat(user_id),
                    language_code=code or None,
                )
        except TelegramError as exc:
            log.warning(
                "the command menu (%s) could not be set: %s; the bot runs without it", code or "default", _kind(exc)
            )


async def start(app: Application, webhook: Webhook | None = None) -> None:
    channel: TelegramChannel = app.bot_data["channel"]
    options: TelegramOptions = app.bot_data["options"]
    link: TelegramLink = app.bot_data["link"]
    await reach_telegram(app.bot, link, options.start_seconds)
    await app.initialize()
    channel.upkeep.forget_updates_before(channel.clock() - timedelta(days=2))
    if channel.staff is not None:
        app.bot_data["unsubscribe"] = channel.trials.subscribe(channel.staff.on_lead)
    await register_commands(app, channel.service, options.staff)
    await app.start()
    assert app.updater is not None
    try:
        if webhook is None:
            await app.updater.start_polling(
                timeout=options.poll_timeout, allowed_updates=Update.ALL_TYPES, error_callback=link.polling_failed
            )
        else:
            await app.updater.start_webhook(
                listen=webhook.listen,
                port=webhook.port,
                url_path=webhook.url_path,
                webhook_url=webhook.url,
                secret_token=webhook.secret_token,
                allowed_updates=Update.ALL_TYPES,
            )
    except InvalidToken:
        raise TelegramProblem(link.refused_message()) from None
    except NetworkError as exc:
        raise TelegramProblem(
            f"Telegram stopped answering while the bot started ({_kind(exc)}); start it again."
        ) from None
    except OSError as exc:  # the webhook's address
        where = f"{webhook.listen}:{webhook.port}" if webhook else "the webhook address"
        raise TelegramProblem(explain_os_error(exc, "listen for the Telegram webhook on", where)) from exc
    app.bot_data["reminders"].start()
    app.bot_data["ready_reminders"].start()
    app.bot_data["purge"].start()
    app.bot_data["erasures"].start()
    log.info("the Telegram bot is running (%s)", "webhook" if webhook else "long polling")


async def stop(app: Application) -> None:
    await app.bot_data["purge"].stop()
    await app.bot_data["erasures"].stop()
    await app.bot_data["reminders"].stop()
    await app.bot_data["ready_reminders"].stop()
    if "unsubscribe" in app.bot_data:
        app.bot_data.pop("unsubscribe")()
    if app.updater is not None and app.updater.running:
        try:
            await app.updater.stop()
        except TelegramError as exc:  # polling had ended on it (a refused token): already reported
            log.info("polling had stopped: %s", _kind(exc))
    if app.running:
        await app.stop()
    await app.shutdown()


async def serve(
    app: Application,
    webhook: Webhook | None = None,
    beside: Sequence[Any] = (),
    stopping: asyncio.Event | None = None,
) -> None:
    """Run until SIGINT or SIGTERM (or `stopping` is set).

    `beside` holds servers that share this event loop and so the bot's one SQLite
    connection, e.g. the web chat (`screening-bot run --web`): anything with an async
    `serve()` and a `should_exit` flag, as uvicorn.Server has.
    """
    stopping = stopping or asyncio.Event()
    link: TelegramLink = app.bot_data["link"]
    link.on_refused = stopping.set  # a token revoked while running stops the bot (and the process: exit 2)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await start(app, webhook)
    except BaseException:
        await stop(app)
        raise
    servers = [asyncio.create_task(server.serve()) for server in beside]
    try:
        await stopping.wait()
    finally:
        log.info("stopping the Telegram bot")
        for server in beside:
            server.should_exit = True
        await asyncio.gather(*servers, return_exceptions=True)
        await stop(app)
    if link.refused:
        raise TelegramProblem(link.refused_message(while_running=True))


def run_telegram(
    screening: ScreeningService | Trials, settings: Settings, webhook: Webhook | None = None, beside: Sequence[Any] = ()
) -> int:
    app = build_application(screening, TelegramOptions.from_settings(settings))
    asyncio.run(serve(app, webhook, beside))
    return 0
