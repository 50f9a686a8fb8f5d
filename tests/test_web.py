"""The web chat through the real ASGI app and a real SQLite file, as a phone with JavaScript off uses it."""

from __future__ import annotations

import logging
import os
import re
import stat
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from bot.channels.web.app import SESSION_COOKIE
from bot.channels.web.security import KEY_FILE
from bot.config import ConfigError
from bot.dialog.model import Dialog
from bot.howto import WEB, how_to
from bot.i18n import Translator, _
from bot.store import audit
from bot.store.web_state import TURN_SECONDS, WebState

from .conftest import AsSeen
from .web_driver import (
    EXTERNAL,
    ZH,
    Page,
    WebUser,
    answer,
    answer_until,
    form_data,
    harmless,
    make_app,
    zh_locales,
)

FORM = "application/x-www-form-urlencoded"
CONFIRM = "These are right: show the result"


@pytest.fixture
def locales(tmp_path: Path, dialog: Dialog) -> Path:
    return zh_locales(tmp_path, dialog)


@pytest.fixture
def app_and_screener(dialog: Dialog, db_path: Path, locales: Path):
    return make_app(dialog, db_path, locales)


@pytest.fixture
def app(app_and_screener):
    return app_and_screener[0]


@pytest.fixture
def screener(app_and_screener):
    return app_and_screener[1]


def stored(screener, user: WebUser):
    """The conversation as SQLite holds it for this browser's session."""
    rows = list(screener.store.db.query("SELECT channel, user_key FROM conversations WHERE channel = 'web'"))
    convs = [screener.store.load("web", r["user_key"]) for r in rows]
    return convs[0] if len(convs) == 1 else None if not convs else pytest.fail("more than one web conversation")


def answer_rows(screener) -> int:
    return screener.store.db.execute("SELECT count(*) FROM answers").fetchone()[0]


def start(app, dialog: Dialog, language: str, locales: Path) -> tuple[WebUser, Translator]:
    t = AsSeen(language, locales)
    user = WebUser(app, language)
    assert user.page.lang == language.replace("_", "-")
    user.press(t(dialog.consent.agree))
    return user, t


# ---------------------------------------------------------------- every outcome, in English and Chinese

OUTCOME_ROUTES = {
    "likely_candidate": {},
    "needs_review": {"active": "not_sure"},
    "not_yet": {"diagnosis_year": "2026", "diagnosis_month": "8", "diagnosis_day": "15"},
    "not_eligible": {"age": "17"},
}


@pytest.mark.parametrize("language", ["en", ZH])
@pytest.mark.parametrize("outcome", list(OUTCOME_ROUTES))
def test_every_outcome_in_each_language(app, screener, dialog: Dialog, locales: Path, language: str, outcome: str):
    user, t = start(app, dialog, language, locales)
    assert user.page.title == t(dialog.title)
    assert t(_("Thank you. Let's begin.")) in user.page.text
    assert t(dialog.question("respondent").text) in user.page.asked
    answer_until(user, dialog, answers=OUTCOME_ROUTES[outcome])
    if outcome != "not_eligible":
        assert t(_("Please check your answers:")) in user.page.asked
        user.press(t(CONFIRM))
    page = user.page
    assert page.status == 200 and page.lang == language.replace("_", "-")
    assert t(dialog.outcomes[outcome].title) in page.text
    assert stored(screener, user).outcome == outcome
    if outcome == "not_eligible":
        assert t(dialog.criteria["I2"].reason) in page.text
    if outcome == "not_yet":
        # diagnosed 15 August 2026: 24 weeks later is 30 January 2027
        assert t.date(__import__("datetime").date(2027, 1, 30)) in page.text
    if outcome in ("likely_candidate", "needs_review"):
        assert t(_("The study team will get in touch with you about the next step.")) in page.text
    # a reload shows the same result, and nothing is recorded twice
    again = user.get()
    assert t(dialog.outcomes[outcome].title) in again.text
    assert len(screener.store.outcomes(stored(screener, user).id)) == 1


