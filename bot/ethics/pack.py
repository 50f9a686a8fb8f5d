"""Assemble the ethics-committee pack from the running dialog, and write it as HTML and Markdown.

Every text the bot says comes from the dialog file and the Babel catalogs through
`Translator`, exactly as the bot would say it; a text with no translation is shown marked,
never silently in English. The pack's own words are English and Chinese pairs
(bilingual.py). What the pack says the bot *does* is generated: the rules from the dialog
(words.py), the flow from the state machine (flow.py), and what happens after each kind of
answer from running the real screening (observe.py). The HTML is one self-contained file
(inline CSS, the flow SVG embedded) that prints to PDF with the version and version date on
every page.

Long on purpose: assembling the pack section by section in the order the committee reads
it.
"""

from __future__ import annotations

import hashlib
import tomllib
import typing
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..dialog import signals
from ..dialog.extract import dialog_texts
from ..dialog.model import OUTCOMES, SIGNAL_KINDS, Dialog, HelpLine, SeparateConsent, Site, Study, TwoLanguages
from ..dialog.rules import CriterionResult
from ..files import OutputFiles
from ..i18n import SOURCE_LANGUAGE, Translator, available_languages, dialog_catalogs, language_name
from ..launch import shown_path
from ..retention import Retention
from ..screening import ScreeningService
from ..screening.contact import CONTACT_CONSENT_VERSION, URGENT_CONTACT_CONSENT_VERSION
from ..screening.presenter import CONTACT_CONSENT_OPTIONS as CONSENT_OPTIONS
from ..screening.presenter import CONTACT_CONSENT_TEXT, OFFER_TEXT, URGENT_CONTACT_CONSENT_TEXT
from ..screening.rescreen import REMINDER_CONSENT_VERSION
from ..screening.team import CLOSE_REASONS, STATUSES, Lead
from . import bilingual as P
from .bilingual import Bi, to_bi
from .diff import Change
from .flow import CONFIRM_RULE, OUTCOME_STYLE
from .observe import ConsentSeen, Observations
from .words import Words

#: The languages the trial screens in; more appear when locales/ has their catalogs.
TRIAL_LANGUAGES = (SOURCE_LANGUAGE, "zh_Hans")
UNTRANSLATED = "NOT TRANSLATED"


#: Chinese for the values the code stores (lead statuses, close reasons, criterion results); others show as they are.
VALUES_ZH = {
    "met": "符合", "not_met": "不符合", "not_yet": "暂不", "unclear": "不确定", "study_team": "由研究团队判断",
    "new": "新线索", "attempt_1": "第1次未接通", "attempt_2": "第2次未接通", "attempt_3": "第3次未接通",
    "contacted": "已联系", "visit_booked": "已预约访视", "enrolled": "已入组", "closed": "已结案",
    "not_eligible_at_visit": "访视时不符合", "declined": "本人拒绝", "unreachable": "联系不上", "duplicate": "重复",
}  # fmt: skip


def _words(values: tuple[str, ...]) -> Bi:
    return Bi(", ".join(v.replace("_", " ") for v in values), "、".join(VALUES_ZH.get(v, v) for v in values))


#: What each field of a lead (bot/store/leads.py `Lead`) is, and why the study team has it.
#: A field missing here is printed flagged NOT DESCRIBED, and the tests fail.
LEAD_FIELDS: dict[str, Bi] = {
    "id": Bi("A random id, so staff can name the lead", "随机编号，供工作人员指称该线索"),
    "conversation_id": Bi(
        "The screening it came from (a random id); erasing one erases the other",
        "来源筛查的随机编号；删除其一即删除另一个",
    ),
    "channel": Bi("Where the person screened: Telegram, web or terminal", "筛查渠道：Telegram、网页或终端"),
    "source": Bi(
        "Where the person came from (e.g. a poster's QR code), never who they are", "来源（如海报二维码），不含身份信息"
    ),
    "outcome": Bi("The outcome of the screening", "筛查结果"),
    "respondent": Bi("The patient, or a carer answering for them", "由患者本人还是照护者回答"),
    "language": Bi("The language of the screening, so the team can reply in it", "筛查语言，便于团队用同一语言回复"),
    "call_language": Bi("The language the person wants for the call", "本人希望通话使用的语言"),
    "call_time": Bi("The best time to call", "方便通话的时间"),
    "phone": Bi("The mobile number, stored encrypted, so the team can call", "手机号码，加密保存，供团队致电"),
    "name": Bi("The name to use on the call (optional), stored encrypted", "通话时的称呼（可不填），加密保存"),
    "username": Bi(
        "Telegram user name: a column the bot never fills (always empty)", "Telegram用户名：机器人从不填写（始终为空）"
    ),
    "reasons": Bi(
        "The criteria (with ids) behind the outcome, and the date of each time rule",
        "导致该结果的标准（含编号），以及各时间规则的日期",
    ),
    "review_answers": Bi("The answers the study team must check", "研究团队需要核查的回答"),
    "criteria": Bi("Each criterion's result from the answers: {results}", "各标准根据回答得出的结果：{results}").format(
        results=_words(typing.get_args(CriterionResult))
    ),
    "dialog_version": Bi("The script version the person answered", "本人回答时的脚本版本"),
    "dialog_id": Bi(
        "The study the person screened for (the id of its script), when the bot screens for several",
        "本人筛查的研究（其脚本编号），用于同时为多项研究筛查时",
    ),
    "contact_consent_version": Bi("The version of the contact consent they agreed to", "本人同意的联系同意书版本"),
    "contact_consented_at": Bi("When they agreed to be contacted", "同意被联系的时间"),
    "status": Bi("Set by the study team: {statuses}", "由研究团队设置：{statuses}").format(statuses=_words(STATUSES)),
    "close_reason": Bi("Why a lead was closed: {reasons}", "结案原因：{reasons}").format(reasons=_words(CLOSE_REASONS)),
    "repeat_count": Bi(
        "How often the same person (the same chat or browser) gave contact details again",
        "同一人（同一聊天或浏览器）再次留下联系方式的次数",
    ),
    "duplicates": Bi(
        "Other leads with the same phone number (possible duplicates, by lead id only) and what the study "
        "team decided: merged, or not the same person. Nothing moves between them",
        "手机号相同的其他线索（可能重复，只记线索编号）及研究团队的决定：合并，或不是同一人。两者之间不转移任何信息",
    ),
    "created_at": Bi("When the lead was made", "线索生成时间"),
    "updated_at": Bi("When it last changed", "最后修改时间"),
    "status_changed_at": Bi(
        "When its status last changed (retention counts from here)", "最后一次状态变更时间（保存期限由此起算）"
    ),
    "history": Bi("Every status change and note, with who and when", "每次状态变更和备注，以及操作人和时间"),
    "urgent": Bi(
        "Why the team should reach this person first: a risk answer (its question) or a typed sign of risk; "
        "never the words typed",
        "团队应优先联系此人的原因：一项风险回答（所在问题）或输入中的风险迹象；不保存输入的文字",
    ),
}


