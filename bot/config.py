"""Every setting in one place: defaults, then a TOML config file, then the environment.

Each setting has one environment variable (listed in the README); its key in a config
file (`--config` or `SCREENING_CONFIG`) is that variable in lower case, e.g.
`site_phone = "+86 27 ..."` for SITE_PHONE. Every value is read and checked here, once,
before the program touches the disk or the network: the rest of the code gets whole
numbers, true/false, paths and lists, never text to parse. A bad value stops the
program with one line naming the setting (both names), the value (never a secret's)
and what is expected.

Long on purpose: every setting, typed and checked, in one table: one obvious place for
each fact.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol

PACKAGE_DIR = Path(__file__).resolve().parent


def shipped(folder: str) -> Path:
    """A data folder that ships with the bot (`dialogs` or `locales`), however it was installed.

    In a checkout and in an editable install they are the folders at the top of the
    repository, beside `bot/`; an installed wheel carries them inside the package as
    `bot/shipped/<folder>` (pyproject.toml maps one to the other). Never the working
    directory: the bot runs the same from any folder.
    """
    inside = PACKAGE_DIR / "shipped" / folder
    return inside if inside.is_dir() else PACKAGE_DIR.parent / folder


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


class Invalid(ValueError):
    """A value a kind of setting cannot take; the message says what it expects."""


# ---------------------------------------------------------------------- kinds of setting
#
# A kind reads a value as it comes: text from the environment or a flag, or a TOML value
# from a config file (which may already be a number, true/false or a list).

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
BOOLEAN_WORDS = "true or false (also 1/0, yes/no, on/off)"


def _text_of(raw: Any) -> str:
    if not isinstance(raw, str):
        raise Invalid("text (in a config file: in quotes)")
    return raw.strip()


def text(raw: Any) -> str:
    return _text_of(raw)


def boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = raw.strip().casefold() if isinstance(raw, str) else str(raw) if raw in (0, 1) else None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Invalid(BOOLEAN_WORDS)


def boolean_or_auto(raw: Any) -> bool | None:
    """True, False, or None for `auto` (the program decides)."""
    if isinstance(raw, str) and raw.strip().casefold() == "auto":
        return None
    try:
        return boolean(raw)
    except Invalid:
        raise Invalid("auto, true or false (also 1/0, yes/no, on/off)") from None


def whole_number(low: int, high: int, unit: str = "", expected: str = "") -> Callable[[Any], int]:
    expected = expected or f"a whole number{' of ' + unit if unit else ''} from {low} to {high}"

    def parse(raw: Any) -> int:
        if isinstance(raw, str) and re.fullmatch(r"[+-]?\d+", raw.strip()):
            raw = int(raw.strip())
        if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
            raise Invalid(expected)
        return raw

    return parse


def number(low: float, high: float, unit: str) -> Callable[[Any], float]:
    expected = f"a number of {unit} from {low:g} to {high:g} (such as 24 or 1.5)"

    def parse(raw: Any) -> float:
        if isinstance(raw, str):
            try:
                raw = float(raw.strip())
            except ValueError:
                raise Invalid(expected) from None
        if not isinstance(raw, int | float) or isinstance(raw, bool) or not math.isfinite(raw):
            raise Invalid(expected)
        if not low <= raw <= high:
            raise Invalid(expected)
        return float(raw)

    return parse


port = whole_number(1, 65535, expected="a port number from 1 to 65535")
#: Retention periods; ten years is far beyond anything an ethics committee approves.
days = whole_number(1, 3650, "days")


def optional(kind: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The same kind, where an empty value means 'not set' (None)."""

    def parse(raw: Any) -> Any:
        return None if isinstance(raw, str) and not raw.strip() else kind(raw)

    return parse


def path(raw: Any) -> Path:
    value = _text_of(raw)
    if not value:
        raise Invalid("a file or folder path")
    return Path(value).expanduser()


def dialog_files(raw: Any) -> tuple[Path, ...]:
    """One or more dialog files or folders (each trial the deployment runs; the first is the default):
    separated by commas, in a config file also a list. A folder stands for every .toml file in it."""
    expected = "dialog files or folders, separated by commas (in a config file also a list)"
    parts = raw if isinstance(raw, list) else raw.split(",") if isinstance(raw, str) else None
    if parts is None or not all(isinstance(part, str) for part in parts):
        raise Invalid(expected)
    paths = tuple(Path(part.strip()).expanduser() for part in parts if part.strip())
    if not paths:
        raise Invalid(expected)
    return paths


