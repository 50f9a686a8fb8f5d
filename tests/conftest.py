"""Shared test helpers: a real dialog, a real SQLite file, and a chat driver that reads like a conversation."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.dialog.engine import Conversation
from bot.dialog.load import load_dialog
from bot.dialog.model import Dialog, Question
from bot.i18n import Translator
from bot.replies import Action, Button, Choose, Command, Reply, Text
from bot.screening import Key, ScreeningService
from bot.store import open_database
from bot.store.leads import LeadStore
from bot.store.storage import Storage

from .fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parent.parent
DIALOG_PATH = ROOT / "dialogs" / "nct06349343.toml"
LOCALES = ROOT / "locales"
#: A second, made-up trial (knee osteoarthritis exercise in Chengdu), its catalogs beside it (issue 18).
SECOND_TRIAL = ROOT / "tests" / "data" / "dialogs" / "knee_oa_chengdu.toml"
SECOND_TRIAL_LOCALES = SECOND_TRIAL.parent / "locales"
TODAY = date(2026, 11, 25)


@pytest.fixture(scope="session", autouse=True)
def key_home_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The same for session- and module-wide fixtures, which are made before each test's own folder."""
    home = tmp_path_factory.mktemp("config-session")
    before = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(home)
    yield home
    if before is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = before


@pytest.fixture(autouse=True)
def key_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own configuration folder, where the encryption key goes by default
    (~/.config/screening-bot/): never the developer's, and never shared between tests.
    Set in the environment, so the commands a test runs find it too."""
    home = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def key_file_for(db_path: Path) -> Path:
    """Where `screening-bot` keeps the key of this database by default (outside its folder)."""
    from bot.config import Settings

    return Settings(db_path=db_path).key_path()


def database_key_for(db_path: Path) -> bytes | None:
    """The SQLCipher key of an encrypted database file (None for an unencrypted one)."""
    from bot.store.sqlcipher import is_plaintext
    from bot.store.vault import database_key, read_keys

    if is_plaintext(db_path) or not db_path.exists():
        return None
    keys = read_keys("", key_file_for(db_path))
    assert keys is not None, f"no key for the encrypted {db_path}"
    return database_key(keys.keys[0])


def opened(db_path: Path, env_key: str = "") -> tuple[Any, Any]:
    """The database and its vault, opened as every `screening-bot` command opens them (bot/store/vault.py)."""
    from bot.store.vault import open_protected

    return open_protected(db_path, env_key, key_file_for(db_path))


def connect_apart(db_path: Path, **options: Any) -> Any:
    """A connection of its own to the database file, as another program opens it (with its key when the
    file is encrypted), from the bot's SQLite library: two libraries must never open one file."""
    from bot.store import sqlcipher

    return sqlcipher.connect(db_path, database_key_for(db_path), **options)


@contextmanager
def peek(db_path: Path) -> Iterator[Any]:
    """`connect_apart`, closed after."""
    conn = connect_apart(db_path)
    try:
        yield conn
    finally:
        conn.close()


