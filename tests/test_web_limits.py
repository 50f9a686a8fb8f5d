"""Fair limits and stateless workers: the web chat as a hospital's Wi-Fi and a several-process server meet it.

Time is the app's own clock (`make_app(clock=...)`), moved on by the test: a person's
pace is a number here, never a sleep.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.testclient import TestClient

from bot.channels.web.limits import (
    BUSY_NETWORK,
    BUSY_NETWORK_FIRST_VISIT,
    TOO_FAST,
    address_bucket,
    client_address,
    trusted_networks,
)
from bot.config import Settings
from bot.dialog.model import Dialog
from bot.i18n import Translator, _
from bot.replies import NOT_SAVED
from bot.store.retention import erase_conversation

from .conftest import AsSeen, peek
from .web_driver import ZH, Page, WebUser, answer, form_data, harmless, make_app, zh_locales

CONFIRM = "These are right: show the result"
FORM = "application/x-www-form-urlencoded"
DEFAULTS = {
    "web_rate_limit": str(Settings().web_rate_limit),
    "web_address_rate_limit": str(Settings().web_address_rate_limit),
}
HOSPITAL_WIFI = "203.0.113.7"


class Clock:
    """The app's wall clock, moved on by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def locales(tmp_path: Path, dialog: Dialog) -> Path:
    return zh_locales(tmp_path, dialog)


def browser(app: Any, address: str, port: int = 40000, language: str = "en", **headers: str) -> WebUser:
    """A phone at `address` (as the server sees the connection), its own cookies."""
    client = TestClient(app, client=(address, port), headers={"Accept-Language": language, **headers})
    return WebUser(app, language, client=client)


def tap(user: WebUser, dialog: Dialog, t: Translator) -> bool:
    """The next tap of someone who agrees and meets every rule; False once the result is shown."""
    qid = user.page.question
    if qid == "consent":
        user.press(t(dialog.consent.agree))
    elif qid and dialog.separate_consent(qid) is not None:
        user.choose("agree")
    elif qid and dialog.has_question(qid):
        answer(user, dialog.question(qid), harmless(dialog.question(qid)))
    elif t(CONFIRM) in user.page.buttons:
        user.press(t(CONFIRM))
    else:
        return False
    return True


# ---------------------------------------------------------------- fair to people behind one address


class Phone:
    """A browser without JavaScript over one connection to the app (httpx's ASGI transport, no threads):
    fifty of them in one event loop take a fraction of the time fifty TestClients take."""

    def __init__(self, app: Any, address: str, port: int) -> None:
        transport = httpx.ASGITransport(app=app, client=(address, port))
        self.client = httpx.AsyncClient(
            transport=transport, base_url="http://testserver", follow_redirects=True, headers={"Accept-Language": "en"}
        )
        self.page: Page | None = None

    async def get(self) -> Page:
        response = await self.client.get("/")
        self.page = Page(response.status_code, response.text, response.headers)
        return self.page

    async def tap(self, dialog: Dialog, t: Translator) -> bool:
        """As `tap`, for this phone."""
        page = self.page
        assert page is not None
        qid = page.question
        if qid == "consent" or (qid and dialog.separate_consent(qid) is not None):
            data = form_data(page.form_with("option", "agree"))
        elif qid and dialog.has_question(qid):
            question = dialog.question(qid)
            value = harmless(question)
            if question.kind in ("number", "year"):
                form = next(f for f in page.forms if any(i["name"] == "text" for i in f["inputs"]))
                data = form_data(form, text=value)
            elif question.kind == "multi":
                data = form_data(next(f for f in page.forms if f["class"] == "many"), option=value.split(","))
            else:
                data = form_data(page.form_with("option", value))
        elif t(CONFIRM) in page.buttons:
            data = form_data(page.form_for(t(CONFIRM)))
        else:
            return False
        response = await self.client.post("/", content=urlencode(data), headers={"Content-Type": FORM})
        self.page = Page(response.status_code, response.text, response.headers)
        return True


