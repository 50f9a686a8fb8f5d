"""A coordinator's day in a real browser (Debian's headless Chromium), from the notification to the export.

The issue's "done when": a person gives an answer that shows a risk in the patient chat; the
study team's webhook hears "URGENT: lead …" at once, with the console's address; a
coordinator who has never used Telegram opens that address on a phone, signs in with her
password and a code from her app (a wrong code first: refused), sees the lead, opens the
phone number, records the call, changes the status, finds the lead in the queue and
exports the week's leads; the audit log names her at every step. A viewer who opens the
contact details is refused, a form from an older session is refused, and a session left
alone past the idle timeout ends. axe-core checks every kind of console page in English
and Chinese: no violation of any impact.

With SCREENSHOTS=1 it saves docs/console-*.png for the README: the queue, a lead and the
statistics on a phone in Chinese; the queue and the statistics on a desktop in English, a lead
in Chinese.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
import uvicorn

from bot.channels.web.cli import server_config
from bot.cli import main
from bot.console import auth
from bot.dialog.model import Dialog
from bot.notify.notifier import notifier_for
from bot.store import audit

from .conftest import AsSeen, give_contact, make_lead_screener, reach_outcome, start_screening
from .fake_webhook import FakeWebhook
from .test_console import Clock
from .test_safety import low_mood_yes
from .test_web_browser import SCREENSHOTS, AxeLog, _need_chromium, browser, phone
from .web_driver import make_app, web_settings

DESKTOP = (1280, 900)
PHONE = (375, 740)


class Server:
    """The real app (chat, console, notifications) on a real uvicorn on 127.0.0.1, as `screening-bot web` runs it."""

    def __init__(self, dialog: Dialog, db_path: Path, **settings: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.app, _served = make_app(dialog, db_path, leads=True, public_url=self.base, **settings)
        self.console = self.app.state.staff_console.console
        # The test's people screen, and the test looks, through a second service on its own connection, as
        # another process on the database would: one SQLite connection is never used by two threads (the
        # server's event loop and the test's). Its steps write the notifications' outbox in-step, as the
        # server's own would, and wake the server's sender once committed.
        self.screener = make_lead_screener(dialog, db_path, reminding=())
        writer = notifier_for(self.screener, web_settings(db_path, public_url=self.base, **settings))
        assert writer is not None
        self.screener.subscribe(lambda _lead, _event: self.app.state.staff_console.notifier.wake())
        self.clock = Clock()
        self.clock.now = datetime.now(UTC)  # the leads are made now: their ages read as in real use
        self.console.desk.clock = self.clock
        self.db_path = db_path
        self.server = uvicorn.Server(server_config(self.app, "127.0.0.1", self.sock.getsockname()[1]))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)  # waiting for the server to listen, not ordering events

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def hook() -> Iterator[FakeWebhook]:
    with FakeWebhook() as made:
        yield made


@pytest.fixture
def server(dialog: Dialog, tmp_path: Path, hook: FakeWebhook) -> Iterator[Server]:
    _need_chromium()
    made = Server(dialog, tmp_path / "screening.db", notify_urls=hook.url)
    made.start()
    try:
        yield made
    finally:
        made.stop()


def by(css: str) -> tuple[str, str]:
    from selenium.webdriver.common.by import By

    return (By.CSS_SELECTOR, css)


def fill(driver, fields: dict[str, str]) -> None:
    from selenium.webdriver.common.by import By

    for name, value in fields.items():
        box = driver.find_element(By.ID, name)
        box.clear()
        box.send_keys(value)


def submit(driver, css: str = "main form button[type=submit]") -> None:
    """Click the button and wait until a new page has loaded."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("document.documentElement.setAttribute('data-old', '1')")
    driver.find_element(*by(css)).click()
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && !document.documentElement.hasAttribute('data-old')"
        )
    )


def go(driver, url: str) -> None:
    driver.get(url)


def text(driver) -> str:
    return driver.find_element(*by("body")).text


def shoot(driver, name: str, size: tuple[int, int]) -> None:
    phone(driver, *size) if size == PHONE else desktop(driver)
    SCREENSHOTS.mkdir(exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    if size == PHONE:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": size[0], "height": min(height, 1600), "deviceScaleFactor": 2, "mobile": True},
        )
    else:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": size[0], "height": min(height, 1400), "deviceScaleFactor": 1, "mobile": False},
        )
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    phone(driver, *PHONE)


def desktop(driver) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": DESKTOP[0], "height": DESKTOP[1], "deviceScaleFactor": 1, "mobile": False},
    )


def sign_in(driver, server: Server, username: str, password: str, code: str) -> None:
    fill(driver, {"username": username, "password": password, "code": code})
    submit(driver)


def make_leads(server: Server, dialog: Dialog) -> None:
    """A few leads from two campaigns, as the queue and the statistics would have them after a week."""
    for user, phone_number, source in (("a", "13911112222", "poster-wuhan"), ("b", "13955556666", "wechat-group")):
        chat = start_screening(server.screener, user=user)
        conv = server.screener.open("test", user)
        conv.source = source
        server.screener.store.save(conv)
        reach_outcome(chat, dialog, {"diagnosis_year": "not sure"} if user == "b" else None)
        give_contact(chat, phone_number, None)


