"""The hospital's name, logo, colours and ICP filing number on the web chat; none of them required."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot.channels.web.branding import (
    BEIAN_URL,
    DEFAULT_COLORS,
    FIXED_COLORS,
    PAIRS,
    contrast,
    palette_problems,
)
from bot.config import ConfigError
from bot.dialog.model import Dialog

from .conftest import ROOT, AsSeen
from .web_driver import ZH, WebUser, make_app, zh_locales

CSS = ROOT / "bot" / "channels" / "web" / "static" / "chat.css"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#1a6b3c"/></svg>'
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def locales(tmp_path: Path, dialog: Dialog) -> Path:
    return zh_locales(tmp_path, dialog)


def css_root() -> dict[str, str]:
    block = re.search(r":root\s*\{(.*?)\}", CSS.read_text(encoding="utf-8"), re.S)
    assert block
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block.group(1)))


def test_the_page_s_own_colours_are_the_checked_ones_and_pass() -> None:
    assert css_root() == {**DEFAULT_COLORS, **FIXED_COLORS}
    assert palette_problems(DEFAULT_COLORS) == []
    every = css_root()
    ratios = {(fg, bg): round(contrast(every[fg], every[bg]), 2) for fg, bg, _m, _w in PAIRS}
    # the two the issue found at 2.73:1 (row borders, the Back button), now on the page background
    assert ratios[("line", "background")] >= 3.0 and ratios[("line", "surface")] >= 3.0
    assert ratios[("link", "background")] >= 4.5 and ratios[("primary", "surface")] >= 4.5


def test_contrast_follows_wcag() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#8a97a5", "#f3f5f7") == pytest.approx(2.73, abs=0.01), "the old border colour"


def test_a_hospital_palette_is_drawn_from_its_own_brand_css(dialog, db_path, locales) -> None:
    app, _ = make_app(dialog, db_path, locales, web_color_primary="#1A6B3C", web_color_background="#fafafa")
    user = WebUser(app)
    brand = next(ref for ref in user.page.refs if ref.startswith("/static/brand.css?v="))
    response = user.client.get(brand)
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.text == ":root { --background: #fafafa; --primary: #1a6b3c; }\n"
    plain, _ = make_app(dialog, db_path.with_name("plain.db"), locales)
    assert not any("brand.css" in ref for ref in WebUser(plain).page.refs), "nothing set, nothing extra"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"web_color_primary": "#88aacc"}, r"WEB_COLOR_PRIMARY=#88aacc.*answer buttons and headings.*needs 4.5:1"),
        ({"web_color_link": "#3399ff"}, r"links in the header: #3399ff on #ffffff is 2\.\d\d:1"),
        ({"web_color_background": "#444444"}, r"text on the page background"),
        ({"web_color_background": "#d0d0d0"}, r"tick-box and secondary button borders on the page background"),
        ({"web_color_primary": "green"}, r"WEB_COLOR_PRIMARY \(config file: web_color_primary\) must be a hex colour"),
        ({"web_color_link": "#12345"}, r"WEB_COLOR_LINK \(config file: web_color_link\) must be a hex colour"),
        ({"web_logo": "https://example.org/logo.png"}, r"WEB_LOGO \(config file: web_logo\) must be a file on this"),
        ({"web_logo": "/no/such/logo.png"}, r"WEB_LOGO \(config file: web_logo\): cannot read /no/such/logo.png"),
        ({"web_icp_number": "ICP 12345"}, r"WEB_ICP_NUMBER \(config file: web_icp_number\) must be the ICP filing"),
        ({"web_icp_number": "鄂ICP备12345678号\n<b>"}, r"WEB_ICP_NUMBER"),
    ],
)
def test_a_setting_that_would_hurt_the_page_stops_the_start(dialog, db_path, locales, settings, message) -> None:
    with pytest.raises(ConfigError, match=message):
        make_app(dialog, db_path, locales, **settings)


def test_short_hex_colours_are_accepted(dialog, db_path, locales) -> None:
    app, _ = make_app(dialog, db_path, locales, web_color_primary="#036")
    user = WebUser(app)
    brand = next(ref for ref in user.page.refs if ref.startswith("/static/brand.css"))
    assert "--primary: #003366;" in user.client.get(brand).text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("big.png", PNG + b"\x00" * 210 * 1024, r"is 210 KB; at most 200 KB"),
        ("fake.png", b"GIF89a" + b"\x00" * 20, r"must be a PNG or an SVG"),
        ("logo.gif", b"GIF89a", r"must be a PNG or an SVG"),
        ("script.svg", SVG.replace(b"<rect", b"<script>alert(1)</script><rect"), r"contains <script>"),
        ("handler.svg", SVG.replace(b"<rect", b'<rect onclick="alert(1)"'), r"onclick="),
        ("remote.svg", SVG.replace(b"<rect", b'<image href="https://example.org/a.png"/><rect'), r"href="),
        (
            "xlink.svg",
            SVG.replace(b"<svg ", b'<svg xmlns:xlink="http://www.w3.org/1999/xlink" ').replace(
                b"<rect", b'<use xlink:href="other.svg#a"/><rect'
            ),
            r"href=",
        ),
        ("styled.svg", SVG.replace(b"<rect", b'<rect style="fill: url(https://example.org/x)"'), r"style="),
        ("import.svg", SVG.replace(b"<rect", b"<style>@import 'https://example.org/a.css';</style><rect"), "<style>"),
        ("entity.svg", b'<!DOCTYPE svg [<!ENTITY a "b">]>' + SVG, r"DOCTYPE"),
        ("broken.svg", b"<svg", r"not a valid SVG"),
        ("html.svg", b"<html></html>", r"first element is not <svg>"),
    ],
)
def test_a_logo_is_a_small_self_contained_picture(dialog, db_path, locales, tmp_path, name, content, message) -> None:
    logo = tmp_path / name
    logo.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        make_app(dialog, db_path, locales, web_logo=str(logo))


@pytest.mark.parametrize("language", ["en", ZH])
def test_logo_name_and_icp_number_on_every_page(dialog, db_path, locales, tmp_path, language) -> None:
    logo = tmp_path / "hospital.svg"
    logo.write_bytes(SVG)
    app, _ = make_app(dialog, db_path, locales, web_logo=str(logo), web_icp_number="鄂ICP备12345678号-1")
    t = AsSeen(language, locales)
    user = WebUser(app, language)
    pages = [user.page, user.press(t(dialog.consent.agree)), user.get("/no-such-page")]
    for page in pages:
        html = page.html
        src = re.search(r'<img src="(/static/logo\.svg\?v=[0-9a-f]{10})" alt="" class="logo">', html)
        assert src, "the logo, from the chat's own address; alt is empty as the name is written beside it"
        assert t(dialog.site.hospital) in html
        assert f'<a href="{BEIAN_URL}" class="link">鄂ICP备12345678号-1</a>' in html
    response = user.client.get(src.group(1))
    assert response.content == SVG and response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    png = tmp_path / "hospital.png"
    png.write_bytes(PNG)
    app, _ = make_app(dialog, db_path, locales, web_logo=str(png))
    page = WebUser(app, language).page
    ref = next(r for r in page.refs if r.startswith("/static/logo.png?v="))
    assert TestClient(app).get(ref).headers["content-type"] == "image/png"


def test_without_any_branding_the_page_is_complete(dialog, db_path, locales) -> None:
    app, _ = make_app(dialog, db_path, locales)
    page = WebUser(app).page
    assert "<img" not in page.html and "ICP" not in page.html and "beian" not in page.html
    assert AsSeen("en", locales)(dialog.site.hospital) in page.html, "the hospital's name from the dialog file"


def test_the_hospital_name_is_the_site_setting(dialog, db_path, locales) -> None:
    from bot.screening import ScreeningService
    from bot.store import open_database
    from bot.store.storage import Storage

    from .conftest import TODAY
    from .web_driver import web_settings

    db = open_database(db_path)
    screener = ScreeningService(
        dialog, Storage(db, dialog), locales, site_overrides={"hospital": "Example Hospital"}, today=lambda: TODAY
    )
    from bot.channels.web.app import create_app

    page = WebUser(create_app(screener, web_settings(db_path, web_rate_limit="0"))).page
    assert '<p class="hospital"><span>Example Hospital</span></p>' in page.html


def test_with_every_brand_setting_nothing_comes_from_another_host(dialog, db_path, locales, tmp_path) -> None:
    """The logo and colours come from the chat's own address; the only outside address is the ICP link."""
    from .web_driver import EXTERNAL

    logo = tmp_path / "logo.svg"
    logo.write_bytes(SVG)
    app, _ = make_app(
        dialog, db_path, locales, web_logo=str(logo), web_color_primary="#1d5e48", web_icp_number="鄂ICP备12345678号"
    )
    t = AsSeen("en", locales)
    user = WebUser(app)
    for page in (user.page, user.press(t(dialog.consent.agree)), user.get("/no-such-page")):
        external = [ref for ref in page.refs if EXTERNAL.search(ref)]
        assert external == [BEIAN_URL], external
        assert page.html.count(BEIAN_URL) == 1 and f'<a href="{BEIAN_URL}"' in page.html, "a link, never a resource"
    csp = user.page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
