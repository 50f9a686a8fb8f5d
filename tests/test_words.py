"""Words people understand: no jargon, drug names as patients know them, carer wording everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.dialog.model import Dialog

from .conftest import LOCALES, AsSeen, Screener, give_contact, make_lead_screener, reach_outcome, start_screening
from .test_plain_words import catalog_ids

ZH = AsSeen("zh_Hans", LOCALES)
HANT = AsSeen("zh_Hant", LOCALES)

#: Words a lay person does not know, as the review found them on patients' screens.
JARGON = [r"\bB-cell", r"\bJAK\b", r"\bBTK\b", r"\bbiologic", r"\bIVIG\b", r"hidden TB", r"\binhibitor"]
CHINESE_JARGON = ["B细胞", "JAK", "BTK", "IVIG", "生物制剂", "潜伏结核", "抑制剂", "狼疮肾病", "阿尼鲁单抗"]


def patient_texts() -> list[str]:
    """Every English text of the catalog, except the staff's own words (staff views are in code, not here)."""
    staff = {"URGENT", "Why: {reasons}"}
    return [i for i in catalog_ids() if i not in staff]


def translations(language: str) -> list[str]:
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return [str(m.string) for m in read_po(handle) if m.id]


@pytest.mark.parametrize("pattern", JARGON)
def test_no_jargon_reaches_patients(pattern: str) -> None:
    found = [text for text in patient_texts() if re.search(pattern, text)]
    assert not found, found


@pytest.mark.parametrize("word", CHINESE_JARGON)
def test_no_jargon_in_chinese(word: str) -> None:
    for language in ("zh_Hans", "zh_Hant"):
        found = [text for text in translations(language) if word in text]
        assert not found, found


def test_chinese_drug_names_and_the_brands_patients_know(dialog: Dialog) -> None:
    drugs = dialog.question("b_cell_drugs")
    assert ZH(drugs.option("anifrolumab").label) == "阿伏利尤单抗"
    assert "美罗华" in ZH(drugs.option("rituximab").label)
    assert "倍力腾" in ZH(drugs.option("belimumab").label)
    assert "泰爱" in ZH(drugs.option("telitacicept").label)
    assert "狼疮肾炎" in ZH(dialog.question("organ_damage").option("kidney_dialysis").label)
    for option in ("rituximab", "belimumab", "telitacicept", "anifrolumab"):
        assert dialog.waits_for_confirmation(f"questions.b_cell_drugs.options.{option}")


@pytest.mark.parametrize(
    ("wrong", "right"), [("國家或地區程式碼", "國碼"), ("賬號", "帳號"), ("篩查", "篩檢"), ("座機", "市話")]
)
def test_traditional_chinese_uses_taiwan_words(wrong: str, right: str) -> None:
    texts = translations("zh_Hant")
    assert not [t for t in texts if wrong in t]
    assert [t for t in texts if right in t]


def test_car_t_is_explained_in_one_sentence_and_called_experimental(dialog: Dialog) -> None:
    text = dialog.consent.text
    sentence = next(s for s in text.split("\n") if "CAR-T" in s)
    assert "white blood cells" in sentence and "lab" in sentence and "drip" in sentence
    assert "experimental" in text
    assert "CAR-T" in ZH(text) and "白细胞" in ZH(text) and "试验" in ZH(text)


@pytest.fixture
def screener(dialog: Dialog, db_path: Path) -> Screener:
    return make_lead_screener(dialog, db_path)


def test_a_carer_hears_about_the_patient_in_titles_next_steps_and_help(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    chat.press("I am answering for the patient")
    reach_outcome(chat, dialog)
    assert "The patient may be a candidate" in chat.said
    assert "You may be a candidate" not in chat.said
    give_contact(chat, "139 1234 5678", None)
    assert "some more questions about the patient's health" in chat.said
    assert "If the study may fit the patient" in chat.said and "If the study may fit you" not in chat.said
    chat.command("help")
    assert "may fit the patient" in chat.said
    assert "Summary for the patient's doctor" in [b.label for b in chat.buttons()]
    chinese = ZH(dialog.outcomes["likely_candidate"].title_caregiver)
    assert chinese == "患者可能适合参加"


def test_a_carer_s_not_eligible_title_speaks_of_the_patient(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    chat.press("I am answering for the patient")
    reach_outcome(chat, dialog, {"travel": "2"})
    assert "This study may not fit the patient" in chat.said
