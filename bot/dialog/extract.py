"""A Babel extractor for dialog files, so `pybabel extract` finds every question,
option, reason and outcome text beside the messages in the code.

Registered in pyproject.toml as the `screening_dialog` extraction method. Each dialog file
is extracted into a catalog domain of its own, named after its `[dialog] id`
(`locales/<dialog id>.pot`), so two trials never share a translation. Every `%` is written
`%%` (bot.i18n.dialog_msgid): gettext tools would otherwise read "50% of" as a Python format.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import IO, Any

#: Keys whose values people read; ids, kinds and numbers are not translated.
TEXT_KEYS = {
    "title", "title_caregiver", "text", "text_caregiver", "label", "label_caregiver", "reason", "agree", "decline",
    "declined", "hospital", "department", "city", "address", "investigator", "hours", "server_location",
    "under_age", "under_age_text", "under_age_text_caregiver", "emergency_text", "emergency_text_caregiver",
    "unwell_now", "greeting", "about", "about_caregiver", "visit", "visit_caregiver", "calendar_title",
}  # fmt: skip


def dialog_texts(data: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(where, text) for every translatable text, in file order."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else key
            if key in TEXT_KEYS and isinstance(value, str) and value.strip():
                yield here, value.strip()
            else:
                yield from dialog_texts(value, here)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            label = item.get("id", index) if isinstance(item, dict) else index
            yield from dialog_texts(item, f"{path}[{label}]")


def extract_dialog(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, None, str, list[str]]]:
    """Babel's extractor protocol: (line number, function name, message, comments)."""
    source = fileobj.read().decode("utf-8")
    data = tomllib.loads(source)
    lines = source.splitlines()
    for where, text in dialog_texts(data):
        first_line = text.splitlines()[0]
        lineno = next((i for i, line in enumerate(lines, start=1) if first_line in line), 1)
        yield lineno, None, text.replace("%", "%%"), [where]
