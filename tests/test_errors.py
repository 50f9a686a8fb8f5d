"""No traceback reaches anyone: each bad setting or bad environment ends in one line, exit 2, and no change on disk.

Every case runs the real program (`python -m bot.cli ...`) in a subprocess, as a person or a
supervisor would, and checks stdout and stderr for "Traceback", the exit status, the one
line on stderr, and the files around it before and after.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.dialog.model import Dialog
from bot.replies import NOT_SAVED
from bot.store import open_database

from .cli_support import (
    assert_one_clear_line,
    clean_env,
    default_sigint,
    read_only_folder,
    screening_bot,
    snapshot,
)
from .conftest import ROOT, connect_apart, give_contact, make_lead_screener, reach_outcome, start_screening
from .test_terminal import CANDIDATE
from .web_driver import WebUser, answer, harmless

#: Where the health-data consent comes in CANDIDATE (consent, who, age, sex, Wuhan, then it).
HEALTH_CONSENT = 5

# ---------------------------------------------------------------- the database


def test_a_database_in_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked-away"
    preexec = read_only_folder(folder)
    before = snapshot(tmp_path)
    result = screening_bot("--db", str(folder / "screening.db"), "chat", preexec_fn=preexec)
    assert_one_clear_line(result, str(folder / "screening.db"), "permission denied")
    assert snapshot(tmp_path) == before


def test_an_existing_database_in_a_read_only_folder(tmp_path: Path) -> None:
    db = tmp_path / "shared" / "screening.db"
    open_database(db).conn.close()
    preexec = read_only_folder(db.parent)
    before = snapshot(tmp_path)
    result = screening_bot("--db", str(db), "chat", preexec_fn=preexec)
    assert_one_clear_line(result, f"cannot write the database {db}", "-wal and -shm")
    assert snapshot(tmp_path) == before


def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Shopping: rice, tea, eggs\n" * 40)
    before = snapshot(tmp_path)
    result = screening_bot("chat", env={"SCREENING_DB": str(notes)})
    assert_one_clear_line(result, f"{notes} is not a SQLite database", "SCREENING_DB")
    assert snapshot(tmp_path) == before, "no key file, no -wal or -shm beside it"


def test_screening_db_pointing_at_a_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    before = snapshot(tmp_path)
    result = screening_bot("chat", env={"SCREENING_DB": str(tmp_path / "data")})
    assert_one_clear_line(result, "is a folder, not a database file", str(tmp_path / "data" / "screening.db"))
    assert snapshot(tmp_path) == before


def test_a_database_made_by_a_newer_program(tmp_path: Path) -> None:
    db = tmp_path / "screening.db"
    conn = open_database(db).conn
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = snapshot(tmp_path)
    result = screening_bot("--db", str(db), "chat")
    assert_one_clear_line(result, "schema is version 99, newer than this program knows", "Upgrade")
    assert snapshot(tmp_path) == before


def test_a_database_locked_by_another_program(dialog: Dialog, tmp_path: Path) -> None:
    db = tmp_path / "screening.db"
    make_lead_screener(dialog, db).store.db.conn.close()
    holder = connect_apart(db)
    holder.execute("BEGIN EXCLUSIVE")  # e.g. a backup tool, or a sqlite3 shell left open mid-change
    try:
        result = screening_bot("--db", str(db), "leads", "list")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_one_clear_line(result, f"the database {db} is locked by another program", "Try again")


def test_a_key_file_that_cannot_be_written_leaves_no_half_made_database(tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    result = screening_bot(
        "chat", env={"SCREENING_DB": str(tmp_path / "data" / "s.db"), "SCREENING_KEY_FILE": "/proc/nope/key"}
    )
    assert_one_clear_line(result, "cannot write the key file /proc/nope/key", "no such file or folder")
    assert snapshot(tmp_path) == before, "the new database and its folder are removed again"


# ---------------------------------------------------------------- files and streams


def test_export_script_into_a_folder_that_cannot_exist(tmp_path: Path) -> None:
    result = screening_bot("--db", str(tmp_path / "s.db"), "export-script", "--no-flow", "--out", "/proc/nope")
    assert_one_clear_line(result, "cannot write the ethics pack into /proc/nope", "Nothing was written")
    assert snapshot(tmp_path) == {}


def test_export_script_beside_a_database_it_cannot_open_warns_and_writes_the_pack(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database " * 50)
    result = screening_bot(
        "--db", str(tmp_path / "notes.txt"), "export-script", "--no-flow", "--out", str(tmp_path / "pack")
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert result.stderr.startswith("warning: the versions the bot has run were not checked:")
    assert len(list((tmp_path / "pack").glob("nct06349343-*"))) == 2


def test_qr_codes_into_a_folder_that_cannot_exist() -> None:
    result = screening_bot("qr", "--source", "wuhan", "--public-url", "https://s.example.org", "--out", "/proc/q")
    assert_one_clear_line(result, "cannot write the QR codes into /proc/q", "Nothing was written")


def test_export_script_where_a_file_is_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "pack").write_text("not a folder")
    before = snapshot(tmp_path)
    result = screening_bot(
        "--db", str(tmp_path / "s.db"), "export-script", "--no-flow", "--out", str(tmp_path / "pack")
    )
    assert_one_clear_line(result, f"cannot write the ethics pack into {tmp_path / 'pack'}", "in the way")
    assert snapshot(tmp_path) == before


@pytest.fixture
def two_leads(dialog: Dialog, tmp_path: Path) -> Path:
    db = tmp_path / "screening.db"
    screener = make_lead_screener(dialog, db)
    for user, phone in (("a", "13912345678"), ("b", "13812345678")):
        chat = start_screening(screener, user=user)
        reach_outcome(chat, dialog)
        give_contact(chat, phone, "张伟")
    screener.store.db.conn.close()
    return db


def test_output_into_a_pipe_whose_reader_has_gone(two_leads: Path) -> None:
    """`screening-bot leads list | head -0`, made certain: the pipe is closed before anything is written."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = screening_bot("--db", str(two_leads), "leads", "list", stdout=writer, stderr=subprocess.PIPE)
    finally:
        os.close(writer)
    assert_one_clear_line(result, "the output was closed before all of it was written")


