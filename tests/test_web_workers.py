"""`screening-bot web` as a site runs it: a socket without Nagle."""

from __future__ import annotations

import asyncio
import re
import socket

from bot.channels.web.cli import listening_socket

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
