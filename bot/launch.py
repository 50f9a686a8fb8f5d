"""`screening-bot check-launch`: everything a site must confirm before the bot meets patients.

Each check returns Items: an open one says, in plain words, what is not ready and how to
close it; an OK one says briefly what was found. The command exits 1 while anything is open
(2 stays for usage errors), so a deployment script can refuse to go live. The checks only
read: no file, database or key is created or changed.

What the dialog file still marks for confirmation (`[[to_confirm]]`, empty `[study]` facts)
is also printed in the ethics pack, from `dialog_items`.

Long on purpose: one check per thing a site must confirm, each with its plain-words fix,
in the order the report prints them.
"""

from __future__ import annotations

import contextlib
import stat
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import sqlite_utils

from .compose import check_trial_sites
from .config import ConfigError, Settings
from .dialog.extract import dialog_texts
from .dialog.load import DialogError, load_dialog
from .dialog.model import Dialog, TwoLanguages
from .i18n import Translator, available_languages, language_name
from .retention import retention_from

#: The Traditional Chinese fixes a reviewer keeps by hand (bot/hant.py); its [to_confirm] lists what waits.
OVERRIDES = Path("zh_Hant") / "overrides.toml"

#: [study] facts a committee and the patients' consent need, in words; version_date is checked on its own.
STUDY_FACTS = {
    "official_title": "the trial's official title",
    "sponsor": "the sponsor",
    "data_controller": "who handles the personal information (PIPL: 个人信息处理者)",
    "ethics_committee": "the ethics committee's name",
}


@dataclass(frozen=True)
class Item:
    """One thing to confirm before launch: open (with how to close it) or OK."""

    topic: str
    open: bool
    says: str
    fix: str = ""


def shown_path(path: str | Path) -> str:
    """A path as the team names it: relative to the working directory when inside it, else under ~ when
    in the home folder (where the key file is by default), else as given."""
    full = Path(path).resolve()
    if full.is_relative_to(Path.cwd()):
        return str(full.relative_to(Path.cwd()))
    home = Path.home().resolve()
    return f"~/{full.relative_to(home)}" if full.is_relative_to(home) else str(path)


def ok(topic: str, says: str) -> Item:
    return Item(topic, False, says)


def todo(topic: str, says: str, fix: str) -> Item:
    return Item(topic, True, says, fix)


# ---------------------------------------------------------------------- the dialog file


def dialog_items(dialog: Dialog) -> list[Item]:
    """What the dialog file itself leaves open: unset [study] facts and every [[to_confirm]] item."""
    items = []
    file = shown_path(dialog.source_path)
    study = dialog.study
    if not study.version_date:
        items.append(
            todo(
                "Version date",
                "[study] version_date is not set, so the ethics pack cannot print the version date (版本日期).",
                f'In {file}, set version_date = "YYYY-MM-DD" under [study]: the day this [dialog] version was made.',
            )
        )
    for key, what in STUDY_FACTS.items():
        value: TwoLanguages = getattr(study, key)
        missing = [lang for lang, text in (("English", value.en), ("Chinese", value.zh)) if not text]
        if missing:
            items.append(
                todo(
                    f"[study] {key}",
                    f"[study] {key} is not set in {' or '.join(missing)}: {what}.",
                    f'In {file}, under [study], set {key} = {{ en = "...", zh = "..." }}.',
                )
            )
    if not (study.ethics_committee_phone or study.ethics_committee_email):
        items.append(
            todo(
                "[study] ethics committee contact",
                "Neither [study] ethics_committee_phone nor ethics_committee_email is set: the ethics pack "
                "names no way to reach the committee.",
                f"In {file}, under [study], set ethics_committee_phone and/or ethics_committee_email.",
            )
        )
    for item in dialog.to_confirm:
        items.append(
            todo(
                f"[[to_confirm]] {item.part}",
                f"{item.what.en} ({file}, [[to_confirm]] part = {item.part!r})",
                "Have the site confirm it (fix the text if needed, and bump [dialog] version if you do), then "
                "remove this [[to_confirm]] item from the dialog file.",
            )
        )
    if not items:
        items.append(ok("Dialog file", f"{file}: every [study] fact is set and nothing is marked to confirm."))
    return items


