"""A person using the web chat without JavaScript: reads the real HTML, fills and posts its forms.

Nothing here knows how the app builds its forms beyond what a browser would see:
a tap is "post the form whose button says X, with its hidden fields".
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.channels.web.app import SESSION_COOKIE, create_app
from bot.config import Settings, read_value
from bot.console import attach as attach_console
from bot.dialog.model import Dialog, Question
from bot.i18n import Translator
from bot.store import open_database
from bot.store.storage import Storage
from bot.store.vault import open_protected

from .conftest import LOCALES, TODAY, AsSeen, Screener, harmless_answer, key_file_for

ZH = "zh_Hans"


def zh_locales(tmp_dir: Path, dialog: Dialog, mark_title: bool = True) -> Path:
    """The shipped catalogs when they include Chinese; else a stand-in catalog, so the tests run before it lands.

    The stand-in translates only the page title (marked, not real Chinese; or nothing
    when `mark_title` is false, for screenshots), which is enough to show that the
    page's language reaches the title. Tests compare texts through
    `AsSeen(ZH, locales)`, so they hold with the stand-in and the real one.
    """
    if (LOCALES / ZH / "LC_MESSAGES" / "messages.po").exists():
        return LOCALES
    po = tmp_dir / "locales" / ZH / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True, exist_ok=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Language: zh_Hans\\n"\n\n'
        + (f'msgid "{dialog.title}"\nmsgstr "[{ZH} stand-in] {dialog.title}"\n' if mark_title else ""),
        encoding="utf-8",
    )
    return po.parent.parent.parent


def web_settings(db_path: Path, **values: str) -> Settings:
    """Settings with some values given as text, read the way the environment's are (bot.config.read_value)."""
    return dataclasses.replace(Settings(), db_path=db_path, **{k: read_value(k, v) for k, v in values.items()})


def make_app(
    dialog: Dialog,
    db_path: Path,
    locales: Path = LOCALES,
    leads: bool = False,
    clock: Callable[[], float] = time.time,
    **values: str,
) -> tuple[Starlette, Screener]:
    """The real app over a real SQLite file, with the test day frozen like every other test.

    With `leads`, contact capture and encrypted leads are on, as `compose.build_service` sets them up.
    `clock` is the app's wall clock (rate limits, last replies): a test of limits moves it on.
    """
    if leads:  # encrypted, as `compose.build_service` opens it
        db, vault = open_protected(db_path, "", key_file_for(db_path))
    else:
        db, vault = open_database(db_path), None
    screener = Screener(dialog, Storage(db, dialog, vault), locales, today=lambda: TODAY)
    # one test client posts faster than any person, and every test comes from one address: test_web_limits.py
    # checks the limits
    values.setdefault("web_rate_limit", "0")
    values.setdefault("web_address_rate_limit", "0")
    # group-committed, as `screening-bot web` serves it: each answer flushed before its page (bot/store/durable.py)
    screener.group_commit()
    return create_app(screener, web_settings(db_path, **values), attach=attach_console, clock=clock), screener


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = ""
        self.title = ""
        self.forms: list[dict[str, Any]] = []
        self.bubbles: list[tuple[str, str]] = []
        self.refs: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._link: list[str] | None = None
        self._href = ""
        self._form: dict[str, Any] | None = None
        self._button: dict[str, str] | None = None
        self._label: dict[str, Any] | None = None
        self._bubble: list[str] | None = None
        self._bubble_class = ""
        self._bubble_tag = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            if name in a:
                self.refs.append(a[name])
        if tag == "html":
            self.lang = a.get("lang", "")
        elif tag == "title":
            self._in_title = True
        elif tag == "form":
            self._form = {"action": a.get("action", ""), "class": a.get("class", ""), "inputs": [], "buttons": []}
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None:
            entry = {"type": a.get("type", "text"), "name": a.get("name", ""), "value": a.get("value", "")}
            entry["checked"] = "checked" in a
            self._form["inputs"].append(entry)
            if self._label is not None:
                self._label["input"] = entry
        elif tag == "label":
            self._label = {"text": "", "input": None}
        elif tag == "button":
            self._button = {"text": ""}
        elif tag == "a":
            self._link, self._href = [], a.get("href", "")
        elif tag in ("div", "section", "legend") and "bubble" in a.get("class", "").split():
            self._bubble, self._bubble_class, self._bubble_tag = [], a["class"], tag
        elif tag in ("h2", "p") and self._bubble is not None and self._bubble and self._bubble_tag == "section":
            self._bubble.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "form":
            self._form = None
        elif tag == "a" and self._link is not None:
            self.links.append(("".join(self._link).strip(), self._href))
            self._link = None
        elif tag == "button" and self._button is not None:
            if self._form is not None:
                self._form["buttons"].append(self._button["text"].strip())
            self._button = None
        elif tag == "label" and self._label is not None:
            if self._label["input"] is not None:
                self._label["input"]["label"] = self._label["text"].strip()
            self._label = None
        elif tag == self._bubble_tag and self._bubble is not None:
            self.bubbles.append((self._bubble_class, "".join(self._bubble).strip()))
            self._bubble = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._button is not None:
            self._button["text"] += data
        if self._link is not None:
            self._link.append(data)
        if self._label is not None:
            self._label["text"] += data
        if self._bubble is not None:
            self._bubble.append(data)


