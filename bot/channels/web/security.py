"""Sessions, CSRF tokens and response headers for the web chat (its rate limits: limits.py).

The session id lives only in the person's cookie. The database sees a keyed hash
of it (`user_key`), so a copy of the database cannot be turned back into cookies
that take over someone's screening. Every post carries a CSRF token that is an
HMAC of the session id, so a page on another site cannot answer for anyone.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import re
import secrets
import time
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
    """The HMAC key: WEB_SECRET when set, else a random key kept in a 0600 file beside the database.

    The file appears whole or not at all (written apart, then linked into place), so a second
    process starting at the same moment (another web worker) reads the same key, never half of one."""
    if configured:
        return configured.encode()
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        draft = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process was quicker: its key is the key
                os.link(draft, path)
        finally:
            draft.unlink()
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
        return hmac.digest(self._secret, f"{purpose}|{session_id}".encode(), "sha256").hex()  # one C call

    def user_key(self, session_id: str) -> str:
        return self._mac("user", session_id)[:32]

    def turn_key(self, session_id: str) -> str:
        """Where the session's last reply is kept (bot/store/web_state.py): not the user key, which is the
        erased conversation's, so the reply to an erasure keeps nothing that leads back to it."""
        return self._mac("turn", session_id)[:32]

    def csrf_token(self, session_id: str) -> str:
        return self._mac("csrf", session_id)

    def csrf_ok(self, session_id: str, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session_id), token or "")


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
