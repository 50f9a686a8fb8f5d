"""QR codes for posters and chat messages: one for the web chat, one for Telegram, per campaign source.

The source name travels in the link (`?src=NAME` on the web, `?start=NAME` on
Telegram) and is stored with each conversation, so staff can tell which poster
or which WeChat group brought people in. It is a campaign name, never a person's.
With several trials each link also names its trial: `/t/<dialog id>?src=NAME` on the
web, `?start=<dialog id>-NAME` on Telegram (at most 64 characters in all).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import segno

from ...config import ConfigError
from ...errors import Problem, explain_os_error
from ...files import OutputFiles

SOURCE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_source(name: str) -> str:
    """Telegram allows only A-Z, a-z, 0-9, _ and - (up to 64) in a start parameter; so does the web link."""
    if not SOURCE_NAME.match(name):
        raise ConfigError(f"source {name!r}: use 1 to 64 letters, digits, - or _ (for example poster-wuhan)")
    return name


def web_link(public_url: str, source: str, trial: str = "") -> str:
    """The web chat's link for a campaign; with `trial` (several trials configured) that trial's own page."""
    if not public_url.startswith(("https://", "http://")):
        raise ConfigError("set the web chat's public address: WEB_PUBLIC_URL or --public-url (https://...)")
    page = f"/t/{trial}" if trial else "/"
    return f"{public_url.rstrip('/')}{page}?src={check_source(source)}"


def telegram_link(bot_username: str, source: str, trial: str = "") -> str:
    """The bot's deep link for a campaign; with `trial`, `start=<dialog id>-<source>` opens that trial."""
    payload = f"{trial}-{check_source(source)}" if trial else check_source(source)
    if len(payload) > 64:
        raise ConfigError(
            f"source {source!r}: with the trial's id the Telegram link would be {len(payload)} characters "
            f"({payload!r}); Telegram allows 64. Use a shorter source name."
        )
    return f"https://t.me/{bot_username.lstrip('@')}?start={payload}"


def write_qr(link: str, stem: Path) -> list[Path]:
    """Write `stem`.svg (for print) and `stem`.png (for chat messages); medium error correction survives wear.

    Both files or neither (bot/files.py): a full disk or a folder that cannot be made leaves nothing."""
    code = segno.make(link, error="m", micro=False)
    svg, png = io.BytesIO(), io.BytesIO()
    code.save(svg, kind="svg", scale=10, border=4, title=link)
    code.save(png, kind="png", scale=10, border=4)
    try:
        with OutputFiles(stem.parent) as out:
            return [out.write(f"{stem.name}.svg", svg.getvalue()), out.write(f"{stem.name}.png", png.getvalue())]
    except OSError as exc:
        raise Problem(explain_os_error(exc, "write the QR codes into", stem.parent) + " Nothing was written.") from exc
