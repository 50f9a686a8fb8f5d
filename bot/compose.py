"""Putting the parts together: the dialogs, the database, the key, the services. The one place that does.

`screening-bot` (cli.py) builds the trials here for its channels (a screening service per
dialog file, all on one database: bot/screening/trials.py), the staff commands (bot/staff) the
team's service and `screening-bot staff` (bot/console/cli.py) the accounts' service; channels,
staff tools and the console never open the database themselves. Everything is checked before
anything is written, and a database or key file made by a start that then fails is removed again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ConfigError, Settings, describe
from .dialog.load import load_dialog
from .dialog.model import Dialog
from .errors import Problem
from .files import new_files_removed_on_failure
from .retention import retention_from
from .screening import ScreeningService, Trials
from .screening.accounts import AccountService
from .screening.team import TeamService
from .store import audit
from .store.backup import check_backup, erase_again, erased_since, in_use, restore_backup, withdrawn_since
from .store.db import database_files
from .store.dialog_versions import DialogVersions
from .store.storage import Storage
from .store.vault import Vault, VaultError, database_key, open_protected, read_keys

log = logging.getLogger("bot")


def load_dialogs(settings: Settings) -> list[Dialog]:
    """Every trial's dialog file, loaded and checked, the default first; two files with one id are refused."""
    dialogs: list[Dialog] = []
    for path in settings.dialog_files():
        dialog = load_dialog(path)
        same = next((d for d in dialogs if d.id == dialog.id), None)
        if same is not None:
            raise ConfigError(
                f"{same.source_path} and {path} are both dialog {dialog.id!r}: each trial needs its own "
                "[dialog] id (it keys its conversations, leads and catalogs); give one file another id"
            )
        dialogs.append(dialog)
    check_trial_sites(settings, dialogs)
    return dialogs


def check_trial_sites(settings: Settings, dialogs: list[Dialog]) -> None:
    """A `trial_sites` table must name a configured trial: a misspelt id would leave that trial showing the
    SITE_* team's details (another hospital's phone) without a word."""
    ids = [dialog.id for dialog in dialogs]
    for trial, _values in settings.trial_sites:
        if trial not in ids:
            raise ConfigError(
                f"{describe('trial_sites')} has a table for {trial!r}, but no configured trial has that dialog id "
                f"(the trials are: {', '.join(ids)}); use the [dialog] id of the trial's file"
            )


def build_trials(settings: Settings, reminding_channels: tuple[str, ...] = ()) -> Trials:
    """Load and check every dialog and the catalogs, then open the database: the same for every channel.

    One screening service per dialog file, all on one database (bot/screening/trials.py).
    `reminding_channels` can send a message unasked (Telegram): they offer the reminder on the "not yet" date."""
    dialogs = load_dialogs(settings)
    settings.languages()  # a missing catalog or an unknown language stops here, before the database is touched
    with new_files_removed_on_failure(*database_files(settings.db_path), settings.key_path()):  # none half-made
        db, vault = open_protected(
            settings.db_path, settings.screening_key, settings.key_path(), settings.old_key_path()
        )
        versions = DialogVersions(db)
        for dialog in dialogs:
            versions.check_and_record(dialog)  # an edit without a new version never goes live
    check_audit_log(db)
    storage = Storage(db, dialogs[0], vault)
    return Trials(
        [
            ScreeningService(
                dialog,
                storage if dialog is dialogs[0] else storage.for_dialog(dialog),
                settings.locales_dir,
                site_overrides=settings.site_overrides(dialog.id),
                default_language=settings.language,
                retention=retention_from(settings),  # what the reminder opt-in promises
                reminding_channels=reminding_channels,
                trials=dialogs,
            )
            for dialog in dialogs
        ]
    )


def build_service(settings: Settings, reminding_channels: tuple[str, ...] = ()) -> ScreeningService:
    """The default trial's screening service (the only one with one dialog file configured)."""
    return build_trials(settings, reminding_channels).default