@dataclasses.dataclass
class Page:
    status: int
    html: str
    headers: Any

    def __post_init__(self) -> None:
        parser = _Parser()
        parser.feed(self.html)
        self.lang, self.title, self.forms = parser.lang, parser.title.strip(), parser.forms
        self.bubbles, self.refs, self.links = parser.bubbles, parser.refs, parser.links

    @property
    def text(self) -> str:
        """Everything said on the page, bubble by bubble."""
        return "\n".join(text for _, text in self.bubbles)

    @property
    def asked(self) -> str:
        return next((text for cls, text in self.bubbles if "prompt" in cls), "")

    @property
    def buttons(self) -> list[str]:
        return [b for form in self.forms for b in form["buttons"]]

    @property
    def question(self) -> str:
        """The question the answer forms belong to ('' on the summary or an outcome)."""
        for form in self.forms:
            for field in form["inputs"]:
                if field["name"] == "question":
                    return field["value"]
        return ""

    def form_with(self, name: str, value: str) -> dict[str, Any]:
        for form in self.forms:
            if any(f["name"] == name and f["value"] == value for f in form["inputs"]):
                return form
        raise AssertionError(f"no form with {name}={value!r}; buttons: {self.buttons}")

    def form_for(self, label: str) -> dict[str, Any]:
        for form in self.forms:
            if label in form["buttons"]:
                return form
        raise AssertionError(f"no button {label!r}; buttons: {self.buttons}\n{self.text}")


def form_data(form: dict[str, Any], **override: Any) -> list[tuple[str, str]]:
    data = []
    for f in form["inputs"]:
        if f["type"] == "checkbox":
            if f["checked"]:
                data.append((f["name"], f["value"]))
        elif f["name"] in override:
            continue
        else:
            data.append((f["name"], f["value"]))
    for name, value in override.items():
        for v in value if isinstance(value, list) else [value]:
            data.append((name, v))
    return data


class WebUser:
    """One browser (one cookie jar) using the chat; every step is a plain form post, to where the form says
    (a trial's own address, /t/<dialog id>, when the site runs several). `pages` is everything it saw."""

    def __init__(
        self, app: Starlette, language: str = "en", client: TestClient | None = None, start: str = "/"
    ) -> None:
        self.client = client or TestClient(app, headers={"Accept-Language": language.replace("_", "-")})
        self.pages: list[Page] = []
        self.page = self.get(start)

    def get(self, url: str = "/") -> Page:
        response = self.client.get(url)
        self.page = Page(response.status_code, response.text, response.headers)
        self.pages.append(self.page)
        return self.page

    def post(self, data: list[tuple[str, str]], url: str = "/", **kwargs: Any) -> Page:
        body = urlencode(data).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        response = self.client.post(url, content=body, headers=headers, **kwargs)
        self.page = Page(response.status_code, response.text, response.headers)
        self.pages.append(self.page)
        return self.page

    def submit(self, form: dict[str, Any], **override: Any) -> Page:
        """Post a form of the page to its own action, as a browser does."""
        return self.post(form_data(form, **override), url=form["action"] or "/")

    def follow(self, label: str) -> Page:
        """Follow the link that says `label`, as a browser does (the fragment stays in the browser)."""
        href = next((href for text, href in self.page.links if text == label), None)
        assert href is not None, f"no link {label!r}; links: {self.page.links}"
        return self.get(href.split("#")[0])

    def press(self, label: str) -> Page:
        return self.submit(self.page.form_for(label))

    def choose(self, option_id: str) -> Page:
        return self.submit(self.page.form_with("option", option_id))

    def type(self, text: str) -> Page:
        form = next((f for f in self.page.forms if any(i["name"] == "text" for i in f["inputs"])), None)
        assert form is not None, f"no text box; buttons: {self.page.buttons}"
        return self.submit(form, text=text)

    def tick(self, *option_ids: str) -> Page:
        """Tick these boxes (and only these) and press the multiple-choice form's button."""
        form = next(f for f in self.page.forms if f["class"] == "many")
        return self.submit(form, option=list(option_ids))

    @property
    def session(self) -> str:
        return self.client.cookies.get(SESSION_COOKIE) or ""


def answer(user: WebUser, question: Question, value: str) -> Page:
    """Answer a question the way its page asks: a typed number, a box list or a button."""
    if question.kind in ("number", "year"):
        return user.type(value)
    if question.kind == "multi":
        return user.tick(*value.split(","))
    return user.choose(value)


def harmless(question: Question) -> str:
    typed = harmless_answer(question)
    if question.kind in ("number", "year"):
        return typed
    return question.options[int(typed) - 1].id


def answer_until(
    user: WebUser, dialog: Dialog, stop_at: str | None = None, answers: dict[str, str] | None = None
) -> None:
    """Answer harmlessly (or as `answers` says, by option id) until `stop_at`, the summary or an outcome.

    A separate consent on the way (health data) is agreed to."""
    answers = answers or {}
    for _ in range(100):
        qid = user.page.question
        if qid and qid != stop_at and dialog.separate_consent(qid) is not None:
            user.choose("agree")
            continue
        if not qid or qid == stop_at or not dialog.has_question(qid):
            return
        question = dialog.question(qid)
        answer(user, question, answers.get(qid, harmless(question)))
    raise AssertionError("the dialog did not end")


def translator(language: str, locales: Path) -> Translator:
    return AsSeen(language, locales)


EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//|^\s*(?:https?|ftp|ws|wss):", re.IGNORECASE)
