"""`screening-bot web` and `screening-bot qr`: registered on the main parser by `add_web_commands`."""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from ...config import Settings, SubCommands, flag_type
from ...dialog.load import load_dialog
from ...errors import Problem
from ...files import new_files_removed_on_failure
from ...retention import retention_from
from ...screening import ScreeningService, Trials
from .security import KEY_FILE, load_secret

log = logging.getLogger("bot.web")

if TYPE_CHECKING:  # a type only: the app (Starlette, Jinja) is imported when a command serves it
    from .app import Attach


def add_web_commands(
    sub: SubCommands,
    build_trials: Callable[[Settings], Trials],
    attach: Attach | None = None,
    configure_logging: Callable[[Settings], None] | None = None,
) -> None:
    """`build_trials`, `attach` (the staff console) and `configure_logging` (each web worker's) are the
    composition root's (bot/cli.py): this module never imports them back."""
    web = sub.add_parser("web", help="serve the web chat (for people who cannot reach Telegram)")
    web.add_argument(
        "--host", type=flag_type("web_host"), help="address to listen on (default: 127.0.0.1 or $WEB_HOST)"
    )
    web.add_argument("--port", type=flag_type("web_port"), help="port (default: 8080 or $WEB_PORT)")
    web.add_argument(
        "--public-url", type=flag_type("public_url"), help="the address people open, e.g. https://screening.example.org"
    )
    web.add_argument(
        "--workers", type=flag_type("web_workers"), help="worker processes sharing the database (default: 1)"
    )
    web.set_defaults(func=cmd_web, build_trials=build_trials, attach=attach, configure_logging=configure_logging)
    qr = sub.add_parser("qr", help="write QR codes (SVG and PNG) for a campaign source, for each trial")
    qr.add_argument("--source", required=True, help="campaign name, e.g. poster-wuhan")
    qr.add_argument("--trial", metavar="DIALOG_ID", help="only this trial (default: each trial configured)")
    qr.add_argument(
        "--public-url", type=flag_type("public_url"), help="the web chat's public address (default: $WEB_PUBLIC_URL)"
    )
    qr.add_argument("--out", default="data/qr", help="folder for the files (default: data/qr)")
    qr.set_defaults(func=cmd_qr)


def cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    settings = settings.with_overrides(
        web_host=args.host, web_port=args.port, public_url=args.public_url, web_workers=args.workers
    )
    listening = listening_socket(settings.web_host, settings.web_port)  # before anything is written
    return serve_web(
        args.build_trials(settings),
        settings,
        listening,
        args.attach,
        Workers(args.build_trials, args.attach, args.configure_logging),
    )


@dataclass(frozen=True)
class Workers:
    """What each web worker process builds its app from: the composition root's functions (bot/cli.py),
    handed down because this channel never imports the root; module-level, so a new process gets them."""

    build_trials: Callable[[Settings], Trials]
    attach: Attach | None = None
    configure_logging: Callable[[Settings], None] | None = None


def serve_web(
    screening: ScreeningService | Trials,
    settings: Settings,
    listening: socket.socket | None = None,
    attach: Attach | None = None,
    workers: Workers | None = None,
) -> int:
    """The web chat alone, until Ctrl-C or SIGTERM (`screening-bot web`, or `run --web` without a token),
    with the daily retention purge (inside the Telegram bot, the bot runs it: `embedded_web`).

    Answers are group-committed as in the bot (the service's group_commit, bot/store/durable.py):
    each is on disk before the page that acknowledges it is sent. With WEB_WORKERS above 1,
    `serve_workers` (it needs `workers`)."""
    from .app import create_app

    trials = Trials.of(screening)
    listening = listening or listening_socket(settings.web_host, settings.web_port)
    if settings.web_workers > 1:
        if workers is None:
            raise Problem("WEB_WORKERS above 1 is for `screening-bot web` and `run --web` only.")
        return serve_workers(trials, settings, listening, workers)
    trials.default.group_commit()  # one connection: every trial's storage shares it
    with new_files_removed_on_failure(Path(settings.db_path).parent / KEY_FILE):
        app = create_app(trials, settings, attach=attach, retention=retention_from(settings))
    print(f"Web chat on http://{settings.web_host}:{settings.web_port}/", file=sys.stderr)
    uvicorn.Server(server_config(app, settings.web_host, settings.web_port)).run(sockets=[listening])
    return 0


def serve_workers(trials: Trials, settings: Settings, listening: socket.socket, workers: Workers) -> int:
    """WEB_WORKERS processes on one address, each with its own connection to the one database file.

    Everything a request needs is in the database or the signed cookie (app.py), so any worker
    serves any request. This process has checked and migrated the database and made the web key
    (`trials` were built here) before uvicorn's supervisor starts the workers; it then only
    watches them (a worker that dies is replaced) until Ctrl-C or SIGTERM."""
    with new_files_removed_on_failure(Path(settings.db_path).parent / KEY_FILE):
        load_secret(settings.web_secret, Path(settings.db_path).parent)  # one key file, made before any worker
    trials.default.close()  # one connection: every trial's storage shares it
    config = server_config(
        functools.partial(worker_app, settings, workers),
        settings.web_host,
        settings.web_port,
        workers=settings.web_workers,
    )
    print(
        f"Web chat on http://{settings.web_host}:{settings.web_port}/ ({settings.web_workers} worker processes)",
        file=sys.stderr,
    )
    Multiprocess(config, sockets=[listening]).run()
    return 0


