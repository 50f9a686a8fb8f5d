"""A real phone-sized browser (Debian's headless Chromium) on the web chat, with axe-core on every kind of page.

A whole screening in Chinese, on a hospital-branded page (logo, colours, ICP number),
once with JavaScript on (taps are sent in the background and the page is swapped in
place) and once with it off (every tap is a plain form post); by keyboard too: Tab
order, a visible focus ring, nothing hidden under the sticky bar. Then every kind of
page in both languages, both ways, checked by axe-core (bundled by selenium-axe-python)
for WCAG 2.2 AA and best practice: zero violations of any impact. The server is the
real uvicorn on 127.0.0.1, configured as `screening-bot web` configures it.

With SCREENSHOTS=1 it saves docs/web-start.png, docs/web-question.png,
docs/web-outcome.png and docs/web-end.png for the README.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bot.channels.web.branding import contrast
from bot.channels.web.cli import server_config
from bot.dialog.model import Dialog
from bot.i18n import _
from bot.replies import Choose, Text

from .conftest import ROOT, AsSeen, harmless_answer
from .web_driver import ZH, harmless, make_app, zh_locales

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
CHROMEDRIVER = shutil.which("chromedriver")
WIDTH, HEIGHT = 375, 740
#: The README's screenshots are rewritten only on request (SCREENSHOTS=1), so a test run leaves the checkout clean.
SCREENSHOTS = ROOT / "docs" if os.environ.get("SCREENSHOTS") == "1" else Path(tempfile.mkdtemp(prefix="screenshots-"))
CONFIRM = "These are right: show the result"
#: An example hospital look for the screenshots: a made-up mark (not any hospital's logo), a green palette.
EXAMPLE_LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96"><rect width="96" height="96" rx="20" '
    'fill="#1d5e48"/><path d="M40 18h16v22h22v16H56v22H40V56H18V40h22z" fill="#fff"/></svg>'
)
BRANDED = {
    "web_color_primary": "#1d5e48",
    "web_color_link": "#0a5f8a",
    "web_color_background": "#f2f6f4",
    "web_icp_number": "鄂ICP备12345678号",
}
#: axe-core's rules for WCAG 2.0, 2.1 and 2.2 at levels A and AA, and its best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
#: With JavaScript off the page runs no timers; axe needs them, so the test lends it these (test harness only).
TIMERS_WITHOUT_JAVASCRIPT = (
    "window.setTimeout = function (f) { var a = [].slice.call(arguments, 2);"
    " Promise.resolve().then(function () { f.apply(null, a); }); return 0; };"
    "window.clearTimeout = function () {};"
)


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
def serve(dialog: Dialog, tmp_path: Path) -> Iterator[Callable[..., tuple[str, Any, Path, Any]]]:
    """Start the app on a real uvicorn server on 127.0.0.1 (with these settings) before the browser starts."""
    _need_chromium()
    locales = zh_locales(tmp_path, dialog, mark_title=False)
    running: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def start(**settings: str) -> tuple[str, Any, Path, Any]:
        app, screener = make_app(dialog, tmp_path / f"screening-{len(running)}.db", locales, leads=True, **settings)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        server = uvicorn.Server(server_config(app, "127.0.0.1", sock.getsockname()[1]))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        running.append((server, thread, sock))
        return f"http://127.0.0.1:{sock.getsockname()[1]}", screener, locales, app

    try:
        yield start
    finally:
        for server, thread, sock in running:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


@pytest.fixture
def branded(tmp_path: Path) -> dict[str, str]:
    logo = tmp_path / "logo.svg"
    logo.write_text(EXAMPLE_LOGO, encoding="utf-8")
    return {**BRANDED, "web_logo": str(logo)}


def browser(javascript: bool, language: str = "zh-CN"):
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
        f"--lang={language}",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
        f"--window-size={WIDTH},{HEIGHT}",
    ):
        options.add_argument(flag)
    prefs: dict[str, Any] = {"intl.accept_languages": f"{language},zh" if language.startswith("zh") else language}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    phone(driver, WIDTH, HEIGHT)
    return driver


def phone(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
    )


#: Marks the page a tap was made on; a new page (JavaScript off) or a swapped-in page (on) lacks it.
MARK = "document.getElementById('chat').setAttribute('data-tapped', '1')"
#: True once a page without the mark is fully there: loaded, and not waiting for chat.js's request.
NEW_PAGE = (
    "var chat = document.getElementById('chat');"
    "return document.readyState === 'complete' && !!chat && !chat.hasAttribute('data-tapped')"
    " && document.body.className !== 'busy';"
)


def tap(driver, element) -> None:
    """Click, then wait until the page (or with JavaScript, the swapped-in page) is a new one.

    The wait asks the page itself for a mark set before the click. While a page is being
    replaced, Chromium may answer with any WebDriverException (a stale element, a node "that
    does not belong to the document", no document yet): each only means "not yet", so all of
    them are retried, and none can end the wait early.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script(MARK)
    element.click()
    WebDriverWait(driver, 10, poll_frequency=0.02, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(NEW_PAGE)
    )


def current_question(driver) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, ".answers input[name=question]")
    return found[0].get_attribute("value") if found else ""