def test_fifty_people_behind_one_address_finish_at_a_human_pace(dialog: Dialog, db_path: Path, locales: Path):
    """A hospital's Wi-Fi: 50 phones, one address, everyone tapping every 2 s (the quickest human pace)."""
    clock = Clock()
    app, _screener = make_app(dialog, db_path, locales, clock=clock, **DEFAULTS)
    t = AsSeen("en", locales)

    async def everyone() -> set[int]:
        phones = [Phone(app, HOSPITAL_WIFI, 40000 + i) for i in range(50)]
        statuses = {(await phone.get()).status for phone in phones}
        start = clock.now
        busy = set(range(50))
        for round_number in range(200):
            for i in sorted(busy):
                clock.now = start + 2.0 * round_number + i * 2.0 / 50  # spread over the 2 s, as people are
                if not await phones[i].tap(dialog, t):
                    busy.discard(i)
                statuses.add(phones[i].page.status)  # type: ignore[union-attr]
            if not busy:
                break
        return statuses

    assert asyncio.run(everyone()) == {200}
    with peek(db_path) as conn:
        finished = conn.execute("SELECT count(*) FROM conversations WHERE channel = 'web' AND outcome != ''")
        assert finished.fetchone()[0] == 50


def test_one_session_hammering_is_slowed_and_its_neighbours_are_not(dialog: Dialog, db_path: Path, locales: Path):
    """The session's limit is the default (60 a minute); the address's is lowered to 100 a minute."""
    clock = Clock()
    limits = {"web_rate_limit": DEFAULTS["web_rate_limit"], "web_address_rate_limit": "100"}
    app, _screener = make_app(dialog, db_path, locales, clock=clock, **limits)
    t = AsSeen(ZH, locales)
    hammer = browser(app, HOSPITAL_WIFI, 1, language="zh-CN")
    neighbour = browser(app, HOSPITAL_WIFI, 2)
    hammer.press(t(dialog.consent.agree))
    help_label = t(_("Help"))
    for _n in range(59):  # a whole minute's posts in one second
        assert hammer.press(help_label).status == 200
    page = hammer.press(help_label)
    assert page.status == 429 and page.headers["retry-after"] == "5"
    # in the person's language, saying when to try again, with the question still there to tap
    assert t(TOO_FAST, seconds=5) in page.text and page.question == "respondent"
    for _n in range(100):  # refused posts take nothing from the address's share (100 a minute here)
        assert hammer.press(help_label).status == 429
    assert neighbour.press(AsSeen("en", locales)(dialog.consent.agree)).status == 200
    clock.now += 5
    assert hammer.choose("self").status == 200
    with peek(db_path) as conn:  # the refused posts changed nothing
        assert conn.execute("SELECT count(*) FROM answers").fetchone()[0] == 1


def test_a_flood_of_new_sessions_from_one_address_meets_the_ceiling(dialog: Dialog, db_path: Path, locales: Path):
    clock = Clock()
    app, _screener = make_app(dialog, db_path, locales, clock=clock, web_address_rate_limit="3")
    for language in ("en", "zh-CN"):
        for port in range(3):
            assert browser(app, "198.51.100.20", port, language).page.status == 200
        client = TestClient(app, client=("198.51.100.20", 9), headers={"Accept-Language": language})
        refused = client.get("/")
        t = AsSeen(ZH if language == "zh-CN" else "en", locales)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "20"
        assert t(BUSY_NETWORK_FIRST_VISIT, seconds=20) in Page(429, refused.text, refused.headers).text
        assert "set-cookie" not in refused.headers  # no session begun, nothing counted
        clock.now += 60
    with peek(db_path) as conn:
        started = conn.execute("SELECT sum(count) FROM counters WHERE name = 'started'").fetchone()
    assert started[0] == 6


def test_posts_from_many_sessions_on_one_address_meet_the_ceiling_kindly(dialog, db_path, locales):
    clock = Clock()
    app, _screener = make_app(dialog, db_path, locales, clock=clock, web_address_rate_limit="4")
    t = AsSeen("en", locales)
    people = [browser(app, "198.51.100.30", port) for port in range(4)]  # the 4 first visits
    clock.now += 60
    for person in people:
        assert person.press(t(dialog.consent.agree)).status == 200
    page = people[0].choose("self")
    assert page.status == 429 and t(BUSY_NETWORK, seconds=15) in page.text


