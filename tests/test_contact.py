"""Contact capture after the outcome and the leads it makes, through the real Screener and SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dialog.load import load_dialog
from bot.dialog.model import Dialog
from bot.dialog.rules import Invalid
from bot.screening.contact import CONTACT_CONSENT_VERSION, parse_phone

from .conftest import (
    DIALOG_PATH,
    AsSeen,
    give_contact,
    key_file_for,
    make_lead_screener,
    reach_outcome,
    start_screening,
    stored_bytes,
)

NOT_SURE_OF_DIAGNOSIS = {"diagnosis_year": "not sure"}

#: Where the trial's people live, as its dialog file says (mainland China: numbers without +86 read as Chinese).
REGION = load_dialog(DIALOG_PATH).region


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
    [conv] = rows(screener, "SELECT state, contact_consented_at, outcome FROM conversations")
    assert conv == {"state": "contact_declined", "contact_consented_at": "", "outcome": "likely_candidate"}


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
    assert parse_phone(typed, REGION) == e164


def test_a_landline_is_refused_because_a_mobile_is_required() -> None:
    assert isinstance(parse_phone("+86 27 8572 6114", REGION), Invalid)


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


def test_the_same_phone_in_another_conversation_makes_its_own_lead_linked_as_a_possible_duplicate(
    dialog: Dialog, db_path: Path
) -> None:
    screener = make_lead_screener(dialog, db_path)
    first = start_screening(screener, user="telegram-person")
    reach_outcome(first, dialog)
    give_contact(first, "13912345678", "Li Na")
    second = start_screening(screener, user="web-person")
    reach_outcome(second, dialog, NOT_SURE_OF_DIAGNOSIS)
    give_contact(second, "+86 139 1234 5678", None)
    newer, older = screener.leads.find()
    assert (older.name, older.outcome, older.repeat_count) == ("Li Na", "likely_candidate", 0)  # untouched
    assert (newer.name, newer.outcome) == ("", "needs_review")
    assert older.conversation_id != newer.conversation_id
    assert newer.open_duplicates() == [older.id] and older.open_duplicates() == [newer.id]
    assert f"possible duplicate of {older.id} (same phone number)" in screener.leads.get(newer.id).history[-1]["note"]


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
    assert key_file_for(tmp_path / "s.db").exists() and not (tmp_path / "s.key").exists()


# ---------------------------------------------------------------------- "No, thank you" means it (issue 17)


def raw_bytes(db_path: Path) -> bytes:
    return stored_bytes(db_path)  # decrypted page by page: free pages and old WAL frames included


def back_to_the_contact_question(chat) -> None:
    for _ in range(4):
        if chat.question == "contact_consent":
            return
        chat.press("Back")
    raise AssertionError(f"not back at the contact question: {chat.question}")


def after_going_back(chat, dialog: Dialog) -> None:
    """Phone and name given, then Back, Back, Back."""
    chat.press("Yes, please contact me")
    chat.send("139 7531 8642")
    chat.send("Li Na")
    back_to_the_contact_question(chat)


def after_going_back_to_the_summary(chat, dialog: Dialog) -> None:
    """Phone given, back to the contact question, back to the summary, then the result again."""
    chat.press("Yes, please contact me")
    chat.send("139 7531 8642")
    back_to_the_contact_question(chat)
    chat.press("Back")
    chat.press("These are right: show the result")


def after_starting_again(chat, dialog: Dialog) -> None:
    """The whole contact capture done, then the screening again from the start."""
    give_contact(chat, "139 7531 8642", "Li Na")
    chat.press("Start again")
    reach_outcome(chat, dialog, NOT_SURE_OF_DIAGNOSIS)


def after_changing_an_answer(chat, dialog: Dialog) -> None:
    """The whole contact capture done, then back to the summary and one answer changed."""
    give_contact(chat, "139 7531 8642", "Li Na")
    chat.press("Back")
    assert chat.reply.prompt.kind == "summary"
    question = dialog.question("diagnosis_year")
    chat.press(f"Change: {question.label}")
    chat.send("not sure")
    answer = next(b.label for b in chat.buttons() if b.label.startswith("These are right"))
    chat.press(answer)


@pytest.mark.parametrize(
    "before", [after_going_back, after_going_back_to_the_summary, after_starting_again, after_changing_an_answer]
)
def test_no_to_contact_at_any_point_deletes_every_contact_detail(dialog: Dialog, db_path: Path, before) -> None:
    events: list[tuple[str, str]] = []
    screener = make_lead_screener(dialog, db_path, on_lead=[lambda lead, event: events.append((lead, event))])
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    before(chat, dialog)
    assert chat.question == "contact_consent"
    [lead] = rows(screener, "SELECT * FROM leads")
    stored = [lead[c] for c in ("phone_enc", "phone_hash", "name_enc", "call_time") if lead[c]]
    assert len(stored) >= 2 and all(v.encode() in raw_bytes(db_path) for v in stored[:2])

    chat.press("No, thank you")
    assert "We keep no contact details" in chat.said
    for table in ("leads", "lead_history", "lead_links"):
        assert rows(screener, f"SELECT * FROM {table}") == [], table
    [conv] = rows(screener, "SELECT state, contact_consent_version, contact_consented_at FROM conversations")
    assert conv == {"state": "contact_declined", "contact_consent_version": "", "contact_consented_at": ""}
    data = raw_bytes(db_path)
    assert [v for v in stored if v.encode() in data] == [], "not in the database file or its write-ahead log"
    assert (lead["id"], "withdrawn") in events
    [entry] = [e for e in rows(screener, "SELECT * FROM audit_log") if e["action"] == "withdraw-contact"]
    assert (entry["who"], entry["lead_id"]) == ("person", lead["id"])
    written = {k: v for k, v in entry.items() if k != "chain"}  # the chain is hex: "139" may occur in it by chance
    assert "139" not in str(written) and "Li Na" not in str(written)
    assert screener.leads.find() == []


def test_no_to_contact_on_the_web_deletes_the_lead_made_before(dialog: Dialog, db_path: Path) -> None:
    from .web_driver import WebUser, answer_until, make_app

    app, screener = make_app(dialog, db_path, leads=True)
    user = WebUser(app)
    user.press(dialog.consent.agree)
    answer_until(user, dialog)
    user.press("These are right: show the result")
    user.press("Yes, please contact me")
    user.type("139 7531 8642")
    assert len(screener.leads.find()) == 1
    user.press("Back")
    user.press("Back")
    user.press("No, thank you")
    assert "We keep no contact details" in user.page.text
    assert screener.leads.find() == [] and rows(screener, "SELECT * FROM lead_history") == []


def test_no_to_contact_never_touches_another_persons_lead(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    other = start_screening(screener, user="someone-else")
    reach_outcome(other, dialog)
    give_contact(other, "139 7531 8642", "Wang Fang")
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    after_going_back(chat, dialog)  # the same number: a lead of its own, linked as a possible duplicate
    assert len(screener.leads.find()) == 2
    chat.press("No, thank you")
    [kept] = screener.leads.find()
    assert (kept.name, kept.phone, kept.duplicates) == ("Wang Fang", "+8613975318642", [])


# ---------------------------------------------------------------------- what a name may hold (issue 17)

HIDDEN = {
    "escape": "Li\x1b[2J\x1b[31mNa",
    "right-to-left override": "Li\u202eaN",
    "isolate": "Li \u2066Na\u2069",
    "zero-width space": "Li\u200bNa",
    "zero-width joiner": "Li\u200dNa",
    "byte order mark": "\ufeffLi Na",
    "soft hyphen": "Li\u00adNa",
    "C1 control": "Li\x9bNa",
    "delete": "Li\x7fNa",
    "line separator": "Li\u2028Na",
    "Hangul filler": "Li \u3164",
    "private use": "Li\ue000Na",
    "tag character": "Li\U000e0041Na",
}


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
@pytest.mark.parametrize("typed", list(HIDDEN.values()), ids=list(HIDDEN))
def test_a_name_with_hidden_characters_gets_a_kind_re_ask_and_is_not_kept(
    dialog: Dialog, db_path: Path, typed: str, language: str
) -> None:
    from bot.safe_text import HIDDEN_CHARACTER

    from .conftest import LOCALES

    t = AsSeen(language, LOCALES)
    screener = make_lead_screener(dialog, db_path)
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    chat.command("language", language)
    chat.press(t("Yes, please contact me"))
    chat.send("139 1234 5678")
    chat.send(typed)
    assert t(HIDDEN_CHARACTER) in chat.said
    assert chat.question == "contact_name"
    assert screener.leads.find()[0].name == ""
    chat.send("  Li\tNa  ")
    assert screener.leads.find()[0].name == "Li Na"


def test_names_are_nfc_normalised_and_bounded(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    chat = start_screening(screener)
    reach_outcome(chat, dialog)
    chat.press("Yes, please contact me")
    chat.send("139 1234 5678")
    chat.send("x" * 5000)
    assert "shorter name" in chat.said
    chat.send("Jose\u0301  Li")  # e + combining acute accent
    assert screener.leads.find()[0].name == "Jos\u00e9 Li"


@pytest.mark.parametrize("typed", ["139\u202e1234 5678", "\x1b139 1234 5678", "139\u200b1234 5678"])
def test_a_phone_number_with_hidden_characters_is_refused(typed: str) -> None:
    result = parse_phone(typed, REGION)
    assert isinstance(result, Invalid) and "hidden or special sign" in result.message