def host(raw: Any) -> str:
    value = _text_of(raw)
    if not value or any(ch.isspace() or ch == "/" for ch in value):
        raise Invalid("an address to listen on, such as 127.0.0.1 or 0.0.0.0")
    return value


def url(raw: Any) -> str:
    """An http(s) address with a host; kept without a trailing slash (paths are appended to it)."""
    value = _text_of(raw)
    if value and not re.fullmatch(r"https?://[^/\s?#]+(/\S*)?", value):
        raise Invalid("an address starting with https:// (or http://)")
    return value.rstrip("/")


def chat_id(raw: Any) -> int | None:
    if isinstance(raw, str) and not raw.strip():
        return None
    if isinstance(raw, str) and re.fullmatch(r"-?\d+", raw.strip()):
        raw = int(raw.strip())
    if not isinstance(raw, int) or isinstance(raw, bool) or raw == 0:
        raise Invalid("a Telegram chat id (a number; a group's starts with -)")
    return raw


def user_ids(raw: Any) -> tuple[int, ...]:
    expected = "Telegram user ids (numbers) separated by commas"
    if isinstance(raw, list):
        parts = raw
    elif isinstance(raw, str):
        parts = [part.strip() for part in raw.split(",") if part.strip()]
    else:
        raise Invalid(expected)
    ids = []
    for part in parts:
        if isinstance(part, str) and part.isascii() and part.isdigit():
            part = int(part)
        if not isinstance(part, int) or isinstance(part, bool) or part < 1:
            raise Invalid(expected)
        ids.append(part)
    return tuple(ids)


def language_code(raw: Any) -> str:
    """A language code as clients send them (en, zh, zh-Hans, zh_TW ...); `Settings.languages` checks it ships."""
    value = _text_of(raw)
    if value and not re.fullmatch(r"[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*", value):
        raise Invalid("a language code such as en, zh_Hans or zh_Hant")
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def logging_level(raw: Any) -> str:
    value = _text_of(raw).upper()
    if value not in LOG_LEVELS:
        raise Invalid(", ".join(LOG_LEVELS[:-1]) + " or " + LOG_LEVELS[-1])
    return value


def bot_username(raw: Any) -> str:
    value = _text_of(raw).lstrip("@")
    if value and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", value):
        raise Invalid("a Telegram bot username such as lupus_study_bot (letters, digits and _)")
    return value


def fernet_keys(raw: Any) -> str:
    """One or more Fernet keys (comma-separated, newest first); only their form is checked here."""
    value = _text_of(raw)
    for key in (k.strip() for k in value.replace(",", "\n").splitlines()):
        if not key:
            continue
        try:
            ok = len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
        except (binascii.Error, UnicodeEncodeError, ValueError):
            ok = False
        if not ok:
            raise Invalid("Fernet keys (44 characters of url-safe base64 each), separated by commas")
    return value


def long_secret(raw: Any) -> str:
    value = _text_of(raw)
    if value and len(value) < 16:
        raise Invalid("a random secret of at least 16 characters")
    return value


def local_file(raw: Any) -> Path:
    """A file on this machine, never an address: what the web chat shows must come from its own server."""
    value = _text_of(raw)
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", value):
        raise Invalid("a file on this machine, not a URL (download it and give its path)")
    return path(value)


def hex_color(raw: Any) -> str:
    """A colour as #rrggbb (or #rgb), lower case; the web chat checks the palette's contrast (branding.py)."""
    value = _text_of(raw)
    if value and not re.fullmatch(r"#(?:[0-9a-fA-F]{3}){1,2}", value):
        raise Invalid("a hex colour such as #24476b")
    return value.lower()


def icp_number(raw: Any) -> str:
    """The ICP filing number as the MIIT issues it (鄂ICP备12345678号, or with -1 for one site of several)."""
    value = _text_of(raw)
    if value and not re.fullmatch(r"[\u4e00-\u9fff]{1,4}ICP[备備证證]\d{4,12}[号號](?:-\d{1,3})?", value):
        raise Invalid("the ICP filing number as issued, such as 鄂ICP备12345678号 or 鄂ICP备12345678号-1")
    return value