def overrides_items(locales_dir: Path) -> list[Item]:
    """The Traditional Chinese terms still waiting for the site ([to_confirm] in overrides.toml)."""
    path = locales_dir / OVERRIDES
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return [todo("Traditional Chinese fixes", f"{shown_path(path)} cannot be read: {exc}", f"Fix {path}.")]
    waiting = data.get("to_confirm", {})
    items = []
    for table in ("terms", "messages"):
        known = data.get(table, {})
        keys = waiting.get(table, [])
        unknown = [key for key in keys if key not in known]
        if unknown:
            items.append(
                todo(
                    "Traditional Chinese fixes",
                    f"{shown_path(path)}: [to_confirm] {table} lists {', '.join(unknown)}, not in [{table}].",
                    f"Remove them from [to_confirm] {table}, or add them to [{table}].",
                )
            )
        listed = [f"{key} → {known[key]}" for key in keys if key in known]
        if listed:
            items.append(
                todo(
                    f"Traditional Chinese {table}",
                    f"{len(listed)} wording(s) for Taiwan and Hong Kong are not confirmed by the site: "
                    + "; ".join(listed)
                    + ".",
                    f"Have the site confirm each (fix it in [{table}] and run `python -m bot.hant` if needed), then "
                    f"remove it from [to_confirm] {table} in {shown_path(path)}.",
                )
            )
    if not items:
        items.append(ok("Traditional Chinese fixes", f"{shown_path(path)}: nothing waits for confirmation."))
    return items


def translation_items(dialog: Dialog, locales_dir: Path) -> list[Item]:
    """Every text of the dialog file translated in every catalog, so nobody is shown English by mistake."""
    data = tomllib.loads(Path(dialog.source_path).read_text(encoding="utf-8"))
    texts = {text for _, text in dialog_texts(data)}
    items = []
    for language in available_languages(locales_dir)[1:]:
        t = Translator.for_dialog(language, locales_dir, dialog.id, dialog.source_path)  # the dialog's own domain
        missing = sorted(text for text in texts if t.dialog(text) == text)
        if missing:
            items.append(
                todo(
                    f"Translations {language}",
                    f"{len(missing)} text(s) of the dialog file have no {language_name(language)} translation, "
                    f"e.g. {missing[0][:60]!r}.",
                    f"Follow README 'Translations' (extract, update, translate {dialog.id}.po, generate zh_Hant), "
                    "then run the catalog tests.",
                )
            )
        else:
            items.append(ok(f"Translations {language}", f"all {len(texts)} texts of the dialog file translated."))
    return items


# ---------------------------------------------------------------------- the deployment


def approved_version(settings: Settings, dialog: Dialog, default: bool = True) -> str:
    """The version ETHICS_APPROVED_VERSION records for a trial: `1.4.0` (the only trial, or the default
    one), or one `<dialog id>=<version>` per trial, separated by commas ("" when none is recorded)."""
    found: dict[str, str] = {}
    for part in settings.ethics_approved_version.split(","):
        trial, sep, version = part.strip().partition("=")
        if part.strip():
            found[trial.strip() if sep else ""] = (version if sep else trial).strip()
    return found.get(dialog.id) or (found.get("", "") if default else "")


