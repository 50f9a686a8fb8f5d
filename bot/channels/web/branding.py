"""The hospital's look on the web chat: its logo, three colours and its ICP filing number.

None is needed: without settings the page shows the study's own colours and the
hospital's name from the dialog file. bot/config.py checks each value's form (a hex
colour, a file path, an ICP number); what needs more is checked here, once, at start:

- Colours are hex (`#1a5c3a`), and the page must stay readable for people with low
  vision: every pair of colours the page puts side by side keeps the WCAG 2.2 AA
  ratio (4.5:1 for text, 3:1 for borders, buttons and the focus ring). A palette
  that fails is refused with the pairs and their ratios, never drawn.
- The logo is a PNG or SVG file on this machine, at most 200 KB, served by the app
  itself (never a remote URL: nothing on the page comes from another host). An SVG
  may hold no script, no event handler and no reference outside itself.
The ICP filing number (备案号, e.g. 鄂ICP备12345678号-1), which a site served in mainland
China shows in its footer, is linked to the MIIT's filing system.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from ...config import ConfigError, Settings, describe

#: The study's own colours: what the page looks like when nothing is set (chat.css's :root).
DEFAULT_COLORS = {"primary": "#24476b", "link": "#0b57a4", "background": "#f3f5f7"}
#: Colours the palette does not change, which it must still work with (chat.css's :root too).
FIXED_COLORS = {
    "surface": "#ffffff",  # bubbles, answer buttons, the header
    "on-primary": "#ffffff",  # text on a primary button
    "text": "#1b1f23",
    "muted": "#44505c",  # hints, on a white bubble
    "line": "#6e7a87",  # borders of tick boxes and secondary buttons
    "pressed": "#e9edf1",  # an answer button being pressed or focused
}
TEXT, NON_TEXT = 4.5, 3.0
#: (foreground, background, minimum ratio, where the page puts them side by side)
PAIRS = [
    ("primary", "surface", TEXT, "answer buttons and headings: primary text on white"),
    ("on-primary", "primary", TEXT, "the main button: white text on primary"),
    ("primary", "pressed", TEXT, "an answer button while pressed or focused"),
    ("primary", "background", NON_TEXT, "button borders on the page background"),
    ("link", "surface", TEXT, "links in the header"),
    ("link", "background", TEXT, "links in the footer; the focus ring"),
    ("text", "background", TEXT, "text on the page background"),
    ("text", "surface", TEXT, "text in the messages"),
    ("muted", "surface", TEXT, "hints"),
    ("line", "surface", NON_TEXT, "tick-box and secondary button borders on white"),
    ("line", "background", NON_TEXT, "tick-box and secondary button borders on the page background"),
]
SETTINGS = {"primary": "WEB_COLOR_PRIMARY", "link": "WEB_COLOR_LINK", "background": "WEB_COLOR_BACKGROUND"}
LOGO = describe("web_logo")
LOGO_MAX_BYTES = 200 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BEIAN_URL = "https://beian.miit.gov.cn/"


@dataclass(frozen=True)
class Branding:
    """What the page shows of the hospital; empty fields are simply left out."""

    colors: dict[str, str] = field(default_factory=dict)  # only those set, checked
    logo_name: str = ""  # e.g. "logo.svg", served under /static/
    logo: bytes = b""
    icp: str = ""

    def css(self) -> str:
        """brand.css: the set colours as the custom properties chat.css draws with ('' when none is set)."""
        if not self.colors:
            return ""
        return ":root {" + "".join(f" --{name}: {value};" for name, value in sorted(self.colors.items())) + " }\n"

    @classmethod
    def from_settings(cls, settings: Settings) -> Branding:
        colors = {name: six_digits(value) for name in SETTINGS if (value := getattr(settings, f"web_color_{name}"))}
        problems = palette_problems({**DEFAULT_COLORS, **colors})
        if problems:
            raise ConfigError(
                "the web colours (" + ", ".join(f"{SETTINGS[n]}={v}" for n, v in colors.items()) + ") are too "
                "close for people with low vision to read: " + "; ".join(problems) + ". Choose a darker primary "
                "or link colour, or a lighter background."
            )
        logo_name, logo = load_logo(settings.web_logo) if settings.web_logo else ("", b"")
        return cls(colors=colors, logo_name=logo_name, logo=logo, icp=settings.web_icp_number)


def six_digits(color: str) -> str:
    """#rgb as #rrggbb (config.py has checked the form)."""
    digits = color[1:].lower()
    return "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits)


def luminance(color: str) -> float:
    """Relative luminance of an #rrggbb colour, as WCAG 2.2 defines it."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours, from 1 to 21."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def palette_problems(colors: dict[str, str]) -> list[str]:
    """Each pair of the palette (with the fixed colours) under its WCAG ratio, in words; [] when all pass."""
    every = {**FIXED_COLORS, **colors}
    return [
        f"{where}: {every[fg]} on {every[bg]} is {contrast(every[fg], every[bg]):.2f}:1, needs {minimum:g}:1"
        for fg, bg, minimum, where in PAIRS
        if contrast(every[fg], every[bg]) < minimum
    ]


def load_logo(path: Path) -> tuple[str, bytes]:
    """The logo file's served name and bytes, checked: a PNG or a self-contained SVG, at most 200 KB."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{LOGO}: cannot read {path} ({exc.strerror})") from exc
    if len(data) > LOGO_MAX_BYTES:
        raise ConfigError(
            f"{LOGO}: {path} is {len(data) // 1024} KB; at most {LOGO_MAX_BYTES // 1024} KB, as every visitor "
            "downloads it, often on a slow mobile network. Make it smaller (an SVG, or a PNG about 200 px high)."
        )
    suffix = path.suffix.lower()
    if suffix == ".png" and data.startswith(PNG_SIGNATURE):
        return "logo.png", data
    if suffix == ".svg":
        check_svg(data, path)
        return "logo.svg", data
    raise ConfigError(f"{LOGO}: {path} must be a PNG or an SVG file (named .png or .svg)")


def check_svg(data: bytes, path: Path) -> None:
    """Refuse an SVG that could run script or load anything: it is served from the chat's own origin."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ConfigError(f"{LOGO}: {path} has a DOCTYPE or entities; save it as plain SVG")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ConfigError(f"{LOGO}: {path} is not a valid SVG file ({exc})") from exc
    if root.tag.rpartition("}")[2] != "svg":
        raise ConfigError(f"{LOGO}: {path} is not an SVG file (its first element is not <svg>)")
    for element in root.iter():
        tag = element.tag.rpartition("}")[2].lower()
        if tag in ("script", "foreignobject", "iframe", "embed", "object"):
            raise ConfigError(f"{LOGO}: {path} contains <{tag}>; a logo must be a plain picture")
        for name, value in element.attrib.items():
            local = name.rpartition("}")[2].lower()
            external = local in ("href", "src") and not value.startswith("#")
            if local.startswith("on") or external or re.search(r"url\(\s*['\"]?(?!#)", value):
                raise ConfigError(
                    f"{LOGO}: {path} has {local}={value[:60]!r} on <{tag}>: a logo may hold no script and "
                    "no link to another file"
                )
        if tag == "style" and re.search(r"url\(\s*['\"]?(?!#)|@import", element.text or ""):
            raise ConfigError(f"{LOGO}: {path} has a <style> that loads another file")
