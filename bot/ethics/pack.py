"""Assemble the ethics-committee pack from the running dialog, and write it as HTML and Markdown.

Every text comes from the dialog file and the Babel catalogs through `Translator`,
exactly as the bot would say it; a text with no translation is shown marked, never
silently in English. The HTML is one self-contained file (inline CSS, the flow SVG
embedded) that prints to PDF from a browser.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..dialog.extract import dialog_texts
from ..dialog.model import NEEDS_REVIEW, NOT_ELIGIBLE, NOT_YET, OUTCOMES, Dialog
from ..files import OutputFiles
from ..i18n import SOURCE_LANGUAGE, Translator, available_languages, language_name
from ..retention import Retention
from ..screening import Screener
from ..store.leads import CLOSE_REASONS, STATUSES
from .diff import Change
from .flow import CONFIRM_RULE, OUTCOME_STYLE
from .words import ask_if_in_words, criterion_name, option_in_words, typed_answer_in_words

#: The languages the trial screens in; more appear when locales/ has their catalogs.
TRIAL_LANGUAGES = (SOURCE_LANGUAGE, "zh_Hans")
UNTRANSLATED = "NOT TRANSLATED"

#: What the study team receives about a person (a "lead"), and why each field is there.
STAFF_NOTIFICATION_FIELDS = (
    ("Outcome", "likely candidate, needs review, likely not eligible or not yet"),
    ("Reasons", "the criteria (with ids) behind the outcome, and the date for a 'not yet'"),
    ("Answers needing review", "the questions whose answers the study team must check"),
    ("Respondent type", "the patient, or a carer answering for them"),
    ("Language", "the language the person screened in, so the team can reply in it"),
    (
        "Contact details",
        "only what the person chose to give, so the team can reach them; stored encrypted, and left out of "
        "the Telegram staff chat's post unless STAFF_NOTIFY_CONTACT=1",
    ),
    ("Dialog version", "the approved version (and content hash) of the questions they answered"),
    (
        "Status",
        "set by the study team, each change kept with who, when and a note: "
        + ", ".join(status.replace("_", " ") for status in STATUSES)
        + " (closed with a reason: "
        + ", ".join(reason.replace("_", " ") for reason in CLOSE_REASONS)
        + ")",
    ),
    ("Criterion results", "for each criterion: met, not met, not yet, unclear, or for the study team to check"),
    ("Campaign source", "where the person came from (e.g. a poster's QR code), never who they are"),
)

OUTCOME_SHOWS = {
    "likely_candidate": "Shown when no answer rules out, none needs review and no time rule waits. "
    "Followed by the site contact message.",
    NEEDS_REVIEW: "Shown when an answer needs a check by the study team (and none rules out or waits). "
    "Followed by the list of answers to check and the site contact message.",
    NOT_ELIGIBLE: "Shown when an answer rules out. Followed by the reason(s) in plain words (below, by criterion).",
    NOT_YET: "Shown when only time stands in the way; {date} becomes the day every time rule is met. "
    "Followed by each time rule with its date, and any answers to check.",
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


@dataclass
class Pack:
    dialog: Dialog
    languages: list[str]
    generated: str
    svg: str | None
    changes: list[Change] | None
    old_version: str
    retention: Retention
    site_texts: list[Cell]
    other_messages: list[Wording]

    @property
    def dialog_file(self) -> str:
        """The dialog file as the team names it (relative to the checkout when it is inside it)."""
        path = Path(self.dialog.source_path).resolve()
        return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def pack_languages(locales_dir: Path) -> list[str]:
    """English, the trial's Chinese (even before its catalog lands, so gaps show), then any other catalog."""
    return list(dict.fromkeys([*TRIAL_LANGUAGES, *available_languages(locales_dir)]))