def labelled(driver, label: str):
    """The button or link that says `label`."""
    from selenium.webdriver.common.by import By

    for element in driver.find_elements(By.CSS_SELECTOR, "button, a"):
        if element.text.strip() == label:
            return element
    raise AssertionError(f"no button or link {label!r} on the page")


def answer(driver, dialog: Dialog, qid: str, value: str | None = None) -> None:
    from selenium.webdriver.common.by import By

    if dialog.separate_consent(qid) is not None:
        xpath = f"//form[input[@name='question' and @value='{qid}']][input[@name='option' and @value='agree']]//button"
        tap(driver, driver.find_element(By.XPATH, xpath))
        return
    question = dialog.question(qid)
    value = value or harmless(question)
    if question.kind in ("number", "year"):
        driver.find_element(By.ID, "answer").send_keys(value)
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


def axe_violations(driver, javascript: bool) -> list[dict[str, Any]]:
    from selenium_axe_python import Axe

    axe = Axe(driver)
    axe.inject()
    if not javascript:
        driver.execute_script(TIMERS_WITHOUT_JAVASCRIPT)
    results = axe.run(options=json.dumps({"runOnly": {"type": "tag", "values": AXE_TAGS}}))
    assert results["passes"], "axe ran no rule: the check itself is broken"
    return results["violations"]


class AxeLog:
    """Runs axe on each page it is shown and keeps every violation, to report them all at the end."""

    def __init__(self, driver, javascript: bool) -> None:
        self.driver, self.javascript = driver, javascript
        self.checked: list[str] = []
        self.found: list[str] = []

    def check(self, kind: str) -> None:
        self.checked.append(kind)
        for v in axe_violations(self.driver, self.javascript):
            targets = [n["target"] for n in v["nodes"]][:3]
            self.found.append(f"{kind}: {v['id']} ({v['impact']}) {v['help']} at {targets}")

    def assert_clean(self) -> None:
        assert self.found == [], "axe-core found:\n" + "\n".join(self.found)


def focus_is_on_the_marked_element(driver) -> bool:
    return driver.execute_script(
        "var f = document.querySelector('[data-focus]'); return !!f && document.activeElement === f;"
    )


KEYBOARD_REPORT = """
var bar = document.querySelector('.top');
var e = document.activeElement, box = e.getBoundingClientRect(), style = getComputedStyle(e);
return {tag: e.tagName, text: (e.textContent || e.value || '').trim().slice(0, 40), inBar: bar.contains(e),
        top: box.top, bottom: box.bottom, barBottom: bar.getBoundingClientRect().bottom,
        viewport: window.innerHeight, outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
        index: [].indexOf.call(document.querySelectorAll('a[href], button, input:not([type=hidden])'), e),
        count: document.querySelectorAll('a[href], button, input:not([type=hidden])').length};
"""


