"""Notifications of new leads: what they say (no personal data), urgent first, retried until delivered, never lost.

Real apprise targets against servers on 127.0.0.1: a group robot's webhook (`json://`)
and an SMTP server (`mailto://`). WeCom, DingTalk, Feishu and Telegram have fixed
addresses on the internet, so for them the test checks that apprise knows their URLs.
"""

from __future__ import annotations

import asyncio
import socketserver
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.dialog.model import Dialog
from bot.i18n import Translator
from bot.notify.notifier import Notifier, retry_after
from bot.notify.targets import TargetError, parse_targets
from bot.store.outbox import Outbox
from bot.store.retention import erase_lead

from .conftest import DIALOG_PATH, LOCALES, Screener, give_contact, make_lead_screener, reach_outcome, start_screening
from .fake_webhook import FakeWebhook
from .test_safety import low_mood_yes

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CHINA_URLS = {
    "mailtos://screening:app-password@smtp.163.com?to=study-team@example.org": "E-Mail",
    "wecombot://0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d": "WeCom Bot",
    "dingtalk://SECRET123@0123456789abcdef0123456789abcdef/": "DingTalk",
    "feishu://0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d": "Feishu",
    "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567890": "Telegram",
}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def notifier(screener: Screener, urls: list[str], clock: Clock, language: str = "en") -> Notifier:
    made = Notifier(
        screener.notifications(),
        parse_targets(tuple(urls)),
        Translator(language, LOCALES),
        "https://screening.example.org",
        clock,
    )
    screener.subscribe(made.on_lead, in_step=True)  # as notifier_for does
    screener.subscribe(made.committed)
    return made


def make_lead(screener: Screener, dialog: Dialog, user: str, phone: str, urgent: bool = False) -> str:
    chat = start_screening(screener, user=user)
    reach_outcome(chat, dialog, low_mood_yes(dialog) if urgent else None)
    give_contact(chat, phone, "李娜")
    return screener.leads.lead_of(screener.open("test", user).id) or ""


def test_apprise_knows_the_channels_a_hospital_in_china_uses_and_no_secret_is_shown() -> None:
    targets = parse_targets(tuple(CHINA_URLS))
    assert [t.service for t in targets] == list(CHINA_URLS.values())
    for target in targets:
        assert not any(secret in target.label for secret in ("app-password", "SECRET123", "AAHdqTcvCH1vGWJx"))
        assert "0a1b2c3d-4e5f" not in target.label
    assert len({t.key for t in targets}) == len(targets)
    with pytest.raises(TargetError, match=r"entry 1 \(scheme 'nope'\) is not a notification address"):
        parse_targets(("nope://x",))


def test_the_setting_takes_urls_separated_by_spaces_and_refuses_anything_else(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"NOTIFY_URLS": "wecombot://KEY  mailtos://u:p@smtp.example.org?to=a@b.org,c@d.org"}
    )
    assert settings.notify_urls == ("wecombot://KEY", "mailtos://u:p@smtp.example.org?to=a@b.org,c@d.org")
    with pytest.raises(ConfigError, match=r"NOTIFY_URLS \(config file: notify_urls\) must be notification addresses"):
        load_settings(environ={"NOTIFY_URLS": "team@example.org"})
    config = tmp_path / "screening.toml"
    config.write_text('notify_urls = ["feishu://TOKEN", "dingtalk://TOKEN/"]\n', encoding="utf-8")
    assert load_settings(config, environ={}).notify_urls == ("feishu://TOKEN", "dingtalk://TOKEN/")
    assert "KEY" not in repr(settings), "a secret, never shown"


