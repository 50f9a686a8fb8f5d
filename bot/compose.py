"""Putting the parts together: the dialogs, the database, the key, the services. The one place that does.

`screening-bot` (cli.py) builds the trials here for its channels (a screening service per
dialog file, all on one database: bot/screening/trials.py), the staff commands (bot/staff) the
team's service and `screening-bot staff` (bot/console/cli.py) the accounts' service; channels,
staff tools and the console never open the database themselves. Everything is checked before
anything is written, and a database or key file made by a start that then fails is removed again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import ConfigError, Settings
from .dialog.load import load_dialog
from .dialog.model import Dialog
from .files import new_files_removed_on_failure
from .retention import retention_from
from .screening import ScreeningService, Trials
from .screening.accounts import AccountService
from .screening.team import TeamService
from .store import open_database
from .store.db import database_files
from .store.dialog_versions import DialogVersions
from .store.storage import Storage
from .store.vault import Vault, open_vault, read_keys


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
    return dialogs


def build_trials(settings: Settings, reminding_channels: tuple[str, ...] = ()) -> Trials:
    """Load and check every dialog and the catalogs, then open the database: the same for every channel.

    One screening service per dialog file, all on one database (bot/screening/trials.py).
    `reminding_channels` can send a message unasked (Telegram): they offer the reminder on the "not yet" date."""
    dialogs = load_dialogs(settings)
    settings.languages()  # a missing catalog or an unknown language stops here, before the database is touched
    with new_files_removed_on_failure(*database_files(settings.db_path), settings.key_path()):  # none half-made
        db = open_database(settings.db_path)
        versions = DialogVersions(db)
        for dialog in dialogs:
            versions.check_and_record(dialog)  # an edit without a new version never goes live
        vault = open_vault(db, settings.screening_key, settings.key_path())
    storage = Storage(db, dialogs[0], vault)
    return Trials(
        [
            ScreeningService(
                dialog,
                storage if dialog is dialogs[0] else storage.for_dialog(dialog),
                settings.locales_dir,
                site_overrides=settings.site_overrides(),
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


def open_team(settings: Settings, create: bool = False, key: bool = True) -> TeamService:
    """The study team's service on the database the channels filled (see `staff_database`), over every
    trial configured. Without `key`, no encryption key is needed (nor made)."""
    dialogs = load_dialogs(settings)
    db, vault = staff_database(settings, create, key)
    return TeamService(Storage(db, dialogs[0], vault), {dialog.id: dialog for dialog in dialogs})


def open_accounts(settings: Settings, create: bool = False) -> AccountService:
    """The staff console's accounts on the database the channels filled (`screening-bot staff`)."""
    return AccountService(open_team(settings, create).storage)


def staff_database(settings: Settings, create: bool = False, key: bool = True) -> tuple[Any, Vault | None]:
    """The database the channels filled, and its vault, for a staff command. Staff commands never start one
    by accident: a mistyped --db would otherwise show an empty, brand-new database (with a new key) as
    "No leads match."; `create` allows it."""
    if not create and not settings.db_path.exists():
        raise ConfigError(
            f"no database at {settings.db_path.absolute()} (from --db, SCREENING_DB or the default): "
            "check the path; to start a new, empty database there, add --create"
        )
    with new_files_removed_on_failure(*database_files(settings.db_path), settings.key_path()):  # none half-made
        db = open_database(settings.db_path)
        vault = open_vault(db, settings.screening_key, settings.key_path()) if key else None
    return db, vault


def key_file_in_use(settings: Settings) -> Path | None:
    """The key file that holds the key in use, or None when it comes from SCREENING_KEY."""
    keys = read_keys(settings.screening_key, settings.key_path())
    return keys.key_file if keys else settings.key_path()
