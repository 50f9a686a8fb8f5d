"""Reading the dialog file's sections besides its questions: the consents, safety, outcomes, the trial's
own words, its region, the study facts and what the site must still confirm.

Long on purpose: each section's checks sit beside the section they read, so an error
message and its rule are in one place.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from . import signals as risk_signals
from .checker import (
    _PHONE_LIKE,
    _PLACEHOLDER,
    CHANNELS,
    CONSENT_KINDS,
    SAFETY_TEXTS,
    Checker,
)
from .flow import RESERVED
from .model import (
    ACTION_PLACEHOLDERS,
    OUTCOMES,
    SIGNAL_KINDS,
    CallLanguage,
    ChatTexts,
    Consent,
    HelpLine,
    OutcomeText,
    Region,
    Safety,
    SeparateConsent,
    Study,
    ToConfirm,
    TwoLanguages,
)


def _consent(c: Checker, data: dict[str, Any]) -> Consent:
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
    filled = ("server_location", *ACTION_PLACEHOLDERS)
    unknown = set(_PLACEHOLDER.findall(consent.text)) - set(filled)
    if unknown:
        known = ", ".join("{" + name + "}" for name in filled)
        raise c.fail(where, f"unknown placeholder(s) {sorted(unknown)} in 'text'; only {known} are filled")
    gate = (consent.under_age, consent.under_age_text, consent.guardian_age, consent.age_question)
    if any(gate) and not all(gate):
        raise c.fail(
            where, "under_age, under_age_text, guardian_age and age_question go together: give all of them or none"
        )
    return consent


def _separate_consents(c: Checker, data: Any) -> tuple[SeparateConsent, ...]:
    if not isinstance(data, list):
        raise c.fail("[[consents]]", "expected a list of [[consents]] tables")
    consents: list[SeparateConsent] = []
    for number, body in enumerate(data, start=1):
        body = c.table(body, f"consent #{number}")
        cid = body.get("id")
        if not isinstance(cid, str) or not cid.isidentifier():
            raise c.fail(f"consent #{number}", "'id' must be a short name of letters, digits and _")
        where = f"consent {cid!r}"
        if cid in RESERVED:
            raise c.fail(where, f"{cid!r} is the name of a step of the flow; give the consent another id")
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


def _safety(c: Checker, data: dict[str, Any]) -> Safety:
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


def _outcomes(c: Checker, data: dict[str, Any]) -> dict[str, OutcomeText]:
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


def _region(c: Checker, data: dict[str, Any]) -> Region:
    """Where the trial's people are: phone numbers, the reminders' time zone, the languages the team calls in."""
    where = "[region]"
    c.keys(data, where, set(), {"phone_region", "phone_example", "time_zone", "reminder_time", "call_languages"})
    default = Region()
    for key in ("phone_region", "phone_example", "time_zone", "call_languages"):
        if key not in data:  # older versions, read as approved, had these in the code
            c.policy(where, f"'{key}' is missing: the region is the trial's, never a default in the code")
    region = c.text(data, "phone_region", where, default.phone_region)
    import phonenumbers  # the loader checks the region with the same library that reads the numbers

    if region and region not in phonenumbers.SUPPORTED_REGIONS:
        raise c.fail(where, f"phone_region {region!r} is not a region code phonenumbers knows (e.g. CN, HK, SG, GB)")
    zone = c.text(data, "time_zone", where, default.time_zone)
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(zone)
    except (ValueError, KeyError, OSError) as exc:
        raise c.fail(where, f"time_zone {zone!r} is not an IANA time zone (e.g. Asia/Shanghai)") from exc
    at = c.text(data, "reminder_time", where, default.reminder_time)
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", at):
        raise c.fail(where, f"reminder_time must be a time of day like 09:00, not {at!r}")
    languages = default.call_languages
    if "call_languages" in data:
        raw = data["call_languages"]
        if not isinstance(raw, list) or not raw:
            raise c.fail(where, 'call_languages must list at least one { id = "zh", label = "Chinese (Mandarin)" }')
        found = []
        for number, body in enumerate(raw, start=1):
            body = c.table(body, f"{where} call_languages #{number}")
            c.keys(body, f"{where} call_languages #{number}", {"id", "label"}, set())
            found.append(CallLanguage(c.text(body, "id", where), c.text(body, "label", where)))
        languages = tuple(found)
    return Region(
        phone_region=region,
        phone_example=c.text(data, "phone_example", where, default.phone_example),
        time_zone=zone,
        reminder_time=at,
        call_languages=languages,
    )


def _texts(c: Checker, data: dict[str, Any]) -> ChatTexts:
    """The trial's words around the questions; the greeting and what the chat is for are required."""
    where = "[texts]"
    fields = set(ChatTexts.__dataclass_fields__)
    c.keys(data, where, set(), fields)
    texts = ChatTexts(**{k: c.text(data, k, where, default="") for k in fields})
    for key in ("greeting", "about", "visit"):
        if not getattr(texts, key):
            c.policy(where, f"'{key}' must be a non-empty text (the chat says it; no trial's words are in the code)")
    return texts


def _study(c: Checker, data: dict[str, Any]) -> Study:
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


def _two_languages(c: Checker, value: Any, where: str, key: str, required: bool = True) -> TwoLanguages:
    """A { en = "...", zh = "..." } pair; both texts non-empty when required."""
    if not isinstance(value, dict):
        raise c.fail(where, f'write it in both languages: {key} = {{ en = "...", zh = "..." }}')
    c.keys(value, where, {"en", "zh"}, set())
    default = None if required else ""
    return TwoLanguages(c.text(value, "en", where, default=default), c.text(value, "zh", where, default=default))


def _iso_date(c: Checker, value: Any, where: str) -> str:
    if isinstance(value, date):
        return value.isoformat()[:10]
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise c.fail(where, f"must be a date written like 2026-11-30, not {value!r}")


def _to_confirm(c: Checker, data: Any, whole: dict[str, Any]) -> tuple[ToConfirm, ...]:
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
