"""The summary a person keeps: their answers and each rule's result, to show their own doctor.

Bilingual (the person's language first, then the other of English and Chinese), dated,
with the dialog version, and plain that it is not a medical decision. Each rule's
result is `rules.criterion_results`, the same function that fills a lead's criteria
(bot/contact.py), so what the person keeps and what the study team sees agree.
"""

from __future__ import annotations

from datetime import date

from ..dialog import rules
from ..dialog.engine import Conversation, Engine
from ..dialog.model import NOT_ELIGIBLE, Criterion
from ..i18n import Translator, _
from ..replies import Button, Command, Prompt
from .texts import Texts

#: A self-report is never shown as "met": the answers say nothing stands against the rule, no more.
RESULT_WORDS = {
    "reported": _("reported, not checked"),
    "none_reported": _("none reported"),
    "not_met": _("not met"),
    "not_yet": _("not yet (from about {date})"),
    "unclear": _("unclear: the study team will check"),
    "study_team": _("checked by the study team"),
    "not_asked": _("not asked"),
}


def shown_result(result: str, criterion: Criterion | None) -> str:
    """A criterion result as it is shown: "met" (stored by versions before 1.3.0) becomes the
    self-report it always was, "reported" for an inclusion rule, "none reported" for an exclusion."""
    if result == "met":
        return rules.self_reported(criterion.kind if criterion else "exclusion")
    return result


def results_with_dates(engine: Engine, conv: Conversation) -> list[tuple[str, str, date | None]]:
    """(criterion id, result, date for "not yet") in dialog order; "not_asked" when no question about it was
    answered (a screening that ended early), which `criterion_results` counts as unclear."""
    dialog, today = engine.dialog, engine.today()
    results = rules.criterion_results(dialog, conv.answers, today)
    findings = rules.assess(dialog, conv.answers, today)
    answered = {c for q, _value in engine.summary(conv) for c in q.criteria}
    found = {f.criterion for f in findings}
    rows = []
    for cid, result in results.items():
        until = max((f.until for f in findings if f.criterion == cid and f.status == "wait" and f.until), default=None)
        shown = "not_asked" if result == "unclear" and cid not in answered and cid not in found else result
        rows.append((cid, shown, until))
    return rows


def summary_text(engine: Engine, texts: Texts, conv: Conversation, t: Translator) -> str:
    """The whole summary in one language."""
    dialog = engine.dialog
    respondent = dialog.respondent_of(conv.answers)
    lines = [
        t(_("Screening summary: {trial}"), trial=dialog.trial),
        t.dialog(dialog.title),
        t(_("Date: {date}. Question list version: {version}."), date=t.date(engine.today()), version=dialog.version),
        t(_("This is not a medical decision. It only shows the answers given in a screening chat.")),
        t(
            _("Only the study team can decide who may join. Please show this to the patient's own doctor.")
            if respondent == "caregiver"
            else _("Only the study team can decide who may join. Please show this to your own doctor.")
        ),
        "",
        t(_("Answers:")),
    ]
    for question, value in engine.summary(conv):
        answer = texts.answer_text(question, value, conv, t)
        lines.append("• " + t(_("{label}: {answer}"), label=t.dialog(question.label), answer=answer))
    lines += ["", t(_("Result for each study rule:"))]
    for cid, result, until in results_with_dates(engine, conv):
        word = t(RESULT_WORDS[result], date=t.date(until)) if result == "not_yet" and until else t(RESULT_WORDS[result])
        lines.append("• " + t(_("{label}: {answer}"), label=t.dialog(dialog.criteria[cid].label), answer=word))
    if conv.outcome:
        heading = dialog.outcomes[conv.outcome].heading(respondent)
        lines += ["", t(_("Result: {outcome}"), outcome=t.dialog(heading))]
    return "\n".join(lines)


def other_language(language: str, available: list[str]) -> str:
    """English for a Chinese reader, Simplified Chinese for everyone else."""
    other = "en" if language.startswith("zh") else "zh_Hans"
    return other if other in available or other == "en" else ""


def summary_notices(engine: Engine, texts: Texts, conv: Conversation, t: Translator) -> list[str]:
    """/summary: the person's language, then the other of English and Chinese."""
    notices = [summary_text(engine, texts, conv, t)]
    other = other_language(conv.language, texts.languages)
    if other and other != conv.language:
        notices.append(summary_text(engine, texts, conv, texts.translator(other)))
    return notices


def with_change_buttons(engine: Engine, conv: Conversation, current: Prompt, t: Translator) -> Prompt:
    """The prompt under the summary, with buttons to change an answer (into the existing edit flow)."""
    answered = [q for q, _v in engine.summary(conv)]
    changeable = [q for q in answered if q.id == conv.last_question] if conv.outcome == NOT_ELIGIBLE else answered
    buttons = [Button(t(_("Change: {label}"), label=t.dialog(q.label)), Command("change", q.id)) for q in changeable]
    return Prompt(
        current.kind,
        current.text + "\n\n" + t(_("Is an answer wrong? You can change it here.")),
        question=current.question,
        options=[*current.options, *buttons],
        navigation=current.navigation,
    )
