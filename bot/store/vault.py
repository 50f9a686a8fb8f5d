"""Encryption at rest for contact details, and keyed hashes for look-ups without decrypting.

One secret to keep: a Fernet key, from `SCREENING_KEY` or a key file (created with
mode 0600 on first run, outside the data folder: bot/config.Settings.key_path). Several
keys may be given, newest first (MultiFernet): the newest encrypts, all decrypt, which
is how rotation works. The whole database file is encrypted too (SQLCipher,
bot/store/sqlcipher.py) with a key derived from the Fernet key (`database_key`):
`open_protected` opens it so, and encrypts a database from before in place.

The key that makes phone hashes and pseudonyms (`hash key`) is random, stored in
the database *encrypted with the Fernet key*; it doubles as the check that the key
is right: a wrong or missing key fails at start with a clear message instead of
producing garbage later.

Rotation (`rotate_key`) replaces both keys and re-derives everything made with the
old ones, in one transaction: every ciphertext is re-encrypted, every phone hash is
recomputed from the decrypted number, and every channel pseudonym from the channel's
raw id, which is kept encrypted per conversation for this (`channel_addresses`). So
the old key, even with a copy of the database from before, opens nothing in the new
one and matches none of its hashes.

A pseudonymous conversation whose raw id was never stored (one untouched since before
chat ids were kept) cannot be re-derived: its old pseudonym is kept encrypted and
replaced by a keyed hash of it under the new key, and the old hash key is kept
(encrypted with the new key) so the person's next message finds it and re-keys it
(`Vault.legacy_hash_key`, bot/store/telegram.py). Once none is left, that key goes.

Long on purpose: every key the bot holds (the Fernet keys, the hash key, the audit key, the
database file's key), how each is opened, checked and rotated, in the one module that sees them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..errors import Problem, explain_os_error
from . import audit, sqlcipher
from .conversations import transaction
from .db import WrongKey, database_files, open_database
from .wipe import request_wipe, wipe_pending

log = logging.getLogger(__name__)


class VaultError(RuntimeError):
    """The encryption key is missing, malformed or does not open this database; the message says what to do."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def database_key(fernet_key: bytes) -> bytes:
    """The raw SQLCipher key of the database file, derived from a Fernet key: still one secret to keep.

    A different purpose string than anything else made from the key, so the database key tells
    nothing about the Fernet key, and the Fernet key's rotation rotates it too."""
    return hmac.new(base64.urlsafe_b64decode(fernet_key), b"screening-bot database key v1", hashlib.sha256).digest()


