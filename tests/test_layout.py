"""The shape of the code: no module grows long without saying why (the layers are import-linter's, in .ci/run)."""

from __future__ import annotations

import ast

from .conftest import ROOT

LONG = 300


def test_a_long_module_says_why_in_its_docstring() -> None:
    silent = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > LONG + 30:  # "about 300": a few lines over is not worth a reason
            doc = ast.get_docstring(ast.parse(text)) or ""
            if "Long on purpose" not in doc:
                silent.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert not silent, "long modules without a reason in their docstring: " + ", ".join(silent)


def test_the_god_object_is_gone() -> None:
    """Issue 18: the screening is a service with its parts apart, not one module that does everything."""
    assert not (ROOT / "bot" / "screening.py").exists()
    for part in ("service", "steps", "commands", "presenter", "texts", "contact", "rescreen", "summary", "team"):
        assert (ROOT / "bot" / "screening" / f"{part}.py").exists(), part