def test_the_chinese_page_has_its_own_lang_and_title(app, dialog: Dialog, locales: Path):
    en = WebUser(app, "en").page
    zh = WebUser(app, "zh-CN").page
    assert (en.lang, zh.lang) == ("en", "zh-Hans")
    assert zh.title == AsSeen(ZH, locales)(dialog.title) != en.title


def test_the_language_switch_is_on_every_page_and_keeps_the_answers(app, screener, dialog: Dialog, locales: Path):
    user, _t = start(app, dialog, "en", locales)
    user.choose("self")
    assert "简体中文" in user.page.buttons and "English" not in user.page.buttons
    user.press("简体中文")
    zh = AsSeen(ZH, locales)
    assert user.page.lang == "zh-Hans" and user.page.title == zh(dialog.title)
    assert zh(dialog.question("age").text) in user.page.asked
    assert "English" in user.page.buttons
    assert stored(screener, user).language == ZH
    assert stored(screener, user).answers["respondent"]["value"] == "self"


def test_caregiver_wording_on_the_web(app, dialog: Dialog, locales: Path):
    user, t = start(app, dialog, "en", locales)
    user.choose("caregiver")
    assert t(dialog.question("age").text_caregiver) in user.page.asked


# ---------------------------------------------------------------- bad input: a kind answer, nothing lost

TYPED_BAD = [
    ("", "Please type a number, like 35."),
    ("abc", "Please type a number, like 35."),
    ("250", "Please check the number. It should be between {min} and {max}."),
    ("😀", "Please type a number, like 35."),
    ("12.5", "Please type a number, like 35."),
    ("x" * 4000, "That message is too long. Please answer in a few words."),
    ("狼" * 4000, "That message is too long. Please answer in a few words."),
]


@pytest.mark.parametrize("language", ["en", ZH])
@pytest.mark.parametrize(("typed", "message"), TYPED_BAD)
def test_bad_typed_answers_get_a_kind_re_ask(app, screener, dialog, locales, language, typed, message):
    user, t = start(app, dialog, language, locales)
    user.choose("self")
    before = answer_rows(screener)
    user.type(typed)
    assert user.page.status == 200
    assert t(message, min=1, max=120) in user.page.text
    assert user.page.question == "age"
    assert answer_rows(screener) == before


def test_bad_taps_and_forged_forms_get_a_kind_re_ask(app, screener, dialog, locales):
    user, t = start(app, dialog, "en", locales)
    form = user.page.form_with("option", "self")
    user.post(form_data(form, option="no-such-option"))
    assert t(_("Please choose one answer from the list, or type its number.")) in user.page.text
    user.post(form_data(user.page.form_with("option", "self"), kind="text", text="I am the patient"))
    assert user.page.question == "age", "typed words of an option work too"
    # a tap meant for an earlier question (but on the current step) is refused by the Screener
    user.post(form_data(user.page.forms[-4], kind="choose", question="respondent", option="self"))
    assert t(_("That button belongs to an earlier question. Here is the current one.")) in user.page.text
    # a form whose fields make no sense
    csrf_and_step = [(k, v) for k, v in form_data(user.page.forms[0]) if k in ("csrf", "step")]
    user.post([*csrf_and_step, ("kind", "launch-missiles")])
    assert t(_("Sorry, that did not work. Please try again.")) in user.page.text
    user.post([*csrf_and_step, ("kind", "command"), ("name", "teleport")])
    assert t(_("Sorry, I don't know that command. Type help to see what you can do.")) in user.page.text
    assert user.page.question == "age"
    assert list(stored(screener, user).answers) == ["respondent"]


def test_multiple_choice_with_boxes_nothing_ticked_and_clashing_ticks(app, screener, dialog, locales):
    user, t = start(app, dialog, "en", locales)
    answer_until(user, dialog, stop_at="treatments")
    assert t(_("Tick all that apply, then tap {done}."), done=t(_("Done"))) in user.page.asked
    user.tick()
    assert t(_("Please choose at least one answer first.")) in user.page.text
    user.tick("hydroxychloroquine", "none")
    option = t(dialog.question("treatments").option("none").label)
    assert t(_('"{option}" cannot be chosen together with other answers.'), option=option) in user.page.text
    assert user.page.question == "treatments"
    user.tick("hydroxychloroquine", "steroids")
    assert stored(screener, user).answers["treatments"]["value"] == ["hydroxychloroquine", "steroids"]
    user.press(t(_("Back")))
    ticked = [i["value"] for i in user.page.form_with("kind", "many")["inputs"] if i.get("checked")]
    assert user.page.question == "treatments" and ticked == [], "the web posts whole answers, it keeps no draft"


