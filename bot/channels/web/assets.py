"""The page's own files, served from memory under versioned URLs: `/static/NAME?v=HASH`.

Each file (chat.css, chat.js, and the site's brand.css and logo when configured) is
read once at start; HASH is a hash of its content, so a changed file gets a new URL.
A request with the current hash may be kept by the browser for a year without asking
again (`immutable`): on a slow mobile network each page then costs one request. Any
other request (no `?v`, an old one) is answered with `no-cache` and an ETag, so it is
checked every time and never goes stale. Nothing is read from disk per request, and
no file outside this list can be asked for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    version: str


class Assets:
    """The files under /static/, by name, each with the URL that pages link to."""

    def __init__(self) -> None:
        self._files: dict[str, Asset] = {}

    def add(self, name: str, body: bytes) -> None:
        media_type = MEDIA_TYPES[Path(name).suffix]
        self._files[name] = Asset(body, media_type, hashlib.sha256(body).hexdigest()[:10])

    def add_file(self, path: Path) -> None:
        self.add(path.name, path.read_bytes())

    def url(self, name: str) -> str:
        return f"/static/{name}?v={self._files[name].version}"

    @property
    def urls(self) -> dict[str, str]:
        """Every file's versioned URL, for the templates."""
        return {name: self.url(name) for name in self._files}

    async def serve(self, request: Request) -> Response:
        asset = self._files.get(request.path_params["name"])
        if asset is None:
            raise HTTPException(status_code=404)
        cache = IMMUTABLE if request.query_params.get("v") == asset.version else REVALIDATE
        headers = {"Cache-Control": cache, "ETag": f'"{asset.version}"'}
        if headers["ETag"] in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)