# ---------------------------------------------------------------- which address: trusted proxies only


def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(dialog, db_path, locales):
    """By default no proxy is trusted, not even 127.0.0.1: a client cannot pick its own address."""
    clock = Clock()
    app, _screener = make_app(dialog, db_path, locales, clock=clock, web_address_rate_limit="3")
    for peer in ("127.0.0.1", "192.0.2.50"):
        statuses = [
            TestClient(app, client=(peer, 1000 + i), headers={"X-Forwarded-For": f"198.51.100.{i}"}).get("/")
            for i in range(5)
        ]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]


def test_a_trusted_proxy_is_honoured_and_its_right_most_untrusted_hop_counts(dialog, db_path, locales):
    clock = Clock()
    app, _screener = make_app(
        dialog, db_path, locales, clock=clock, web_address_rate_limit="3", web_forwarded_allow_ips="127.0.0.1"
    )

    def visit(forwarded: str, peer: str = "127.0.0.1") -> int:
        return TestClient(app, client=(peer, 5000), headers={"X-Forwarded-For": forwarded}).get("/").status_code

    assert [visit(f"198.51.100.{i}") for i in range(10)] == [200] * 10  # ten people behind the proxy
    # what a client writes to the left of the proxy's own entry is ignored
    assert [visit(f"10.9.9.{i}, 198.51.100.99") for i in range(5)] == [200, 200, 200, 429, 429]
    # a peer that is not the proxy cannot use the header at all
    assert [visit(f"198.51.100.{50 + i}", peer="192.0.2.60") for i in range(4)] == [200, 200, 200, 429]


def test_client_address_reads_only_what_trusted_proxies_wrote():
    proxies = trusted_networks("127.0.0.1, 10.0.0.0/8")
    assert client_address("127.0.0.1", ["1.2.3.4, 198.51.100.1"], proxies) == "198.51.100.1"
    assert client_address("127.0.0.1", ["198.51.100.1, 10.0.0.2"], proxies) == "198.51.100.1"  # two proxies
    assert client_address("127.0.0.1", ["1.2.3.4", "198.51.100.1"], proxies) == "198.51.100.1"  # two headers
    assert client_address("192.0.2.1", ["198.51.100.1"], proxies) == "192.0.2.1"
    assert client_address("127.0.0.1", [], proxies) == "127.0.0.1"
    assert client_address("127.0.0.1", ["1.2.3.4"], ()) == "127.0.0.1"
    with pytest.raises(ValueError, match="nginx"):
        trusted_networks("127.0.0.1 nginx")
    # one household's IPv6 addresses share a bucket, as one IPv4 address behind NAT does
    assert address_bucket("2001:db8:1:2::5") == address_bucket("2001:db8:1:2:aaaa::9") == "2001:db8:1:2::/64"
    assert address_bucket("::ffff:198.51.100.1") == "198.51.100.1"


# ---------------------------------------------------------------- two worker processes, one database


