"""Every setting in one place: defaults, then a TOML config file, then the environment.

Each setting has one environment variable (listed in the README). A config file
(`--config` or `SCREENING_CONFIG`) uses the same names in lower case, e.g.
`site_phone = "+86 27 ..."`. Secrets such as the bot token are never printed.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_path(relative: str) -> Path:
    """Paths are relative to the working directory when it is a checkout, else to the installed project."""
    here = Path.cwd() / relative
    return here if (Path.cwd() / "dialogs").is_dir() else PROJECT_ROOT / relative


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    db_path: Path = field(default_factory=lambda: _default_path("data/screening.db"), metadata={"env": "SCREENING_DB"})
    dialog_path: Path = field(
        default_factory=lambda: _default_path("dialogs/nct06349343.toml"), metadata={"env": "SCREENING_DIALOG"}
    )
    locales_dir: Path = field(default_factory=lambda: _default_path("locales"), metadata={"env": "SCREENING_LOCALES"})
    language: str = field(default="", metadata={"env": "SCREENING_LANGUAGE"})
    telegram_token: str = field(default="", repr=False, metadata={"env": "TELEGRAM_BOT_TOKEN", "secret": True})
    telegram_api_base_url: str = field(default="https://api.telegram.org", metadata={"env": "TELEGRAM_API_BASE_URL"})
    telegram_webhook_url: str = field(default="", metadata={"env": "TELEGRAM_WEBHOOK_URL"})
    telegram_webhook_listen: str = field(default="127.0.0.1", metadata={"env": "TELEGRAM_WEBHOOK_LISTEN"})
    telegram_webhook_port: str = field(default="8443", metadata={"env": "TELEGRAM_WEBHOOK_PORT"})
    telegram_reminder_hours: str = field(default="24", metadata={"env": "TELEGRAM_REMINDER_HOURS"})
    site_hospital: str = field(default="", metadata={"env": "SITE_HOSPITAL"})
    site_department: str = field(default="", metadata={"env": "SITE_DEPARTMENT"})
    site_city: str = field(default="", metadata={"env": "SITE_CITY"})
    site_address: str = field(default="", metadata={"env": "SITE_ADDRESS"})
    site_investigator: str = field(default="", metadata={"env": "SITE_INVESTIGATOR"})
    site_phone: str = field(default="", metadata={"env": "SITE_PHONE"})
    site_email: str = field(default="", metadata={"env": "SITE_EMAIL"})
    site_hours: str = field(default="", metadata={"env": "SITE_HOURS"})
    site_response_days: str = field(default="", metadata={"env": "SITE_RESPONSE_DAYS"})
    screening_key: str = field(default="", repr=False, metadata={"env": "SCREENING_KEY", "secret": True})
    key_file: str = field(default="", metadata={"env": "SCREENING_KEY_FILE"})
    retain_unfinished_days: str = field(default="30", metadata={"env": "RETAIN_UNFINISHED_DAYS"})
    retain_not_eligible_days: str = field(default="30", metadata={"env": "RETAIN_NOT_ELIGIBLE_DAYS"})
    retain_closed_lead_days: str = field(default="180", metadata={"env": "RETAIN_CLOSED_LEAD_DAYS"})
    log_level: str = field(default="INFO", metadata={"env": "SCREENING_LOG_LEVEL"})
    # The web chat (bot/channels/web) and its poster QR codes.
    public_url: str = field(default="", metadata={"env": "WEB_PUBLIC_URL"})
    web_host: str = field(default="127.0.0.1", metadata={"env": "WEB_HOST"})
    web_port: str = field(default="8080", metadata={"env": "WEB_PORT"})
    web_secure_cookies: str = field(default="auto", metadata={"env": "WEB_SECURE_COOKIES"})
    web_secret: str = field(default="", repr=False, metadata={"env": "WEB_SECRET", "secret": True})
    web_rate_limit: str = field(default="60", metadata={"env": "WEB_RATE_LIMIT"})
    # The hospital's look on the web chat (bot/channels/web/branding.py); none is needed.
    web_logo: str = field(default="", metadata={"env": "WEB_LOGO"})
    web_color_primary: str = field(default="", metadata={"env": "WEB_COLOR_PRIMARY"})
    web_color_link: str = field(default="", metadata={"env": "WEB_COLOR_LINK"})
    web_color_background: str = field(default="", metadata={"env": "WEB_COLOR_BACKGROUND"})
    web_icp_number: str = field(default="", metadata={"env": "WEB_ICP_NUMBER"})
    telegram_bot_username: str = field(default="", metadata={"env": "TELEGRAM_BOT_USERNAME"})
    staff_chat_id: str = field(default="", metadata={"env": "STAFF_CHAT_ID"})
    staff_user_ids: str = field(default="", metadata={"env": "STAFF_USER_IDS"})
    staff_notify_contact: str = field(default="0", metadata={"env": "STAFF_NOTIFY_CONTACT"})
    staff_language: str = field(default="", metadata={"env": "STAFF_LANGUAGE"})

    def site_overrides(self) -> dict[str, str]:
        """Site details set by the deployment; they replace the dialog file's public defaults."""
        return {
            f.name[5:]: getattr(self, f.name)
            for f in fields(self)
            if f.name.startswith("site_") and getattr(self, f.name)
        }

    def key_path(self) -> Path:
        """The encryption key file: SCREENING_KEY_FILE, else beside the database (data/screening.key)."""
        return Path(self.key_file) if self.key_file else self.db_path.with_suffix(".key")

    def retention_days(self) -> dict[str, int]:
        """The retention periods in days, checked: whole numbers of at least 1."""
        days = {}
        for name in ("unfinished", "not_eligible", "closed_lead"):
            raw = getattr(self, f"retain_{name}_days")
            if not str(raw).strip().isdigit() or int(raw) < 1:
                raise ConfigError(f"RETAIN_{name.upper()}_DAYS must be a whole number of days (1 or more), not {raw!r}")
            days[f"{name}_days"] = int(raw)
        return days

    def with_overrides(self, **values: Any) -> Settings:
        """Command-line flags win over everything; None means 'not given'."""
        given = {k: (Path(v) if isinstance(getattr(self, k), Path) else v) for k, v in values.items() if v is not None}
        return replace(self, **given)


def load_settings(config_file: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Defaults, overlaid by the config file, overlaid by the environment."""
    environ = dict(os.environ if environ is None else environ)
    config_file = config_file or environ.get("SCREENING_CONFIG")
    values: dict[str, Any] = {}
    if config_file:
        path = Path(config_file)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        known = {f.name for f in fields(Settings)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values.update(data)
    for f in fields(Settings):
        env = f.metadata.get("env")
        if env and environ.get(env):
            values[f.name] = environ[env]
    for f in fields(Settings):
        if f.name in values and isinstance(values[f.name], int) and not isinstance(values[f.name], bool):
            values[f.name] = str(values[f.name])  # e.g. retain_unfinished_days = 30 in the TOML file
        if f.name in values and f.name.endswith(("_path", "_dir")):
            values[f.name] = Path(values[f.name])
        elif f.name in values and not isinstance(values[f.name], str):
            raise ConfigError(f"setting {f.name} must be text")
    return Settings(**values)
