"""QR codes for posters and chat messages: one for the web chat, one for Telegram, per campaign source.

The source name travels in the link (`?src=NAME` on the web, `?start=NAME` on
Telegram) and is stored with each conversation, so staff can tell which poster
or which WeChat group brought people in. It is a campaign name, never a person's.
"""

from __future__ import annotations

import re
from pathlib import Path

import segno

from ...config import ConfigError

SOURCE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_source(name: str) -> str:
    """Telegram allows only A-Z, a-z, 0-9, _ and - (up to 64) in a start parameter; so does the web link."""
    if not SOURCE_NAME.match(name):
        raise ConfigError(f"source {name!r}: use 1 to 64 letters, digits, - or _ (for example poster-wuhan)")
    return name


def web_link(public_url: str, source: str) -> str:
    if not public_url.startswith(("https://", "http://")):
        raise ConfigError("set the web chat's public address: WEB_PUBLIC_URL or --public-url (https://...)")
    return f"{public_url.rstrip('/')}/?src={check_source(source)}"


def telegram_link(bot_username: str, source: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={check_source(source)}"


def write_qr(link: str, stem: Path) -> list[Path]:
    """Write `stem`.svg (for print) and `stem`.png (for chat messages); medium error correction survives wear."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    code = segno.make(link, error="m", micro=False)
    paths = [stem.with_suffix(".svg"), stem.with_suffix(".png")]
    code.save(paths[0], scale=10, border=4, title=link)
    code.save(paths[1], scale=10, border=4)
    return paths
