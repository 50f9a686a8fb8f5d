"""Every dialog version the bot has run, with its exact text: the ethics committee's record.

The committee approves a dialog *version*. If the file's words change but its
`[dialog] version` does not, the bot would say unapproved words under an approved
number; so at start the file is compared with what this database saw under the same
version, and a mismatch stops the bot. The stored texts also let
`screening-bot export-script --diff OLD_VERSION` say what an amendment changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from ..dialog.load import DialogError
from ..dialog.model import Dialog
from .conversations import now_iso, transaction


class DialogVersionError(DialogError):
    """The dialog file changed but its version did not; the message says which file and what to do."""


@dataclass(frozen=True)
class DialogVersion:
    dialog_id: str
    version: str
    hash: str
    text: str
    first_seen: str


def dialog_file_text(dialog: Dialog) -> str:
    """The loaded dialog's file text, refusing a file that changed since it was loaded."""
    raw = Path(dialog.source_path).read_bytes()
    if hashlib.sha256(raw).hexdigest() != dialog.content_hash:
        raise DialogVersionError(f"{dialog.source_path}: the file changed while the bot was starting; start it again")
    return raw.decode("utf-8")


class DialogVersions:
    """The `dialog_versions` table: one row per (dialog id, version), first text seen wins."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def get(self, dialog_id: str, version: str) -> DialogVersion | None:
        rows = list(
            self.db.query("SELECT * FROM dialog_versions WHERE dialog_id = ? AND version = ?", [dialog_id, version])
        )
        return DialogVersion(**rows[0]) if rows else None

    def all(self, dialog_id: str) -> list[DialogVersion]:
        rows = self.db.query("SELECT * FROM dialog_versions WHERE dialog_id = ? ORDER BY first_seen", [dialog_id])
        return [DialogVersion(**r) for r in rows]

    def check(self, dialog: Dialog) -> DialogVersion | None:
        """Raise DialogVersionError if this version was run before with other words; return the stored row."""
        seen = self.get(dialog.id, dialog.version)
        if seen is not None and seen.hash != dialog.content_hash:
            raise DialogVersionError(
                f"{dialog.source_path}: the dialog file has changed, but its version is still {dialog.version} "
                f"(this database first ran version {dialog.version} on {seen.first_seen} with other words: "
                f"hash {seen.hash[:12]}, now {dialog.content_hash[:12]}). "
                "The ethics committee approved the words of each version, so the bot will not start. "
                'To go on: set a new version under [dialog] (e.g. version = "..."), run '
                f"`screening-bot export-script --diff {dialog.version}` and get the amendment approved; "
                "or put the approved file back."
            )
        return seen

    def check_and_record(self, dialog: Dialog) -> None:
        """At start: refuse an unapproved edit, else remember this version's text if it is new."""
        if self.check(dialog) is not None:
            return
        text = dialog_file_text(dialog)
        with transaction(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO dialog_versions (dialog_id, version, hash, text, first_seen)"
                " VALUES (?, ?, ?, ?, ?)",
                [dialog.id, dialog.version, dialog.content_hash, text, now_iso()],
            )
        self.check(dialog)  # a second bot that recorded other words a moment ago still loses