def walk_by_keyboard(driver, presses: int, backwards: bool = False) -> list[dict[str, Any]]:
    """Press Tab (or Shift+Tab) and report where the focus is after each press."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    seen = []
    for _press in range(presses):
        actions = ActionChains(driver)
        if backwards:
            actions.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        else:
            actions.send_keys(Keys.TAB).perform()
        seen.append(driver.execute_script(KEYBOARD_REPORT))
    return seen


def check_keyboard(driver, where: str) -> None:
    """Tab forwards, then back: each press reaches the next control in page order, with a visible
    focus ring, wholly on screen and not under the sticky bar (WCAG 2.4.3, 2.4.7, 2.4.11)."""
    forward = walk_by_keyboard(driver, 12)
    backward = walk_by_keyboard(driver, 12, backwards=True)
    count = forward[0]["count"]
    for seen, step in ((forward, 1), (backward, -1)):
        indexes = [f["index"] for f in seen]
        for before, after in itertools.pairwise(indexes):
            wraps = (after == -1 or before == -1) or (step == 1 and after == 0) or (step == -1 and after == count - 1)
            assert after == before + step or wraps, f"{where}: Tab order {indexes}"
        assert len(set(indexes) - {-1}) >= min(6, count), f"{where}: Tab reached only {indexes}"
    for f in forward + backward:
        if f["tag"] == "BODY":
            continue
        label = f"{where}: {f['tag']} {f['text']!r}"
        assert f["outline"] != "none" and f["outlineWidth"] >= 2, f"{label} has no visible focus ring"
        assert f["bottom"] <= f["viewport"] + 1 and f["top"] >= -1, f"{label} is off screen: {f}"
        if not f["inBar"]:
            assert f["top"] >= f["barBottom"] - 1, f"{label} is under the sticky bar: {f}"


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_a_whole_screening_in_chinese_on_a_branded_phone(serve, branded, dialog: Dialog, javascript: bool) -> None:
    from selenium.webdriver.common.by import By

    base, screener, locales, _app = serve(**branded)
    t = AsSeen(ZH, locales)
    driver = browser(javascript)
    axe = AxeLog(driver, javascript)
    try:
        driver.get(f"{base}/?src=poster-wuhan")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans"
        assert driver.title == t(dialog.title)
        assert driver.current_url == f"{base}/", "the campaign source leaves the address bar"
        logo = driver.find_element(By.CSS_SELECTOR, "img.logo")
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", logo)
        axe.check("consent")
        if javascript:
            SCREENSHOTS.mkdir(exist_ok=True)
            driver.save_screenshot(str(SCREENSHOTS / "web-start.png"))
            driver.execute_script("window.sameDocument = true")  # survives only if no page is ever reloaded
        tap(driver, labelled(driver, t(dialog.consent.agree)))
        shot = None
        for _ in range(60):
            qid = current_question(driver)
            if not qid:
                break
            assert focus_is_on_the_marked_element(driver), f"{qid}: the focus is on the new question"
            if qid == "treatments":
                assert no_sideways_scrolling(driver, WIDTH)
                if javascript:
                    shot = driver.get_screenshot_as_png()
                check_keyboard(driver, "tick boxes")
            answer(driver, dialog, qid)
        assert t("Please check your answers:") in driver.find_element(By.ID, "prompt").text
        check_keyboard(driver, "summary")
        tap(driver, labelled(driver, t(CONFIRM)))
        heading = driver.find_element(By.ID, "outcome-title")
        assert heading.text == t(dialog.outcomes["likely_candidate"].title)
        assert driver.switch_to.active_element == heading, "the outcome's heading has the focus"
        assert no_sideways_scrolling(driver, WIDTH)
        axe.check("outcome")
        if javascript:
            assert shot is not None
            (SCREENSHOTS / "web-question.png").write_bytes(shot)
            driver.save_screenshot(str(SCREENSHOTS / "web-outcome.png"))
            phone(driver, 320, 640)
            assert no_sideways_scrolling(driver, 320), "readable at 320 px wide"
            check_keyboard(driver, "outcome at 320 px")
            phone(driver, WIDTH, HEIGHT)
        # contact capture, as after every "likely candidate": a phone keypad, Skip for the name, two taps
        tap(driver, labelled(driver, t("Yes, please contact me")))
        phone_box = driver.find_element(By.ID, "answer")
        assert phone_box.get_attribute("type") == "tel" and driver.switch_to.active_element == phone_box
        phone_box.send_keys("139 1234 5678")
        tap(driver, driver.find_element(By.CSS_SELECTOR, "form.typed button"))
        for label in ("Skip", "Afternoon", "Chinese (Mandarin)"):
            tap(driver, labelled(driver, t(label)))
        footer = driver.find_element(By.CSS_SELECTOR, ".icp a")
        assert footer.text == "鄂ICP备12345678号" and footer.get_attribute("href") == "https://beian.miit.gov.cn/"
        axe.check("contact done")
        if javascript:
            driver.execute_script("window.scrollTo(0, document.documentElement.scrollHeight)")
            driver.save_screenshot(str(SCREENSHOTS / "web-end.png"))
        if javascript:
            assert driver.execute_script("return window.sameDocument === true"), "JavaScript swapped pages in place"
        else:
            assert driver.execute_script("return window.sameDocument") is None
        rows = list(screener.store.db.query("SELECT channel, source, outcome, language FROM conversations"))
        assert rows == [{"channel": "web", "source": "poster-wuhan", "outcome": "likely_candidate", "language": ZH}]
        leads = screener.leads.find()
        assert [(lead.channel, lead.source) for lead in leads] == [("web", "poster-wuhan")]
        axe.assert_clean()
    finally:
        driver.quit()


def answer_in_process(app, driver, screener, dialog: Dialog, values: dict[str, str]) -> None:
    """Answer the rest of the questions straight through the Screener, for this browser's session (fast)."""
    session = driver.get_cookie("screening_session")["value"]
    key = app.state.web_chat.sessions.user_key(session)
    for _step in range(60):
        conv = screener.open("web", key)
        if (consent := screener.engine.current_consent(conv)) is not None:
            screener.handle(conv, Choose(consent.id, "agree"))
            continue
        question = screener.engine.current_question(conv)
        if question is None:
            return
        value = values.get(question.id)
        if value is None:
            screener.handle(conv, Text(harmless_answer(question)))
        else:
            screener.handle(conv, Choose(question.id, value) if question.option(value) else Text(value))
    raise AssertionError("the dialog did not end")


