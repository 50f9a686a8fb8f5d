"""Where notifications go: one apprise URL per target, checked at start, sent one at a time.

A URL holds a password or a token, so it never leaves this module: the outbox knows a
target by a hash of its URL (`key`) and the console by apprise's own masked form of it
(`label`, e.g. `wecombot://B...Y`). apprise's log records may hold the same secrets, so
they never reach the program's log; a failure is kept as one short line with every
address in it replaced.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import apprise

from ..config import ConfigError

#: apprise logs request details (addresses with tokens): its records stay out of our log.
logging.getLogger("apprise").propagate = False

ADDRESS = re.compile(r"\S+://\S+|\b\S+@\S+\b")


class TargetError(ConfigError):
    """A URL in NOTIFY_URLS that apprise does not know; the message names it by position, never by value."""


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    service: str
    _plugin: Any = field(repr=False, compare=False)

    def send(self, title: str, body: str) -> str:
        """Send one message; "" when delivered, else one short line saying why not (no address, no secret)."""
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            try:
                delivered = bool(self._plugin.notify(body=body, title=title))
            except Exception as exc:  # a plugin's own failure must not stop the other targets
                return f"not delivered ({type(exc).__name__})"
            log_text = captured.getvalue()
        if delivered:
            return ""
        lines = [ADDRESS.sub("[address]", line).strip() for line in log_text.splitlines() if line.strip()]
        return (lines[-1] if lines else "not delivered")[:200]


def parse_targets(urls: tuple[str, ...]) -> list[Target]:
    """Each NOTIFY_URLS entry as a Target; an unknown scheme or a malformed URL stops the start."""
    targets = []
    for number, url in enumerate(urls, start=1):
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            scheme = url.split("://", 1)[0] if "://" in url else "(none)"
            raise TargetError(
                f"NOTIFY_URLS (config file: notify_urls): entry {number} (scheme {scheme!r}) is not a notification "
                "address apprise understands; see README, 'Notifications', for the forms of e-mail, WeCom, "
                "DingTalk, Feishu and Telegram"
            )
        label = plugin.url(privacy=True).split("?", 1)[0]
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        targets.append(Target(key, label, str(plugin.service_name), plugin))
    return targets
