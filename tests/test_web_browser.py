"""A real phone-sized browser (Debian's headless Chromium) through a whole screening in Chinese.

Once with JavaScript on (taps are sent in the background and the page is swapped
in place) and once with it off (every tap is a plain form post). The server is
the real uvicorn, on 127.0.0.1, configured as `screening-bot web` configures it.
With SCREENSHOTS=1 it saves docs/web-question.png and docs/web-outcome.png for the README.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from bot.channels.web.cli import server_config
from bot.dialog.model import Dialog
from bot.i18n import Translator

from .conftest import ROOT
from .web_driver import ZH, harmless, make_app, zh_locales

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
CHROMEDRIVER = shutil.which("chromedriver")
WIDTH, HEIGHT = 375, 740
#: The README's screenshots are rewritten only on request (SCREENSHOTS=1), so a test run leaves the checkout clean.
SCREENSHOTS = ROOT / "docs" if os.environ.get("SCREENSHOTS") == "1" else Path(tempfile.mkdtemp(prefix="screenshots-"))


def _need_chromium() -> None:
    if CHROMIUM and CHROMEDRIVER:
        return
    reason = (
        "NO CHROMIUM: the real-browser test of the web chat did NOT run. "
        "Install Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver); .ci/run does."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    warnings.warn(reason, stacklevel=2)
    pytest.skip(reason)


@pytest.fixture
def served(dialog: Dialog, tmp_path: Path) -> Iterator[tuple[str, object, Path]]:
    """The app on a real uvicorn server, listening on 127.0.0.1 before the browser starts."""
    _need_chromium()
    locales = zh_locales(tmp_path, dialog, mark_title=False)
    app, screener = make_app(dialog, tmp_path / "screening.db", locales, leads=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", screener, locales
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def browser(javascript: bool):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--lang=zh-CN",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
        f"--window-size={WIDTH},{HEIGHT}",
    ):
        options.add_argument(flag)
    prefs = {"intl.accept_languages": "zh-CN,zh"}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 2, "mobile": True},
    )
    return driver


#: Marks the page a tap was made on; a new page (JavaScript off) or a swapped-in body (on) lacks it.
MARK = "document.getElementById('chat').setAttribute('data-tapped', '1')"
#: True once a page without the mark is fully there: loaded, and not waiting for chat.js's request.
NEW_PAGE = (
    "var chat = document.getElementById('chat');"
    "return document.readyState === 'complete' && !!chat && !chat.hasAttribute('data-tapped')"
    " && document.body.className !== 'busy';"
)


def tap(driver, button) -> None:
    """Click, then wait until the page (or with JavaScript, the swapped-in body) is a new one.

    The wait asks the page itself for a mark set before the click. While a page is being
    replaced, Chromium may answer with any WebDriverException (a stale element, a node "that
    does not belong to the document", no document yet): each only means "not yet", so all of
    them are retried, and none can end the wait early.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script(MARK)
    button.click()
    WebDriverWait(driver, 10, poll_frequency=0.02, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(NEW_PAGE)
    )


def current_question(driver) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, ".answers input[name=question]")
    return found[0].get_attribute("value") if found else ""


def button_labelled(driver, label: str):
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.CSS_SELECTOR, "button"):
        if button.text.strip() == label:
            return button
    raise AssertionError(f"no button {label!r} on the page")


def answer(driver, dialog: Dialog, qid: str) -> None:
    from selenium.webdriver.common.by import By

    if dialog.separate_consent(qid) is not None:
        xpath = f"//form[input[@name='question' and @value='{qid}']][input[@name='option' and @value='agree']]//button"
        tap(driver, driver.find_element(By.XPATH, xpath))
        return
    question = dialog.question(qid)
    value = harmless(question)
    if question.kind in ("number", "year"):
        box = driver.find_element(By.ID, "answer")
        box.send_keys(value)
        tap(driver, driver.find_element(By.CSS_SELECTOR, "form.typed button"))
    elif question.kind == "multi":
        driver.find_element(By.CSS_SELECTOR, f"form.many input[value='{value}']").find_element(By.XPATH, "..").click()
        tap(driver, driver.find_element(By.CSS_SELECTOR, "form.many button"))
    else:
        xpath = (
            f"//form[input[@name='question' and @value='{qid}']][input[@name='option' and @value='{value}']]//button"
        )
        tap(driver, driver.find_element(By.XPATH, xpath))


def no_sideways_scrolling(driver, width: int) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_a_whole_screening_in_chinese_on_a_phone(served, dialog: Dialog, javascript: bool) -> None:
    from selenium.webdriver.common.by import By

    base, screener, locales = served
    t = Translator(ZH, locales)
    driver = browser(javascript)
    try:
        driver.get(f"{base}/?src=poster-wuhan")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans"
        assert driver.title == t(dialog.title)
        assert driver.current_url == f"{base}/", "the campaign source leaves the address bar"
        if javascript:
            driver.execute_script("window.sameDocument = true")  # survives only if no page is ever reloaded
        tap(driver, button_labelled(driver, t(dialog.consent.agree)))
        shot = None
        for _ in range(60):
            qid = current_question(driver)
            if not qid:
                break
            if qid == "treatments":
                assert no_sideways_scrolling(driver, WIDTH)
                if javascript:
                    shot = driver.get_screenshot_as_png()
            answer(driver, dialog, qid)
        assert t("Please check your answers:") in driver.find_element(By.ID, "prompt").text
        tap(driver, button_labelled(driver, t("These are right: show the result")))
        body = driver.find_element(By.TAG_NAME, "body").text
        assert t(dialog.outcomes["likely_candidate"].title) in body
        assert no_sideways_scrolling(driver, WIDTH)
        if javascript:
            SCREENSHOTS.mkdir(exist_ok=True)
            assert shot is not None
            (SCREENSHOTS / "web-question.png").write_bytes(shot)
            driver.save_screenshot(str(SCREENSHOTS / "web-outcome.png"))
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": 320, "height": 640, "deviceScaleFactor": 2, "mobile": True},
            )
            assert no_sideways_scrolling(driver, 320), "readable at 320 px wide"
        # contact capture, as after every "likely candidate": a phone keypad, Skip for the name, two taps
        tap(driver, button_labelled(driver, t("Yes, please contact me")))
        phone = driver.find_element(By.ID, "answer")
        assert phone.get_attribute("type") == "tel"
        phone.send_keys("139 1234 5678")
        tap(driver, driver.find_element(By.CSS_SELECTOR, "form.typed button"))
        for label in ("Skip", "Afternoon", "Chinese (Mandarin)"):
            tap(driver, button_labelled(driver, t(label)))
        if javascript:
            assert driver.execute_script("return window.sameDocument === true"), "JavaScript swapped pages in place"
        else:
            assert driver.execute_script("return window.sameDocument") is None
        rows = list(screener.store.db.query("SELECT channel, source, outcome, language FROM conversations"))
        assert rows == [{"channel": "web", "source": "poster-wuhan", "outcome": "likely_candidate", "language": ZH}]
        leads = screener.leads.find()
        assert [(lead.channel, lead.source) for lead in leads] == [("web", "poster-wuhan")]
    finally:
        driver.quit()
