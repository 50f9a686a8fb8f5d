"""The web benchmark's baseline: what a developer would write in an afternoon.

A minimal Starlette app: `GET /` shows a page with one small form (question n + 1 of
the person's session), `POST /` stores the answer with one SQLite insert and answers
with a redirect back to `/` (POST-redirect-GET, as the web chat does). The database is
as durable as ours: write-ahead log, `synchronous=FULL`, one commit per post. It checks
nothing (no CSRF, no step token, no rate limit, no rules) and renders no template: it is
the cheapest honest version of "a form a person answers, stored", so our figures are
read as ratios to it. Served by uvicorn exactly as `screening-bot web` serves ours.

    python benchmarks/web_baseline.py --port 8081 --db /tmp/baseline.db
"""

from __future__ import annotations

import argparse
import secrets
import sqlite3
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Screening</title></head>
<body><main><p>Question {number}</p>
<form method="post" action="/"><input type="hidden" name="question" value="q{number}">
<input name="answer" value=""><button type="submit">Send</button></form></main></body></html>"""


def build_app(path: str) -> Starlette:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS answers (id INTEGER PRIMARY KEY, session TEXT, question TEXT, answer TEXT)")
    db.execute("CREATE INDEX IF NOT EXISTS answers_by_session ON answers(session)")

    async def page(request: Request) -> Response:
        session = request.cookies.get("session", "")
        new = not session
        session = session or secrets.token_urlsafe(16)
        count = db.execute("SELECT count(*) FROM answers WHERE session = ?", [session]).fetchone()[0]
        response = HTMLResponse(PAGE.format(number=count + 1))
        if new:
            response.set_cookie("session", session, httponly=True, samesite="lax")
        return response

    async def post(request: Request) -> Response:
        form = parse_qs((await request.body()).decode())
        session = request.cookies.get("session", "")
        db.execute(
            "INSERT INTO answers (session, question, answer) VALUES (?, ?, ?)",
            [session, form.get("question", [""])[0], form.get("answer", [""])[0]],
        )
        return RedirectResponse("/", status_code=303)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/", page, methods=["GET"]), Route("/", post, methods=["POST"]), Route("/healthz", health)]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    uvicorn.run(
        build_app(args.db), host="127.0.0.1", port=args.port, access_log=False, server_header=False, log_config=None
    )


if __name__ == "__main__":
    main()
