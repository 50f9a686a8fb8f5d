"""The dialog version is bumped, and `export-script --diff` says what changed since each approved version, in words."""

from __future__ import annotations

from pathlib import Path

from bot.cli import main
from bot.dialog.load import load_dialog
from bot.dialog.model import Dialog
from bot.ethics.diff import dialog_changes

from .conftest import ROOT

#: Versions the ethics committee approved before this one, as they were shipped.
APPROVED = ROOT / "tests" / "data" / "nct06349343-1.2.0.toml"
LAST_APPROVED = ROOT / "tests" / "data" / "nct06349343-1.3.0.toml"


def test_the_version_is_bumped(dialog: Dialog) -> None:
    old = load_dialog(APPROVED, lenient=True)
    last = load_dialog(LAST_APPROVED, lenient=True)
    assert old.version == "1.2.0" and last.version == "1.3.0" and dialog.version == "1.4.0"
    assert old.content_hash != dialog.content_hash != last.content_hash


def test_the_diff_since_1_3_0_names_the_trial_texts_the_region_and_the_time_rules(dialog: Dialog) -> None:
    """1.4.0: the trial's own words and its region moved from the code into the file; time rules say their unit."""
    words = [c.in_words().en for c in dialog_changes(load_dialog(LAST_APPROVED, lenient=True), dialog)]
    expected = [
        'Changed the dialog, version: "1.3.0" -> "1.4.0"',
        'Changed the chat\'s own words, greeting: "" -> "Hello! This is the screening chat for a lupus study."',
        'Changed the chat\'s own words, visit: "" -> "If the study may fit you, they will invite you to a visit',
        'Changed the region, phone region: "" -> "CN"',
        'Changed the region, time zone: "UTC" -> "Asia/Shanghai"',
        'Changed question "treatment_time", option "under_1_month", not yet, wait: "84 days" -> "12 weeks"',
    ]
    for start in expected:
        assert any(w.startswith(start) for w in words), (start, words)
    assert not [w for w in words if "plasma_exchange" in w], "14 days, written the same way, is no change"
    assert not [w for w in words if '"diagnosis_year"' in w], "24 weeks, written the same way, is no change"


def test_the_diff_lists_the_new_safety_consent_and_rule_fields_in_words(dialog: Dialog) -> None:
    words = [c.in_words().en for c in dialog_changes(load_dialog(APPROVED, lenient=True), dialog)]
    expected = [
        'Changed the dialog, version: "1.2.0" -> "1.4.0"',
        'Changed the consent notice, version: "2" -> "3"',
        'Changed the consent notice, guardian age: "" -> "14"',
        'Added the separate consent "health": ',
        'Added the separate consent "cross_border": ',
        'Added the help line "mental_health_hotline": Mental health hotline, mainland China',
        'Added the typed phrases that mean a risk: "suicide": ',
        'Changed question "jak_btk_last_dose", option "still_taking", needs review: "" -> "yes"',
        'Changed question "organ_damage", option "kidney_8_weeks", rules out: "E1" -> ""',
        'Added the item for the site to confirm "questions.b_cell_drugs.options.rituximab": ',
        'Changed outcome "likely_candidate", carer\'s title: "" -> "The patient may be a candidate"',
        'Added question "infections": ',
        'Removed question "infection": ',
        "Moved the question order: ",
    ]
    for start in expected:
        assert any(w.startswith(start) for w in words), start


def test_export_script_diff_writes_the_changes_into_the_pack(tmp_path: Path) -> None:
    out = str(tmp_path)
    code = main(["--db", str(tmp_path / "s.db"), "export-script", "--out", out, "--no-flow", "--diff", str(APPROVED)])
    assert code == 0
    markdown = (tmp_path / "nct06349343-1.4.0.md").read_text(encoding="utf-8")
    assert "## Changes since version" in markdown
    assert 'Added the help line "emergency"' in markdown


def test_a_conversation_saved_at_a_removed_question_goes_on_at_the_first_new_one(screener, dialog: Dialog) -> None:
    """1.3.0 removed the "infection" question: a person saved there answers what is new, not everything."""
    from .conftest import answer_until, start_screening

    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="infections")
    conv = screener.store.load("test", "person-1")
    conv.state = "infection"  # where a 1.2.0 conversation could have stopped
    screener.store.save(conv)
    again = screener.open("test", "person-1")
    assert again.state == "infections" and again.editing
    answer_until(chat.__class__(screener), dialog)  # /start again, then go on
    assert screener.store.load("test", "person-1").state == "summary"
