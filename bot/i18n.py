"""Languages: Babel catalogs, choosing a language, and formatting dates for it.

English is the source language: every message id is the English text, so English
needs no catalog. Catalogs are read straight from the `.po` files (compiled in
memory with Babel), so a fresh install needs no extra compile step and a
translator's edit shows up on the next start.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from .errors import Problem

SOURCE_LANGUAGE = "en"
DOMAIN = "messages"


class MissingCatalogs(Problem):
    """The translations folder is missing or holds no catalog (bot.config turns it into a ConfigError)."""


def _(message: str) -> str:
    """Mark a message in code for extraction; the Translator translates it at the edge."""
    return message


def available_languages(locales_dir: Path) -> list[str]:
    """English plus every language with a catalog under `locales/`.

    A folder without catalogs is a mistake (a wrong SCREENING_LOCALES, a broken install),
    never a reason to run in English only: people who read Chinese would get English."""
    found = sorted(p.parent.parent.name for p in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    if not found:
        problem = "has no translation catalogs" if locales_dir.is_dir() else "does not exist"
        raise MissingCatalogs(
            f"{locales_dir}: the translations folder {problem} (it should hold zh_Hans/LC_MESSAGES/{DOMAIN}.po); "
            "set SCREENING_LOCALES (config file: screening_locales) to the locales folder, "
            "or leave it unset for the one that ships"
        )
    return [SOURCE_LANGUAGE, *(lang for lang in found if lang != SOURCE_LANGUAGE)]


#: Words people type for a language (`lang 中文`), besides codes like zh, zh-tw, en.
LANGUAGE_WORDS = {
    "english": "en", "英文": "en", "英语": "en", "英語": "en",
    "chinese": "zh_Hans", "中文": "zh_Hans", "简体": "zh_Hans", "简体中文": "zh_Hans", "汉语": "zh_Hans",
    "繁体": "zh_Hant", "繁體": "zh_Hant", "繁體中文": "zh_Hant", "繁体中文": "zh_Hant",
}  # fmt: skip


def match_language(requested: str | None, available: list[str]) -> str | None:
    """The shipped language that best fits a client's code or a typed name; None if none fits.

    Chinese is matched by script: Traditional for Hant, Taiwan, Hong Kong and Macau;
    Simplified otherwise (zh, zh-hans, zh-cn, zh-sg).
    """
    if not requested or not requested.strip():
        return None
    word = requested.strip().casefold()
    if word in LANGUAGE_WORDS:
        return LANGUAGE_WORDS[word] if LANGUAGE_WORDS[word] in available else None
    code = word.replace("-", "_")
    exact = {lang.casefold(): lang for lang in available}
    if code in exact:
        return exact[code]
    try:
        locale = Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        return None
    if locale.language == "zh":
        traditional = locale.script == "Hant" or (locale.script is None and locale.territory in ("TW", "HK", "MO"))
        for choice in ("zh_Hant", "zh_Hans") if traditional else ("zh_Hans", "zh_Hant"):
            if choice in available:
                return choice
        return None
    return locale.language if locale.language in available else None


def negotiate(requested: str | None, available: list[str]) -> str:
    """The language for what a client reports ('zh-hans', 'zh-TW', 'en-US' ...); English when nothing fits."""
    return match_language(requested, available) or SOURCE_LANGUAGE


@lru_cache(maxsize=32)
def _load(locales_dir: str, language: str, domain: str = DOMAIN) -> gettext.NullTranslations:
    po = Path(locales_dir) / language / "LC_MESSAGES" / f"{domain}.po"
    if language == SOURCE_LANGUAGE or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=domain)


def dialog_msgid(text: str) -> str:
    """A dialog text as its catalog holds it: every % doubled, so gettext tools never read it as a
    Python format ("50% of" would make `pybabel compile` demand the same % sign in every translation)."""
    return text.replace("%", "%%")


def dialog_catalogs(locales_dir: Path, dialog_id: str, dialog_file: str | Path = "") -> Path:
    """The folder that holds a dialog file's catalogs: the locales folder when it has them (the trial
    that ships, or a site's own catalogs), else a `locales` folder beside the dialog file, so a trial
    can be added as one folder (its file and its translations) without touching the shipped ones."""
    if not dialog_file or any(locales_dir.glob(f"*/LC_MESSAGES/{dialog_id}.po")):
        return locales_dir
    beside = Path(dialog_file).parent / "locales"
    return beside if any(beside.glob(f"*/LC_MESSAGES/{dialog_id}.po")) else locales_dir


@dataclass(frozen=True)
class Translator:
    """Everything a channel needs to speak one language.

    The code's messages live in the `messages` domain; each dialog file's texts in a domain of
    their own, named after the dialog's id (`locales/<lang>/LC_MESSAGES/<dialog id>.po`), so the
    wording of one trial never answers for another's. `dialog_locales_dir` is where that domain's
    catalogs are when not in `locales_dir` (see `dialog_catalogs`)."""

    language: str
    locales_dir: Path
    dialog_domain: str = ""
    dialog_locales_dir: Path | None = None

    @classmethod
    def for_dialog(cls, language: str, locales_dir: Path, dialog_id: str, dialog_file: str | Path = "") -> Translator:
        """A translator for one trial: the code's catalogs, and the dialog's own wherever they are."""
        return cls(language, locales_dir, dialog_id, dialog_catalogs(locales_dir, dialog_id, dialog_file))

    @cached_property
    def _gettext(self) -> Callable[[str], str]:
        """The catalog's gettext, looked up once per Translator: it is called for every text shown."""
        return _load(str(self.locales_dir), self.language).gettext

    @cached_property
    def _dialog_gettext(self) -> Callable[[str], str]:
        if not self.dialog_domain:
            return str
        return _load(str(self.dialog_locales_dir or self.locales_dir), self.language, self.dialog_domain).gettext

    def __call__(self, message: str, **params: object) -> str:
        """Translate a message of the code and fill its {placeholders}."""
        text = self._gettext(message) if message else ""
        return text.format(**params) if params else text

    def dialog(self, text: str, **params: object) -> str:
        """Translate a text of the dialog file (its own domain) and fill its {placeholders}."""
        if not text:
            return ""
        escaped = dialog_msgid(text)
        found = self._dialog_gettext(escaped)
        shown = text if found == escaped else found.replace("%%", "%")
        return shown.format(**params) if params else shown

    def either(self, text: str) -> str:
        """A text that may come from the dialog file or from the code (a staff view's mixed list):
        the dialog's translation when it has one, else the code's."""
        shown = self.dialog(text)
        return shown if shown != text else self(text)

    @cached_property
    def babel_locale(self) -> Locale:
        return Locale.parse(self.language)

    def date(self, day: date) -> str:
        return format_date(day, format="long", locale=self.babel_locale)

    def number(self, value: int) -> str:
        from babel.numbers import format_decimal

        return format_decimal(value, locale=self.babel_locale)


def language_name(language: str) -> str:
    """A language's name in that language, for the language menu ('English', '简体中文')."""
    names = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}
    if language in names:
        return names[language]
    try:
        return Locale.parse(language).get_display_name(language) or language
    except (ValueError, UnknownLocaleError):
        return language