@dataclass(frozen=True)
class Cell:
    """One text in one language, as the bot would show it."""

    language: str
    text: str
    missing: bool = False


@dataclass
class Wording:
    cells: list[Cell]

    @property
    def missing(self) -> bool:
        return any(c.missing for c in self.cells)


@dataclass(frozen=True)
class ConsentText:
    """One consent the bot asks for: its texts (message ids), version, when it is asked and what each answer does.

    `facts` are further (heading, statement) rows (what it is for, its recipient, the under-age gate);
    `warnings` say where the measured bot differs from what the script says."""

    name: Bi
    version: str
    source: str
    when: Bi
    if_yes: Bi
    if_no: Bi
    rows: tuple[tuple[Bi, str], ...]
    facts: tuple[tuple[Bi, Bi], ...] = ()
    warnings: tuple[Bi, ...] = ()


@dataclass(frozen=True)
class KeyFacts:
    """Where the deployment keeps the encryption key, for the pack's statement on storage."""

    from_environment: bool
    path: str
    beside_database: bool


@dataclass(frozen=True)
class StaffFacts:
    """The deployment's staff settings, as far as the pack's statements on transfer abroad need them."""

    chat_set: bool
    notify_contact: bool
    user_ids: int


@dataclass
class Pack:
    dialog: Dialog
    languages: list[str]
    generated: str
    svg: str | None
    changes: list[Change] | None
    old_version: str
    retention: Retention
    site: Site
    site_texts: list[Cell]
    other_messages: list[Wording]
    consents: list[ConsentText]
    observed: Observations
    #: The crisis text as a patient reads it (the numbers filled in), in each language.
    crisis_shown: list[Cell]
    #: (where in the dialog file, what) for each [study] fact not set yet.
    unset_facts: list[tuple[str, Bi]]
    #: (where in the dialog file, value) of what no other section shows.
    everything_else: list[tuple[str, Any]]
    staff: StaffFacts
    key: KeyFacts
    catalog_hashes: list[tuple[str, str]]

    @property
    def study(self) -> Study:
        return self.dialog.study

    @property
    def dialog_file(self) -> str:
        return shown_path(self.dialog.source_path)

    @property
    def version_date_unchanged(self) -> bool:
        """True when a diff shows a new version but no new version date (the date printed on every page)."""
        if not self.changes:
            return False
        new_version = any(c.part == "the dialog" and c.field == "version" for c in self.changes)
        new_date = any(c.part == "the study" and c.field == "version date" for c in self.changes)
        return new_version and not new_date


def pack_languages(locales_dir: Path) -> list[str]:
    """English, the trial's Chinese (even before its catalog lands, so gaps show), then any other catalog."""
    return list(dict.fromkeys([*TRIAL_LANGUAGES, *available_languages(locales_dir)]))


class Texts:
    """Translate dialog texts for the pack and count what is missing in each language."""

    def __init__(self, languages: list[str], locales_dir: Path, dialog_id: str = "", dialog_file: str = "") -> None:
        self.translators = {
            lang: Translator.for_dialog(lang, locales_dir, dialog_id, dialog_file) for lang in languages
        }
        self.seen: dict[str, set[str]] = {lang: set() for lang in languages}
        self.done: dict[str, set[str]] = {lang: set() for lang in languages}

    def __call__(self, text: str) -> Wording:
        cells = []
        for lang, t in self.translators.items():
            shown = t.either(text) if text else ""  # the dialog's own domain first, then the code's
            missing = bool(text) and lang != SOURCE_LANGUAGE and shown == text
            if text:
                self.seen[lang].add(text)
                if not missing:
                    self.done[lang].add(text)
            cells.append(Cell(lang, shown, missing))
        return Wording(cells)

    def counts(self) -> dict[str, tuple[int, int]]:
        return {lang: (len(self.done[lang]), len(self.seen[lang])) for lang in self.translators}


def code_messages(locales_dir: Path, dialog_texts: set[str]) -> list[str]:
    """The bot's own messages (buttons, help, error messages) from messages.pot, without the dialog's."""
    pot = locales_dir / "messages.pot"
    if not pot.exists():
        return []
    with pot.open("rb") as handle:
        catalog = read_po(handle)
    return [
        str(m.id)
        for m in catalog
        if m.id and isinstance(m.id, str) and not m.auto_comments and m.id.strip() not in dialog_texts
    ]


