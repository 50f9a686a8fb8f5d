"""Text that people type, and text that staff see: hidden characters in, formulas and escapes out.

One place for the rules, used by every channel and every staff view:

- **In** (`typed_text`): what a person types and we keep (a name) is NFC-normalised,
  ordinary spaces are collapsed, and it is refused, with a kind re-ask, when it holds a
  character that cannot be seen or that changes how text around it is shown: control
  characters (C0, C1, DEL, ESC), bidi overrides and isolates (U+202A-202E, U+2066-2069),
  zero-width and other format characters (category Cf), line and paragraph separators,
  private-use, unassigned and surrogate code points, and the blank "letters" that render
  as nothing (Hangul fillers, U+3164 ...).
- **Out to a terminal or a chat** (`escaped`): any such character already stored (an old
  row, a staff note) is printed as a visible escape (`\\x1b`, `\\u202e`), so it can neither
  drive the terminal nor turn text around.
- **Out to a spreadsheet** (`spreadsheet_cell`): the same escapes, and a cell that a
  spreadsheet would read as a formula (OWASP CSV injection: it starts with = + - @, tab or
  carriage return, or their full-width forms) is marked as text.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from .dialog.rules import N_, Invalid

#: Unicode categories never kept and always escaped: controls, format (bidi, zero-width, BOM,
#: soft hyphen, tags), line/paragraph separators, surrogates, private use, unassigned.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
#: Characters outside those categories that still show as nothing: Hangul fillers, Khmer
#: inherent vowels, the combining grapheme joiner, Mongolian variation selectors, braille blank.
INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0")
#: What a spreadsheet reads as the start of a formula (OWASP), with the full-width forms
#: that East Asian spreadsheet software may also accept.
FORMULA_START = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
#: Typed text longer than this is refused before any other work.
MAX_TYPED = 1000

HIDDEN_CHARACTER = N_(
    "That has a hidden or special sign in it, so we cannot keep it. "
    "This can happen when text is copied. Please type it again."
)
TOO_LONG = N_("Please type a shorter answer (at most {count} letters).")


def is_hidden(char: str) -> bool:
    """True for a character that cannot be seen, or that changes how the text around it is shown."""
    return char in INVISIBLE or unicodedata.category(char) in HIDDEN_CATEGORIES


def typed_text(text: str, limit: int) -> str | Invalid:
    """A typed single-line answer, NFC-normalised with spaces collapsed, or why it cannot be kept.

    Tabs and line breaks count as spaces (a name typed on two lines is still a name);
    every other hidden character is refused, never silently dropped, so what is kept is
    exactly what the person sees they typed."""
    if len(text) > MAX_TYPED:
        return Invalid(TOO_LONG, {"count": limit})
    text = unicodedata.normalize("NFC", text)
    if any(is_hidden(ch) for ch in text if ch not in "\t\n\r"):
        return Invalid(HIDDEN_CHARACTER, {})
    text = " ".join(text.split())
    if len(text) > limit:
        return Invalid(TOO_LONG, {"count": limit})
    return text


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escaped(text: Any, keep_newlines: bool = False) -> str:
    """Text safe to print to a terminal or send to a chat: hidden characters become visible escapes."""
    text = "" if text is None else str(text)
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to look at
    keep = "\n" if keep_newlines else ""
    return "".join(_escape(ch) if is_hidden(ch) and ch not in keep else ch for ch in text)


def looks_like_formula(text: str) -> bool:
    """Would a spreadsheet read this cell as a formula? (Leading spaces are looked through.)"""
    stripped = text.lstrip(" \u3000")
    return bool(stripped) and stripped[0] in FORMULA_START


def spreadsheet_cell(value: Any, quote: bool = True) -> Any:
    """A cell for CSV or XLSX: numbers as they are; text with hidden characters escaped and, when it
    would read as a formula, a leading ' (OWASP; `quote=False` for XLSX, which marks the cell as
    text instead: see bot/staff.py)."""
    if not isinstance(value, str):
        return value
    text = escaped(value)
    if quote and looks_like_formula(text):
        return "'" + text
    return text


def json_safe(encoded: str) -> str:
    """JSON text (from json.dumps) with every hidden character written as a \\u escape: the same JSON value.

    json.dumps already escapes C0 controls inside strings, so a raw line break is layout (indent)."""
    if encoded.isascii() and "\x7f" not in encoded:
        return encoded
    out = []
    for ch in encoded:
        if is_hidden(ch) and ch != "\n":
            code = ord(ch)
            if code > 0xFFFF:  # JSON escapes astral characters as a surrogate pair
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
