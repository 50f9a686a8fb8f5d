"""`screening-bot staff add|list|disable|enable|reset` and `screening-bot notify test`.

Accounts are made on the server, by someone who can run the bot's commands there; the
first admin is made this way, later ones also in the console (Accounts). A new or reset
account gets a random first password, printed once: the person chooses their own and
sets up the second step at their first sign-in. Every change is in the audit log under
whoever ran the command, as the operating system says (login name and uid); `--staff NAME`
only adds a note.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from ..compose import open_accounts
from ..config import ConfigError, Settings, SubCommands
from ..screening.accounts import ROLES, AccountError, AccountService
from ..staff import signed_name, staff_identity
from ..staff.views import table
from . import auth
from .desk import check_username

#: Where an account change was made, for the audit log.
VIA = "command line"


def _accounts(settings: Settings, args: argparse.Namespace) -> AccountService:
    """The accounts' service; each change is recorded under who runs the command, with the --staff note."""
    return open_accounts(settings, args.create, signed=signed_name(args))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _first_password(username: str, password: str) -> None:
    print(f"First password for {username}: {password}")
    print(
        "Give it to them in person (not by e-mail or chat). At the first sign-in at /staff they choose their own "
        "password and set up the code from an authenticator app.",
        file=sys.stderr,
    )


def cmd_staff_add(settings: Settings, args: argparse.Namespace) -> int:
    accounts = _accounts(settings, args)
    try:
        name = check_username(args.username)
        password = auth.new_password()
        accounts.add(name, args.role, auth.hash_password(password), _now(), staff_identity(), VIA)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _first_password(name, password)
    return 0


def cmd_staff_list(settings: Settings, args: argparse.Namespace) -> int:
    accounts = _accounts(settings, args)
    now = datetime.now(UTC)
    rows = []
    for a in accounts.all():
        if a.disabled:
            state = "disabled"
        elif auth.locked(a.locked_until, now):
            state = f"locked until {a.locked_until[:16]} UTC"
        elif a.must_enrol:
            state = "must set up sign-in"
        else:
            state = "active"
        rows.append([a.username, a.role, state, a.last_login_at[:16].replace("T", " ") or "-"])
    print(table(["USER", "ROLE", "STATE", "LAST SIGN-IN (UTC)"], rows) if rows else "No staff accounts yet.")
    return 0


def cmd_staff_disable(settings: Settings, args: argparse.Namespace) -> int:
    accounts = _accounts(settings, args)
    disabled = args.staff_command == "disable"
    try:
        accounts.set_disabled(args.username, disabled, staff_identity(), VIA)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.username}: {'disabled (signed out everywhere)' if disabled else 'enabled'}")
    return 0


def cmd_staff_reset(settings: Settings, args: argparse.Namespace) -> int:
    accounts = _accounts(settings, args)
    password = auth.new_password()
    try:
        accounts.reset(args.username, auth.hash_password(password), staff_identity(), VIA)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _first_password(args.username, password)
    return 0


def cmd_notify_test(settings: Settings, args: argparse.Namespace) -> int:
    """Send a test message to every NOTIFY_URLS target now, through the outbox (so the console shows it)."""
    from ..compose import build_service
    from ..notify.notifier import TEST, notifier_for

    if not settings.notify_urls:
        raise ConfigError("NOTIFY_URLS (config file: notify_urls) is not set: there is nowhere to send a test to")
    screener = build_service(settings)
    notifier = notifier_for(screener, settings)
    assert notifier is not None
    notifier.enqueue("", TEST, urgent=False)
    delivered = asyncio.run(notifier.send_due())
    for message in notifier.outbox.recent(len(notifier.targets) * 4):
        if message.kind == TEST and message.tries <= 1:
            state = "sent" if message.sent_at else f"NOT sent: {message.last_error} (kept, tried again by the server)"
            print(f"{message.target_label}: {state}")
    return 0 if delivered >= len(notifier.targets) else 1


def register(sub: SubCommands) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--staff",
        metavar="NAME",
        help="a name to note in the audit entry; who you are is your login and uid, as the system says",
    )
    common.add_argument(
        "--create", action="store_true", help="start a new, empty database if there is none (default: refuse)"
    )
    staff = sub.add_parser("staff", help="staff accounts of the web console (/staff)")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    p = staff_sub.add_parser("add", parents=[common], help="a new account; prints its first password once")
    p.add_argument("username")
    p.add_argument("--role", choices=ROLES, required=True, help="coordinator, viewer or admin")
    p.set_defaults(func=cmd_staff_add)
    p = staff_sub.add_parser("list", parents=[common], help="every account, its role and state")
    p.set_defaults(func=cmd_staff_list)
    for name, text in (("disable", "sign an account out everywhere and refuse it"), ("enable", "allow it again")):
        p = staff_sub.add_parser(name, parents=[common], help=text)
        p.add_argument("username")
        p.set_defaults(func=cmd_staff_disable)
    p = staff_sub.add_parser(
        "reset", parents=[common], help="a new first password and a new second step (lost phone, forgotten password)"
    )
    p.add_argument("username")
    p.set_defaults(func=cmd_staff_reset)
    notify = sub.add_parser("notify", help="notifications of new leads (NOTIFY_URLS)")
    notify_sub = notify.add_subparsers(dest="notify_command", required=True)
    p = notify_sub.add_parser("test", help="send a test message to every address in NOTIFY_URLS now")
    p.set_defaults(func=cmd_notify_test)
