"""The dialog loader's checker: every error names the file, the place in it and what to fix."""

from __future__ import annotations

import re
from typing import Any

from .model import UNITS, Duration

KINDS = ("choice", "multi", "number", "year")
LAY = ("yes", "partly", "no")
RESPONDENTS = {"self", "caregiver"}
CRITERION_KINDS = ("inclusion", "exclusion")
CONSENT_KINDS = ("sensitive_data", "cross_border")
CHANNELS = ("telegram", "web", "terminal")
#: Texts of [safety] that people read; numbers in them come only from [[safety.lines]].
SAFETY_TEXTS = ("text", "text_caregiver", "emergency_text", "emergency_text_caregiver", "unwell_now")
_PLACEHOLDER = re.compile(r"\{(\w*)\}")
_PHONE_LIKE = re.compile(r"\d[\d -]{2,}\d")


class DialogError(ValueError):
    """The dialog file cannot be used; the message says where and why."""


class Checker:
    def __init__(self, path: str, lenient: bool = False) -> None:
        self.path = path
        #: Reading an older, approved version (for `export-script --diff`): the rules added since
        #: (`policy`) are not applied to it, only the checks that it can be read at all.
        self.lenient = lenient

    def policy(self, where: str, problem: str) -> None:
        """Refuse what today's rules forbid, unless an older version is read as it was."""
        if not self.lenient:
            raise self.fail(where, problem)

    def fail(self, where: str, problem: str) -> DialogError:
        return DialogError(f"{self.path}: {where}: {problem}")

    def table(self, data: Any, where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(where, "expected a table of keys and values")
        return data

    def keys(self, data: dict[str, Any], where: str, required: set[str], optional: set[str]) -> None:
        missing = sorted(required - data.keys())
        if missing:
            raise self.fail(where, f"missing required key(s): {', '.join(missing)}")
        unknown = sorted(data.keys() - required - optional)
        if unknown:
            allowed = ", ".join(sorted(required | optional))
            raise self.fail(where, f"unknown key(s) {', '.join(unknown)}; allowed keys are: {allowed}")

    def text(self, data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise self.fail(where, f"'{key}' must be a non-empty text")
        return value.strip()

    def integer(self, data: dict[str, Any], key: str, where: str) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"'{key}' must be a whole number")
        return value

    def flag(self, data: dict[str, Any], key: str, where: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(where, f"'{key}' must be true or false")
        return value

    def duration(self, data: dict[str, Any], key: str, where: str) -> Duration | None:
        """A time written as people say it: "14 days", "12 weeks", "3 months", "1 year"."""
        value = data.get(key)
        if value is None:
            return None
        amount, _sep, unit = str(value).strip().partition(" ") if isinstance(value, str) else ("", "", "")
        unit = unit.strip().lower()
        unit = unit if unit.endswith("s") else unit + "s"
        if not amount.isdigit() or int(amount) < 1 or unit not in UNITS:
            raise self.fail(
                where,
                f'\'{key}\' must be a time like "14 days", "12 weeks", "3 months" or "1 year", not {value!r}',
            )
        return Duration(int(amount), unit)  # type: ignore[arg-type]

    def old_days(self, data: dict[str, Any], key: str, new: str, where: str, unit: str = "days") -> Duration | None:
        """A time in the shape of dialog versions before 1.4.0 (`wait_days = 84`), read only from those."""
        number = self.integer(data, key, where)
        if number is None:
            return None
        self.policy(where, f"'{key} = {number}' is the old shape: write {new} = \"{number} {unit}\" instead")
        if number < 0:
            raise self.fail(where, f"'{key}' cannot be negative")
        return Duration(number, unit) if number else None  # type: ignore[arg-type]

    def names(self, data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(where, f"'{key}' must be a list of texts")
        return tuple(value)
