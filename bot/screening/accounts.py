"""Staff accounts of the web console and their sessions, as the console and `screening-bot staff` use them.

Each change of an account (added, reset, disabled, enabled) is one unit of work with its
audit entry, named after whoever made it and where (`via`: the console or the command
line; who ran a command is the operating system's account, with the `--staff` name as a
note), so an account never changes without its record. Sign-ins, sign-outs and their
failures are recorded by the console through `record`. The password arrives already
hashed (bot/console/auth.py); the store encrypts the second factor's secret.
"""

from __future__ import annotations

from ..store.staff_accounts import ENROL, FULL, ROLES, Account, AccountError, Session
from ..store.storage import Storage

__all__ = ["ENROL", "FULL", "ROLES", "Account", "AccountError", "AccountService", "Session"]


class AccountService:
    """Create, find and change staff accounts; start, find and end their sessions."""

    def __init__(self, storage: Storage, signed: str = "") -> None:
        accounts = storage.read.staff_accounts
        if accounts is None:
            raise AccountError("staff accounts need the encryption vault (their second factor is encrypted)")
        self.storage = storage
        self._accounts = accounts
        #: A name the person typed (`--staff`): noted in each entry's detail, never as who it was.
        self.signed = signed

    def _detail(self, via: str, what: str) -> str:
        note = f' (signed "{self.signed}")' if self.signed else ""
        return f"{via} {what}".strip() + note

    # ------------------------------------------------------------------ accounts

    def get(self, username: str) -> Account | None:
        return self._accounts.get(username)

    def by_id(self, account_id: int) -> Account | None:
        return self._accounts.by_id(account_id)

    def all(self) -> list[Account]:
        return self._accounts.all()

    def add(self, username: str, role: str, password_hash: str, at: str, who: str = "", via: str = "") -> Account:
        """A new account; with `who`, in the audit log in the same unit of work."""
        with self.storage.unit_of_work() as work:
            made = self._accounts.add(username, role, password_hash, at)
            if who:
                work.audit.record(who, "staff-add", detail=self._detail(via, f"account={made.username} role={role}"))
        return made

    def reset(self, username: str, password_hash: str, who: str = "", via: str = "") -> Account:
        """A new first password and a new second step; every session of the account ends."""
        with self.storage.unit_of_work() as work:
            changed = self._accounts.reset(username, password_hash)
            if who:
                work.audit.record(who, "staff-reset", detail=self._detail(via, f"account={username}"))
        return changed

    def set_disabled(self, username: str, disabled: bool, who: str = "", via: str = "") -> Account:
        """Refuse (signed out everywhere) or allow an account again."""
        with self.storage.unit_of_work() as work:
            changed = self._accounts.set_disabled(username, disabled)
            if who:
                action = "staff-disable" if disabled else "staff-enable"
                work.audit.record(who, action, detail=self._detail(via, f"account={username}"))
        return changed

    def enrol(self, account_id: int, password_hash: str, totp_secret: str, step: int) -> None:
        """The person chose their own password and proved their authenticator app works."""
        self._accounts.enrol(account_id, password_hash, totp_secret, step)

    def login_failed(self, account_id: int, locked_until: str) -> None:
        self._accounts.login_failed(account_id, locked_until)

    def login_succeeded(self, account_id: int, at: str, step: int | None) -> None:
        self._accounts.login_succeeded(account_id, at, step)

    def update_password_hash(self, account_id: int, password_hash: str) -> None:
        self._accounts.update_password_hash(account_id, password_hash)

    # ------------------------------------------------------------------ sessions

    def start_session(self, token_hash: str, account_id: int, kind: str, at: str) -> None:
        self._accounts.start_session(token_hash, account_id, kind, at)

    def session(self, token_hash: str) -> Session | None:
        return self._accounts.session(token_hash)

    def touch_session(self, token_hash: str, at: str) -> None:
        self._accounts.touch_session(token_hash, at)

    def end_session(self, token_hash: str) -> None:
        self._accounts.end_session(token_hash)

    # ------------------------------------------------------------------ the audit log

    def record(self, who: str, action: str, detail: str = "") -> None:
        """Sign-ins, sign-outs and their failures."""
        with self.storage.unit_of_work() as work:
            work.audit.record(who, action, detail=detail)