def stored_bytes(db_path: Path) -> bytes:
    """Every byte of the database file and its write-ahead log, free pages and old frames included;
    decrypted page by page when the file is encrypted (SQLCipher 4: AES-256-CBC, the IV in each page's
    reserved tail; page 1 starts with the salt). So a test can show an erased value is gone even
    from the parts SQLite no longer uses, encrypted or not."""
    wal = db_path.with_name(db_path.name + "-wal")
    data = db_path.read_bytes() if db_path.exists() else b""
    log = wal.read_bytes() if wal.exists() else b""
    key = database_key_for(db_path)
    if key is None:
        return data + log
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    size = 4096

    def page(raw: bytes, number: int) -> bytes:
        body, iv = (raw[16:-80] if number == 1 else raw[:-80]), raw[-80:-64]
        decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        return decryptor.update(body) + decryptor.finalize()

    pages = [page(data[i : i + size], i // size + 1) for i in range(0, len(data) - size + 1, size)]
    offset = 32  # the WAL header; then frames: a 24-byte header (page number first), then the page
    while offset + 24 + size <= len(log):
        pages.append(page(log[offset + 24 : offset + 24 + size], int.from_bytes(log[offset : offset + 4], "big")))
        offset += 24 + size
    return b"".join(pages)


@pytest.fixture(scope="session")
def dialog() -> Dialog:
    return load_dialog(DIALOG_PATH)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "screening.db"


class AsSeen(Translator):
    """A text as a person sees it: translated from the dialog's own catalog when it is one of the dialog
    file's texts, else from the code's; for tests that compare texts of both kinds."""

    def __init__(self, language: str, locales_dir: Path = LOCALES, dialog_domain: str = "nct06349343") -> None:
        super().__init__(language, locales_dir, dialog_domain)

    def __call__(self, message: str, **params: object) -> str:
        shown = self.dialog(message, **params)
        return shown if self.dialog(message) != message else super().__call__(message, **params)


class Screener(ScreeningService):
    """The screening service, as the tests look into it: the service itself, plus the repositories to
    check what was stored (`store`, `leads`), and `open`/`handle` on a conversation as a channel would."""

    @property
    def store(self) -> Any:
        return self.storage.read.conversations

    @property
    def leads(self) -> LeadStore | None:
        return self.storage.read.leads if self.keeps_contacts else None

    def open(self, channel: str, user_key: str, language_hint: str | None = None, source: str = "") -> Conversation:
        return self.conversation(Key(channel, user_key, language_hint, source))

    def handle(self, key: Key | Conversation, action: Action, **options: Any) -> Reply | None:  # type: ignore[override]
        """A channel's step; given a conversation (as `open` returns it), it is brought up to date with what
        was stored, as a channel would see it at its next step."""
        conv = key if isinstance(key, Conversation) else None
        if conv is not None:
            key = Key(conv.channel, conv.user_key, conv.language, conv.source)
        reply = super().handle(key, action, **options)  # type: ignore[arg-type]
        stored = self.store.load(conv.channel, conv.user_key) if conv is not None else None
        if conv is not None and stored is not None:
            vars(conv).update(vars(stored))
        return reply

    def prompt(self, conv: Conversation) -> Any:
        return self.current(Key(conv.channel, conv.user_key, conv.language)).prompt

    def site_text(self, t: Translator, closing: bool = True) -> str:
        return self.texts.site_text(t, closing)

    def consent_text(self, t: Translator, channel: str) -> str:
        return self.texts.consent_text(t, channel)

    def crisis_text(self, conv: Conversation, t: Translator) -> str:
        return self.texts.crisis_text(conv, t)

    def answer_text(self, question: Question, value: Any, conv: Conversation, t: Translator) -> str:
        return self.texts.answer_text(question, value, conv, t)


def make_screener(
    dialog: Dialog, db_path: Path, today: date = TODAY, reminding: tuple[str, ...] = (), **site: str
) -> Screener:
    """The screening service over a real database file, as every channel builds it (no encryption vault)."""
    return Screener(
        dialog,
        Storage(open_database(db_path), dialog),
        LOCALES,
        site_overrides=site,
        today=lambda: today,
        reminding_channels=reminding,
    )


@pytest.fixture
def screener(dialog: Dialog, db_path: Path) -> Screener:
    return make_screener(dialog, db_path)


class Chat:
    """One person talking to the screener; the conversation is reloaded from SQLite at every step."""

    def __init__(self, screener: Screener, user: str = "person-1", language: str | None = None) -> None:
        self.screener = screener
        self.user = user
        self.language = language
        self.reply: Reply = self._do(Command("start"))

    def _do(self, action: Any) -> Reply:
        reply = self.screener.handle(Key("test", self.user, self.language), action)
        assert reply is not None
        self.reply = reply
        return reply

    def send(self, text: str) -> Reply:
        return self._do(Text(text))

    def command(self, name: str, arg: str = "") -> Reply:
        return self._do(Command(name, arg))

    def buttons(self) -> list[Button]:
        prompt = self.reply.prompt
        return [*prompt.options, *prompt.navigation] if prompt else []

    def press(self, label: str) -> Reply:
        for button in self.buttons():
            if button.label == label:
                return self._do(button.action)
        raise AssertionError(f"no button {label!r}; buttons: {[b.label for b in self.buttons()]}")

    @property
    def asked(self) -> str:
        return self.reply.prompt.text if self.reply.prompt else ""

    @property
    def question(self) -> str:
        return self.reply.prompt.question if self.reply.prompt else ""

    @property
    def said(self) -> str:
        return "\n".join(self.reply.notices)

    def assert_asked(self, text: str) -> None:
        assert text in self.asked, (
            f"expected to be asked {text!r}, but was asked:\n{self.asked}\n(notices: {self.said})"
        )

    def state(self) -> str:
        """Where the conversation rests: the outcome once there is one (contact capture and the reminder
        offer are steps after it), else the question or step."""
        conv = self.screener.store.load("test", self.user)
        return (conv.outcome or conv.state) if conv else ""


def harmless_answer(question: Question) -> str:
    """The answer a person who meets every rule would type for this question."""
    if question.kind == "number":
        return "15" if question.max is not None and question.max < 40 else "40"
    if question.kind == "year":
        return "2015"
    if question.kind == "multi" and question.option("none") and not question.option("none").rules_out:
        return str(question.options.index(question.option("none")) + 1)
    for number, option in enumerate(question.options, start=1):
        if not (option.rules_out or option.review or option.wait or option.exclusive):
            return str(number)
    raise AssertionError(f"{question.id} has no harmless answer")


def answer_until(
    chat: Chat, dialog: Dialog, stop_at: str | None = None, overrides: dict[str, str] | None = None
) -> None:
    """Answer harmlessly (or with `overrides`) until the question `stop_at`, the summary, or an outcome.

    A separate consent on the way (health data, Telegram's servers) is agreed to."""
    overrides = overrides or {}
    for _ in range(100):
        qid = chat.question
        if qid and qid != stop_at and dialog.separate_consent(qid) is not None:
            chat._do(Choose(qid, "agree"))
            continue
        if not qid or qid == stop_at or not dialog.has_question(qid):
            return
        chat.send(overrides[qid] if qid in overrides else harmless_answer(dialog.question(qid)))
    raise AssertionError("the dialog did not end")


def start_screening(screener: Screener, user: str = "person-1", language: str | None = None) -> Chat:
    chat = Chat(screener, user, language)
    chat.send("1")  # I agree
    return chat


# ---------------------------------------------------------------- leads (contact capture, encryption)


def make_lead_screener(
    dialog: Dialog,
    db_path: Path,
    today: date = TODAY,
    on_lead: Any = (),
    reminding: tuple[str, ...] = ("telegram",),
    **site: str,
) -> Screener:
    """The service with contact capture and encrypted leads, in an encrypted database whose key is where
    `screening-bot` keeps it (`key_file_for`), as `compose.build_service` opens it for `screening-bot run`
    (Telegram can send a reminder unasked)."""
    from bot.store.vault import open_protected

    db, vault = open_protected(db_path, "", key_file_for(db_path))
    return Screener(
        dialog,
        Storage(db, dialog, vault),
        LOCALES,
        site_overrides=site,
        today=lambda: today,
        reminding_channels=reminding,
        on_lead=on_lead,
    )


def reach_outcome(chat: Chat, dialog: Dialog, overrides: dict[str, str] | None = None) -> None:
    """Answer (harmlessly, or with `overrides`) to the end and confirm the summary."""
    answer_until(chat, dialog, overrides=overrides)
    if chat.reply.prompt and chat.reply.prompt.kind == "summary":
        chat.press("These are right: show the result")


def give_contact(chat: Chat, phone: str, name: str | None) -> None:
    """From the contact question: agree, give a phone and a name (or skip), afternoon, Chinese."""
    chat.press("Yes, please contact me")
    chat.send(phone)
    assert chat.question == "contact_name", chat.said
    chat.press("Skip") if name is None else chat.send(name)
    chat.press("Afternoon")
    chat.press("Chinese (Mandarin)")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API on 127.0.0.1, for every Telegram test."""
    fake = FakeBotApi()
    await fake.start()
    yield fake
    await fake.stop()