def approval_items(settings: Settings, dialog: Dialog, default: bool = True) -> list[Item]:
    """`default` is false for every trial but the first: a bare version names the default trial only."""
    from .screening.contact import CONTACT_CONSENT_VERSION, URGENT_CONTACT_CONSENT_VERSION
    from .screening.rescreen import REMINDER_CONSENT_VERSION

    consents = ", ".join(
        [
            f"consent notice {dialog.consent.version}",
            *(f"{c.id} consent {c.version}" for c in dialog.consents),
            f"contact consent {CONTACT_CONSENT_VERSION}",
            f"contact consent after a risk answer {URGENT_CONTACT_CONSENT_VERSION}",
            f"reminder opt-in {REMINDER_CONSENT_VERSION}",
        ]
    )
    approved = approved_version(settings, dialog, default)
    value = dialog.version if default else f"{dialog.id}={dialog.version}"  # several trials: one entry each
    pack = f"`screening-bot export-script` writes the pack of version {dialog.version}"
    if not approved:
        return [
            todo(
                "Ethics approval",
                f"No approved dialog version is recorded (ETHICS_APPROVED_VERSION). The bot would run dialog "
                f"{dialog.id} version {dialog.version}, with these consents: {consents}.",
                f"{pack}; once the ethics committee has approved it, set ethics_approved_version = "
                f'"{value}" in the config file (or ETHICS_APPROVED_VERSION; several trials: separated by commas).',
            )
        ]
    if approved != dialog.version:
        return [
            todo(
                "Ethics approval",
                f"The approved dialog version is {approved}, but the dialog file is version {dialog.version}.",
                f"{pack} with `--diff {approved}` for the amendment; once it is approved, set "
                f'ethics_approved_version = "{value}". Or run the approved dialog file.',
            )
        ]
    return [ok("Ethics approval", f"dialog version {dialog.version} is the approved one ({consents}).")]


def recruiting_items(dialog: Dialog) -> list[Item]:
    if not dialog.recruiting:
        return [
            todo(
                "Recruiting",
                f"{shown_path(dialog.source_path)} says recruiting = false: the trial is closed, and no reminder "
                "is sent.",
                "Set recruiting = true under [dialog] (and bump the version) only when the trial recruits again.",
            )
        ]
    return [ok("Recruiting", "the dialog file says recruiting = true.")]


SITE_SETTINGS = (
    ("phone", "SITE_PHONE", "site_phone", '"+86 27 ..."', "People who may fit cannot call the study team themselves."),
    ("email", "SITE_EMAIL", "site_email", '"..."', "People cannot write to the study team."),
    ("hours", "SITE_HOURS", "site_hours", '"Mon-Fri 9:00-17:00"', "People are not told when someone answers."),
    (
        "server_location",
        "SITE_SERVER_LOCATION",
        "site_server_location",
        '"Wuhan, China (Union Hospital data centre)"',
        "The consent notice cannot say where the answers are kept (PIPL).",
    ),
    (
        "response_days",
        "SITE_RESPONSE_DAYS",
        "site_response_days",
        "3",
        'People who leave a number are told only that the team will call "soon".',
    ),
)


def site_items(settings: Settings, dialog: Dialog, default: Dialog | None = None) -> list[Item]:
    """The site details a trial's people are shown; with several trials, a trial whose dialog file names
    another hospital or city than the default trial's but that shows the SITE_* team's details is flagged."""
    overrides = settings.site_overrides(dialog.id)
    site = replace(dialog.site, **overrides)
    items = []
    own_table = settings.trial_site(dialog.id)
    shared = sorted(name for name in overrides if name != "server_location")
    if default is not None and own_table is None and shared:
        theirs, ours = default.site.hospital or default.site.city, dialog.site.hospital or dialog.site.city
        if (dialog.site.hospital, dialog.site.city) != (default.site.hospital, default.site.city):
            items.append(
                todo(
                    "Site of this trial",
                    f"Its dialog file names {ours}, but its people would be shown the SITE_* settings "
                    f"({', '.join('SITE_' + name.upper() for name in shared)}), set for {theirs}.",
                    f"Give it its own details in the config file: [trial_sites.{dialog.id}] with site_phone, "
                    "site_email ... (if one team runs both trials, copy the same details there: that confirms it).",
                )
            )
    for name, env, key, example, why in SITE_SETTINGS:
        value = getattr(site, name)
        # a trial with its own table takes the deployment's server location unless the table names one
        own = own_table is not None and (name != "server_location" or key in own_table)
        where = f"[trial_sites.{dialog.id}] {key}" if own else env
        if value:
            items.append(ok(f"Site {name}", f"{where} = {value}"))
        elif own:
            items.append(
                todo(
                    f"Site {name}",
                    f"{where} is not set. {why}",
                    f"Set {key} = {example} in the config file's [trial_sites.{dialog.id}] table. Never guess it.",
                )
            )
        else:
            items.append(
                todo(
                    f"Site {name}",
                    f"{env} is not set. {why}",
                    f"Set {key} = {example} in the config file (or {env} in the environment). Never guess it.",
                )
            )
    return items


