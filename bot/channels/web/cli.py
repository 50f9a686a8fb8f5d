"""`screening-bot web` and `screening-bot qr`: registered on the main parser by `add_web_commands`."""

from __future__ import annotations

import argparse
import contextlib
import errno
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from starlette.types import ASGIApp

from ...config import Settings, SubCommands, flag_type
from ...errors import Problem
from ...files import new_files_removed_on_failure
from ...retention import retention_from
from ...screening import ScreeningService
from .security import KEY_FILE

if TYPE_CHECKING:  # a type only: the app (Starlette, Jinja) is imported when a command serves it
    from .app import Attach


def add_web_commands(
    sub: SubCommands, build_service: Callable[[Settings], ScreeningService], attach: Attach | None = None
) -> None:
    """`build_service` and `attach` (the staff console) are the composition root's (bot/cli.py): this
    module never imports them back."""
    web = sub.add_parser("web", help="serve the web chat (for people who cannot reach Telegram)")
    web.add_argument(
        "--host", type=flag_type("web_host"), help="address to listen on (default: 127.0.0.1 or $WEB_HOST)"
    )
    web.add_argument("--port", type=flag_type("web_port"), help="port (default: 8080 or $WEB_PORT)")
    web.add_argument(
        "--public-url", type=flag_type("public_url"), help="the address people open, e.g. https://screening.example.org"
    )
    web.set_defaults(func=cmd_web, build_service=build_service, attach=attach)
    qr = sub.add_parser("qr", help="write QR codes (SVG and PNG) for a campaign source")
    qr.add_argument("--source", required=True, help="campaign name, e.g. poster-wuhan")
    qr.add_argument(
        "--public-url", type=flag_type("public_url"), help="the web chat's public address (default: $WEB_PUBLIC_URL)"
    )
    qr.add_argument("--out", default="data/qr", help="folder for the files (default: data/qr)")
    qr.set_defaults(func=cmd_qr)


def cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    settings = settings.with_overrides(web_host=args.host, web_port=args.port, public_url=args.public_url)
    listening = listening_socket(settings.web_host, settings.web_port)  # before anything is written
    return serve_web(args.build_service(settings), settings, listening, args.attach)


def serve_web(
    service: ScreeningService, settings: Settings, listening: socket.socket | None = None, attach: Attach | None = None
) -> int:
    """The web chat alone, until Ctrl-C or SIGTERM (`screening-bot web`, or `run --web` without a token),
    with the daily retention purge (inside the Telegram bot, the bot runs it: `embedded_web`)."""
    from .app import create_app

    listening = listening or listening_socket(settings.web_host, settings.web_port)
    with new_files_removed_on_failure(Path(settings.db_path).parent / KEY_FILE):
        app = create_app(service, settings, attach=attach, retention=retention_from(settings))
    print(f"Web chat on http://{settings.web_host}:{settings.web_port}/", file=sys.stderr)
    config = server_config(app, settings.web_host, settings.web_port, settings.forwarded_allow_ips)
    uvicorn.Server(config).run(sockets=[listening])
    return 0


def listening_socket(host: str, port: int) -> socket.socket:
    """The web chat's address, taken before the database is opened: an address in use or not allowed
    stops the command with a clear message and nothing written."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
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


def embedded_web(service: ScreeningService, settings: Settings, attach: Attach | None = None) -> EmbeddedServer:
    """The web chat on the bot's own service, so both channels share one database connection.

    That connection group-commits (bot/store/durable.py), so the web chat, like the bot,
    waits for the flush before it acknowledges an answer (the service's step does)."""
    from .app import create_app

    service.group_commit()
    listening = listening_socket(settings.web_host, settings.web_port)
    app = create_app(service, settings, attach=attach)
    print(f"Web chat on http://{settings.web_host}:{settings.web_port}/", file=sys.stderr)
    config = server_config(app, settings.web_host, settings.web_port, settings.forwarded_allow_ips)
    return EmbeddedServer(config, listening)


def server_config(app: ASGIApp, host: str, port: int, forwarded_allow_ips: str = "127.0.0.1") -> uvicorn.Config:
    """How the web chat is served (the browser test serves it the same way).

    uvicorn's access log prints client addresses and query strings, so it is off:
    the app logs each request itself without them (bot.web.access). Behind a
    reverse proxy, set FORWARDED_ALLOW_IPS to the proxy's address so the rate
    limit sees each visitor's address rather than the proxy's.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
    )


def cmd_qr(settings: Settings, args: argparse.Namespace) -> int:
    from .qr import check_source, telegram_link, web_link, write_qr

    source = check_source(args.source)
    out = Path(args.out)
    written = write_qr(web_link(args.public_url or settings.public_url, source), out / f"{source}-web")
    if settings.telegram_bot_username:
        written += write_qr(telegram_link(settings.telegram_bot_username, source), out / f"{source}-telegram")
    else:
        print("TELEGRAM_BOT_USERNAME is not set: no Telegram QR code written.", file=sys.stderr)
    for path in written:
        print(path)
    return 0
