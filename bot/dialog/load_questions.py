"""Reading the dialog file's criteria and questions: options, skip rules (`ask_if`) and time rules."""

from __future__ import annotations

from typing import Any

from .checker import CRITERION_KINDS, KINDS, LAY, Checker
from .flow import RESERVED
from .model import (
    Accept,
    Condition,
    Criterion,
    Option,
    Question,
    Since,
)


def _criteria(c: Checker, data: dict[str, Any]) -> dict[str, Criterion]:
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


def _criterion_ref(c: Checker, criteria: dict[str, Criterion], cid: str, where: str) -> Criterion:
    if cid not in criteria:
        raise c.fail(where, f"criterion {cid!r} is not listed in [criteria]")
    return criteria[cid]


def _questions(c: Checker, data: Any, criteria: dict[str, Criterion]) -> tuple[Question, ...]:
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
        if qid in RESERVED:
            raise c.fail(where, f"{qid!r} is the name of a step of the flow; give the question another id")
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
            c.keys(s, f"{where}, since", {"criterion"}, {"at_least", "weeks", "month_question", "day_question"})
            at_least = c.duration(s, "at_least", f"{where}, since") or c.old_days(
                s, "weeks", "at_least", f"{where}, since", "weeks"
            )
            if at_least is None:
                raise c.fail(f"{where}, since", 'say how long ago at least, e.g. at_least = "24 weeks"')
            since = Since(at_least, s["criterion"], s.get("month_question", ""), s.get("day_question", ""))
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


def _knock_out_criterion(c: Checker, criteria: dict[str, Criterion], cid: str, where: str) -> None:
    criterion = _criterion_ref(c, criteria, cid, where)
    if criterion.lay == "no":
        raise c.fail(
            where, f'criterion {cid} cannot be answered by patients (lay = "no"), so it must never rule anyone out'
        )
    if not criterion.reason:
        raise c.fail(where, f"criterion {cid} rules people out here but has no 'reason' to tell them why")


def _options(c: Checker, data: Any, where: str, criteria: dict[str, Criterion]) -> tuple[Option, ...]:
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
            {"label_caregiver", "rules_out", "review", "wait", "wait_days", "criterion", "exclusive", "safety"},
        )
        option = Option(
            id=oid,
            label=c.text(body, "label", owhere),
            label_caregiver=c.text(body, "label_caregiver", owhere, ""),
            rules_out=c.text(body, "rules_out", owhere, ""),
            review=c.flag(body, "review", owhere),
            wait=c.duration(body, "wait", owhere) or c.old_days(body, "wait_days", "wait", owhere),
            criterion=c.text(body, "criterion", owhere, ""),
            exclusive=c.flag(body, "exclusive", owhere),
            safety=c.flag(body, "safety", owhere),
        )
        if option.rules_out:
            _knock_out_criterion(c, criteria, option.rules_out, owhere)
        if "wait" in body and "wait_days" in body:
            raise c.fail(owhere, "give 'wait' only ('wait_days' is its old name)")
        if option.wait is not None:
            if not option.criterion:
                raise c.fail(owhere, "an option with 'wait' must name its 'criterion'")
            _knock_out_criterion(c, criteria, option.criterion, owhere)
        elif option.criterion:
            _criterion_ref(c, criteria, option.criterion, owhere)
        if sum([bool(option.rules_out), option.review, option.wait is not None]) > 1:
            raise c.fail(owhere, "use only one of rules_out, review and wait")
        if option.safety and option.rules_out:
            raise c.fail(
                owhere, "an answer that shows crisis help must never rule out: use review = true (a person follows up)"
            )
        options.append(option)
    return tuple(options)


def _conditions(c: Checker, data: Any, where: str, earlier: dict[str, Question]) -> tuple[Condition, ...]:
    if not isinstance(data, list):
        raise c.fail(where, "'ask_if' must be a list of conditions")
    conditions = []
    for body in data:
        body = c.table(body, f"{where}, ask_if")
        c.keys(
            body,
            f"{where}, ask_if",
            {"question"},
            {"any_of", "none_of", "years_ago_at_most", "at_least", "at_most", "less_than_ago", "less_than_weeks_ago"},
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
            less_than_ago=c.duration(body, "less_than_ago", where)
            or c.old_days(body, "less_than_weeks_ago", "less_than_ago", where, "weeks"),
            month_question=source.since.month_question if source.since else "",
        )
        if condition.less_than_ago is not None and source.since is None:
            raise c.fail(where, f"less_than_ago needs a year question with 'since', but {target!r} has no 'since'")
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
            and condition.less_than_ago is None
        ):
            raise c.fail(
                where,
                "an ask_if condition must test something "
                "(any_of, none_of, years_ago_at_most, at_least, at_most or less_than_ago)",
            )
        conditions.append(condition)
    _check_reachable(c, where, conditions)
    return tuple(conditions)


def _check_reachable(c: Checker, where: str, conditions: list[Condition]) -> None:
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