def key_items(settings: Settings) -> list[Item]:
    if settings.screening_key.strip():
        return [
            ok(
                "Encryption key",
                "comes from SCREENING_KEY (not a file): keep a copy in the hospital's password safe.",
            )
        ]
    path = settings.key_path()
    if not path.exists():
        return [
            todo(
                "Encryption key",
                f"There is no key file yet at {path}; it is made (mode 0600) at the first start.",
                "Start the bot once where it will run (e.g. `screening-bot chat`, then quit), back the key up apart "
                "from the database, then run check-launch again.",
            )
        ]
    items = []
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        items.append(
            todo(
                "Encryption key",
                f"{path} can be read by other users (mode {mode:04o}).",
                f"chmod 600 {path}",
            )
        )
    if path.resolve().parent == settings.db_path.resolve().parent:
        items.append(
            todo(
                "Encryption key",
                f"The key file {path} is in the same folder as the database, so one copy of that folder holds "
                "both the data and the key that opens it.",
                "Move the key out of the data folder (e.g. /etc/screening-bot/screening.key, mode 0600, owned by "
                "the bot's user), set SCREENING_KEY_FILE to it, and back it up apart from the database.",
            )
        )
    return items or [ok("Encryption key", f"{path}: mode {mode:04o}, apart from the database.")]


def database_items(settings: Settings, dialog: Dialog) -> list[Item]:
    path = settings.db_path
    if not path.exists():
        return [ok("Database", f"none yet at {path}; it is made (mode 0600) at the first start.")]
    items = []
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        items.append(todo("Database", f"{path} can be read by other users (mode {mode:04o}).", f"chmod 600 {path}"))
    from .store import sqlcipher
    from .store.dialog_versions import DialogVersionError, DialogVersions
    from .store.vault import VaultError

    encrypted = not sqlcipher.is_plaintext(path)
    if not encrypted:
        items.append(
            todo(
                "Database",
                f"{path} is not encrypted yet (it was made before the database was encrypted at rest).",
                "Stop the bot, then start it (or run any staff command, e.g. `screening-bot stats`): the database "
                "is encrypted at start (SQLCipher), with a key made from the encryption key.",
            )
        )
    try:
        with read_only(settings, path) as db:
            DialogVersions(db).check(dialog)
    except DialogVersionError as exc:
        items.append(todo("Database", str(exc), "Bump [dialog] version (the bot refuses to start as it is)."))
    except VaultError as exc:
        items.append(todo("Database", f"{path} cannot be opened: {exc}", "Restore the key from your backup."))
    except sqlcipher.sqlite.Error as exc:
        why = "the key does not open it, or it is not a database" if encrypted else str(exc)
        items.append(todo("Database", f"{path} cannot be read: {why}.", "Check the file, its key and its permissions."))
    return items or [
        ok("Database", f"{path}: encrypted (SQLCipher), mode {mode:04o}, the dialog version matches what it recorded.")
    ]