#: How a consent's texts are headed in the pack ({age}: the guardian age); a text not named here is
#: headed by its field name.
CONSENT_ROWS = {
    "text": P.CONSENT_TEXT,
    "text_caregiver": P.CONSENT_TEXT_CARER,
    "agree": P.CONSENT_AGREE,
    "decline": P.CONSENT_DECLINE,
    "declined": P.CONSENT_DECLINED,
    "under_age": P.CONSENT_UNDER_AGE,
    "under_age_text": P.CONSENT_UNDER_AGE_TEXT,
    "under_age_text_caregiver": P.CONSENT_UNDER_AGE_TEXT_CARER,
}
#: A consent's fields that are not texts a person reads: shown as facts (when, where, for what), not as rows.
CONSENT_FACT_FIELDS = ("version", "id", "kind", "before", "channels", "recipient", "guardian_age", "age_question")


def _consent_rows(consent: Any) -> tuple[tuple[Bi, str], ...]:
    age = getattr(consent, "guardian_age", "")
    return tuple(
        (CONSENT_ROWS[f.name].format(age=age) if f.name in CONSENT_ROWS else Bi.same(f.name), value)
        for f in fields(consent)
        if f.name not in CONSENT_FACT_FIELDS and isinstance(value := getattr(consent, f.name), str) and value
    )


def is_consent(value: Any) -> bool:
    """A consent is any of the dialog's dataclasses with a version, an agree and a decline button:
    the notice ([consent]), a separate consent ([[consents]]), or a kind added later."""
    names = {f.name for f in fields(value)} if hasattr(value, "__dataclass_fields__") else set()
    return {"version", "agree", "decline"} <= names


def dialog_consents(dialog: Any, where: str = "", depth: int = 3) -> list[tuple[str, Any]]:
    """Every consent in the dialog, found by its shape (also inside tables and lists of the dialog's own
    dataclasses), so a consent added to the file is never left out of the pack. A consent in a list is
    named by its id."""
    if is_consent(dialog):
        return [(where, dialog)]
    if depth == 0:
        return []
    if isinstance(dialog, dict):
        children = [(str(key), value) for key, value in dialog.items()]
    elif isinstance(dialog, tuple | list):
        children = [(str(getattr(value, "id", index)), value) for index, value in enumerate(dialog)]
    elif hasattr(dialog, "__dataclass_fields__"):
        children = [(f.name, getattr(dialog, f.name)) for f in fields(dialog) if not f.name.startswith("_")]
    else:
        return []
    found = []
    for name, value in children:
        found += dialog_consents(value, f"{where}.{name}" if where else name, depth - 1)
    return found


#: The parts of a dialog file the pack shows in its own sections: key -> None (shown whole) or the rule for
#: what is inside ("*": all of it; "<table>": the rule for each table under it; "[]": for each list item).
#: Anything else in the file is listed under "Everything else in the script": nothing is hidden.
_OPTION = dict.fromkeys(
    ("id", "label", "label_caregiver", "rules_out", "review", "wait", "wait_days", "criterion", "exclusive", "safety")
)
_QUESTION = dict.fromkeys(
    ("id", "kind", "text", "label", "text_caregiver", "criteria", "not_sure", "min", "max", "birth_year", "accept",
     "since", "ask_if")
) | {"options": {"[]": _OPTION}}  # fmt: skip
SHOWN: dict[str, Any] = {
    "dialog": dict.fromkeys(("id", "version", "trial", "title", "recruiting", "respondent_question")),
    # The consents section: texts as rows, the rest as facts (the under-age gate, when, for what, recipient).
    "consent": dict.fromkeys((*CONSENT_ROWS, *CONSENT_FACT_FIELDS)),
    "consents": {"[]": dict.fromkeys((*CONSENT_ROWS, *CONSENT_FACT_FIELDS))},
    "site": "*",
    # The trial's own words and its region, in their own section.
    "texts": "*",
    "region": "*",
    # The safety section: the texts, every help line, the phrase lists of each kind.
    "safety": dict.fromkeys(("text", "text_caregiver", "emergency_text", "emergency_text_caregiver", "unwell_now"))
    | {
        "lines": {"[]": dict.fromkeys(("id", "number", "label", "hours", "crisis"))},
        "signals": dict.fromkeys(SIGNAL_KINDS),
    },
    "study": "*",
    "to_confirm": "*",
    "criteria": {"<table>": dict.fromkeys(("lay", "label", "reason"))},
    "outcomes": {"<table>": dict.fromkeys(("title", "text", "text_caregiver", "title_caregiver"))},
    "questions": {"[]": _QUESTION},
}


def unshown_parts(data: Any, rule: Any = SHOWN, where: str = "") -> list[tuple[str, Any]]:
    """(dotted place, value) of every part of the raw dialog file that no section of the pack shows."""
    if rule is None or rule == "*":
        return []
    if isinstance(data, list) and "[]" in rule:
        found = []
        for index, item in enumerate(data):
            name = item.get("id", index) if isinstance(item, dict) else index
            found += unshown_parts(item, rule["[]"], f"{where}.{name}")
        return found
    if isinstance(data, dict) and "<table>" in rule:
        return [p for key, value in data.items() for p in unshown_parts(value, rule["<table>"], f"{where}.{key}")]
    if not isinstance(data, dict):
        return _leaves(data, where)
    found = []
    for key, value in data.items():
        place = f"{where}.{key}" if where else key
        found += unshown_parts(value, rule[key], place) if key in rule else _leaves(value, place)
    return found


def _leaves(value: Any, where: str) -> list[tuple[str, Any]]:
    """A part of the file as (place, text, number or list of them) rows."""
    if isinstance(value, dict):
        return [leaf for key, inner in value.items() for leaf in _leaves(inner, f"{where}.{key}")]
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        return [
            leaf
            for index, item in enumerate(value)
            for leaf in _leaves(item, f"{where}.{item.get('id', index) if isinstance(item, dict) else index}")
        ]
    return [(where, value)]


