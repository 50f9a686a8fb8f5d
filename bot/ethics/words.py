"""The dialog's rules in plain words, in English and Chinese, for people who approve them without reading TOML.

Every kind of `ask_if` test has its wording in CONDITION_WORDS; a kind without one stops the
pack with UnexplainedRule (and fails the tests), so no rule is ever printed blank.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..dialog.model import Condition, Dialog, Duration, Option, Question
from ..i18n import Translator
from .bilingual import Bi

#: Condition fields that say which answer is tested, not how.
NOT_A_TEST = ("question", "month_question")


class UnexplainedRule(ValueError):
    """A skip rule uses a kind of test the pack cannot yet put into words."""


def _options_or(labels: list[Bi]) -> Bi:
    if len(labels) <= 1:
        return Bi.join(labels)
    return Bi(
        ", ".join(b.en for b in labels[:-1]) + " or " + labels[-1].en,
        "、".join(b.zh for b in labels[:-1]) + "或" + labels[-1].zh,
    )


class Words:
    """Rules in words for one dialog; the dialog's own texts appear in Chinese as the catalog translates them."""

    def __init__(self, dialog: Dialog, locales_dir: Path) -> None:
        self.dialog = dialog
        self.zh = Translator.for_dialog("zh_Hans", locales_dir, dialog.id, dialog.source_path).either

    def text(self, text: str) -> Bi:
        return Bi(text, self.zh(text))

    def quoted(self, text: str) -> Bi:
        return Bi(f'"{text}"', f"“{self.zh(text)}”")

    def option_labels(self, question: Question, option_ids: tuple[str, ...]) -> list[Bi]:
        return [self.quoted(question.option(o).label) if question.option(o) else Bi.same(f'"{o}"') for o in option_ids]

    def criterion_in_both(self, criterion_id: str) -> str:
        """'I3 (Lupus diagnosed at least 24 weeks ago · 确诊狼疮至少24周)': one line for a heading."""
        label = self.dialog.criteria[criterion_id].label
        return f"{criterion_id} ({label} · {self.zh(label)})"

    def criterion_name(self, criterion_id: str) -> Bi:
        label = self.dialog.criteria[criterion_id].label
        return Bi(f"{criterion_id} ({label})", f"{criterion_id}（{self.zh(label)}）")

    # ------------------------------------------------------------------ skip rules

    def condition(self, condition: Condition) -> Bi:
        """One ask_if test, e.g. 'the answer to "Sex" (sex) is "Female" or "Prefer not to say"'."""
        source = self.dialog.question(condition.question)
        tests = []
        for f in fields(Condition):
            value = getattr(condition, f.name)
            if f.name in NOT_A_TEST or value in ((), None):
                continue
            if f.name not in CONDITION_WORDS:
                raise UnexplainedRule(
                    f"question {condition.question!r}: the pack has no words for the skip-rule test {f.name!r}; "
                    "add them to CONDITION_WORDS in bot/ethics/words.py"
                )
            tests.append(CONDITION_WORDS[f.name](self, source, condition, value))
        if not tests:
            raise UnexplainedRule(f"question {condition.question!r}: a skip rule that tests nothing")
        subject = Bi(f'the answer to "{source.label}" ({source.id})', f"“{self.zh(source.label)}”（{source.id}）的回答")
        return subject + Bi(" ", "") + Bi.join(tests, " and ", "，且")

    def ask_if(self, question: Question) -> Bi:
        """'' for a question everyone is asked, else when it is asked and that it is skipped otherwise."""
        if not question.ask_if:
            return Bi("", "")
        tests = Bi.join((self.condition(c) for c in question.ask_if), "; and ", "；并且")
        return Bi("Asked only if ", "仅当") + tests + Bi(". Otherwise it is skipped.", "时提问，否则跳过。")

    # ------------------------------------------------------------------ answers

    def option(self, question: Question, option: Option) -> Bi:
        """Where choosing this option leads, as the rules (bot/dialog/rules.py) decide it."""
        if option.rules_out:
            lead = Bi("Rules out: likely not eligible, criterion {c}.", "排除：可能不符合，标准 {c}。").format(
                c=self.criterion_name(option.rules_out)
            )
        elif option.wait is not None:
            lead = Bi(
                "Not yet: criterion {c} is met {wait} after the answer; the outcome gives that date.",
                "暂不：回答{wait}后符合标准 {c}；结果中给出该日期。",
            ).format(c=self.criterion_name(option.criterion), wait=duration_words(option.wait))
        elif option.review:
            # An answer naming no criterion (a "Not sure") flags every criterion of the question (rules.findings_for).
            criteria = (option.criterion,) if option.criterion else question.criteria
            if len(criteria) > 1:
                lead = Bi(
                    "Needs review by the study team (every criterion of the question: {c}).",
                    "需研究团队核查（本问题的所有标准：{c}）。",
                ).format(c=Bi.join((self.criterion_name(c) for c in criteria), "; ", "；"))
            elif criteria:
                lead = Bi("Needs review by the study team (criterion {c}).", "需研究团队核查（标准 {c}）。").format(
                    c=self.criterion_name(criteria[0])
                )
            else:
                lead = Bi("Needs review by the study team.", "需研究团队核查。")
        else:
            lead = Bi("Goes on to the next question.", "继续下一个问题。")
        extra = []
        if option.exclusive:
            extra.append(Bi("Cannot be chosen together with other answers.", "不能与其他答案同时选择。"))
        if option.safety:
            extra.append(
                Bi(
                    "Shows the crisis-help message at once. A risk answer: whatever the outcome, contact is offered "
                    "and the lead is marked urgent (measured: see the safety section).",
                    "立即显示危机求助信息。风险回答：无论结果如何，都询问是否愿意被联系，线索标为紧急（实测：见安全一节）。",
                )
            )
        return Bi.join([lead, *extra], " ", "")

    def typed_answer(self, question: Question) -> list[Bi]:
        """What a typed (number or year) answer may be and what it leads to."""
        lines = []
        if question.kind == "number":
            accepted = Bi("A number from {min} to {max}.", "{min}到{max}之间的数字。").format(
                min=question.min, max=question.max
            )
            if question.birth_year:
                accepted = accepted + Bi(" A year of birth is also accepted.", "也可以输入出生年份。")
            lines.append(accepted)
        if question.kind == "year":
            lines.append(
                Bi("A year with 4 digits, from {min} to this year.", "4位数的年份，{min}年至今年。").format(
                    min=question.min
                )
                if question.min
                else Bi("A year with 4 digits, up to this year.", "4位数的年份，不晚于今年。")
            )
        if question.accept is not None:
            a = question.accept
            lines.append(
                Bi(
                    "Outside {min} to {max}: rules out, criterion {c}. If a year of birth leaves doubt at the edge: "
                    "needs review.",
                    "不在{min}到{max}之间：排除，标准 {c}。如按出生年份在边界上无法确定：需核查。",
                ).format(min=a.min, max=a.max, c=self.criterion_name(a.criterion))
            )
        if question.since is not None:
            s = question.since
            parts = [Bi("year", "年份")]
            if s.month_question:
                parts.append(Bi("month", "月份"))
            if s.day_question:
                parts.append(Bi("day", "日期"))
            lines.append(
                Bi(
                    "If the date ({parts}) lies less than {span} before today: not yet, criterion {c}, with "
                    "the date it will be met. If the answers leave it open: needs review.",
                    "如日期（{parts}）距今不足{span}：暂不，标准 {c}，并给出符合的日期。如回答无法判断：需核查。",
                ).format(parts=Bi.join(parts), span=duration_words(s.at_least), c=self.criterion_name(s.criterion))
            )
        if question.not_sure:
            day_of = [q for q in self.dialog.questions if q.since and q.since.day_question == question.id]
            if day_of:
                lines.append(
                    Bi(
                        'A "Not sure" button: the date rule of {q} then uses the whole month.',
                        "“不确定”按钮：此时{q}的日期规则按整个月份判断。",
                    ).format(q=Bi.same(day_of[0].id))
                )
            else:
                lines.append(Bi('A "Not sure" button: needs review.', "“不确定”按钮：需核查。"))
        return lines