def proxy_addresses(raw: Any) -> str:
    """Addresses or networks of reverse proxies (127.0.0.1, 10.0.0.0/8, ::1), separated by commas or spaces."""
    import ipaddress

    value = _text_of(raw)
    for part in value.replace(",", " ").split():
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise Invalid(
                "addresses or networks of your reverse proxies, separated by commas, such as 127.0.0.1 or 10.0.0.0/8"
            ) from None
    return " ".join(value.replace(",", " ").split())


def notification_urls(raw: Any) -> tuple[str, ...]:
    """apprise URLs (mailtos://, wecombot://, dingtalk://, feishu://, tgram:// ...): separated by spaces or
    new lines (a URL may hold commas), in a config file also a list. bot/notify checks each one at start."""
    expected = (
        "notification addresses separated by spaces, such as "
        "mailtos://user:password@smtp.example.org?to=you@example.org wecombot://KEY"
    )
    if isinstance(raw, list):
        parts = raw
    elif isinstance(raw, str):
        parts = raw.split()
    else:
        raise Invalid(expected)
    urls = []
    for part in parts:
        if not isinstance(part, str) or not re.fullmatch(r"[a-z][a-z0-9+.-]*://\S+", part.strip()):
            raise Invalid(expected)
        urls.append(part.strip())
    return tuple(urls)


SiteTable = tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]


def trial_sites(raw: Any) -> SiteTable:
    """Each trial's own site details, for trials run by different teams: in a config file one table per
    trial, `[trial_sites.<dialog id>]` with site_* keys; in the environment the same written as TOML
    (`knee_oa = { site_phone = "+86 28 ..." }`). Each value is checked as its SITE_* setting is; whether
    each dialog id names a configured trial is checked once the dialog files are read (compose.py)."""
    expected = 'one table of site_* settings per trial, e.g. [trial_sites.knee_oa] site_phone = "+86 28 ..."'
    if isinstance(raw, str):
        try:
            raw = tomllib.loads(raw)
        except tomllib.TOMLDecodeError:
            raise Invalid(expected) from None
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise Invalid(expected)
    site_keys = {config_key(name): name for name in SETTINGS if name.startswith("site_")}
    table = []
    for trial, values in raw.items():
        unknown = sorted(set(values) - set(site_keys))
        if unknown:
            raise Invalid(f"{expected} ({trial}: {', '.join(unknown)} is not one of {', '.join(sorted(site_keys))})")
        checked = []
        for key, value in values.items():
            if isinstance(value, str) and not value.strip():
                continue  # empty means not set
            try:
                checked.append((site_keys[key], SETTINGS[site_keys[key]].metadata["kind"](value)))
            except Invalid as exc:
                raise Invalid(f"{expected} ({trial}: {key} must be {exc})") from None
        table.append((trial, tuple(checked)))
    return tuple(table)


# ---------------------------------------------------------------------- the settings


def env(name: str, kind: Callable[[Any], Any], *, secret: bool = False) -> dict[str, Any]:
    """A setting's field metadata: its environment variable (the config-file key is the same in lower case),
    its kind, and whether it is a secret (never shown, never logged)."""
    return {"env": name, "kind": kind, "secret": secret}