def shown_value(value: Any) -> str:
    """A value of the file as a reviewer reads it: texts as they are, lists one item per line."""
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _yes_no(value: bool) -> Bi:
    return P.YES if value else P.NO


def _kept(rows: int) -> Bi:
    return (P.KEPT_NOTHING if rows == 0 else P.KEPT_SOMETHING).format(rows=rows)


def _question(dialog: Dialog, words: Words, question_id: str) -> Bi:
    """'"Who is answering" (respondent)': a question as the pack names it in a sentence."""
    if not dialog.has_question(question_id):
        return Bi(f"({question_id})", f"（{question_id}）")
    return words.quoted(dialog.question(question_id).label) + Bi(f" ({question_id})", f"（{question_id}）")


def _channels(channels: tuple[str, ...]) -> Bi:
    if not channels:
        return P.ON_EVERY_CHANNEL
    names = Bi.join((P.CHANNEL_NAMES.get(c, Bi.same(c)) for c in channels), ", ", "、")
    return P.ON_CHANNELS.format(channels=names)


def _asked_where(dialog: Dialog, words: Words, seen: ConsentSeen) -> Bi:
    """Where the consent was met on each channel, as measured: the question asked right after it."""
    said = []
    for channel, then in seen.asked_before.items():
        name = P.CHANNEL_NAMES.get(channel, Bi.same(channel))
        if not then:
            said.append(P.NOT_ASKED.format(channel=name))
        elif dialog.has_question(then):
            said.append(P.ASKED_THEN.format(channel=name, question=_question(dialog, words, then)))
        else:
            said.append(P.ASKED_LAST.format(channel=name))
    return Bi.join(said, "; ", "；")


def _where_expected(consent: SeparateConsent, seen: ConsentSeen) -> bool:
    """The consent was asked right before its question on each channel it applies to, and nowhere else."""
    return all(
        (then == consent.before) if consent.applies_to(channel) else (then == "")
        for channel, then in seen.asked_before.items()
    )


def separate_consent_text(
    dialog: Dialog, consent: SeparateConsent, observed: Observations, words: Words
) -> ConsentText:
    """A [[consents]] item: for what, when (from the script and as measured), what each answer does (measured)."""
    seen = observed.consent(consent.id) or ConsentSeen(consent.id)
    number = dialog.position(consent.before) + 1 if dialog.has_question(consent.before) else "?"
    when = P.SEPARATE_WHEN.format(
        number=number,
        question=_question(dialog, words, consent.before),
        channels=_channels(consent.channels),
        measured=_asked_where(dialog, words, seen),
    )
    if_no = (
        P.SEPARATE_NO.format(
            channel=P.CHANNEL_NAMES.get(seen.declined_on, Bi.same(seen.declined_on)),
            shown=_yes_no(seen.declined_text_shown),
            kept=_kept(seen.kept_after_declining),
        )
        if seen.declined_on
        else P.SEPARATE_NOT_DECLINED
    )
    facts = [(P.CONSENT_KIND, P.CONSENT_KIND_WHY.get(consent.kind, Bi.same(consent.kind)))]
    if consent.recipient:
        facts.append((P.CONSENT_RECIPIENT, Bi.same(consent.recipient)))
    warnings = []
    if not _where_expected(consent, seen):
        expected = Bi.same(f"before = {consent.before!r}, channels = {list(consent.channels)!r}")
        warnings.append(P.CONSENT_NOT_AS_SCRIPTED.format(expected=expected))
    return ConsentText(
        name=P.CONSENT_KIND_NAMES.get(consent.kind, Bi.same(f"[[consents]] {consent.id}")),
        version=consent.version,
        source=f'{shown_path(dialog.source_path)} [[consents]] id = "{consent.id}"',
        when=when,
        if_yes=P.SEPARATE_YES.format(version=seen.recorded_version or "—"),
        if_no=if_no,
        rows=_consent_rows(consent),
        facts=tuple(facts),
        warnings=tuple(warnings),
    )


def under_age_fact(dialog: Dialog, observed: Observations, words: Words) -> Bi | None:
    """The under-age gate of the consent notice, in words, with what was measured; None without one."""
    gate = dialog.consent
    if not (gate.guardian_age and gate.under_age):
        return None
    at_question = Bi("", "")
    if dialog.has_question(gate.age_question):
        at_question = P.UNDER_AGE_AT_QUESTION.format(
            number=dialog.position(gate.age_question) + 1,
            question=_question(dialog, words, gate.age_question),
            age=gate.guardian_age,
        )
    return P.UNDER_AGE_GATE.format(
        age=gate.guardian_age,
        button=words.text(gate.under_age),
        at_question=at_question,
        measured=under_age_measured(observed),
    )


def under_age_measured(observed: Observations) -> Bi:
    return Bi.join(
        (P.UNDER_AGE_SEEN.format(where=u.where, shown=_yes_no(u.text_shown), kept=u.kept) for u in observed.under_age),
        "; ",
        "；",
    )