class Texts:
    """Translate dialog texts for the pack and count what is missing in each language."""

    def __init__(self, languages: list[str], locales_dir: Path) -> None:
        self.translators = {lang: Translator(lang, locales_dir) for lang in languages}
        self.seen: dict[str, set[str]] = {lang: set() for lang in languages}
        self.done: dict[str, set[str]] = {lang: set() for lang in languages}

    def __call__(self, text: str) -> Wording:
        cells = []
        for lang, t in self.translators.items():
            shown = t(text) if text else ""
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


def build_pack(
    screener: Screener,
    retention: Retention,
    svg: str | None,
    changes: list[Change] | None = None,
    old_version: str = "",
    today: datetime | None = None,
) -> tuple[Pack, Texts]:
    languages = pack_languages(screener.locales_dir)
    texts = Texts(languages, screener.locales_dir)
    site_texts = []
    for lang in languages:
        t = Translator(lang, screener.locales_dir)
        shown = screener.site_text(t)
        english = screener.site_text(Translator(SOURCE_LANGUAGE, screener.locales_dir))
        site_texts.append(Cell(lang, shown, lang != SOURCE_LANGUAGE and shown == english))
    in_dialog = {text for _, text in dialog_texts(tomllib.loads(Path(screener.dialog.source_path).read_text("utf-8")))}
    others = [texts(m) for m in code_messages(screener.locales_dir, in_dialog)]
    pack = Pack(
        dialog=screener.dialog,
        languages=languages,
        generated=(today or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        svg=svg,
        changes=changes,
        old_version=old_version,
        retention=retention,
        site_texts=site_texts,
        other_messages=others,
    )
    return pack, texts


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.ethics", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = _markdown_cell
    env.globals.update(
        language_name=language_name,
        ask_if_in_words=ask_if_in_words,
        option_in_words=option_in_words,
        typed_answer_in_words=typed_answer_in_words,
        criterion_name=criterion_name,
        OUTCOMES=OUTCOMES,
        OUTCOME_SHOWS=OUTCOME_SHOWS,
        CONFIRM_RULE=CONFIRM_RULE,
        OUTCOME_STYLE=OUTCOME_STYLE,
        STAFF_NOTIFICATION_FIELDS=STAFF_NOTIFICATION_FIELDS,
        UNTRANSLATED=UNTRANSLATED,
    )
    return env


def _markdown_cell(text: Any) -> str:
    """A text safe inside a Markdown table cell: pipes escaped, lines joined with <br>."""
    return str(text).strip().replace("|", "\\|").replace("\n", "<br>")


def _inline_svg(svg: str | None) -> Markup | None:
    """Graphviz's SVG without its XML prolog, so it can sit inside the HTML."""
    if not svg:
        return None
    return Markup(svg[svg.index("<svg") :])


def render(pack: Pack, texts: Texts, template: str, flow_file: str = "") -> str:
    env = _environment()
    context = {"pack": pack, "d": pack.dialog, "tr": texts, "flow_file": flow_file, "svg": _inline_svg(pack.svg)}
    # Render once so every text is counted, then again with the counts in the header.
    env.get_template(template).render(**context, counts={})
    return env.get_template(template).render(**context, counts=texts.counts())


def file_stem(dialog: Dialog) -> str:
    return f"{dialog.id}-{dialog.version}"


def write_pack(
    out_dir: Path,
    screener: Screener,
    retention: Retention,
    svg: str | None,
    changes: list[Change] | None = None,
    old_version: str = "",
) -> list[Path]:
    """Write <id>-<version>.html, .md and (with a picture) -flow.svg into out_dir; return their paths.

    All of them or none: a failure (a full disk, say) leaves no half-written pack, and an
    older pack of the same version stays as it was."""
    stem = file_stem(screener.dialog)
    written = []
    flow_file = ""
    pack, texts = build_pack(screener, retention, svg, changes, old_version)
    with OutputFiles(out_dir) as out:
        if svg:
            flow_file = f"{stem}-flow.svg"
            written.append(out.write(flow_file, svg))
        for suffix, template in ((".html", "pack.html.j2"), (".md", "pack.md.j2")):
            written.append(out.write(f"{stem}{suffix}", render(pack, texts, template, flow_file)))
    return written