#: How to reach each outcome other than "likely candidate" (option ids or typed answers).
OTHER_OUTCOMES = {
    "needs_review": {"active": "not_sure"},
    "not_yet": {"diagnosis_year": "2026", "diagnosis_month": "8", "diagnosis_day": "15"},
}


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
@pytest.mark.parametrize("language", ["en", ZH])
def test_every_kind_of_page_passes_axe(serve, dialog: Dialog, language: str, javascript: bool) -> None:
    """Consent, privacy, each question kind, a re-ask, summary, start over, each outcome, contact, delete, errors."""
    from selenium.webdriver.common.by import By

    base, screener, locales, app = serve()
    t = AsSeen(language, locales)
    driver = browser(javascript, "zh-CN" if language == ZH else "en-US")
    axe = AxeLog(driver, javascript)
    try:
        driver.get(f"{base}/")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == language.replace("_", "-")
        axe.check("consent")
        tap(driver, labelled(driver, t(_("Privacy"))))
        axe.check("privacy")
        tap(driver, labelled(driver, t(_("Help"))))
        axe.check("help")
        tap(driver, labelled(driver, t(dialog.consent.agree)))
        axe.check("choice")
        answer(driver, dialog, "respondent")
        axe.check("number")
        answer(driver, dialog, "age", "abc")
        axe.check("number, re-asked")
        if javascript:
            announced = driver.execute_script(
                "return document.getElementById('answer').getAttribute('aria-describedby')"
            )
            assert announced.split()[-1] == "prompt-text" and len(announced.split()) == 2
        answer(driver, dialog, "age")
        axe.check("year")
        while current_question(driver) != "treatments":
            answer(driver, dialog, current_question(driver))
        axe.check("multi")
        tap(driver, driver.find_element(By.CSS_SELECTOR, "form.many button"))  # nothing ticked
        axe.check("multi, nothing ticked")
        if javascript:  # the problem is read out; the focus is on the question (the legend)
            from selenium.webdriver.support.ui import WebDriverWait

            problem = t(_("Please choose at least one answer first."))
            live = driver.find_element(By.ID, "announce")
            WebDriverWait(driver, 5).until(lambda d: live.get_attribute("textContent") == problem)
            assert driver.switch_to.active_element.tag_name == "legend"
        answer_in_process(app, driver, screener, dialog, {})
        driver.get(f"{base}/")
        axe.check("summary")
        tap(driver, labelled(driver, t(_("Start over"))))
        axe.check("start over?")
        tap(driver, labelled(driver, t(_("No, keep my answers"))))
        tap(driver, labelled(driver, t(CONFIRM)))
        axe.check("outcome likely_candidate")
        tap(driver, labelled(driver, t(_("Yes, please contact me"))))
        axe.check("contact: phone")
        driver.find_element(By.ID, "answer").send_keys("027 8372 6000")  # a landline: re-asked
        tap(driver, driver.find_element(By.CSS_SELECTOR, "form.typed button"))
        axe.check("contact: phone re-asked")
        driver.find_element(By.ID, "answer").send_keys("139 1234 5678")
        tap(driver, driver.find_element(By.CSS_SELECTOR, "form.typed button"))
        axe.check("contact: name")
        tap(driver, labelled(driver, t(_("Skip"))))
        axe.check("contact: time")
        tap(driver, labelled(driver, t(_("Afternoon"))))
        axe.check("contact: language")
        tap(driver, labelled(driver, t(_("Chinese (Mandarin)"))))
        axe.check("contact: done")
        for outcome, values in OTHER_OUTCOMES.items():
            tap(driver, labelled(driver, t(_("Delete my answers"))))
            axe.check("delete?")
            tap(driver, labelled(driver, t(_("Yes"))))
            axe.check("deleted")
            tap(driver, labelled(driver, t(_("Start again"))))
            tap(driver, labelled(driver, t(dialog.consent.agree)))
            answer_in_process(app, driver, screener, dialog, values)
            driver.get(f"{base}/")
            tap(driver, labelled(driver, t(CONFIRM)))
            assert driver.find_element(By.ID, "outcome-title").text == t(dialog.outcomes[outcome].title)
            axe.check(f"outcome {outcome}")
        tap(driver, labelled(driver, t(_("Delete my answers"))))
        tap(driver, labelled(driver, t(_("Yes"))))
        tap(driver, labelled(driver, t(_("Start again"))))
        tap(driver, labelled(driver, t(dialog.consent.agree)))
        answer(driver, dialog, "respondent")
        answer(driver, dialog, "age", "17")
        assert driver.find_element(By.ID, "outcome-title").text == t(dialog.outcomes["not_eligible"].title)
        axe.check("outcome not_eligible")
        driver.get(f"{base}/no-such-page")
        axe.check("not found")
        assert len(axe.checked) >= 25
        axe.assert_clean()
    finally:
        driver.quit()


