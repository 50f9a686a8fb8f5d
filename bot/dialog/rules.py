"""Reading answers and judging them against the trial's rules.

Pure functions over the dialog data and a conversation's answers: no I/O, no
clock of their own (callers pass `today`), so every rule can be tested directly.

Long on purpose: the protocol's rules in one pure module (parsing answers, skip rules,
findings, outcomes), so one test file covers them all.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from .model import LIKELY_CANDIDATE, NEEDS_REVIEW, NOT_ELIGIBLE, NOT_SURE, NOT_YET, Condition, Dialog, Question


def N_(message: str) -> str:
    """Mark a message for translation without translating it here (the engine has no language)."""
    return message


MAX_INPUT = 200  # longer input is never a valid answer: refuse it before parsing


@dataclass(frozen=True, slots=True)
class Invalid:
    """Why an input is not an answer; `message` is a msgid, `params` fill its placeholders."""

    message: str
    params: dict[str, Any]


Status = Literal["not_met", "unclear", "wait"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One answer that stands between a person and 'likely candidate'."""

    criterion: str
    question: str
    status: Status
    until: date | None = None
    safety: bool = False


def normalise(text: str) -> str:
    """Fold full-width digits and letters, case and spacing, so '３５' and ' 35 ' read the same."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def parse_answer(
    question: Question, text: str, today: date, words: dict[str, list[str]] | None = None
) -> Any | Invalid:
    """Turn typed text into a stored answer value, or say why it is not one.

    `words` maps option ids (and "not_sure") to the words a person may type for
    them in their language, besides the option's number.
    """
    words = words or {}
    if len(text) > MAX_INPUT:
        return Invalid(N_("That message is too long. Please answer in a few words."), {})
    cleaned = normalise(text)
    if not cleaned:
        return _expected(question)
    if question.kind in ("number", "year") and question.not_sure and cleaned in _folded(words.get(NOT_SURE, [])):
        return NOT_SURE
    if question.kind == "choice":
        return _parse_choice(question, cleaned, words)
    if question.kind == "multi":
        return _parse_multi(question, cleaned, words)
    if question.kind == "number":
        return _parse_number(question, cleaned, today)
    return _parse_year(question, cleaned, today)


def _folded(values: list[str]) -> set[str]:
    return {normalise(v) for v in values}


def _expected(question: Question) -> Invalid:
    if question.kind == "number":
        return Invalid(N_("Please type a number, like 35."), {})
    if question.kind == "year":
        return Invalid(N_("Please type a year with 4 digits, like 2021."), {})
    if question.kind == "multi":
        return Invalid(N_("Please choose from the list. You can type the numbers with commas, like 1, 3."), {})
    return Invalid(N_("Please choose one answer from the list, or type its number."), {})


def _match_option(question: Question, token: str, words: dict[str, list[str]]) -> str | None:
    if token.isdigit():
        index = int(token)
        return question.options[index - 1].id if 1 <= index <= len(question.options) else None
    for option in question.options:
        if token == option.id or token in _folded(words.get(option.id, [])):
            return option.id
    return None


def _parse_choice(question: Question, cleaned: str, words: dict[str, list[str]]) -> str | Invalid:
    picked = _match_option(question, cleaned, words)
    if picked is None:
        if cleaned.isdigit():
            return Invalid(N_("Please type a number from 1 to {count}."), {"count": len(question.options)})
        return _expected(question)
    return picked


def _parse_multi(question: Question, cleaned: str, words: dict[str, list[str]]) -> list[str] | Invalid:
    whole = _match_option(question, cleaned, words)
    tokens = [whole] if whole else re.split(r"\s*[,，、;；]\s*|\s+", cleaned)
    picked: list[str] = []
    for token in tokens:
        if not token:
            continue
        option_id = token if token == whole else _match_option(question, token, words)
        if option_id is None:
            if token.isdigit():
                return Invalid(N_("Please use numbers from 1 to {count}."), {"count": len(question.options)})
            return _expected(question)
        if option_id not in picked:
            picked.append(option_id)
    return check_multi(question, picked)


def check_multi(question: Question, picked: list[str]) -> list[str] | Invalid:
    """A multiple choice is valid when it is not empty and an exclusive option stands alone."""
    if not picked:
        return _expected(question)
    unknown = [p for p in picked if question.option(p) is None]
    if unknown:
        return _expected(question)
    exclusive = [p for p in picked if question.option(p).exclusive]  # type: ignore[union-attr]
    if exclusive and len(picked) > 1:
        label = question.option(exclusive[0]).label  # type: ignore[union-attr]
        return Invalid(N_('"{option}" cannot be chosen together with other answers.'), {"option": label})
    return [o.id for o in question.options if o.id in picked]


_NUMBER = re.compile(r"^(\d{1,4})(?:\s*(?:years?|yrs?|y|岁|歲|周岁|周歲|年|日|号|號|st|nd|rd|th))?(?:\s*old)?$")


def _parse_number(question: Question, cleaned: str, today: date) -> int | Invalid:
    match = _NUMBER.match(cleaned)
    if not match:
        return _expected(question)
    value = int(match.group(1))
    if question.birth_year and 1900 <= value <= today.year:
        return value
    low, high = question.min, question.max
    if (low is not None and value < low) or (high is not None and value > high):
        return Invalid(N_("Please check the number. It should be between {min} and {max}."), {"min": low, "max": high})
    return value


def _parse_year(question: Question, cleaned: str, today: date) -> int | Invalid:
    match = re.fullmatch(r"(\d{4})\s*年?", cleaned)
    if not match:
        return _expected(question)
    value = int(match.group(1))
    if value > today.year:
        return Invalid(N_("That year is in the future. Please check it."), {})
    if question.min is not None and value < question.min:
        return Invalid(N_("Please check the year. It should be {min} or later."), {"min": question.min})
    return value


def age_range(question: Question, value: int, today: date) -> tuple[int, int]:
    """The youngest and oldest age a typed number can mean (a birth year leaves a year's doubt)."""
    if question.birth_year and value >= 1900:
        return today.year - value - 1, today.year - value
    return value, value


def condition_holds(condition: Condition, answers: dict[str, dict[str, Any]], today: date) -> bool:
    """True when an earlier answer makes a question relevant; a missing answer never does."""
    entry = answers.get(condition.question)
    if entry is None:
        return False
    value = entry["value"]
    # Plain membership tests, no sets built: this runs for every question on every update.
    chosen = value if isinstance(value, list) else (value,)
    if condition.any_of and not any(v in condition.any_of for v in chosen):
        return False
    if condition.none_of and any(v in condition.none_of for v in chosen):
        return False
    number = value if isinstance(value, int) else None
    if condition.years_ago_at_most is not None and (
        number is None or today.year - number > condition.years_ago_at_most
    ):
        return False
    if condition.at_least is not None and (number is None or number < condition.at_least):
        return False
    if condition.less_than_ago is not None:
        span = _date_span(number, answers, condition.month_question, "")
        if span is None or condition.less_than_ago.after(span[1]) <= today:
            return False
    return condition.at_most is None or (number is not None and number <= condition.at_most)


def _date_span(
    year: int | None, answers: dict[str, dict[str, Any]], month_question: str, day_question: str
) -> tuple[date, date] | None:
    """The earliest and latest day a year (with its month and day answers) can mean; None when the
    month is asked but not known (then a day cannot narrow it)."""
    if year is None:
        return None
    month_entry = answers.get(month_question) if month_question else None
    if month_entry is None or not str(month_entry["value"]).isdigit():
        return None if month_question and month_entry is not None else (date(year, 1, 1), date(year, 12, 31))
    month = int(month_entry["value"])
    last = calendar.monthrange(year, month)[1]
    day_entry = answers.get(day_question) if day_question else None
    if day_entry is not None and isinstance(day_entry["value"], int):
        day = date(year, month, min(max(day_entry["value"], 1), last))
        return day, day
    return date(year, month, 1), date(year, month, last)


def should_ask(question: Question, answers: dict[str, dict[str, Any]], today: date) -> bool:
    """True when every `ask_if` condition holds (a plain loop: it runs about 30 times per update)."""
    for condition in question.ask_if:  # noqa: SIM110 (no generator: hot path)
        if not condition_holds(condition, answers, today):
            return False
    return True


def asked_questions(dialog: Dialog, answers: dict[str, dict[str, Any]], today: date) -> list[Question]:
    """Questions that apply given these answers, in dialog order (most have no `ask_if`: no call for them)."""
    return [q for q in dialog.questions if not q.ask_if or should_ask(q, answers, today)]


def may_still_apply(
    dialog: Dialog, question: Question, answers: dict[str, dict[str, Any]], today: date, here: int
) -> bool:
    """True unless the answers so far already skip this question. A condition on a question not
    reached yet (at or after position `here`) may still hold; one on a question before `here`
    is decided (a question skipped on the way has no answer, and that decides it too)."""
    for condition in question.ask_if:
        if dialog.position(condition.question) >= here:
            continue
        if not condition_holds(condition, answers, today):
            return False
    return True


def safety_answers(dialog: Dialog, answers: dict[str, dict[str, Any]], today: date) -> list[str]:
    """The questions (ids, in dialog order) whose answer is marked `safety`: a person who may be at risk."""
    found = []
    for question in asked_questions(dialog, answers, today):
        entry = answers.get(question.id)
        if entry is None or question.kind not in ("choice", "multi"):
            continue
        value = entry["value"]
        picked = value if isinstance(value, list) else [value]
        if any((option := question.option(p)) is not None and option.safety for p in picked):
            found.append(question.id)
    return found


def _answered_on(entry: dict[str, Any], today: date) -> date:
    on = entry.get("on")
    return date.fromisoformat(on) if on else today


def findings_for(dialog: Dialog, question: Question, answers: dict[str, dict[str, Any]], today: date) -> list[Finding]:
    """What one answer means for the rules, or [] when it raises no concern.

    Each finding names the criterion the answer bears on: the option's `rules_out` or
    `criterion`. An answer that names none (a "Not sure") flags every criterion of the
    question: the study team must check all of them, not only the first."""
    entry = answers.get(question.id)
    if entry is None:
        return []
    value = entry["value"]
    if value == NOT_SURE and question.kind in ("number", "year"):
        if _is_day_of_a_date(dialog, question):
            return []  # the month still bounds the date: the year question's rule judges it
        return [Finding(criterion, question.id, "unclear") for criterion in question.criteria]
    if question.kind in ("choice", "multi"):
        found = []
        for option_id in value if isinstance(value, list) else [value]:
            option = question.option(option_id)
            if option is None:
                continue
            if option.rules_out:
                found.append(Finding(option.rules_out, question.id, "not_met", safety=option.safety))
            elif option.wait is not None:
                until = option.wait.after(_answered_on(entry, today))
                if until > today:
                    found.append(Finding(option.criterion, question.id, "wait", until=until, safety=option.safety))
            elif option.review:
                criteria = (option.criterion,) if option.criterion else question.criteria
                found += [Finding(c, question.id, "unclear", safety=option.safety) for c in criteria]
        return found
    if question.accept is not None:
        youngest, oldest = age_range(question, value, today)
        low, high = question.accept.min, question.accept.max
        if oldest < low or youngest > high:
            return [Finding(question.accept.criterion, question.id, "not_met")]
        if youngest < low or oldest > high:
            return [Finding(question.accept.criterion, question.id, "unclear")]
    if question.since is not None:
        return _since_findings(question, value, answers, today)
    return []


def _since_findings(question: Question, year: int, answers: dict[str, dict[str, Any]], today: date) -> list[Finding]:
    since = question.since
    assert since is not None
    earliest, latest = _date_span(year, answers, since.month_question, since.day_question) or (
        date(year, 1, 1),
        date(year, 12, 31),
    )
    if since.at_least.after(latest) <= today:
        return []
    if since.at_least.after(earliest) > today:
        return [Finding(since.criterion, question.id, "wait", until=since.at_least.after(latest))]
    return [Finding(since.criterion, question.id, "unclear")]


def ages_with_time(question: Question, value: Any) -> bool:
    """An answer that is likely different some weeks later: a wait ('in the last 4 weeks') or an age in years.
    Such an answer is shown again after a reminder, but not offered back as "same as before"."""
    if question.kind in ("choice", "multi"):
        picked = value if isinstance(value, list) else [value]
        return any((o := question.option(p)) is not None and o.wait is not None for p in picked)
    if question.accept is not None and isinstance(value, int):
        return not (question.birth_year and value >= 1900)
    return False


def _is_day_of_a_date(dialog: Dialog, question: Question) -> bool:
    return any(q.since and q.since.day_question == question.id for q in dialog.questions)


def assess(dialog: Dialog, answers: dict[str, dict[str, Any]], today: date) -> list[Finding]:
    """Every finding over the questions that apply, in dialog order."""
    found: list[Finding] = []
    for question in asked_questions(dialog, answers, today):
        found.extend(findings_for(dialog, question, answers, today))
    return found


def outcome_of(findings: list[Finding]) -> str:
    """The trial's outcome rules: a clear no wins; then time; then doubt; else a likely candidate."""
    statuses = {f.status for f in findings}
    if "not_met" in statuses:
        return NOT_ELIGIBLE
    if "wait" in statuses:
        return NOT_YET
    if "unclear" in statuses:
        return NEEDS_REVIEW
    return LIKELY_CANDIDATE


def ready_from(findings: list[Finding]) -> date | None:
    """The day every time rule is met: the latest of the waits."""
    waits = [f.until for f in findings if f.status == "wait" and f.until]
    return max(waits) if waits else None


CriterionResult = Literal["reported", "none_reported", "not_met", "not_yet", "unclear", "study_team"]
#: A self-report never proves a rule is met: the answers only say nothing stands against it.
#: "reported" for an inclusion rule (the answers say it holds), "none_reported" for an exclusion
#: rule (nothing was reported). Leads stored before version 1.3.0 say "met" for both.
SELF_REPORTED = ("reported", "none_reported")


def self_reported(kind: str) -> CriterionResult:
    return "reported" if kind == "inclusion" else "none_reported"


def criterion_results(dialog: Dialog, answers: dict[str, dict[str, Any]], today: date) -> dict[str, CriterionResult]:
    """Each criterion's result for the study team: reported / none reported (as the person said, not
    checked), not met, not yet, unclear, or theirs to check."""
    findings = assess(dialog, answers, today)
    asked = {q.id for q in asked_questions(dialog, answers, today)}
    answered_criteria = {cid for q in dialog.questions if q.id in asked and q.id in answers for cid in q.criteria}
    results: dict[str, CriterionResult] = {}
    rank = {"not_met": 3, "not_yet": 2, "unclear": 1}
    for criterion in dialog.criteria.values():
        if criterion.lay == "no":
            results[criterion.id] = "study_team"
        elif criterion.id in answered_criteria:
            results[criterion.id] = self_reported(criterion.kind)
        else:
            results[criterion.id] = "unclear"
    for f in findings:
        status: CriterionResult = "not_yet" if f.status == "wait" else f.status
        current = results.get(f.criterion, "none_reported")
        if current in (*SELF_REPORTED, "study_team") or rank[status] > rank.get(current, 0):
            results[f.criterion] = status
    return results
