"""The structure a screen reader relies on, page by page, through the real app (the browser test runs axe-core).

One h1 per page; a tick-box question is a fieldset whose legend is the question; the
outcome is a heading; after a tap exactly one element takes the focus (the outcome, the
box to type in, or the question), with `autofocus` for browsers without JavaScript, but
never on a first visit; this turn's replies are marked for the live region, and a box to
type in is described by the problem with the last answer and by the question.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bot.dialog.model import Dialog
from bot.i18n import _

from .conftest import AsSeen
from .web_driver import ZH, Page, WebUser, answer_until, make_app, zh_locales

CONFIRM = "These are right: show the result"


class Tree(HTMLParser):
    """Elements with their attributes and the stack of open elements at each start tag."""

    VOID = frozenset({"input", "meta", "link", "img", "br", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict[str, Any]] = []
        self._stack: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {"tag": tag, "attrs": {k: v or "" for k, v in attrs}, "parents": [e["tag"] for e in self._stack]}
        element["text"] = []
        self.elements.append(element)
        if tag not in self.VOID:
            self._stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop()["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._stack:
            element["text"].append(data)


def tree(page: Page) -> list[dict[str, Any]]:
    parser = Tree()
    parser.feed(page.html)
    for element in parser.elements:
        element["text"] = "".join(element["text"]).strip()
    return parser.elements


def focused(page: Page) -> list[dict[str, Any]]:
    return [e for e in tree(page) if "data-focus" in e["attrs"]]


def by_id(page: Page, element_id: str) -> dict[str, Any]:
    return next(e for e in tree(page) if e["attrs"].get("id") == element_id)


@pytest.fixture
def locales(tmp_path: Path, dialog: Dialog) -> Path:
    return zh_locales(tmp_path, dialog)


@pytest.fixture
def app(dialog: Dialog, db_path: Path, locales: Path):
    return make_app(dialog, db_path, locales, leads=True)[0]


def every_page(app, dialog: Dialog, language: str, locales: Path) -> list[tuple[str, Page]]:
    """One page of each kind: consent, each question kind, errors, summary, start over, outcome, contact, delete."""
    t = AsSeen(language, locales)
    user = WebUser(app, language)
    pages = [("consent", user.page)]
    pages.append(("privacy", user.press(t(_("Privacy")))))
    pages.append(("choice", user.press(t(dialog.consent.agree))))
    pages.append(("number", user.choose("self")))
    pages.append(("number, re-asked", user.type("abc")))
    pages.append(("choice, after a number", user.type("40")))
    answer_until(user, dialog, stop_at="diagnosis_year")
    pages.append(("year", user.page))
    answer_until(user, dialog, stop_at="treatments")
    pages.append(("multi", user.page))
    pages.append(("multi, nothing ticked", user.tick()))
    answer_until(user, dialog)
    pages.append(("summary", user.page))
    pages.append(("start over?", user.follow(t(_("Start over")))))
    user.follow(t(_("No, keep my answers")))
    pages.append(("outcome", user.press(t(CONFIRM))))
    pages.append(("outcome, reloaded", user.get()))
    pages.append(("phone", user.press(t(_("Yes, please contact me")))))
    pages.append(("name", user.type("139 1234 5678")))
    user.press(t(_("Skip")))
    user.press(t(_("Afternoon")))
    pages.append(("contact done", user.press(t(_("Chinese (Mandarin)")))))
    pages.append(("delete?", user.press(t(_("Delete my answers")))))
    pages.append(("deleted", user.press(t(_("Yes")))))
    pages.append(("not found", user.get("/no-such-page")))
    return pages


@pytest.mark.parametrize("language", ["en", ZH])
def test_one_h1_and_the_language_on_every_page(app, dialog, locales, language):
    t = AsSeen(language, locales)
    for kind, page in every_page(app, dialog, language, locales):
        h1 = [e for e in tree(page) if e["tag"] == "h1"]
        assert [e["text"] for e in h1] == [t(dialog.title)], kind
        assert page.lang == language.replace("_", "-"), kind
        landmarks = {e["tag"] for e in tree(page)} & {"header", "nav", "main", "footer"}
        assert landmarks >= {"header", "main", "footer"}, kind


@pytest.mark.parametrize("language", ["en", ZH])
def test_after_a_tap_the_focus_lands_on_what_is_new(app, dialog, locales, language):
    expected = {
        "consent": ("prompt", False),  # a first visit: marked for chat.js, not autofocused
        "privacy": ("prompt", True),
        "choice": ("prompt", True),
        "number": ("answer", True),
        "number, re-asked": ("answer", True),
        "choice, after a number": ("prompt", True),
        "year": ("answer", True),
        "multi, nothing ticked": ("prompt", True),
        "summary": ("prompt", True),
        "start over?": ("prompt", True),
        "outcome": ("outcome-title", True),
        "outcome, reloaded": ("outcome-title", True),  # the same turn again
        "phone": ("answer", True),
        "name": ("answer", True),
        "contact done": ("prompt", True),
        "delete?": ("prompt", True),
        "deleted": ("n1", True),
        "not found": ("prompt", False),
    }
    for kind, page in every_page(app, dialog, language, locales):
        if kind not in expected:
            continue
        target, autofocus = expected[kind]
        marked = focused(page)
        assert [e["attrs"]["id"] for e in marked] == [target], kind
        assert ("autofocus" in marked[0]["attrs"]) == autofocus, kind
        assert len(re.findall(r"\bautofocus\b", page.html)) == int(autofocus), kind
        assert marked[0]["tag"] in ("input",) or marked[0]["attrs"].get("tabindex") == "-1", kind


@pytest.mark.parametrize("language", ["en", ZH])
def test_tick_boxes_are_a_fieldset_whose_legend_is_the_question(app, dialog, locales, language):
    t = AsSeen(language, locales)
    pages = dict(every_page(app, dialog, language, locales))
    elements = tree(pages["multi"])
    legend = next(e for e in elements if e["tag"] == "legend")
    assert "fieldset" in legend["parents"] and legend["attrs"]["id"] == "prompt"
    assert t(dialog.question("treatments").text) in legend["text"]
    boxes = [e for e in elements if e["attrs"].get("type") == "checkbox"]
    assert len(boxes) == len(dialog.question("treatments").options)
    assert all("fieldset" in e["parents"] and "label" in e["parents"] for e in boxes)
    # the problem with the last answer is announced (chat.js's live region reads data-announce)
    problem = next(e for e in tree(pages["multi, nothing ticked"]) if "data-announce" in e["attrs"])
    assert problem["text"] == t(_("Please choose at least one answer first."))


@pytest.mark.parametrize("language", ["en", ZH])
def test_the_outcome_is_a_heading_that_stands_out(app, dialog, locales, language):
    t = AsSeen(language, locales)
    pages = dict(every_page(app, dialog, language, locales))
    for kind in ("outcome", "outcome, reloaded", "phone"):
        elements = tree(pages[kind])
        heading = next(e for e in elements if e["tag"] == "h2")
        assert heading["text"] == t(dialog.outcomes["likely_candidate"].title), kind
        assert heading["attrs"]["id"] == "outcome-title" and "section" in heading["parents"], kind
        section = next(e for e in elements if e["tag"] == "section")
        assert "outcome" in section["attrs"]["class"] and section["attrs"]["aria-labelledby"] == "outcome-title"
        assert not any(
            "bubble" in e["attrs"].get("class", "").split()
            and e["tag"] != "section"
            and e["text"].startswith(t(dialog.outcomes["likely_candidate"].title))
            for e in elements
        ), "the headline is not also an ordinary bubble"


@pytest.mark.parametrize("language", ["en", ZH])
def test_a_box_to_type_in_is_described_by_the_problem_and_the_question(app, dialog, locales, language):
    t = AsSeen(language, locales)
    pages = dict(every_page(app, dialog, language, locales))
    box = by_id(pages["number, re-asked"], "answer")
    ids = box["attrs"]["aria-describedby"].split()
    assert ids[-1] == "prompt-text"
    described = [by_id(pages["number, re-asked"], i)["text"] for i in ids]
    assert described[0] == t(_("Please type a number, like 35."))
    assert t(dialog.question("age").text) in described[-1]
    assert by_id(pages["number"], "answer")["attrs"]["aria-describedby"].split()[-1] == "prompt-text"


def test_the_live_region_is_outside_what_chat_js_swaps(app):
    elements = tree(WebUser(app).page)
    region = next(e for e in elements if e["attrs"].get("id") == "announce")
    assert region["attrs"]["role"] == "status" and region["attrs"]["aria-live"] == "polite"
    assert region["parents"] == ["html", "body"], "a live region replaced with the page would say nothing"
    page = next(e for e in elements if e["attrs"].get("id") == "page")
    assert page["parents"] == ["html", "body"]
