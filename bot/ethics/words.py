"""The dialog's rules in plain English words, for people who approve them without reading TOML."""

from __future__ import annotations

from ..dialog.model import Condition, Dialog, Option, Question


def quoted_options(question: Question, option_ids: tuple[str, ...]) -> str:
    labels = [f'"{question.option(o).label}"' if question.option(o) else f'"{o}"' for o in option_ids]
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " or " + labels[-1]


def condition_in_words(dialog: Dialog, condition: Condition) -> str:
    """One ask_if test, e.g. 'the answer to "Sex" is "Female" or "Prefer not to say"'."""
    source = dialog.question(condition.question)
    subject = f'the answer to "{source.label}" ({source.id})'
    parts = []
    if condition.any_of:
        verb = "includes" if source.kind == "multi" else "is"
        parts.append(f"{verb} {quoted_options(source, condition.any_of)}")
    if condition.none_of:
        verb = "includes neither" if source.kind == "multi" else "is neither"
        parts.append(f"{verb} {quoted_options(source, condition.none_of).replace(' or ', ' nor ')}")
    if condition.years_ago_at_most is not None:
        n = condition.years_ago_at_most
        parts.append(f"is a year at most {n} year{'s' if n != 1 else ''} before this year")
    if condition.at_least is not None:
        parts.append(f"is at least {condition.at_least:g}")
    if condition.at_most is not None:
        parts.append(f"is at most {condition.at_most:g}")
    return f"{subject} {' and '.join(parts)}"


def ask_if_in_words(dialog: Dialog, question: Question) -> str:
    """'' for a question everyone is asked, else when it is asked (it is skipped otherwise)."""
    if not question.ask_if:
        return ""
    return "Asked only if " + "; and ".join(condition_in_words(dialog, c) for c in question.ask_if) + "."


def criterion_name(dialog: Dialog, criterion_id: str) -> str:
    return f"{criterion_id} ({dialog.criteria[criterion_id].label})"


def option_in_words(dialog: Dialog, question: Question, option: Option) -> str:
    """Where choosing this option leads."""
    lead = "Goes on to the next question."
    if option.rules_out:
        lead = f"Rules out: likely not eligible, criterion {criterion_name(dialog, option.rules_out)}."
    elif option.wait_days:
        lead = (
            f"Not yet: criterion {criterion_name(dialog, option.criterion)} is met {option.wait_days} days "
            "after the answer; the outcome gives that date."
        )
    elif option.review:
        lead = "Needs review by the study team."
    extra = []
    if option.exclusive:
        extra.append("Cannot be chosen together with other answers.")
    if option.safety:
        extra.append("Shows the crisis-help message at once.")
    return " ".join([lead, *extra])


def typed_answer_in_words(dialog: Dialog, question: Question) -> list[str]:
    """What a typed (number or year) answer may be and what it leads to."""
    lines = []
    if question.kind == "number":
        accepted = f"A number from {question.min} to {question.max}."
        if question.birth_year:
            accepted += " A year of birth is also accepted."
        lines.append(accepted)
    if question.kind == "year":
        lines.append(f"A year with 4 digits, from {question.min} to this year." if question.min else "A year.")
    if question.accept is not None:
        a = question.accept
        lines.append(
            f"Outside {a.min} to {a.max}: rules out, criterion {criterion_name(dialog, a.criterion)}. "
            "If a year of birth leaves doubt at the edge: needs review."
        )
    if question.since is not None:
        s = question.since
        month = f" (and the month from {s.month_question})" if s.month_question else ""
        lines.append(
            f"Less than {s.weeks} weeks before today by the year{month}: not yet, criterion "
            f"{criterion_name(dialog, s.criterion)}, with the date it will be met. "
            "If the year cannot tell: needs review."
        )
    if question.not_sure:
        lines.append('A "Not sure" button: needs review.')
    return lines
