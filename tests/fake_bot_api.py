"""A fake Telegram Bot API on 127.0.0.1 for end-to-end tests, plus a person who talks to it.

It implements the methods the bot uses, serves queued updates to getUpdates (long
polling), keeps each chat as the person would see it (messages, edits, buttons),
records every call, and can be told to fail a method: 429 with retry_after, an
error status, 403 (blocked), or no answer at all ("hang": the message *is*
delivered, the bot just never hears back).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web
from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 999000111, "is_bot": True, "first_name": "Screening", "username": "screening_test_bot"}
#: Parameters that arrive as plain strings (the rest are JSON-encoded by ptb).
_STRINGS = {"text", "callback_query_id", "secret_token", "url", "language_code", "description", "caption"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    outcome: str = "ok"


@dataclass
class ChatMessage:
    message_id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    from_bot: bool = True
    #: (file name, bytes) of a sendDocument
    document: tuple[str, bytes] | None = None
    #: deleted with deleteMessage (kept here so a test can see it happened)
    deleted: bool = False

    @property
    def buttons(self) -> list[dict[str, str]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [b for row in rows for b in row]


@dataclass
class FakeBotApi:
    #: Shaped like a real token (digits, a colon, 30+ characters): the bot refuses any other shape.
    token: str = "123456:TEST-token-for-the-fake-bot-api-0000"
    #: The status for a call with another token: 401, or 404 as Telegram answers a malformed one.
    refuse_with: int = 401
    calls: list[Call] = field(default_factory=list)
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    failures: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    blocked: set[int] = field(default_factory=set)
    #: callback query ids the bot called answerCallbackQuery for (successfully or not)
    queries_answered: set[str] = field(default_factory=set)
    #: message ids deleteMessage refuses, as Telegram does for messages older than 48 hours
    undeletable: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1000)
        self._queue: list[dict[str, Any]] = []
        #: chat id -> its messages, oldest first (tests with hundreds of chats look a chat up very often)
        self._chats: dict[int, list[ChatMessage]] = defaultdict(list)
        self._replays: list[dict[str, Any]] = []
        #: Set (and replaced) on every change. No lock: a lock's waiters can be lost when tasks waiting
        #: on it are cancelled, as the fault tests do by the hundred.
        self._changed = asyncio.Event()
        self._release = asyncio.Event()
        self._server: tornado.httpserver.HTTPServer | None = None
        self._revoked = False
        self.port = 0

    # ------------------------------------------------------------------ server

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        """Listen on a free port, or on `port` again after `stop()` (Telegram back after an outage)."""
        app = tornado.web.Application([(r"/bot([^/]+)/(\w+)", _Method, {"api": self})])
        sockets = tornado.netutil.bind_sockets(port, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)

    async def revoke_token(self) -> None:
        """As when the owner revokes the token in @BotFather: every call from now on is refused
        (a long poll under way ends at once, and the next one is refused)."""
        self.token = "0:revoked-" + "x" * 30
        self._revoked = True
        await self._notify()

    async def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    async def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _until(self, predicate: Any) -> Any:
        while not (result := predicate()):
            await self._changed.wait()
        return result

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:
        """Wait until predicate() is truthy (checked after every call the bot makes)."""

        return await asyncio.wait_for(self._until(predicate), timeout)

    # ------------------------------------------------------------------ what the bot called

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def chat(self, chat_id: int) -> list[ChatMessage]:
        return list(self._chats[chat_id])

    def bot_texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.chat(chat_id) if m.from_bot]

    # ------------------------------------------------------------------ updates

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def queue(self, update: dict[str, Any]) -> None:
        self._queue.append(update)
        await self._notify()

    async def replay(self, update: dict[str, Any]) -> None:
        """Deliver an update again, as Telegram does when the bot did not confirm it."""
        self._replays.append(update)
        await self._notify()

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        self._queue = [u for u in self._queue if u["update_id"] >= offset]

        def ready() -> bool:
            return bool(self._queue or self._replays or self._revoked)

        if not ready() and timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._until(ready), timeout)
        served = self._replays + self._queue[: int(params.get("limit") or 100)]
        self._replays = []
        return served

    # ------------------------------------------------------------------ methods

    def _message(self, chat_id: int, text: str, markup: Any) -> ChatMessage:
        message = ChatMessage(next(self._ids), chat_id, text, markup)
        self.messages[message.message_id] = message
        self._chats[chat_id].append(message)
        return message

    def message_json(self, m: ChatMessage) -> dict[str, Any]:
        sender = BOT_USER if m.from_bot else {"id": m.chat_id, "is_bot": False, "first_name": "Test"}
        data: dict[str, Any] = {
            "message_id": m.message_id,
            "date": int(time.time()),
            "chat": {"id": m.chat_id, "type": "private", "first_name": "Test"}
            if m.chat_id > 0
            else {"id": m.chat_id, "type": "group", "title": "Study team"},
            "from": sender,
            "text": m.text,
        }
        if m.reply_markup and "inline_keyboard" in m.reply_markup:  # as Telegram: reply keyboards are not echoed
            data["reply_markup"] = m.reply_markup
        return data

    def answer(self, method: str, p: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("deleteWebhook", "setWebhook", "setMyCommands", "answerCallbackQuery"):
            return True
        if method == "sendMessage":
            return self.message_json(self._message(int(p["chat_id"]), p["text"], p.get("reply_markup")))
        if method == "sendDocument":
            message = self._message(int(p["chat_id"]), p.get("caption", ""), None)
            message.document = p["document"]
            return {**self.message_json(message), "document": {"file_id": "f", "file_unique_id": "f"}}
        if method == "deleteMessage":
            m = self.messages.get(int(p["message_id"]))
            if m is None or m.chat_id != int(p["chat_id"]) or m.deleted:
                raise _Error(400, "Bad Request: message to delete not found")
            if m.message_id in self.undeletable:
                raise _Error(400, "Bad Request: message can't be deleted for everyone")
            m.deleted = True
            return True
        if method == "editMessageCaption":
            m = self.messages.get(int(p["message_id"]))
            if m is None or m.chat_id != int(p["chat_id"]) or m.document is None:
                raise _Error(400, "Bad Request: message to edit not found")
            m.text = p.get("caption", "")
            return self.message_json(m)
        if method in ("editMessageText", "editMessageReplyMarkup"):
            m = self.messages.get(int(p["message_id"]))
            if m is None or m.chat_id != int(p["chat_id"]):
                raise _Error(400, "Bad Request: message to edit not found")
            text = p.get("text", m.text)
            markup = p.get("reply_markup")
            if text == m.text and markup == m.reply_markup:
                raise _Error(400, "Bad Request: message is not modified")
            m.text, m.reply_markup = text, markup
            return self.message_json(m)
        raise _Error(404, "Not Found: method not found")

    async def call(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """One Bot API call, whichever way it arrived (HTTP on loopback, or ptb's request layer)."""
        api = self
        call = Call(method, params, time.monotonic())
        api.calls.append(call)
        if method == "answerCallbackQuery":
            api.queries_answered.add(str(params.get("callback_query_id")))
        await api._notify()  # a waiting test sees the call as it arrives (a long poll ends much later)
        try:
            if token != api.token:
                raise _Error(api.refuse_with, "Unauthorized" if api.refuse_with == 401 else "Not Found")
            failure = api.failures[method].popleft() if api.failures[method] else ""
            if method == "sendMessage" and int(params.get("chat_id", 0)) in api.blocked:
                failure = "403"
            call.outcome = failure or "ok"
            if failure.startswith("429"):
                raise _Error(429, "Too Many Requests: retry later", {"retry_after": int(failure.split(":")[1])})
            if failure == "403":
                raise _Error(403, "Forbidden: bot was blocked by the user")
            if failure.isdigit():
                raise _Error(int(failure), "Bad Gateway" if failure == "502" else "Internal Server Error")
            if failure == "hang":
                api.answer(method, params)  # delivered, but the answer never comes
                await api._notify()
                await api._release.wait()
                return 504, {"ok": False, "error_code": 504, "description": "the fake API was stopped"}
            result = await api._get_updates(params) if method == "getUpdates" else api.answer(method, params)
            return 200, {"ok": True, "result": result}
        except _Error as exc:
            call.outcome = str(exc.code)
            body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
            return exc.code, body
        finally:
            await api._notify()


class _Error(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        self.code, self.description, self.parameters = code, description, parameters


class _Method(tornado.web.RequestHandler):
    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    async def post(self, token: str, method: str) -> None:
        api = self.api
        params: dict[str, Any] = {}
        fields: list[tuple[str, str]] = []
        if self.request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            arguments: dict[str, list[bytes]] = {}
            files: dict[str, list[tornado.httputil.HTTPFile]] = {}
            tornado.httputil.parse_body_arguments(
                self.request.headers["Content-Type"], self.request.body, arguments, files
            )
            fields = [(k, v[0].decode()) for k, v in arguments.items()]
            params.update({k: (v[0].filename, v[0].body) for k, v in files.items()})
        else:
            fields = parse_qsl(self.request.body.decode(), keep_blank_values=True)
        params.update(_decoded(fields))
        status, body = await api.call(token, method, params)
        self.set_status(status)
        self.write(body)


def _decoded(fields: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Parameters as the Bot API reads them: JSON-encoded values decoded, plain strings kept."""
    params: dict[str, Any] = {}
    for key, value in fields:
        if key in _STRINGS:
            params[key] = value
        else:
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
    return params


class InProcessRequest(BaseRequest):
    """ptb's request layer answered by the fake API in-process: the same calls, no sockets.

    For tests with hundreds of chats at once: there, httpx's connection pool (which scans
    every connection for every request) would take most of the time."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return 10.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        token, name = url.rsplit("/", 2)[-2:]
        params = _decoded(request_data.json_parameters.items()) if request_data else {}
        status, body = await self.api.call(token.removeprefix("bot"), name, params)
        return status, json.dumps(body).encode()
