"""Signs of risk in a typed message: thoughts of suicide, or a medical emergency now.

Every typed message, in every channel, is checked before it is read as an answer. The
phrases are data (`[safety.signals]` in the dialog file); this module only decides how a
phrase matches, the same way for the loader (which refuses phrases that would match too
much) and for the check itself.

Matching works on folded text: full-width letters and digits, case, apostrophes
("can't" = "cant"), punctuation and spacing do not matter. An English phrase matches
whole words ("want to die" is not found in "want to diet"); a Chinese phrase matches
anywhere, as Chinese has no spaces between words, so Chinese phrases must be at least
two characters: "死" alone is in "坏死" (necrosis). Phrases rather than single words keep
false alarms rare; a false alarm only shows help that was not needed, a miss leaves a
person alone, so the lists lean towards matching.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

#: Han characters (CJK unified ideographs and extension A, compatibility ideographs).
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_APOSTROPHES = str.maketrans("", "", "'’‘`´")
#: Anything that is not a letter or a digit separates words.
_NOT_WORD = re.compile(r"[^\w]+|_")

#: A one-word English phrase shorter than this is refused: short words ("die", "pain") raise false alarms.
MIN_SINGLE_WORD = 7
#: A Chinese phrase shorter than this is refused: one character ("死") is part of harmless words.
MIN_HAN = 2


def fold(text: str) -> str:
    """The text as matched: NFKC, case-folded, apostrophes dropped, words separated by one space."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    return " ".join(_NOT_WORD.sub(" ", text).split())


def is_han(phrase: str) -> bool:
    return bool(_HAN.search(phrase))


def phrase_problem(phrase: str) -> str:
    """Why a phrase cannot be used ('' when it can): it must be specific enough not to raise false alarms."""
    folded = fold(phrase)
    if not folded:
        return "it has no letters or digits"
    if is_han(folded):
        if len(_HAN.findall(folded)) < MIN_HAN:
            return f"a Chinese phrase needs at least {MIN_HAN} characters (one character is part of harmless words)"
        return ""
    if " " not in folded and len(folded) < MIN_SINGLE_WORD:
        return (
            f"a single English word needs at least {MIN_SINGLE_WORD} letters "
            "(short words such as 'die' raise false alarms); use a phrase"
        )
    return ""


@lru_cache(maxsize=4096)
def _needle(phrase: str) -> tuple[bool, str]:
    """What a phrase is looked for as, worked out once per phrase (every typed message checks them all):
    whether it is Chinese (then matched without spaces, anywhere), and the folded text to find."""
    folded = fold(phrase)
    if is_han(folded):
        return True, folded.replace(" ", "")
    return False, f" {folded} "


def _matches(folded_text: str, joined_text: str, phrase: str) -> bool:
    han, needle = _needle(phrase)
    return needle in (joined_text if han else folded_text)


def detect(text: str, signals: Mapping[str, Iterable[str]]) -> list[str]:
    """The kinds of risk (keys of `signals`, in their order) whose phrases occur in `text`."""
    folded = fold(text)
    if not folded:
        return []
    padded, joined = f" {folded} ", folded.replace(" ", "")
    return [kind for kind, phrases in signals.items() if any(_matches(padded, joined, p) for p in phrases)]
