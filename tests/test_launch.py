"""`screening-bot check-launch`: what a site must confirm before going live, and the dialog file's marks it reads."""

from __future__ import annotations

import copy
import io
import os
import re
import shutil
import stat
import tomllib
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.cli import main
from bot.config import Settings
from bot.dialog.load import DialogError, load_dialog, parse_dialog
from bot.dialog.model import Dialog
from bot.store.backup import backup_name
from bot.store.dialog_versions import DialogVersions
from bot.store.vault import open_protected

from .conftest import DIALOG_PATH, LOCALES

#: What a fresh checkout leaves open, by topic (each must be listed, with how to close it).
DEFAULT_OPEN = {
    "Ethics approval",
    "Site server_location",
    "[study] ethics_committee",
    "[study] ethics committee contact",
    "[[to_confirm]] safety.lines.mental_health_hotline",
    "[[to_confirm]] consents.cross_border",
    "[[to_confirm]] study.official_title",
    "Traditional Chinese terms",
    "Site phone",
    "Site email",
    "Site hours",
    "Site response_days",
    "Staff notification",
    "Staff members",
    "Web address",
    "Encryption key",
}


@pytest.fixture(autouse=True)
def no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets counts: no setting of the machine running the tests leaks in."""
    for f in fields(Settings):
        monkeypatch.delenv(f.metadata.get("env", ""), raising=False)
    monkeypatch.delenv("SCREENING_CONFIG", raising=False)


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, dict[str, str]]:
    """Run check-launch; (exit status, output, {topic: "OPEN"/"OK"})."""
    code = main([*argv, "check-launch"])
    out = capsys.readouterr().out
    topics: dict[str, str] = {}
    for line in out.splitlines():
        match = re.match(r"^(OPEN|OK)\s+(.+?): ", line)  # topics hold no ": "
        if match:
            topics.setdefault(match.group(2), match.group(1))
    return code, out, topics


def test_a_default_configuration_is_not_ready_and_says_what_to_do(tmp_path: Path, capsys) -> None:
    code, out, topics = check(capsys, "--db", str(tmp_path / "data" / "screening.db"))
    assert code == 1
    assert out.startswith("Not ready to go live:")
    opened = {topic for topic, state in topics.items() if state == "OPEN"}
    assert opened >= DEFAULT_OPEN, DEFAULT_OPEN - opened
    assert topics["Recruiting"] == "OK"
    assert out.count("OPEN  ") == out.count("      To close: ")
    assert "Traceback" not in out
    assert not (tmp_path / "data").exists()  # only reads: no database, no key made


def fully_configured(tmp_path: Path) -> list[str]:
    """A deployment with every fact confirmed: the dialog, the catalogs, the key and the settings."""
    text = DIALOG_PATH.read_text(encoding="utf-8")
    text = re.sub(r"\n\[\[to_confirm\]\]\npart = [^\n]*\nwhat = [^\n]*\n", "\n", text)
    text = text.replace(
        'ethics_committee = { en = "", zh = "" }',
        'ethics_committee = { en = "Ethics Committee of Union Hospital", zh = "协和医院伦理委员会" }',
    )
    text = text.replace('ethics_committee_phone = ""', 'ethics_committee_phone = "+86 27 0000 0000"')
    assert "[[to_confirm]]" not in text
    dialog = tmp_path / "dialog.toml"
    dialog.write_text(text, encoding="utf-8")
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES, locales)
    overrides = locales / "zh_Hant" / "overrides.toml"
    overrides.write_text(overrides.read_text(encoding="utf-8").split("[to_confirm]")[0], encoding="utf-8")
    key = tmp_path / "secrets" / "screening.key"
    key.parent.mkdir()
    key.write_text(Fernet.generate_key().decode() + "\n", encoding="ascii")
    key.chmod(0o600)
    version = tomllib.loads(text)["dialog"]["version"]
    backups = tmp_path / "backups"  # a backup from this morning (check-launch only looks at its name)
    backups.mkdir()
    (backups / backup_name(Path("screening.db"), datetime.now(UTC) - timedelta(hours=3))).write_bytes(b"")
    config = tmp_path / "screening.toml"
    config.write_text(
        "\n".join(
            [
                'site_phone = "+86 27 8572 6114"',
                'site_email = "study@example.org"',
                'site_hours = "Mon-Fri 9:00-17:00"',
                'site_response_days = "3"',
                'site_server_location = "Wuhan, China (Union Hospital data centre)"',
                'telegram_bot_token = "123456:ABCdefGhIJKlmnoPQRstuVWXyz123456789"',
                'staff_chat_id = "-1001234567890"',
                'staff_user_ids = "11111, 22222"',
                'web_public_url = "https://screening.example.org"',
                f'ethics_approved_version = "{version}"',
                f'screening_key_file = "{key}"',
                f'screening_backup_dir = "{backups}"',
                f'screening_locales = "{locales}"',
            ]
        ),
        encoding="utf-8",
    )
    return ["--config", str(config), "--dialog", str(dialog), "--db", str(tmp_path / "data" / "screening.db")]


def test_a_fully_configured_deployment_passes(tmp_path: Path, capsys) -> None:
    code, out, topics = check(capsys, *fully_configured(tmp_path))
    assert code == 0, out
    assert out.startswith("Ready to go live: all")
    assert "OPEN" not in out
    assert {"Ethics approval", "Site phone", "Staff notification", "Web address", "Encryption key"} <= set(topics)


@pytest.mark.parametrize(
    ("change", "topic", "words"),
    [
        (("site_phone = ", "# "), "Site phone", "SITE_PHONE is not set"),
        (('public_url = "https://', 'public_url = "http://'), "Web address", "not https"),
        (("staff_user_ids = ", "staff_notify_contact = \"1\"\nstaff_user_ids = "), "Phone numbers in staff posts",
         "outside mainland China"),
        (("telegram_bot_token = ", "# "), "Staff notification", "TELEGRAM_BOT_TOKEN is not"),
        (("ethics_approved_version = \"", "ethics_approved_version = \"0."), "Ethics approval", "--diff 0."),
    ],
)  # fmt: skip
def test_each_setting_that_is_not_ready_is_named_with_how_to_close_it(
    tmp_path: Path, capsys, change: tuple[str, str], topic: str, words: str
) -> None:
    argv = fully_configured(tmp_path)
    config = Path(argv[1])
    config.write_text(config.read_text(encoding="utf-8").replace(*change), encoding="utf-8")
    code, out, topics = check(capsys, *argv)
    assert code == 1
    assert topics[topic] == "OPEN", out
    assert words in out
    assert [t for t, state in topics.items() if state == "OPEN"] == [topic]


def test_a_key_others_can_read_or_kept_beside_the_database_is_open(tmp_path: Path, capsys) -> None:
    argv = fully_configured(tmp_path)
    key = tmp_path / "secrets" / "screening.key"
    key.chmod(0o644)
    code, out, _ = check(capsys, *argv)
    assert code == 1 and f"chmod 600 {key}" in out
    key.chmod(0o600)
    beside = tmp_path / "data" / "screening.key"
    beside.parent.mkdir()
    shutil.copy(key, beside)
    beside.chmod(0o600)
    config = Path(argv[1])
    config.write_text(config.read_text(encoding="utf-8").replace(str(key), str(beside)), encoding="utf-8")
    code, out, _ = check(capsys, *argv)
    assert code == 1 and "same folder as the database" in out
    assert stat.S_IMODE(beside.stat().st_mode) == 0o600


def test_a_dialog_that_stopped_recruiting_or_marks_something_to_confirm_is_open(tmp_path: Path, capsys) -> None:
    argv = fully_configured(tmp_path)
    dialog = Path(argv[argv.index("--dialog") + 1])
    text = dialog.read_text(encoding="utf-8").replace("recruiting = true", "recruiting = false")
    text += '\n[[to_confirm]]\npart = "questions.travel"\nwhat = { en = "The visit plan.", zh = "访视安排。" }\n'
    dialog.write_text(text, encoding="utf-8")
    code, out, topics = check(capsys, *argv)
    assert code == 1
    assert topics["Recruiting"] == "OPEN" and topics["[[to_confirm]] questions.travel"] == "OPEN"
    assert "The visit plan." in out


def test_a_broken_dialog_file_is_an_open_item_not_a_traceback(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "d.toml"
    broken.write_text("[dialog\n", encoding="utf-8")
    code, out, topics = check(capsys, "--dialog", str(broken), "--db", str(tmp_path / "s.db"))
    assert code == 1 and topics == {"Dialog file": "OPEN"} and "not valid TOML" in out


def test_a_usage_error_exits_2(capsys) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["check-launch", "--no-such-option"])
    assert ended.value.code == 2


def test_the_shipped_overrides_mark_only_terms_they_have() -> None:
    data = tomllib.loads((LOCALES / "zh_Hant" / "overrides.toml").read_text(encoding="utf-8"))
    for table in ("terms", "messages"):
        assert set(data["to_confirm"].get(table, [])) <= set(data[table])


# ---------------------------------------------------------------- the marks in the dialog file


@pytest.fixture
def data() -> dict[str, Any]:
    return tomllib.loads(DIALOG_PATH.read_text(encoding="utf-8"))


def refused(data: dict[str, Any], *words: str) -> str:
    with pytest.raises(DialogError) as caught:
        parse_dialog(data, source="dialogs/test.toml")
    message = str(caught.value)
    for word in words:
        assert word in message, message
    return message


def test_the_shipped_dialog_names_the_study_and_what_to_confirm(dialog: Dialog) -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", dialog.study.version_date)
    assert dialog.study.official_title.zh and dialog.study.sponsor.zh
    parts = {item.part for item in dialog.to_confirm}
    wanted = {
        "safety.lines.mental_health_hotline",
        "study.official_title",
        "questions.b_cell_drugs.options.anifrolumab",
    }
    assert wanted <= parts
    assert all(item.what.en and item.what.zh for item in dialog.to_confirm)


@pytest.mark.parametrize(
    "part", ["safety.text", "questions.age", "questions.travel.options.no", "study.sponsor", "criteria.E2"]
)
def test_a_part_to_confirm_may_be_any_place_in_the_file(data: dict[str, Any], part: str) -> None:
    data["to_confirm"] = [{"part": part, "what": {"en": "Check it.", "zh": "请核实。"}}]
    assert parse_dialog(data).to_confirm[0].part == part


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({"part": "safety.txt", "what": {"en": "x", "zh": "x"}}, ["[[to_confirm]] #1", "'safety.txt'", "not in this"]),
        ({"part": "questions.travel.options.maybe", "what": {"en": "x", "zh": "x"}}, ["'questions.travel.options"]),
        ({"part": "safety.text", "what": "only English"}, ["both languages", 'what = { en = "...", zh = "..." }']),
        ({"part": "safety.text", "what": {"en": "x", "zh": ""}}, ["'zh' must be a non-empty text"]),
        ({"part": "safety.text"}, ["missing required key(s): what"]),
    ],
)
def test_a_bad_item_to_confirm_is_refused_with_where_and_why(
    data: dict[str, Any], item: dict[str, Any], words: list[str]
) -> None:
    data["to_confirm"] = [item]
    refused(data, *words)


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("sponsor", "Union Hospital", ["[study] sponsor", "both languages"]),
        ("version_date", "30/11/2026", ["[study] version_date", "like 2026-11-30"]),
        ("sponsor_zh", "协和", ["unknown key(s) sponsor_zh"]),
        ("ethics_committee", {"en": "EC", "cn": "伦理"}, ["[study] ethics_committee", "missing required key(s): zh"]),
    ],
)
def test_a_bad_study_fact_is_refused_with_where_and_why(
    data: dict[str, Any], key: str, value: Any, words: list[str]
) -> None:
    data["study"] = copy.deepcopy(data["study"]) | {key: value}
    refused(data, *words)


def test_study_facts_may_be_left_out_entirely(data: dict[str, Any]) -> None:
    del data["study"], data["to_confirm"]
    dialog = parse_dialog(data)
    assert dialog.study.version_date == "" and dialog.to_confirm == ()


def test_check_launch_runs_from_any_folder(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = fully_configured(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, _ = check(capsys, *argv)
    assert code == 0, out
    assert os.getcwd() == str(tmp_path)


def test_a_database_that_ran_other_words_under_this_version_is_open(tmp_path: Path, capsys) -> None:
    argv = fully_configured(tmp_path)
    dialog_path = Path(argv[argv.index("--dialog") + 1])
    db_path = Path(argv[argv.index("--db") + 1])
    db, _vault = open_protected(db_path, "", tmp_path / "secrets" / "screening.key")  # as the bot makes it
    DialogVersions(db).check_and_record(load_dialog(dialog_path))
    code, out, topics = check(capsys, *argv)
    assert code == 0 and topics["Database"] == "OK", out
    assert "encrypted (SQLCipher)" in out
    text = dialog_path.read_text(encoding="utf-8")
    dialog_path.write_text(text.replace("How old are you?", "What is your age?"), encoding="utf-8")
    code, out, topics = check(capsys, *argv)
    assert code == 1 and topics["Database"] == "OPEN" and "Bump [dialog] version" in out
    db_path.chmod(0o644)
    dialog_path.write_text(text, encoding="utf-8")
    code, out, topics = check(capsys, *argv)
    assert code == 1 and f"chmod 600 {db_path}" in out


def test_a_site_in_china_is_ready_with_notifications_and_console_accounts_instead_of_telegram(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Telegram at all: NOTIFY_URLS tells the team, a coordinator's console account reads the leads."""
    argv = fully_configured(tmp_path)
    config = Path(argv[1])
    text = config.read_text(encoding="utf-8")
    for line in ('telegram_bot_token = "123456:ABCdefGhIJKlmnoPQRstuVWXyz123456789"',
                 'staff_chat_id = "-1001234567890"', 'staff_user_ids = "11111, 22222"'):  # fmt: skip
        text = text.replace(line, "")
    config.write_text(text, encoding="utf-8")
    code, out, topics = check(capsys, *argv)
    assert topics["Staff notification"] == "OPEN" and "Neither NOTIFY_URLS nor STAFF_CHAT_ID is set" in out
    assert topics["Staff members"] == "OPEN" and "screening-bot staff add NAME --role coordinator" in out
    config.write_text(text + '\nnotify_urls = ["wecombot://KEY"]\n', encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("quit\n"))
    assert main([*argv, "chat"]) == 0  # the database, as the bot makes it at its first start
    assert main([*argv, "staff", "add", "li.na", "--role", "coordinator"]) == 0
    capsys.readouterr()
    code, out, topics = check(capsys, *argv)
    assert code == 0, out
    assert "new leads are announced to 1 address(es) in NOTIFY_URLS" in out
    assert "1 coordinator account(s) in the staff console" in out
