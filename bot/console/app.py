"""The staff console's pages at /staff: sign in, the leads queue, a lead, statistics, exports, accounts.

Server-rendered HTML and plain form posts answered with a redirect, like the patient
chat: it works on a phone's browser with JavaScript off, loads nothing from another
site, and keeps the chat's Content-Security-Policy (no script at all here). Every
page reaches the data through `Desk` (desk.py), which writes the audit log.

Sessions: `staff_session` (HttpOnly, SameSite=Strict, Secure behind https, path
/staff) holds a random token; the database keeps a keyed hash of it. A session
ends on sign-out, after STAFF_IDLE_MINUTES without a request, after 12 hours, and
when the account is disabled or reset. Before sign-in, `staff_login` carries the
token the sign-in form's CSRF field is bound to. Every form has a CSRF field.

Long on purpose: every page of the console (queue, lead, statistics, accounts, sign-in)
shares one session, CSRF and role check; splitting it is follow-up work of issue 19.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import phonenumbers
from babel.dates import format_timedelta
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..channels.web.assets import Assets
from ..channels.web.forms import Form, first, parse_form
from ..channels.web.limits import AddressLimit
from ..dialog.engine import Conversation
from ..dialog.model import OUTCOMES, Dialog
from ..i18n import Translator, language_name, negotiate
from ..logs import exception_summary
from ..screening import ScreeningService, Trials
from ..screening.accounts import ENROL, FULL, ROLES, Account, AccountError
from ..screening.presenter import CALL_TIMES
from ..screening.summary import shown_result
from ..screening.team import CLOSE_REASONS, RESULTS, STATUSES, LeadError
from ..staff.views import urgent_reasons
from . import auth, charts
from .desk import (
    ACCOUNTS,
    AUDIT_LOG,
    CHANGE_LEADS,
    EXPORT,
    NOTIFICATIONS,
    SEE_CONTACT,
    SEE_LEADS,
    STATISTICS,
    Desk,
    Filters,
    LeadPage,
    Refused,
    parse_day,
)
from .words import PAGE, labels, words

log = logging.getLogger("bot.console")
HERE = Path(__file__).resolve().parent
PREFIX = "/staff"
SESSION_COOKIE = "staff_session"
LOGIN_COOKIE = "staff_login"
LANGUAGE_COOKIE = "staff_language"
MAX_BODY = 16 * 1024
#: China has one time zone and no daylight saving: the study team reads every time in it.
CHINA_TIME = timezone(timedelta(hours=8))
#: A chart is an image; its own policy allows only its inline style sheet, never a script.
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
LOGIN_POSTS_PER_MINUTE = 10
PAGE_SIZE = 50


def china_time(stamp: str) -> str:
    """A stored UTC time as the study team reads it: 2026-11-25 18:00."""
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M")


class FlushBeforeAnswer:
    """Every form post's changes are on disk before its answer leaves (see Console.durable)."""

    def __init__(self, app: ASGIApp, durable: Callable[[], Awaitable[None]]) -> None:
        self.app = app
        self.durable = durable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return

        async def send_when_durable(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self.durable()
            await send(message)

        await self.app(scope, receive, send_when_durable)


def shown_phone(e164: str) -> str:
    """+8613912345678 as people read it: +86 139 1234 5678 (the link keeps the plain number)."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


class Console:
    """The routes under /staff, around one Desk."""

    def __init__(
        self,
        screener: ScreeningService | Trials,
        secret: bytes,
        secure_cookies: bool,
        idle_minutes: int = 15,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        notifications_on: bool = False,
        durable: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        #: Inside `run --web` the database group-commits (bot/store/durable.py): a change is flushed to
        #: disk before the page that says "Saved" is sent, as the chat does for an answer.
        self.durable = durable
        self.desk = Desk(screener, clock)
        #: The default trial's service: the code's words (and, for a lead of another trial, that trial's).
        self.screener = self.desk.screener
        self.tokens = auth.Tokens(secret)
        self.secure = secure_cookies
        self.idle_minutes = idle_minutes
        self.notifications_on = notifications_on
        # in the database, so the limit holds whichever worker process a post reaches (bot/store/web_state.py)
        self.limiter = AddressLimit(
            self.screener.web_sessions(), secret, "login", LOGIN_POSTS_PER_MINUTE, lambda: clock().timestamp()
        )
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(china_time=china_time, language_name=language_name, shown_phone=shown_phone)
        self.assets = Assets()
        self.assets.add_file(HERE / "static" / "console.css")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self.home, methods=["GET"]),
                Route("/login", self.login, methods=["GET", "POST"]),
                Route("/logout", self.logout, methods=["POST"]),
                Route("/enrol", self.enrol, methods=["GET", "POST"]),
                Route("/language/{code}", self.language, methods=["GET"]),
                Route("/leads", self.queue, methods=["GET"]),
                Route("/leads/{id}", self.lead, methods=["GET"]),
                Route("/leads/{id}/contact", self.lead_contact, methods=["GET"]),
                Route("/leads/{id}/status", self.set_status, methods=["POST"]),
                Route("/leads/{id}/attempt", self.attempt, methods=["POST"]),
                Route("/leads/{id}/duplicate", self.duplicate, methods=["POST"]),
                Route("/leads/{id}/erase", self.erase, methods=["GET", "POST"]),
                Route("/export", self.export, methods=["POST"]),
                Route("/stats", self.stats, methods=["GET"]),
                Route("/charts/{name}.svg", self.chart, methods=["GET"]),
                Route("/notifications", self.notifications, methods=["GET"]),
                Route("/audit", self.audit, methods=["GET"]),
                Route("/accounts", self.accounts, methods=["GET", "POST"]),
                Route("/static/{name}", self.assets.serve, methods=["GET"]),
            ],
            exception_handlers={404: self.not_found, 405: self.not_found, 500: self.failed},
            middleware=[Middleware(FlushBeforeAnswer, durable=self.durable)] if self.durable else [],
        )

    # ------------------------------------------------------------------ language, sessions

    def _language(self, request: Request) -> str:
        chosen = request.cookies.get(LANGUAGE_COOKIE, "")
        if chosen in self.screener.languages:
            return chosen
        from ..channels.web.app import accept_language

        return negotiate(
            accept_language(request.headers.get("accept-language", ""), self.screener.languages) or "",
            self.screener.languages,
        )

    def _t(self, request: Request) -> Translator:
        return self.screener.translator(self._language(request))

    def _account(self, request: Request, kinds: tuple[str, ...] = (FULL,)) -> tuple[Account | None, str]:
        """(the signed-in account, its session token), or (None, why: "" never signed in / "expired")."""
        token = request.cookies.get(SESSION_COOKIE, "")
        if not token:
            return None, ""
        stored = self.tokens.stored(token)
        session = self.desk.accounts.session(stored)
        if session is None:
            return None, "expired"
        now = self.desk.now()
        if session.account.disabled or auth.session_expired(
            session.created_at, session.seen_at, now, self.idle_minutes
        ):
            self.desk.accounts.end_session(stored)
            self.desk.record(session.account, "logout", "console session ended (idle or expired)")
            return None, "expired"
        if session.kind not in kinds:
            return None, ""
        self.desk.accounts.touch_session(stored, self.desk.stamp())
        return session.account, token

    def _signed_in(self, request: Request) -> tuple[Account, str] | Response:
        account, token = self._account(request)
        if account is None:
            query = {"done": "expired"} if token == "expired" else {}
            if request.method == "GET" and _own_page(request.url.path):
                query["next"] = request.url.path  # a notification's link opens the lead after signing in
            return self._redirect(f"{PREFIX}/login" + (f"?{urlencode(query)}" if query else ""), bool(token))
        return account, token

    def _redirect(self, to: str, clear_session: bool = False) -> Response:
        response = RedirectResponse(to, status_code=303)
        if clear_session:
            response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    def _set_cookie(self, response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="strict", secure=self.secure
        )

    async def _form(self, request: Request) -> Form | None:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return None
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return None
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            return None
        return parse_form(body)

    async def _checked_form(self, request: Request, token: str) -> Form | Response:
        """The posted form when its CSRF field belongs to this session; else a 403 page, nothing changed."""
        form = await self._form(request)
        if form is None:
            return self._message(request, "bad_form", 400)
        if not self.tokens.csrf_ok(token, first(form, "csrf")):
            return self._message(request, "stale", 403)
        return form

    # ------------------------------------------------------------------ drawing

    def _page(
        self,
        request: Request,
        template: str,
        account: Account | None,
        token: str = "",
        status: int = 200,
        **values: Any,
    ) -> Response:
        """A page in the person's language; `t` in `values` is a lead's own trial's translator (its words)."""
        t = values.pop("t", None) or self._t(request)
        language = t.language
        html = self.templates.get_template(template).render(
            t=t,
            w=words(t),
            labels=labels(t),
            lang_attr=language.replace("_", "-"),
            language=language,
            languages=[(code, language_name(code), code.replace("_", "-")) for code in self.screener.languages],
            account=account,
            csrf=self.tokens.csrf(token) if token else "",
            css=PREFIX + self.assets.url("console.css"),
            here=request.url.path,
            roles={
                "leads": SEE_LEADS,
                "contact": SEE_CONTACT,
                "change": CHANGE_LEADS,
                "export": EXPORT,
                "stats": STATISTICS,
                "notifications": NOTIFICATIONS,
                "audit": AUDIT_LOG,
                "accounts": ACCOUNTS,
            },
            done=labels(t)["done"].get(request.query_params.get("done", ""), ""),
            **values,
        )
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def _message(self, request: Request, key: str, status: int, **params: str) -> Response:
        account, token = self._account(request)
        t = self._t(request)
        return self._page(request, "message.html", account, token, status=status, message=t(PAGE[key], **params))

    async def not_found(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        return self._message(request, "not_found", status)

    async def failed(self, request: Request, exc: Exception) -> Response:
        incident = secrets.token_hex(4)
        log.error("incident %s in the staff console: %s", incident, exception_summary(exc))
        return self._message(request, "failed", 500, incident=incident)

    # ------------------------------------------------------------------ signing in and out

    async def home(self, request: Request) -> Response:
        signed = self._signed_in(request)
        if isinstance(signed, Response):
            return signed
        account, _token = signed
        done = request.query_params.get("done", "")
        where = f"{PREFIX}/accounts" if account.role not in SEE_LEADS else f"{PREFIX}/leads"
        return self._redirect(where + (f"?{urlencode({'done': done})}" if done else ""))

    async def language(self, request: Request) -> Response:
        code = request.path_params["code"]
        back = request.query_params.get("next", "")
        response = self._redirect(back if _own_page(back) else f"{PREFIX}/")
        if code in self.screener.languages:
            self._set_cookie(response, LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600)
        return response

    async def login(self, request: Request) -> Response:
        pre = request.cookies.get(LOGIN_COOKIE, "")
        if request.method == "GET":
            if self._account(request)[0] is not None:
                return self._redirect(f"{PREFIX}/")
            pre = pre if len(pre) == 43 else auth.Tokens.new()
            after = request.query_params.get("next", "")
            response = self._page(request, "login.html", None, pre, problem="", after=after if _own_page(after) else "")
            self._set_cookie(response, LOGIN_COOKIE, pre)
            return response
        address = request.client.host if request.client else "unknown"
        if not self.limiter.allow(address):
            too_fast = words(self._t(request))["too_fast"]
            return self._page(request, "login.html", None, pre, status=429, problem=too_fast, after="")
        form = await self._checked_form(request, pre)
        if isinstance(form, Response):
            return form
        username, password, code = first(form, "username").strip(), first(form, "password"), first(form, "code")
        account = self.desk.accounts.get(username) if username else None
        now = self.desk.now()
        after = first(form, "next") if _own_page(first(form, "next")) else ""
        failed = self._page(
            request, "login.html", None, pre, status=403, problem=words(self._t(request))["login_failed"], after=after
        )
        if account is None:
            auth.waste_a_check(password)
            self.desk.record(None, "login-failed", "console: no such account", name=username)
            return failed
        if account.disabled or auth.locked(account.locked_until, now):
            auth.waste_a_check(password)
            self.desk.record(account, "login-failed", "console: account disabled or locked")
            return failed
        right, rehash = auth.check_password(account.password_hash, password)
        step = auth.totp_step(account.totp_secret, code, now, account.totp_last_step) if right else None
        enrolling = right and account.must_enrol and not code.strip()
        if not right or (step is None and not enrolling):
            failures = account.failed_logins + 1
            minutes = auth.lock_minutes(failures)
            until = (now + timedelta(minutes=minutes)).isoformat(timespec="seconds") if minutes else ""
            self.desk.accounts.login_failed(account.id, until)
            why = "wrong password" if not right else "wrong code"
            self.desk.record(
                account, "login-failed", f"console: {why}" + (f"; locked {minutes} min" if minutes else "")
            )
            return failed
        if rehash:
            self.desk.accounts.update_password_hash(account.id, auth.hash_password(password))
        self.desk.accounts.login_succeeded(account.id, self.desk.stamp(), step)
        token = auth.Tokens.new()
        kind = ENROL if enrolling else FULL
        self.desk.accounts.start_session(self.tokens.stored(token), account.id, kind, self.desk.stamp())
        self.desk.record(account, "login", "console" + (": first sign-in, set-up" if enrolling else ""))
        response = self._redirect(f"{PREFIX}/enrol" if enrolling else after or f"{PREFIX}/")
        self._set_cookie(response, SESSION_COOKIE, token)
        response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
        return response

    async def logout(self, request: Request) -> Response:
        account, token = self._account(request, (FULL, ENROL))
        if account is None:
            return self._redirect(f"{PREFIX}/login", clear_session=True)
        form = await self._checked_form(request, token)
        if isinstance(form, Response):
            return form
        self.desk.accounts.end_session(self.tokens.stored(token))
        self.desk.record(account, "logout", "console")
        return self._redirect(f"{PREFIX}/login?done=logged-out", clear_session=True)

    async def enrol(self, request: Request) -> Response:
        """The first sign-in: choose a password, scan the QR code, type one code to prove it works."""
        account, token = self._account(request, (ENROL,))
        if account is None:
            return self._redirect(f"{PREFIX}/login")
        t = self._t(request)
        secret = request.cookies.get("staff_enrol", "")
        if len(secret) != 32 or not all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in secret):
            secret = auth.new_totp_secret()  # kept for 15 minutes: a reload shows the QR code already scanned
        problem = ""
        if request.method == "POST":
            form = await self._checked_form(request, token)
            if isinstance(form, Response):
                return form
            password, again = first(form, "password"), first(form, "password_again")
            problem = auth.password_problem(password, again, account.username)
            step = auth.totp_step(secret, first(form, "code"), self.desk.now(), 0)
            if not problem and step is None:
                problem = words(t)["code_wrong"]
            if not problem and step is not None:
                self.desk.accounts.enrol(account.id, auth.hash_password(password), secret, step)
                self.desk.accounts.end_session(self.tokens.stored(token))
                new_token = auth.Tokens.new()
                self.desk.accounts.start_session(self.tokens.stored(new_token), account.id, FULL, self.desk.stamp())
                self.desk.record(account, "staff-enrol", "console: own password and second step set up")
                response = self._redirect(f"{PREFIX}/?done=enrolled")
                self._set_cookie(response, SESSION_COOKIE, new_token)
                response.delete_cookie("staff_enrol", path=PREFIX)
                return response
            problem = t(problem)
        qr, _link = auth.enrolment_qr(secret, account.username)
        response = self._page(
            request, "enrol.html", account, token, status=400 if problem else 200,
            qr=qr, secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)), problem=problem,
            rule=t(auth.PASSWORD_RULE),
        )  # fmt: skip
        self._set_cookie(response, "staff_enrol", secret, max_age=900)
        return response

    # ------------------------------------------------------------------ leads

    def _filters(self, params: Any) -> Filters:
        def pick(name: str, allowed: tuple[str, ...] | None = None) -> str:
            value = str(params.get(name, "") or "").strip()[:64]
            return value if allowed is None or value in allowed else ""

        status = str(params.get("status", "open"))
        return Filters(
            status=status if status in (*STATUSES, "open", "all") else "open",
            trial=pick("trial", tuple(self.desk.trials.ids)),
            outcome=pick("outcome", OUTCOMES),
            source=pick("source"),
            channel=pick("channel"),
            since=parse_day(pick("since")),
            until=parse_day(pick("until")),
            search=pick("q"),
        )

    async def queue(self, request: Request) -> Response:
        signed = self._signed_in(request)
        if isinstance(signed, Response):
            return signed
        account, token = signed
        filters = self._filters(request.query_params)
        try:
            rows = self.desk.queue(account, filters)
        except Refused:
            return self._message(request, "refused", 403)
        page = max(
            int(request.query_params.get("page", "1")) if request.query_params.get("page", "1").isdigit() else 1, 1
        )
        shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        t = self._t(request)
        now = self.desk.now()
        return self._page(
            request, "queue.html", account, token,
            rows=shown, total=len(rows), page=page, pages=max((len(rows) + PAGE_SIZE - 1) // PAGE_SIZE, 1),
            filters=filters, choices=self.desk.choices(), statuses=STATUSES, trial_title=self._trial_title(t),
            age=lambda stamp: format_timedelta(
                datetime.fromisoformat(stamp) - now, add_direction=True, locale=t.babel_locale
            ),
            filtered=filters != Filters(),
            query=lambda **more: urlencode({**_filter_query(filters), **more}),
            failing=self.desk.notifications_failing() if account.role in NOTIFICATIONS else 0,
        )  # fmt: skip

    async def lead(self, request: Request) -> Response:
        return await self._lead_page(request, with_contact=False)

    async def lead_contact(self, request: Request) -> Response:
        return await self._lead_page(request, with_contact=True)

    async def _lead_page(self, request: Request, with_contact: bool) -> Response:
        signed = self._signed_in(request)
        if isinstance(signed, Response):
            return signed
        account, token = signed
        try:
            page = self.desk.lead(account, request.path_params["id"], with_contact)
        except Refused:
            return self._message(request, "refused", 403)
        if page is None:
            return self._message(request, "no_lead", 404)
        service = self.desk.service_of(page.lead)  # the lead's own trial: its words, its catalog
        dialog = service.dialog if service else None
        t = (service or self.screener).translator(self._language(request))
        criteria = [
            (
                cid,
                t.dialog(dialog.criteria[cid].label) if dialog and cid in dialog.criteria else "",
                shown_result(r, dialog.criteria.get(cid) if dialog else None),
            )
            for cid, r in page.lead.criteria.items()
        ]
        answer_text = service.texts.answer_text if service else (lambda q, value, conv, t: str(value))
        return self._page(
            request, "lead.html", account, token, page=page, lead=page.lead, criteria=criteria,
            answer_text=lambda q, value: answer_text(q, value, _answers_only(page), t),
            to_check=[self._to_check(item, t, dialog) for item in page.lead.review_answers],
            urgent_reasons=self._urgent(page.lead.urgent, t, dialog), statuses=STATUSES, reasons=CLOSE_REASONS,
            results=RESULTS, call_times=dict(CALL_TIMES),
            call_languages={c.id: c.label for c in dialog.region.call_languages} if dialog else {},
            trial=self._trial_title(t)(page.lead.dialog_id), t=t,
        )  # fmt: skip

    def _trial_title(self, t: Translator) -> Callable[[str], str]:
        """A trial's name for staff, in the page's language: its title, from its own catalog (its id when it
        is no longer run here)."""
        trials = self.desk.trials
        return lambda dialog_id: trials.title(dialog_id, t.language) if trials.get(dialog_id) else dialog_id

    def _to_check(self, item: dict[str, Any], t: Translator, dialog: Dialog | None) -> tuple[str, str]:
        question_id, value = item["question"], item.get("answer")
        if dialog is None or not dialog.has_question(question_id):
            return question_id, str(value)
        question = dialog.question(question_id)
        if value == "not_sure":
            return t.dialog(question.label), t("Not sure")
        picked = value if isinstance(value, list) else [value]
        shown = ", ".join(t.dialog(o.label) if (o := question.option(str(v))) else str(v) for v in picked)
        return t.dialog(question.label), shown

    def _urgent(self, urgent: str, t: Translator, dialog: Dialog | None) -> str:
        return t("; ").join(t.either(r) for r in urgent_reasons(urgent, dialog)) if urgent else ""

    async def _lead_action(
        self, request: Request, done: str, act: Callable[[Account, str, Form], Awaitable[str | None] | str | None]
    ) -> Response:
        signed = self._signed_in(request)
        if isinstance(signed, Response):
            return signed
        account, token = signed
        form = await self._checked_form(request, token)
        if isinstance(form, Response):
            return form
        lead_id = request.path_params["id"]
        try:
            where = act(account, lead_id, form)
        except Refused:
            return self._message(request, "refused", 403)
        except (LeadError, ValueError):
            return self._message(request, "bad_form", 400)
        return self._redirect(f"{where or f'{PREFIX}/leads/{lead_id}'}?done={done}")

    async def set_status(self, request: Request) -> Response:
        def act(account: Account, lead_id: str, form: Form) -> None:
            status = first(form, "status")
            reason = first(form, "reason") if status == "closed" else ""
            self.desk.set_status(account, lead_id, status, reason, first(form, "note"))

        return await self._lead_action(request, "status", act)

    async def attempt(self, request: Request) -> Response:
        def act(account: Account, lead_id: str, form: Form) -> None:
            self.desk.record_attempt(account, lead_id, first(form, "result"), first(form, "note"))

        return await self._lead_action(request, "attempt", act)

    async def duplicate(self, request: Request) -> Response:
        decision = ""

        def act(account: Account, lead_id: str, form: Form) -> None:
            nonlocal decision
            decision, other = first(form, "decision"), first(form, "other")
            if decision == "merge":
                self.desk.merge(account, lead_id, other)
            elif decision == "not-duplicate":
                self.desk.not_duplicate(account, lead_id, other)
            else:
                raise ValueError(decision)

        response = await self._lead_action(request, "merged", act)
        if decision == "not-duplicate" and response.status_code == 303:
            return self._redirect(f"{PREFIX}/leads/{request.path_params['id']}?done=not-duplicate")
        return response

    async def erase(self, request: Request) -> Response:
        if request.method == "GET":
            signed = self._signed_in(request)
            if isinstance(signed, Response):
                return signed
            account, token = signed
            try:
                self.desk.allow(account, CHANGE_LEADS, "erase", request.path_params["id"][:16])
            except Refused:
                return self._message(request, "refused", 403)
            return self._page(request, "erase.html", account, token, lead_id=request.path_params["id"][:16])

        def act(account: Account, lead_id: str, form: Form) -> str:
            if not self.desk.erase(account, lead_id):
                raise LeadError(lead_id)
            return f"{PREFIX}/leads"

        return await self._lead_action(request, "erased", act)

    async def export(self, request: Request) -> Response:
        signed = self._signed_in(request)
        if isinstance(signed, Response):
            return signed
        account, token = signed
        form = await self._checked_form(request, token)
        if isinstance(form, Response):
            return form
        filters = self._filters(
            {k: first(form, k) for k in ("status", "trial", "outcome", "source", "channel", "since", "until", "q")}
        )
        fmt = first(form, "format")
        try:
            data, name, _rows = self.desk.export(account, fmt, filters)
        except Refused:
            return self._message(request, "refused", 403)
        except ValueError:
            return self._message(request, "bad_form", 400)
        media = (
            "text/csv; charset=utf-8"
            if fmt == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        return Response(
            data, media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )  # fmt: skip

    # ------------------------------------------------------------------ statistics

    async def stats(self, request: Request) -> Response:
        signed = self._signed_in(request)
        if isinstance(signed, Response):
            return signed
        account, token = signed
        try:
            stats = self.desk.statistics(account, trial=self._stats_trial(request))
        except Refused:
            return self._message(request, "refused", 403)
        t = self.desk.trials.get(stats.trial).translator(self._language(request))  # type: ignore[union-attr]
        trials = self.desk.trials
        return self._page(
            request, "stats.html", account, token, stats=stats, outcomes=OUTCOMES,
            question_label=lambda label: t.either(label),  # a question's label, or the summary's (the code's)
            trials=[(i, trials.title(i, t.language)) for i in trials.ids] if trials.several else [],
            chart_query=f"?{urlencode({'trial': stats.trial})}" if trials.several else "",
        )  # fmt: skip

    def _stats_trial(self, request: Request) -> str:
        """The trial the statistics are of: `?trial=<dialog id>`, else the default trial."""
        wanted = request.query_params.get("trial", "")
        return wanted if wanted in self.desk.trials.ids else self.desk.trials.default.dialog.id

    async def chart(self, request: Request) -> Response:
        signed = self._signed_in(request)
        if isinstance(signed, Response):
            return Response(status_code=403)
        account, _token = signed
        if account.role not in STATISTICS:
            return Response(status_code=403)
        data = self.desk.statistics(account, record=False, trial=self._stats_trial(request))  # the page was recorded
        t = self.desk.trials.get(data.trial).translator(self._language(request))  # type: ignore[union-attr]
        w, lab = words(t), labels(t)
        name = request.path_params["name"]

        def per_outcome(table: dict[str, dict[str, int]]) -> list[tuple[str, list[int]]]:
            return [(lab["outcome"][o], [table[key].get(o, 0) for key in table]) for o in OUTCOMES]

        if name == "funnel":
            steps = [lab["funnel"].get(key, key) for key, _n in data.funnel]
            svg = charts.bars(w["funnel"], steps, [n for _key, n in data.funnel])
        elif name == "stops":
            questions = [t.either(label) for _qid, label, _live, _gone in data.stops]
            now_and_gone = [
                (w["stops_now"], [r[2] for r in data.stops]),
                (w["stops_removed"], [r[3] for r in data.stops]),
            ]
            svg = charts.stacked(w["stops"], questions, now_and_gone, horizontal=True)
        elif name == "sources":
            sources = [s or w["no_source"] for s in data.by_source]
            svg = charts.stacked(w["by_source"], sources, per_outcome(data.by_source), horizontal=True)
        elif name == "weeks":
            svg = charts.stacked(w["by_week"], [week[5:] for week in data.by_week], per_outcome(data.by_week))
        else:
            return Response(status_code=404)
        return Response(
            svg, media_type="image/svg+xml",
            headers={"Cache-Control": "no-store", "Content-Security-Policy": CHART_POLICY},
        )  # fmt: skip

    # ------------------------------------------------------------------ notifications, audit, accounts

    async def notifications(self, request: Request) -> Response:
        signed = self._signed_in(request)
        if isinstance(signed, Response):
            return signed
        account, token = signed
        try:
            messages = self.desk.notifications(account)
        except Refused:
            return self._message(request, "refused", 403)
        return self._page(request, "notifications.html", account, token, messages=messages, on=self.notifications_on)

    async def audit(self, request: Request) -> Response:
        signed = self._signed_in(request)
        if isinstance(signed, Response):
            return signed
        account, token = signed
        try:
            entries = self.desk.audit_log(account)
        except Refused:
            return self._message(request, "refused", 403)
        return self._page(request, "audit.html", account, token, entries=entries)

    async def accounts(self, request: Request) -> Response:
        signed = self._signed_in(request)
        if isinstance(signed, Response):
            return signed
        account, token = signed
        shown_password: tuple[str, str] | None = None
        problem = ""
        if request.method == "POST":
            form = await self._checked_form(request, token)
            if isinstance(form, Response):
                return form
            action, username = first(form, "action"), first(form, "username").strip()
            try:
                if action == "add":
                    password = auth.new_password()
                    self.desk.add_account(account, username, first(form, "role"), auth.hash_password(password))
                    shown_password = (username, password)
                elif action == "reset":
                    password = auth.new_password()
                    self.desk.reset_account(account, username, auth.hash_password(password))
                    shown_password = (username, password)
                elif action in ("disable", "enable"):
                    self.desk.disable_account(account, username, action == "disable")
                else:
                    return self._message(request, "bad_form", 400)
            except Refused:
                return self._message(request, "refused", 403)
            except AccountError as exc:
                problem = str(exc)
        try:
            everyone = self.desk.all_accounts(account)
        except Refused:
            return self._message(request, "refused", 403)
        now = self.desk.now()
        return self._page(
            request, "accounts.html", account, token, accounts=everyone, roles_list=ROLES,
            shown_password=shown_password, problem=problem, is_locked=lambda a: auth.locked(a.locked_until, now),
        )  # fmt: skip


def _own_page(path: str) -> bool:
    """A page of the console to go back to (never another site: no "//", no scheme)."""
    return path.startswith(PREFIX + "/") and "//" not in path and "\\" not in path and len(path) < 200


def _filter_query(filters: Filters) -> dict[str, str]:
    values = {
        "status": filters.status, "trial": filters.trial, "outcome": filters.outcome, "source": filters.source,
        "channel": filters.channel, "since": filters.since, "until": filters.until, "q": filters.search,
    }  # fmt: skip
    return {k: v for k, v in values.items() if v}


def _answers_only(page: LeadPage) -> Conversation:
    """A conversation holding just the lead's answers: what `Texts.answer_text` needs to word them."""
    return Conversation(answers={q.id: {"value": v} for q, v in page.answers})
