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

from .conftest import LOCALES, ROOT, SECOND_TRIAL, SECOND_TRIAL_LOCALES

SHIPPED = ["zh_Hans", "zh_Hant"]
#: The catalog domains: the code's messages, and each dialog file's texts in a domain named after its id.
DOMAINS = ["messages", "nct06349343"]
#: (folder, domain) of every catalog: the shipped ones, and the test trial's beside its dialog file.
CATALOGS = [(LOCALES, "messages"), (LOCALES, "nct06349343"), (SECOND_TRIAL_LOCALES, "knee_oa_chengdu")]


def read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w*)\}", text))


def test_the_shipped_languages_are_found() -> None:
    assert available_languages(LOCALES) == ["en", *SHIPPED]


@pytest.mark.parametrize(("folder", "domain"), CATALOGS)
@pytest.mark.parametrize("language", SHIPPED)
def test_every_message_has_a_real_translation_with_the_same_placeholders(
    language: str, folder: Path, domain: str
) -> None:
    template = read(folder / f"{domain}.pot")
    catalog = read(folder / language / "LC_MESSAGES" / f"{domain}.po")
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


def extract(tmp_path: Path, config: str, *paths: str, cwd: Path = ROOT) -> set[str]:
    fresh = tmp_path / "fresh.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "extract", "-F", str(ROOT / config), "-k", "N_", "--no-location", "-o", str(fresh), *paths],
        cwd=cwd,
        check=True,
        capture_output=True,
    )
    return {m.id for m in read(fresh) if m.id}


@pytest.mark.parametrize(
    ("folder", "domain", "config", "path"),
    [
        (LOCALES, "messages", "babel.cfg", "."),
        (LOCALES, "nct06349343", "babel-dialog.cfg", "dialogs/nct06349343.toml"),
        (SECOND_TRIAL_LOCALES, "knee_oa_chengdu", "babel-dialog.cfg", "dialogs/knee_oa_chengdu.toml"),
    ],
)
def test_each_template_is_in_step_with_the_code_or_its_dialog(
    tmp_path: Path, folder: Path, domain: str, config: str, path: str
) -> None:
    """The test trial is extracted from tests/data, where babel-dialog.cfg's `dialogs/*.toml` finds it."""
    shipped = {m.id for m in read(folder / f"{domain}.pot") if m.id}
    extracted = extract(tmp_path, config, path, cwd=folder.parent.parent if folder != LOCALES else ROOT)
    assert extracted, "the extractor found nothing"
    assert extracted == shipped, (
        f"{folder / domain}.pot is stale: missing {sorted(extracted - shipped)}, obsolete {sorted(shipped - extracted)}"
    )


def test_the_dialog_extractor_finds_questions_options_reasons_and_outcomes() -> None:
    ids = {m.id for m in read(LOCALES / "nct06349343.pot")}
    assert "Who is answering these questions?" in ids
    assert "Hydroxychloroquine" in ids
    assert "The study is for people aged 18 to 70." in ids
    assert "You may be a candidate" in ids
    code = {m.id for m in read(LOCALES / "messages.pot")}
    assert "Who is answering these questions?" not in code  # the dialog's own domain, not the code's


@pytest.mark.parametrize(("folder", "domain"), CATALOGS)
def test_zh_hant_is_exactly_what_the_generator_makes(folder: Path, domain: str) -> None:
    """Hand fixes live in overrides.toml; an edit made only in the .po would be lost next time."""
    shipped = folder / "zh_Hant" / "LC_MESSAGES" / f"{domain}.po"
    assert hant.translations(shipped.read_bytes()) == hant.translations(hant.render(folder, domain))


def test_a_trial_added_as_a_folder_brings_its_own_catalogs() -> None:
    """A dialog file's catalogs are found beside it when the locales folder has none of its domain, and
    the code's messages still come from the locales folder."""
    t = Translator.for_dialog("zh_Hans", LOCALES, "knee_oa_chengdu", SECOND_TRIAL)
    assert t.dialog("My own knees") == "我自己的膝盖"
    assert t("Help") == "帮助"
    assert Translator.for_dialog("zh_Hant", LOCALES, "knee_oa_chengdu", SECOND_TRIAL).dialog("My own knees") == (
        "我自己的膝蓋"
    )
    shipped = Translator.for_dialog("zh_Hans", LOCALES, "nct06349343", ROOT / "dialogs" / "nct06349343.toml")
    assert shipped.dialog_locales_dir == LOCALES
    assert shipped.dialog("My own knees") == "My own knees"  # one trial's catalog never answers for another


