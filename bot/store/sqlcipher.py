"""The one SQLite library the bot uses: SQLCipher 4 (the `sqlcipher3` package), SQLite with every page
encrypted (AES-256 with an HMAC-SHA512 per page), the write-ahead log included.

Every connection to a screening database, in the bot and in its tests, comes from `connect`:
two different SQLite libraries in one process must never open the same file (closing one's
file handle drops the other's POSIX locks: sqlite.org/howtocorrupt.html, 2.2.1). `sqlite` is
the DB-API module, for its error classes.

The key is a raw 256-bit key (`PRAGMA key = "x'…'"`), derived from the Fernet key
(bot/store/vault.py), so there is still one secret to keep; a raw key needs no slow key
stretching, which a random key does not need either.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

from sqlcipher3 import dbapi2 as sqlite

__all__ = ["PLAINTEXT_HEADER", "connect", "is_plaintext", "key_of", "remember_key", "sqlite", "use_key"]

#: The first 16 bytes of an unencrypted SQLite file; an encrypted one starts with random bytes.
PLAINTEXT_HEADER = b"SQLite format 3\x00"


def use_key(conn: sqlite.Connection, key: bytes | None) -> None:
    """Give a new connection its key, before anything is read (none: an unencrypted file)."""
    if key:
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")


def connect(path: str | Path, key: bytes | None = None, timeout: float = 5.0, uri: bool = False) -> sqlite.Connection:
    """A connection in autocommit mode (transactions are ours: bot/store/conversations.transaction),
    usable from a worker thread, quiet (SQLCipher would print a line on stderr for a wrong key)."""
    conn = sqlite.connect(str(path), isolation_level=None, check_same_thread=False, timeout=timeout, uri=uri)
    conn.execute("PRAGMA cipher_log_level = NONE")
    use_key(conn, key)
    return conn


def is_plaintext(path: Path) -> bool:
    """Whether the file is an unencrypted SQLite database (one made before encryption, or by a test)."""
    try:
        with path.open("rb") as f:
            return f.read(16) == PLAINTEXT_HEADER
    except OSError:
        return False


#: database (sqlite_utils.Database) -> the key its file is encrypted with, for second connections
_KEYS: weakref.WeakKeyDictionary[Any, bytes] = weakref.WeakKeyDictionary()


def remember_key(db: Any, key: bytes) -> None:
    _KEYS[db] = key


def key_of(db: Any) -> bytes | None:
    """The key that opened `db` (None: an unencrypted file): what a second connection to it needs
    (the purge's, a WAL wipe's, a backup's)."""
    return _KEYS.get(db)
