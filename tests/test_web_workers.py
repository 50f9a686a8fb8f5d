"""`screening-bot web` as a site runs it: several worker processes on one database, and a socket without Nagle."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from bot.channels.web.cli import listening_socket

from .cli_support import clean_env
from .conftest import ROOT

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hidden_fields(html: str, option: str) -> dict[str, str]:
    """The hidden fields of the form whose `option` is `option` (the tap of that button)."""
    for form in re.findall(r'<form method="post" action="/"[^>]*>(.*?)</form>', html, re.S):
        values = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', form))
        if values.get("option") == option:
            return values
    raise AssertionError(f"no button for option {option!r}")


def test_two_worker_processes_serve_one_person_on_one_database(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(
        SCREENING_DB=str(tmp_path / "data" / "screening.db"),
        SCREENING_KEY_FILE=str(tmp_path / "keys" / "screening.key"),
        WEB_PORT=str(port),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "web", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=env,
    )
    watchdog = threading.Timer(90, proc.kill)  # only if it never starts: the test then fails below
    watchdog.start()
    said = []
    try:
        for line in proc.stderr:  # type: ignore[union-attr]
            said.append(line)
            if "Web chat on http:" in line:  # the socket is listening: connections queue for the workers
                break
        # a new connection for every request, as several browsers' would be: either worker may take any
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
            page = client.get("/")
            assert page.status_code == 200
            for option in ("agree", "self"):
                answer = client.post("/", data=hidden_fields(page.text, option), headers=FORM)
                assert answer.status_code == 303
                page = client.get("/")
                assert page.status_code == 200
            # the reply to the tap, kept in the database, whichever worker drew the page
            assert "I am the patient" in page.text and "How old are you?" in page.text
    finally:
        proc.send_signal(signal.SIGTERM)  # as a supervisor stops it: the workers stop with it
        _out, rest = proc.communicate(timeout=60)
        watchdog.cancel()
    log = "".join(said) + rest
    assert proc.returncode in (0, -signal.SIGTERM), log
    assert "Traceback" not in log
    assert "(2 worker processes)" in log
    assert len(re.findall(r"Started server process", log)) == 2, log


def test_the_web_chat_socket_sends_each_page_at_once() -> None:
    """Connections to the listening socket have Nagle's algorithm off (TCP_NODELAY): without it a
    kept-alive browser's next page waited 40 ms for its delayed acknowledgement."""
    sock = listening_socket("127.0.0.1", 0)

    async def accepted_nodelay() -> int:
        accepted: asyncio.Future[asyncio.BaseTransport] = asyncio.get_running_loop().create_future()

        class Protocol(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                accepted.set_result(transport)

        server = await asyncio.get_running_loop().create_server(Protocol, sock=sock)
        _reader, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        transport = await accepted
        nodelay = transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        writer.close()
        transport.close()
        server.close()
        await server.wait_closed()
        return nodelay

    assert asyncio.run(accepted_nodelay()) != 0