#: (what, foreground element and property, background element and property, minimum ratio)
MEASURED = [
    ("tick-box border", ".check", "borderTopColor", "body", "backgroundColor", 3.0),
    ("Back button border", ".nav .secondary", "borderTopColor", "body", "backgroundColor", 3.0),
    ("Back button text", ".nav .secondary", "color", ".nav .secondary", "backgroundColor", 4.5),
    ("answer button border", ".check", "borderTopColor", ".check", "backgroundColor", 3.0),
    ("main button text", "form.many .primary", "color", "form.many .primary", "backgroundColor", 4.5),
    ("main button on the page", "form.many .primary", "backgroundColor", "body", "backgroundColor", 3.0),
    ("question frame", "#prompt", "borderTopColor", "body", "backgroundColor", 3.0),
    ("hint text", "#prompt .hint", "color", "#prompt", "backgroundColor", 4.5),
    ("link in the bar", ".top .link", "color", ".top", "backgroundColor", 4.5),
    ("link in the footer", ".foot .link", "color", "body", "backgroundColor", 4.5),
    ("title", "h1", "color", "body", "backgroundColor", 4.5),
    ("text", "body", "color", "body", "backgroundColor", 4.5),
]

RGB = "var c = getComputedStyle(document.querySelector(arguments[0]))[arguments[1]]; return c;"


def hex_color(css: str) -> str:
    parts = css[css.index("(") + 1 : css.index(")")].split(",")
    return "#" + "".join(f"{int(float(p)):02x}" for p in parts[:3])


