"""Retention runs in every long-running process (Telegram, web, both: once per process, off the event
loop), and the timer for deployments that run none of them works."""

from __future__ import annotations

import asyncio
import configparser
import os
import shutil
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from bot.channels.telegram import build_application
from bot.channels.telegram.app import serve
from bot.channels.web.app import create_app
from bot.channels.web.cli import embedded_web
from bot.config import load_settings
from bot.dialog.model import Dialog
from bot.retention import Retention
from bot.screening import DailyPurge, ScreeningService
from bot.screening.daily_purge import purging_databases

from .conftest import ROOT, make_lead_screener, peek, start_screening
from .fake_bot_api import FakeBotApi
from .telegram_support import options_for
from .test_run_both import free_port

DEPLOY = ROOT / "deploy" / "systemd"


def unfinished(screener: ScreeningService, user: str, days_ago: float) -> None:
    """A screening someone started and left `days_ago` days ago (the unfinished period is 30 days)."""
    start_screening(screener, user=user).send("1")
    stamp = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="seconds")
    screener.storage.db.execute("UPDATE conversations SET updated_at = ? WHERE user_key = ?", [stamp, user])


def users(db_path: Path) -> set[str]:
    with peek(db_path) as conn:
        return {row[0] for row in conn.execute("SELECT user_key FROM conversations")}


def web_settings(db_path: Path, port: int = 8080):  # type: ignore[no-untyped-def]
    return load_settings(environ={"WEB_SECRET": "x" * 32, "SCREENING_DB": str(db_path), "WEB_PORT": str(port)})


def test_the_web_chat_purges_before_its_first_page(dialog: Dialog, db_path: Path) -> None:
    screener = make_lead_screener(dialog, db_path)
    unfinished(screener, "left-40-days-ago", 40)
    unfinished(screener, "left-yesterday", 1)
    app = create_app(screener, web_settings(db_path), retention=Retention())
    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        assert users(db_path) == {"left-yesterday"}
        assert purging_databases() == {str(db_path)}
    assert purging_databases() == set(), "the claim ends with the server"


async def test_the_purge_runs_daily_off_the_event_loop(dialog: Dialog, db_path: Path) -> None:
    """While the purge waits for the write lock (here: another program's transaction), the event loop
    goes on; in the loop's own thread it would stop every chat for up to 5 s, then fail."""
    screener = make_lead_screener(dialog, db_path)
    now = [datetime.now(UTC)]
    purge = DailyPurge(screener, Retention(), clock=lambda: now[0])
    assert (await purge.run_if_due()).total == 0
    unfinished(screener, "left-31-days-ago", 31)
    assert await purge.run_if_due() is None, "not a day since the last purge"

    now[0] += timedelta(days=1, seconds=1)
    with peek(db_path) as holder:
        holder.execute("BEGIN IMMEDIATE")
        try:
            running = asyncio.create_task(purge.run_if_due())
            ticks = 0
            while ticks < 20:
                await asyncio.sleep(0.001)
                ticks += 1
            assert not running.done(), "the purge waits for the lock in a worker thread; the loop went on"
        finally:
            holder.execute("COMMIT")
    counts = await running
    assert counts is not None and counts.unfinished == 1
    assert users(db_path) == set()


async def test_one_purge_per_process_when_telegram_and_the_web_chat_run_together(dialog: Dialog, db_path: Path) -> None:
    api = FakeBotApi()
    await api.start()
    screener = make_lead_screener(dialog, db_path)
    unfinished(screener, "left-40-days-ago", 40)
    web = embedded_web(screener, web_settings(db_path, free_port()))
    app = build_application(screener, options_for(api))
    stopping = asyncio.Event()
    bot = asyncio.create_task(serve(app, beside=[web], stopping=stopping))
    try:
        async with asyncio.timeout(20):
            while not web.started:
                await asyncio.sleep(0)
            await app.bot_data["purge"].checked.wait()
        assert purging_databases() == {str(db_path)}
        assert web.config.app.state.purge is None, "inside the bot, the bot runs the purge"
        assert users(db_path) == set()
        # A second loop for the same database in this process does not start.
        second = DailyPurge(screener, Retention())
        second.start()
        assert not second.claimed
    finally:
        stopping.set()
        await bot
        await api.stop()
    assert purging_databases() == set()


def test_screening_bot_web_purges_at_start(dialog: Dialog, tmp_path: Path) -> None:
    """The real `screening-bot web`, the channel mainland patients use: its first page comes after the purge."""
    db_path = tmp_path / "screening.db"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SCREENING_", "TELEGRAM_", "WEB_"))}
    port = free_port()
    environ |= {"SCREENING_DB": str(db_path), "WEB_PORT": str(port), "WEB_SECRET": "x" * 32}
    from bot.compose import build_service

    screener = build_service(load_settings(environ=environ))
    unfinished(screener, "left-40-days-ago", 40)
    unfinished(screener, "left-yesterday", 1)
    screener.storage.db.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "web"], stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=environ
    )
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        for line in proc.stderr:  # type: ignore[union-attr]
            if "Web chat on http:" in line:
                break
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=20).text == "ok"
        assert users(db_path) == {"left-yesterday"}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        watchdog.cancel()


# ---------------------------------------------------------------------- the timer


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / name).read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize(("job", "at"), [("purge", "03:00:00"), ("backup", "02:30:00")])
def test_the_timers_run_daily_and_the_command_each_runs_works(
    dialog: Dialog, tmp_path: Path, job: str, at: str
) -> None:
    timer, service = unit(f"screening-bot-{job}.timer"), unit(f"screening-bot-{job}.service")
    assert timer["Timer"]["OnCalendar"] == f"*-*-* {at}" and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert service["Service"]["Type"] == "oneshot"
    program, *arguments = service["Service"]["ExecStart"].split()
    assert program.endswith("/.venv/bin/screening-bot") and arguments == [job]

    # The command it runs, as it runs it: in the working directory, with the environment file's settings.
    work = tmp_path / "srv"
    work.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SCREENING_", "TELEGRAM_", "WEB_"))}
    environ["SCREENING_BACKUP_DIR"] = str(tmp_path / "backups")  # as /etc/screening/bot.env would set it
    from bot.compose import build_service

    screener = build_service(load_settings(environ={**environ, "SCREENING_DB": str(work / "data/screening.db")}))
    unfinished(screener, "left-40-days-ago", 40)
    screener.storage.db.close()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("screening-bot")), *arguments],
        cwd=work,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    if job == "purge":
        assert users(work / "data/screening.db") == set()
    else:
        assert len(list((tmp_path / "backups").glob("screening-*.db"))) == 1

    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the units' syntax was checked by configparser only")
    names = (f"screening-bot-{job}.timer", f"screening-bot-{job}.service")
    for name in names:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        text = text.replace(program, "/bin/true").replace("User=screening", "User=root")
        (tmp_path / name).write_text(text, encoding="utf-8")
    checked = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / n) for n in names)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr


def test_the_readme_gives_the_timer_and_a_cron_line() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "deploy/systemd/screening-bot-purge.timer" in readme
    cron = next(line.strip() for line in readme.splitlines() if line.strip().startswith("0 3 * * *"))
    fields = cron.split(None, 5)  # minute, hour, day, month, weekday, command
    assert len(fields) == 6 and "screening-bot" in fields[5] and fields[5].rstrip().endswith("purge")