@dataclass(frozen=True)
class Settings:
    db_path: Path = field(default=Path("data/screening.db"), metadata=env("SCREENING_DB", path))
    #: Every trial run on this database, the default first (a folder: each .toml in it, by name): `dialog_files`.
    dialog_paths: tuple[Path, ...] = field(
        default_factory=lambda: (shipped("dialogs") / "nct06349343.toml",),
        metadata=env("SCREENING_DIALOG", dialog_files),
    )
    locales_dir: Path = field(default_factory=lambda: shipped("locales"), metadata=env("SCREENING_LOCALES", path))
    language: str = field(default="", metadata=env("SCREENING_LANGUAGE", language_code))
    log_level: str = field(default="INFO", metadata=env("SCREENING_LOG_LEVEL", logging_level))
    telegram_token: str = field(default="", repr=False, metadata=env("TELEGRAM_BOT_TOKEN", text, secret=True))
    telegram_api_base_url: str = field(default="https://api.telegram.org", metadata=env("TELEGRAM_API_BASE_URL", url))
    telegram_webhook_url: str = field(default="", metadata=env("TELEGRAM_WEBHOOK_URL", url))
    telegram_webhook_listen: str = field(default="127.0.0.1", metadata=env("TELEGRAM_WEBHOOK_LISTEN", host))
    telegram_webhook_port: int = field(default=8443, metadata=env("TELEGRAM_WEBHOOK_PORT", port))
    #: 0 turns the reminder off; 720 hours is the 30 days an unfinished screening is kept by default.
    telegram_reminder_hours: float = field(
        default=24.0, metadata=env("TELEGRAM_REMINDER_HOURS", number(0, 720, "hours"))
    )
    #: How long `run` keeps trying to reach Telegram at start (bot/channels/telegram/link.py).
    telegram_start_seconds: float = field(
        default=60.0, metadata=env("TELEGRAM_START_SECONDS", number(0, 86_400, "seconds"))
    )
    telegram_bot_username: str = field(default="", metadata=env("TELEGRAM_BOT_USERNAME", bot_username))
    site_hospital: str = field(default="", metadata=env("SITE_HOSPITAL", text))
    site_department: str = field(default="", metadata=env("SITE_DEPARTMENT", text))
    site_city: str = field(default="", metadata=env("SITE_CITY", text))
    site_address: str = field(default="", metadata=env("SITE_ADDRESS", text))
    site_investigator: str = field(default="", metadata=env("SITE_INVESTIGATOR", text))
    site_phone: str = field(default="", metadata=env("SITE_PHONE", text))
    site_email: str = field(default="", metadata=env("SITE_EMAIL", text))
    site_hours: str = field(default="", metadata=env("SITE_HOURS", text))
    site_response_days: int | None = field(
        default=None, metadata=env("SITE_RESPONSE_DAYS", optional(whole_number(1, 60, "working days")))
    )
    #: Where the server with the answers is (city, country, hosting company), named in the consent notice.
    site_server_location: str = field(default="", metadata=env("SITE_SERVER_LOCATION", text))
    #: Per trial, its own team's site details (trials run by different teams): `site_overrides(dialog_id)`.
    trial_sites: SiteTable = field(default=(), metadata=env("TRIAL_SITES", trial_sites))
    screening_key: str = field(default="", repr=False, metadata=env("SCREENING_KEY", fernet_keys, secret=True))
    key_file: Path | None = field(default=None, metadata=env("SCREENING_KEY_FILE", optional(path)))
    retain_unfinished_days: int = field(default=30, metadata=env("RETAIN_UNFINISHED_DAYS", days))
    retain_not_eligible_days: int = field(default=30, metadata=env("RETAIN_NOT_ELIGIBLE_DAYS", days))
    retain_closed_lead_days: int = field(default=180, metadata=env("RETAIN_CLOSED_LEAD_DAYS", days))
    #: Where `screening-bot backup` writes (best on another disk or machine), and how long it keeps its copies:
    #: a backup holds what was erased since it was made, so it is kept no longer than this (bot/store/backup.py).
    backup_dir: Path | None = field(default=None, metadata=env("SCREENING_BACKUP_DIR", optional(path)))
    backup_keep_days: int = field(default=14, metadata=env("BACKUP_KEEP_DAYS", days))
    # The web chat (bot/channels/web) and its poster QR codes.
    public_url: str = field(default="", metadata=env("WEB_PUBLIC_URL", url))
    web_host: str = field(default="127.0.0.1", metadata=env("WEB_HOST", host))
    web_port: int = field(default=8080, metadata=env("WEB_PORT", port))
    #: None is `auto`: Secure when WEB_PUBLIC_URL is https.
    web_secure_cookies: bool | None = field(default=None, metadata=env("WEB_SECURE_COOKIES", boolean_or_auto))
    web_secret: str = field(default="", repr=False, metadata=env("WEB_SECRET", long_secret, secret=True))
    #: Rate limits (bot/channels/web/limits.py): per session, and a ceiling per address sized for many
    #: people behind one NAT (README, "Web chat: fair limits"). 0 turns one off.
    web_rate_limit: int = field(
        default=60, metadata=env("WEB_RATE_LIMIT", whole_number(0, 100_000, "posts per minute"))
    )
    web_address_rate_limit: int = field(
        default=1800, metadata=env("WEB_ADDRESS_RATE_LIMIT", whole_number(0, 1_000_000, "posts per minute"))
    )
    #: The reverse proxies whose X-Forwarded-For is read; none by default (not even 127.0.0.1).
    web_forwarded_allow_ips: str = field(default="", metadata=env("WEB_FORWARDED_ALLOW_IPS", proxy_addresses))
    #: uvicorn worker processes of `screening-bot web`; they share the database (README, "Several workers").
    web_workers: int = field(default=1, metadata=env("WEB_WORKERS", whole_number(1, 64, "worker processes")))
    # The hospital's look on the web chat (bot/channels/web/branding.py checks the logo file and the contrast).
    web_logo: Path | None = field(default=None, metadata=env("WEB_LOGO", optional(local_file)))
    web_color_primary: str = field(default="", metadata=env("WEB_COLOR_PRIMARY", hex_color))
    web_color_link: str = field(default="", metadata=env("WEB_COLOR_LINK", hex_color))
    web_color_background: str = field(default="", metadata=env("WEB_COLOR_BACKGROUND", hex_color))
    web_icp_number: str = field(default="", metadata=env("WEB_ICP_NUMBER", icp_number))
    # The study team on Telegram (bot/channels/telegram/staff.py).
    staff_chat_id: int | None = field(default=None, metadata=env("STAFF_CHAT_ID", chat_id))
    staff_user_ids: tuple[int, ...] = field(default=(), metadata=env("STAFF_USER_IDS", user_ids))
    staff_notify_contact: bool = field(default=False, metadata=env("STAFF_NOTIFY_CONTACT", boolean))
    staff_language: str = field(default="", metadata=env("STAFF_LANGUAGE", language_code))
    # The study team's console on the web (bot/console) and the notifications of new leads (bot/notify).
    staff_idle_minutes: int = field(default=15, metadata=env("STAFF_IDLE_MINUTES", whole_number(1, 720, "minutes")))
    notify_urls: tuple[str, ...] = field(
        default=(), repr=False, metadata=env("NOTIFY_URLS", notification_urls, secret=True)
    )
    # The dialog version the ethics committee approved; check-launch compares it with the dialog file.
    ethics_approved_version: str = field(default="", metadata=env("ETHICS_APPROVED_VERSION", text))

    def site_overrides(self, dialog_id: str = "") -> dict[str, str]:
        """Site details set by the deployment for a trial; they replace its dialog file's public defaults.

        A trial with its own `trial_sites` table gets only those, and the deployment's server location
        (the server is shared) unless its table names one: another team's hospital, phone or e-mail is
        never shown in its chat. Every other trial gets the SITE_* settings."""
        own = self.trial_site(dialog_id)
        if own is None:
            found = {f.name[5:]: getattr(self, f.name) for f in fields(self) if f.name.startswith("site_")}
        else:
            found = {"server_location": self.site_server_location, **{name[5:]: value for name, value in own.items()}}
        return {name: str(value) for name, value in found.items() if value not in ("", None)}

    def trial_site(self, dialog_id: str) -> dict[str, Any] | None:
        """A trial's own `trial_sites` table (site_* field name -> value), or None when it has none (its team
        is the SITE_* settings' team)."""
        own = dict(self.trial_sites).get(dialog_id) if dialog_id else None
        return dict(own) if own is not None else None

    def dialog_files(self) -> list[Path]:
        """Every dialog file to run, the default trial's first: each file given, and each folder's .toml
        files in name order. Reads the folders, so it is called where the trials are built."""
        found: list[Path] = []
        for given in self.dialog_paths:
            files = sorted(given.glob("*.toml")) if given.is_dir() else [given]
            if not files:
                raise ConfigError(f"{describe('dialog_paths')}: the folder {given} holds no dialog file (*.toml)")
            found += [f for f in files if f.resolve() not in {seen.resolve() for seen in found}]
        return found

    def key_path(self) -> Path:
        """The encryption key file: SCREENING_KEY_FILE, else outside the data folder, in the user's
        configuration folder: ~/.config/screening-bot/<database name>.key ($XDG_CONFIG_HOME when set).

        A key beside the database (where versions before 0.1.0 made it: data/screening.key) is
        still used while there is none in the new place; the bot then says to move it."""
        if self.key_file:
            return self.key_file
        home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config").expanduser()
        default = home / "screening-bot" / f"{self.db_path.stem}.key"
        old = self.old_key_path()
        return old if not default.exists() and old.exists() else default

    def old_key_path(self) -> Path:
        """Where the key file used to be by default: beside the database, in the data folder."""
        return self.db_path.with_suffix(".key")

    def languages(self) -> list[str]:
        """The shipped languages, with SCREENING_LANGUAGE and STAFF_LANGUAGE checked against them.

        Reads the locales folder, so it is called where a channel is built, not when settings load."""
        from .i18n import MissingCatalogs, available_languages, match_language

        try:
            shipped_languages = available_languages(self.locales_dir)
        except MissingCatalogs as exc:
            raise ConfigError(str(exc)) from exc
        for name in ("language", "staff_language"):
            value = getattr(self, name)
            if value and match_language(value, shipped_languages) is None:
                raise ConfigError(
                    f"{describe(name)} is {value!r}, a language with no catalog in {self.locales_dir}; "
                    f"use one of {', '.join(shipped_languages)}"
                )
        return shipped_languages

    def with_overrides(self, **values: Any) -> Settings:
        """Command-line flags win over everything; None means 'not given'. Flags are read by `flag_type`."""
        return replace(self, **{name: value for name, value in values.items() if value is not None})