def pack_consents(dialog: Dialog, observed: Observations, words: Words) -> list[ConsentText]:
    """The dialog's consents (the notice, then each separate consent), then the ones whose texts live in
    the code (contact, contact after a sign of risk, reminder)."""
    consents = []
    for where, consent in dialog_consents(dialog):
        if isinstance(consent, SeparateConsent):
            consents.append(separate_consent_text(dialog, consent, observed, words))
            continue
        main = where == "consent"
        gate = under_age_fact(dialog, observed, words) if main else None
        consents.append(
            ConsentText(
                name=P.CONSENT_NOTICE if main else Bi.same(f"[{where}]"),
                version=consent.version,
                source=f"{shown_path(dialog.source_path)} [{where}]",
                when=P.CONSENT_NOTICE_WHEN if main else P.CONSENT_FROM_DIALOG.format(where=f"[{where}]"),
                if_yes=P.CONSENT_NOTICE_YES if main else Bi("—", "—"),
                if_no=P.CONSENT_NOTICE_NO.format(kept=_kept(observed.kept_after_declining)) if main else Bi("—", "—"),
                rows=_consent_rows(consent),
                facts=((P.CONSENT_UNDER_AGE_FACT.format(age=dialog.consent.guardian_age), gate),) if gate else (),
                warnings=tuple(
                    P.UNDER_AGE_KEPT.format(where=u.where, rows=u.kept)
                    for u in (observed.under_age if main else [])
                    if u.kept or not u.text_shown
                ),
            )
        )
    buttons = tuple((P.BUTTON.format(id=oid), label) for oid, label in CONSENT_OPTIONS)
    outcomes = outcome_titles(dialog, words, observed.contact_outcomes(), P.OR)
    consents.append(
        ConsentText(
            name=P.CONTACT_CONSENT,
            version=CONTACT_CONSENT_VERSION,
            source="bot/screening/presenter.py",
            when=P.CONTACT_CONSENT_WHEN.format(outcomes=outcomes),
            if_yes=P.CONTACT_CONSENT_YES,
            if_no=P.CONTACT_CONSENT_NO,
            rows=((P.CONSENT_TEXT, CONTACT_CONSENT_TEXT), *buttons),
        )
    )
    consents.append(urgent_contact_consent(dialog, observed, words, buttons))
    consents.append(
        ConsentText(
            name=P.REMINDER_CONSENT,
            version=REMINDER_CONSENT_VERSION,
            source="bot/screening/presenter.py",
            when=P.REMINDER_CONSENT_WHEN,
            if_yes=P.REMINDER_CONSENT_YES,
            if_no=P.REMINDER_CONSENT_NO,
            rows=((P.CONSENT_TEXT, OFFER_TEXT),),
        )
    )
    return consents


def urgent_contact_consent(
    dialog: Dialog, observed: Observations, words: Words, buttons: tuple[tuple[Bi, str], ...]
) -> ConsentText:
    """The offer of contact after a risk answer or typed words of suicide risk, whatever the outcome: when it was
    made, what the leads recorded, and what saying no showed, all as measured."""
    outcomes = observed.contact_outcomes(at_risk=True)
    when = (
        P.URGENT_CONTACT_WHEN.format(outcomes=outcome_titles(dialog, words, outcomes))
        if outcomes
        else P.URGENT_CONTACT_NOT_MEASURED
    )
    leads = [p for p in observed.at_risk() if p.lead_made]
    versions = ", ".join(dict.fromkeys(p.contact_version for p in leads)) or "—"
    declined = observed.urgent_declined
    return ConsentText(
        name=P.URGENT_CONTACT_CONSENT,
        version=URGENT_CONTACT_CONSENT_VERSION,
        source="bot/screening/presenter.py",
        when=when,
        if_yes=P.URGENT_CONTACT_YES.format(
            urgent=sum(1 for p in leads if p.lead_urgent), leads=len(leads), versions=versions
        ),
        if_no=P.URGENT_CONTACT_NO.format(
            site=_yes_no(declined.site_shown), crisis=_yes_no(declined.crisis_shown), lead=_yes_no(declined.lead_made)
        )
        if declined
        else P.URGENT_CONTACT_NOT_MEASURED,
        rows=((P.CONSENT_TEXT, URGENT_CONTACT_CONSENT_TEXT), *buttons),
    )


#: The [study] facts, named as the pack heads them.
STUDY_FACT_NAMES = {
    "version_date": P.VERSION_DATE,
    "official_title": P.OFFICIAL_TITLE,
    "sponsor": P.SPONSOR,
    "data_controller": P.DATA_CONTROLLER,
    "ethics_committee": P.ETHICS_COMMITTEE,
}


def unset_facts(study: Study) -> list[tuple[str, Bi]]:
    """The [study] facts still empty (in either language), each with where it goes in the dialog file."""
    unset = []
    for key, name in STUDY_FACT_NAMES.items():
        value = getattr(study, key)
        if not value or (isinstance(value, TwoLanguages) and not (value.en and value.zh)):
            unset.append((f"study.{key}", name))
    if not (study.ethics_committee_phone or study.ethics_committee_email):
        unset.append(("study.ethics_committee_phone / _email", P.ETHICS_CONTACT))
    return unset


def staff_facts(settings: Any) -> StaffFacts:
    if settings is None:
        return StaffFacts(chat_set=False, notify_contact=False, user_ids=0)
    from ..channels.telegram.staff import StaffOptions

    staff = StaffOptions.from_settings(settings)
    return StaffFacts(staff.chat_id is not None, staff.notify_contact, len(staff.user_ids))


def key_facts(settings: Any) -> KeyFacts:
    if settings is None:
        return KeyFacts(False, "~/.config/screening-bot/screening.key", False)
    path = settings.key_path()
    beside = path.resolve().parent == settings.db_path.resolve().parent
    return KeyFacts(bool(settings.screening_key.strip()), shown_path(path), beside)


def key_statement(pack: Pack) -> Bi:
    if pack.key.from_environment:
        return P.KEY_FROM_ENVIRONMENT
    return (P.KEY_BESIDE if pack.key.beside_database else P.KEY_APART).format(path=pack.key.path)