def staff_items(settings: Settings) -> list[Item]:
    """Someone hears of each new lead (notifications, or the Telegram staff chat), and someone may read it
    (a coordinator's console account, or a Telegram staff member)."""
    items = []
    if settings.staff_chat_id is not None and not settings.telegram_token:
        items.append(
            todo(
                "Staff notification",
                "STAFF_CHAT_ID is set but TELEGRAM_BOT_TOKEN is not: the posts are sent by the Telegram bot.",
                "Set TELEGRAM_BOT_TOKEN (in the environment, never in a file others can read).",
            )
        )
    elif settings.notify_urls or settings.staff_chat_id is not None:
        where = [f"{len(settings.notify_urls)} address(es) in NOTIFY_URLS"] if settings.notify_urls else []
        where += [f"Telegram chat {settings.staff_chat_id}"] if settings.staff_chat_id is not None else []
        items.append(ok("Staff notification", f"new leads are announced to {' and '.join(where)}."))
    else:
        items.append(
            todo(
                "Staff notification",
                "Neither NOTIFY_URLS nor STAFF_CHAT_ID is set: nobody is told when a person leaves a phone number.",
                "Set notify_urls to the study team's e-mail or WeCom, DingTalk or Feishu group robot (README, "
                "'Notifications'; try it with `screening-bot notify test`), or add the bot to the study team's "
                "Telegram group and set staff_chat_id to the group's id (it starts with -).",
            )
        )
    coordinators = console_coordinators(settings)
    if settings.staff_user_ids or coordinators:
        who = [f"{coordinators} coordinator account(s) in the staff console"] if coordinators else []
        who += (
            [f"{len(settings.staff_user_ids)} Telegram user id(s) in STAFF_USER_IDS"] if settings.staff_user_ids else []
        )
        items.append(ok("Staff members", " and ".join(who) + "."))
    else:
        items.append(
            todo(
                "Staff members",
                "Nobody can read a lead's phone number or set its status: no coordinator has a console account, "
                "and STAFF_USER_IDS is not set.",
                "Make an account for each coordinator: screening-bot staff add NAME --role coordinator (README, "
                "'Study team console'); on Telegram, set staff_user_ids to their user ids.",
            )
        )
    if settings.staff_notify_contact:
        items.append(
            todo(
                "Phone numbers in staff posts",
                "STAFF_NOTIFY_CONTACT=1 puts phone numbers and names into the staff chat's posts, which pass "
                "through Telegram's servers outside mainland China.",
                "Set staff_notify_contact = false, unless the ethics committee approved this transfer and the "
                "consent says so.",
            )
        )
    return items


@contextlib.contextmanager
def read_only(settings: Settings, path: Path) -> Iterator[sqlite_utils.Database]:
    """The database opened read-only, with whichever of the deployment's keys opens it (none if it is
    not encrypted yet): the launch check changes nothing."""
    from .store import sqlcipher
    from .store.vault import database_key, read_keys

    keys = read_keys(settings.screening_key, settings.key_path())
    encrypted = not sqlcipher.is_plaintext(path)
    candidates = [database_key(k) for k in keys.keys] if keys and encrypted else [None]
    for number, key in enumerate(candidates, start=1):
        conn = sqlcipher.connect(f"{path.resolve().as_uri()}?mode=ro", key, uri=True)
        try:
            db = sqlite_utils.Database(conn)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a wrong key fails here
        except sqlcipher.sqlite.DatabaseError as exc:
            conn.close()
            if getattr(exc, "sqlite_errorname", "") != "SQLITE_NOTADB" or number == len(candidates):
                raise
            continue
        try:
            yield db
        finally:
            conn.close()
        return


def console_coordinators(settings: Settings) -> int:
    """Enabled coordinator accounts of the staff console, read without changing the database (0 if none yet)."""
    from .store import sqlcipher
    from .store.staff_accounts import count_enabled
    from .store.vault import VaultError

    if not settings.db_path.exists():
        return 0
    try:
        with read_only(settings, settings.db_path) as db:
            return count_enabled(db, "coordinator")
    except (sqlcipher.sqlite.Error, VaultError):
        return 0  # a database from before the console, or one that will not open: the Database item says why


def web_items(settings: Settings) -> list[Item]:
    url = settings.public_url.strip()
    if not url:
        return [
            todo(
                "Web address",
                "WEB_PUBLIC_URL is not set: QR codes and links for posters cannot be made.",
                'Set web_public_url = "https://..." to the web chat\'s public address (behind a TLS proxy).',
            )
        ]
    if not url.startswith("https://"):
        return [
            todo(
                "Web address",
                f"WEB_PUBLIC_URL is {url}: not https, so answers would cross the network unencrypted.",
                "Serve the web chat behind a TLS reverse proxy and set an https:// address.",
            )
        ]
    return [ok("Web address", url)]


