"""Read a dialog file and refuse it, loudly and precisely, if it is not sound.

A mistake in the screening script is a mistake in front of patients, so every
reference is checked before the bot starts: each error names the file, the
question (or section) and what to fix.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

from .checker import CHANNELS, RESPONDENTS, Checker, DialogError
from .load_questions import _criteria, _questions
from .load_sections import (
    _consent,
    _outcomes,
    _region,
    _safety,
    _separate_consents,
    _study,
    _texts,
    _to_confirm,
)
from .model import (
    Dialog,
    Site,
)

__all__ = ["CHANNELS", "DialogError", "load_dialog", "parse_dialog"]


def load_dialog(path: str | Path, lenient: bool = False) -> Dialog:
    """Load and validate one dialog file; raise DialogError naming the problem.

    `lenient` reads an older version as it was approved (see `Checker.lenient`)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DialogError(f"{path}: cannot read the dialog file ({exc.strerror})") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DialogError(f"{path}: not valid TOML: {exc}") from exc
    return parse_dialog(data, source=str(path), content_hash=hashlib.sha256(raw).hexdigest(), lenient=lenient)


def parse_dialog(
    data: dict[str, Any], source: str = "<dialog>", content_hash: str = "", lenient: bool = False
) -> Dialog:
    """Build a Dialog from already-parsed TOML data, validating every reference."""
    c = Checker(source, lenient)
    c.keys(
        data,
        "top level",
        {"dialog", "consent", "criteria", "questions", "outcomes"},
        {"site", "safety", "consents", "study", "to_confirm", "region", "texts"},
    )

    head = c.table(data["dialog"], "[dialog]")
    c.keys(head, "[dialog]", {"id", "version", "trial", "title"}, {"recruiting", "respondent_question"})

    consent = _consent(c, c.table(data["consent"], "[consent]"))

    site_data = c.table(data.get("site", {}), "[site]")
    site_fields = set(Site.__dataclass_fields__)
    c.keys(site_data, "[site]", set(), site_fields)
    site = Site(**{k: c.text(site_data, k, "[site]", default="") for k in site_data})

    safety = _safety(c, c.table(data.get("safety", {}), "[safety]"))

    criteria = _criteria(c, c.table(data["criteria"], "[criteria]"))
    questions = _questions(c, data["questions"], criteria)
    outcomes = _outcomes(c, c.table(data["outcomes"], "[outcomes]"))
    consents = _separate_consents(c, data.get("consents", []))

    dialog = Dialog(
        id=_dialog_id(c, head),
        version=c.text(head, "version", "[dialog]"),
        trial=c.text(head, "trial", "[dialog]"),
        title=c.text(head, "title", "[dialog]"),
        recruiting=c.flag(head, "recruiting", "[dialog]") if "recruiting" in head else True,
        consent=consent,
        site=site,
        safety=safety,
        criteria=criteria,
        questions=questions,
        outcomes=outcomes,
        respondent_question=c.text(head, "respondent_question", "[dialog]", default=""),
        source_path=source,
        content_hash=content_hash,
        study=_study(c, c.table(data.get("study", {}), "[study]")),
        to_confirm=_to_confirm(c, data.get("to_confirm", []), data),
        consents=consents,
        region=_region(c, c.table(data.get("region", {}), "[region]")),
        texts=_texts(c, c.table(data.get("texts", {}), "[texts]")),
        _index={q.id: i for i, q in enumerate(questions)},
    )
    _check_whole(c, dialog)
    return dialog


#: A dialog id names its trial in a web address (/t/<id>), a Telegram link (start=<id>-<source>, at most 64
#: characters in all), its catalog domain (a file name) and every stored row: short, lower case, no "-".
DIALOG_ID = re.compile(r"[a-z][a-z0-9_]{0,23}")


def _dialog_id(c: Checker, head: dict[str, Any]) -> str:
    value = c.text(head, "id", "[dialog]")
    if not DIALOG_ID.fullmatch(value):
        raise c.fail(
            "[dialog]",
            f"'id' must be 1 to 24 lower-case letters, digits and _, starting with a letter, not {value!r}: "
            "it names the trial in web addresses (/t/<id>), Telegram links (start=<id>-<source>) and file names",
        )
    return value


