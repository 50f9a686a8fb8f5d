"""`screening-bot qr`: poster QR codes for the web link and the Telegram deep link of a campaign source."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
import segno

from bot.channels.web.app import accept_language
from bot.cli import main


def png_modules(path: Path, scale: int = 10, border: int = 4) -> list[list[bool]]:
    """Read a 1-bit greyscale PNG (as segno writes it) back into QR modules: True = dark."""
    data = path.read_bytes()
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (1, 0), "expected a 1-bit greyscale PNG"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), 1 + (width + 7) // 8
    rows: list[bytes] = []
    previous = bytes(stride)
    for i in range(height):
        kind, line = raw[i * stride], bytearray(raw[i * stride + 1 : (i + 1) * stride])
        for j in range(len(line)):  # PNG filters, one byte per pixel group (bit depth 1)
            left, up, corner = (line[j - 1] if j else 0), previous[j + 1], (previous[j] if j else 0)
            guess = left + up - corner
            paeth = min((abs(guess - left), 0, left), (abs(guess - up), 1, up), (abs(guess - corner), 2, corner))[2]
            line[j] = (line[j] + [0, left, up, (left + up) // 2, paeth][kind]) & 0xFF
        previous = b"\0" + bytes(line)
        rows.append(previous)
    size = width // scale - 2 * border
    return [
        [not (rows[(y + border) * scale][1 + ((x + border) * scale) // 8] >> (7 - ((x + border) * scale) % 8)) & 1
         for x in range(size)]
        for y in range(size)
    ]  # fmt: skip


def test_qr_codes_for_the_web_and_telegram(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("WEB_PUBLIC_URL", "https://screening.example.org/")
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@lupus_study_bot")
    assert main(["qr", "--source", "poster-wuhan", "--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [
        "poster-wuhan-telegram.png",
        "poster-wuhan-telegram.svg",
        "poster-wuhan-web.png",
        "poster-wuhan-web.svg",
    ]
    assert (tmp_path / "poster-wuhan-web.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    svg = (tmp_path / "poster-wuhan-web.svg").read_text()
    assert "<svg" in svg and "https://screening.example.org/?src=poster-wuhan" in svg
    assert "https://t.me/lupus_study_bot?start=poster-wuhan" in (tmp_path / "poster-wuhan-telegram.svg").read_text()
    # the PNG's dark and light squares are exactly the QR code of that link
    expected = segno.make("https://screening.example.org/?src=poster-wuhan", error="m", micro=False)
    assert png_modules(tmp_path / "poster-wuhan-web.png") == [list(map(bool, row)) for row in expected.matrix]
    assert str(tmp_path / "poster-wuhan-web.svg") in capsys.readouterr().out


def test_qr_without_a_telegram_username_writes_the_web_code_and_says_so(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.delenv("TELEGRAM_BOT_USERNAME", raising=False)
    assert (
        main(["qr", "--source", "wechat-group-1", "--public-url", "https://s.example.org", "--out", str(tmp_path)]) == 0
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wechat-group-1-web.png", "wechat-group-1-web.svg"]
    assert "TELEGRAM_BOT_USERNAME is not set" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "poster wuhan"], "letters, digits"),
        (["--source", "x" * 65], "letters, digits"),
        (["--source", "poster-wuhan"], "WEB_PUBLIC_URL"),
    ],
)
def test_qr_refuses_bad_names_and_a_missing_address(tmp_path: Path, monkeypatch, capsys, args, message) -> None:
    monkeypatch.delenv("WEB_PUBLIC_URL", raising=False)
    assert main(["qr", *args, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,zh;q=0.5", "zh_Hans"),
        ("de,fr", ""),
        ("", ""),
        ("zh;q=abc, en", "en"),
    ],
)
def test_the_browser_language_picks_a_shipped_one(header: str, language: str) -> None:
    assert accept_language(header, ["en", "zh_Hans"]) == language