def pseudonym(channel: str, raw_id: str | int, hash_key: bytes) -> str:
    """A stable, keyed stand-in for a channel's user id (e.g. a Telegram chat id): the raw id is never stored."""
    digest = hmac.new(hash_key, f"user\0{channel}\0{raw_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:32]


@dataclass(frozen=True)
class Keys:
    """The Fernet keys in use (newest first) and where they came from, for messages."""

    keys: tuple[bytes, ...]
    origin: str
    key_file: Path | None = None


def parse_keys(text: str, origin: str) -> tuple[bytes, ...]:
    """Keys separated by commas or new lines; each must be a Fernet key (32 url-safe base64 bytes)."""
    keys = tuple(k.strip().encode() for k in text.replace(",", "\n").splitlines() if k.strip())
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise VaultError(
                f"{origin}: key {number} is not a Fernet key (44 characters of url-safe base64). "
                "Restore it from your backup; see README, 'Encryption key'."
            ) from exc
    return keys


def read_keys(env_key: str, key_file: Path) -> Keys | None:
    """The keys from the environment if set, else from the key file if it exists, else None."""
    if env_key.strip():
        return Keys(parse_keys(env_key, "SCREENING_KEY"), "SCREENING_KEY")
    if key_file.exists():
        owner_only(
            key_file,
            "the key file",
            "Anyone who could read it may have a copy: rotate the key (screening-bot rotate-key).",
        )
        keys = parse_keys(key_file.read_text(encoding="ascii", errors="replace"), str(key_file))
        if not keys:
            raise VaultError(f"{key_file}: the key file is empty. Restore it from your backup.")
        return Keys(keys, str(key_file), key_file)
    return None


def owner_only(path: Path, what: str, advice: str = "") -> None:
    """Make a file readable and writable by its owner only, with a warning if others could read it.

    The bot fixes such a mode at start rather than refusing to start: a mode is easy to fix and
    the fix is safe; it says so, because what others could read they may have copied. A file it
    cannot fix (another user's) stops it with one line."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if not mode & 0o077:
        return
    try:
        os.chmod(path, mode & 0o700)
    except OSError as exc:
        raise Problem(
            f"{what} {path} can be read by other users (mode {mode:04o}) and this user cannot change that: "
            f"{exc.strerror}. Make it readable by the bot's user only (chmod 600 {path})."
        ) from exc
    log.warning(
        "%s %s could be read by other users (mode %04o): it is now mode %04o. %s",
        what,
        path,
        mode,
        mode & 0o700,
        advice,
    )


def write_key_file(path: Path, keys: tuple[bytes, ...]) -> None:
    """Write keys (newest first) readable by the owner only, replacing the file atomically."""
    tmp = path.with_name(path.name + ".new")
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write("\n".join(k.decode() for k in keys) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise VaultError(
            explain_os_error(exc, "write the key file", path)
            + " Its place is SCREENING_KEY_FILE (by default, beside the database)."
        ) from exc


class Vault:
    """Encrypts and decrypts contact details; makes keyed hashes for phone numbers and user ids."""

    def __init__(
        self, keys: tuple[bytes, ...], hash_key: bytes, legacy_hash_key: bytes = b"", audit_key: bytes = b""
    ) -> None:
        self.keys = keys
        self.fernet = MultiFernet([Fernet(k) for k in keys])
        self.hash_key = hash_key
        #: The key of the audit log's chain (bot/store/audit.py); kept, re-encrypted, across rotations.
        self.audit_key = audit_key
        #: The hash key of pseudonyms made before raw ids were kept, while such a conversation is left.
        self.legacy_hash_key = legacy_hash_key

    def encrypt(self, text: str) -> str:
        return self.fernet.encrypt(text.encode()).decode() if text else ""

    def decrypt(self, token: str) -> str:
        return self.fernet.decrypt(token.encode()).decode() if token else ""

    def encrypt_bytes(self, secret: bytes) -> str:
        return self.fernet.encrypt(secret).decode()

    def phone_hash(self, e164: str) -> str:
        """The same number always gives the same hash, so a repeat is found by an index look-up."""
        return hmac.new(self.hash_key, f"phone\0{e164}".encode(), hashlib.sha256).hexdigest()

    def pseudonym(self, channel: str, raw_id: str | int) -> str:
        return pseudonym(channel, raw_id, self.hash_key)

    def legacy_pseudonym(self, old_pseudonym: str) -> str:
        """The user key of a conversation that could not be re-keyed: its old pseudonym, hashed again."""
        return hmac.new(self.hash_key, f"legacy\0{old_pseudonym}".encode(), hashlib.sha256).hexdigest()[:32]


def open_vault(db: sqlite_utils.Database, env_key: str, key_file: Path) -> Vault:
    """The vault for this database: creates a key (file, mode 0600) on first run; refuses a missing or wrong key."""
    vault = _open_vault(db, env_key, key_file)
    _chain_audit_log(db, vault)
    return vault


def _chain_audit_log(db: sqlite_utils.Database, vault: Vault) -> None:
    """The audit log's key: made (and every entry so far chained, bot/store/audit.start_chain) the first time."""
    if not vault.audit_key:
        vault.audit_key = secrets.token_bytes(32)
        with transaction(db):
            db.execute("UPDATE vault SET audit_key_enc = ? WHERE id = 1", [vault.encrypt_bytes(vault.audit_key)])
            audit.start_chain(db, vault.audit_key)
    audit.use_key(db, vault.audit_key)


def _open_vault(db: sqlite_utils.Database, env_key: str, key_file: Path) -> Vault:
    keys = read_keys(env_key, key_file)
    rows = list(db.query("SELECT hash_key_enc, legacy_hash_key_enc, audit_key_enc FROM vault WHERE id = 1"))
    if rows:
        if keys is None:
            raise VaultError(
                f"This database holds encrypted contact details, but no key was found: neither SCREENING_KEY "
                f"nor the key file {key_file} is there. Restore the key from your backup (see README, "
                "'Encryption key'); without it the contact details cannot be read."
            )
        fernet = MultiFernet([Fernet(k) for k in keys.keys])
        try:
            hash_key = fernet.decrypt(rows[0]["hash_key_enc"].encode())
            legacy = rows[0]["legacy_hash_key_enc"]
            legacy_hash_key = fernet.decrypt(legacy.encode()) if legacy else b""
            sealed = rows[0]["audit_key_enc"]
            audit_key = fernet.decrypt(sealed.encode()) if sealed else b""
        except InvalidToken as exc:
            raise VaultError(
                f"The key from {keys.origin} does not open this database (wrong key, or a key from another "
                "installation). Use the key that was backed up with this database; see README, 'Encryption key'."
            ) from exc
        return Vault(keys.keys, hash_key, legacy_hash_key, audit_key)
    if keys is None:
        keys = Keys((Fernet.generate_key(),), str(key_file), key_file)
        write_key_file(key_file, keys.keys)
    hash_key = secrets.token_bytes(32)
    vault = Vault(keys.keys, hash_key)
    db.execute(
        "INSERT INTO vault (id, hash_key_enc, created_at) VALUES (1, ?, ?)",
        [vault.fernet.encrypt(hash_key).decode(), _now()],
    )
    return vault


def open_protected(
    db_path: Path, env_key: str, key_file: Path, old_key_file: Path | None = None
) -> tuple[sqlite_utils.Database, Vault]:
    """The database and its vault, as every command opens them: the key read (or made, for a new
    database), the files' modes checked, the file opened with its key (and encrypted first if it
    was not). A key found in the old place (`old_key_file`, beside the database) is used with a warning."""
    keys = read_keys(env_key, key_file)
    if keys is None and _holds_data(db_path):
        raise VaultError(
            f"The database {db_path} is encrypted (or holds contact details), but no key was found: neither "
            f"SCREENING_KEY nor the key file {key_file} is there. Restore the key from your backup (see README, "
            "'Encryption key'); without it nothing in the database can be read."
        )
    if keys is None:
        keys = Keys((Fernet.generate_key(),), str(key_file), key_file)
        write_key_file(key_file, keys.keys)
    if keys.key_file is not None:
        owner_only(keys.key_file, "the key file", "Anyone who could read it may have a copy: rotate the key.")
    if keys.key_file is not None and old_key_file is not None and keys.key_file == old_key_file:
        log.warning(
            "the key file %s is in the same folder as the database, so one copy of that folder holds both. "
            "Move it out (see README, 'Encryption key') and set SCREENING_KEY_FILE to its new place",
            key_file,
        )
    try:
        db = open_database(db_path, [database_key(k) for k in keys.keys])
    except WrongKey as exc:
        raise VaultError(
            f"The key from {keys.origin} does not open the database {db_path} (a wrong key, or a key from another "
            "installation). Use the key that was backed up with this database; see README, 'Encryption key'."
        ) from exc
    for path in database_files(db_path):  # once it is known to be the database
        owner_only(path, "the database file")
    return db, open_vault(db, env_key, key_file)


def open_existing(db_path: Path, env_key: str, key_file: Path) -> sqlite_utils.Database:
    """An existing database, opened with the key there is (never making one): for tools that only look."""
    keys = read_keys(env_key, key_file)
    if keys is None and _holds_data(db_path):
        raise VaultError(
            f"The database {db_path} is encrypted, but no key was found at {key_file} or in SCREENING_KEY."
        )
    try:
        return open_database(db_path, [database_key(k) for k in keys.keys] if keys else ())
    except WrongKey as exc:
        raise VaultError(f"The key from {keys.origin if keys else '?'} does not open the database {db_path}.") from exc


def _holds_data(db_path: Path) -> bool:
    """Whether an existing file needs its key: any encrypted file, or an unencrypted one with a vault."""
    if not db_path.is_file() or db_path.stat().st_size == 0:
        return False
    if not sqlcipher.is_plaintext(db_path):
        return db_path.stat().st_size % 512 == 0  # whole pages: SQLCipher's; anything else is no database
    conn = sqlcipher.connect(db_path)
    try:
        return bool(conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'vault'").fetchone()) and bool(
            conn.execute("SELECT 1 FROM vault").fetchone()
        )
    except sqlcipher.sqlite.Error:
        return False
    finally:
        conn.close()


#: Every encrypted column in the database, as (table, key column, columns): rotation re-encrypts them all.
ENCRYPTED_COLUMNS = [
    ("leads", "id", ("phone_enc", "name_enc", "username_enc")),
    ("telegram_reminders", "conversation_id", ("chat_enc",)),
    ("ready_reminders", "conversation_id", ("address_enc",)),
    ("channel_addresses", "conversation_id", ("address_enc", "legacy_enc")),
    ("staff_accounts", "id", ("totp_secret_enc",)),
]
#: Channels whose conversations are keyed by a pseudonym of a raw id (bot/channels/telegram/identity.py).
PSEUDONYMOUS_CHANNELS = ("telegram",)


def rotate_key(db: sqlite_utils.Database, vault: Vault, key_file: Path | None) -> bytes:
    """Replace the encryption key and the hash key; re-encrypt and re-derive everything; return the new key.

    Order matters so that a crash at any point loses nothing: the key file first gets
    new+old keys, then the database changes in one transaction, then the file keeps
    only the new key. With SCREENING_KEY the operator must put the returned key in the
    environment (the old one no longer opens the database). Stop the bot first: a
    running one still holds the old keys.
    """
    new_key = Fernet.generate_key()
    both = (new_key, *vault.keys)
    if key_file is not None:
        write_key_file(key_file, both)
    rotator = MultiFernet([Fernet(k) for k in both])
    new = Vault((new_key,), secrets.token_bytes(32))

    def again(token: str) -> str:
        return rotator.rotate(token.encode()).decode() if token else ""

    with transaction(db):
        for table, key, columns in ENCRYPTED_COLUMNS:
            for row in list(db.query(f"SELECT {key}, {', '.join(columns)} FROM {table}")):
                db.execute(
                    f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in columns)} WHERE {key} = ?",
                    [*(again(row[c]) for c in columns), row[key]],
                )
        for row in list(db.query("SELECT id, phone_enc FROM leads")):
            db.execute(
                "UPDATE leads SET phone_hash = ? WHERE id = ?",
                [new.phone_hash(new.decrypt(row["phone_enc"])), row["id"]],
            )
        legacy_left = _rekey_pseudonyms(db, vault, new)
        db.execute(
            "UPDATE vault SET hash_key_enc = ?, legacy_hash_key_enc = ?, audit_key_enc = ?, rotated_at = ?"
            " WHERE id = 1",
            [
                new.encrypt_bytes(new.hash_key),
                new.encrypt_bytes(vault.legacy_hash_key or vault.hash_key) if legacy_left else "",
                new.encrypt_bytes(vault.audit_key) if vault.audit_key else "",
                _now(),
            ],
        )
        request_wipe(db)  # the old ciphertexts and hashes must not linger in the log
    if sqlcipher.key_of(db) is not None:  # the file itself, under the new key (every page rewritten)
        db_key = database_key(new_key)
        db.execute(f"PRAGMA rekey = \"x'{db_key.hex()}'\"")
        sqlcipher.remember_key(db, db_key)
        request_wipe(db)  # pages under the old key must not linger in the log either
        wipe_pending(db)
    if key_file is not None:
        write_key_file(key_file, (new_key,))
    return new_key