def _check_whole(c: Checker, dialog: Dialog) -> None:
    covered = {cid for q in dialog.questions for cid in q.criteria}
    for criterion in dialog.criteria.values():
        if criterion.lay != "no" and criterion.id not in covered:
            raise c.fail(
                f"criterion {criterion.id}",
                f'patients can answer it (lay = "{criterion.lay}") but no question covers it; '
                "add it to a question's criteria",
            )
    for q in dialog.questions:
        if q.since and q.since.month_question:
            where = f"question {q.id!r}, since"
            if not dialog.has_question(q.since.month_question):
                raise c.fail(where, f"month_question {q.since.month_question!r} is not a question")
            month = dialog.question(q.since.month_question)
            if month.kind != "choice" or not all(
                o.id == "not_sure" or o.id in {str(m) for m in range(1, 13)} for o in month.options
            ):
                raise c.fail(
                    where, f'month_question {month.id!r} must be a choice with options "1" to "12" (and not_sure)'
                )
            if dialog.position(month.id) < dialog.position(q.id):
                raise c.fail(where, f"month_question {month.id!r} must come after {q.id!r}")
        if q.since and q.since.day_question:
            where = f"question {q.id!r}, since"
            if not dialog.has_question(q.since.day_question):
                raise c.fail(where, f"day_question {q.since.day_question!r} is not a question")
            day = dialog.question(q.since.day_question)
            if day.kind != "number" or day.min != 1 or day.max != 31:
                raise c.fail(where, f"day_question {day.id!r} must be a number question with min = 1 and max = 31")
            if dialog.position(day.id) < dialog.position(q.since.month_question):
                raise c.fail(where, f"day_question {day.id!r} must come after {q.since.month_question!r}")
        for option in q.options:
            if option.criterion and option.criterion not in q.criteria:
                raise c.fail(
                    f"question {q.id!r}, option {option.id!r}",
                    f"criterion {option.criterion} is not in the question's criteria",
                )
            if option.rules_out and option.rules_out not in q.criteria:
                raise c.fail(
                    f"question {q.id!r}, option {option.id!r}",
                    f"rules_out {option.rules_out} is not in the question's criteria",
                )
            flags_all = option.review and not option.criterion
            if q.kind == "multi" and len(q.criteria) > 1 and flags_all and not option.exclusive:
                c.policy(
                    f"question {q.id!r}, option {option.id!r}",
                    "this question covers several criteria: name the one this answer bears on with 'criterion' "
                    '(only an answer that stands alone, like "Not sure", flags all of them)',
                )
    _check_consents(c, dialog)
    if dialog.respondent_question:
        where = "[dialog] respondent_question"
        if not dialog.has_question(dialog.respondent_question):
            raise c.fail(where, f"{dialog.respondent_question!r} is not a question")
        q = dialog.question(dialog.respondent_question)
        if q.kind != "choice" or {o.id for o in q.options} != RESPONDENTS or q.ask_if:
            raise c.fail(where, f"question {q.id!r} must be an always-asked choice with options 'self' and 'caregiver'")


def _check_consents(c: Checker, dialog: Dialog) -> None:
    """Separate consents come before a question that exists; the age gate reads a number question."""
    for consent in dialog.consents:
        where = f"consent {consent.id!r}"
        if dialog.has_question(consent.id):
            raise c.fail(where, "a question has this id too; give the consent its own id")
        if not dialog.has_question(consent.before):
            raise c.fail(where, f"before = {consent.before!r} is not a question")
    gate = dialog.consent
    if gate.age_question:
        where = "[consent] age_question"
        if not dialog.has_question(gate.age_question):
            raise c.fail(where, f"{gate.age_question!r} is not a question")
        question = dialog.question(gate.age_question)
        if question.kind != "number" or question.ask_if:
            raise c.fail(where, f"question {question.id!r} must be an always-asked number question (the patient's age)")
        sensitive = [s for s in dialog.consents if s.kind == "sensitive_data"]
        for s in sensitive:
            if dialog.position(s.before) <= dialog.position(question.id):
                raise c.fail(
                    f"consent {s.id!r}",
                    f"the age question {question.id!r} must come before this consent: a child under "
                    f"{gate.guardian_age} is stopped before any health question",
                )
