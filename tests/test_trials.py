"""Several trials in one deployment (issue 18, items 6 and 7).

NCT06349343 (lupus, Wuhan) runs beside a second, made-up trial with nothing in common
(knee osteoarthritis exercise in Chengdu, tests/data/dialogs/knee_oa_chengdu.toml, its
catalogs beside it) on ONE database, built as `screening-bot` builds it (compose.build_trials):
through the terminal, the web chat and Telegram (the fake Bot API), the staff tools (command
line, console, Telegram staff) and the ethics pack. No text of one trial may appear in what
the other's people are shown, in English, 简体 or 繁體; one person who screens for both keeps
both, and their /delete erases both and says so.
"""

from __future__ import annotations

import csv
import html
import io
import re
import tomllib
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlite_utils
from starlette.testclient import TestClient

from bot import compose
from bot.channels.telegram.keyboards import chosen_study, decode, trial_of
from bot.channels.telegram.staff import StaffOptions
from bot.channels.terminal import run_terminal
from bot.channels.web.app import create_app
from bot.channels.web.qr import telegram_link
from bot.cli import main
from bot.config import ConfigError, Settings, load_settings
from bot.console import attach as attach_console
from bot.console import auth
from bot.dialog.extract import dialog_texts
from bot.dialog.load import DialogError, load_dialog
from bot.dialog.model import CONSENT, Dialog
from bot.i18n import Translator, _
from bot.launch import check_launch
from bot.notify.notifier import Notifier
from bot.replies import WHICH_STUDY, Choose, Command, Reply
from bot.screening import Key, ScreeningService, Trials, Upkeep
from bot.screening.notifications import Message
from bot.staff.views import export_table
from bot.store.db import MIGRATIONS, migrate

from .cli_support import screening_bot
from .conftest import DIALOG_PATH, LOCALES, SECOND_TRIAL, Chat, answer_until, harmless_answer, peek
from .fake_bot_api import FakeBotApi
from .telegram_support import Person, running_bot
from .test_console import PASSWORD, csrf_of
from .web_driver import WebUser, web_settings
from .web_driver import answer_until as web_answer_until

LUPUS, KNEE = "nct06349343", "knee_oa_chengdu"
#: The knee trial takes people aged 45 to 80: the lupus trial's harmless 40 would rule them out.
KNEE_ANSWERS = {"age": "60"}
STAFF_ID = 7_000_001
LANGUAGES = ("en", "zh_Hans", "zh_Hant")


@pytest.fixture(scope="module")
def knee() -> Dialog:
    return load_dialog(SECOND_TRIAL)


def both(db_path: Path, **values: Any) -> Settings:
    return Settings(db_path=db_path, dialog_paths=(DIALOG_PATH, SECOND_TRIAL), **values)


@pytest.fixture
def trials(db_path: Path) -> Trials:
    """Both trials on one encrypted database, as `screening-bot run` builds them (Telegram reminds)."""
    return compose.build_trials(both(db_path), reminding_channels=("telegram",))


