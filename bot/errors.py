"""What a person sees when a command cannot go on: one line that says what is wrong and what to do.

Failures with a known cause are raised where they are found, as `Problem` (or ConfigError,
DialogError, VaultError), with such a message. Failures of the environment that can strike
anywhere (a full disk, a locked or read-only database, a folder that is not there, a closed
pipe) are explained here, once, by `explain`. Anything else is a bug: `incident` gives it a
short id for the person to report, and logs its type and where it happened (bot/logs.py:
one line, no message text that could hold what someone typed, no secrets).

Exit statuses of `screening-bot` (README, "When something goes wrong"):
0 done; 1 nothing to do (no such lead, erase not confirmed); 2 could not be done, the message
says why (also argparse's status for a mistyped command); 70 an unexpected failure, a bug to
report with its incident id; 130 stopped with Ctrl-C.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import sqlite3
import sys
from pathlib import Path

from sqlcipher3 import dbapi2 as sqlcipher_errors

from .logs import exception_summary, redact

log = logging.getLogger("bot")

EXIT_PROBLEM = 2
EXIT_BUG = 70
EXIT_INTERRUPTED = 130

#: What a failed save raises (SQLite, or the file system under it): channels catch these to say sorry kindly.
#: The bot's SQLite is SQLCipher (bot/store/sqlcipher.py), whose errors are its own classes.
STORAGE_ERRORS: tuple[type[Exception], ...] = (sqlcipher_errors.Error, sqlite3.Error, OSError)


class Problem(Exception):
    """A failure with a known cause; the message says what is wrong and what to do (exit status 2)."""


_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def explain_os_error(exc: OSError, doing: str = "use", subject: str | Path | None = None) -> str:
    """An OSError as one sentence: what could not be done to which path, why, and what to do.

    `doing` and `subject` say what was tried ("create the database", path); without a subject
    the path is the one the error names."""
    target = str(subject or exc.filename or "")
    what = f"cannot {doing} {target}" if target else f"cannot {'write' if exc.errno in _FULL else 'go on'}"
    if exc.filename and str(exc.filename) != target:
        what += f" ({exc.filename})"
    if exc.errno in _FULL:
        return f"{what}: no space left (the disk or a quota is full). Free some space, then try again."
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{what}: permission denied. Fix the owner or mode of that path, or choose a path you may use."
    if exc.errno == errno.EROFS:
        return f"{what}: the file system is read-only. Choose a path on a writable disk."
    if exc.errno == errno.ENOENT:
        return f"{what}: no such file or folder. Check the path (a folder in it may be missing)."
    if exc.errno == errno.EISDIR:
        return f"{what}: that is a folder. Give the path of a file."
    if exc.errno == errno.EEXIST:
        return f"{what}: a file of that name is in the way. Give another path, or move that file."
    if exc.errno == errno.ENOTDIR:
        return f"{what}: part of that path is a file, not a folder. Check the path."
    if exc.errno == errno.EADDRINUSE:
        return f"{what}: the address is already in use by another program. Stop it, or choose another port."
    return f"{what}: {exc.strerror or type(exc).__name__}."


def explain_sqlite_error(exc: sqlite3.Error | sqlcipher_errors.Error, db_path: str | Path | None) -> str:
    """A SQLite failure as one sentence naming the database file and what to do."""
    db = str(db_path) if db_path else "the database"
    code = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if code.startswith("SQLITE_BUSY") or code.startswith("SQLITE_LOCKED") or "locked" in text:
        return (
            f"the database {db} is locked by another program (a backup, an open sqlite3 shell, a long staff "
            "command?) and stayed locked for 5 seconds. Try again when it is done."
        )
    if code.startswith("SQLITE_FULL") or "is full" in text:
        return (
            f"cannot write the database {db}: the disk is full. Free some space, then try again; "
            "what was saved before is kept."
        )
    if code.startswith("SQLITE_READONLY") or "readonly" in text:
        return (
            f"cannot write the database {db}: this user may only read it. The file, its folder and its "
            "-wal and -shm files must be writable; fix their owner or mode, or use another path (SCREENING_DB or --db)."
        )
    if code.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return (
            f"cannot open the database {db}: its folder is missing or this user may not write in it. "
            "Check the path (SCREENING_DB or --db) and the folder's permissions."
        )
    if code.startswith("SQLITE_IOERR") or "I/O error" in text:
        return (
            f"cannot write the database {db}: the disk failed the write (it may be full, or failing). "
            "Free some space or check the disk, then try again; what was saved before is kept."
        )
    if code.startswith("SQLITE_NOTADB") or "not a database" in text:
        return (
            f"{db} is not a SQLite database. Check that SCREENING_DB or --db points at the screening database; "
            "if the file was damaged, restore it from a backup."
        )
    if code.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return (
            f"the database {db} is damaged ({text}). Stop the bot and restore the database from a backup "
            "(screening-bot restore; see README, 'Backups')."
        )
    return f"the database {db} failed: {text}. Check the disk and the file, then try again."


def explain(exc: BaseException, db_path: str | Path | None = None) -> str | None:
    """The one-line message for a failure of the environment, or None when it is not one we know."""
    if isinstance(exc, BrokenPipeError):
        return "the output was closed before all of it was written (e.g. by `head`); nothing else went wrong."
    if isinstance(exc, sqlite3.Error | sqlcipher_errors.Error):
        return explain_sqlite_error(exc, db_path)
    if isinstance(exc, OSError):
        return explain_os_error(exc, "write" if exc.errno in _FULL else "use")
    return None


def incident(exc: BaseException) -> str:
    """Log an unexpected failure on one line under a short id; return the message for the person."""
    incident_id = secrets.token_hex(3)
    log.error("incident %s: %s", incident_id, exception_summary(exc))
    return (
        f"an unexpected error stopped screening-bot (incident {incident_id}). This is a bug: please report it "
        "with this id to the people who run the bot; the log line with the same id has the details."
    )


def one_line(message: str) -> str:
    """A message as printed: one line, with no secret in it."""
    return redact(" ".join(message.split()))


def failed(message: str, status: int = EXIT_PROBLEM, prefix: str = "error: ") -> int:
    """Print the message on stderr as one line (no secret in it) and return the exit status."""
    with contextlib.suppress(OSError, ValueError):  # stderr itself broken: the status still tells
        print(prefix + one_line(message), file=sys.stderr, flush=True)
    return status


def settle_standard_streams() -> set[str]:
    """Make stdin, stdout and stderr safe to use; return the names of those that were closed.

    A closed descriptor 0, 1 or 2 would be handed to the next file opened (the database,
    say), and a stray print would then write into it: /dev/null takes its place instead.
    Text that cannot be decoded or shown (a GBK file piped in, a Latin-1 terminal) becomes
    a replacement character instead of an error.
    """
    closed = set()
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, "r" if fd == 0 else "w", encoding="utf-8", closefd=False))  # noqa: SIM115
            closed.add(name)
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(OSError, ValueError):
                reconfigure(errors="replace")
    return closed