def catalog_hashes(locales_dir: Path, languages: list[str], dialog: Dialog) -> list[tuple[str, str]]:
    """(catalog file, SHA-256) per translated language of the code's domain and this dialog's own (wherever
    its catalogs are, bot.i18n.dialog_catalogs): the version names the script, these name its wording."""
    found = []
    own = dialog_catalogs(locales_dir, dialog.id, dialog.source_path)
    for lang in languages:
        for po in (locales_dir / lang / "LC_MESSAGES" / "messages.po", own / lang / "LC_MESSAGES" / f"{dialog.id}.po"):
            if po.exists():
                found.append((shown_path(po), hashlib.sha256(po.read_bytes()).hexdigest()))
    return found


def build_pack(
    screener: ScreeningService,
    retention: Retention,
    svg: str | None,
    observed: Observations,
    changes: list[Change] | None = None,
    old_version: str = "",
    settings: Any = None,
    today: datetime | None = None,
) -> tuple[Pack, Texts, Words]:
    languages = pack_languages(screener.locales_dir)
    texts = Texts(languages, screener.locales_dir, screener.dialog.id, screener.dialog.source_path)
    words = Words(screener.dialog, screener.locales_dir)
    site_texts = []
    english = screener.texts.site_text(screener.translator(SOURCE_LANGUAGE))
    for lang in languages:
        shown = screener.texts.site_text(screener.translator(lang))
        site_texts.append(Cell(lang, shown, lang != SOURCE_LANGUAGE and shown == english))
    crisis_shown = []
    for lang in languages:
        t = screener.translator(lang)
        text = screener.dialog.safety.text
        missing = lang != SOURCE_LANGUAGE and t.dialog(text) == text
        crisis_shown.append(Cell(lang, screener.texts.fill_safety_numbers(t.dialog(text), t), missing))
    raw = tomllib.loads(Path(screener.dialog.source_path).read_text("utf-8"))
    in_dialog = {text for _, text in dialog_texts(raw)}
    others = [texts(m) for m in code_messages(screener.locales_dir, in_dialog)]
    pack = Pack(
        dialog=screener.dialog,
        languages=languages,
        generated=(today or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        svg=svg,
        changes=changes,
        old_version=old_version,
        retention=retention,
        site=screener.site,
        site_texts=site_texts,
        other_messages=others,
        consents=pack_consents(screener.dialog, observed, words),
        observed=observed,
        crisis_shown=crisis_shown,
        unset_facts=unset_facts(screener.dialog.study),
        everything_else=unshown_parts(raw),
        staff=staff_facts(settings),
        key=key_facts(settings),
        catalog_hashes=catalog_hashes(screener.locales_dir, languages[1:], screener.dialog),
    )
    return pack, texts, words


# ---------------------------------------------------------------------- statements built from the pack's data


def outcome_then(pack: Pack, words: Words, outcome: str) -> Bi | None:
    """What an ordinary person (no risk answer, nothing typed) was shown after this outcome, as measured."""
    seen = next((p for p in pack.observed.people if p.plan.ordinary and p.reachable and p.outcome == outcome), None)
    if seen is None:
        return None
    then = []
    if seen.site_contact:
        then.append(Bi("the site contact message", "研究团队联系信息"))
    if seen.contact_offered:
        then.append(Bi("the offer to be contacted", "询问是否愿意被联系"))
    else:
        then.append(Bi("NO offer to be contacted", "不询问是否愿意被联系"))
    if seen.crisis_at_end:
        then.append(Bi("the crisis-help message", "危机求助信息"))
    if seen.reminder_offered:
        then.append(Bi("on Telegram, the offer of a reminder on the date", "在Telegram上，询问是否需要到期提醒"))
    return P.OUTCOME_THEN.format(then=Bi.join(then, "; ", "；"))


def safety_statement(pack: Pack, words: Words) -> list[tuple[Bi, bool]]:
    """What follows a risk answer or typed words of suicide risk, from the measured screenings: each case, then
    (as warnings) how many such people nobody hears of and the outcomes no case reached, or, when there is no
    gap, that every outcome was measured. (statement, is it a warning)"""
    cases = pack.observed.at_risk()
    if not cases:
        return []
    said = [
        P.SAFETY_CASE.format(
            outcome=words.quoted(pack.dialog.outcomes[p.outcome].title),
            offered=P.OFFERED if p.contact_offered else P.NOT_OFFERED,
            told=P.TOLD if p.staff_told else P.NOT_TOLD,
            urgent=P.URGENT if p.lead_urgent else P.NOT_URGENT,
        )
        for p in cases
    ]
    lines = [(P.SAFETY_AFTER.format(cases=Bi.join(said, "; ", "；")), False)]
    silent = sum(1 for p in cases if not (p.contact_offered and p.staff_told and p.lead_urgent))
    reached = {p.outcome for p in cases}
    missing = [o for o in OUTCOMES if o not in reached]
    if silent:
        lines.append((P.SAFETY_GAP.format(count=silent), True))
    if missing:
        lines.append((P.SAFETY_UNMEASURED.format(outcomes=_titles(pack, words, missing)), True))
    if not silent and not missing:
        lines.append((P.SAFETY_EVERY_OUTCOME.format(outcomes=_titles(pack, words, OUTCOMES)), False))
    return lines


def outcome_titles(dialog: Dialog, words: Words, outcomes: Any, last: Bi = P.AND) -> Bi:
    """The outcomes' titles, quoted, in the order of OUTCOMES: '"A", "B" and "C"'."""
    titles = [words.quoted(dialog.outcomes[o].title) for o in sorted(outcomes, key=OUTCOMES.index)]
    if len(titles) <= 1:
        return Bi.join(titles)
    return Bi.join(titles[:-1]) + last + titles[-1]


def _titles(pack: Pack, words: Words, outcomes: Any) -> Bi:
    return outcome_titles(pack.dialog, words, outcomes)


def contact_outcomes(pack: Pack, words: Words, at_risk: bool = False) -> Bi:
    """The outcomes after which contact was offered (to ordinary people, or to people at risk), measured."""
    return _titles(pack, words, pack.observed.contact_outcomes(at_risk))


def site_outcomes(pack: Pack, words: Words, at_risk: bool = False) -> Bi:
    shown = dict.fromkeys(
        p.outcome
        for p in pack.observed.people
        if p.reachable and p.site_contact and (p.plan.at_risk if at_risk else p.plan.ordinary)
    )
    return _titles(pack, words, shown)


def confirm_order() -> Bi:
    """The order the summary's confirm tries the outcomes (rules.outcome_of), in words."""
    order = ("not_eligible", "not_yet", "needs_review", "likely_candidate")
    return Bi.join((CONFIRM_RULE[name] + Bi.same(f" → {name}") for name in order), "; ", "；")


def safety_answers(dialog: Dialog, words: Words) -> list[Bi]:
    """Each answer that shows the crisis-help message, as 'question id: "label"'."""
    return [Bi.same(f"{q.id}: ") + words.quoted(o.label) for q in dialog.questions for o in q.options if o.safety]


def age_question(dialog: Dialog) -> tuple[int, Any] | None:
    """(number, question) of the question whose accepted range rules people out by age, if any."""
    for number, q in enumerate(dialog.questions, start=1):
        if q.accept is not None:
            return number, q
    return None


def minors_statement(pack: Pack, words: Words) -> list[Bi]:
    """PIPL art. 31: the under-age gate (measured) and the age rule of the question that asks the age."""
    lines = []
    gate = pack.dialog.consent
    if gate.guardian_age and gate.under_age:
        at_question = Bi("", "")
        if pack.dialog.has_question(gate.age_question):
            at_question = P.UNDER_AGE_AT_QUESTION.format(
                number=pack.dialog.position(gate.age_question) + 1,
                question=_question(pack.dialog, words, gate.age_question),
                age=gate.guardian_age,
            )
        lines.append(
            P.PIPL_MINORS_GATE.format(
                age=gate.guardian_age,
                button=words.text(gate.under_age),
                at_question=at_question,
                measured=under_age_measured(pack.observed),
            )
        )
    else:
        lines.append(P.PIPL_MINORS_NO_GATE)
    age = age_question(pack.dialog)
    if age:
        number, q = age
        lines.append(
            P.PIPL_MINORS_TEXT.format(
                number=number,
                question=words.text(q.label),
                min=q.accept.min,
                max=q.accept.max,
                criterion=words.criterion_name(q.accept.criterion),
            )
        )
    else:
        lines.append(P.PIPL_MINORS_NONE)
    return lines


def separate_consent_statements(pack: Pack, words: Words, kind: str) -> list[Bi]:
    """PIPL: each separate consent of one kind ("sensitive_data": art. 29, "cross_border": art. 39), as asked."""
    rule = P.ART_29 if kind == "sensitive_data" else P.ART_39
    found = [c for c in pack.dialog.consents if c.kind == kind]
    if not found:
        return [P.PIPL_NO_SEPARATE_CONSENT.format(rule=rule)]
    lines = []
    for consent in found:
        seen = pack.observed.consent(consent.id) or ConsentSeen(consent.id)
        lines.append(
            P.PIPL_SEPARATE_CONSENT.format(
                name=P.CONSENT_KIND_NAMES.get(kind, Bi.same(consent.id)),
                version=consent.version,
                channels=_channels(consent.channels),
                number=pack.dialog.position(consent.before) + 1 if pack.dialog.has_question(consent.before) else "?",
                question=_question(pack.dialog, words, consent.before),
                kept=_kept(seen.kept_after_declining) if seen.declined_on else P.SEPARATE_NOT_DECLINED,
            )
        )
    return lines


@dataclass(frozen=True)
class HelpLineRow:
    """One help line as the safety section lists it."""

    line: HelpLine
    #: The texts that give its number by its id ({emergency}), besides the crisis text's list.
    named_in: Bi
    #: What the site must confirm ([[to_confirm]] item), or None when no item names the line.
    to_confirm: Bi | None


def help_lines(dialog: Dialog) -> list[HelpLineRow]:
    texts = {
        "text": dialog.safety.text,
        "text_caregiver": dialog.safety.text_caregiver,
        "emergency_text": dialog.safety.emergency_text,
        "emergency_text_caregiver": dialog.safety.emergency_text_caregiver,
        "unwell_now": dialog.safety.unwell_now,
        "urgent_contact": URGENT_CONTACT_CONSENT_TEXT,
    }
    rows = []
    for line in dialog.safety.lines:
        named = [P.SAFETY_TEXT_NAMES[key] for key, text in texts.items() if "{" + line.id + "}" in text]
        part = f"safety.lines.{line.id}"
        item = next((i for i in dialog.to_confirm if i.part == part), None)
        rows.append(
            HelpLineRow(
                line=line,
                named_in=Bi.join(named, "; ", "；") if named else P.NOWHERE_ELSE,
                to_confirm=Bi(item.what.en, item.what.zh) if item else None,
            )
        )
    return rows


def safety_texts(dialog: Dialog) -> list[tuple[Bi, str]]:
    """(row heading, text) of the safety section's texts, as in the script."""
    s = dialog.safety
    return [
        (P.ROW_CRISIS, s.text),
        (P.ROW_CRISIS_CARER, s.text_caregiver),
        (P.ROW_EMERGENCY, s.emergency_text),
        (P.ROW_EMERGENCY_CARER, s.emergency_text_caregiver),
        (P.ROW_UNWELL, s.unwell_now),
    ]


def unwell_statement(pack: Pack) -> Bi:
    seen = pack.observed.unwell_now
    welcome, helped = seen if seen else (False, False)
    return P.SAFETY_WHERE.format(welcome=_yes_no(welcome), help=_yes_no(helped))


def signal_lists(dialog: Dialog) -> list[tuple[Bi, str, str]]:
    """(kind with its count, English phrases, Chinese phrases) for each kind of typed sign of risk."""
    found = []
    for kind, phrases in dialog.safety.signals.items():
        name = P.SIGNAL_LIST.format(kind=P.SIGNAL_NAMES.get(kind, Bi.same(kind)), count=len(phrases))
        english = " · ".join(p for p in phrases if not signals.is_han(p))
        chinese = " · ".join(p for p in phrases if signals.is_han(p))
        found.append((name, english, chinese))
    return found


def signal_rows(pack: Pack, words: Words) -> list[list[Bi]]:
    """The measured typed signs of risk, one row each: kind, what was typed (by whom, where), then the measures."""
    rows = []
    for s in pack.observed.signals:
        typed = (
            Bi(f'"{s.typed}"', f"“{s.typed}”") + Bi(", ", "，") + P.RESPONDENTS.get(s.respondent, Bi.same(s.respondent))
        )
        typed = typed + Bi(", at ", "，在") + _question(pack.dialog, words, s.question)
        rows.append(
            [
                P.SIGNAL_NAMES.get(s.kind, Bi.same(s.kind)),
                typed,
                _yes_no(s.help_shown),
                _yes_no(s.asked_again),
                Bi.same(str(s.stored)),
                Bi.same(str(s.counted)),
                _yes_no(s.marked),
            ]
        )
    return rows


def retention_rows(retention: Retention) -> list[tuple[Bi, Bi]]:
    days = P.DAYS
    return [
        (P.RETENTION_ROWS["unfinished"], days.format(days=retention.unfinished_days)),
        (P.RETENTION_ROWS["finished"], days.format(days=retention.not_eligible_days)),
        (P.RETENTION_ROWS["reminder"], days.format(days=retention.not_eligible_days)),
        (P.RETENTION_ROWS["open_lead"], P.NO_LIMIT),
        (P.RETENTION_ROWS["closed_lead"], days.format(days=retention.closed_lead_days)),
    ]


def lead_fields() -> list[tuple[str, Bi | None]]:
    """Every field of a lead with its description (None: not described yet)."""
    return [(f.name, LEAD_FIELDS.get(f.name)) for f in fields(Lead)]


# ---------------------------------------------------------------------- rendering


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.ethics", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = _markdown_cell
    env.filters["bi"] = to_bi
    env.filters["code"] = _inline_code
    env.globals.update(
        P=P,
        Bi=Bi,
        language_name=language_name,
        OUTCOMES=OUTCOMES,
        CONFIRM_RULE=CONFIRM_RULE,
        OUTCOME_STYLE=OUTCOME_STYLE,
        UNTRANSLATED=UNTRANSLATED,
        outcome_then=outcome_then,
        safety_statement=safety_statement,
        contact_outcomes=contact_outcomes,
        site_outcomes=site_outcomes,
        age_question=age_question,
        minors_statement=minors_statement,
        separate_consent_statements=separate_consent_statements,
        help_lines=help_lines,
        safety_texts=safety_texts,
        unwell_statement=unwell_statement,
        signal_lists=signal_lists,
        signal_rows=signal_rows,
        confirm_order=confirm_order,
        safety_answers=safety_answers,
        key_statement=key_statement,
        shown_value=shown_value,
        retention_rows=retention_rows,
        lead_fields=lead_fields,
    )
    return env


def _inline_code(text: Any) -> Markup:
    """A text for HTML with its `backticked` words as <code>, everything else escaped."""
    parts = str(text).split("`")
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if index % 2 else Markup.escape(part) for index, part in enumerate(parts)
    )