def _rekey_pseudonyms(db: sqlite_utils.Database, old: Vault, new: Vault) -> int:
    """Every pseudonymous conversation's user key under the new hash key; how many could only be re-hidden.

    With a stored raw id the pseudonym is made again from it. Without one (a conversation
    untouched since before raw ids were kept) the old pseudonym is kept encrypted and the
    user key becomes a keyed hash of it (see the module doc)."""
    channels = ", ".join("?" for _ in PSEUDONYMOUS_CHANNELS)
    rows = list(
        db.query(
            "SELECT c.id, c.channel, c.user_key, a.address_enc, a.legacy_enc FROM conversations c"
            f" LEFT JOIN channel_addresses a ON a.conversation_id = c.id WHERE c.channel IN ({channels})",
            list(PSEUDONYMOUS_CHANNELS),
        )
    )
    legacy = 0
    for row in rows:
        if row["address_enc"]:
            user_key = new.pseudonym(row["channel"], new.decrypt(row["address_enc"]))
        else:
            old_pseudonym = new.decrypt(row["legacy_enc"]) if row["legacy_enc"] else row["user_key"]
            user_key = new.legacy_pseudonym(old_pseudonym)
            db.execute(
                "INSERT INTO channel_addresses (conversation_id, legacy_enc) VALUES (?, ?)"
                " ON CONFLICT(conversation_id) DO UPDATE SET legacy_enc = excluded.legacy_enc",
                [row["id"], new.encrypt(old_pseudonym)],
            )
            legacy += 1
        db.execute("UPDATE conversations SET user_key = ? WHERE id = ?", [user_key, row["id"]])
    return legacy
