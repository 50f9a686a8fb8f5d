"""The dialog file is data a coordinator edits: every mistake must be refused with a clear message."""

from __future__ import annotations

import copy
import subprocess
import sys
import tomllib
from typing import Any

import pytest

from bot.dialog.load import DialogError, load_dialog, parse_dialog
from bot.dialog.model import Dialog

from .conftest import DIALOG_PATH, ROOT


@pytest.fixture
def data() -> dict[str, Any]:
    return tomllib.loads(DIALOG_PATH.read_text(encoding="utf-8"))


def question(data: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(q for q in data["questions"] if q["id"] == qid)


def refused(data: dict[str, Any], *words: str) -> str:
    with pytest.raises(DialogError) as caught:
        parse_dialog(data, source="dialogs/test.toml")
    message = str(caught.value)
    assert message.startswith("dialogs/test.toml: "), message
    for word in words:
        assert word in message, message
    return message


def test_the_shipped_dialog_loads(dialog: Dialog) -> None:
    assert dialog.id == "nct06349343"
    assert dialog.questions[0].id == dialog.respondent_question
    assert len(dialog.content_hash) == 64


def test_every_lay_criterion_is_asked_and_no_clinician_criterion_rules_out(dialog: Dialog) -> None:
    covered = {c for q in dialog.questions for c in q.criteria}
    for criterion in dialog.criteria.values():
        if criterion.lay in ("yes", "partly"):
            assert criterion.id in covered, criterion.id
    knock_outs = {o.rules_out for q in dialog.questions for o in q.options if o.rules_out}
    knock_outs |= {q.accept.criterion for q in dialog.questions if q.accept}
    assert not {c for c in knock_outs if dialog.criteria[c].lay == "no"}


def test_every_choice_question_offers_a_way_out_for_people_who_do_not_know(dialog: Dialog) -> None:
    for q in dialog.questions:
        if q.kind in ("choice", "multi") and q.id not in ("respondent", "sex"):
            assert any(o.review for o in q.options), f"{q.id} has no 'not sure' / 'prefer not to say'"


def test_unknown_criterion(data: dict[str, Any]) -> None:
    question(data, "age")["criteria"] = ["I99"]
    refused(data, "question 'age'", "'I99'", "[criteria]")


def test_rules_out_an_unknown_criterion(data: dict[str, Any]) -> None:
    question(data, "travel")["options"][1]["rules_out"] = "E77"
    refused(data, "question 'travel'", "option 'no'", "'E77'")


def test_clinician_only_criterion_cannot_rule_out(data: dict[str, Any]) -> None:
    q = question(data, "active")
    q["options"][1] = {"id": "no", "label": "No", "rules_out": "I4a"}
    refused(data, "question 'active'", "I4a", "never rule anyone out")


def test_unknown_option_in_ask_if(data: dict[str, Any]) -> None:
    question(data, "pregnant")["ask_if"] = [{"question": "sex", "any_of": ["woman"]}]
    refused(data, "question 'pregnant'", "'woman'", "'sex'")


def test_ask_if_pointing_nowhere(data: dict[str, Any]) -> None:
    question(data, "pregnant")["ask_if"] = [{"question": "gender", "any_of": ["female"]}]
    refused(data, "question 'pregnant'", "'gender'", "not a question asked before")


def test_ask_if_pointing_forward(data: dict[str, Any]) -> None:
    question(data, "age")["ask_if"] = [{"question": "sex", "any_of": ["female"]}]
    refused(data, "question 'age'", "'sex'", "not a question asked before")


def test_unreachable_question(data: dict[str, Any]) -> None:
    question(data, "pregnant")["ask_if"] = [
        {"question": "sex", "any_of": ["female"]},
        {"question": "sex", "any_of": ["male"]},
    ]
    refused(data, "question 'pregnant'", "unreachable")


def test_uncovered_criterion(data: dict[str, Any]) -> None:
    question(data, "travel")["criteria"] = []
    question(data, "travel")["options"][1].pop("rules_out")
    refused(data, "criterion I1", "no question covers it")


def test_unknown_kind_and_key(data: dict[str, Any]) -> None:
    bad = copy.deepcopy(data)
    question(bad, "age")["kind"] = "slider"
    refused(bad, "question 'age'", "kind must be one of")
    question(data, "age")["txet"] = "typo"
    refused(data, "question 'age'", "unknown key(s) txet")


def test_duplicate_ids(data: dict[str, Any]) -> None:
    question(data, "travel")["id"] = "age"
    refused(data, "question 'age'", "used by another question")


def test_wait_needs_a_criterion(data: dict[str, Any]) -> None:
    question(data, "treatment_time")["options"][0].pop("criterion")
    refused(data, "option 'under_1_month'", "must name its 'criterion'")


def test_missing_outcome(data: dict[str, Any]) -> None:
    del data["outcomes"]["not_yet"]
    refused(data, "[outcomes]", "not_yet")


def test_not_yet_must_say_when(data: dict[str, Any]) -> None:
    data["outcomes"]["not_yet"]["text"] = "Come back later."
    refused(data, "not_yet", "{date}")


def test_choice_without_options(data: dict[str, Any]) -> None:
    question(data, "travel")["options"] = []
    refused(data, "question 'travel'", "needs options")


def test_respondent_question_must_offer_self_and_caregiver(data: dict[str, Any]) -> None:
    question(data, "respondent")["options"][1]["id"] = "doctor"
    refused(data, "respondent_question", "'self' and 'caregiver'")


def test_broken_toml_names_the_file(tmp_path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[dialog\nid = 1", encoding="utf-8")
    with pytest.raises(DialogError, match=r"broken\.toml: not valid TOML"):
        load_dialog(path)


def test_an_invalid_dialog_stops_the_program_at_start_with_the_message(tmp_path) -> None:
    text = DIALOG_PATH.read_text(encoding="utf-8").replace('rules_out = "I1"', 'rules_out = "I42"')
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--dialog", str(path), "--db", str(tmp_path / "x.db"), "chat"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        input="",
        timeout=60,
    )
    assert result.returncode == 2
    assert "bad.toml" in result.stderr and "question 'travel'" in result.stderr and "'I42'" in result.stderr