def _markdown_cell(text: Any) -> str:
    """A text safe inside a Markdown table cell: pipes escaped, lines joined with <br>."""
    return str(text).strip().replace("|", "\\|").replace("\n", "<br>")


def _inline_svg(svg: str | None) -> Markup | None:
    """Graphviz's SVG without its XML prolog, so it can sit inside the HTML."""
    if not svg:
        return None
    return Markup(svg[svg.index("<svg") :])


def render(pack: Pack, texts: Texts, words: Words, template: str, flow_file: str = "") -> str:
    env = _environment()
    context = {
        "pack": pack,
        "d": pack.dialog,
        "tr": texts,
        "w": words,
        "flow_file": flow_file,
        "svg": _inline_svg(pack.svg),
    }
    # Render once so every text is counted, then again with the counts in the header.
    env.get_template(template).render(**context, counts={})
    return env.get_template(template).render(**context, counts=texts.counts())


def file_stem(dialog: Dialog) -> str:
    return f"{dialog.id}-{dialog.version}"


def write_pack(
    out_dir: Path,
    screener: ScreeningService,
    retention: Retention,
    svg: str | None,
    observed: Observations,
    changes: list[Change] | None = None,
    old_version: str = "",
    settings: Any = None,
) -> list[Path]:
    """Write <id>-<version>.html, .md and (with a picture) -flow.svg into out_dir; return their paths.

    All of them or none: a failure (a full disk, say) leaves no half-written pack, and an
    older pack of the same version stays as it was."""
    stem = file_stem(screener.dialog)
    written = []
    flow_file = ""
    pack, texts, words = build_pack(screener, retention, svg, observed, changes, old_version, settings)
    with OutputFiles(out_dir) as out:
        if svg:
            flow_file = f"{stem}-flow.svg"
            written.append(out.write(flow_file, svg))
        for suffix, template in ((".html", "pack.html.j2"), (".md", "pack.md.j2")):
            written.append(out.write(f"{stem}{suffix}", render(pack, texts, words, template, flow_file)))
    return written
