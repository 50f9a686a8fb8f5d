"""The web chat as a Starlette app: a page that shows the current step, and one form post per tap.

Each trial of the deployment has its own address, `/t/<dialog id>`; with one trial it is
also `/` (today's address, which `/t/<dialog id>` redirects to), with several `/` lists them.
Every step is a plain HTML form posted to the trial's address and answered with a redirect
back to it (POST-redirect-GET), so reloading never re-sends an answer and the page
works with JavaScript off. Nothing a request needs is kept in the process: answers
live in SQLite behind each trial's screening service, and the last reply (`Turn`, to draw
after the redirect, one per session and trial) and the rate limits in SQLite too (the
WebSessions of the trials' one database, bot/store/web_state.py), so several worker
processes serve one deployment and any of them can draw any page.

Each form carries a step token, a hash of where the conversation stands. A form
from an older page (a double tap, a second tab, the browser's back button) no
longer matches and is answered with the current page instead of being applied.
Handlers run on the event loop thread on purpose: the service and its SQLite
connection are used by one request at a time, so that check cannot race. The one
slow thing an answer can cause, emptying the write-ahead log after a /delete or a
"no" to contact (bot/store/wipe.py), runs after the response, in a worker thread,
and is retried every minute while the server runs until it is done.

Long on purpose: the web chat's routes, sessions, turns and error pages share one
request cycle; templates and security are apart already.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jinja2
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ...config import Settings
from ...dialog.engine import Conversation
from ...dialog.model import CONSENT
from ...errors import STORAGE_ERRORS
from ...i18n import SOURCE_LANGUAGE, Translator, _, language_name, match_language, negotiate
from ...logs import exception_summary
from ...replies import (
    NOT_SAVED,
    SOMETHING_WENT_WRONG,
    UNAVAILABLE,
    Action,
    Button,
    Choose,
    ChooseMany,
    Command,
    Prompt,
    Reply,
    Text,
)
from ...retention import Retention
from ...screening import DailyPurge, Key, ScreeningService, Trials, Upkeep
from . import view
from .assets import Assets
from .branding import BEIAN_URL, Branding
from .forms import action_from, fields, first, parse_form
from .limits import Limits, Refusal, TrustedProxies, trusted_networks
from .security import SecurityHeaders, Sessions, load_secret
from .turns import Turn, dump, load

log = logging.getLogger("bot.web")
HERE = Path(__file__).resolve().parent
CHANNEL = "web"
SESSION_COOKIE = "screening_session"
SOURCE_COOKIE = "screening_source"
#: The trials this browser has opened (dialog ids), so each trial's funnel counts a browser once.
STARTED_COOKIE = "screening_started"
COOKIE_MAX_AGE = 30 * 24 * 3600
MAX_BODY = 64 * 1024
#: Seconds between retries of a write-ahead-log wipe that a reader held up (bot/store/wipe.py).
WIPE_RETRY_SECONDS = 60.0
#: Seconds between removals of old turns and idle rate-limit buckets (bot/store/web_state.py).
FORGET_SECONDS = 300.0
SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: How a typed answer is asked for, by prompt kind: (input type, inputmode, autocomplete).
TYPED_INPUTS = {
    "number": ("text", "numeric", "off"),
    "year": ("text", "numeric", "off"),
    "phone": ("tel", "tel", "tel"),
    "email": ("email", "email", "email"),
}
#: Prompt kinds that take no typed answer even though they have no option buttons.
NO_TYPING = {"ended"}
#: Commands that change no answer: a form from an older page may still do them.
HARMLESS_AGAIN = {"language", "help", "privacy"}


@dataclass(frozen=True)
class WebOptions:
    """The web settings, parsed and checked once at start-up."""

    secret: bytes
    secure_cookies: bool
    rate_limit: int
    public_url: str
    address_rate_limit: int = 0
    trusted_proxies: str = ""
    branding: Branding = dataclasses.field(default_factory=Branding)

    @classmethod
    def from_settings(cls, settings: Settings) -> WebOptions:
        secure_cookies = settings.web_secure_cookies
        if secure_cookies is None:  # auto
            secure_cookies = settings.public_url.startswith("https://")
        return cls(
            secret=load_secret(settings.web_secret, settings.db_path.parent),
            secure_cookies=secure_cookies,
            rate_limit=settings.web_rate_limit,
            public_url=settings.public_url,
            address_rate_limit=settings.web_address_rate_limit,
            trusted_proxies=settings.web_forwarded_allow_ips,
            branding=Branding.from_settings(settings),
        )


@dataclass(frozen=True)
class Site:
    """One trial's pages: its screening service and its address (`/`, or `/t/<dialog id>`)."""

    service: ScreeningService
    base: str

    @property
    def start_over(self) -> str:
        return self.base.rstrip("/") + "/start-over"

    @property
    def id(self) -> str:
        return self.service.dialog.id