def test_body_size_content_type_and_encoding_are_checked(app, screener, dialog, locales):
    user, t = start(app, dialog, "en", locales)
    fields = form_data(user.page.form_with("option", "self"))
    user.post([*fields, ("text", "x" * 70_000)])
    assert user.page.status == 413 and t(_("That was too long. Please send a shorter answer.")) in user.page.text
    response = user.client.post("/", content=b"kind=choose&option=\xff\xfe", headers={"Content-Type": FORM})
    assert response.status_code == 400
    response = user.client.post("/", files={"kind": ("a.txt", b"choose")})
    assert response.status_code == 415 and "Please use the buttons" in response.text
    assert stored(screener, user).answers == {}
    assert user.get().question == "respondent"


# ---------------------------------------------------------------- CSRF, double submit, replay


def test_a_post_without_or_with_a_wrong_csrf_token_changes_nothing(app, screener, dialog, locales):
    user, t = start(app, dialog, "en", locales)
    fields = form_data(user.page.form_with("option", "self"))
    without = [(k, v) for k, v in fields if k != "csrf"]
    assert user.post(without).status == 403
    assert t(_("This page was out of date, so nothing was changed. Please try again.")) in user.page.text
    wrong = [(k, "0" * 64 if k == "csrf" else v) for k, v in fields]
    assert user.post(wrong).status == 403
    # a token from another session does not work either
    other = WebUser(app)
    other_token = dict(form_data(other.page.forms[0]))["csrf"]
    assert user.post([(k, other_token if k == "csrf" else v) for k, v in fields]).status == 403
    assert stored(screener, user).answers == {}
    assert user.page.question == "respondent", "the refusal still shows the current question"
    # a post with no session cookie at all (cookies off, or a forged cross-site post)
    stranger = TestClient(app)
    response = stranger.post("/", content=urlencode(fields), headers={"Content-Type": FORM})
    assert response.status_code == 403 and "cookies" in response.text
    assert user.post(fields).status == 200 and stored(screener, user).answers["respondent"]["value"] == "self"


def test_the_same_form_posted_twice_records_one_answer(app, screener, dialog, locales):
    user, t = start(app, dialog, "en", locales)
    fields = form_data(user.page.form_with("option", "self"))
    user.post(fields)
    assert user.page.question == "age"
    before = answer_rows(screener)
    user.post(fields)  # double tap / replayed post
    assert t(_("That was already sent. Here is where you are now.")) in user.page.text
    assert user.page.question == "age"
    assert answer_rows(screener) == before
    age_form = next(f for f in user.page.forms if f["class"] == "typed")
    user.post(form_data(age_form, text="40"))
    user.post(form_data(age_form, text="41"))  # the same form again, with another value: not applied
    conv = stored(screener, user)
    assert conv.answers["age"]["value"] == 40
    history = screener.store.answer_history(conv.id)
    assert [h["question_id"] for h in history] == ["respondent", "age"]


def test_back_and_edit_from_the_summary(app, screener, dialog, locales):
    user, t = start(app, dialog, "en", locales)
    user.choose("self")
    user.type("40")
    user.press(t(_("Back")))
    assert user.page.question == "age"
    assert t(_("You")) in user.page.html
    answer_until(user, dialog)
    assert t(_("Please check your answers:")) in user.page.asked
    assert f"• {t(dialog.question('age').label)}: 40" in user.page.asked
    user.press(t(_("Change: {label}"), label=t(dialog.question("age").label)))
    assert user.page.question == "age"
    user.type("52")
    assert t(_("Please check your answers:")) in user.page.asked, "after the change, back to the summary"
    assert f"• {t(dialog.question('age').label)}: 52" in user.page.asked
    user.press(t(_("Back")))
    assert user.page.question, "back from the summary goes to the last question asked"
    answer_until(user, dialog)
    user.press(t(CONFIRM))
    assert stored(screener, user).outcome == "likely_candidate"
    assert stored(screener, user).answers["age"]["value"] == 52