SETTINGS = {f.name: f for f in fields(Settings)}
#: environment variable -> field name
BY_ENV = {f.metadata["env"]: f.name for f in fields(Settings)}


def config_key(name: str) -> str:
    """A setting's key in a config file: its environment variable in lower case."""
    return SETTINGS[name].metadata["env"].lower()


def describe(name: str, in_file: bool = False) -> str:
    """Both names of a setting, for messages: `WEB_PORT (config file: web_port)`."""
    env = SETTINGS[name].metadata["env"]
    return f"{config_key(name)} (environment: {env})" if in_file else f"{env} (config file: {config_key(name)})"


def read_value(name: str, raw: Any, config_file: Path | None = None) -> Any:
    """One setting's value from the environment, or from `config_file`, checked; else ConfigError."""
    spec = SETTINGS[name]
    try:
        return spec.metadata["kind"](raw)
    except Invalid as exc:
        shown = "the value given (not shown: it is a secret)" if spec.metadata["secret"] else repr(raw)
        where = f"{config_file}: " if config_file else ""
        raise ConfigError(f"{where}{describe(name, in_file=bool(config_file))} must be {exc}, not {shown}") from None


def flag_type(name: str) -> Callable[[str], Any]:
    """An argparse `type=` for a flag that sets a setting: read like the environment's value."""

    def parse(raw: str) -> Any:
        try:
            return SETTINGS[name].metadata["kind"](raw)
        except Invalid as exc:
            raise argparse.ArgumentTypeError(f"must be {exc}, not {raw!r}") from None

    return parse


