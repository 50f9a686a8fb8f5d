"""A damaged database is named at start (one line, exit 2), and a full disk is said kindly in every channel,
loses nothing committed, and the chat goes on once there is room again."""

from __future__ import annotations

from pathlib import Path

from bot.dialog.model import Dialog
from bot.replies import NOT_SAVED
from bot.store import open_database

from .cli_support import assert_one_clear_line, screening_bot
from .conftest import make_lead_screener, peek
from .fake_bot_api import ChatMessage, FakeBotApi
from .telegram_support import Person, agree_to_everything_asked_first, conversation_of, running_bot
from .test_run_both import free_port


def damage(db_path: Path) -> None:
    """Overwrite the head of the database's third page (a table's b-tree), as a failing disk might."""
    with peek(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = int(conn.execute("PRAGMA page_size").fetchone()[0])
    with db_path.open("r+b") as f:
        f.seek(2 * page)
        f.write(b"\xff\x00\x13" * 40)


def test_a_damaged_database_is_named_at_start_in_one_line(dialog: Dialog, tmp_path: Path) -> None:
    db_path = tmp_path / "screening.db"
    assert screening_bot("--db", str(db_path), "chat", input="1\n1\n40\nquit\n").returncode == 0
    damage(db_path)
    for command in (["chat"], ["web", "--port", str(free_port())], ["stats"], ["leads", "list"]):
        result = screening_bot("--db", str(db_path), *command, input="quit\n")
        assert_one_clear_line(result, f"the database {db_path} is damaged", "restore", "backup")
    result = screening_bot("--db", str(db_path), "run", input="quit\n")  # says first that it runs the terminal chat
    result.stderr = result.stderr.split("\n", 1)[1]
    assert_one_clear_line(result, f"the database {db_path} is damaged", "restore", "backup")


# ---------------------------------------------------------------- a full disk on Telegram


async def test_a_full_disk_on_telegram_is_said_kindly_loses_nothing_and_recovers(
    api: FakeBotApi, dialog: Dialog, db_path: Path
) -> None:
    """SQLite's SQLITE_FULL ("database or disk is full"), made with `max_page_count` on the bot's own connection."""
    screener = make_lead_screener(dialog, db_path)
    db = screener.store.db
    person = Person(api)
    async with running_bot(api, screener):
        await person.say("/start")
        await agree_to_everything_asked_first(person, dialog)
        await person.tap("I am the patient")
        await person.say("40")
        asked = person.step
        answers_before = db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        assert answers_before == 2

        db.execute("VACUUM")  # no free page left (migrations that rebuild a table leave some) to take the writes
        db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
        said: list[str] = []
        for _ in range(200):
            said = await answer_to_help(person)
            if NOT_SAVED in said:
                break
        assert said == [NOT_SAVED], "the disk filled up within 200 messages, and the person was told so kindly"
        assert "Reference" not in "".join(person.texts())
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == answers_before, "nothing committed lost"

        db.execute("PRAGMA max_page_count = 1073741823")  # space again
        await person.tap(person.labels()[0])
        assert person.step != asked, "the same chat goes on once there is room"
    conv = conversation_of(screener, person)
    assert conv is not None and asked in conv.answers
    with peek(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def answer_to_help(person: Person) -> list[str]:
    """The whole answer to /help: until the question is asked again (help, then the question), or the
    one line saying the answer was not saved."""
    before = max(person.api.messages, default=0)

    def answered() -> list[ChatMessage] | None:
        new = [m for m in person._bot_messages() if m.message_id > before]
        return new if any(m.buttons or m.text == NOT_SAVED for m in new) else None

    await person.api.queue(person.text_update("/help"))
    return [m.text for m in await person.api.wait_for(answered)]


def test_open_database_runs_quick_check(tmp_path: Path) -> None:
    db_path = tmp_path / "s.db"
    db = open_database(db_path)
    db.execute("CREATE TABLE filler (x TEXT)")
    for n in range(400):
        db.execute("INSERT INTO filler VALUES (?)", ["x" * 500 + str(n)])
    db.conn.close()
    damage(db_path)
    try:
        open_database(db_path)
    except Exception as exc:
        assert "is damaged" in str(exc) and "quick_check" in str(exc)
    else:
        raise AssertionError("a damaged database was opened")