def test_a_new_lead_is_announced_with_its_id_and_result_and_nothing_personal(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    clock = Clock()
    with FakeWebhook() as hook:
        notify = notifier(screener, [hook.url], clock)
        lead_id = make_lead(screener, dialog, "a", "13912345678")
        assert asyncio.run(notify.send_due()) == 1
        (message,) = hook.wait_for(1)
    assert message["title"] == f"New lead {lead_id}"
    assert "Result: likely candidate" in message["message"]
    assert f"https://screening.example.org/staff/leads/{lead_id}" in message["message"]
    text = str(message)
    assert "13912345678" not in text and "李娜" not in text and "139" not in text
    assert Outbox(screener.store.db).recent()[0].sent_at == NOW.isoformat()


def test_in_chinese_when_the_staff_language_is(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    with FakeWebhook() as hook:
        notify = notifier(screener, [hook.url], Clock(), language="zh_Hans")
        lead_id = make_lead(screener, dialog, "a", "13912345678")
        asyncio.run(notify.send_due())
        (message,) = hook.wait_for(1)
    t = Translator("zh_Hans", LOCALES)
    assert message["title"] == t("New lead {id}", id=lead_id) != f"New lead {lead_id}"


def test_an_urgent_lead_is_announced_as_soon_as_its_number_arrives_and_first(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    with FakeWebhook() as hook:
        notify = notifier(screener, [hook.url], Clock())
        calm = make_lead(screener, dialog, "calm", "13911112222")
        worried = start_screening(screener, user="worried")
        reach_outcome(worried, dialog, low_mood_yes(dialog))
        worried.press("Yes, please contact me")
        worried.send("139 3333 4444")  # the name, time and language are still to come: it is announced now
        urgent = screener.leads.lead_of(screener.open("test", "worried").id)
        assert asyncio.run(notify.send_due()) == 2
        titles = [m["title"] for m in hook.wait_for(2)]
    assert titles == [f"URGENT: lead {urgent}. Please call first.", f"New lead {calm}"]
    worried.press("Skip")
    worried.press("Afternoon")
    worried.press("Chinese (Mandarin)")  # completed: not announced twice
    assert asyncio.run(notify.send_due()) == 0


def test_a_failure_is_kept_shown_and_retried_until_it_is_delivered(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    clock = Clock()
    outbox = Outbox(screener.store.db)
    with FakeWebhook(refuse_first=2) as hook:
        notify = notifier(screener, [hook.url], clock)
        lead_id = make_lead(screener, dialog, "a", "13912345678")
        assert asyncio.run(notify.send_due()) == 0
        (waiting,) = outbox.recent()
        assert waiting.tries == 1 and not waiting.sent_at and waiting.last_error
        assert "127.0.0.1" not in waiting.last_error, "no address in what the console shows"
        assert waiting.next_try_at == (NOW + timedelta(seconds=30)).isoformat()
        assert outbox.failing() == 1
        clock.now += timedelta(seconds=29)
        assert asyncio.run(notify.send_due()) == 0 and outbox.recent()[0].tries == 1, "not before its time"
        clock.now += timedelta(seconds=1)
        assert asyncio.run(notify.send_due()) == 0 and outbox.recent()[0].tries == 2
        assert outbox.recent()[0].next_try_at == (clock.now + timedelta(seconds=60)).isoformat()
        clock.now += timedelta(seconds=60)
        assert asyncio.run(notify.send_due()) == 1
        (message,) = hook.wait_for(1)
    assert message["title"] == f"New lead {lead_id}"
    assert outbox.recent()[0].sent_at and outbox.failing() == 0
    assert [retry_after(n) for n in (1, 2, 3, 7, 8, 20)] == [30, 60, 120, 1800, 1800, 1800]


def test_a_message_waiting_when_the_server_stops_is_sent_by_the_next_one(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    with FakeWebhook() as hook:
        first = notifier(screener, [hook.url], Clock())
        lead_id = make_lead(screener, dialog, "a", "13912345678")
        del first  # stopped before it sent anything
        again = make_lead_screener(dialog, db_path)
        assert asyncio.run(notifier(again, [hook.url], Clock()).send_due()) == 1
        assert hook.wait_for(1)[0]["title"] == f"New lead {lead_id}"


def test_a_lead_made_without_a_message_is_swept_up_and_an_erased_one_never_announced(
    dialog: Dialog, db_path: Path
) -> None:
    screener = make_lead_screener(dialog, db_path)
    quiet = make_lead(screener, dialog, "quiet", "13912345678")  # made where nothing was listening
    clock = Clock()
    with FakeWebhook() as hook:
        notify = notifier(screener, [hook.url], clock)
        gone = make_lead(screener, dialog, "gone", "13955556666")
        erase_lead(screener.store.db, gone, "nurse-li")
        assert notify.sweep() == 1
        assert notify.sweep() == 0, "once"
        assert asyncio.run(notify.send_due()) == 1
        assert [m["title"] for m in hook.wait_for(1)] == [f"New lead {quiet}"]
    assert all(m.lead_id != gone for m in Outbox(screener.store.db).recent())


def test_two_processes_on_one_database_never_send_a_message_twice(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    other = make_lead_screener(dialog, db_path)
    with FakeWebhook() as hook:
        one = notifier(screener, [hook.url], Clock())
        two = notifier(other, [hook.url], Clock())
        make_lead(screener, dialog, "a", "13912345678")
        due = Outbox(screener.store.db).claim_due(NOW.isoformat(), (NOW + timedelta(minutes=2)).isoformat())
        assert len(due) == 1
        assert asyncio.run(two.send_due()) == 0, "claimed by the other process"
        assert asyncio.run(one._send(due[0])) == 1
        assert len(hook.wait_for(1)) == 1


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to take one message: what apprise's e-mail plugin says, and the message."""

    def handle(self) -> None:
        self.wfile.write(b"220 localhost ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 localhost\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while (part := self.rfile.readline()) not in (b".\r\n", b""):
                    data += part
                self.server.messages.append(data.decode("utf-8", "replace"))  # type: ignore[attr-defined]
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_an_e_mail_reaches_the_study_team_over_smtp(dialog: Dialog, db_path: Path) -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.messages: list[str] = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        url = f"mailto://127.0.0.1:{port}?to=study-team@example.org&from=bot@example.org&mode=insecure"
        screener = make_lead_screener(dialog, db_path)
        notify = notifier(screener, [url], Clock())
        lead_id = make_lead(screener, dialog, "a", "13912345678")
        assert asyncio.run(notify.send_due()) == 1
    finally:
        server.shutdown()
        server.server_close()
    (mail,) = server.messages  # type: ignore[attr-defined]
    assert f"New lead {lead_id}" in mail and "study-team@example.org" in mail
    assert "13912345678" not in mail and "李娜" not in mail


def test_screening_bot_notify_test_sends_to_every_address(dialog: Dialog, db_path: Path, monkeypatch, capsys) -> None:
    make_lead_screener(dialog, db_path)
    for name in ("SCREENING_KEY", "SCREENING_KEY_FILE", "SCREENING_CONFIG", "SCREENING_DB"):
        monkeypatch.delenv(name, raising=False)
    with FakeWebhook() as hook:
        monkeypatch.setenv("NOTIFY_URLS", hook.url)
        assert main(["--db", str(db_path), "--dialog", str(DIALOG_PATH), "notify", "test"]) == 0
        (message,) = hook.wait_for(1)
    assert message["title"] == "Test message from the screening bot"
    assert "JSON" not in capsys.readouterr().err
    monkeypatch.setenv("NOTIFY_URLS", "json://127.0.0.1:9/nothing-listens")
    assert main(["--db", str(db_path), "--dialog", str(DIALOG_PATH), "notify", "test"]) == 1
    assert "NOT sent" in capsys.readouterr().out


async def test_beside_the_telegram_bot_the_sender_runs_and_stops_with_it(dialog: Dialog, db_path: Path) -> None:
    """`screening-bot run` without --web: the notifier is one of the bot's `beside` servers, as cli.py sets it."""
    from bot.channels.telegram import build_application
    from bot.channels.telegram.app import serve
    from bot.notify.notifier import notifier_for

    from .fake_bot_api import FakeBotApi
    from .telegram_support import options_for

    api = FakeBotApi()
    await api.start()
    screener = make_lead_screener(dialog, db_path)
    with FakeWebhook() as hook:
        settings = load_settings(environ={"NOTIFY_URLS": hook.url, "SCREENING_DB": str(db_path)})
        notify = notifier_for(screener, settings)
        assert notify is not None and (notify.on_lead, True) in screener.lead_subscribers  # inside the step
        stopping = asyncio.Event()
        bot = asyncio.create_task(
            serve(build_application(screener, options_for(api)), beside=[notify], stopping=stopping)
        )
        try:
            async with asyncio.timeout(20):
                while not notify.running:  # the sender starts on this loop
                    await asyncio.sleep(0)
                lead_id = make_lead(screener, dialog, "a", "13912345678")
                while not hook.received:
                    await asyncio.sleep(0.01)  # the webhook answers in its own thread
            assert hook.received[0]["title"] == f"New lead {lead_id}"
        finally:
            stopping.set()
            await bot
            await api.stop()
    assert notify.should_exit
