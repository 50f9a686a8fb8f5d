"""`screening-bot export-script`: the pack for the dialog the bot would run, with an optional amendment diff."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from ..config import Settings
from ..dialog.load import DialogError, load_dialog, parse_dialog
from ..dialog.model import Dialog
from ..errors import Problem, explain_os_error
from ..retention import retention_from
from ..screening import ScreeningService
from ..store import StoreError, open_database
from ..store.dialog_versions import DialogVersionError, DialogVersions
from ..store.storage import Storage
from ..store.vault import VaultError, open_existing
from .diff import Change, dialog_changes
from .flow import FlowError, flow_svg
from .observe import observe
from .pack import write_pack
from .words import Words


def old_dialog(settings: Settings, dialog: Dialog, old: str) -> Dialog:
    """The dialog as it was at version `old`, from the database's record (or from a file path)."""
    if Path(old).is_file():
        return load_dialog(old, lenient=True)
    if not Path(settings.db_path).exists():
        raise DialogError(f"{settings.db_path}: no database, so no stored version {old} of dialog {dialog.id}")
    versions = DialogVersions(open_existing(settings.db_path, settings.screening_key, settings.key_path()))
    stored = versions.get(dialog.id, old)
    if stored is None:
        known = ", ".join(v.version for v in versions.all(dialog.id)) or "none"
        raise DialogError(
            f"{settings.db_path}: dialog {dialog.id} version {old} was never run with this database "
            f"(versions stored: {known}); pass a version from that list, or the path of the old dialog file"
        )
    return parse_dialog(
        tomllib.loads(stored.text), source=f"{dialog.id} version {old}", content_hash=stored.hash, lenient=True
    )


def export_script(settings: Settings, out: str = ".", diff: str | None = None, draw_flow: bool = True) -> int:
    """Write the pack; never records the version (a draft amendment may still change before approval)."""
    dialog = load_dialog(settings.dialog_files()[0])  # one pack per dialog file: `export-script` calls this for each
    settings.languages()  # the catalogs the pack shows side by side must be there
    if Path(settings.db_path).exists():
        try:
            DialogVersions(open_existing(settings.db_path, settings.screening_key, settings.key_path())).check(dialog)
        except DialogVersionError as exc:
            print(f"warning: {exc}", file=sys.stderr)
        except (StoreError, VaultError) as exc:  # the check is advice; the pack is made from the dialog file alone
            print(f"warning: the versions the bot has run were not checked: {exc}", file=sys.stderr)
    changes: list[Change] | None = None
    if diff:
        changes = dialog_changes(old_dialog(settings, dialog, diff), dialog)
    # A throwaway in-memory store: the pack only needs the service's texts and its machine.
    screener = ScreeningService(
        dialog,
        Storage(open_database(":memory:"), dialog),
        settings.locales_dir,
        site_overrides=settings.site_overrides(dialog.id),
    )
    svg = None
    if draw_flow:
        try:
            svg = flow_svg(screener.engine, Words(dialog, settings.locales_dir))
        except FlowError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    # What the bot does after each kind of answer, measured on the same code and settings.
    observed = observe(dialog, settings.locales_dir, site_overrides=settings.site_overrides(dialog.id))
    try:
        written = write_pack(
            Path(out), screener, retention_from(settings), svg, observed, changes, diff or "", settings=settings
        )
    except OSError as exc:
        raise Problem(explain_os_error(exc, "write the ethics pack into", out) + " Nothing was written.") from exc
    for path in written:
        print(path)
    return 0