def step_token(conv: Conversation) -> str:
    """Where a conversation stands, as a short hash: it changes with every accepted input.

    Every stored field counts (state, answers, language, contact step ...), so a step
    that another channel or a later feature adds is covered without a change here.
    """
    where = {name: getattr(conv, name) for name in _STEP_FIELDS}  # read, not copied: asdict's deep copy was slow
    return hashlib.sha256(json.dumps(where, sort_keys=True, default=str).encode()).hexdigest()[:20]


_STEP_FIELDS = tuple(f.name for f in dataclasses.fields(Conversation) if f.name not in ("id", "new_answers"))


@functools.lru_cache(maxsize=256)
def _language_hint(header: str, available: tuple[str, ...]) -> str:
    """`accept_language`, remembered: every request asks, and browsers send a handful of headers."""
    return accept_language(header, list(available))


def accept_language(header: str, available: list[str]) -> str:
    """The best shipped language for an Accept-Language header ('zh-CN,zh;q=0.9,en;q=0.8'), or ''."""
    ranked = []
    for position, part in enumerate(header.split(",")[:20]):
        code, _sep, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        ranked.append((-weight, position, code.strip()))
    for _w, _p, code in sorted(ranked):
        if code and code != "*":
            chosen = negotiate(code, available)
            if chosen != SOURCE_LANGUAGE or code.lower().startswith(SOURCE_LANGUAGE):
                return chosen
    return ""


