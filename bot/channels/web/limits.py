"""Fair rate limits for the web chat: per session, with a generous ceiling per address.

Many patients reach the chat through one address: a hospital's Wi-Fi, a campus, a mobile
carrier's NAT. So the limit that stops someone hammering is per *session* (the signed
cookie's id), and the limit per *address* is a ceiling sized for a crowd behind one NAT,
there only to bound a flood from one machine that starts new sessions. A post takes from
its session's bucket first and, only if that allows it, from its address's: a person who
hammers with one session never uses up their neighbours' share.

Which address a request comes from is the connecting peer's, unless that peer is a
reverse proxy named in WEB_FORWARDED_ALLOW_IPS (none by default, not even 127.0.0.1):
only then is X-Forwarded-For read, and the client is its right-most hop that is not one
of those proxies (the left part of the header is whatever the client wrote).

The buckets live in SQLite (bot/store/web_state.py), so they hold across worker processes.
Their keys are keyed hashes: no session id and no address is stored.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from ...i18n import _

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: What a limited person reads: when to try again, and that nothing is lost.
TOO_FAST = _(
    "You are going a little fast. Please wait {seconds} seconds, then send your answer again. "
    "Your answers so far are saved."
)
BUSY_NETWORK = _(
    "Many people are using this chat from the same network just now. Please wait {seconds} seconds, "
    "then send your answer again. Your answers so far are saved."
)
BUSY_NETWORK_FIRST_VISIT = _(
    "Many people are opening this chat from the same network just now. Please wait {seconds} seconds, "
    "then open this page again."
)


def trusted_networks(text: str) -> tuple[Network, ...]:
    """The proxies of WEB_FORWARDED_ALLOW_IPS: addresses or networks, separated by commas or spaces.

    Raises ValueError naming the first entry that is neither (bot/config.py turns it into a
    message that names the setting)."""
    networks = []
    for part in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(part) from None
    return tuple(networks)


@functools.lru_cache(maxsize=4096)
def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as written in a request (host, host:port, [v6]:port), or None; remembered, as the
    same few addresses (the proxy's, a NAT's) come again and again."""
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 192.0.2.1:443
        value = value.split(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(value: str, networks: Sequence[Network]) -> bool:
    address = _ip(value)
    return address is not None and any(address in network for network in networks)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address: the peer's, or behind trusted proxies the right-most untrusted hop."""
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:100]
    return hops[0][:100] if hops else peer


class TrustedProxies:
    """Sets each request's client address (`scope["client"]`) as `client_address` finds it, and its
    scheme from X-Forwarded-Proto when a trusted proxy sent it, for every route (chat and console).

    uvicorn's own proxy handling is off (bot/channels/web/cli.py): this one does it, with the
    deployment's WEB_FORWARDED_ALLOW_IPS, however the app is served."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted and scope.get("client"):
            peer, port = scope["client"]
            if _trusted(peer, self.trusted):
                forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
                proto = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-proto"]
                scope = dict(scope)
                scope["client"] = (client_address(peer, forwarded, self.trusted), port)
                if proto and proto[-1].split(",")[-1].strip() in ("http", "https"):
                    scheme = proto[-1].split(",")[-1].strip()
                    scope["scheme"] = scheme if scope["type"] == "http" else scheme.replace("http", "ws")
        await self.app(scope, receive, send)


def address_bucket(address: str) -> str:
    """The part of an address that one household or one NAT has: an IPv4 address, an IPv6 /64."""
    ip = _ip(address)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip) if ip is not None else address


def bucket_key(secret: bytes, kind: str, value: str) -> str:
    """A bucket's key: its kind, then a keyed hash of the session id or address (neither is stored)."""
    return kind + ":" + hmac.digest(secret, f"limit|{kind}|{value}".encode(), "sha256").hex()[:32]


class Buckets(Protocol):
    """Where the buckets are kept (bot/store/web_state.WebState)."""

    def take(self, buckets: list[tuple[str, int]], now: float) -> tuple[str, float] | None: ...


class AddressLimit:
    """One limit per address, in the same shared buckets: the staff console's sign-in posts."""

    def __init__(
        self, buckets: Buckets, secret: bytes, kind: str, per_minute: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.buckets = buckets
        self._secret = secret
        self.kind = kind
        self.per_minute = per_minute
        self.clock = clock

    def allow(self, address: str) -> bool:
        bucket = bucket_key(self._secret, self.kind, address_bucket(address))
        return self.buckets.take([(bucket, self.per_minute)], self.clock()) is None


@dataclass(frozen=True)
class Refusal:
    """A post (or a first visit) that has to wait: `seconds` for Retry-After and the page, `message` to show."""

    seconds: int
    message: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.seconds)}


class Limits:
    """The web chat's rate limits: which buckets a post or a first visit takes from, and what a refusal says."""

    def __init__(self, secret: bytes, per_session: int, per_address: int) -> None:
        self._secret = secret
        self.per_session = per_session
        self.per_address = per_address

    def _key(self, kind: str, value: str) -> str:
        return bucket_key(self._secret, kind, value)

    def buckets(self, session_id: str | None, address: str) -> list[tuple[str, int]]:
        """A post: the session's bucket first, then the address's ceiling. A first visit (session None,
        a new session, which the funnel counts): the address's ceiling only."""
        ceiling = self._address(address)
        return [(self._key("session", session_id), self.per_session), ceiling] if session_id else [ceiling]

    def _address(self, address: str) -> tuple[str, int]:
        return self._key("address", address_bucket(address)), self.per_address

    def refusal(self, refused: tuple[str, float] | None, first_visit: bool = False) -> Refusal | None:
        """What to say for `WebState.take`'s answer (None: allowed), the wait rounded up to whole 5 seconds."""
        if refused is None:
            return None
        key, wait = refused
        seconds = max(5, 5 * math.ceil(wait / 5))
        if first_visit:
            return Refusal(seconds, BUSY_NETWORK_FIRST_VISIT)
        return Refusal(seconds, TOO_FAST if key.startswith("session:") else BUSY_NETWORK)