def retention_items(settings: Settings) -> list[Item]:
    periods = retention_from(settings)
    return [
        ok(
            "Retention",
            f"unfinished {periods.unfinished_days} days, finished without a lead {periods.not_eligible_days} days, "
            f"closed leads {periods.closed_lead_days} days",
        )
    ]


def backup_items(settings: Settings) -> list[Item]:
    """A backup folder set, apart from the database, with a backup from the last two days."""
    from datetime import UTC, datetime, timedelta

    from .store.backup import newest_backup

    folder = settings.backup_dir
    daily = (
        "run `screening-bot backup` daily (deploy/systemd/screening-bot-backup.timer, or cron), keep the key apart "
        "from the backups, and try `screening-bot restore` once on another machine (README, 'Backups')"
    )
    if folder is None:
        return [
            todo(
                "Backups",
                "SCREENING_BACKUP_DIR is not set: nothing is backed up, and a damaged disk loses every lead.",
                f"Set screening_backup_dir to a folder on another disk (or a mounted backup share), then {daily}.",
            )
        ]
    if folder.resolve() == settings.db_path.resolve().parent:
        return [todo("Backups", f"{folder} is the database's own folder.", "Choose a folder on another disk.")]
    newest = newest_backup(folder, settings.db_path.stem) if folder.is_dir() else None
    if newest is None:
        return [
            todo("Backups", f"There is no backup in {folder} yet.", f"Take one now (`screening-bot backup`); {daily}.")
        ]
    path, at = newest
    age = datetime.now(UTC) - at
    if age > timedelta(days=2):
        return [todo("Backups", f"The newest backup, {path.name}, is {age.days} days old.", f"Take one now; {daily}.")]
    return [
        ok(
            "Backups",
            f"newest {path.name} ({age.total_seconds() / 3600:.0f} h old) in {folder}; kept "
            f"{settings.backup_keep_days} days",
        )
    ]


def check_launch(settings: Settings) -> list[Item]:
    """Every check, in the order a site would work through them; those of a dialog file once per trial (each
    named by its dialog id when there are several)."""
    try:
        dialogs = [load_dialog(path) for path in settings.dialog_files()]
        check_trial_sites(settings, dialogs)
    except (DialogError, ConfigError) as exc:
        return [todo("Dialog file", str(exc), "Fix the dialog file; `screening-bot check-dialog` checks it.")]

    def each(check: Callable[[Dialog], list[Item]]) -> list[Item]:
        if len(dialogs) == 1:
            return check(dialogs[0])
        return [replace(item, topic=f"{d.id}: {item.topic}") for d in dialogs for item in check(d)]

    return [
        *each(lambda d: approval_items(settings, d, default=d is dialogs[0])),
        *each(recruiting_items),
        *each(dialog_items),
        *overrides_items(settings.locales_dir),
        *each(lambda d: translation_items(d, settings.locales_dir)),
        *each(lambda d: site_items(settings, d, dialogs[0])),
        *staff_items(settings),
        *web_items(settings),
        *key_items(settings),
        *each(lambda d: database_items(settings, d)),
        *backup_items(settings),
        *retention_items(settings),
    ]


def report(items: list[Item], out: TextIO | None = None) -> int:
    """Print open items in full, then OK items one line each; 1 while anything is open, else 0."""
    out = out or sys.stdout
    still = [i for i in items if i.open]
    done = [i for i in items if not i.open]
    if still:
        print(f"Not ready to go live: {len(still)} open, {len(done)} OK.\n", file=out)
    else:
        print(f"Ready to go live: all {len(done)} checks OK.\n", file=out)
    for item in still:
        print(f"OPEN  {item.topic}: {item.says}", file=out)
        print(f"      To close: {item.fix}\n", file=out)
    for item in done:
        print(f"OK    {item.topic}: {item.says}", file=out)
    return 1 if still else 0