class SubCommands(Protocol):
    """What `ArgumentParser.add_subparsers()` hands to the modules that add subcommands (bot/staff.py,
    bot/channels/web/cli.py). argparse's own class for it, `_SubParsersAction`, is private."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def load_settings(config_file: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, overlaid by the config file, overlaid by the environment; every value checked.

    An empty environment variable counts as not set.
    """
    environ = dict(os.environ if environ is None else environ)
    config_file = config_file or environ.get("SCREENING_CONFIG")
    values: dict[str, Any] = {}
    if config_file:
        values.update(read_config_file(Path(config_file)))
    for env, name in BY_ENV.items():
        if environ.get(env, "").strip():
            values[name] = read_value(name, environ[env])
    return Settings(**values)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML config file, by field name, checked; unknown keys are refused."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    by_key = {config_key(name): name for name in SETTINGS}
    unknown = sorted(set(data) - set(by_key))
    if unknown:
        hints = [f"{key} (write it in lower case: {key.lower()})" for key in unknown if key.lower() in by_key]
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(hints or unknown)}; "
            f"the keys are the environment variables in lower case: {', '.join(sorted(by_key))}"
        )
    values = {}
    for key, raw in data.items():
        if isinstance(raw, str) and not raw.strip():
            continue  # empty means not set, as in the environment
        values[by_key[key]] = read_value(by_key[key], raw, path)
    return values
