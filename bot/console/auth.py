"""Who may use the console: passwords (Argon2id), the second factor (TOTP), lock-outs, sessions, CSRF.

- Passwords are hashed with argon2-cffi's defaults (Argon2id, 64 MiB, 3 passes); a hash
  made with weaker parameters is replaced at the next login.
- The second factor is a 6-digit code from an authenticator app (RFC 6238, 30 s steps,
  one step of clock drift allowed either way); a step once used cannot sign in again.
  Every role needs it. It is set up on the first login with a QR code drawn here
  (segno, as an inline image: nothing is fetched from another site).
- After LOCK_AFTER failed logins in a row an account is locked, for 5 minutes, then
  10, 20 ... at most a day; the page says the same for a wrong name, a wrong password,
  a wrong code and a locked account, so it tells nothing to someone guessing.
- A session is a random cookie; the database keeps only its keyed hash. The CSRF
  token of every form is another keyed hash of the same cookie, so a form from a
  session that has ended (logged out, timed out, an older login) is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..i18n import _

ISSUER = "NCT06349343 study team"
LOCK_AFTER = 5
FIRST_LOCK_MINUTES = 5
MAX_LOCK_MINUTES = 24 * 60
#: A session ends after this long whatever the idle time (one working day and a half).
SESSION_MAX_HOURS = 12
MIN_PASSWORD = 12
MAX_PASSWORD = 256
PASSWORD_RULE = _("Use at least 12 characters. A few words you will remember work well.")

_hasher = PasswordHasher()
#: Checked against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> tuple[bool, bool]:
    """(the password is right, the hash should be made again with today's parameters)."""
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return bool(password_hash), _hasher.check_needs_rehash(password_hash)


def waste_a_check(password: str) -> None:
    """As long as a real check, for a name that has no account."""
    check_password("", password)


def password_problem(password: str, repeated: str, username: str) -> str:
    """ "" when a new password is acceptable, else the (untranslated) reason."""
    if password != repeated:
        return _("The two passwords are not the same.")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return PASSWORD_RULE
    if (len(username) >= 4 and username.casefold() in password.casefold()) or len(set(password)) < 5:
        return _("This password is too easy to guess. Please choose another.")
    return ""


def new_password() -> str:
    """A first password for a new or reset account, to be replaced at the first login."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_step(secret: str, code: str, at: datetime, last_step: int) -> int | None:
    """The time step the code belongs to (now, or one step either side), if it is right and newer than
    `last_step`; else None."""
    code = "".join(code.split())
    if not secret or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(at)
    for step in (now, now - 1, now + 1):
        if step > last_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enrolment_qr(secret: str, username: str) -> tuple[str, str]:
    """(a data: URI of the QR code as SVG, the otpauth:// link it holds) for the authenticator app."""
    link = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    return segno.make(link, error="m").svg_data_uri(scale=5, border=2), link


def lock_minutes(failed_logins: int) -> int:
    """Minutes an account stays locked after this many failures in a row (0 below LOCK_AFTER)."""
    if failed_logins < LOCK_AFTER:
        return 0
    return min(FIRST_LOCK_MINUTES * 2 ** (failed_logins - LOCK_AFTER), MAX_LOCK_MINUTES)


def locked(locked_until: str, now: datetime) -> bool:
    return bool(locked_until) and datetime.fromisoformat(locked_until) > now


def session_expired(created_at: str, seen_at: str, now: datetime, idle_minutes: int) -> bool:
    created, seen = datetime.fromisoformat(created_at), datetime.fromisoformat(seen_at)
    return now - seen > timedelta(minutes=idle_minutes) or now - created > timedelta(hours=SESSION_MAX_HOURS)


class Tokens:
    """Session cookies, the hash the database keeps of each, and the CSRF token bound to each."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @staticmethod
    def new() -> str:
        return secrets.token_urlsafe(32)

    def _mac(self, purpose: str, token: str) -> str:
        return hmac.new(self._secret, f"staff-{purpose}|{token}".encode(), hashlib.sha256).hexdigest()

    def stored(self, token: str) -> str:
        """What the database keeps of a session cookie."""
        return self._mac("session", token)

    def csrf(self, token: str) -> str:
        return self._mac("csrf", token)

    def csrf_ok(self, token: str, sent: str) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(token), sent or "")
