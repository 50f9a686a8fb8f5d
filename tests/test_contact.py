"""Contact capture after the outcome and the leads it makes, through the real Screener and SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.contact import CONTACT_CONSENT_VERSION, parse_phone
from bot.dialog.model import Dialog
from bot.dialog.rules import Invalid

from .conftest import give_contact, make_lead_screener, reach_outcome, start_screening

NOT_SURE_OF_DIAGNOSIS = {"diagnosis_year": "not sure"}


def rows(screener, sql: str, params: list | None = None) -> list[dict]:
    return list(screener.store.db.query(sql, params or []))


def test_a_likely_candidate_gives_contact_details_and_becomes_a_lead(dialog: Dialog, db_path: Path) -> None:
    events: list[tuple[str, str]] = []
    screener = make_lead_screener(dialog, db_path, on_lead=[lambda lead, event: events.append((lead, event))])
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    assert "You may be a candidate" in chat.said
    assert chat.question == "contact_consent"
    chat.assert_asked("Would you like the study team to contact you")
    give_contact(chat, "139 1234 5678", "Li Na")
    assert "What happens next" in chat.said
    assert "call you soon" in chat.said  # no SITE_RESPONSE_DAYS: promise no time
    assert chat.reply.prompt.kind == "finished"

    [lead] = screener.leads.find()
    assert (lead.phone, lead.name, lead.call_time, lead.call_language) == ("+8613912345678", "Li Na", "afternoon", "zh")
    assert lead.status == "new" and lead.outcome == "likely_candidate" and lead.respondent == "self"
    assert lead.contact_consent_version == CONTACT_CONSENT_VERSION and lead.contact_consented_at
    assert lead.dialog_version == dialog.version and lead.channel == "test"
    assert lead.criteria["I2"] == "reported" and lead.criteria["I4a"] == "study_team"
    assert lead.criteria["E7"] == "none_reported" and "met" not in lead.criteria.values()
    assert events == [(lead.id, "created"), (lead.id, "completed")]
    assert [h["change"] for h in screener.leads.get(lead.id).history] == ["created"]


def test_needs_review_keeps_the_answers_to_check(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    chat = start_screening(screener)
    reach_outcome(chat, dialog, NOT_SURE_OF_DIAGNOSIS)
    assert chat.question == "contact_consent"
    give_contact(chat, "+86 150 1234 5678", None)
    [lead] = screener.leads.find()
    assert lead.outcome == "needs_review"
    assert lead.name == ""
    assert {"question": "diagnosis_year", "answer": "not_sure"} in lead.review_answers
    assert lead.criteria["I3"] == "unclear"


def test_the_response_time_is_said_only_when_configured(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path, response_days="5")
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    give_contact(chat, "13912345678", None)
    assert "usually call you within 5 working days" in chat.said


def test_saying_no_to_contact_shows_the_site_and_keeps_no_contact(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path, phone="+86 27 8572 6114")
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    chat.press("No, thank you")
    assert "We keep no contact details" in chat.said
    assert "Phone: +86 27 8572 6114" in chat.said and "Union Hospital" in chat.said
    assert chat.reply.prompt.kind == "finished"
    assert rows(screener, "SELECT * FROM leads") == []
    [conv] = rows(screener, "SELECT contact_step, contact_consented_at, outcome FROM conversations")
    assert conv == {"contact_step": "declined", "contact_consented_at": "", "outcome": "likely_candidate"}


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("call me maybe", "Please type only the digits"),
        ("一三九", "Please type only the digits"),
        ("12345", "That number is too short"),
        ("139 1234 567", "That number does not look right"),
        ("027 8572 6114", "This looks like a landline number. Please give a mobile number"),
        ("7911 123456", "start with + and the country code"),  # a UK mobile without +44
        ("+44 20 7946 0018", "This looks like a landline number"),
        ("", "Please type your mobile phone number"),
        ("1" * 60, "too long for a phone number"),
    ],
)
def test_invalid_phone_numbers_get_a_clear_re_ask(dialog: Dialog, db_path: Path, typed: str, said: str) -> None:
    screener = make_lead_screener(dialog, db_path)
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    chat.press("Yes, please contact me")
    chat.send(typed)
    assert said in chat.said
    assert chat.question == "contact_phone"
    chat.assert_asked("Please type your mobile phone number")
    assert rows(screener, "SELECT * FROM leads") == []


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("139 1234 5678", "+8613912345678"),
        ("１３９－１２３４－５６７８", "+8613912345678"),
        ("+86 139 1234 5678", "+8613912345678"),
        ("+852 9123 4567", "+85291234567"),
        ("+44 7911 123456", "+447911123456"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_mobile_numbers_at_home_and_abroad_are_accepted(typed: str, e164: str) -> None:
    assert parse_phone(typed) == e164


def test_a_landline_is_refused_because_a_mobile_is_required() -> None:
    assert isinstance(parse_phone("+86 27 8572 6114"), Invalid)


def test_a_shared_contact_from_a_channel_is_the_phone_number(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    chat.press("Yes, please contact me")
    chat.command("contact", "8613912345678")  # Telegram sends international digits without +
    assert chat.question == "contact_name"
    assert screener.leads.find()[0].phone == "+8613912345678"


def test_back_steps_through_contact_capture_and_then_to_the_summary(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    chat.press("Yes, please contact me")
    chat.send("13912345678")
    chat.press("Back")
    assert chat.question == "contact_phone"
    chat.press("Back")
    assert chat.question == "contact_consent"
    chat.press("Back")
    assert chat.reply.prompt.kind == "summary"
    chat.press("These are right: show the result")
    assert chat.question == "contact_consent"


def test_name_can_be_skipped_by_typing_and_must_be_a_name(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    chat.press("Yes, please contact me")
    chat.send("13912345678")
    chat.send("🙂🙂")
    assert "Please type a name, or choose Skip" in chat.said
    chat.send("x" * 61)
    assert "shorter name" in chat.said
    chat.send("skip")
    assert chat.question == "contact_time"
    chat.send("3")
    assert chat.question == "contact_language"
    assert screener.leads.find()[0].call_time == "any"


def test_the_same_person_screening_again_updates_their_lead_as_a_repeat(dialog: Dialog, db_path: Path) -> None:
    events: list[tuple[str, str]] = []
    screener = make_lead_screener(dialog, db_path, on_lead=[lambda lead, event: events.append((lead, event))])
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    give_contact(chat, "13912345678", "Li Na")
    chat.press("Start again")
    reach_outcome(chat, dialog, NOT_SURE_OF_DIAGNOSIS)
    give_contact(chat, "13987654321", None)
    [lead] = screener.leads.find()
    assert lead.repeat_count == 1 and lead.outcome == "needs_review" and lead.phone == "+8613987654321"
    assert "repeat" in [h["change"] for h in screener.leads.get(lead.id).history]
    assert (lead.id, "repeat") in events


def test_the_same_phone_on_another_channel_is_the_same_lead(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    first = start_screening(screener, user="telegram-person")
    reach_outcome(first, dialog)
    give_contact(first, "13912345678", "Li Na")
    second = start_screening(screener, user="web-person")
    reach_outcome(second, dialog)
    give_contact(second, "+86 139 1234 5678", None)
    [lead] = screener.leads.find()
    assert lead.repeat_count == 1
    assert "same phone number" in screener.leads.get(lead.id).history[-1]["note"]


def test_a_lead_screening_again_with_another_outcome_is_kept_current(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    give_contact(chat, "13912345678", None)
    chat.press("Start again")
    reach_outcome(chat, dialog, {"age": "80"})
    [lead] = screener.leads.find()
    assert lead.outcome == "not_eligible" and lead.repeat_count == 1


def test_a_failing_callback_never_breaks_the_screening(dialog: Dialog, db_path: Path) -> None:
    def broken(lead_id: str, event: str) -> None:
        raise RuntimeError("staff chat unreachable")

    screener = make_lead_screener(dialog, db_path, on_lead=[broken])
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    give_contact(chat, "13912345678", None)
    assert "What happens next" in chat.said


def test_commands_still_work_during_contact_capture(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    chat.press("Yes, please contact me")
    chat.command("help")
    assert "back: go to the previous question" in chat.said
    assert chat.question == "contact_phone"
    chat.command("restart")
    assert chat.question == dialog.questions[0].id
    chat.command("contact", "13912345678")  # a stray shared contact mid-screening is not an answer
    assert "I don't know that command" in chat.said
    assert chat.question == dialog.questions[0].id
    assert screener.leads.find() == []


def test_the_terminal_channel_gets_contact_capture_too(tmp_path: Path) -> None:
    from .test_terminal import CANDIDATE, chat

    result = chat(tmp_path / "s.db", [*CANDIDATE, "1", "1", "abc", "139 1234 5678", "skip", "1", "2"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("Would you like the study team to contact you") < out.index("Please type only the digits")
    assert "What happens next" in out
    assert (tmp_path / "s.key").exists()
