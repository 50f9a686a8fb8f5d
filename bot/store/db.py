"""The SQLite file: opening it safely, and the schema with its migrations.

WAL mode lets a reader (staff export) run beside the bot; `synchronous=FULL`
makes a committed answer survive a power cut, which matters more here than speed.
(In the long-running async processes the storage switches to group commit, storage.py and
durable.py: the same guarantee for everything acknowledged, with one fsync for many chats.)
The file is created readable by its owner only: it holds health data.

Long on purpose: the schema's whole history: every migration stays as released (never
edited), appended one after another.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlite_utils

from ..errors import Problem, explain_os_error, explain_sqlite_error
from ..files import new_files_removed_on_failure
from . import sqlcipher
from .wipe import database_file, wipe_pending

log = logging.getLogger(__name__)


def _v1(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            user_key TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'active',
            state TEXT NOT NULL,
            language TEXT NOT NULL,
            respondent TEXT,
            answers TEXT NOT NULL DEFAULT '{}',
            editing INTEGER NOT NULL DEFAULT 0,
            last_question TEXT NOT NULL DEFAULT '',
            draft TEXT NOT NULL DEFAULT '[]',
            outcome TEXT NOT NULL DEFAULT '',
            dialog_id TEXT NOT NULL,
            dialog_version TEXT NOT NULL,
            dialog_hash TEXT NOT NULL,
            consent_version TEXT NOT NULL DEFAULT '',
            consented_at TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE UNIQUE INDEX conversations_by_user ON conversations(channel, user_key)")
    db.execute(
        """
        CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            question_id TEXT NOT NULL,
            value TEXT NOT NULL,
            answered_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX answers_by_conversation ON answers(conversation_id)")
    db.execute(
        """
        CREATE TABLE outcomes (
            id INTEGER PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            outcome TEXT NOT NULL,
            reasons TEXT NOT NULL,
            ready_from TEXT NOT NULL DEFAULT '',
            dialog_version TEXT NOT NULL,
            decided_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX outcomes_by_conversation ON outcomes(conversation_id)")


def _v2_dialog_versions(db: sqlite_utils.Database) -> None:
    """Every dialog text the bot has run, so an edit without a new version is caught (see store/dialog_versions.py)."""
    db.execute(
        """
        CREATE TABLE dialog_versions (
            dialog_id TEXT NOT NULL,
            version TEXT NOT NULL,
            hash TEXT NOT NULL,
            text TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (dialog_id, version)
        )"""
    )


def _v3_leads_and_privacy(db: sqlite_utils.Database) -> None:
    """Contact capture, leads, the audit log, anonymous counters and the encryption check.

    Contact details are stored only as Fernet tokens (`*_enc`); `phone_hash` is a keyed
    HMAC of the E.164 number so duplicates are found without decrypting every row.
    Leads hang off their conversation (ON DELETE CASCADE), so erasing a person erases
    everything that links to them in one DELETE. The audit log refuses edits.
    """
    for column in ("contact_step", "contact_consent_version", "contact_consented_at"):
        db.execute(f"ALTER TABLE conversations ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
    db.execute(
        """
        CREATE TABLE leads (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            channel TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            outcome TEXT NOT NULL,
            respondent TEXT,
            language TEXT NOT NULL,
            call_language TEXT NOT NULL DEFAULT '',
            call_time TEXT NOT NULL DEFAULT '',
            phone_enc TEXT NOT NULL,
            phone_hash TEXT NOT NULL,
            name_enc TEXT NOT NULL DEFAULT '',
            username_enc TEXT NOT NULL DEFAULT '',
            reasons TEXT NOT NULL DEFAULT '[]',
            review_answers TEXT NOT NULL DEFAULT '[]',
            criteria TEXT NOT NULL DEFAULT '{}',
            dialog_version TEXT NOT NULL,
            contact_consent_version TEXT NOT NULL,
            contact_consented_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'new',
            close_reason TEXT NOT NULL DEFAULT '',
            repeat_count INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            status_changed_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX leads_by_conversation ON leads(conversation_id)")
    db.execute("CREATE INDEX leads_by_phone ON leads(phone_hash)")
    db.execute("CREATE INDEX leads_by_status ON leads(status, created_at)")
    db.execute(
        """
        CREATE TABLE lead_history (
            id INTEGER PRIMARY KEY,
            lead_id TEXT NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            who TEXT NOT NULL,
            change TEXT NOT NULL,
            status TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX lead_history_by_lead ON lead_history(lead_id)")
    db.execute(
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            who TEXT NOT NULL,
            action TEXT NOT NULL,
            lead_id TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT ''
        )"""
    )
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"""CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"""
        )
    db.execute(
        """
        CREATE TABLE counters (
            month TEXT NOT NULL,
            name TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (month, name)
        )"""
    )
    db.execute(
        """
        CREATE TABLE vault (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            hash_key_enc TEXT NOT NULL,
            created_at TEXT NOT NULL,
            rotated_at TEXT NOT NULL DEFAULT ''
        )"""
    )


def _v4_telegram(db: sqlite_utils.Database) -> None:
    """Telegram: update ids already seen (replays change nothing) and the one reminder per conversation."""
    db.execute("CREATE TABLE telegram_updates (update_id INTEGER PRIMARY KEY, seen_at TEXT NOT NULL)")
    db.execute(
        """
        CREATE TABLE telegram_reminders (
            conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
            chat_id INTEGER NOT NULL,
            due_at TEXT NOT NULL DEFAULT '',
            sent_at TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX telegram_reminders_due ON telegram_reminders(due_at)")


def _v5_ready_reminders(db: sqlite_utils.Database) -> None:
    """The one opted-in reminder on the date a "not yet" person may meet the time rules (bot/rescreen.py).

    It hangs off its conversation (ON DELETE CASCADE), so /delete and the purge erase it;
    `address_enc` is where the channel sends it (a Telegram chat id), encrypted with the vault;
    `earlier_answers` holds the answers offered as defaults while the person answers again.
    """
    db.execute(
        """
        CREATE TABLE ready_reminders (
            conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
            ready_on TEXT NOT NULL,
            status TEXT NOT NULL,
            consent_version TEXT NOT NULL DEFAULT '',
            consented_at TEXT NOT NULL DEFAULT '',
            due_at TEXT NOT NULL DEFAULT '',
            address_enc TEXT NOT NULL DEFAULT '',
            sent_at TEXT NOT NULL DEFAULT '',
            earlier_answers TEXT NOT NULL DEFAULT '{}'
        )"""
    )
    db.execute("CREATE INDEX ready_reminders_due ON ready_reminders(status, due_at)")


def _v6_telegram_staff(db: sqlite_utils.Database) -> None:
    """Telegram, wave 2: reminder chat ids encrypted; the staff chat's post about each lead.

    `chat_enc` replaces the plain `chat_id` (kept at 0: SQLite cannot drop a NOT NULL
    column in place; TelegramStore encrypts any old row on start). A staff post has no
    foreign key on purpose: it must outlive an erased lead just long enough for the
    bot to blank the message in the staff chat. It holds no personal data: a random
    lead id and the staff chat's own id.
    """
    db.execute("ALTER TABLE telegram_reminders ADD COLUMN chat_enc TEXT NOT NULL DEFAULT ''")
    db.execute(
        """
        CREATE TABLE telegram_staff_posts (
            lead_id TEXT PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            posted_at TEXT NOT NULL
        )"""
    )


def _v7_urgent_leads_and_consents(db: sqlite_utils.Database) -> None:
    """Safety and PIPL: urgent leads, separate consents, and a typed risk noted without its words.

    `leads.urgent` says why the study team should reach a person first ("" = not urgent):
    question ids of risk answers and/or "typed_risk". `conversations.consents` holds each
    separate consent given (health data, servers abroad) with its version and time, as
    JSON; `conversations.risk_signal` is 1 once a typed message may have meant a risk of
    suicide (the message itself is never stored).
    """
    db.execute("ALTER TABLE leads ADD COLUMN urgent TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX leads_by_urgency ON leads(urgent, created_at)")
    db.execute("ALTER TABLE conversations ADD COLUMN consents TEXT NOT NULL DEFAULT '{}'")
    db.execute("ALTER TABLE conversations ADD COLUMN risk_signal INTEGER NOT NULL DEFAULT 0")


def _v8_leads_you_can_trust(db: sqlite_utils.Database) -> None:
    """Issue 17: possible duplicates, staff messages to blank on erasure, pending WAL wipes, chat ids
    for re-keying, and the one hash key kept for conversations that could not be re-keyed yet.

    - `lead_links`: two leads (two conversations) that gave the same phone number, for staff
      to merge or mark "not a duplicate"; it goes with either lead (ON DELETE CASCADE), and
      never moves anything between them.
    - `telegram_staff_views`: each private /lead card and /export file that showed a lead
      to a staff member (staff chat id, message id, random lead id: no personal data); no
      foreign key on purpose, like `telegram_staff_posts`: it outlives an erased lead until
      the bot has blanked the message.
    - `wal_wipes`: erasures whose write-ahead log is not emptied yet (a time only).
    - `channel_addresses`: the raw id a channel knows a person by (a Telegram chat id),
      encrypted, one per conversation, erased with it: what lets `rotate-key` re-derive the
      conversation's pseudonym. Filled from the reminders' encrypted chat ids, which are
      then blanked (one copy instead of two). `legacy_enc` is the old pseudonym, encrypted,
      of a conversation whose chat id was never stored (re-keyed when the person writes).
    - `vault.legacy_hash_key_enc`: the hash key those old pseudonyms were made with, kept
      (encrypted) only while such a conversation is left.
    """
    db.execute(
        """
        CREATE TABLE lead_links (
            lead_id TEXT NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
            other_id TEXT NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
            reason TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open',
            noted_at TEXT NOT NULL,
            decided_at TEXT NOT NULL DEFAULT '',
            decided_by TEXT NOT NULL DEFAULT '',
            kept TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (lead_id, other_id)
        )"""
    )
    db.execute("CREATE INDEX lead_links_by_other ON lead_links(other_id)")
    db.execute(
        """
        CREATE TABLE telegram_staff_views (
            chat_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            lead_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            shown_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, message_id, lead_id)
        )"""
    )
    db.execute("CREATE INDEX telegram_staff_views_by_lead ON telegram_staff_views(lead_id)")
    db.execute("CREATE TABLE wal_wipes (id INTEGER PRIMARY KEY, requested_at TEXT NOT NULL)")
    db.execute(
        """
        CREATE TABLE channel_addresses (
            conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
            address_enc TEXT NOT NULL DEFAULT '',
            legacy_enc TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute(
        "INSERT INTO channel_addresses (conversation_id, address_enc)"
        " SELECT conversation_id, chat_enc FROM telegram_reminders WHERE chat_enc != ''"
    )
    db.execute("UPDATE telegram_reminders SET chat_enc = '' WHERE chat_enc != ''")
    db.execute("ALTER TABLE vault ADD COLUMN legacy_hash_key_enc TEXT NOT NULL DEFAULT ''")


def _v9_staff_console(db: sqlite_utils.Database) -> None:
    """Issue 19: the study team's console on the web (bot/console): accounts, their sessions, call attempts.

    - `staff_accounts`: one row per person; the password only as an Argon2id hash, the TOTP
      secret only encrypted with the vault's key (bot/store/vault.py re-encrypts it at
      rotation); failed logins and a lock-out time for the back-off; `totp_last_step` so one
      code cannot be used twice.
    - `staff_sessions`: a keyed hash of each console session's cookie (never the cookie), its
      kind (`enrol`: signed in with the password only, to set up the second factor; `full`),
      and when it was last used, for the idle timeout.
    - `contact_attempts`: each call or message to a lead (time, who, result, a short note);
      they go with the lead (ON DELETE CASCADE): erased with it, never kept after it.
    """
    db.execute(
        """
        CREATE TABLE staff_accounts (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            totp_secret_enc TEXT NOT NULL DEFAULT '',
            totp_last_step INTEGER NOT NULL DEFAULT 0,
            must_enrol INTEGER NOT NULL DEFAULT 1,
            disabled INTEGER NOT NULL DEFAULT 0,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            last_login_at TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute(
        """
        CREATE TABLE staff_sessions (
            token_hash TEXT PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES staff_accounts(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            created_at TEXT NOT NULL,
            seen_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX staff_sessions_by_account ON staff_sessions(account_id)")
    db.execute(
        """
        CREATE TABLE contact_attempts (
            id INTEGER PRIMARY KEY,
            lead_id TEXT NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            who TEXT NOT NULL,
            result TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX contact_attempts_by_lead ON contact_attempts(lead_id, at)")


def _v10_notification_outbox(db: sqlite_utils.Database) -> None:
    """Issue 19: notifications of new leads (bot/notify), kept until each is delivered.

    One row per message and target (an e-mail address, a group robot ...): the target by a
    key (a hash of its URL, which holds passwords and tokens, so never the URL), the lead
    id, what kind of message, when to try next, how many tries, the last error's kind, and
    when it was sent. No personal data: the message says only "new lead 3f2a, urgent".
    Rows go with their lead (ON DELETE CASCADE): an erased lead is never announced.
    `claimed_until` lets two processes share the outbox without sending a message twice.
    """
    db.execute(
        """
        CREATE TABLE notification_outbox (
            id INTEGER PRIMARY KEY,
            lead_id TEXT REFERENCES leads(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            urgent INTEGER NOT NULL DEFAULT 0,
            target TEXT NOT NULL,
            target_label TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            next_try_at TEXT NOT NULL,
            tries INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            claimed_until TEXT NOT NULL DEFAULT '',
            sent_at TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX notification_outbox_due ON notification_outbox(sent_at, next_try_at)")
    db.execute("CREATE INDEX notification_outbox_by_lead ON notification_outbox(lead_id, kind)")


def _v11_audit_chain(db: sqlite_utils.Database) -> None:
    """Issue 17: a tamper-evident audit log, and which leads each view or export showed.

    - `audit_log.chain`: an HMAC-SHA256 over the previous entry's chain and this entry's content
      (bot/store/audit.py), keyed with the audit key: a random key kept in the vault
      (`vault.audit_key_enc`, encrypted like the hash key). The entries made before this
      migration are chained when the vault first makes that key, followed by a marked
      genesis entry (`audit-chain-start`), so their content is protected from then on.
    - `audit_log.leads_seen`: the ids of the leads a list, a card or an export showed
      (space-separated), not only how many.
    """
    db.execute("ALTER TABLE audit_log ADD COLUMN leads_seen TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE audit_log ADD COLUMN chain TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE vault ADD COLUMN audit_key_enc TEXT NOT NULL DEFAULT ''")


def _v12_flow_states(db: sqlite_utils.Database) -> None:
    """Issue 18: contact capture and the reminder offer are states of the flow, not a `contact_step` column.

    A finished conversation in the middle of contact capture moves to that step's state
    (`contact_phone` ...), one that finished it to `contact_done` or `contact_declined`;
    the others stay at their outcome. `contact_step` is kept (SQLite cannot drop it in
    place) and no longer written."""
    for step, state in (
        ("ask", "contact_consent"),
        ("phone", "contact_phone"),
        ("name", "contact_name"),
        ("time", "contact_time"),
        ("language", "contact_language"),
        ("done", "contact_done"),
        ("declined", "contact_declined"),
    ):
        db.execute(
            "UPDATE conversations SET state = ?, contact_step = '' WHERE outcome != '' AND contact_step = ?",
            [state, step],
        )
    db.execute("UPDATE conversations SET contact_step = '' WHERE contact_step != ''")


def _v13_web_state(db: sqlite_utils.Database) -> None:
    """Issue 20: the web chat keeps nothing in a process's memory (bot/store/web_state.py).

    - `web_limits`: a token bucket per session and per address (keyed hashes, no address stored).
    - `web_turns`: the last reply of each web session, to draw after the redirect, under a key of
      the session's own and with its conversation's id; it goes with that conversation (the
      trigger), whichever way it is deleted.
    """
    db.execute("CREATE TABLE web_limits (bucket TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL)")
    db.execute(
        "CREATE TABLE web_turns (session TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, turn TEXT NOT NULL,"
        " at REAL NOT NULL)"
    )
    db.execute("CREATE INDEX web_turns_by_conversation ON web_turns(conversation_id)")
    db.execute(
        """
        CREATE TRIGGER web_turns_go_with_their_conversation AFTER DELETE ON conversations
        BEGIN
            DELETE FROM web_turns WHERE conversation_id = old.id;
        END"""
    )


def _v14_several_trials(db: sqlite_utils.Database) -> None:
    """Issue 18: several trials on one database. Conversations, leads and counters carry the dialog id.

    - `conversations`: one per person *and trial*, so screening for a second trial never takes over
      the first: the unique index becomes (channel, user_key, dialog_id); its first two columns still
      find a person's conversations in every trial (their /delete). Every row has named its dialog
      since v1.
    - `leads.dialog_id`: the trial a lead is for, from its conversation; an index to filter by it.
    - `counters`: per trial as well (dialog_id in the key). The counts kept so far belong to the one
      trial this database has run (named by dialog_versions and the conversations), or, if that
      cannot be told, to none ("": shown only in the totals of every trial).
    """
    db.execute("DROP INDEX conversations_by_user")
    db.execute("CREATE UNIQUE INDEX conversations_by_user ON conversations(channel, user_key, dialog_id)")
    db["leads"].add_column("dialog_id", str, not_null_default="")
    db.execute(
        "UPDATE leads SET dialog_id = (SELECT c.dialog_id FROM conversations c WHERE c.id = leads.conversation_id)"
    )
    db.execute("CREATE INDEX leads_by_trial ON leads(dialog_id, created_at)")
    ran = db.execute("SELECT dialog_id FROM dialog_versions UNION SELECT dialog_id FROM conversations").fetchall()
    db["counters"].add_column("dialog_id", str, not_null_default="")
    if len(ran) == 1:
        db.execute("UPDATE counters SET dialog_id = ?", [ran[0][0]])
    db["counters"].transform(pk=("month", "dialog_id", "name"))  # a savepoint inside this migration's transaction


#: Schema migrations, in order. Never edit a released one: append a new function.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1,
    _v2_dialog_versions,
    _v3_leads_and_privacy,
    _v4_telegram,
    _v5_ready_reminders,
    _v6_telegram_staff,
    _v7_urgent_leads_and_consents,
    _v8_leads_you_can_trust,
    _v9_staff_console,
    _v10_notification_outbox,
    _v11_audit_chain,
    _v12_flow_states,
    _v13_web_state,
    _v14_several_trials,
]


class StoreError(Problem):
    """The database cannot be opened or brought up to date; the message names the file and what to do."""


def database_files(path: Path) -> list[Path]:
    """The database file and the two SQLite keeps beside it in WAL mode."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


class WrongKey(StoreError):
    """No key given opens this (encrypted) database; the caller says where the keys came from."""


def open_database(path: str | Path, keys: Sequence[bytes] = ()) -> sqlite_utils.Database:
    """Open (creating if needed, mode 0600), check and migrate the screening database.

    With `keys` (raw SQLCipher keys, newest first: bot/store/vault.py) the file is encrypted
    with the first; an older one still opens it and the file is re-keyed to the first (a key
    rotation cut short); an unencrypted file is encrypted in place first (`encrypt_in_place`).
    Without keys the file is plain SQLite (the tests, and in-memory stores).

    Every way this can fail ends in a StoreError naming the file and what to do, and
    leaves the disk as it was: a database (or folder) made by this call is removed again.
    """
    path = Path(path)
    if str(path) == ":memory:":
        return _prepare(sqlcipher.connect(":memory:"), path)
    if path.is_dir():
        raise StoreError(
            f"{path} is a folder, not a database file. Set SCREENING_DB (or --db) to a file, "
            f"for example {path / 'screening.db'}."
        )
    with new_files_removed_on_failure(*database_files(path)):
        conn = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            if keys and sqlcipher.is_plaintext(path):
                encrypt_in_place(path, keys[0])
            conn, key = _unlock(path, keys)
            db = _prepare(conn, path, key)
        except BaseException as exc:
            if conn is not None:
                conn.close()  # before its files are removed
            if isinstance(exc, OSError):
                raise StoreError(explain_os_error(exc, "create the database", path)) from exc
            if isinstance(exc, sqlcipher.sqlite.Error):
                raise StoreError(explain_sqlite_error(exc, path)) from exc
            raise
    return db


def _unlock(path: Path, keys: Sequence[bytes]) -> tuple[sqlcipher.sqlite.Connection, bytes | None]:
    """A connection to the file with the key that opens it (re-keyed to the newest); none: unencrypted."""
    if not keys:
        return sqlcipher.connect(path), None
    for number, key in enumerate(keys):
        conn = sqlcipher.connect(path, key)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher.sqlite.DatabaseError as exc:
            conn.close()
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_NOTADB":
                continue
            raise
        if number:
            conn.execute(f"PRAGMA rekey = \"x'{keys[0].hex()}'\"")  # a rotation cut short: finish it
            log.warning("the database %s was re-keyed to the newest key (a key rotation had not finished)", path)
        return conn, keys[0]
    size = path.stat().st_size
    if size % 512 or not size:  # SQLCipher files are whole pages; this is something else
        raise StoreError(
            f"{path} is not a SQLite database. Check that SCREENING_DB or --db points at the screening database; "
            "if the file was damaged, restore it from a backup."
        )
    raise WrongKey(f"the key does not open the database {path}")


def encrypt_in_place(path: Path, key: bytes) -> None:
    """Encrypt an unencrypted database file (one from before encryption): all or nothing.

    Only while no other program has it open: leaving WAL mode needs the file to itself, so
    a running bot or an open `sqlite3` shell stops this with a clear message. The copy is made
    with SQLCipher's `sqlcipher_export` into a new file beside it, synced, and renamed over the
    old one; the old file's bytes are then overwritten with zeros through a handle kept open
    (best effort: a copy-on-write file system or an SSD may keep old blocks; README, "Privacy")."""
    new = path.with_name(path.name + ".encrypting")
    new.unlink(missing_ok=True)
    conn = sqlcipher.connect(path, timeout=0)
    try:
        check_integrity(sqlite_utils.Database(conn), path)  # never encrypt a damaged file, or a newer one
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise StoreError(newer(path, version))
        try:
            conn.execute("PRAGMA journal_mode=DELETE")  # the WAL copied back and removed; fails if anyone reads
        except sqlcipher.sqlite.OperationalError as exc:
            if "locked" not in str(exc) and not getattr(exc, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
                raise
            raise StoreError(
                f"the database {path} is not encrypted yet, and another program has it open (a running bot, a "
                "staff command, an sqlite3 shell?). Stop it, then start again: the database is encrypted at start."
            ) from exc
        os.close(os.open(new, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
        conn.execute(f"ATTACH DATABASE ? AS encrypted KEY \"x'{key.hex()}'\"", [str(new)])
        conn.execute("SELECT sqlcipher_export('encrypted')")
        conn.execute(f"PRAGMA encrypted.user_version = {version}")
        conn.execute("DETACH DATABASE encrypted")
    except BaseException:
        conn.close()
        new.unlink(missing_ok=True)
        raise
    conn.close()
    fd = os.open(new, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    old = os.open(path, os.O_WRONLY)
    try:
        size = os.fstat(old).st_size
        os.replace(new, path)
        _fsync_folder(path.parent)
        written = 0
        zeros = bytes(1 << 16)
        while written < size:
            written += os.write(old, zeros[: min(len(zeros), size - written)])
        os.fsync(old)
    finally:
        os.close(old)
    log.warning(
        "the database %s was not encrypted: it is now (SQLCipher, with the key from the vault); "
        "the old file's bytes were overwritten",
        path,
    )


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _settle(conn: sqlcipher.sqlite.Connection, key: bytes | None = None) -> sqlite_utils.Database:
    """The pragmas every connection to the screening database has."""
    db = sqlite_utils.Database(conn)
    if key:
        sqlcipher.remember_key(db, key)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA secure_delete=ON")  # erased rows are overwritten, not left in free pages
    db.execute("PRAGMA busy_timeout=5000")
    return db


def _prepare(conn: sqlcipher.sqlite.Connection, path: Path, key: bytes | None = None) -> sqlite_utils.Database:
    """Settle, check and migrate. A connection that ran migrations is closed and opened again: SQLite keeps
    the schema a connection changed itself apart from the one it reads from the file, and a statement on
    it can stay slower for the connection's life (measured: after migration 14 dropped and made an index,
    saving a conversation took 3 times as long on that connection as on a new one)."""
    db = _settle(conn, key)
    check_integrity(db, path)
    if migrate(db, path) and str(path) != ":memory:":  # an in-memory database would be lost
        conn.close()
        conn = sqlcipher.connect(path, key)
        try:
            db = _settle(conn, key)
        except BaseException:
            conn.close()
            raise
    wipe_pending(db)  # an erasure whose log could not be emptied before (a reader was open)
    return db


def check_integrity(db: sqlite_utils.Database, path: str | Path = "the database") -> None:
    """`PRAGMA quick_check` before anything else touches the file: a damaged page is named at start,
    with what to do, instead of failing (or answering wrongly) halfway through someone's screening.

    It reads every page (a few milliseconds for a database of thousands of screenings) but skips
    the slower index-against-table cross-checks of `integrity_check`."""
    try:
        found = [row[0] for row in db.execute("PRAGMA quick_check(3)").fetchall()]
    except sqlcipher.sqlite.DatabaseError as exc:  # SQLITE_CORRUPT or NOTADB while reading: the same advice
        if not getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            raise  # not damage: a read-only file, a lock ... (bot/errors.py explains those)
        found = [str(exc)]
    if found != ["ok"]:
        raise StoreError(damaged(path, "; ".join(found)))


def damaged(path: str | Path, found: str) -> str:
    """What to say about a damaged database file (the first of SQLite's findings)."""
    first = " ".join(found.split())[:160]
    return (
        f"the database {path} is damaged (SQLite's quick_check: {first}). Stop the bot and restore the "
        "database from a backup (screening-bot restore; see README, 'Backups'); keep the damaged file aside."
    )


def reopen(db: sqlite_utils.Database) -> sqlite_utils.Database | None:
    """A second connection to the same database file, set up alike (None for an in-memory one).

    For work that must not run on the event loop of a channel that shares one connection
    among all its chats (the daily purge): it runs in a worker thread on this one instead.
    The caller closes it (`db.close()`)."""
    path = database_file(db)
    if not path:
        return None
    key = sqlcipher.key_of(db)
    return _settle(sqlcipher.connect(path, key), key)


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def newer(path: str | Path, version: int) -> str:
    return (
        f"{path}: the database schema is version {version}, newer than this program knows "
        f"({len(MIGRATIONS)}): a newer screening-bot made it. Upgrade this program before using this database."
    )


def migrate(db: sqlite_utils.Database, path: str | Path = "the database") -> int:
    """Bring the schema up to date, one transaction per step; how many steps ran."""
    current = schema_version(db)
    if current > len(MIGRATIONS):
        raise StoreError(newer(path, current))
    for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(db) >= number:  # another process (a second web worker) was quicker
                db.execute("COMMIT")
                continue
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return len(MIGRATIONS) - current
