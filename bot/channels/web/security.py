"""Sessions, CSRF tokens, rate limits and response headers for the web chat.

The session id lives only in the person's cookie. The database sees a keyed hash
of it (`user_key`), so a copy of the database cannot be turned back into cookies
that take over someone's screening. Every post carries a CSRF token that is an
HMAC of the session id, so a page on another site cannot answer for anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("bot.web.access")

SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")
KEY_FILE = "web_secret.key"
#: Longest request value written to the log; the rest is cut.
LOGGED_MAX = 200

#: Only this app's own files, never a frame, never a referrer: see the README's privacy notes.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
        b"object-src 'none'; frame-ancestors 'none'",
    ),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]


def loggable(value: str) -> str:
    """A value from a request (a path, a method), safe to write into a log line.

    Percent-encoded as in a URL, so a line feed, a NUL or any other control or non-ASCII
    character shows as `%0A`, `%00` ... and can neither forge a log line nor corrupt the
    file. Every value of a request that the web chat logs goes through this."""
    return quote(value[:LOGGED_MAX], safe="/-._~!$&'()*+,;=:@")


def load_secret(configured: str, data_dir: Path) -> bytes:
    """The HMAC key: WEB_SECRET when set, else a random key kept in a 0600 file beside the database."""
    if configured:
        return configured.encode()
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_bytes().strip()


class Sessions:
    """Session ids, the database key for each, and the CSRF token bound to each."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(32)

    @staticmethod
    def well_formed(session_id: str | None) -> bool:
        return bool(session_id and SESSION_ID.match(session_id))

    def _mac(self, purpose: str, session_id: str) -> str:
        return hmac.new(self._secret, f"{purpose}|{session_id}".encode(), hashlib.sha256).hexdigest()

    def user_key(self, session_id: str) -> str:
        return self._mac("user", session_id)[:32]

    def csrf_token(self, session_id: str) -> str:
        return self._mac("csrf", session_id)

    def csrf_ok(self, session_id: str, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session_id), token or "")


class RateLimiter:
    """A token bucket per client address: `per_minute` posts, refilled evenly. Kept in memory only."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, address: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = self.clock()
        tokens, last = self._buckets.pop(address, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - last) * self.per_minute / 60)
        allowed = tokens >= 1
        self._buckets[address] = (tokens - 1 if allowed else tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return allowed


class SecurityHeaders:
    """Adds the security headers to every response, and logs each request without personal data.

    uvicorn's own access log is switched off because it prints client addresses
    and query strings; this line has the method, the path, the status and the time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}  # a response may set its own (a chart's CSP)
                message["headers"] = [*headers, *(h for h in SECURITY_HEADERS if h[0] not in present)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            path = (
                scope["path"]
                if scope["path"].startswith("/static/") or scope["path"] in ("/", "/healthz")
                else "(other)"
            )
            elapsed = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %.0fms", loggable(scope["method"]), loggable(path), status, elapsed)
