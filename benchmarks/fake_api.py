"""The Bot API as ptb's request layer sees it, answered in-process: the only part of the bot replaced.

`FakeBotApi` is a `telegram.request.BaseRequest`, so every call goes through ptb's whole
client path (parameters, JSON, the rate limiter, parsing the answer into objects) and
stops only where the HTTP request would leave the machine. It answers at once, or after
`latency` seconds (an `asyncio.sleep`, as a far-away API would), and counts what it was
asked; it keeps no messages, so it adds nothing to the memory being measured.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 999000111, "is_bot": True, "first_name": "Screening", "username": "screening_bench_bot"}
TOKEN = "123456:BENCH-token-for-the-fake-bot-api-0000"


class FakeBotApi(BaseRequest):
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.calls: Counter[str] = Counter()
        self._message_ids = itertools.count(1)

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
        name = url.rsplit("/", 1)[-1]
        self.calls[name] += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        params = request_data.parameters if request_data is not None else {}
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    def _result(self, name: str, p: dict[str, Any]) -> Any:
        if name == "getMe":
            return BOT_USER
        if name == "getUpdates":
            return []
        if name in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            message_id = next(self._message_ids) if name == "sendMessage" else int(p["message_id"])
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": 1_790_000_000,
                "chat": {"id": int(p["chat_id"]), "type": "private"},
                "from": BOT_USER,
                "text": p.get("text", ""),
            }
            markup = p.get("reply_markup")
            markup = json.loads(markup) if isinstance(markup, str) else markup
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                message["reply_markup"] = markup  # Telegram echoes inline keyboards (not reply keyboards)
            return message
        return True