def rows(db_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with peek(db_path) as conn:
        return [tuple(r) for r in conn.execute(sql, params)]


# ---------------------------------------------------------------------- what each trial says, and only it


def fragments(text: str) -> set[str]:
    """The pieces of a text a person reads whole: each line, cut at its {placeholders}."""
    pieces = set()
    for line in text.splitlines():
        for piece in re.split(r"\{\w*\}", line):
            piece = piece.strip(" .,:;!?。，：；！？()（）")
            long_enough = len(piece) >= 12 if piece.isascii() else len(piece) >= 6
            if long_enough:
                pieces.add(piece)
    return pieces


def trial_texts(dialog: Dialog) -> set[str]:
    """Every text of the dialog file as people read it, in English, 简体 and 繁體 (its own catalogs)."""
    raw = tomllib.loads(Path(dialog.source_path).read_text(encoding="utf-8"))
    texts = {text for _where, text in dialog_texts(raw)}
    shown = set(texts)
    for language in LANGUAGES[1:]:
        t = Translator.for_dialog(language, LOCALES, dialog.id, dialog.source_path)
        shown |= {t.dialog(text) for text in texts}
    return shown


def own_fragments(dialog: Dialog, other: Dialog) -> set[str]:
    """The pieces of `dialog`'s texts that no text of `other` holds: what must never reach `other`'s people."""
    theirs = "\n".join(trial_texts(other))
    return {piece for text in trial_texts(dialog) for piece in fragments(text) if piece not in theirs}


def assert_nothing_of(dialog: Dialog, other: Dialog, seen: Iterable[str], what: str) -> None:
    """Nothing of `dialog` is in `seen` (what `other`'s people were shown), and `seen` is `other`'s indeed."""
    shown = "\n".join(seen)
    leaked = sorted(piece for piece in own_fragments(dialog, other) if piece in shown)
    assert not leaked, f"{what}: texts of {dialog.id} shown in {other.id}'s chat: {leaked[:5]}"
    found = [piece for piece in own_fragments(other, dialog) if piece in shown]
    assert len(found) >= 5, f"{what}: this does not look like {other.id}'s chat at all: {shown[:300]}"


def reply_texts(reply: Reply) -> list[str]:
    prompt = reply.prompt
    buttons = [b.label for b in (*prompt.options, *prompt.navigation)] if prompt else []
    return [*reply.notices, prompt.text if prompt else "", *buttons]


class Recording(Chat):
    """A Chat that keeps every text it was shown."""

    def __init__(self, screener: ScreeningService, user: str, language: str | None = None) -> None:
        self.seen: list[str] = []
        super().__init__(screener, user, language)  # type: ignore[arg-type]

    def _do(self, action: Any) -> Reply:
        reply = super()._do(action)
        self.seen += reply_texts(reply)
        return reply


def screen(service: ScreeningService, user: str, language: str | None = None, **answers: str) -> Recording:
    """One screening to its outcome in one trial, through the service as a channel drives it."""
    chat = Recording(service, user, language)
    chat._do(Choose(CONSENT, "agree"))
    answer_until(chat, service.dialog, overrides={**(KNEE_ANSWERS if service.dialog.id == KNEE else {}), **answers})
    if chat.reply.prompt and chat.reply.prompt.kind == "summary":
        chat._do(Command("confirm"))
    return chat


def call_language(dialog: Dialog) -> str:
    return dialog.region.call_languages[0].label


def give_contact(chat: Recording, phone: str) -> None:
    chat.press("Yes, please contact me")
    chat.send(phone)
    chat.press("Skip")
    chat.press("Afternoon")
    chat.press(call_language(chat.screener.dialog))


# ---------------------------------------------------------------------- the database


def test_migration_14_gives_every_existing_row_its_trial() -> None:
    """A database of one trial (schema 13) keeps everything: its conversations, leads and counts become
    that trial's, and a second trial's conversation of the same person then fits beside the first."""
    old = sqlite_utils.Database(memory=True)
    for number, step in enumerate(MIGRATIONS[:13], start=1):
        step(old)
        old.execute(f"PRAGMA user_version = {number}")
    stamp = "2026-11-01T08:00:00+00:00"
    old.execute(
        "INSERT INTO dialog_versions (dialog_id, version, hash, text, first_seen) VALUES (?, '1.4.0', 'h', '', ?)",
        [LUPUS, stamp],
    )
    old.execute(
        "INSERT INTO conversations (id, channel, user_key, state, language, dialog_id, dialog_version, dialog_hash,"
        " created_at, updated_at, outcome) VALUES ('c1', 'web', 'alice', 'finished', 'en', ?, '1.4.0', 'h', ?, ?,"
        " 'needs_review')",
        [LUPUS, stamp, stamp],
    )
    old.execute(
        "INSERT INTO leads (id, conversation_id, channel, outcome, language, phone_enc, phone_hash, dialog_version,"
        " contact_consent_version, contact_consented_at, created_at, updated_at, status_changed_at)"
        " VALUES ('l1', 'c1', 'web', 'needs_review', 'en', 'x', 'y', '1.4.0', 'contact-2', ?, ?, ?, ?)",
        [stamp, stamp, stamp, stamp],
    )
    old.execute("INSERT INTO counters (month, name, count) VALUES ('2026-11', 'started', 7)")
    migrate(old)
    assert old.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 14
    assert old.execute("SELECT dialog_id FROM leads").fetchall() == [(LUPUS,)]
    assert old.execute("SELECT month, dialog_id, name, count FROM counters").fetchall() == [
        ("2026-11", LUPUS, "started", 7)
    ]
    old.execute(
        "INSERT INTO conversations (id, channel, user_key, state, language, dialog_id, dialog_version, dialog_hash,"
        " created_at, updated_at) VALUES ('c2', 'web', 'alice', 'consent', 'en', ?, '0.3.0', 'h', ?, ?)",
        [KNEE, stamp, stamp],
    )
    with pytest.raises(Exception, match="UNIQUE"):
        old.execute(
            "INSERT INTO conversations (id, channel, user_key, state, language, dialog_id, dialog_version,"
            " dialog_hash, created_at, updated_at) VALUES ('c3', 'web', 'alice', 'consent', 'en', ?, '1', 'h', ?, ?)",
            [LUPUS, stamp, stamp],
        )


def test_two_dialog_files_with_one_id_are_refused_and_an_id_must_fit_a_link(db_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.toml"
    copy.write_text(DIALOG_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(Exception, match="both dialog 'nct06349343'"):
        compose.build_trials(Settings(db_path=db_path, dialog_paths=(DIALOG_PATH, copy)))
    assert not db_path.exists(), "refused before the database is made"
    bad = tmp_path / "bad.toml"
    bad.write_text(
        SECOND_TRIAL.read_text(encoding="utf-8").replace('id = "knee_oa_chengdu"', 'id = "Knee-OA"', 1),
        encoding="utf-8",
    )
    with pytest.raises(DialogError, match="lower-case letters, digits and _"):
        load_dialog(bad)


def test_a_folder_of_dialog_files_is_every_trial_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "trials"
    folder.mkdir()
    for path in (SECOND_TRIAL, DIALOG_PATH):
        (folder / path.name).write_bytes(path.read_bytes())
    settings = Settings(dialog_paths=(folder,))
    assert [p.name for p in settings.dialog_files()] == ["knee_oa_chengdu.toml", "nct06349343.toml"]
    assert Settings().dialog_files() == [DIALOG_PATH], "the default is one trial, the one that ships"


# ---------------------------------------------------------------------- one person, two trials


def test_one_person_screens_for_both_trials_and_keeps_both(trials: Trials, db_path: Path, knee: Dialog) -> None:
    lupus = trials.get(LUPUS)
    assert lupus is not None and trials.get(KNEE) is not None and trials.default is lupus
    first = screen(lupus, "alice")
    give_contact(first, "13912345678")
    second = screen(trials.get(KNEE), "alice")  # type: ignore[arg-type]
    give_contact(second, "13912345678")
    stored = rows(db_path, "SELECT dialog_id, outcome, answers FROM conversations WHERE user_key = 'alice' ORDER BY 1")
    assert [(d, o) for d, o, _a in stored] == [(KNEE, "likely_candidate"), (LUPUS, "likely_candidate")]
    assert '"knee_diagnosis"' in stored[0][2] and '"diagnosis_year"' not in stored[0][2]
    assert '"diagnosis_year"' in stored[1][2] and '"knee_diagnosis"' not in stored[1][2]
    assert sorted(rows(db_path, "SELECT dialog_id FROM leads")) == [(KNEE,), (LUPUS,)]
    assert lupus.conversation(Key("test", "alice")).outcome == "likely_candidate", "the first is as it was"
    team = trials.team()
    assert {lead.dialog_id for lead in team.leads()} == {LUPUS, KNEE}
    assert [lead.dialog_id for lead in team.leads(trial=KNEE)] == [KNEE]
    assert team.counts(KNEE).totals["finished"] == 1 and team.counts(LUPUS).totals["finished"] == 1
    assert team.counts().totals["finished"] == 2
    assert trials.latest("test", "alice") is trials.get(KNEE), "the conversation used last"
    assert_nothing_of(knee, lupus.dialog, first.seen, "the service, lupus")
    assert_nothing_of(lupus.dialog, knee, second.seen, "the service, knee")


def test_delete_erases_the_person_in_every_trial_and_says_which(trials: Trials, db_path: Path) -> None:
    screen(trials.default, "bob")
    other = screen(trials.get(KNEE), "carol")  # type: ignore[arg-type]
    chat = screen(trials.get(KNEE), "bob")  # type: ignore[arg-type]
    chat.command("delete")
    assert "for every study you answered here" in chat.asked
    chat.press("Yes")
    titles = [trials.title(LUPUS, "en"), trials.title(KNEE, "en")]
    assert all(title in chat.said for title in titles), chat.said
    assert rows(db_path, "SELECT count(*) FROM conversations WHERE user_key = 'bob'") == [(0,)]
    assert trials.get(KNEE).conversation(Key("test", "carol")).outcome, "nobody else's"  # type: ignore[union-attr]
    assert other.seen
    zh = screen(trials.default, "dan", language="zh-hans")
    zh.command("delete")
    zh.press(trials.translator("zh_Hans")(_("Yes")))
    assert trials.title(LUPUS, "zh_Hans") in zh.said and "研究" in zh.said
    counts = trials.team().counts(LUPUS).totals
    assert counts["erased_by_person"] == 2 and trials.team().counts(KNEE).totals["erased_by_person"] == 1


# ---------------------------------------------------------------------- the terminal


class Typist(io.StringIO):
    """A person at the terminal who picks a trial, then answers whatever is asked as a screening that fits
    would, until the contact question (then the input ends, as piped input does)."""

    def __init__(self, trials: Trials, session: str, pick: str, answers: dict[str, str] | None = None) -> None:
        super().__init__()
        self.trials, self.session, self.pick, self.answers = trials, session, pick, answers or {}
        self.service: ScreeningService | None = None

    def isatty(self) -> bool:
        return False

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        if self.service is None:
            self.service = self.trials.services[int(self.pick) - 1]
            return self.pick + "\n"
        prompt = self.service.current(Key("terminal", self.session)).prompt
        step = prompt.question if prompt else ""
        dialog = self.service.dialog
        if prompt is None or prompt.kind in ("ended", "finished") or step.startswith("contact"):
            return ""
        if step == CONSENT or dialog.separate_consent(step) or prompt.kind == "summary":
            return "1\n"
        return self.answers.get(step, harmless_answer(dialog.question(step))) + "\n"


@pytest.mark.parametrize("pick", ["1", "2"])
def test_the_terminal_asks_which_study_then_screens_for_it(
    trials: Trials, db_path: Path, knee: Dialog, pick: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    out = io.StringIO()
    typist = Typist(trials, "local", pick, KNEE_ANSWERS if pick == "2" else {})
    assert run_terminal(trials, session="local", stdin=typist, out=out) == 0
    shown = out.getvalue()
    assert "Which study would you like to answer questions for?" in shown
    assert f"1. {trials.title(LUPUS, 'en')}" in shown and f"2. {trials.title(KNEE, 'en')}" in shown
    chosen = trials.services[int(pick) - 1]
    assert rows(db_path, "SELECT dialog_id, outcome FROM conversations") == [(chosen.dialog.id, "likely_candidate")]
    after_menu = shown.split(f"2. {trials.title(KNEE, 'en')}", 1)[1]
    lupus, knee_dialog = trials.default.dialog, knee
    if pick == "1":
        assert_nothing_of(knee_dialog, lupus, [after_menu], "the terminal, lupus")
    else:
        assert_nothing_of(lupus, knee_dialog, [after_menu], "the terminal, knee")


def test_the_command_line_runs_each_trial_and_the_staff_commands_keep_them_apart(
    db_path: Path, tmp_path: Path, knee: Dialog
) -> None:
    """`--dialog a,b`: the chat with --trial, check-dialog, leads list/export --trial, stats per trial."""
    dialogs = f"{DIALOG_PATH},{SECOND_TRIAL}"
    env = {"SCREENING_DIALOG": dialogs}
    checked = screening_bot("check-dialog", env=env)
    assert (
        checked.returncode == 0
        and "dialog nct06349343" in checked.stdout
        and "dialog knee_oa_chengdu" in checked.stdout
    )
    knee_input = (
        "1\n1\n60\n1\n1\n1\n4\n1\n1\n"  # consent, own knees, 60, classes, health consent, OA, none, walk, right
    )
    chat = screening_bot("--db", str(db_path), "chat", "--trial", KNEE, env=env, input=knee_input)
    assert chat.returncode == 0, chat.stderr
    assert knee.outcomes["likely_candidate"].title in chat.stdout
    unknown = screening_bot("--db", str(db_path), "chat", "--trial", "nope", env=env, input="")
    assert unknown.returncode == 2 and "--trial 'nope'" in unknown.stderr
    lupus_input = "1\n1\n40\n1\n1\n"  # consent, the patient, 40, female, can come to Wuhan
    picked = screening_bot("--db", str(db_path), "chat", "--session", "s2", env=env, input="1\n" + lupus_input)
    assert picked.returncode == 0 and "Which study" in picked.stdout
    assert sorted(rows(db_path, "SELECT dialog_id, outcome FROM conversations")) == [
        (KNEE, "likely_candidate"),
        (LUPUS, ""),
    ]
    stats = screening_bot("--db", str(db_path), "stats", env=env)
    assert stats.returncode == 0, stats.stderr
    lupus_part, knee_part = stats.stdout.split(f"Trial {KNEE}", 1)
    assert "Trial nct06349343" in lupus_part and "age" in lupus_part and "knee" not in lupus_part.lower()
    assert re.search(r"finished \(reached an outcome\) +1\n", knee_part)
    assert re.search(r"finished \(reached an outcome\) +0\n", lupus_part)
    one = screening_bot("--db", str(db_path), "stats", "--trial", KNEE, env=env)
    assert "Trial knee_oa_chengdu" in one.stdout and "Trial nct06349343" not in one.stdout
    wrong = screening_bot("--db", str(db_path), "leads", "list", "--trial", "nope", env=env)
    assert wrong.returncode == 2 and "the trials are nct06349343, knee_oa_chengdu" in wrong.stderr


# ---------------------------------------------------------------------- the web chat


def web_app(trials: Trials, db_path: Path) -> Any:
    return create_app(trials, web_settings(db_path, web_rate_limit="0"), attach=attach_console)


def screen_on_the_web(user: WebUser, dialog: Dialog, t: Translator) -> None:
    user.press(t.dialog(dialog.consent.agree))
    web_answer_until(user, dialog, answers={"age": "60"} if dialog.id == KNEE else {})
    if not user.page.question:
        user.press(t(_("These are right: show the result")))


def page_texts(user: WebUser) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", " ", page.html)) for page in user.pages]


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_the_web_serves_each_trial_at_its_own_address(
    trials: Trials, db_path: Path, knee: Dialog, language: str
) -> None:
    app = web_app(trials, db_path)
    front = TestClient(app, headers={"Accept-Language": language.replace("_", "-")}).get("/")
    assert front.status_code == 200
    for dialog_id in (LUPUS, KNEE):
        service = trials.get(dialog_id)
        assert service is not None
        t = service.translator(language)
        assert f'href="/t/{dialog_id}"' in front.text
        assert html.escape(t.dialog(service.dialog.title), quote=False) in front.text
        assert html.escape(t.dialog(service.dialog.texts.about), quote=False) in front.text
    other = "zh_Hans" if language == "en" else "en"
    switched = TestClient(app).get(f"/?lang={other}")
    assert html.escape(trials.title(KNEE, other), quote=False) in switched.text

    lupus_person = WebUser(app, language, start=f"/t/{LUPUS}")
    screen_on_the_web(lupus_person, trials.default.dialog, trials.default.translator(language))
    knee_person = WebUser(app, language, start=f"/t/{KNEE}")
    knee_service = trials.get(KNEE)
    assert knee_service is not None
    screen_on_the_web(knee_person, knee, knee_service.translator(language))
    assert all(f'action="/t/{KNEE}"' in page.html for page in knee_person.pages[1:] if "<form" in page.html)
    outcomes = rows(db_path, "SELECT dialog_id, outcome FROM conversations ORDER BY dialog_id")
    assert outcomes == [(KNEE, "likely_candidate"), (LUPUS, "likely_candidate")]
    assert_nothing_of(knee, trials.default.dialog, page_texts(lupus_person), "the web, lupus")
    assert_nothing_of(trials.default.dialog, knee, page_texts(knee_person), "the web, knee")

    # The same browser opens the other trial: a conversation of its own, the first one kept.
    knee_person.get(f"/t/{LUPUS}")
    t = trials.default.translator(language)
    assert html.escape(t.dialog(trials.default.dialog.texts.greeting), quote=False) in knee_person.page.html
    knee_person.press(t.dialog(trials.default.dialog.consent.agree))
    assert len(rows(db_path, "SELECT id FROM conversations")) == 3
    assert sorted(d for (d,) in rows(db_path, "SELECT dialog_id FROM conversations")).count(KNEE) == 1
    # The last reply kept for the page after a redirect (bot/store/web_state.py) is per session and trial:
    # the lupus reply of the browser that screened for the knee trial leaves its knee reply in place.
    kept = sorted(session.split("/")[0] for (session,) in rows(db_path, "SELECT session FROM web_turns"))
    assert kept == [KNEE, LUPUS, LUPUS]
    assert TestClient(app).get("/t/no_such_trial").status_code == 404


def test_the_web_counts_each_trial_started_once_per_browser(trials: Trials, db_path: Path) -> None:
    app = web_app(trials, db_path)
    browser = TestClient(app)
    for _visit in range(2):
        browser.get(f"/t/{KNEE}")
        browser.get(f"/t/{LUPUS}?src=poster-chengdu")
    team = trials.team()
    assert team.counts(KNEE).totals.get("started") == 1 and team.counts(LUPUS).totals.get("started") == 1


def test_with_one_trial_the_web_keeps_its_old_addresses(db_path: Path) -> None:
    one = compose.build_trials(Settings(db_path=db_path))
    app = web_app(one, db_path)
    client = TestClient(app)
    assert "I agree" in client.get("/").text
    moved = client.get(f"/t/{LUPUS}?src=poster", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/?src=poster"
    user = WebUser(app)
    user.press("I agree")
    assert all('action="/"' in page.html for page in user.pages if "<form" in page.html)
    assert rows(db_path, "SELECT dialog_id FROM conversations") == [(LUPUS,)]


# ---------------------------------------------------------------------- Telegram


async def screen_on_telegram(person: Person, dialog: Dialog, t: Translator) -> None:
    """From the consent notice to the outcome, by buttons (multiple choice: tick, then Done)."""
    await person.tap(t.dialog(dialog.consent.agree))
    for _step in range(60):
        step = person.step
        if step == "summary":
            await person.tap(t(_("These are right: show the result")))
            continue
        if (consent := dialog.separate_consent(step)) is not None:
            await person.tap(t.dialog(consent.agree))
            continue
        if not dialog.has_question(step):
            return
        question = dialog.question(step)
        typed = (KNEE_ANSWERS if dialog.id == KNEE else {}).get(step, harmless_answer(question))
        if question.kind in ("number", "year"):
            await person.say(typed)
            continue
        label = t.dialog(question.options[int(typed) - 1].label)
        await person.tap(label)
        if question.kind == "multi":
            await person.tap(t(_("Done")))
    raise AssertionError("the screening did not end")


async def give_contact_on_telegram(person: Person, dialog: Dialog, t: Translator, phone: str) -> None:
    assert person.step == "contact_consent", person.all_text()[-300:]
    await person.tap(t(_("Yes, please contact me")))
    await person.say(phone)
    await person.tap(t(_("Skip")))
    await person.tap(t(_("Afternoon")))
    await person.tap(t.dialog(call_language(dialog)))
    assert person.step == "finished"


def everything_shown(api: FakeBotApi, person: Person) -> list[str]:
    messages = [m for m in api.chat(person.chat_id) if m.from_bot]
    return [m.text for m in messages] + [b["text"] for m in messages for b in m.buttons]


async def test_telegram_deep_links_menu_and_buttons_name_the_trial(
    api: FakeBotApi, trials: Trials, db_path: Path, knee: Dialog
) -> None:
    lupus = trials.default
    t_lupus, t_knee = lupus.translator("en"), trials.get(KNEE).translator("en")  # type: ignore[union-attr]
    staff = StaffOptions(user_ids=frozenset({STAFF_ID}), language="en")
    async with running_bot(api, trials, staff=staff):  # type: ignore[arg-type]
        only_lupus, only_knee, both_ = Person(api), Person(api), Person(api, language_code="zh-hans")
        await only_lupus.say(f"/start {LUPUS}-poster-wuhan")
        assert t_lupus.dialog(lupus.dialog.texts.greeting) in only_lupus.all_text()
        assert trial_of(only_lupus.prompt().buttons[0]["callback_data"]) == LUPUS, "every button names its trial"
        await screen_on_telegram(only_lupus, lupus.dialog, t_lupus)
        await only_knee.say(f"/start {KNEE}-wechat-group")
        await screen_on_telegram(only_knee, knee, t_knee)
        await give_contact_on_telegram(only_knee, knee, t_knee, "13812345678")

        # One person, both trials: /start alone asks which study (in their language), with buttons.
        await both_.say("/start", new_messages=1)
        menu = both_.prompt()
        zh = "zh_Hans"
        assert menu.text == trials.translator(zh)(WHICH_STUDY)
        assert [b["text"] for b in menu.buttons] == [trials.title(LUPUS, zh), trials.title(KNEE, zh)]
        assert [chosen_study(b["callback_data"]) for b in menu.buttons] == [LUPUS, KNEE]
        await both_.tap(trials.title(KNEE, zh))
        assert not api.messages[menu.message_id].buttons, "the menu's buttons go once one is picked"
        knee_zh = trials.get(KNEE).translator(zh)  # type: ignore[union-attr]
        await screen_on_telegram(both_, knee, knee_zh)
        await give_contact_on_telegram(both_, knee, knee_zh, "13712345678")
        await both_.say(f"/start {LUPUS}")
        lupus_zh = lupus.translator(zh)
        assert lupus_zh.dialog(lupus.dialog.consent.agree) in [b["text"] for b in both_.prompt().buttons]
        await both_.tap(lupus_zh.dialog(lupus.dialog.consent.agree))
        assert both_.step == "cross_border"
        await both_.tap(lupus_zh.dialog(lupus.dialog.separate_consent("cross_border").agree))  # type: ignore[union-attr]
        await both_.say("/help", new_messages=1)
        assert lupus_zh.dialog(lupus.dialog.texts.about) in both_.all_text(), "help of the trial in use"

        # Staff: each lead says which study; /leads and /export take a trial.
        staff_person = Person(api, chat_id=STAFF_ID)
        await staff_person.say(f"/leads {KNEE}", new_messages=1)
        listing = staff_person.texts()[-1]
        assert listing.count("/lead_") == 2 and LUPUS not in listing
        await staff_person.say("/stats", new_messages=1)
        stats = staff_person.texts()[-1]
        assert f"Study: {trials.title(LUPUS, 'en')}" in stats and f"Study: {trials.title(KNEE, 'en')}" in stats

    stored = rows(db_path, "SELECT dialog_id, source FROM conversations")
    assert sorted(stored) == [(KNEE, ""), (KNEE, "wechat-group"), (LUPUS, ""), (LUPUS, "poster-wuhan")]
    assert_nothing_of(knee, lupus.dialog, everything_shown(api, only_lupus), "Telegram, lupus")
    assert_nothing_of(lupus.dialog, knee, everything_shown(api, only_knee), "Telegram, knee")


async def test_telegram_delete_erases_both_trials_and_a_tap_goes_to_its_own_trial(
    api: FakeBotApi, trials: Trials, db_path: Path, knee: Dialog
) -> None:
    lupus = trials.default
    t_lupus, t_knee = lupus.translator("en"), trials.get(KNEE).translator("en")  # type: ignore[union-attr]
    async with running_bot(api, trials):  # type: ignore[arg-type]
        person = Person(api)
        await person.say(f"/start {KNEE}")
        await person.tap(t_knee.dialog(knee.consent.agree))
        await person.tap(t_knee.dialog(knee.separate_consent("cross_border").agree))  # type: ignore[union-attr]
        knee_question = person.prompt()
        old_data = next(b["callback_data"] for b in knee_question.buttons if b["text"] == t_knee.dialog("My own knees"))
        assert decode(old_data) == ("who_answers", Choose("who_answers", "self")) and trial_of(old_data) == KNEE
        await person.say(f"/start {LUPUS}")
        await person.tap(t_lupus.dialog(lupus.dialog.consent.agree))
        assert person.step == "cross_border"
        # An old button of the knee trial (as a reminder would show it) answers the knee trial, not lupus.
        old_tap = person.tap_update(person.prompt(), person.labels()[0])
        old_tap["callback_query"]["data"] = old_data
        await person.deliver_tap(old_tap)
        knee_conv = rows(db_path, "SELECT answers FROM conversations WHERE dialog_id = ?", KNEE)
        assert '"who_answers"' in knee_conv[0][0]
        lupus_conv = rows(db_path, "SELECT state FROM conversations WHERE dialog_id = ?", LUPUS)
        assert lupus_conv == [("cross_border",)], "the lupus screening did not move"
        await person.say("/delete")
        assert "for every study you answered here" in person.prompt().text
        await person.tap("Yes")
        await api.wait_for(lambda: "Your answers are deleted, for every study" in person.all_text())
    said = person.all_text()
    assert trials.title(LUPUS, "en") in said and trials.title(KNEE, "en") in said
    assert rows(db_path, "SELECT count(*) FROM conversations") == [(0,)]


def test_every_button_of_both_trials_fits_with_its_trial(knee: Dialog, dialog: Dialog) -> None:
    from bot.channels.telegram.keyboards import CALLBACK_DATA_LIMIT, encode

    for each in (dialog, knee):
        for question in each.questions:
            for option in question.options:
                data = encode(question.id, Choose(question.id, option.id), each.id)
                assert len(data.encode()) <= CALLBACK_DATA_LIMIT and trial_of(data) == each.id
                assert decode(data) == (question.id, Choose(question.id, option.id))
            assert len(encode("summary", Command("edit", question.id), each.id).encode()) <= CALLBACK_DATA_LIMIT


# ---------------------------------------------------------------------- the staff tools and the ethics pack


def test_staff_exports_and_console_keep_each_trial_in_its_own_words(
    trials: Trials, db_path: Path, knee: Dialog, tmp_path: Path
) -> None:
    give_contact(screen(trials.default, "erin"), "13912345678")
    give_contact(screen(trials.get(KNEE), "frank", knee_diagnosis="3"), "13812345678")  # type: ignore[arg-type]
    team = trials.team()
    headers, both_rows = export_table(team.leads(), list(team.dialogs.values()))
    assert "trial" in headers and f"{LUPUS}:I1" in headers and f"{KNEE}:I1" in headers and "I1" not in headers
    knee_row = next(r for r in both_rows if r["trial"] == KNEE)
    assert knee_row[f"{KNEE}:I3"] == "unclear" and knee_row[f"{LUPUS}:I1"] == ""
    assert "Knee osteoarthritis" in knee_row["to_check"]
    one_headers, one_rows = export_table(team.leads(trial=KNEE), [knee])
    assert [r["trial"] for r in one_rows] == [KNEE] and "I3" in one_headers and f"{KNEE}:I3" not in one_headers

    env = {"SCREENING_DIALOG": f"{DIALOG_PATH},{SECOND_TRIAL}"}
    out = tmp_path / "knee.csv"
    exported = screening_bot("--db", str(db_path), "leads", "export", "--trial", KNEE, "-o", str(out), env=env)
    assert exported.returncode == 0, exported.stderr
    csv_rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["trial"] for r in csv_rows] == [KNEE] and "E1" in csv_rows[0]
    listed = screening_bot("--db", str(db_path), "leads", "list", env=env)
    assert "TRIAL" in listed.stdout and KNEE in listed.stdout and LUPUS in listed.stdout
    knee_id = next(lead.id for lead in team.leads(trial=KNEE))
    shown = screening_bot("--db", str(db_path), "leads", "show", knee_id, env=env)
    assert f"{KNEE} ({knee.title})" in shown.stdout and "The physiotherapist's overall view" in shown.stdout

    # The console: a filter by study, each lead in its trial's words (its own catalog), statistics per study.
    app = web_app(trials, db_path)
    desk = app.state.staff_console.console.desk
    made = desk.accounts.add("li", "coordinator", auth.hash_password(PASSWORD), "2026-11-25T08:00:00+00:00")
    secret = pyotp.random_base32()
    desk.accounts.enrol(made.id, auth.hash_password(PASSWORD), secret, 0)
    client = TestClient(app)
    login = client.get("/staff/login")
    signed = client.post(
        "/staff/login",
        data={"csrf": csrf_of(login.text), "username": "li", "password": PASSWORD, "code": pyotp.TOTP(secret).now()},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    queue = client.get("/staff/leads?status=all").text
    assert 'name="trial"' in queue and html.escape(trials.title(KNEE, "en"), quote=False) in queue
    knee_lead = next(lead.id for lead in team.leads(trial=KNEE))
    lupus_lead = next(lead.id for lead in team.leads(trial=LUPUS))
    only_knee = client.get(f"/staff/leads?status=all&trial={KNEE}").text
    assert knee_lead in only_knee and lupus_lead not in only_knee
    client.get("/staff/language/zh_Hans")
    page = client.get(f"/staff/leads/{knee_lead}").text
    knee_zh = trials.get(KNEE).translator("zh_Hans")  # type: ignore[union-attr]
    assert knee_zh.dialog("Aged 45 to 80") in page and knee_zh.dialog("Knee osteoarthritis") in page
    assert html.escape(trials.title(KNEE, "zh_Hans"), quote=False) in page
    assert_nothing_of(trials.default.dialog, knee, [html.unescape(page)], "the console's knee lead")
    stats = client.get(f"/staff/stats?trial={KNEE}").text
    assert f'value="{KNEE}" selected' in stats and f"/staff/charts/funnel.svg?trial={KNEE}" in stats
    assert client.get(f"/staff/charts/stops.svg?trial={KNEE}").status_code == 200
    export = client.post(
        "/staff/export",
        data={"csrf": csrf_of(only_knee), "format": "csv", "status": "all", "trial": KNEE},
    )
    exported_rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [r["id"] for r in exported_rows] == [knee_lead] and "I3" in exported_rows[0]


def test_the_ethics_pack_is_per_dialog_file(tmp_path: Path, knee: Dialog) -> None:
    env = {"SCREENING_DIALOG": f"{DIALOG_PATH},{SECOND_TRIAL}"}
    made = screening_bot("export-script", "--no-flow", "--out", str(tmp_path), env=env, timeout=300)
    assert made.returncode == 0, made.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert f"{KNEE}-{knee.version}.html" in names and f"{KNEE}-{knee.version}.md" in names
    assert any(name.startswith(f"{LUPUS}-") and name.endswith(".md") for name in names)
    knee_pack = (tmp_path / f"{KNEE}-{knee.version}.md").read_text(encoding="utf-8")
    lupus_dialog = load_dialog(DIALOG_PATH)
    assert "我自己的膝盖" in knee_pack, "the knee trial's Chinese, from its own catalog beside its file"
    flagged = [line for line in knee_pack.splitlines() if "**[NOT TRANSLATED]**" in line]
    knee_english = {text for _where, text in dialog_texts(tomllib.loads(SECOND_TRIAL.read_text(encoding="utf-8")))}
    assert not [line for line in flagged if any(text.splitlines()[0] in line for text in knee_english)], flagged
    assert_nothing_of(lupus_dialog, knee, [knee_pack], "the ethics pack of the knee trial")
    one = tmp_path / "one"
    alone = screening_bot("export-script", "--no-flow", "--out", str(one), "--dialog", str(SECOND_TRIAL), timeout=300)
    assert alone.returncode == 0 and sorted(p.name for p in one.iterdir())[0].startswith(KNEE)


# ---------------------------------------------------------------------- around the screening


def test_qr_codes_name_each_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_PUBLIC_URL", "https://screening.example.org")
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "study_bot")
    monkeypatch.setenv("SCREENING_DIALOG", f"{DIALOG_PATH},{SECOND_TRIAL}")
    assert main(["qr", "--source", "poster-chengdu", "--out", str(tmp_path)]) == 0
    svg = {p.name: p.read_text() for p in tmp_path.glob("*.svg")}
    assert sorted(svg) == [f"poster-chengdu-{i}-{kind}.svg" for i in (KNEE, LUPUS) for kind in ("telegram", "web")]
    assert f"https://screening.example.org/t/{KNEE}?src=poster-chengdu" in svg[f"poster-chengdu-{KNEE}-web.svg"]
    assert f"https://t.me/study_bot?start={KNEE}-poster-chengdu" in svg[f"poster-chengdu-{KNEE}-telegram.svg"]
    only = tmp_path / "only"
    assert main(["qr", "--source", "poster-chengdu", "--trial", KNEE, "--out", str(only)]) == 0
    assert sorted(p.name for p in only.glob("*.svg")) == [f"poster-chengdu-{KNEE}-{k}.svg" for k in ("telegram", "web")]
    with pytest.raises(Exception, match="64"):
        telegram_link("study_bot", "x" * 50, KNEE)


def test_check_launch_checks_each_trial_and_takes_an_approved_version_per_trial(
    db_path: Path, knee: Dialog, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = both(db_path, ethics_approved_version=f"{LUPUS}=1.4.0, {KNEE}={knee.version}")
    items = check_launch(settings)
    approval = {i.topic: i for i in items if "Ethics approval" in i.topic}
    assert set(approval) == {f"{LUPUS}: Ethics approval", f"{KNEE}: Ethics approval"}
    assert not any(i.open for i in approval.values())
    assert any(i.topic == f"{KNEE}: [[to_confirm]] safety.lines.mental_health_hotline" for i in items)
    unapproved = {i.topic: i for i in check_launch(both(db_path, ethics_approved_version="1.4.0"))}
    assert not unapproved[f"{LUPUS}: Ethics approval"].open, "a bare version is the default trial's"
    assert unapproved[f"{KNEE}: Ethics approval"].open
    assert f'"{KNEE}={knee.version}"' in unapproved[f"{KNEE}: Ethics approval"].fix


WUHAN_PHONE, CHENGDU_PHONE = "+86 27 8888 0000", "+86 28 6666 0000"


def test_each_trial_shows_its_own_teams_contact_details(db_path: Path, tmp_path: Path) -> None:
    """Two teams: the SITE_* settings are the default trial's team, `[trial_sites.<id>]` another trial's; its
    people never see the other team's phone, e-mail or hospital (the server location is shared)."""
    config = tmp_path / "screening.toml"
    config.write_text(
        f'site_phone = "{WUHAN_PHONE}"\nsite_email = "lupus@example.org"\nsite_server_location = "Wuhan"\n'
        f'[trial_sites.{KNEE}]\nsite_phone = "{CHENGDU_PHONE}"\nsite_hours = "Mon-Fri 9:00-17:00"\n',
        encoding="utf-8",
    )
    settings = replace(load_settings(config), db_path=db_path, dialog_paths=(DIALOG_PATH, SECOND_TRIAL))
    trials = compose.build_trials(settings)
    lupus, knee = trials.get(LUPUS), trials.get(KNEE)
    assert lupus is not None and knee is not None
    assert (knee.site.phone, knee.site.email, knee.site.server_location) == (CHENGDU_PHONE, "", "Wuhan")
    assert knee.site.hospital == load_dialog(SECOND_TRIAL).site.hospital, "its own dialog file's hospital"
    assert (lupus.site.phone, lupus.site.email) == (WUHAN_PHONE, "lupus@example.org")
    for language in ("en", "zh_Hans"):
        seen_lupus = " ".join(screen(lupus, f"l-{language}", language).seen)
        seen_knee = " ".join(screen(knee, f"k-{language}", language).seen)
        assert WUHAN_PHONE in seen_lupus and CHENGDU_PHONE not in seen_lupus
        assert CHENGDU_PHONE in seen_knee and WUHAN_PHONE not in seen_knee and "lupus@example.org" not in seen_knee
    launch = {i.topic: i for i in check_launch(settings)}
    assert f"{KNEE}: Site of this trial" not in launch
    assert launch[f"{KNEE}: Site phone"].says == f"[trial_sites.{KNEE}] site_phone = {CHENGDU_PHONE}"
    assert launch[f"{KNEE}: Site server_location"].says == "SITE_SERVER_LOCATION = Wuhan"
    assert launch[f"{KNEE}: Site email"].open and f"[trial_sites.{KNEE}]" in launch[f"{KNEE}: Site email"].fix


def test_a_trial_of_another_site_shown_the_site_settings_is_flagged_and_a_misspelt_table_refused(
    db_path: Path,
) -> None:
    shared = both(db_path, site_phone=WUHAN_PHONE)
    flagged = {i.topic: i for i in check_launch(shared)}[f"{KNEE}: Site of this trial"]
    assert flagged.open and "SITE_PHONE" in flagged.says and f"[trial_sites.{KNEE}]" in flagged.fix
    assert f"{LUPUS}: Site of this trial" not in {i.topic for i in check_launch(shared)}
    misspelt = both(db_path, trial_sites=(("knee_oa_chengd", (("site_phone", CHENGDU_PHONE),)),))
    with pytest.raises(ConfigError, match=r"knee_oa_chengd.*the trials are: nct06349343, knee_oa_chengdu"):
        compose.build_trials(misspelt)
    assert not db_path.exists(), "refused before the database is touched"
    assert [i.topic for i in check_launch(misspelt)] == ["Dialog file"]


def test_a_notification_says_which_study(trials: Trials, knee: Dialog) -> None:
    give_contact(screen(trials.get(KNEE), "gina"), "13612345678")  # type: ignore[arg-type]
    lead_id = trials.team().leads(trial=KNEE)[0].id
    names = {i: trials.title(i, "en") for i in trials.ids}
    message = Message(1, lead_id, "new", False, "t", "", "", "", 0, "", "")
    title, body = Notifier(trials.notifications(), [], trials.translator("en"), trial_names=names).text(message)
    assert body.startswith(f"Study: {trials.title(KNEE, 'en')}") and lead_id in title
    _title, alone = Notifier(trials.notifications(), [], trials.translator("en")).text(message)
    assert "Study:" not in alone, "with one trial nothing changes"


def test_a_reminder_is_drawn_by_its_own_trial(trials: Trials, knee: Dialog) -> None:
    """The quiet-time reminder of a knee conversation shows the knee question, whatever trial is default."""
    service = trials.get(KNEE)
    assert service is not None
    key = Key("telegram", trials.pseudonym("telegram", 424242), "en", address=424242)
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    service.handle(key, Command("start"), now=now)
    service.handle(key, Choose(CONSENT, "agree"), nudge_after=timedelta(hours=24), now=now)
    upkeep = Upkeep(trials)
    due = upkeep.due_nudges(now + timedelta(hours=25))
    assert [d.dialog_id for d in due] == [KNEE]
    drawn = upkeep.nudge("telegram", due[0], now + timedelta(hours=25))
    assert drawn is not None and drawn.dialog_id == KNEE
    assert drawn.prompt.question == "cross_border"
    assert drawn.prompt.options[0].label == knee.separate_consent("cross_border").agree  # type: ignore[union-attr]