def test_a_coordinator_from_the_notification_to_the_export_on_a_phone(
    server: Server, hook: FakeWebhook, dialog: Dialog, tmp_path: Path, capsys
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    make_leads(server, dialog)
    assert main(["--db", str(server.db_path), "staff", "add", "li.na", "--role", "coordinator", "--staff", "it"]) == 0
    first_password = capsys.readouterr().out.strip().rsplit(": ", 1)[1]
    t = AsSeen("en", server.screener.locales_dir)

    # a person at risk leaves a number in the web chat's screening: the team's group hears of it at once
    made = time.monotonic()
    worried = start_screening(server.screener, user="worried")
    reach_outcome(worried, dialog, low_mood_yes(dialog))
    worried.press("Yes, please contact me")
    worried.send("139 3333 4444")
    urgent = server.screener.leads.lead_of(server.screener.open("test", "worried").id)
    messages = hook.wait_for(3)
    seconds = time.monotonic() - made
    alarm = next(m for m in messages if urgent in m["title"])
    assert alarm["title"] == f"URGENT: lead {urgent}. Please call first." and seconds < 60
    assert "139" not in str(messages)
    link = alarm["message"].rsplit(": ", 1)[1]
    assert link == f"{server.base}/staff/leads/{urgent}", "WEB_PUBLIC_URL and the lead's page"
    print(f"\nnotification of an urgent lead reached the webhook {seconds:.2f} s after the phone number")

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = browser(True, "en-US")
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    axe = AxeLog(driver, True)
    try:
        go(driver, link)
        assert driver.current_url.startswith(f"{server.base}/staff/login?next=")
        axe.check("sign in")
        # the first sign-in: her own password, and the QR code scanned into her app
        sign_in(driver, server, "li.na", first_password, "")
        assert driver.current_url == f"{server.base}/staff/enrol"
        axe.check("set-up")
        secret = driver.find_element(By.ID, "secret").text.replace(" ", "")
        qr = driver.find_element(By.CSS_SELECTOR, "img.qr")
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", qr)
        own = "li na's own pass phrase"
        fill(driver, {"password": own, "password_again": own, "code": pyotp.TOTP(secret).at(server.clock.now)})
        submit(driver)
        assert "Your second step is set up" in text(driver)
        old_csrf = driver.find_element(By.CSS_SELECTOR, "header input[name=csrf]").get_attribute("value")
        submit(driver, "header form button")  # sign out
        assert "You are signed out." in text(driver)
        # a wrong code is refused; the right one opens the lead from the notification
        server.clock.wait(seconds=30)
        go(driver, link)
        right = pyotp.TOTP(secret).at(server.clock.now)
        sign_in(driver, server, "li.na", own, "000000" if right != "000000" else "111111")
        assert "The name, the password or the code is wrong" in text(driver)
        axe.check("sign in refused")
        sign_in(driver, server, "li.na", own, right)
        assert driver.current_url == f"{server.base}/staff/leads/{urgent}"
        assert "URGENT: call first. Why: Thoughts of suicide in the past year" in text(driver)
        assert "+8613933334444" not in driver.page_source
        axe.check("lead")
        driver.find_element(By.LINK_TEXT, t("Show phone number and name")).click()
        phone_link = driver.find_element(By.CSS_SELECTOR, "a.phone")
        assert phone_link.get_attribute("href") == "tel:+8613933334444"
        axe.check("lead with contact details")
        # she calls: no answer the first time, then she reaches them
        Select(driver.find_element(By.ID, "result")).select_by_value("no_answer")
        fill(driver, {"attempt-note": "rang 8 times"})
        submit(driver, "form[action$='/attempt'] button")
        assert "Saved: the call attempt." in text(driver)
        Select(driver.find_element(By.ID, "result")).select_by_value("reached")
        submit(driver, "form[action$='/attempt'] button")
        Select(driver.find_element(By.ID, "status")).select_by_value("visit_booked")
        fill(driver, {"status-note": "Monday 9:00, outpatient 3"})
        submit(driver, "form[action$='/status'] button")
        assert "Saved: the new status." in text(driver)
        assert server.screener.leads.get(urgent).status == "visit_booked"
        axe.check("lead after changes")
        # the queue: found by its id, then the week's leads exported
        go(driver, f"{server.base}/staff/leads?status=all")
        axe.check("queue")
        fill(driver, {"f-q": urgent})
        submit(driver, "form.filters button")
        assert driver.find_elements(By.CSS_SELECTOR, "a.lead-link")[0].text == urgent
        assert len(driver.find_elements(By.CSS_SELECTOR, "a.lead-link")) == 1
        week = (server.clock.now - timedelta(days=6)).date().isoformat()
        go(driver, f"{server.base}/staff/leads?status=all&since={week}")
        driver.find_element(By.CSS_SELECTOR, "form[action='/staff/export'] button[value=csv]").click()
        exported = _wait_for_file(downloads, ".csv")
        assert exported.read_bytes().startswith(b"\xef\xbb\xbf")
        assert exported.read_text(encoding="utf-8-sig").count("\n") == 4, "a header and three leads"
        shoot(driver, "console-queue-desktop-en", DESKTOP)
        # the stale form: a token from before she signed out and in again is refused
        go(driver, f"{server.base}/staff/leads/{urgent}")
        driver.execute_script(
            "document.querySelector('form[action$=\"/status\"] input[name=csrf]').value = arguments[0]", old_csrf
        )
        submit(driver, "form[action$='/status'] button")
        assert "This page was out of date, so nothing was changed." in text(driver)
        axe.check("refused: out of date")
        go(driver, f"{server.base}/staff/stats")
        for image in driver.find_elements(By.CSS_SELECTOR, ".chart img"):
            assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image)
        axe.check("statistics")
        shoot(driver, "console-stats-desktop-en", DESKTOP)
        go(driver, f"{server.base}/staff/notifications")
        assert urgent in text(driver) and "sent" in text(driver)
        axe.check("notifications")
        go(driver, f"{server.base}/staff/audit")
        axe.check("audit log")
        go(driver, f"{server.base}/staff/leads/{urgent}/erase")
        axe.check("erase?")
        # left alone past the idle timeout: the next page asks her to sign in again
        server.clock.wait(minutes=16)
        go(driver, f"{server.base}/staff/leads")
        assert "/staff/login" in driver.current_url
        assert "signed out because the page was not used for a while" in text(driver)
        axe.assert_clean()
    finally:
        driver.quit()
    steps = [(e["action"], e["lead_id"]) for e in reversed(audit.entries(server.screener.store.db, 200))
             if e["who"] == "console:li.na"]  # fmt: skip
    for step in [("login", ""), ("read", urgent), ("read-contact", urgent), ("contact-attempt", urgent),
                 ("set-status", urgent), ("list", ""), ("export", "")]:  # fmt: skip
        assert step in steps, step
    export = next(e["detail"] for e in audit.entries(server.screener.store.db, 200) if e["action"] == "export")
    assert urgent in export and f"since={week}" in export


