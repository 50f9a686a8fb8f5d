"""The catalogs: complete in every shipped language, in step with the code and dialog, zh_Hant reproducible."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot import hant
from bot.i18n import Translator, available_languages, negotiate

from .conftest import LOCALES, ROOT

SHIPPED = ["zh_Hans", "zh_Hant"]


def read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w*)\}", text))


def test_the_shipped_languages_are_found() -> None:
    assert available_languages(LOCALES) == ["en", *SHIPPED]


@pytest.mark.parametrize("language", SHIPPED)
def test_every_message_has_a_real_translation_with_the_same_placeholders(language: str) -> None:
    template = read(LOCALES / "messages.pot")
    catalog = read(LOCALES / language / "LC_MESSAGES" / "messages.po")
    problems = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        if translated is None or not translated.string or not str(translated.string).strip():
            problems.append(f"untranslated: {message.id!r}")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif placeholders(message.id) != placeholders(translated.string):
            problems.append(f"placeholders differ: {message.id!r} -> {translated.string!r}")
    assert not problems, "\n".join(problems)


def test_the_template_is_in_step_with_the_code_and_the_dialog(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "extract", "-F", "babel.cfg", "-k", "N_", "--no-location", "-o", str(fresh), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    shipped = {m.id for m in read(LOCALES / "messages.pot") if m.id}
    extracted = {m.id for m in read(fresh) if m.id}
    assert extracted, "the extractor found nothing"
    assert extracted == shipped, (
        f"locales/messages.pot is stale: missing {sorted(extracted - shipped)}, obsolete {sorted(shipped - extracted)}"
    )


def test_the_dialog_extractor_finds_questions_options_reasons_and_outcomes() -> None:
    ids = {m.id for m in read(LOCALES / "messages.pot")}
    assert "Who is answering these questions?" in ids
    assert "Hydroxychloroquine" in ids
    assert "The study is for people aged 18 to 70." in ids
    assert "You may be a candidate" in ids


def test_zh_hant_is_exactly_what_the_generator_makes() -> None:
    """Hand fixes live in overrides.toml; an edit made only in the .po would be lost next time."""
    shipped = LOCALES / "zh_Hant" / "LC_MESSAGES" / "messages.po"
    assert hant.translations(shipped.read_bytes()) == hant.translations(hant.render(LOCALES))


def test_the_generator_check_ignores_the_babel_version_in_the_header(tmp_path: Path) -> None:
    """A new Babel release writes its own version into the header: that is not a change."""
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES, locales)
    po = locales / "zh_Hant" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(re.sub(r"Generated-By: Babel [0-9.]+", "Generated-By: Babel 0.0.1", text), encoding="utf-8")
    assert "Babel 0.0.1" in po.read_text(encoding="utf-8")
    assert hant.main(["--locales", str(locales), "--check"]) == 0


def test_the_generator_check_catches_a_hand_edit_and_keeps_overrides(tmp_path: Path) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES, locales)
    po = locales / "zh_Hant" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text(encoding="utf-8").replace("類固醇", "激素"), encoding="utf-8")
    assert hant.main(["--locales", str(locales), "--check"]) == 1
    assert hant.main(["--locales", str(locales)]) == 0
    text = po.read_text(encoding="utf-8")
    assert "類固醇" in text and "羥氯奎寧" in text and "已換成繁體中文。" in text
    assert "激素" not in text and "简" not in text


@pytest.mark.parametrize(
    ("reported", "language"),
    [
        ("zh", "zh_Hans"),
        ("zh-hans", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh-cn", "zh_Hans"),
        ("zh-sg", "zh_Hans"),
        ("zh-hant", "zh_Hant"),
        ("zh-Hant-TW", "zh_Hant"),
        ("zh-tw", "zh_Hant"),
        ("zh-hk", "zh_Hant"),
        ("zh-MO", "zh_Hant"),
        ("en", "en"),
        ("en-US", "en"),
        ("fr", "en"),
        ("pt-br", "en"),
        ("", "en"),
        (None, "en"),
        ("C", "en"),
        ("not a language!", "en"),
    ],
)
def test_telegram_style_codes_are_negotiated_with_english_as_fallback(reported: str | None, language: str) -> None:
    assert negotiate(reported, available_languages(LOCALES)) == language


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", "February 15, 2027"), ("zh_Hans", "2027年2月15日"), ("zh_Hant", "2027年2月15日")],
)
def test_dates_are_written_the_local_way(language: str, shown: str) -> None:
    assert Translator(language, LOCALES).date(date(2027, 2, 15)) == shown
    assert Translator(language, LOCALES).number(12356) == "12,356"