class TwoWorkers:
    """One browser whose every request may reach either of two app instances (no sticky sessions),
    like uvicorn's workers sharing one socket; redirects are followed by whichever comes next."""

    def __init__(self, *apps: Any) -> None:
        self.clients = [TestClient(app, follow_redirects=False, headers={"Accept-Language": "en"}) for app in apps]
        self.served_by: list[int] = []

    @property
    def cookies(self) -> Any:
        return self.clients[0].cookies

    def _send(self, method: str, url: str, **kwargs: Any) -> Any:
        number = len(self.served_by) % len(self.clients)
        self.served_by.append(number)
        response = self.clients[number].request(method, url, **kwargs)
        for other in self.clients:  # one cookie jar, as in a browser
            other.cookies.update(self.clients[number].cookies)
        if response.status_code in (302, 303):
            return self._send("GET", response.headers["location"])
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        return self._send("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self._send("POST", url, **kwargs)


def test_two_app_instances_on_one_database_serve_one_person(dialog: Dialog, db_path: Path, locales: Path):
    clock = Clock()
    first, _first = make_app(dialog, db_path, locales, clock=clock)
    second, _screener = make_app(dialog, db_path, locales, clock=clock)
    t = AsSeen("en", locales)
    workers = TwoWorkers(first, second)
    user = WebUser(first, client=workers)  # type: ignore[arg-type]
    user.press(t(dialog.consent.agree))
    assert t(_("Thank you. Let's begin.")) in user.page.text  # said by one instance, drawn by the other
    user.choose("self")
    page = user.type("40")
    assert any("me" in cls.split() and "40" in text for cls, text in page.bubbles)
    while tap(user, dialog, t):
        assert user.page.status == 200
    assert t(dialog.outcomes["likely_candidate"].title) in user.page.text
    assert set(workers.served_by) == {0, 1}
    # POST on one, the page after it on the other: every redirect crossed over
    assert all(a != b for a, b in zip(workers.served_by, workers.served_by[1:], strict=False))


def test_a_limit_holds_across_app_instances(dialog: Dialog, db_path: Path, locales: Path):
    clock = Clock()
    apps = [make_app(dialog, db_path, locales, clock=clock, web_rate_limit="10")[0] for _ in range(2)]
    t = AsSeen("en", locales)
    user = WebUser(apps[0], client=TwoWorkers(*apps))  # type: ignore[arg-type]
    user.press(t(dialog.consent.agree))
    statuses = [user.press(t(_("Help"))).status for _n in range(10)]
    assert statuses == [200] * 9 + [429]


def test_a_kept_reply_goes_with_its_conversation(dialog: Dialog, db_path: Path, locales: Path):
    """The last reply can repeat the person's answers (the summary): it is erased with them, however."""
    app, screener = make_app(dialog, db_path, locales)
    t = AsSeen("en", locales)
    for erase in ("by the person", "by the staff"):
        user = WebUser(app)
        while tap(user, dialog, t) and t(_("Please check your answers:")) not in user.page.asked:
            pass
        with peek(db_path) as conn:
            kept = [row[0] for row in conn.execute("SELECT turn FROM web_turns")]
        assert any("Please check your answers:" in turn for turn in kept)
        if erase == "by the person":
            user.press(t(_("Delete my answers")))
            user.press(t(_("Yes")))
        else:
            conversation_id = screener.store.db.execute("SELECT id FROM conversations").fetchone()[0]
            erase_conversation(screener.store.db, conversation_id, "staff")
        with peek(db_path) as conn:
            kept = [row[0] for row in conn.execute("SELECT turn FROM web_turns")]
        assert not any("Please check your answers:" in turn for turn in kept), erase


def test_a_kept_reply_that_cannot_be_read_shows_the_current_step(dialog, db_path, locales, caplog):
    """A reply kept by another version of the app (or damaged): the page shows the question afresh."""
    app, _screener = make_app(dialog, db_path, locales)
    t = AsSeen("en", locales)
    user = WebUser(app)
    user.press(t(dialog.consent.agree))
    with peek(db_path) as conn:
        conn.execute("UPDATE web_turns SET turn = ?", ['{"step": 1}'])
    page = user.get()
    assert page.status == 200 and page.question == "respondent"
    assert t(_("Welcome back. Let's continue where you left off.")) in page.text
    assert "a stored web turn could not be read" in caplog.text


def test_a_reply_that_cannot_be_kept_is_shown_at_once_and_the_stored_answer_is_not_called_lost(
    dialog, db_path, locales, caplog
):
    """The answer is stored, then keeping the reply for the next page fails (a full disk, here a trigger
    that refuses it): the post shows the reply itself instead of a redirect, and says nothing was lost."""
    app, _screener = make_app(dialog, db_path, locales)
    t = AsSeen("en", locales)
    user = WebUser(app)
    user.press(t(dialog.consent.agree))
    with peek(db_path) as conn:
        for event in ("INSERT", "UPDATE"):
            conn.execute(
                f"CREATE TRIGGER no_room_{event.lower()} BEFORE {event} ON web_turns "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
    page = user.choose("self")
    assert page.status == 200 and page.question == "age"
    assert any("me" in cls.split() and t(_("I am the patient")) in text for cls, text in page.bubbles)
    assert t(NOT_SAVED) not in page.text
    with peek(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM answers").fetchone()[0] == 1
    assert "event=turn_not_kept" in caplog.text
