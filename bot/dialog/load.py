"""Read a dialog file and refuse it, loudly and precisely, if it is not sound.

A mistake in the screening script is a mistake in front of patients, so every
reference is checked before the bot starts: each error names the file, the
question (or section) and what to fix.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from . import signals as risk_signals
from .model import (
    OUTCOMES,
    SIGNAL_KINDS,
    Accept,
    Condition,
    Consent,
    Criterion,
    Dialog,
    HelpLine,
    Option,
    OutcomeText,
    Question,
    Safety,
    SeparateConsent,
    Since,
    Site,
    Study,
    ToConfirm,
    TwoLanguages,
)

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


class _Checker:
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

    def names(self, data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(where, f"'{key}' must be a list of texts")
        return tuple(value)


def load_dialog(path: str | Path, lenient: bool = False) -> Dialog:
    """Load and validate one dialog file; raise DialogError naming the problem.

    `lenient` reads an older version as it was approved (see `_Checker.lenient`)."""
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
    c = _Checker(source, lenient)
    c.keys(
        data,
        "top level",
        {"dialog", "consent", "criteria", "questions", "outcomes"},
        {"site", "safety", "consents", "study", "to_confirm"},
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
        id=c.text(head, "id", "[dialog]"),
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
        _index={q.id: i for i, q in enumerate(questions)},
    )
    _check_whole(c, dialog)
    return dialog


def _consent(c: _Checker, data: dict[str, Any]) -> Consent:
    where = "[consent]"
    c.keys(
        data,
        where,
        {"version", "text", "agree", "decline", "declined"},
        {"under_age", "under_age_text", "under_age_text_caregiver", "guardian_age", "age_question"},
    )
    consent = Consent(
        **{k: c.text(data, k, where, default="") for k in data if k != "guardian_age"},
        guardian_age=c.integer(data, "guardian_age", where) or 0,
    )
    for key in ("version", "text", "agree", "decline", "declined"):
        c.text(data, key, where)
    unknown = set(_PLACEHOLDER.findall(consent.text)) - {"server_location"}
    if unknown:
        raise c.fail(where, f"unknown placeholder(s) {sorted(unknown)} in 'text'; only {{server_location}} is filled")
    gate = (consent.under_age, consent.under_age_text, consent.guardian_age, consent.age_question)
    if any(gate) and not all(gate):
        raise c.fail(
            where, "under_age, under_age_text, guardian_age and age_question go together: give all of them or none"
        )
    return consent


def _separate_consents(c: _Checker, data: Any) -> tuple[SeparateConsent, ...]:
    if not isinstance(data, list):
        raise c.fail("[[consents]]", "expected a list of [[consents]] tables")
    consents: list[SeparateConsent] = []
    for number, body in enumerate(data, start=1):
        body = c.table(body, f"consent #{number}")
        cid = body.get("id")
        if not isinstance(cid, str) or not cid.isidentifier():
            raise c.fail(f"consent #{number}", "'id' must be a short name of letters, digits and _")
        where = f"consent {cid!r}"
        c.keys(
            body,
            where,
            {"id", "kind", "version", "before", "text", "agree", "decline", "declined"},
            {"text_caregiver", "channels", "recipient"},
        )
        if body["kind"] not in CONSENT_KINDS:
            raise c.fail(where, f"kind must be one of {', '.join(CONSENT_KINDS)}, not {body['kind']!r}")
        channels = c.names(body, "channels", where)
        for channel in channels:
            if channel not in CHANNELS:
                raise c.fail(where, f"unknown channel {channel!r}; the channels are {', '.join(CHANNELS)}")
        consent = SeparateConsent(
            id=cid,
            kind=body["kind"],
            version=c.text(body, "version", where),
            before=c.text(body, "before", where),
            text=c.text(body, "text", where),
            agree=c.text(body, "agree", where),
            decline=c.text(body, "decline", where),
            declined=c.text(body, "declined", where),
            text_caregiver=c.text(body, "text_caregiver", where, ""),
            channels=channels,
            recipient=c.text(body, "recipient", where, ""),
        )
        if consent.kind == "cross_border" and not consent.recipient:
            raise c.fail(where, "a cross_border consent must name its 'recipient' (PIPL art. 39)")
        for key, text in (("text", consent.text), ("text_caregiver", consent.text_caregiver)):
            unknown = set(_PLACEHOLDER.findall(text)) - {"recipient"}
            if unknown:
                raise c.fail(
                    where, f"unknown placeholder(s) {sorted(unknown)} in '{key}'; only {{recipient}} is filled"
                )
        if any(other.id == cid for other in consents):
            raise c.fail(where, "two consents have this id")
        consents.append(consent)
    return tuple(consents)


def _safety(c: _Checker, data: dict[str, Any]) -> Safety:
    where = "[safety]"
    c.keys(data, where, set(), {*SAFETY_TEXTS, "lines", "signals"})
    lines: list[HelpLine] = []
    raw_lines = data.get("lines", [])
    if not isinstance(raw_lines, list):
        raise c.fail(where, "'lines' must be a list of [[safety.lines]] tables")
    for number, body in enumerate(raw_lines, start=1):
        body = c.table(body, f"[[safety.lines]] #{number}")
        lid = body.get("id")
        if not isinstance(lid, str) or not lid.isidentifier() or lid == "lines":
            raise c.fail(f"[[safety.lines]] #{number}", "'id' must be a short name of letters, digits and _")
        lwhere = f"[[safety.lines]] {lid!r}"
        c.keys(body, lwhere, {"id", "number", "label"}, {"hours", "crisis"})
        line = HelpLine(
            id=lid,
            number=c.text(body, "number", lwhere),
            label=c.text(body, "label", lwhere),
            hours=c.text(body, "hours", lwhere, ""),
            crisis=c.flag(body, "crisis", lwhere),
        )
        if not re.fullmatch(r"\+?[\d][\d -]*\d", line.number):
            raise c.fail(lwhere, f"'number' must be a phone number of digits, spaces and -, not {line.number!r}")
        if any(other.id == lid for other in lines):
            raise c.fail(lwhere, "two lines have this id")
        lines.append(line)
    texts = {key: c.text(data, key, where, "") for key in SAFETY_TEXTS}
    known = {"lines", *(line.id for line in lines)}
    for key, text in texts.items():
        unknown = sorted(set(_PLACEHOLDER.findall(text)) - known)
        if unknown:
            raise c.fail(
                where,
                f"'{key}' names {', '.join('{' + u + '}' for u in unknown)}, which is not {{lines}} "
                "or the id of one of the [[safety.lines]]",
            )
        if _PHONE_LIKE.search(_PLACEHOLDER.sub("", text)):
            c.policy(
                where,
                f"'{key}' has a number typed into it; put every phone number in [[safety.lines]] "
                "(so the site confirms it) and name it with {<line id>}",
            )
    if texts["text"] and not any(line.crisis for line in lines) and "{lines}" in texts["text"]:
        raise c.fail(where, "the text lists {lines}, but no [[safety.lines]] has crisis = true")
    signal_data = c.table(data.get("signals", {}), "[safety.signals]")
    c.keys(signal_data, "[safety.signals]", set(), set(SIGNAL_KINDS))
    found: dict[str, tuple[str, ...]] = {}
    for kind in SIGNAL_KINDS:
        if kind not in signal_data:
            continue
        phrases = c.names(signal_data, kind, "[safety.signals]")
        if not phrases:
            raise c.fail("[safety.signals]", f"'{kind}' lists no phrases")
        seen: dict[str, str] = {}
        for phrase in phrases:
            problem = risk_signals.phrase_problem(phrase)
            if problem:
                raise c.fail("[safety.signals]", f"{kind} phrase {phrase!r}: {problem}")
            folded = risk_signals.fold(phrase)
            if folded in seen:
                raise c.fail("[safety.signals]", f"{kind} phrase {phrase!r} is listed twice (as {seen[folded]!r})")
            seen[folded] = phrase
        found[kind] = phrases
    if found.get("suicide") and not texts["text"]:
        raise c.fail(where, "suicide signals need the crisis 'text' to show")
    if found.get("emergency") and not texts["emergency_text"]:
        raise c.fail(where, "emergency signals need an 'emergency_text' to show")
    return Safety(**texts, lines=tuple(lines), signals=found)


def _criteria(c: _Checker, data: dict[str, Any]) -> dict[str, Criterion]:
    criteria = {}
    for cid, body in data.items():
        where = f"criterion {cid}"
        body = c.table(body, where)
        c.keys(body, where, {"lay", "label"}, {"reason", "kind"})
        if body["lay"] not in LAY:
            raise c.fail(where, f"lay must be one of {', '.join(LAY)}, not {body['lay']!r}")
        kind = body.get("kind") or {"I": "inclusion", "E": "exclusion"}.get(cid[:1], "")
        if kind not in CRITERION_KINDS:
            raise c.fail(where, 'say kind = "inclusion" or "exclusion" (ids starting with I or E say it themselves)')
        criteria[cid] = Criterion(
            id=cid,
            lay=body["lay"],
            label=c.text(body, "label", where),
            reason=c.text(body, "reason", where, ""),
            kind=kind,
        )
    if not criteria:
        raise c.fail("[criteria]", "no criteria are listed")
    return criteria


def _criterion_ref(c: _Checker, criteria: dict[str, Criterion], cid: str, where: str) -> Criterion:
    if cid not in criteria:
        raise c.fail(where, f"criterion {cid!r} is not listed in [criteria]")
    return criteria[cid]


def _questions(c: _Checker, data: Any, criteria: dict[str, Criterion]) -> tuple[Question, ...]:
    if not isinstance(data, list) or not data:
        raise c.fail("[[questions]]", "there must be at least one question")
    questions: list[Question] = []
    seen: dict[str, Question] = {}
    for number, body in enumerate(data, start=1):
        body = c.table(body, f"question #{number}")
        qid = body.get("id")
        if not isinstance(qid, str) or not qid.isidentifier():
            raise c.fail(f"question #{number}", "'id' must be a short name of letters, digits and _")
        where = f"question {qid!r}"
        if qid in seen:
            raise c.fail(where, "this id is used by another question")
        c.keys(
            body,
            where,
            {"id", "kind", "text", "label"},
            {
                "text_caregiver",
                "criteria",
                "options",
                "ask_if",
                "not_sure",
                "min",
                "max",
                "birth_year",
                "accept",
                "since",
            },
        )
        kind = body["kind"]
        if kind not in KINDS:
            raise c.fail(where, f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        for cid in c.names(body, "criteria", where):
            _criterion_ref(c, criteria, cid, where)
        options = _options(c, body.get("options", []), where, criteria)
        if kind in ("choice", "multi") and not options:
            raise c.fail(where, f"a {kind} question needs options")
        if kind in ("number", "year") and options:
            raise c.fail(where, f"a {kind} question is typed and takes no options")
        accept = since = None
        if "accept" in body:
            a = c.table(body["accept"], f"{where}, accept")
            c.keys(a, f"{where}, accept", {"min", "max", "criterion"}, set())
            accept = Accept(a["min"], a["max"], a["criterion"])
            _knock_out_criterion(c, criteria, accept.criterion, f"{where}, accept")
            if kind != "number":
                raise c.fail(where, "'accept' only applies to number questions")
        if "since" in body:
            s = c.table(body["since"], f"{where}, since")
            c.keys(s, f"{where}, since", {"weeks", "criterion"}, {"month_question", "day_question"})
            since = Since(s["weeks"], s["criterion"], s.get("month_question", ""), s.get("day_question", ""))
            if since.day_question and not since.month_question:
                raise c.fail(f"{where}, since", "a day_question needs a month_question")
            _knock_out_criterion(c, criteria, since.criterion, f"{where}, since")
            if kind != "year":
                raise c.fail(where, "'since' only applies to year questions")
        question = Question(
            id=qid,
            kind=kind,
            text=c.text(body, "text", where),
            label=c.text(body, "label", where),
            text_caregiver=c.text(body, "text_caregiver", where, ""),
            criteria=c.names(body, "criteria", where),
            options=options,
            ask_if=_conditions(c, body.get("ask_if", []), where, seen),
            not_sure=c.flag(body, "not_sure", where),
            min=c.integer(body, "min", where),
            max=c.integer(body, "max", where),
            birth_year=c.flag(body, "birth_year", where),
            accept=accept,
            since=since,
        )
        questions.append(question)
        seen[qid] = question
    return tuple(questions)


def _knock_out_criterion(c: _Checker, criteria: dict[str, Criterion], cid: str, where: str) -> None:
    criterion = _criterion_ref(c, criteria, cid, where)
    if criterion.lay == "no":
        raise c.fail(
            where, f'criterion {cid} cannot be answered by patients (lay = "no"), so it must never rule anyone out'
        )
    if not criterion.reason:
        raise c.fail(where, f"criterion {cid} rules people out here but has no 'reason' to tell them why")


def _options(c: _Checker, data: Any, where: str, criteria: dict[str, Criterion]) -> tuple[Option, ...]:
    if not isinstance(data, list):
        raise c.fail(where, "'options' must be a list")
    options: list[Option] = []
    for body in data:
        body = c.table(body, f"{where}, an option")
        oid = body.get("id")
        if not isinstance(oid, str) or not oid or len(oid) > 24 or not oid.replace("_", "").isalnum():
            raise c.fail(where, f"option id {oid!r} must be up to 24 letters, digits or _")
        owhere = f"{where}, option {oid!r}"
        if any(o.id == oid for o in options):
            raise c.fail(owhere, "two options have this id")
        c.keys(
            body,
            owhere,
            {"id", "label"},
            {"label_caregiver", "rules_out", "review", "wait_days", "criterion", "exclusive", "safety"},
        )
        option = Option(
            id=oid,
            label=c.text(body, "label", owhere),
            label_caregiver=c.text(body, "label_caregiver", owhere, ""),
            rules_out=c.text(body, "rules_out", owhere, ""),
            review=c.flag(body, "review", owhere),
            wait_days=c.integer(body, "wait_days", owhere) or 0,
            criterion=c.text(body, "criterion", owhere, ""),
            exclusive=c.flag(body, "exclusive", owhere),
            safety=c.flag(body, "safety", owhere),
        )
        if option.rules_out:
            _knock_out_criterion(c, criteria, option.rules_out, owhere)
        if option.wait_days < 0:
            raise c.fail(owhere, "'wait_days' cannot be negative")
        if option.wait_days:
            if not option.criterion:
                raise c.fail(owhere, "an option with 'wait_days' must name its 'criterion'")
            _knock_out_criterion(c, criteria, option.criterion, owhere)
        elif option.criterion:
            _criterion_ref(c, criteria, option.criterion, owhere)
        if sum([bool(option.rules_out), option.review, bool(option.wait_days)]) > 1:
            raise c.fail(owhere, "use only one of rules_out, review and wait_days")
        if option.safety and option.rules_out:
            raise c.fail(
                owhere, "an answer that shows crisis help must never rule out: use review = true (a person follows up)"
            )
        options.append(option)
    return tuple(options)


def _conditions(c: _Checker, data: Any, where: str, earlier: dict[str, Question]) -> tuple[Condition, ...]:
    if not isinstance(data, list):
        raise c.fail(where, "'ask_if' must be a list of conditions")
    conditions = []
    for body in data:
        body = c.table(body, f"{where}, ask_if")
        c.keys(
            body,
            f"{where}, ask_if",
            {"question"},
            {"any_of", "none_of", "years_ago_at_most", "at_least", "at_most", "less_than_weeks_ago"},
        )
        target = body["question"]
        if target not in earlier:
            raise c.fail(where, f"ask_if points to {target!r}, which is not a question asked before this one")
        source = earlier[target]
        condition = Condition(
            question=target,
            any_of=c.names(body, "any_of", where),
            none_of=c.names(body, "none_of", where),
            years_ago_at_most=c.integer(body, "years_ago_at_most", where),
            at_least=body.get("at_least"),
            at_most=body.get("at_most"),
            less_than_weeks_ago=c.integer(body, "less_than_weeks_ago", where),
            month_question=source.since.month_question if source.since else "",
        )
        if condition.less_than_weeks_ago is not None and source.since is None:
            raise c.fail(
                where, f"less_than_weeks_ago needs a year question with 'since', but {target!r} has no 'since'"
            )
        for oid in condition.any_of + condition.none_of:
            if source.option(oid) is None:
                raise c.fail(where, f"ask_if names option {oid!r}, which question {target!r} does not have")
        if condition.years_ago_at_most is not None and source.kind != "year":
            raise c.fail(where, f"years_ago_at_most needs a year question, but {target!r} is a {source.kind} question")
        if (condition.any_of or condition.none_of) and source.kind not in ("choice", "multi"):
            raise c.fail(where, f"any_of / none_of need a choice question, but {target!r} is a {source.kind} question")
        if (
            not (condition.any_of or condition.none_of)
            and condition.years_ago_at_most is None
            and (condition.at_least is None and condition.at_most is None)
            and condition.less_than_weeks_ago is None
        ):
            raise c.fail(
                where,
                "an ask_if condition must test something "
                "(any_of, none_of, years_ago_at_most, at_least, at_most or less_than_weeks_ago)",
            )
        conditions.append(condition)
    _check_reachable(c, where, conditions)
    return tuple(conditions)


def _check_reachable(c: _Checker, where: str, conditions: list[Condition]) -> None:
    """Refuse a question whose conditions can never all hold: it would never be asked."""
    allowed: dict[str, set[str]] = {}
    for condition in conditions:
        if condition.any_of:
            picked = set(condition.any_of) - set(condition.none_of)
            allowed[condition.question] = allowed.get(condition.question, picked) & picked
            if not allowed[condition.question]:
                raise c.fail(
                    where, f"unreachable: its ask_if conditions on {condition.question!r} can never all be true"
                )


def _outcomes(c: _Checker, data: dict[str, Any]) -> dict[str, OutcomeText]:
    outcomes = {}
    for name in OUTCOMES:
        if name not in data:
            raise c.fail("[outcomes]", f"missing outcome {name!r} (needed: {', '.join(OUTCOMES)})")
    for name, body in data.items():
        where = f"outcome {name!r}"
        if name not in OUTCOMES:
            raise c.fail(where, f"unknown outcome; the outcomes are {', '.join(OUTCOMES)}")
        body = c.table(body, where)
        c.keys(body, where, {"title", "text"}, {"text_caregiver", "title_caregiver"})
        outcomes[name] = OutcomeText(
            title=c.text(body, "title", where),
            text=c.text(body, "text", where),
            text_caregiver=c.text(body, "text_caregiver", where, ""),
            title_caregiver=c.text(body, "title_caregiver", where, ""),
        )
    for text in (outcomes["not_yet"].text, outcomes["not_yet"].text_caregiver):
        if text and "{date}" not in text:
            raise c.fail("outcome 'not_yet'", "the text must say when, with the placeholder {date}")
    return outcomes


def _study(c: _Checker, data: dict[str, Any]) -> Study:
    """The [study] facts; each name is a pair { en = "...", zh = "..." } ("" while not known)."""
    c.keys(data, "[study]", set(), set(Study.__dataclass_fields__))
    values: dict[str, Any] = {}
    for key, value in data.items():
        where = f"[study] {key}"
        if isinstance(getattr(Study(), key), TwoLanguages):
            values[key] = _two_languages(c, value, where, key, required=False)
        elif key == "version_date":
            values[key] = _iso_date(c, value, where)
        else:
            values[key] = c.text(data, key, "[study]", default="")
    return Study(**values)


def _two_languages(c: _Checker, value: Any, where: str, key: str, required: bool = True) -> TwoLanguages:
    """A { en = "...", zh = "..." } pair; both texts non-empty when required."""
    if not isinstance(value, dict):
        raise c.fail(where, f'write it in both languages: {key} = {{ en = "...", zh = "..." }}')
    c.keys(value, where, {"en", "zh"}, set())
    default = None if required else ""
    return TwoLanguages(c.text(value, "en", where, default=default), c.text(value, "zh", where, default=default))


def _iso_date(c: _Checker, value: Any, where: str) -> str:
    if isinstance(value, date):
        return value.isoformat()[:10]
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise c.fail(where, f"must be a date written like 2026-11-30, not {value!r}")


def _to_confirm(c: _Checker, data: Any, whole: dict[str, Any]) -> tuple[ToConfirm, ...]:
    """What the site must still confirm; each item points at a part of this very file, so none goes stale."""
    if not isinstance(data, list):
        raise c.fail("to_confirm", "write each item as a [[to_confirm]] table with 'part' and 'what'")
    items = []
    for number, body in enumerate(data, start=1):
        where = f"[[to_confirm]] #{number}"
        body = c.table(body, where)
        c.keys(body, where, {"part", "what"}, set())
        part = c.text(body, "part", where)
        if not _part_exists(whole, part):
            raise c.fail(
                where,
                f'part {part!r} is not in this file; name a section and key ("safety.text"), '
                '"questions.<id>", "questions.<id>.options.<id>" or an item of a list by its id '
                '("safety.lines.<id>", "consents.<id>")',
            )
        items.append(ToConfirm(part=part, what=_two_languages(c, body["what"], f"{where} what", "what")))
    return tuple(items)


def _part_exists(data: Any, part: str) -> bool:
    """True when a dotted part names something in the file (items of a list by their id)."""
    node = data
    for name in part.split("."):
        if isinstance(node, dict):
            node = node.get(name)
        elif isinstance(node, list):
            node = next((item for item in node if isinstance(item, dict) and item.get("id") == name), None)
        else:
            return False
        if node is None:
            return False
    return True


def _check_whole(c: _Checker, dialog: Dialog) -> None:
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


def _check_consents(c: _Checker, dialog: Dialog) -> None:
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