def _wait_for_file(folder: Path, suffix: str) -> Path:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.suffix == suffix]
        if done:
            return done[0]
        time.sleep(0.05)  # waiting for Chromium to finish writing the download
    raise AssertionError(f"no {suffix} file was downloaded")


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_every_console_page_passes_axe_and_a_viewer_never_sees_contact_details(
    server: Server, dialog: Dialog, language: str
) -> None:
    from selenium.webdriver.common.by import By

    make_leads(server, dialog)
    accounts = server.screener.accounts()
    secrets = {}
    for name, role in (("zhao", "viewer"), ("admin", "admin"), ("li", "coordinator")):
        made = accounts.add(name, role, auth.hash_password("the same long password"), "2026-11-25T00:00:00+00:00")
        secrets[name] = pyotp.random_base32()
        accounts.enrol(made.id, auth.hash_password("the same long password"), secrets[name], 0)
    lead_id = server.screener.leads.find()[0].id
    t = AsSeen(language, server.screener.locales_dir)
    driver = browser(True, "zh-CN" if language == "zh_Hans" else "en-US")
    axe = AxeLog(driver, True)

    def as_(name: str) -> None:
        server.clock.wait(seconds=30)
        driver.delete_all_cookies()
        go(driver, f"{server.base}/staff/login")
        sign_in(driver, server, name, "the same long password", pyotp.TOTP(secrets[name]).at(server.clock.now))

    try:
        as_("zhao")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == language.replace("_", "-")
        axe.check("viewer: queue")
        go(driver, f"{server.base}/staff/leads/{lead_id}")
        assert "+86139" not in driver.page_source
        assert t("Your role does not show contact details.") in text(driver)
        axe.check("viewer: lead")
        go(driver, f"{server.base}/staff/leads/{lead_id}/contact")
        assert t("Your role cannot open this page.") in text(driver) and "+86139" not in driver.page_source
        axe.check("viewer: refused")
        go(driver, f"{server.base}/staff/stats")
        axe.check("viewer: statistics")
        as_("admin")
        assert driver.current_url == f"{server.base}/staff/accounts"
        axe.check("admin: accounts")
        as_("li")
        go(driver, f"{server.base}/staff/leads/{lead_id}/contact")
        axe.check("coordinator: lead with contact")
        go(driver, f"{server.base}/staff/leads")
        if language == "zh_Hans":
            shoot(driver, "console-queue-phone-zh", PHONE)
            go(driver, f"{server.base}/staff/leads/{lead_id}/contact")
            shoot(driver, "console-lead-phone-zh", PHONE)
            shoot(driver, "console-lead-desktop-zh", DESKTOP)
            go(driver, f"{server.base}/staff/stats")
            shoot(driver, "console-stats-phone-zh", PHONE)
        go(driver, f"{server.base}/staff/no-such-page")
        axe.check("not found")
        axe.assert_clean()
    finally:
        driver.quit()
