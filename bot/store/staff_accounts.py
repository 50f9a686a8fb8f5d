"""Staff accounts of the web console and their sessions, in SQLite (issue 19, migration 9).

Only storage: the password arrives here already hashed (Argon2id, bot/console/auth.py),
the TOTP secret is encrypted with the vault's key before it is written, and a session
is known only by a keyed hash of its cookie. Roles and what each may do are decided by
the console, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils

from .conversations import transaction
from .vault import Vault

ROLES = ("coordinator", "viewer", "admin")
FULL, ENROL = "full", "enrol"


class AccountError(ValueError):
    """An account request that cannot apply (a name taken, no such account, an unknown role)."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    password_hash: str
    totp_secret: str
    totp_last_step: int
    must_enrol: bool
    disabled: bool
    failed_logins: int
    locked_until: str
    created_at: str
    last_login_at: str


@dataclass(frozen=True)
class Session:
    account: Account
    kind: str
    created_at: str
    seen_at: str


class StaffAccounts:
    """Create, find and change staff accounts; start, find and end their console sessions."""

    def __init__(self, db: sqlite_utils.Database, vault: Vault) -> None:
        self.db = db
        self.vault = vault

    # ------------------------------------------------------------------ accounts

    def add(self, username: str, role: str, password_hash: str, at: str) -> Account:
        check_role(role)
        if self.get(username) is not None:
            raise AccountError(f"there is already an account {username!r}")
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO staff_accounts (username, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                [username, role, password_hash, at],
            )
        account = self.get(username)
        assert account is not None
        return account

    def get(self, username: str) -> Account | None:
        rows = list(self.db.query("SELECT * FROM staff_accounts WHERE username = ?", [username]))
        return self._account(rows[0]) if rows else None

    def by_id(self, account_id: int) -> Account | None:
        rows = list(self.db.query("SELECT * FROM staff_accounts WHERE id = ?", [account_id]))
        return self._account(rows[0]) if rows else None

    def all(self) -> list[Account]:
        return [self._account(r) for r in self.db.query("SELECT * FROM staff_accounts ORDER BY username")]

    def set_disabled(self, username: str, disabled: bool) -> Account:
        account = self._existing(username)
        with transaction(self.db):
            self.db.execute("UPDATE staff_accounts SET disabled = ? WHERE id = ?", [int(disabled), account.id])
            if disabled:
                self.db.execute("DELETE FROM staff_sessions WHERE account_id = ?", [account.id])
        return self._existing(username)

    def reset(self, username: str, password_hash: str) -> Account:
        """A new password, the second factor to set up again, unlocked; every session of the account ends."""
        account = self._existing(username)
        with transaction(self.db):
            self.db.execute(
                "UPDATE staff_accounts SET password_hash = ?, totp_secret_enc = '', totp_last_step = 0,"
                " must_enrol = 1, failed_logins = 0, locked_until = '' WHERE id = ?",
                [password_hash, account.id],
            )
            self.db.execute("DELETE FROM staff_sessions WHERE account_id = ?", [account.id])
        return self._existing(username)

    def enrol(self, account_id: int, password_hash: str, totp_secret: str, step: int) -> None:
        """The person chose their own password and proved their authenticator app works."""
        with transaction(self.db):
            self.db.execute(
                "UPDATE staff_accounts SET password_hash = ?, totp_secret_enc = ?, totp_last_step = ?, must_enrol = 0"
                " WHERE id = ?",
                [password_hash, self.vault.encrypt(totp_secret), step, account_id],
            )

    def login_failed(self, account_id: int, locked_until: str) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE staff_accounts SET failed_logins = failed_logins + 1, locked_until = ? WHERE id = ?",
                [locked_until, account_id],
            )

    def login_succeeded(self, account_id: int, at: str, step: int | None) -> None:
        """Failures forgotten; the TOTP step used is remembered, so the same code cannot sign in again."""
        with transaction(self.db):
            self.db.execute(
                "UPDATE staff_accounts SET failed_logins = 0, locked_until = '', last_login_at = ?,"
                " totp_last_step = MAX(totp_last_step, ?) WHERE id = ?",
                [at, step or 0, account_id],
            )

    def update_password_hash(self, account_id: int, password_hash: str) -> None:
        """Argon2's parameters changed since the hash was made: store the stronger one."""
        with transaction(self.db):
            self.db.execute("UPDATE staff_accounts SET password_hash = ? WHERE id = ?", [password_hash, account_id])

    # ------------------------------------------------------------------ sessions

    def start_session(self, token_hash: str, account_id: int, kind: str, at: str) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO staff_sessions (token_hash, account_id, kind, created_at, seen_at) VALUES (?, ?, ?, ?, ?)",
                [token_hash, account_id, kind, at, at],
            )

    def session(self, token_hash: str) -> Session | None:
        rows = list(self.db.query("SELECT * FROM staff_sessions WHERE token_hash = ?", [token_hash]))
        if not rows:
            return None
        account = self.by_id(rows[0]["account_id"])
        if account is None:
            return None
        return Session(account, rows[0]["kind"], rows[0]["created_at"], rows[0]["seen_at"])

    def touch_session(self, token_hash: str, at: str) -> None:
        with transaction(self.db):
            self.db.execute("UPDATE staff_sessions SET seen_at = ? WHERE token_hash = ?", [at, token_hash])

    def end_session(self, token_hash: str) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM staff_sessions WHERE token_hash = ?", [token_hash])

    def end_sessions_seen_before(self, at: str) -> None:
        """Forget sessions idle since before `at` (their cookies no longer open anything anyway)."""
        with transaction(self.db):
            self.db.execute("DELETE FROM staff_sessions WHERE seen_at < ?", [at])

    # ------------------------------------------------------------------ helpers

    def _existing(self, username: str) -> Account:
        account = self.get(username)
        if account is None:
            raise AccountError(f"there is no account {username!r}; `screening-bot staff list` shows them")
        return account

    def _account(self, r: dict[str, Any]) -> Account:
        return Account(
            id=r["id"],
            username=r["username"],
            role=r["role"],
            password_hash=r["password_hash"],
            totp_secret=self.vault.decrypt(r["totp_secret_enc"]) if r["totp_secret_enc"] else "",
            totp_last_step=r["totp_last_step"],
            must_enrol=bool(r["must_enrol"]),
            disabled=bool(r["disabled"]),
            failed_logins=r["failed_logins"],
            locked_until=r["locked_until"],
            created_at=r["created_at"],
            last_login_at=r["last_login_at"],
        )


def count_enabled(db: sqlite_utils.Database, role: str) -> int:
    """How many accounts with this role may sign in (for check-launch)."""
    return next(db.query("SELECT COUNT(*) AS c FROM staff_accounts WHERE role = ? AND disabled = 0", [role]))["c"]


def check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