def worker_app(settings: Settings, workers: Workers) -> ASGIApp:
    """The app of one worker process (`serve_workers`; uvicorn calls it in the new process)."""
    from .app import create_app

    if workers.configure_logging is not None:
        workers.configure_logging(settings)
    try:
        trials = workers.build_trials(settings)
        trials.default.group_commit()  # one connection: every trial's storage shares it
        return create_app(trials, settings, attach=workers.attach, retention=retention_from(settings))
    except Exception as exc:  # the parent checked all this a moment ago: say it in one line and stop
        log.error("a web worker could not start: %s", exc)
        sys.exit(STARTUP_FAILURE)


def listening_socket(host: str, port: int) -> socket.socket:
    """The web chat's address, taken before the database is opened: an address in use or not allowed
    stops the command with a clear message and nothing written.

    Made as `socket.create_server` makes it, but with its protocol named (IPPROTO_TCP): asyncio
    switches Nagle's algorithm off (TCP_NODELAY) only on connections whose socket says TCP, and
    with it on, every page after the first on a kept-alive connection waited 40 ms for the
    browser's delayed acknowledgement (measured: 45 ms instead of 1 ms for the page after a tap)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen()
        except BaseException:
            sock.close()
            raise
        return sock
    except OSError as exc:
        where = f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            why = "another program uses it (another screening-bot?). Stop it, or use another port (--port, WEB_PORT)."
        elif exc.errno in (errno.EACCES, errno.EPERM):
            why = "ports below 1024 need special rights. Use one above 1023 behind a reverse proxy (--port, WEB_PORT)."
        elif exc.errno == errno.EADDRNOTAVAIL or (exc.errno or 0) < 0:  # negative: the name was not found
            why = "this machine has no such address. Check --host or WEB_HOST (127.0.0.1 behind a reverse proxy)."
        else:
            why = f"{exc.strerror or type(exc).__name__}."
        raise Problem(f"the web chat cannot listen on {where}: {why}") from exc


class EmbeddedServer(uvicorn.Server):
    """The web chat inside another program's event loop (`screening-bot run --web`).

    The host program (the Telegram bot) owns SIGINT and SIGTERM and stops this server
    by setting `should_exit`; uvicorn must not take the signals for itself. Its address
    is taken when it is made (`listening`), so a port in use stops the bot at start.
    """

    def __init__(self, config: uvicorn.Config, listening: socket.socket | None = None) -> None:
        super().__init__(config)
        self.listening = listening

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        await super().serve(sockets or ([self.listening] if self.listening else None))


def embedded_web(
    screening: ScreeningService | Trials, settings: Settings, attach: Attach | None = None
) -> EmbeddedServer:
    """The web chat on the bot's own trials, so both channels share one database connection.

    That connection group-commits (bot/store/durable.py), so the web chat, like the bot,
    waits for the flush before it acknowledges an answer (the service's step does)."""
    from .app import create_app

    Trials.of(screening).default.group_commit()  # one connection: every trial's storage shares it
    listening = listening_socket(settings.web_host, settings.web_port)
    app = create_app(screening, settings, attach=attach)
    print(f"Web chat on http://{settings.web_host}:{settings.web_port}/", file=sys.stderr)
    return EmbeddedServer(server_config(app, settings.web_host, settings.web_port), listening)


def server_config(app: ASGIApp | functools.partial[ASGIApp], host: str, port: int, workers: int = 1) -> uvicorn.Config:
    """How the web chat is served (the browser test serves it the same way).

    uvicorn's access log prints client addresses and query strings, so it is off:
    the app logs each request itself without them (bot.web.access). uvicorn's
    handling of X-Forwarded-For is off too: the app reads it only from the proxies
    named in WEB_FORWARDED_ALLOW_IPS (bot/channels/web/limits.py). With `workers`,
    `app` is a factory each worker process calls.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        log_config=None,
        proxy_headers=False,
        workers=workers,
        factory=workers > 1,
    )


def cmd_qr(settings: Settings, args: argparse.Namespace) -> int:
    """QR codes for a campaign: with one trial as before (`<source>-web`, `<source>-telegram`); with several,
    for each trial (or the one named by --trial) its own links and files (`<source>-<dialog id>-web` ...)."""
    from .qr import check_source, telegram_link, web_link, write_qr

    source = check_source(args.source)
    ids = [load_dialog(path).id for path in settings.dialog_files()]  # only the ids: no database is opened
    if args.trial and args.trial not in ids:
        raise Problem(f"no trial {args.trial!r} here: the trials are {', '.join(ids)}")
    several = len(ids) > 1
    out = Path(args.out)
    written = []
    for dialog_id in [args.trial] if args.trial else ids:
        trial = dialog_id if several else ""
        stem = f"{source}-{dialog_id}" if several else source
        written += write_qr(web_link(args.public_url or settings.public_url, source, trial), out / f"{stem}-web")
        if settings.telegram_bot_username:
            link = telegram_link(settings.telegram_bot_username, source, trial)
            written += write_qr(link, out / f"{stem}-telegram")
    if not settings.telegram_bot_username:
        print("TELEGRAM_BOT_USERNAME is not set: no Telegram QR code written.", file=sys.stderr)
    for path in written:
        print(path)
    return 0