def check_audit_log(db: Any) -> None:
    """At every start of a channel: a tampered audit log is said loudly (an ERROR line per finding).

    The bot still starts: refusing would shut out the people screening and anyone who needs the
    crisis help, while the evidence stays in the log for `screening-bot audit verify` to show."""
    verdict = audit.verify(db)
    for problem in verdict.problems[:10]:
        log.error("THE AUDIT LOG WAS TAMPERED WITH: %s (screening-bot audit verify)", problem)


def open_team(settings: Settings, create: bool = False, signed: str = "") -> TeamService:
    """The study team's service on the database the channels filled (see `staff_database`), over every
    trial configured; `signed` is the name a staff member typed (`--staff`), noted in each audit entry
    beside who ran the command."""
    dialogs = load_dialogs(settings)
    db, vault = staff_database(settings, create)
    return TeamService(Storage(db, dialogs[0], vault), {dialog.id: dialog for dialog in dialogs}, signed=signed)


def open_accounts(settings: Settings, create: bool = False, signed: str = "") -> AccountService:
    """The staff console's accounts on the database the channels filled (`screening-bot staff`); `signed` as
    for `open_team`."""
    return AccountService(open_team(settings, create).storage, signed=signed)


def staff_database(settings: Settings, create: bool = False) -> tuple[Any, Vault]:
    """The database the channels filled, with its key, for a staff command. Staff commands never start one
    by accident: a mistyped --db would otherwise show an empty, brand-new database (with a new key) as
    "No leads match."; `create` allows it."""
    if not create and not settings.db_path.exists():
        raise ConfigError(
            f"no database at {settings.db_path.absolute()} (from --db, SCREENING_DB or the default): "
            "check the path; to start a new, empty database there, add --create"
        )
    with new_files_removed_on_failure(*database_files(settings.db_path), settings.key_path()):  # none half-made
        return open_protected(settings.db_path, settings.screening_key, settings.key_path(), settings.old_key_path())


def key_file_in_use(settings: Settings) -> Path | None:
    """The key file that holds the key in use, or None when it comes from SCREENING_KEY."""
    keys = read_keys(settings.screening_key, settings.key_path())
    return keys.key_file if keys else settings.key_path()


# ---------------------------------------------------------------------- restore (bot/store/backup.py)


@dataclass(frozen=True)
class RestoreChecked:
    """A backup that can replace the database: it opens with a key there is, is whole, and nobody uses the
    database now."""

    backup: Path
    db_keys: list[bytes]
    backup_time: str


def check_restore(settings: Settings, backup: Path) -> RestoreChecked:
    keys = read_keys(settings.screening_key, settings.key_path())
    if keys is None:
        raise VaultError(
            f"no key: neither SCREENING_KEY nor the key file {settings.key_path()} is there, and a backup is encrypted "
            "with it. Restore the key from where you keep it apart from the backups, then try again."
        )
    db_keys = [database_key(k) for k in keys.keys]
    _version, backup_time = check_backup(backup, db_keys)
    if in_use(settings.db_path, db_keys[0]):
        raise Problem(
            f"the database {settings.db_path} is open in another program (the bot, the web chat, a staff command?). "
            "Stop them first, then restore."
        )
    return RestoreChecked(backup, db_keys, backup_time)


def restore(settings: Settings, checked: RestoreChecked, who: str) -> tuple[int, Path | None]:
    """Put the backup in the database's place and make again every erasure (and every "no" to contact)
    the replaced database recorded after the backup was taken; (how many, where the replaced one is kept)."""
    marks = erased_since(settings.db_path, checked.db_keys[0], checked.backup_time)
    withdrawn = withdrawn_since(settings.db_path, checked.db_keys[0], checked.backup_time)
    restored = restore_backup(checked.backup, settings.db_path, checked.db_keys)
    db, vault = open_protected(settings.db_path, settings.screening_key, settings.key_path(), settings.old_key_path())
    again = erase_again(db, vault, marks, withdrawn)
    audit.record(db, who, "restore", detail=f"from={checked.backup.name} erased_again={again}")
    return again, restored.kept_aside
