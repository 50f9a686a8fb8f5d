"""Only the protocol decides: an answer rules out only where it meets the protocol's own threshold.

Each case below is one finding of the review against the protocol (/work/shared/trial/NCT06349343.md):
a lay answer about something a doctor must judge leads to "needs review", with the criterion it
bears on shown to staff; "not yet" only where time alone stands in the way.
"""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.dialog import rules
from bot.dialog.load import DialogError, parse_dialog
from bot.dialog.model import Dialog
from bot.screening.summary import summary_text

from .conftest import DIALOG_PATH, LOCALES, TODAY, AsSeen, Screener, answer_until, reach_outcome, start_screening
from .test_conversations import number_of, route_to

ZH = AsSeen("zh_Hans", LOCALES)


def outcome_with(screener: Screener, dialog: Dialog, question_id: str, *option_ids: str) -> tuple[str, str]:
    """(outcome, what the person was told) after answering `question_id` with these options, all else harmless."""
    chat = start_screening(screener)
    question = dialog.question(question_id)
    overrides = route_to(dialog, question_id)
    overrides[question_id] = ", ".join(number_of(question, o) for o in option_ids)
    reach_outcome(chat, dialog, overrides)
    conv = screener.store.load("test", "person-1")
    return conv.state, chat.said


def findings_of(screener: Screener) -> list[rules.Finding]:
    return screener.engine.findings(screener.store.load("test", "person-1"))


@pytest.mark.parametrize(
    ("question_id", "option_id", "criterion", "why"),
    [
        (
            "organ_damage",
            "kidney_8_weeks",
            "E1",
            "usual nephritis care is below prednisone 100 mg/day for 14 days",
        ),
        ("organ_damage", "other_brain", "E3", "nerves outside the brain and spinal cord are not E3"),
        ("ever_had", "other_joint_skin", "E4", "osteoarthritis, gout, eczema are not inflammatory joint/skin disease"),
        (
            "current_health",
            "other_autoimmune",
            "E9",
            "Hashimoto's, Sjögren's, lupus ITP may need no treatment",
        ),
        ("organ_damage", "lung_damage", "E14", "'severe' lung damage is a doctor's judgement"),
        ("organ_damage", "heart_damage", "E15", "'severe' heart damage is a doctor's judgement"),
        ("infections", "syphilis", "E10", "false-positive syphilis tests are common in lupus"),
        ("infections", "tb_past_or_test", "E11", "a positive TB test or past TB needs a doctor"),
        ("ever_had", "other_stem_cells", "E5", "MSC infusions are not blood-forming stem cell transplants"),
        ("ever_had", "other_blood_cancer", "E6", "not every blood cancer is lymphoproliferative"),
        ("recent_events", "dialysis", "E8", "dialysis often goes on: no date holds"),
        ("b_cell_drugs", "anifrolumab", "E21", "the wash-out of another biologic is the study team's to judge"),
    ],
)
def test_a_doctor_s_judgement_leads_to_review_with_its_criterion(
    screener: Screener, dialog: Dialog, question_id: str, option_id: str, criterion: str, why: str
) -> None:
    outcome, said = outcome_with(screener, dialog, question_id, option_id)
    assert outcome == "needs_review", why
    assert "The study team will check these answers" in said
    assert {f.criterion for f in findings_of(screener)} == {criterion}


@pytest.mark.parametrize(
    ("question_id", "option_id", "criterion"),
    [
        ("organ_damage", "kidney_dialysis", "E1"),
        ("organ_damage", "brain_8_weeks", "E3"),
        ("ever_had", "ra_psoriasis", "E4"),
        ("ever_had", "transplant", "E5"),
        ("ever_had", "marrow_transplant", "E5"),
        ("ever_had", "lymphoma", "E6"),
        ("infections", "hep_c_hiv", "E10"),
        ("infections", "tb_now", "E11"),
        ("plans", "surgery_planned", "E26"),
    ],
)
def test_a_lay_answer_at_the_protocol_s_own_threshold_still_rules_out(
    screener: Screener, dialog: Dialog, question_id: str, option_id: str, criterion: str
) -> None:
    outcome, said = outcome_with(screener, dialog, question_id, option_id)
    assert outcome == "not_eligible"
    assert dialog.criteria[criterion].reason in said


def test_the_kidney_option_names_the_protocol_s_threshold_not_very_high_steroids(dialog: Dialog) -> None:
    labels = " ".join(o.label for o in dialog.question("organ_damage").options)
    assert "very high steroid" not in labels
    assert "dialysis" in dialog.question("organ_damage").option("kidney_dialysis").label


def test_the_brain_question_no_longer_catches_nerves(dialog: Dialog) -> None:
    assert "nerve" not in dialog.question("organ_damage").option("brain_8_weeks").label
    assert "nerve" not in dialog.criteria["E3"].label


def test_the_chinese_transplant_options_tell_blood_forming_from_other_stem_cells(dialog: Dialog) -> None:
    ever_had = dialog.question("ever_had")
    assert "造血干细胞" in ZH(ever_had.option("marrow_transplant").label)
    assert "间充质干细胞" in ZH(ever_had.option("other_stem_cells").label)
    assert "干细胞" not in ZH(ever_had.option("transplant").label)


def test_the_drug_misuse_question_asks_about_misuse_not_missed_doses(dialog: Dialog) -> None:
    question = dialog.question("drug_misuse")
    for text in (question.text, question.text_caregiver):
        assert "doctor did not say" not in text and "get high" in text
        assert "没按医生" not in ZH(text) and "滥用" in ZH(text)