@pytest.mark.parametrize("look", ["plain", "branded"])
def test_contrast_measured_in_the_browser(serve, branded, dialog: Dialog, look: str) -> None:
    """The colours the browser really draws, measured on a tick-box question: text 4.5:1, borders 3:1."""
    base, _screener, locales, _app = serve(**(branded if look == "branded" else {}))
    t = AsSeen(ZH, locales)
    driver = browser(True)
    try:
        driver.get(f"{base}/")
        tap(driver, labelled(driver, t(dialog.consent.agree)))
        while current_question(driver) != "treatments":
            answer(driver, dialog, current_question(driver))
        ratios = {}
        for what, fg, fg_prop, bg, bg_prop, minimum in MEASURED:
            a = hex_color(driver.execute_script(RGB, fg, fg_prop))
            b = hex_color(driver.execute_script(RGB, bg, bg_prop))
            ratios[what] = round(contrast(a, b), 2)
            assert ratios[what] >= minimum, f"{look}: {what} {a} on {b} is {ratios[what]}:1 < {minimum}:1"
        print(f"\n{look}: " + ", ".join(f"{k} {v}:1" for k, v in ratios.items()))
    finally:
        driver.quit()


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
@pytest.mark.parametrize("language", ["en", ZH])
def test_the_list_of_trials_and_a_second_trial_pass_axe(tmp_path: Path, language: str, javascript: bool) -> None:
    """Several trials (issue 18): `/` lists them; a trial's own address, /t/<dialog id>, and its forms."""
    from selenium.webdriver.common.by import By

    from bot import compose
    from bot.channels.web.app import create_app
    from bot.config import Settings

    from .conftest import DIALOG_PATH, SECOND_TRIAL

    _need_chromium()
    db_path = tmp_path / "screening.db"
    trials = compose.build_trials(Settings(db_path=db_path, dialog_paths=(DIALOG_PATH, SECOND_TRIAL)))
    app = create_app(trials, Settings(db_path=db_path, web_rate_limit=0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(server_config(app, "127.0.0.1", sock.getsockname()[1]))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    knee = trials.get("knee_oa_chengdu")
    assert knee is not None
    t = knee.translator(language)
    driver = browser(javascript, "zh-CN" if language == ZH else "en-US")
    axe = AxeLog(driver, javascript)
    try:
        driver.get(f"{base}/")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == language.replace("_", "-")
        axe.check("the list of trials")
        driver.get(f"{base}/")
        labelled(driver, t.dialog(knee.dialog.title)).click()
        assert driver.current_url == f"{base}/t/knee_oa_chengdu"
        axe.check("the knee trial's consent")
        tap(driver, labelled(driver, t.dialog(knee.dialog.consent.agree)))
        assert driver.current_url.startswith(f"{base}/t/knee_oa_chengdu")
        assert current_question(driver) == "who_answers"
        axe.check("the knee trial's first question")
        axe.assert_clean()
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_a_person_asked_to_wait_reads_how_long_and_axe_passes(serve, dialog: Dialog, javascript: bool) -> None:
    """The rate limits' kind pages (bot/channels/web/limits.py), in Chinese: a tap refused because the
    session went too fast (the question stays, to tap again), and a first visit refused because too many
    came from one address. The app's clock stands still, so no bucket refills while the test runs."""
    from selenium.webdriver.common.by import By

    from bot.channels.web.limits import BUSY_NETWORK_FIRST_VISIT, TOO_FAST

    def still() -> float:
        return 1_800_000_000.0

    base, _screener, locales, _app = serve(web_rate_limit="2", web_address_rate_limit="4", clock=still)
    t = AsSeen(ZH, locales)
    driver = browser(javascript)
    axe = AxeLog(driver, javascript)
    try:
        driver.get(f"{base}/")  # the address's first of four
        tap(driver, labelled(driver, t(dialog.consent.agree)))  # the session's first of two
        answer(driver, dialog, "respondent")  # the session's second, the address's third
        answer(driver, dialog, "age")  # the session's third: refused (the address's share untouched)
        alert = driver.find_element(By.CSS_SELECTOR, "[role=alert]")
        assert alert.text == t(TOO_FAST, seconds=30) and current_question(driver) == "age"
        axe.check("too fast")
        driver.save_screenshot(str(SCREENSHOTS / "web-too-fast.png"))
        driver.delete_all_cookies()
        driver.get(f"{base}/")  # a new session: the address's fourth and last
        assert current_question(driver) == "consent"
        driver.delete_all_cookies()
        driver.get(f"{base}/")  # one more new session from this address: refused
        alert = driver.find_element(By.CSS_SELECTOR, "[role=alert]")
        assert alert.text == t(BUSY_NETWORK_FIRST_VISIT, seconds=15)
        axe.check("busy network, first visit")
        driver.save_screenshot(str(SCREENSHOTS / "web-busy-network.png"))
        axe.assert_clean()
    finally:
        driver.quit()
