"""Settings: typed and checked once (bot/config.py), from the environment and from a config file alike.

Every setting is in the tables below, so a new one cannot slip in unchecked: each bad
value must stop the program with one line naming the setting by both its names, the
value (never a secret's) and what is expected, exit status 2, and nothing on disk.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import BOOLEAN_WORDS, FALSE_WORDS, SETTINGS, TRUE_WORDS, ConfigError, config_key, load_settings

#: Settings that are free text: any text is fine, but in a config file it must be a string.
TEXT = {
    "site_hospital", "site_department", "site_city", "site_address", "site_investigator",
    "site_phone", "site_email", "site_hours", "site_server_location", "telegram_token",
    "ethics_approved_version",
}  # fmt: skip

#: setting -> (text as in the environment, the typed value the program gets)
GOOD = {
    "db_path": ("/srv/screening/screening.db", Path("/srv/screening/screening.db")),
    "dialog_paths": ("dialogs/other.toml", (Path("dialogs/other.toml"),)),
    "locales_dir": ("/opt/locales", Path("/opt/locales")),
    "language": ("zh_Hans", "zh_Hans"),
    "log_level": ("warning", "WARNING"),
    "telegram_api_base_url": ("http://127.0.0.1:8081/", "http://127.0.0.1:8081"),
    "telegram_webhook_url": ("https://bot.example.org/telegram", "https://bot.example.org/telegram"),
    "telegram_webhook_listen": ("0.0.0.0", "0.0.0.0"),
    "telegram_webhook_port": ("8443", 8443),
    "telegram_reminder_hours": ("1.5", 1.5),
    "telegram_start_seconds": ("300", 300.0),
    "telegram_bot_username": ("@lupus_study_bot", "lupus_study_bot"),
    "site_response_days": ("3", 3),
    "trial_sites": (
        'knee = { site_phone = "+86 28 1", site_response_days = 2 }',
        (("knee", (("site_phone", "+86 28 1"), ("site_response_days", 2))),),
    ),
    "screening_key": ("a" * 43 + "=, " + "b" * 43 + "=", "a" * 43 + "=, " + "b" * 43 + "="),
    "key_file": ("/secure/screening.key", Path("/secure/screening.key")),
    "retain_unfinished_days": ("14", 14),
    "retain_not_eligible_days": ("60", 60),
    "retain_closed_lead_days": ("365", 365),
    "backup_dir": ("/backups/screening", Path("/backups/screening")),
    "backup_keep_days": ("30", 30),
    "public_url": ("https://screening.example.org/", "https://screening.example.org"),
    "web_host": ("0.0.0.0", "0.0.0.0"),
    "web_port": ("8081", 8081),
    "web_secure_cookies": ("auto", None),
    "web_secret": ("s" * 32, "s" * 32),
    "web_rate_limit": ("0", 0),
    "web_address_rate_limit": ("6000", 6000),
    "web_forwarded_allow_ips": ("127.0.0.1, 10.0.0.0/8  ::1", "127.0.0.1 10.0.0.0/8 ::1"),
    "web_workers": ("4", 4),
    "web_logo": ("/srv/screening/logo.svg", Path("/srv/screening/logo.svg")),
    "web_color_primary": ("#1D5E48", "#1d5e48"),
    "web_color_link": ("#05a", "#05a"),
    "web_color_background": ("#f2f6f4", "#f2f6f4"),
    "web_icp_number": ("鄂ICP备12345678号-1", "鄂ICP备12345678号-1"),
    "staff_chat_id": ("-100123", -100123),
    "staff_user_ids": ("1, 22", (1, 22)),
    "staff_notify_contact": ("yes", True),
    "staff_language": ("en", "en"),
    "staff_idle_minutes": ("30", 30),
    "notify_urls": (
        "wecombot://KEY  mailtos://u:p@smtp.example.org?to=a@b.org,c@d.org",
        ("wecombot://KEY", "mailtos://u:p@smtp.example.org?to=a@b.org,c@d.org"),
    ),
} | {name: (" text ", "text") for name in TEXT}

#: setting -> bad values as text (environment, config file) and what the message says is expected
BAD = {
    "language": ("Chinese please", "Chinese please", "language code"),
    "log_level": ("loud", "loud", "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    "telegram_api_base_url": ("api.telegram.org", "api.telegram.org", "https://"),
    "telegram_webhook_url": ("ftp://bot.example.org", "ftp://bot.example.org", "https://"),
    "telegram_webhook_listen": ("http://0.0.0.0", "http://0.0.0.0", "address to listen on"),
    "telegram_webhook_port": ("https", "https", "port number from 1 to 65535"),
    "telegram_reminder_hours": ("one day", "one day", "number of hours from 0 to 720"),
    "telegram_start_seconds": ("-1", "-1", "number of seconds from 0 to 86400"),
    "telegram_bot_username": ("my bot!", "my bot!", "bot username"),
    "site_response_days": ("a few", "a few", "whole number of working days from 1 to 60"),
    "trial_sites": ('knee = { site_phon = "1" }', 'knee = { site_phon = "1" }', "site_phon is not one of site_address"),
    "screening_key": ("not-a-key", "not-a-key", "Fernet keys"),
    "retain_unfinished_days": ("30 days", "30 days", "whole number of days from 1 to 3650"),
    "retain_not_eligible_days": ("-1", "-1", "whole number of days from 1 to 3650"),
    "retain_closed_lead_days": ("1.5", "1.5", "whole number of days from 1 to 3650"),
    "backup_keep_days": ("two weeks", "two weeks", "whole number of days from 1 to 3650"),
    "public_url": ("screening.example.org", "screening.example.org", "https://"),
    "web_host": ("local host", "local host", "address to listen on"),
    "web_port": ("abc", "abc", "port number from 1 to 65535"),
    "web_secure_cookies": ("sometimes", "sometimes", "auto, true or false"),
    "web_secret": ("short", "short", "at least 16 characters"),
    "web_rate_limit": ("lots", "lots", "whole number of posts per minute"),
    "web_address_rate_limit": ("-1", "1e9", "whole number of posts per minute"),
    "web_forwarded_allow_ips": ("nginx", "*", "addresses or networks of your reverse proxies"),
    "web_workers": ("0", "many", "whole number of worker processes from 1 to 64"),
    "web_logo": ("https://example.org/logo.png", "https://example.org/logo.png", "a file on this machine, not a URL"),
    "web_color_primary": ("green", "green", "hex colour"),
    "web_color_link": ("#12345", "#12345", "hex colour"),
    "web_color_background": ("f2f6f4", "f2f6f4", "hex colour"),
    "web_icp_number": ("ICP 12345", "ICP 12345", "ICP filing number"),
    "staff_chat_id": ("@team", "@team", "chat id"),
    "staff_user_ids": ("1;2", "1;2", "user ids"),
    "staff_notify_contact": ("maybe", "maybe", "true or false"),
    "staff_language": ("中文", "中文", "language code"),
    "staff_idle_minutes": ("half an hour", "0", "whole number of minutes from 1 to 720"),
    "notify_urls": ("team@example.org", "wecombot:KEY", "notification addresses"),
}
#: The same, as the wrong type of TOML value (a number where text is meant, text where a number is ...).
BAD_TOML: dict[str, Any] = {
    name: 12 for name in (*TEXT, "db_path", "dialog_paths", "locales_dir", "key_file", "backup_dir")
} | {
    "backup_keep_days": 0,
    "language": 1,
    "log_level": 20,
    "telegram_api_base_url": 1,
    "telegram_webhook_url": True,
    "telegram_webhook_listen": 0,
    "telegram_webhook_port": 70000,
    "telegram_reminder_hours": True,
    "telegram_start_seconds": "a minute",
    "telegram_bot_username": 1,
    "site_response_days": 0,
    "trial_sites": 12,
    "screening_key": 1,
    "retain_unfinished_days": 0,
    "retain_not_eligible_days": 3.5,
    "retain_closed_lead_days": "",  # empty text is "not set": the default, not an error
    "public_url": 1,
    "web_host": 1,
    "web_port": 80.5,
    "web_secure_cookies": 2,
    "web_secret": 1,
    "web_rate_limit": -1,
    "web_address_rate_limit": "a lot",
    "web_forwarded_allow_ips": ["127.0.0.1"],
    "web_workers": 0,
    "web_logo": 1,
    "web_color_primary": 2,
    "web_color_link": True,
    "web_color_background": ["#fff"],
    "web_icp_number": 12345678,
    "staff_chat_id": 1.5,
    "staff_user_ids": [1, "two"],
    "staff_notify_contact": "maybe",
    "staff_language": ["en"],
    "staff_idle_minutes": 0,
    "notify_urls": 12,
}
BAD_TOML.pop("retain_closed_lead_days")
SECRETS = {name for name, f in SETTINGS.items() if f.metadata["secret"]}


def env_name(name: str) -> str:
    return SETTINGS[name].metadata["env"]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def write_config(tmp_path: Path, **values: Any) -> Path:
    path = tmp_path / "screening.toml"
    path.write_text("".join(f"{key} = {toml_value(v)}\n" for key, v in values.items()), encoding="utf-8")
    return path


def test_every_setting_is_in_these_tables() -> None:
    assert set(GOOD) == set(SETTINGS)
    assert set(BAD_TOML) | {"retain_closed_lead_days"} == set(SETTINGS)
    assert set(BAD) == set(SETTINGS) - TEXT - {"db_path", "dialog_paths", "locales_dir", "key_file", "backup_dir"}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_each_setting_is_typed_from_the_environment_and_from_a_config_file(name: str, tmp_path: Path) -> None:
    text, typed = GOOD[name]
    assert getattr(load_settings(environ={env_name(name): text}), name) == typed
    config = write_config(tmp_path, **{config_key(name): text})
    assert getattr(load_settings(config, environ={}), name) == typed


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_value_in_the_environment_names_the_setting_the_value_and_what_is_expected(name: str) -> None:
    bad, _in_file, expected = BAD[name]
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={env_name(name): bad})
    message = str(caught.value)
    assert f"{env_name(name)} (config file: {config_key(name)}) must be" in message
    assert expected in message
    if name in SECRETS:
        assert bad not in message and "not shown: it is a secret" in message
    else:
        assert repr(bad) in message


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_value_in_a_config_file_names_the_file_the_key_and_what_is_expected(name: str, tmp_path: Path) -> None:
    _env, bad, expected = BAD[name]
    config = write_config(tmp_path, **{config_key(name): bad})
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    message = str(caught.value)
    assert message.startswith(f"{config}: {config_key(name)} (environment: {env_name(name)}) must be")
    assert expected in message
    assert (bad not in message) if name in SECRETS else (repr(bad) in message)


@pytest.mark.parametrize("name", sorted(BAD_TOML))
def test_a_toml_value_of_the_wrong_type_is_refused(name: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, **{config_key(name): BAD_TOML[name]})
    with pytest.raises(ConfigError, match=rf"{config_key(name)} \(environment: {env_name(name)}\) must be"):
        load_settings(config, environ={})


def test_toml_numbers_true_false_and_lists_are_read_as_they_are(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        web_port=8081,
        retain_unfinished_days=14,
        telegram_reminder_hours=12,
        staff_notify_contact=True,
        web_secure_cookies=False,
        staff_user_ids=[1, 22],
        staff_chat_id=-100123,
        site_response_days=3,
    )
    settings = load_settings(config, environ={})
    assert (settings.web_port, settings.retain_unfinished_days, settings.telegram_reminder_hours) == (8081, 14, 12.0)
    assert (settings.staff_notify_contact, settings.web_secure_cookies) == (True, False)
    assert (settings.staff_user_ids, settings.staff_chat_id, settings.site_response_days) == ((1, 22), -100123, 3)
    assert settings.site_overrides() == {"response_days": "3"}


BOOLEANS = [name for name, f in SETTINGS.items() if f.type in ("bool", "bool | None")]


def test_every_true_false_setting_takes_the_same_words(tmp_path: Path) -> None:
    assert BOOLEANS == ["web_secure_cookies", "staff_notify_contact"]
    for name in BOOLEANS:
        for words, meaning in ((TRUE_WORDS, True), (FALSE_WORDS, False)):
            for word in words:
                for spelling in (word, word.upper(), word.capitalize(), f" {word} "):
                    assert getattr(load_settings(environ={env_name(name): spelling}), name) is meaning
    assert load_settings(environ={"WEB_SECURE_COOKIES": "AUTO"}).web_secure_cookies is None
    assert load_settings(write_config(tmp_path, staff_notify_contact=1), environ={}).staff_notify_contact is True
    with pytest.raises(ConfigError, match="STAFF_NOTIFY_CONTACT"):
        load_settings(environ={"STAFF_NOTIFY_CONTACT": "auto"})  # only where a setting allows it
    assert "1/0, yes/no, on/off" in BOOLEAN_WORDS


def test_the_environment_wins_over_the_config_file_and_blank_means_unset(tmp_path: Path) -> None:
    config = write_config(tmp_path, web_port=8081, web_host="0.0.0.0")
    settings = load_settings(config, environ={"WEB_PORT": "9000", "WEB_HOST": ""})
    assert (settings.web_port, settings.web_host) == (9000, "0.0.0.0")
    assert load_settings(environ={"WEB_PORT": "  "}).web_port == 8080


def test_unknown_and_misspelt_config_keys_are_refused_with_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "screening.toml"
    path.write_text('db = "x.db"\nWEB_PORT = 8081\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert "unknown setting(s) WEB_PORT (write it in lower case: web_port)" in message
    assert "screening_db" in message and "telegram_bot_token" in message
    path.write_text('db = "x.db"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) db; the keys are the environment variables in lower"):
        load_settings(path, environ={})


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in {f.metadata["env"] for f in SETTINGS.values()}}
    environ.pop("SCREENING_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**environ, **env},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "env", "config", "named"),
    [
        (["web"], {"WEB_PORT": "abc"}, "", "WEB_PORT (config file: web_port) must be a port number"),
        (["run"], {"TELEGRAM_REMINDER_HOURS": "one day"}, "", "TELEGRAM_REMINDER_HOURS (config file:"),
        (["chat"], {}, "staff_notify_contact = 'maybe'\n", "staff_notify_contact (environment: STAFF_NOTIFY_CONTACT)"),
        (["leads", "list"], {"RETAIN_UNFINISHED_DAYS": "a month"}, "", "RETAIN_UNFINISHED_DAYS (config file:"),
    ],
)
def test_the_real_command_stops_with_one_line_exit_2_and_nothing_on_disk(
    args: list[str], env: dict[str, str], config: str, named: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    db = tmp_path / "data" / "screening.db"
    if config:
        (tmp_path / "screening.toml").write_text(config, encoding="utf-8")
        env = {**env, "SCREENING_CONFIG": str(tmp_path / "screening.toml")}
    done = cli(*args, env={**env, "SCREENING_DB": str(db)}, cwd=work)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ") and named in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not db.parent.exists() and list(work.iterdir()) == []


@pytest.mark.parametrize("name", sorted(BAD))
def test_every_bad_setting_stops_every_command_before_it_touches_the_disk(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(env_name(name), BAD[name][0])
    db = tmp_path / "new" / "screening.db"
    assert main(["--db", str(db), "run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and env_name(name) in err
    assert not db.parent.exists()