def test_standard_output_closed(two_leads: Path) -> None:
    result = screening_bot(
        "--db", str(two_leads), "leads", "list", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert_one_clear_line(result, "standard output is closed")


def test_standard_input_closed_ends_the_chat_kindly(tmp_path: Path) -> None:
    result = screening_bot("--db", str(tmp_path / "s.db"), "chat", stdin=None, preexec_fn=lambda: os.close(0))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "Do you agree" in result.stdout and "Goodbye" in result.stdout


def test_a_web_port_in_use_stops_before_anything_is_written(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = screening_bot("--db", str(tmp_path / "s.db"), "web", "--port", port)
    assert_one_clear_line(result, f"cannot listen on 127.0.0.1:{port}", "another port")
    assert snapshot(tmp_path) == {}


# ---------------------------------------------------------------- Ctrl-C


def read_until(stream, marker: str, deadline: float) -> str:
    """What the program wrote up to `marker` (pipes are read byte by byte: no buffering games)."""
    seen = ""
    while not seen.endswith(marker):
        assert time.monotonic() < deadline, f"no {marker!r} after:\n{seen}"
        byte = stream.read(1)
        assert byte, f"the program ended before {marker!r}:\n{seen}"
        seen += byte.decode("utf-8", errors="replace")
    return seen


def test_ctrl_c_in_the_chat_says_goodbye_and_keeps_every_answer(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    chat = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--db", str(db), "chat"],
        cwd=ROOT, env=clean_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
    )  # fmt: skip
    assert chat.stdin and chat.stdout and chat.stderr
    deadline = time.monotonic() + 30
    read_until(chat.stdout, "> ", deadline)
    for line in CANDIDATE[:4]:  # consent, the patient, age, sex
        chat.stdin.write(f"{line}\n".encode())
        chat.stdin.flush()
        read_until(chat.stdout, "> ", deadline)  # the next question is asked: the answer is on disk
    chat.send_signal(signal.SIGINT)  # waiting for the fifth answer, as a person presses Ctrl-C
    out, err = chat.communicate(timeout=30)
    assert chat.returncode == 130, err
    assert "Goodbye. Run the chat again to continue where you stopped." in out.decode()
    assert b"Traceback" not in out + err and err == b""
    stored = connect_apart(db).execute("SELECT question_id FROM answers ORDER BY id").fetchall()
    assert [q for (q,) in stored] == ["respondent", "age", "sex"]


# ---------------------------------------------------------------- a full disk


def limited_to(size: int):
    """In the child: no file may grow past `size` bytes, and a write beyond fails (EFBIG) instead of killing it."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def largest_file(folder: Path) -> int:
    return max(p.stat().st_size for p in folder.iterdir())


def test_a_full_disk_in_the_terminal_chat_keeps_every_answer_already_taken(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    assert screening_bot("--db", str(db), "chat", input="1\n1\n40\nquit\n").returncode == 0
    result = screening_bot(
        "--db",
        str(db),
        "chat",
        input="\n".join(CANDIDATE[3:]) + "\n",
        # the write-ahead log (empty at start) may reach 64 KB: a few answers, then the disk is full. (Not "the
        # largest file + 16 KB": the log may then grow as large as the whole database, which a screening
        # no longer fills once the schema has grown.)
        preexec_fn=limited_to(64 * 1024),
    )
    assert_one_clear_line(result, f"cannot write the database {db}", "Free some space")
    assert NOT_SAVED in result.stdout
    asked = result.stdout.count("\n> ")  # each prompt after the first input means the input before it was saved
    taken = CANDIDATE[3 : 3 + asked - 1]
    consents = 1 if len(taken) > HEALTH_CONSENT - 3 else 0  # the health-data consent is saved, but not as an answer
    conn = connect_apart(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
    assert stored == 2 + len(taken) - consents, "every answer the chat went on from is on disk, the failed one not"
    again = screening_bot("--db", str(db), "chat", input="quit\n")
    assert again.returncode == 0 and "Welcome back" in again.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_full_disk_in_the_web_chat_shows_a_kind_page_and_keeps_every_answer(dialog: Dialog, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    open_database(db).conn.close()
    (tmp_path / "web_secret.key").write_text("k" * 64)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--db", str(db), "web", "--port", str(port)],
        cwd=ROOT, env=clean_env(WEB_RATE_LIMIT="0"), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, preexec_fn=limited_to(largest_file(tmp_path) + 24_576),
    )  # fmt: skip
    try:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Accept-Language": "en"}, follow_redirects=True
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                person = WebUser(None, client=client)  # type: ignore[arg-type]
                break
            except httpx.ConnectError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()
                time.sleep(0.1)  # waiting for the server to listen; the test's outcome does not depend on it
        person.press(dialog.consent.agree)
        acknowledged = 0
        for _ in range(60):
            if dialog.separate_consent(person.page.question) is not None:
                page = person.press(dialog.separate_consent(person.page.question).agree)  # type: ignore[union-attr]
                if page.status != 200:
                    break
                continue
            question = dialog.question(person.page.question)
            page = answer(person, question, harmless(question))
            if page.status != 200:
                break
            acknowledged += 1
        assert page.status == 503, "the disk filled up within 60 answers"
        assert NOT_SAVED in page.text and page.headers["retry-after"]
        assert "Traceback" not in page.html
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert b"Traceback" not in out + err
    assert b"event=unavailable" in err
    conn = connect_apart(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
    assert acknowledged >= 1 and stored == acknowledged, "every answer whose next page was shown is on disk, no other"


# ---------------------------------------------------------------- the last resort


def test_an_unexpected_error_gets_an_incident_id_and_one_log_line_without_personal_data(tmp_path: Path) -> None:
    """A database edited by hand (valid SQLite, garbage in a row) is nothing the program expects."""
    db = tmp_path / "s.db"
    assert screening_bot("--db", str(db), "chat", input="1\n1\n40\nquit\n").returncode == 0
    conn = connect_apart(db)
    conn.execute("""UPDATE conversations SET answers = '{"age": 40, "note": "Zhang Wei 13800138000"'""")
    conn.commit()
    conn.close()
    result = screening_bot("--db", str(db), "chat", input="quit\n")
    assert result.returncode == 70
    assert "Traceback" not in result.stdout + result.stderr
    log_line, message = result.stderr.strip().splitlines()
    incident = message.split("(incident ")[1].split(")")[0]
    assert message.startswith("error: an unexpected error stopped screening-bot") and "please report it" in message
    assert f"ERROR bot incident {incident}: json.JSONDecodeError in " in log_line
    assert "bot/store/conversations.py:" in log_line, "where it happened"
    assert "Zhang" not in result.stderr and "13800138000" not in result.stderr, "no personal data in the log"
