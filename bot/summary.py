"""The summary a person keeps: their answers and each rule's result, to show their own doctor.

Bilingual (the person's language first, then the other of English and Chinese), dated,
with the dialog version, and plain that it is not a medical decision. Each rule's
result is `rules.criterion_results`, the same function that fills a lead's criteria
(bot/contact.py), so what the person keeps and what the study team sees agree.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from .dialog import rules
from .dialog.engine import Conversation
from .dialog.model import NOT_ELIGIBLE, OUTCOMES, Criterion
from .i18n import Translator, _
from .replies import Button, Command, Prompt, Reply

if TYPE_CHECKING:
    from .screening import Screener

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


def results_with_dates(screener: Screener, conv: Conversation) -> list[tuple[str, str, date | None]]:
    """(criterion id, result, date for "not yet") in dialog order; "not_asked" when no question about it was
    answered (a screening that ended early), which `criterion_results` counts as unclear."""
    dialog, today = screener.dialog, screener.today()
    results = rules.criterion_results(dialog, conv.answers, today)
    findings = rules.assess(dialog, conv.answers, today)
    answered = {c for q, _value in screener.engine.summary(conv) for c in q.criteria}
    found = {f.criterion for f in findings}
    rows = []
    for cid, result in results.items():
        until = max((f.until for f in findings if f.criterion == cid and f.status == "wait" and f.until), default=None)
        shown = "not_asked" if result == "unclear" and cid not in answered and cid not in found else result
        rows.append((cid, shown, until))
    return rows


def summary_text(screener: Screener, conv: Conversation, t: Translator) -> str:
    """The whole summary in one language."""
    dialog = screener.dialog
    lines = [
        t(_("Screening summary: {trial}"), trial=dialog.trial),
        t(dialog.title),
        t(_("Date: {date}. Question list version: {version}."), date=t.date(screener.today()), version=dialog.version),
        t(_("This is not a medical decision. It only shows the answers given in a screening chat.")),
        t(
            _("Only the study team can decide who may join. Please show this to the patient's own doctor.")
            if conv.respondent == "caregiver"
            else _("Only the study team can decide who may join. Please show this to your own doctor.")
        ),
        "",
        t(_("Answers:")),
    ]
    for question, value in screener.engine.summary(conv):
        answer = screener.answer_text(question, value, conv, t)
        lines.append("• " + t(_("{label}: {answer}"), label=t(question.label), answer=answer))
    lines += ["", t(_("Result for each study rule:"))]
    for cid, result, until in results_with_dates(screener, conv):
        word = t(RESULT_WORDS[result], date=t.date(until)) if result == "not_yet" and until else t(RESULT_WORDS[result])
        lines.append("• " + t(_("{label}: {answer}"), label=t(dialog.criteria[cid].label), answer=word))
    if conv.outcome:
        lines += ["", t(_("Result: {outcome}"), outcome=t(dialog.outcomes[conv.outcome].heading(conv.respondent)))]
    return "\n".join(lines)


def other_language(language: str, available: list[str]) -> str:
    """English for a Chinese reader, Simplified Chinese for everyone else."""
    other = "en" if language.startswith("zh") else "zh_Hans"
    return other if other in available or other == "en" else ""


def summary_reply(screener: Screener, conv: Conversation, t: Translator) -> Reply:
    """/summary: both languages, then buttons to change an answer (into the existing edit flow)."""
    if conv.state not in OUTCOMES:
        return Reply([t(_("Your summary is ready when you reach the end of the questions."))], screener.prompt(conv))
    texts = [summary_text(screener, conv, t)]
    other = other_language(conv.language, screener.languages)
    if other and other != conv.language:
        texts.append(summary_text(screener, conv, screener.translator(other)))
    current = screener.prompt(conv)
    if conv.state == NOT_ELIGIBLE:
        changeable = [q for q, _v in screener.engine.summary(conv) if q.id == conv.last_question]
    else:
        changeable = [q for q, _v in screener.engine.summary(conv)]
    buttons = [Button(t(_("Change: {label}"), label=t(q.label)), Command("change", q.id)) for q in changeable]
    prompt = Prompt(
        current.kind,
        current.text + "\n\n" + t(_("Is an answer wrong? You can change it here.")),
        question=current.question,
        options=[*current.options, *buttons],
        navigation=current.navigation,
    )
    return Reply(texts, prompt)