class WebChat:
    """The routes of the web chat, around each trial's screening service."""

    def __init__(
        self,
        screening: ScreeningService | Trials,
        options: WebOptions,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.trials = Trials.of(screening)
        self.service = self.trials.default
        self.upkeep = Upkeep(self.trials)
        self.options = options
        #: Wall-clock time: the turns and the buckets are shared by processes, which share no other clock.
        self.clock = clock
        self.sessions = Sessions(options.secret)
        self.limits = Limits(options.secret, options.rate_limit, options.address_rate_limit)
        #: The rate-limit buckets and the last replies, shared by every worker (bot/store/web_state.py).
        self.state = self.trials.default.web_sessions()  # one database for all trials
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # the templates ship with the code: no stat() of three files per page
        )
        self.templates.globals.update(fields=fields, button_class=button_class, done_button=done_button)
        # defaults that a page may override: where the focus lands after a tap (view.py), what is announced
        self.templates.globals.update(
            restart=Command("restart"), beian_url=BEIAN_URL, focus="", after_tap=False, announce=[]
        )
        self.assets = Assets()
        for name in ("chat.css", "chat.js"):
            self.assets.add_file(HERE / "static" / name)
        brand = options.branding
        if brand.css():
            self.assets.add("brand.css", brand.css().encode())
        if brand.logo_name:
            self.assets.add(brand.logo_name, brand.logo)
        self.static = self.assets.urls
        #: Set when an answer erased something: the response then empties the log in the background.
        self.wipe_due = False
        self.upkeep.defer_wipes(self.note_wipe)

    def note_wipe(self) -> None:
        self.wipe_due = True

    async def wipe(self) -> None:
        """Empty the write-ahead log after an erasure, off the event loop (a bounded number of tries)."""
        await self.upkeep.wipe_pending()

    async def keep_wiping(self) -> None:
        """While the server runs: at start and every minute, finish a wipe a reader held up."""
        while True:
            await self.wipe()
            await asyncio.sleep(WIPE_RETRY_SECONDS)

    async def keep_forgetting(self) -> None:
        """While the server runs: every few minutes, remove old turns and idle rate-limit buckets."""
        while True:
            await asyncio.sleep(FORGET_SECONDS)
            try:
                self.state.forget(self.clock())
            except STORAGE_ERRORS as exc:  # a locked or full database: the next round tries again
                log.warning("old web turns and rate-limit buckets not removed this time: %s", exception_summary(exc))

    def routes(self) -> list[BaseRoute]:
        """Each trial at /t/<dialog id>; `/` is the only trial, or the list of them."""
        trial_pages = [
            Route("/t/{trial}", self.index, methods=["GET", "POST"]),
            Route("/t/{trial}/start-over", self.start_over, methods=["GET"]),
        ]
        if self.trials.several:
            front = [Route("/", self.trial_list, methods=["GET"])]
        else:
            front = [
                Route("/", self.index, methods=["GET", "POST"]),
                Route("/start-over", self.start_over, methods=["GET"]),
            ]
        return [
            *front,
            *trial_pages,
            Route("/healthz", self.health, methods=["GET"]),
            Route("/static/{name}", self.assets.serve, methods=["GET"]),
        ]

    def _site(self, request: Request) -> Site:
        """The trial a request is for: from its path (/t/<dialog id>), else the only trial. An unknown trial
        is a 404 (the kind page, with the list of trials one step away at /)."""
        wanted = request.path_params.get("trial")
        if wanted is None:
            return Site(self.service, "/")
        service = self.trials.get(wanted)
        if service is None:
            raise HTTPException(404)
        return Site(service, "/" if not self.trials.several else f"/t/{service.dialog.id}")

    def _site_or_default(self, request: Request) -> Site:
        try:
            return self._site(request)
        except HTTPException:
            return Site(self.service, "/")

    # ------------------------------------------------------------------ requests

    async def health(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def index(self, request: Request) -> Response:
        """One route for both methods, so a 405 names both in its Allow header."""
        site = self._site(request)
        if site.base != request.url.path:  # /t/<id> with one trial: today's address, `/`
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(site.base + query, status_code=303 if request.method == "GET" else 307)
        return await (self.post(request, site) if request.method == "POST" else self.page(request, site))

    async def page(self, request: Request, site: Site) -> Response:
        """Show where the person is. `?src=NAME` records the campaign, then redirects to a clean URL."""
        session_id, new = self._session(request)
        if new and request.method == "GET" and (refusal := self._limited(request, session_id, first_visit=True)):
            return self._error_page(request, refusal.message, 429, refusal.headers, seconds=str(refusal.seconds))
        started = self._started(request, session_id, site) if request.method == "GET" else None
        source = request.query_params.get("src", "")
        if source:
            response: Response = RedirectResponse(site.base, status_code=303)
            self._keep_source(response, source)
        else:
            response = self._render(request, site, session_id, new)
        if started is not None:
            response.set_cookie(
                STARTED_COOKIE, started, max_age=COOKIE_MAX_AGE, httponly=True, samesite="lax",
                secure=self.options.secure_cookies,
            )  # fmt: skip
        return self._with_session(response, session_id, new)

    def _keep_source(self, response: Response, source: str) -> None:
        if SOURCE.match(source):
            response.set_cookie(
                SOURCE_COOKIE, source, max_age=COOKIE_MAX_AGE, httponly=True, samesite="lax",
                secure=self.options.secure_cookies,
            )  # fmt: skip

    async def trial_list(self, request: Request) -> Response:
        """`/` with several trials: each one in plain words (its title and what its chat is for), in the
        browser's language or the one chosen here (`?lang=`), with a link to its own address."""
        session_id, new = self._session(request)
        source = request.query_params.get("src", "")
        if source:
            response: Response = RedirectResponse("/", status_code=303)
            self._keep_source(response, source)
            return self._with_session(response, session_id, new)
        language = match_language(request.query_params.get("lang", ""), self.trials.languages) or negotiate(
            self._hint(request), self.trials.languages
        )
        t = self.trials.translator(language)
        trials = []
        for service in self.trials:
            own = service.translator(language)
            trials.append(
                (f"/t/{service.dialog.id}", own.dialog(service.dialog.title), own.dialog(service.dialog.texts.about))
            )
        hospitals = {service.site.hospital for service in self.trials}
        frame = self._frame(language, t, Site(self.service, "/"))
        frame["title"] = t(_("Screening questions for clinical studies"))
        frame["hospital"] = t.dialog(hospitals.pop()) if len(hospitals) == 1 else ""
        html = self.templates.get_template("trials.html").render(
            **frame,
            question=t(_("Which study would you like to answer questions for? Choose one.")),
            trials=trials,
            language=language,
        )
        response = HTMLResponse(html, headers={"Cache-Control": "no-store"})
        return self._with_session(response, session_id, new)

    async def post(self, request: Request, site: Site) -> Response:
        """One tap or one typed answer: check it, hand it to the trial's service, redirect to its page."""
        session_id, new = self._session(request)

        def t(message: str, **values: Any) -> str:  # the person's language, looked up only for a notice
            return self._translator(request, site, session_id, new)(message, **values)

        if refusal := self._limited(request, session_id):
            notice = t(refusal.message, seconds=refusal.seconds)
            return self._render(request, site, session_id, new, 429, [notice], headers=refusal.headers)
        body = await _read_body(request)
        if body is None:
            notice = t(_("That was too long. Please send a shorter answer."))
            return self._render(request, site, session_id, new, 413, [notice])
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        form = parse_form(body) if content_type == "application/x-www-form-urlencoded" else None
        if form is None:
            notice = t(_("Sorry, that did not work. Please use the buttons on this page."))
            status = 400 if content_type == "application/x-www-form-urlencoded" else 415
            return self._render(request, site, session_id, new, status, [notice])
        if new:
            notice = t(
                _("Your session had ended, or cookies are switched off. This chat needs cookies to keep your answers.")
            )
            return self._render(request, site, session_id, new, 403, [notice])
        if not self.sessions.csrf_ok(session_id, first(form, "csrf")):
            notice = t(_("This page was out of date, so nothing was changed. Please try again."))
            return self._render(request, site, session_id, new, 403, [notice])

        user_key = self.sessions.user_key(session_id)
        key = self._key(request, user_key)
        service = site.service
        conv = service.conversation(key)
        shown = self._shown(site, conv, key, session_id)
        action = action_from(form)
        if action is None:
            notice = t(_("Sorry, that did not work. Please try again."))
            unkept = self._remember(request, site, session_id, "", [notice], None)
        elif first(form, "step") != shown.step and not (isinstance(action, Command) and action.name in HARMLESS_AGAIN):
            notice = t(_("That was already sent. Here is where you are now."))
            unkept = self._remember(request, site, session_id, "", [notice], shown.prompt)
        else:
            if isinstance(action, ChooseMany) and not action.options and not conv.draft:
                action = Command("done")  # nothing ticked: the service's kind "choose at least one"
            said = said_text(action, shown.prompt)

            def keep(reply: Reply) -> None:  # in the step's own unit of work: one commit for the answer and its page
                nonlocal unkept
                shown_said = "" if reply.alert else said  # a message that may mean a risk is never echoed back
                unkept = self._remember(request, site, session_id, shown_said, reply.notices, reply.prompt, reply.alert)

            unkept = None
            await service.step(key, action, keep=keep)  # on disk before the page says it was taken
        wipe = BackgroundTask(self.wipe) if self.wipe_due else None
        self.wipe_due = False
        if unkept is not None:  # the reply could not be kept for the page after a redirect: shown now instead
            response = self._render(request, site, session_id, new, shown=unkept)
            response.background = wipe
            return response
        return RedirectResponse(site.base, status_code=303, background=wipe)

    async def start_over(self, request: Request) -> Response:
        """Ask before "Start over" wipes every answer: a page of its own, so it works without JavaScript.

        Its "Yes" posts the restart with the page's step token; "No" is a link back."""
        site = self._site(request)
        if site.start_over != request.url.path:  # /t/<id>/start-over with one trial
            return RedirectResponse(site.start_over, status_code=303)
        session_id, new = self._session(request)
        conv = site.service.conversation(self._key(request, self.sessions.user_key(session_id)))
        if new or conv.state == CONSENT:  # nothing to clear
            return RedirectResponse(site.base, status_code=303)
        t = site.service.translator(conv.language)
        html = self.templates.get_template("confirm.html").render(
            **self._frame(conv.language, t, site),
            csrf=self.sessions.csrf_token(session_id),
            step=step_token(conv),
            language=conv.language,
            can_start_over=False,
            question=t(_("Start again from the first question? All your answers so far will be cleared.")),
        )
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    # ------------------------------------------------------------------ sessions and turns

    def _session(self, request: Request) -> tuple[str, bool]:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        if self.sessions.well_formed(session_id):
            return session_id, False
        return self.sessions.new_id(), True

    def _started(self, request: Request, session_id: str, site: Site) -> str | None:
        """A browser opens a trial's chat for the first time: the web's /start, so that trial's funnel counts
        it as started. Returns the new value of the cookie that lists the trials this browser opened, or
        None when it had opened this one (a reload, a campaign redirect).

        Counted once per browser and trial (a browser that refuses cookies counts at each visit);
        nothing is stored about the person before they agree."""
        opened = request.cookies.get(STARTED_COOKIE, "").split()
        if site.id in opened:
            return None
        site.service.handle(self._key(request, self.sessions.user_key(session_id)), Command("start"))
        known = [dialog_id for dialog_id in opened if dialog_id in self.trials.ids]
        return " ".join([*known, site.id])

    def _with_session(self, response: Response, session_id: str, new: bool) -> Response:
        if new:
            response.set_cookie(
                SESSION_COOKIE, session_id, max_age=COOKIE_MAX_AGE, httponly=True, samesite="lax",
                secure=self.options.secure_cookies,
            )  # fmt: skip
        return response

    def _hint(self, request: Request) -> str:
        return _language_hint(request.headers.get("accept-language", ""), tuple(self.trials.languages))

    def _key(self, request: Request, user_key: str) -> Key:
        source = request.cookies.get(SOURCE_COOKIE, "")
        return Key(CHANNEL, user_key, self._hint(request), source if SOURCE.match(source) else "")

    def _translator(self, request: Request, site: Site, session_id: str, new: bool) -> Translator:
        if new:
            return site.service.translator(negotiate(self._hint(request), self.trials.languages))
        key = self._key(request, self.sessions.user_key(session_id))
        return site.service.translator(site.service.conversation(key).language)

    def _limited(self, request: Request, session_id: str, first_visit: bool = False) -> Refusal | None:
        """Take this post (or first visit) from its rate-limit buckets; what to say when one is empty."""
        address = request.client.host if request.client else "unknown"
        buckets = self.limits.buckets(None if first_visit else session_id, address)
        return self.limits.refusal(self.state.take(buckets, self.clock()), first_visit)

    def _turn_key(self, site: Site, session_id: str) -> str:
        """The session's last reply in one trial: a session has a conversation in each trial it opened."""
        return f"{site.id}/{self.sessions.turn_key(session_id)}"

    def _remember(
        self,
        request: Request,
        site: Site,
        session_id: str,
        said: str,
        notices: list[str],
        prompt: Prompt | None,
        alert: str = "",
    ) -> Turn | None:
        """Keep the reply for the trial's page after the redirect, stamped with where the conversation now stands.

        Kept under a key of its own (not the conversation's user key) with the conversation's id, so it
        goes when that conversation is erased, and the reply to an erasure leaves no trace of the erased.
        After an accepted answer it runs inside the step's unit of work (ScreeningService.handle's
        `keep`, a savepoint): the answer and its page commit once. When it cannot be kept, its
        savepoint alone is undone and the turn is returned, and the post shows it at once: an answer
        that was stored is never reported as lost, and help for a person at risk is never dropped."""
        # a delete or a decline leaves a fresh one
        conv = site.service.conversation(self._key(request, self.sessions.user_key(session_id)))
        turn = Turn(step_token(conv), said, list(notices), prompt, alert, after_tap=True)
        try:
            self.state.save_turn(self._turn_key(site, session_id), conv.id, dump(turn), self.clock())
        except STORAGE_ERRORS as exc:
            log.warning("event=turn_not_kept the reply is shown without a redirect: %s", exception_summary(exc))
            return turn
        return None

    def _shown(self, site: Site, conv: Conversation, key: Key, session_id: str) -> Turn:
        """What the page shows now: the last reply in this trial if nothing has changed since, else the
        current step afresh."""
        step = step_token(conv)
        stored = self.state.turn(self._turn_key(site, session_id), self.clock())
        if stored is not None:
            try:
                turn = load(stored)
            except (ValueError, KeyError, TypeError):  # written by another version: show the step afresh
                log.warning("a stored web turn could not be read; the current step is shown instead")
            else:
                if turn.step == step:
                    return turn
        return Turn(step, "", site.service.welcome(key), site.service.current(key).prompt)

    # ------------------------------------------------------------------ drawing

    def _render(
        self,
        request: Request,
        site: Site,
        session_id: str,
        new: bool,
        status: int = 200,
        extra: Sequence[str] = (),
        headers: dict[str, str] | None = None,
        shown: Turn | None = None,
    ) -> Response:
        """The chat page: `shown`, or the reply kept for this session in this trial, or the current step afresh."""
        service = site.service
        user_key = self.sessions.user_key(session_id)
        key = self._key(request, user_key)
        conv = service.conversation(key)
        shown = shown or self._shown(site, conv, key, session_id)
        t = service.translator(conv.language)
        context = [text for text in service.outcome_texts(key) if text not in shown.notices]
        outcome = t.dialog(service.dialog.outcomes[conv.outcome].title) if conv.outcome else ""
        notices = view.page_notices(shown.notices, context, outcome)
        typed = typed_input(shown.prompt)
        focus = view.focus_target(notices, bool(shown.prompt and shown.prompt.text), typed is not None)
        frame = self._frame(conv.language, t, site)
        if shown.prompt:  # no second "Delete my answers" under a prompt that has one
            offered = {b.action for b in (*shown.prompt.options, *shown.prompt.navigation)}
            frame["footer"] = [b for b in frame["footer"] if b.action not in offered]
        html = self.templates.get_template("chat.html").render(
            **frame,
            csrf=self.sessions.csrf_token(session_id),
            step=shown.step,  # the step token of `conv`, as _shown found it
            language=conv.language,
            said=shown.said,
            notices=notices,
            extra=list(extra),
            prompt=shown.prompt,
            typed=typed,
            message_box=message_box(shown.prompt),
            alert=shown.alert,
            hint=_hint_text(shown.prompt, t),
            can_start_over=conv.state != CONSENT,
            focus=focus,
            announce=view.announced(notices, focus),
            after_tap=bool(extra) or shown.after_tap,
        )
        response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})
        return self._with_session(response, session_id, new)

    def _frame(self, language: str, t: Translator, site: Site) -> dict[str, Any]:
        """What every page has: lang, title, the study's name, the language switch, the fixed buttons, and
        where the trial's forms and links go."""
        return {
            "lang_attr": language.replace("_", "-"),
            "title": t.dialog(site.service.dialog.title),
            "hospital": t.dialog(site.service.site.hospital),
            "brand": self.options.branding,
            "languages": [(code, language_name(code), code.replace("_", "-")) for code in self.trials.languages],
            "static": self.static,
            "chat_url": site.base,
            "start_over_url": site.start_over,
            "start_over": Button(t(_("Start over")), Command("restart")),
            "restart_from_scratch": Button(t(_("Start again")), Command("start")),
            "footer": [
                Button(t(_("Privacy")), Command("privacy")),
                Button(t(_("Help")), Command("help")),
                Button(t(_("Delete my answers")), Command("delete")),
            ],
            "labels": {
                "send": t(_("Send")),
                "you": t(_("You")),
                "language": t(_("Language")),
                "answer": t(_("Your answer")),
                "message": t(_("Or type a message")),
                "back_to_chat": t(_("Go to the screening")),
                "result": t(_("Your result")),
                "yes_start_over": t(_("Yes, start over")),
                "no_keep": t(_("No, keep my answers")),
            },
        }

    async def not_found(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        headers = dict(exc.headers) if isinstance(exc, HTTPException) and exc.headers else None  # a 405's Allow
        return self._error_page(request, _("Sorry, there is no page here."), status, headers=headers)

    async def unavailable(self, request: Request, exc: Exception) -> Response:
        """The database failed (a full disk, a lock held too long): a kind page, 503, and nothing half-stored.

        The step's transaction was rolled back, so the person's earlier answers are as they were
        and sending the answer again once the disk has room simply works."""
        log.error("event=unavailable method=%s path=%s %s", request.method, request.url.path, exception_summary(exc))
        message = NOT_SAVED if request.method == "POST" else UNAVAILABLE
        return self._error_page(request, message, 503, headers={"Retry-After": "60"})

    async def failed(self, request: Request, exc: Exception) -> Response:
        """Anything else (a bug): a kind page with a reference; the log line has the same id."""
        incident = secrets.token_hex(4)
        log.error("incident %s while handling a web request: %s", incident, exception_summary(exc))
        return self._error_page(request, SOMETHING_WENT_WRONG, 500, incident=incident)

    def _error_page(
        self, request: Request, message: str, status: int, headers: dict[str, str] | None = None, **values: str
    ) -> Response:
        """An error page in the browser's language; it needs nothing from the database, which may be what failed."""
        site = self._site_or_default(request)
        language = negotiate(self._hint(request), self.trials.languages)
        t = site.service.translator(language)
        html = self.templates.get_template("error.html").render(
            **self._frame(language, t, site), message=t(message, **values)
        )
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def typed_input(prompt: Prompt | None) -> tuple[str, str, str] | None:
    """How to ask for a typed answer, or None when the prompt is answered with buttons only."""
    if prompt is None or prompt.kind in NO_TYPING:
        return None
    if prompt.kind in TYPED_INPUTS:
        return TYPED_INPUTS[prompt.kind]
    if not prompt.options:
        return ("text", "text", "off")
    return None


def message_box(prompt: Prompt | None) -> bool:
    """A question answered with buttons also takes a typed message, as in Telegram and the terminal:
    the words of an answer, or anything else a person needs to say (a sign of risk is seen at once)."""
    return prompt is not None and prompt.kind in ("choice", "multi", "consent") and typed_input(prompt) is None


def done_button(prompt: Prompt) -> Button | None:
    """The navigation button that finishes a multiple choice: on the web it submits the ticked boxes."""
    return next((b for b in prompt.navigation if b.action == Command("done")), None)


def button_class(button: Button, index: int, prompt: Prompt) -> str:
    """Style only: the first button of a summary or an outcome stands out; "Change" buttons are small."""
    if isinstance(button.action, Command) and button.action.name == "edit":
        return "option edit"
    if index == 0 and prompt.kind in ("summary", "consent"):
        return "option primary"
    return "option"


def said_text(action: Action, prompt: Prompt | None) -> str:
    """What the person did, as they would say it, for their own speech bubble.

    Typed text is echoed only for numbers and years: a phone number or a name is
    not kept (even in memory) longer than it takes to hand it to the service.
    """
    if isinstance(action, Text):
        return action.text.strip()[:200] if prompt and prompt.kind in ("number", "year") else ""
    buttons = [*prompt.options, *prompt.navigation] if prompt else []
    if isinstance(action, ChooseMany):
        labels = {b.action.option: b.label for b in buttons if isinstance(b.action, Choose)}
        return ", ".join(labels[o] for o in action.options if o in labels)
    return next((b.label for b in buttons if b.action == action), "")


def _hint_text(prompt: Prompt | None, t: Translator) -> str:
    """The prompt's hint; for a multiple choice the web's own, since it has boxes to tick, not numbers to type."""
    if prompt is None:
        return ""
    if prompt.kind == "multi":
        done = done_button(prompt)
        return t(_("Tick all that apply, then tap {done}."), done=done.label if done else t(_("Send")))
    return prompt.hint


async def _read_body(request: Request) -> bytes | None:
    """The request body, or None when it is over the size limit (refused before reading all of it)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


class Attachment(Protocol):
    """What a part served beside the chat brings (the staff console, bot/console): routes and background work."""

    routes: list[BaseRoute]
    background: list[Callable[[], Awaitable[None]]]


#: Builds an Attachment from the trials, the settings, the chat's secret and whether cookies are Secure.
Attach = Callable[[Trials, Settings, bytes, bool], Attachment]


def create_app(
    screening: ScreeningService | Trials,
    settings: Settings,
    routes: Sequence[BaseRoute] = (),
    attach: Attach | None = None,
    retention: Retention | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The web chat app. `routes` are mounted beside it (e.g. the Telegram webhook) behind the same headers;
    `attach` adds the study team's console at /staff and its notifications (bot/console.attach, given by
    the composition root: this channel does not import the console, which builds on its helpers).

    Each accepted answer is on disk before its page is sent: the service's step waits for the
    group commit when the app shares the bot's database (`screening-bot run --web`). With `retention`
    the app runs the daily purge (bot/screening/daily_purge.py) of every trial's data: the first one
    before it serves a page, then once a day; `screening-bot web` gives it, the web chat inside the bot
    does not (the bot runs the purge)."""
    chat = WebChat(screening, WebOptions.from_settings(settings), clock)
    console = attach(chat.trials, settings, chat.options.secret, chat.options.secure_cookies) if attach else None
    purge = DailyPurge(chat.trials.default, retention) if retention is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(chat.keep_wiping(), name="web-wal-wipes")]
        tasks.append(asyncio.create_task(chat.keep_forgetting(), name="web-state-forget"))
        tasks += (
            [asyncio.create_task(run(), name="console-background") for run in console.background] if console else []
        )
        if purge is not None:
            purge.start()
            if purge.claimed:
                await purge.checked.wait()  # the first purge is done before the first page
        try:
            yield
        finally:
            if purge is not None:
                await purge.stop()
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks)

    app = Starlette(
        routes=[*routes, *(console.routes if console else []), *chat.routes()],
        middleware=[
            Middleware(TrustedProxies, trusted=trusted_networks(chat.options.trusted_proxies)),
            Middleware(SecurityHeaders),
        ],
        exception_handlers={
            404: chat.not_found,
            405: chat.not_found,
            **dict.fromkeys(STORAGE_ERRORS, chat.unavailable),
            500: chat.failed,
        },
        lifespan=lifespan,
    )
    app.state.web_chat = chat
    app.state.staff_console = console
    app.state.purge = purge
    return app