def _any_of(w: Words, source: Question, condition: Condition, value: Any) -> Bi:
    labels = _options_or(w.option_labels(source, value))
    return (Bi("includes {o}", "包括{o}") if source.kind == "multi" else Bi("is {o}", "是{o}")).format(o=labels)


def _none_of(w: Words, source: Question, condition: Condition, value: Any) -> Bi:
    labels = w.option_labels(source, value)
    if len(labels) == 1:
        pattern = Bi("does not include {o}", "不包括{o}") if source.kind == "multi" else Bi("is not {o}", "不是{o}")
        return pattern.format(o=labels[0])
    listed = Bi(" nor ".join(b.en for b in labels), "、".join(b.zh for b in labels))
    if source.kind == "multi":
        return Bi("includes neither {o}", "不包括{o}中的任何一项").format(o=listed)
    return Bi("is neither {o}", "不是{o}中的任何一项").format(o=listed)


def _years_ago_at_most(w: Words, source: Question, condition: Condition, value: Any) -> Bi:
    return Bi("is a year at most {n} year{s} before this year", "是今年或今年之前{n}年内的年份").format(
        n=value, s="" if value == 1 else "s"
    )


def _at_least(w: Words, source: Question, condition: Condition, value: Any) -> Bi:
    return Bi("is at least {v:g}", "不小于{v:g}").format(v=value)


def _at_most(w: Words, source: Question, condition: Condition, value: Any) -> Bi:
    return Bi("is at most {v:g}", "不大于{v:g}").format(v=value)


def _less_than_ago(w: Words, source: Question, condition: Condition, value: Any) -> Bi:
    span = duration_words(value)
    if condition.month_question:
        month = w.dialog.question(condition.month_question)
        return Bi(
            "gives, with a known month (question {m}), a date that may lie less than {n} before today",
            "连同已知的月份（问题 {m}）得出的日期可能距今不足{n}",
        ).format(m=month.id, n=span)
    return Bi("gives a date that may lie less than {n} before today", "得出的日期可能距今不足{n}").format(n=span)


def duration_words(duration: Duration) -> Bi:
    """ "12 weeks" / "12周": a time rule as the dialog file says it."""
    zh = {"days": "天", "weeks": "周", "months": "个月", "years": "年"}[duration.unit]
    return Bi(str(duration), f"{duration.amount}{zh}")


#: The words for each kind of ask_if test (a field of Condition). A new kind needs its words here.
CONDITION_WORDS: dict[str, Callable[[Words, Question, Condition, Any], Bi]] = {
    "any_of": _any_of,
    "none_of": _none_of,
    "years_ago_at_most": _years_ago_at_most,
    "at_least": _at_least,
    "at_most": _at_most,
    "less_than_ago": _less_than_ago,
}