@pytest.mark.parametrize("language", ["en", ZH])
def test_start_over_asks_first_and_works_without_javascript(app, screener, dialog, locales, language):
    user, t = start(app, dialog, language, locales)
    asking = t(_("Start again from the first question? All your answers so far will be cleared."))
    user.choose("self")
    user.type("40")
    user.follow(t(_("Start over")))
    assert asking in user.page.asked and user.page.headers["cache-control"] == "no-store"
    assert list(stored(screener, user).answers) == ["respondent", "age"], "asking clears nothing"
    user.follow(t(_("No, keep my answers")))
    assert user.page.question == "sex" and list(stored(screener, user).answers) == ["respondent", "age"]
    user.follow(t(_("Start over")))
    user.press(t(_("Yes, start over")))
    assert t(_("Let's start again. Your earlier answers are cleared.")) in user.page.text
    assert user.page.question == "respondent" and stored(screener, user).answers == {}
    # the "Start again" of a finished screening asks too
    answer_until(user, dialog)
    user.press(t(CONFIRM))
    assert t(_("Start again")) not in user.page.buttons
    user.follow(t(_("Start again")))
    assert asking in user.page.asked
    assert stored(screener, user).outcome == "likely_candidate"


def test_nothing_to_start_over_before_consent(app, dialog, locales):
    user = WebUser(app)
    assert AsSeen("en", locales)(_("Start over")) not in [text for text, _href in user.page.links]
    response = user.client.get("/start-over", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert TestClient(app).get("/start-over", follow_redirects=False).status_code == 303


def test_declining_and_deleting_keep_nothing(app, screener, dialog, locales):
    t = AsSeen("en", locales)
    user = WebUser(app)
    user.press(t(dialog.consent.decline))
    assert t(dialog.consent.declined) in user.page.text
    assert stored(screener, user) is None
    user.press(t(_("Start again")))
    user.press(t(dialog.consent.agree))
    user.choose("caregiver")
    user.press(t(_("Delete my answers")))
    assert t(_("Delete all your answers? This cannot be undone.")) in user.page.asked
    user.get()
    assert t(_("Delete all your answers? This cannot be undone.")) in user.page.asked, "a reload keeps the question"
    user.press(t(_("Yes")))
    deleted = t(_("Your answers are deleted. Nothing about you is kept. To begin again, {start}."), **how_to(WEB, t))
    assert deleted in user.page.text
    assert 'To begin again, tap "Start again".' in user.page.text and "Start again" in user.page.buttons
    assert stored(screener, user) is None and answer_rows(screener) == 0


def test_privacy_and_help_work_from_any_page(app, dialog, locales):
    user, t = start(app, dialog, "en", locales)
    user.press(t(_("Privacy")))
    before_place = t(dialog.consent.text).split("{server_location}")[0]
    assert before_place in user.page.text and user.page.question == "respondent"
    assert how_to(WEB, t)["delete"] in user.page.text
    stale = form_data(user.page.form_for(t(_("Help"))))
    user.choose("self")
    user.post(stale)  # from an older page: harmless, so it still works
    assert t(_("You can use these buttons:")) in user.page.text and user.page.question == "age"


# ---------------------------------------------------------------- sessions, resume, source


def test_resume_after_the_server_process_restarts(dialog, db_path, locales):
    app, _screener = make_app(dialog, db_path, locales)
    user, t = start(app, dialog, ZH, locales)
    user.choose("self")
    user.type("40")
    cookie = user.session
    # a new process: new Screener, new app, the same database file and key file
    app2, screener2 = make_app(dialog, db_path, locales)
    client = TestClient(app2, headers={"Accept-Language": "en"})
    client.cookies.set(SESSION_COOKIE, cookie)
    back = WebUser(app2, client=client)
    assert back.page.question == "sex" and back.page.lang == "zh-Hans"
    # the last reply is in the database too: the new process draws the same page as the old one
    assert back.page.text == user.page.text
    # an hour later it is forgotten, and the page greets the person back
    WebState(screener2.store.db).forget(time.time() + TURN_SECONDS + 1)
    back.get()
    assert t(_("Welcome back. Let's continue where you left off.")) in back.page.text
    back.choose("female")
    assert stored(screener2, back).answers["sex"]["value"] == "female"
    answer_until(back, dialog)
    back.press(t(CONFIRM))
    app3, _s = make_app(dialog, db_path, locales)
    client3 = TestClient(app3)
    client3.cookies.set(SESSION_COOKIE, cookie)
    assert t(dialog.outcomes["likely_candidate"].title) in WebUser(app3, client=client3).page.text


def test_campaign_source_is_stored_and_leaves_the_url(app, screener, dialog, locales):
    t = AsSeen("en", locales)
    client = TestClient(app)
    response = client.get("/?src=poster-wuhan", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    user = WebUser(app, client=client)
    user.press(t(dialog.consent.agree))
    assert stored(screener, user).source == "poster-wuhan"
    assert stored(screener, user).channel == "web"
    odd = TestClient(app)
    odd.get("/?src=<script>")
    user2 = WebUser(app, client=odd)
    user2.press(t(dialog.consent.agree))
    sources = {r["source"] for r in screener.store.db.query("SELECT source FROM conversations")}
    assert sources == {"poster-wuhan", ""}


def test_the_funnel_counts_each_web_visitor_who_starts_once(app, screener, dialog, locales):
    """Opening the page is the web's /start: counted once per browser, as Telegram counts /start."""
    t = AsSeen("en", locales)

    def counted() -> dict[str, int]:
        totals = audit.totals(screener.store.db)
        return {name: totals.get(name, 0) for name in ("started", "consented", "declined_consent")}

    client = TestClient(app)
    client.get("/?src=poster-wuhan")  # the campaign redirect, then the page
    user = WebUser(app, client=client)
    user.get()  # a reload
    assert counted() == {"started": 1, "consented": 0, "declined_consent": 0}
    user.press(t(dialog.consent.agree))
    user.choose("self")
    assert counted() == {"started": 1, "consented": 1, "declined_consent": 0}
    other = WebUser(app)
    other.press(t(dialog.consent.decline))
    assert counted() == {"started": 2, "consented": 1, "declined_consent": 1}
    TestClient(app).head("/")  # a link checker: no page shown, no start
    assert counted()["started"] == 2
    assert screener.store.db.execute("SELECT count(*) FROM conversations").fetchone()[0] == 1, "nothing before consent"


def test_the_session_cookie_is_random_http_only_and_not_stored(app, screener, dialog, locales):
    client = TestClient(app)
    response = client.get("/")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    session = client.cookies.get(SESSION_COOKIE)
    assert len(session) >= 43 and session != TestClient(app).get("/").cookies.get(SESSION_COOKIE)
    user = WebUser(app, client=client)
    user.press("I agree")
    db = screener.store.db
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    dump = "\n".join(str(row) for table in tables for row in db.execute(f"SELECT * FROM {table}"))
    assert session not in dump


def test_secure_cookies_behind_https(dialog, db_path, locales):
    app, _ = make_app(dialog, db_path, locales, public_url="https://screening.example.org")
    assert "Secure" in TestClient(app).get("/").headers["set-cookie"]
    app, _ = make_app(dialog, db_path, locales, web_secure_cookies="true")
    assert "Secure" in TestClient(app).get("/").headers["set-cookie"]
    with pytest.raises(ConfigError, match="WEB_SECURE_COOKIES"):
        make_app(dialog, db_path, locales, web_secure_cookies="maybe")
    with pytest.raises(ConfigError, match="WEB_RATE_LIMIT"):
        make_app(dialog, db_path, locales, web_rate_limit="lots")


def test_the_key_file_is_private_and_reused(dialog, db_path, locales):
    make_app(dialog, db_path, locales)
    key = db_path.parent / KEY_FILE
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    first = key.read_bytes()
    make_app(dialog, db_path, locales)
    assert key.read_bytes() == first


# ---------------------------------------------------------------- safe by default


def test_every_response_has_the_security_headers(app):
    client = TestClient(app)
    for url in ("/", "/static/chat.css", "/static/chat.js", "/no-such-page", "/healthz"):
        headers = client.get(url).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["referrer-policy"] == "no-referrer"
    assert client.get("/no-such-page").status_code == 404
    assert client.put("/").status_code == 405


def test_a_405_says_which_methods_are_allowed(app):
    client = TestClient(app)
    for url, allowed in (("/", "GET, HEAD, POST"), ("/healthz", "GET, HEAD"), ("/static/chat.css", "GET, HEAD")):
        for method in ("PUT", "DELETE", "PATCH"):
            response = client.request(method, url)
            assert response.status_code == 405, (method, url)
            assert set(response.headers["allow"].split(", ")) == set(allowed.split(", ")), (method, url)
            assert response.headers["cache-control"] == "no-store"
    assert set(client.post("/static/chat.css").headers["allow"].split(", ")) == {"GET", "HEAD"}


def test_versioned_static_files_are_cached_for_a_year_pages_never(app, dialog, locales):
    user, _t = start(app, dialog, "en", locales)
    user.choose("caregiver")
    page = user.page
    assert page.headers["cache-control"] == "no-store", "a page with someone's answers is never stored"
    static = [ref for ref in page.refs if ref.startswith("/static/")]
    assert sorted(ref.split("?")[0] for ref in static) == ["/static/chat.css", "/static/chat.js"]
    client = user.client
    for ref in static:
        assert re.fullmatch(r"/static/[a-z.]+\?v=[0-9a-f]{10}", ref)
        response = client.get(ref)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-type"].split(";")[0] in ("text/css", "text/javascript")
        # the same file without its version, or with an old one, is checked each time
        for stale in (ref.split("?")[0], ref.split("?")[0] + "?v=0123456789"):
            response = client.get(stale)
            assert response.status_code == 200 and response.headers["cache-control"] == "no-cache"
            etag = response.headers["etag"]
            again = client.get(stale, headers={"If-None-Match": etag})
            assert again.status_code == 304 and again.content == b""
    for url in ("/static/nope.css", "/static/", "/static/../app.py", "/static/templates/base.html"):
        response = client.get(url)
        assert response.status_code == 404 and response.headers["cache-control"] == "no-store", url
    for status_page in (user.get("/no-such-page"), user.post([("kind", "command")])):
        assert status_page.headers["cache-control"] == "no-store"


def test_no_personal_data_in_urls_or_logs(app, dialog, locales, caplog):
    caplog.set_level(logging.DEBUG)
    client = TestClient(app)
    client.get("/?src=poster-wuhan")
    user = WebUser(app, client=client)
    t = AsSeen("en", locales)
    user.press(t(dialog.consent.agree))
    user.choose("caregiver")
    user.type("47")
    ours = [r for r in caplog.records if r.name.startswith(("bot", "uvicorn"))]
    logged = "\n".join(r.getMessage() for r in ours)
    assert "POST / 303" in logged, "requests are logged, without who or what"
    for secret in (user.session, "testclient", "poster-wuhan", "caregiver", " 47", "src="):
        assert secret not in logged
    for form in user.page.forms:
        assert form["action"] == "/"
    assert not re.search(r"<a [^>]*href=\"[^\"]*\?", user.page.html), "no link carries data in its query"


FORGING_PATHS = [
    "/static/x%0A2026-01-01 INFO bot.web.access GET / 200 1ms",  # a line feed: a forged log line
    "/static/x%0D%0Ay",
    "/static/a%00b",  # a NUL in the log file
    "/static/%1B[31mred",  # a terminal escape
    "/static/%E2%80%A8separator",  # a Unicode line separator
    "/static/" + "a" * 5000,
]


@pytest.mark.parametrize("path", FORGING_PATHS)
def test_request_values_are_escaped_in_the_log(app, caplog, path):
    """Whatever a request carries, each request writes one line of printable ASCII, cut to a sane length."""
    caplog.set_level(logging.DEBUG)
    client = TestClient(app)
    for method in ("GET", "POST", "DELETE"):
        client.request(method, path)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert len(lines) == 3
    for line in lines:
        assert re.fullmatch(r"[\x20-\x7e]{1,300}", line), repr(line)
    if "2026-01-01" in path:
        assert "x%0A2026-01-01" in lines[0], "the forged line stays inside the real one, visibly escaped"


def test_no_page_references_another_host(app, dialog, locales):
    """Every page the app serves: each step of a screening, the outcome, errors, and the static files."""
    t = AsSeen(ZH, locales)
    pages: list[Page] = []
    user = WebUser(app, ZH)
    pages.append(user.page)
    user.press(t(dialog.consent.agree))
    while user.page.question:
        pages.append(user.page)
        if dialog.separate_consent(user.page.question):
            user.choose("agree")
            continue
        question = dialog.question(user.page.question)
        answer(user, question, "2026" if question.id == "diagnosis_year" else harmless(question))
    pages.append(user.page)
    user.press(t(CONFIRM))
    pages.append(user.page)
    for label in (t(_("Delete my answers")), t(_("Yes"))):
        user.press(label)
        pages.append(user.page)
    client = user.client
    for url in ("/no-such-page", "/static/nope.css"):
        response = client.get(url)
        pages.append(Page(response.status_code, response.text, response.headers))
    pages.append(user.post([("kind", "command")]))  # 403 page
    assert len(pages) > 20
    kinds = set()
    for page in pages:
        assert page.refs, "a page without any reference means the parser saw nothing"
        external = [ref for ref in page.refs if EXTERNAL.search(ref) and not ref.startswith("data:")]
        assert external == [], f"{page.title}: {external}"
        assert "@import" not in page.html and "<iframe" not in page.html and "<script>" not in page.html
        kinds.add(page.status)
    assert kinds >= {200, 403, 404}
    for name in ("chat.css", "chat.js"):
        text = client.get(f"/static/{name}").text
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", text) and "http://" not in text and "https://" not in text


# ---------------------------------------------------------------- contact capture and leads


@pytest.mark.parametrize("language", ["en", ZH])
def test_contact_details_through_the_web_make_a_lead_with_channel_and_source(
    dialog, db_path, locales, language, caplog
):
    caplog.set_level(logging.DEBUG)
    app, screener = make_app(dialog, db_path, locales, leads=True)
    t = AsSeen(language, locales)
    client = TestClient(app, headers={"Accept-Language": language.replace("_", "-")})
    client.get("/?src=poster-wuhan")
    user = WebUser(app, client=client)
    user.press(t(dialog.consent.agree))
    answer_until(user, dialog)
    user.press(t(CONFIRM))
    user.press(t(_("Yes, please contact me")))
    phone_box = next(f for f in user.page.forms if f["class"] == "typed")
    assert 'type="tel"' in user.page.html and 'autocomplete="tel"' in user.page.html
    user.post(form_data(phone_box, text="027 8372 6000"))  # a Wuhan landline: the team needs a mobile
    assert user.page.question == "contact_phone" and user.page.status == 200
    user.type("139 1234 5678")
    assert user.page.question == "contact_name"
    assert "5678" not in user.page.text, "the phone number is not echoed back or kept for the page"
    user.post(form_data(phone_box, text="139 0000 0000"))  # the phone form again: already sent
    assert t(_("That was already sent. Here is where you are now.")) in user.page.text
    user.press(t(_("Skip")))
    user.press(t(_("Afternoon")))
    user.press(t(_("Chinese (Mandarin)")))
    leads = screener.leads.find()
    assert len(leads) == 1
    assert (leads[0].channel, leads[0].source) == ("web", "poster-wuhan")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("bot", "uvicorn")))
    assert "5678" not in ours and "139" not in ours
