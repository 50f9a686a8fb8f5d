"""A group robot's webhook on 127.0.0.1: keeps every message posted to it, and can refuse the first few.

apprise's `json://` target posts {"title", "message", ...} here exactly as it posts to a real
robot's address; WeCom, DingTalk and Feishu have fixed addresses on the internet, which
no test may reach, so their plugins are checked by parsing their URLs instead.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeWebhook:
    def __init__(self, refuse_first: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self.refuse_first = refuse_first
        self.arrived = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0") or 0))
                with hook.arrived:
                    if hook.refused < hook.refuse_first:
                        hook.refused += 1
                        self.send_response(502)
                        self.end_headers()
                        return
                    hook.received.append(json.loads(body or b"{}"))
                    hook.arrived.notify_all()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> FakeWebhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Block until `count` messages have arrived (or the timeout: then the test's assert says so)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)