def test_still_taking_tofacitinib_is_for_the_study_team_not_a_date(screener: Screener, dialog: Dialog) -> None:
    outcome, said = outcome_with(screener, dialog, "jak_btk_last_dose", "still_taking")
    assert outcome == "needs_review"
    assert "from about" not in said, "no date that would hold only if a medicine were stopped"
    assert [f.criterion for f in findings_of(screener)] == ["E19"]


def test_a_last_dose_weeks_ago_is_not_yet_from_twelve_weeks_after_it(screener: Screener, dialog: Dialog) -> None:
    outcome, said = outcome_with(screener, dialog, "jak_btk_last_dose", "4_to_8_weeks")
    assert outcome == "not_yet"
    day = TODAY + timedelta(days=56)
    assert f"{day:%B} {day.day}, {day.year}" in said


@pytest.mark.parametrize(("option_id", "outcome"), [("yes", "likely_candidate"), ("no", "needs_review")])
def test_vaccines_and_giving_blood_can_be_avoided(screener: Screener, dialog: Dialog, option_id: str, outcome: str):
    question = dialog.question("plans")
    assert "Could you avoid these?" in question.text
    assert outcome_with(screener, dialog, "plans", option_id)[0] == outcome


def test_the_pregnancy_horizon_is_two_years_after_the_treatment(dialog: Dialog) -> None:
    for qid in ("baby_plans", "partner_baby_plans"):
        question = dialog.question(qid)
        for text in (question.text, question.text_caregiver):
            assert "2 years after" in text and "next 2 years" not in text
    assert "2 years after the treatment" in dialog.criteria["E28"].reason


@pytest.mark.parametrize(
    ("question_id", "option_id", "criterion"),
    [
        ("infections", "hepatitis_b", "E10"),
        ("current_health", "uncontrolled_illness", "E13"),
        ("current_health", "drug_allergy", "E29"),
        ("current_health", "blood_thinner", "E25"),
        ("infections", "infection_now", "E16"),
    ],
)
def test_each_option_names_the_criterion_it_bears_on(
    screener: Screener, dialog: Dialog, question_id: str, option_id: str, criterion: str
) -> None:
    outcome, _said = outcome_with(screener, dialog, question_id, option_id)
    assert outcome == "needs_review"
    assert [f.criterion for f in findings_of(screener)] == [criterion]
    conv = screener.store.load("test", "person-1")
    results = rules.criterion_results(dialog, conv.answers, TODAY)
    assert results[criterion] == "unclear" and results["E7"] == "none_reported"


@pytest.mark.parametrize("question_id", ["ever_had", "infections", "current_health", "organ_damage", "recent_events"])
def test_not_sure_on_a_list_flags_every_criterion_of_the_list(
    screener: Screener, dialog: Dialog, question_id: str
) -> None:
    outcome, _said = outcome_with(screener, dialog, question_id, "not_sure")
    assert outcome == "needs_review"
    conv = screener.store.load("test", "person-1")
    results = rules.criterion_results(dialog, conv.answers, TODAY)
    assert {c: results[c] for c in dialog.question(question_id).criteria} == dict.fromkeys(
        dialog.question(question_id).criteria, "unclear"
    )


def test_an_option_on_a_list_of_several_criteria_must_name_its_own(tmp_path: Path) -> None:
    data: dict[str, Any] = tomllib.loads(DIALOG_PATH.read_text(encoding="utf-8"))
    health = next(q for q in data["questions"] if q["id"] == "current_health")
    health["options"][2].pop("criterion")  # "uncontrolled_illness" would be filed under all five
    with pytest.raises(DialogError, match="name the one this answer bears on"):
        parse_dialog(data, source="dialogs/test.toml")


def test_a_self_report_is_never_met(screener: Screener, dialog: Dialog) -> None:
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    conv = screener.store.load("test", "person-1")
    results = rules.criterion_results(dialog, conv.answers, TODAY)
    assert "met" not in results.values()
    assert results["I2"] == "reported" and results["E7"] == "none_reported" and results["I4a"] == "study_team"
    summary = summary_text(screener.engine, screener.texts, conv, screener.translator("en"))
    assert ": met" not in summary
    assert "No cancer in the last 5 years: none reported" in summary
    assert "Age 18 to 70: reported, not checked" in summary
    assert "未报告" in summary_text(screener.engine, screener.texts, conv, ZH)


def test_every_wait_is_time_alone(dialog: Dialog) -> None:
    """An answer about something still going on ("I still take it", dialysis) is never a date."""
    for question in dialog.questions:
        for option in question.options:
            if option.wait:
                assert "still" not in option.label.lower() and "now" not in option.label.lower(), option.id
                assert "dialysis" not in option.label.lower() or "plasma" in option.label.lower(), option.id


def test_no_question_asks_two_questions(dialog: Dialog) -> None:
    for question in dialog.questions:
        for text in (question.text, question.text_caregiver):
            assert text.count("?") <= 1, text


def test_the_active_question_still_goes_to_review(screener: Screener, dialog: Dialog) -> None:
    answers = dict(route_to(dialog, "active"))
    chat = start_screening(screener)
    answer_until(chat, dialog, stop_at="active", overrides=answers)
    chat.send(number_of(dialog.question("active"), "no"))
    reach_outcome(chat, dialog)
    assert chat.state() == "needs_review"
