"""`screening-bot leads|stats|audit|purge|rotate-key` as staff run them, on a real database with real leads."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.dialog.model import Dialog
from bot.staff import staff_identity
from bot.store import audit

from .conftest import (
    DIALOG_PATH,
    ROOT,
    Screener,
    give_contact,
    key_file_for,
    make_lead_screener,
    reach_outcome,
    start_screening,
)

#: Who runs the commands here, as the operating system says (`os.getuid`, `pwd`): never $USER.
ME = staff_identity()


@pytest.fixture
def staff_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "nurse-li")
    for name in ("SCREENING_KEY", "SCREENING_KEY_FILE", "SCREENING_CONFIG", "SCREENING_DB"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def desk(dialog: Dialog, db_path: Path, staff_env: None) -> Screener:
    """Two leads (one with a Chinese name, one needing review) and one person who did not want contact."""
    screener = make_lead_screener(dialog, db_path)
    first = start_screening(screener, user="a")
    reach_outcome(first, dialog)
    give_contact(first, "13912345678", "张伟")
    second = start_screening(screener, user="b")
    reach_outcome(second, dialog, {"diagnosis_year": "not sure"})
    give_contact(second, "+852 9123 4567", None)
    third = start_screening(screener, user="c")
    reach_outcome(third, dialog)
    third.press("No, thank you")
    return screener


def run(db_path: Path, *args: str) -> int:
    return main(["--db", str(db_path), "--dialog", str(DIALOG_PATH), *args])


def lead_id(desk: Screener, name: str) -> str:
    return next(lead.id for lead in desk.leads.find() if lead.name == name)


def test_leads_list_shows_open_leads_newest_first_and_is_audited(desk: Screener, db_path: Path, capsys) -> None:
    assert run(db_path, "leads", "list", "--staff", "Coordinator Wu") == 0
    out = capsys.readouterr().out
    assert "张伟" in out and "+8613912345678" in out and "+85291234567" in out
    assert out.index("+85291234567") < out.index("+8613912345678")
    assert "2 lead(s)" in out
    entry = audit.entries(desk.store.db)[0]
    assert entry | {"at": "", "id": 0, "chain": ""} == {
        "id": 0,
        "at": "",
        "who": ME,  # the login and uid the system gives: a typed name is only a note
        "action": "list",
        "lead_id": "",
        "detail": 'rows=2 (signed "Coordinator Wu")',
        "leads_seen": " ".join(lead.id for lead in desk.leads.find()),  # which leads were seen, not how many
        "chain": "",
    }


def test_leads_list_filters_by_status_and_date(desk: Screener, db_path: Path, capsys) -> None:
    assert run(db_path, "leads", "list", "--status", "closed") == 0
    assert "No leads match" in capsys.readouterr().out
    assert run(db_path, "leads", "list", "--since", "2999-01-01") == 0
    assert "No leads match" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        run(db_path, "leads", "list", "--since", "yesterday")


def test_leads_show_has_the_whole_lead(desk: Screener, db_path: Path, capsys) -> None:
    lead = next(lead for lead in desk.leads.find() if lead.outcome == "needs_review")
    assert run(db_path, "leads", "show", lead.id) == 0
    out = capsys.readouterr().out
    assert "needs review" in out and "+85291234567" in out and "(not given)" in out
    assert "Answers the study team should check:" in out and "Year lupus was found: not sure" in out
    assert "Age 18 to 70" in out and "unclear" in out
    assert "History:" in out and "created" in out
    assert (audit.entries(desk.store.db)[0]["who"], audit.entries(desk.store.db)[0]["action"]) == (ME, "read")
    assert audit.entries(desk.store.db)[0]["leads_seen"] == lead.id
    assert run(db_path, "leads", "show", "nope") == 1


def test_set_status_keeps_who_when_and_a_note(desk: Screener, db_path: Path, capsys) -> None:
    lid = lead_id(desk, "张伟")
    assert run(db_path, "leads", "set-status", lid, "attempt_1", "--note", "no answer", "--staff", "Nurse Chen") == 0
    assert run(db_path, "leads", "set-status", lid, "closed") == 1
    assert "closing a lead needs a reason" in capsys.readouterr().err
    assert run(db_path, "leads", "set-status", lid, "closed", "--reason", "unreachable") == 0
    history = desk.leads.get(lid).history
    assert [(h["who"], h["status"], h["note"]) for h in history[1:]] == [
        (ME, "attempt_1", "no answer"),
        (ME, "closed", "unreachable"),
    ]
    assert desk.leads.get(lid).close_reason == "unreachable"
    actions = [(e["who"], e["action"], e["detail"]) for e in audit.entries(desk.store.db)][:2]
    assert actions == [
        (ME, "set-status", "status=closed reason=unreachable"),
        (ME, "set-status", 'status=attempt_1 reason= (signed "Nurse Chen")'),
    ]


def test_csv_export_opens_in_excel_with_chinese_intact(desk: Screener, db_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "leads.csv"
    assert run(db_path, "leads", "export", "--format", "csv", "--output", str(out)) == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    by_id = {r["id"]: r for r in rows}
    assert by_id.keys() == {lead.id for lead in desk.leads.find()}
    for lead in desk.leads.find():
        row = by_id[lead.id]
        assert (row["name"], row["phone"], row["status"], row["outcome"]) == (
            lead.name,
            "'" + lead.phone,  # a leading + is a formula to a spreadsheet: marked as text (OWASP)
            lead.status,
            lead.outcome,
        )
        assert row["I2"] == lead.criteria["I2"]
    assert by_id[lead_id(desk, "张伟")]["name"] == "张伟"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert audit.entries(desk.store.db)[0]["detail"] == "format=csv rows=2"


def test_xlsx_and_json_exports_match_the_database(desk: Screener, db_path: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "leads.xlsx"
    assert run(db_path, "leads", "export", "--format", "xlsx", "-o", str(out), "--status", "new") == 0
    sheet = load_workbook(out).active
    header = [c.value for c in sheet[1]]
    values = [dict(zip(header, [c.value for c in row], strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert sorted(v["name"] or "" for v in values) == ["", "张伟"]
    assert run(db_path, "leads", "export", "--format", "xlsx") == 2  # needs a file
    capsys.readouterr()
    assert run(db_path, "leads", "export", "--format", "json") == 0
    exported = json.loads(capsys.readouterr().out)
    assert sorted(r["phone"] for r in exported) == ["+85291234567", "+8613912345678"]


def test_stats_show_the_funnel_and_where_people_stop(desk: Screener, dialog: Dialog, db_path: Path, capsys) -> None:
    start_screening(desk, user="stopped-early").send("1")
    assert run(db_path, "stats") == 0
    out = capsys.readouterr().out
    lines = {" ".join(line.split()[:-1]): line.split()[-1] for line in out.splitlines() if line.strip()}
    assert lines["started (consent notice shown)"] == "4"
    assert lines["consented"] == "4"
    assert lines["finished (reached an outcome)"] == "3"
    assert lines["- likely candidate"] == "2" and lines["- needs review"] == "1"
    assert lines["did not want contact"] == "1" and lines["leads created"] == "2"
    assert dialog.questions[1].label in out
    assert "new 2" in " ".join(out.split())


def test_audit_lists_what_staff_did(desk: Screener, db_path: Path, capsys) -> None:
    run(db_path, "leads", "show", lead_id(desk, "张伟"), "--staff", "Dr Zhou")
    capsys.readouterr()
    assert run(db_path, "audit") == 0
    out = capsys.readouterr().out
    assert ME in out and 'signed "Dr Zhou"' in out and "read" in out and "张伟" not in out


def test_leads_erase_removes_the_person_and_is_audited(desk: Screener, db_path: Path, capsys) -> None:
    lid = lead_id(desk, "张伟")
    assert run(db_path, "leads", "erase", lid, "--yes") == 0
    assert desk.leads.get(lid) is None and len(desk.leads.find()) == 1
    assert (audit.entries(desk.store.db)[0]["action"], audit.entries(desk.store.db)[0]["lead_id"]) == ("erase", lid)


def cli(db_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SCREENING_", "TELEGRAM_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "--db", str(db_path), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**environ, "USER": "nurse-li", **env},
        timeout=60,
    )


def test_the_real_command_purges_rotates_and_refuses_a_wrong_key(desk: Screener, db_path: Path) -> None:
    dry = cli(db_path, "purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "WOULD BE REMOVED" in dry.stdout and "30 days" in dry.stdout and "180 days" in dry.stdout
    rotated = cli(db_path, "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "2 lead(s) re-encrypted" in rotated.stderr
    listed = cli(db_path, "leads", "list")
    assert listed.returncode == 0 and "张伟" in listed.stdout
    wrong = cli(db_path, "leads", "list", SCREENING_KEY="x" * 43 + "=")
    assert wrong.returncode == 2
    assert "does not open the database" in wrong.stderr and "Traceback" not in wrong.stderr


STAFF_COMMANDS = [
    ["leads", "list"],
    ["leads", "show", "L-0001"],
    ["leads", "set-status", "L-0001", "contacted"],
    ["leads", "export"],
    ["leads", "erase", "L-0001", "--yes"],
    ["stats"],
    ["audit"],
    ["purge", "--dry-run"],
    ["rotate-key"],
]


@pytest.mark.parametrize("command", STAFF_COMMANDS, ids=" ".join)
def test_a_mistyped_db_is_refused_and_nothing_is_created(
    command: list[str], tmp_path: Path, staff_env: None, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    typo = tmp_path / "dta" / "screening.db"
    key_file = tmp_path / "keys" / "screening.key"
    monkeypatch.setenv("SCREENING_KEY_FILE", str(key_file))
    assert main(["--db", str(typo), *command]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"error: no database at {typo} (from --db, SCREENING_DB or the default): "
        "check the path; to start a new, empty database there, add --create\n"
    )
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []  # no database, no key, no folder


def test_a_relative_db_is_named_with_the_folder_it_was_looked_for_in(
    tmp_path: Path, staff_env: None, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["stats"]) == 2
    assert f"no database at {tmp_path / 'data' / 'screening.db'} " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_create_starts_a_new_database_on_purpose(tmp_path: Path, staff_env: None, capsys) -> None:
    db = tmp_path / "new" / "screening.db"
    assert main(["leads", "list", "--db", str(db), "--create"]) == 0
    assert "No leads match." in capsys.readouterr().out
    assert db.exists() and key_file_for(db).exists()
    assert main(["leads", "list", "--db", str(db)]) == 0  # from now on it is there


def test_the_real_command_refuses_a_mistyped_db_without_a_traceback(tmp_path: Path) -> None:
    typo = tmp_path / "screning.db"
    done = cli(typo, "leads", "list")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: no database at {typo} ") and "--create" in done.stderr
    assert not typo.exists() and not key_file_for(typo).exists()
