"""`screening-bot web` and `screening-bot qr`: registered on the main parser by `add_web_commands`."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from ...config import Settings, flag_type
from ...screening import Screener


def add_web_commands(sub: argparse._SubParsersAction) -> None:
    web = sub.add_parser("web", help="serve the web chat (for people who cannot reach Telegram)")
    web.add_argument(
        "--host", type=flag_type("web_host"), help="address to listen on (default: 127.0.0.1 or $WEB_HOST)"
    )
    web.add_argument("--port", type=flag_type("web_port"), help="port (default: 8080 or $WEB_PORT)")
    web.add_argument(
        "--public-url", type=flag_type("public_url"), help="the address people open, e.g. https://screening.example.org"
    )
    web.set_defaults(func=cmd_web)
    qr = sub.add_parser("qr", help="write QR codes (SVG and PNG) for a campaign source")
    qr.add_argument("--source", required=True, help="campaign name, e.g. poster-wuhan")
    qr.add_argument(
        "--public-url", type=flag_type("public_url"), help="the web chat's public address (default: $WEB_PUBLIC_URL)"
    )
    qr.add_argument("--out", default="data/qr", help="folder for the files (default: data/qr)")
    qr.set_defaults(func=cmd_qr)


def cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    from ...cli import build_screener

    settings = settings.with_overrides(web_host=args.host, web_port=args.port, public_url=args.public_url)
    return serve_web(build_screener(settings), settings)


def serve_web(screener: Screener, settings: Settings) -> int:
    """The web chat alone, until Ctrl-C or SIGTERM (`screening-bot web`, or `run --web` without a token)."""
    from .app import create_app

    app = create_app(screener, settings)
    print(f"Web chat on http://{settings.web_host}:{settings.web_port}/", file=sys.stderr)
    uvicorn.Server(server_config(app, settings.web_host, settings.web_port, settings.forwarded_allow_ips)).run()
    return 0


class EmbeddedServer(uvicorn.Server):
    """The web chat inside another program's event loop (`screening-bot run --web`).

    The host program (the Telegram bot) owns SIGINT and SIGTERM and stops this server
    by setting `should_exit`; uvicorn must not take the signals for itself.
    """

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


def embedded_web(screener: Screener, settings: Settings) -> EmbeddedServer:
    """The web chat on the bot's own Screener, so both channels share one database connection.

    That connection group-commits (bot/store/durable.py), so the web chat, like the bot,
    waits for the flush before it acknowledges an answer."""
    from ...store.durable import durable_flush
    from .app import create_app

    app = create_app(screener, settings, durable=durable_flush(screener.store.db))
    print(f"Web chat on http://{settings.web_host}:{settings.web_port}/", file=sys.stderr)
    return EmbeddedServer(server_config(app, settings.web_host, settings.web_port, settings.forwarded_allow_ips))


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
