"""The study team's console on the web (issue 19): `/staff` in the web chat's server.

Staff accounts with a password and a second factor, the leads queue, each lead, status
changes, call attempts, duplicates, erasure, statistics with pictures, exports, the
notifications' outbox and the audit log, in Chinese and English, usable on a phone.
Served by `screening-bot web` and `screening-bot run --web` from the same process and
database as the patient chat (one hook in bot/channels/web/app.py calls `attach`).

`app.py` draws the pages, `auth.py` decides who is signed in, `desk.py` is the one
interface to the data (and the audit log), `charts.py` draws the pictures, `words.py`
holds every word, `cli.py` the `screening-bot staff` commands.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Mount

if TYPE_CHECKING:
    from ..config import Settings
    from ..notify.notifier import Notifier
    from ..screening import ScreeningService, Trials
    from .app import Console


@dataclass
class Attached:
    """What the web app mounts (`routes`) and runs while it serves (`background`: the notifications' sender)."""

    routes: list[BaseRoute] = field(default_factory=list)
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    console: Console | None = None
    notifier: Notifier | None = None


def attach(
    screener: ScreeningService | Trials,
    settings: Settings,
    secret: bytes,
    secure_cookies: bool,
    durable: Callable[[], Awaitable[None]] | None = None,
) -> Attached:
    """The console at /staff over the trials' database (every trial's leads), and the notifications of new
    leads.

    Without leads (a service built without the vault) there is nothing for staff: no console. Each
    change is flushed before its answer (`durable`, by default the service's flush: a no-op unless the
    database group-commits, inside `run --web`)."""
    if not screener.keeps_contacts:
        return Attached()
    from ..notify.notifier import notifier_for
    from .app import Console

    notifier = notifier_for(screener, settings)
    console = Console(
        screener,
        secret,
        secure_cookies,
        settings.staff_idle_minutes,
        notifications_on=notifier is not None,
        durable=durable or screener.flush,
    )
    return Attached([Mount("/staff", app=console.app())], [notifier.run] if notifier else [], console, notifier)