def test_a_percent_sign_in_a_dialog_text_compiles_and_shows(tmp_path: Path) -> None:
    """A `%` in a dialog text ("50% of", "100%") is written %% in the catalog: pybabel's python-format
    check would otherwise demand the same % sign in the translation and refuse to compile."""
    dialog = (ROOT / "dialogs" / "nct06349343.toml").read_text(encoding="utf-8")
    text = "At least 50% of the time, or 100% i.e. always?"
    dialogs = tmp_path / "dialogs"
    dialogs.mkdir()
    (dialogs / "nct06349343.toml").write_text(
        dialog.replace('label = "Who is answering"', f'label = "{text}"'), encoding="utf-8"
    )
    shutil.copy(ROOT / "babel-dialog.cfg", tmp_path)
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    pot, locales = tmp_path / "x.pot", tmp_path / "locales"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([pybabel, *args], cwd=tmp_path, capture_output=True, text=True)

    assert run("extract", "-F", "babel-dialog.cfg", "-o", str(pot), "dialogs/nct06349343.toml").returncode == 0
    assert run("init", "-i", str(pot), "-d", str(locales), "-l", "zh_Hans", "-D", "nct06349343").returncode == 0
    po = locales / "zh_Hans" / "LC_MESSAGES" / "nct06349343.po"
    escaped = text.replace("%", "%%")
    body = po.read_text(encoding="utf-8")
    assert f'msgid "{escaped}"' in body
    po.write_text(
        body.replace(f'msgid "{escaped}"\nmsgstr ""', f'msgid "{escaped}"\nmsgstr "至少50%%的时间"'), encoding="utf-8"
    )
    compiled = run("compile", "-d", str(locales), "-D", "nct06349343", "--statistics")
    assert compiled.returncode == 0, compiled.stderr
    assert "error" not in compiled.stderr.lower()
    t = Translator("zh_Hans", locales, "nct06349343")
    assert t.dialog(text) == "至少50%的时间"
    assert Translator("en", locales, "nct06349343").dialog(text) == text


def test_each_dialog_has_its_own_domain_so_two_trials_never_share_a_translation(tmp_path: Path) -> None:
    """The same English words in two trials' files may be translated differently; each trial's
    translator reads only its own domain (and the code's messages are a domain of their own)."""
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES, locales)
    other = locales / "zh_Hans" / "LC_MESSAGES" / "other-trial.po"
    other.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Who is answering these questions?"\nmsgstr "另一项研究：谁在回答？"\n',
        encoding="utf-8",
    )
    ours = Translator("zh_Hans", locales, "nct06349343")
    theirs = Translator("zh_Hans", locales, "other-trial")
    assert theirs.dialog("Who is answering these questions?") == "另一项研究：谁在回答？"
    assert ours.dialog("Who is answering these questions?") != theirs.dialog("Who is answering these questions?")
    assert theirs.dialog("Hydroxychloroquine") == "Hydroxychloroquine"  # not borrowed from the other trial
    assert ours("Hydroxychloroquine") == "Hydroxychloroquine"  # nor from the code's domain


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
    po = locales / "zh_Hant" / "LC_MESSAGES" / "nct06349343.po"  # the dialog's medicines are in its own domain
    po.write_text(po.read_text(encoding="utf-8").replace("類固醇", "激素"), encoding="utf-8")
    assert hant.main(["--locales", str(locales), "--check"]) == 1
    assert hant.main(["--locales", str(locales)]) == 0
    text = po.read_text(encoding="utf-8")
    assert "類固醇" in text and "羥氯奎寧" in text
    assert "激素" not in text and "简" not in text
    code = (locales / "zh_Hant" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    assert "已換成繁體中文。" in code and "简" not in code


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
