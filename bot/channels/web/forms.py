"""Actions as HTML form fields and back: every button on the page is a tiny form.

Each button posts the `bot.replies` action it stands for, so any prompt the
screening service builds (today's kinds or new ones) needs no template change. The
service judges every action; this module only checks the fields' shape.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from ...replies import Action, Choose, ChooseMany, Command, Text

MAX_ID = 64
MAX_TEXT = 5000
Form = dict[str, list[str]]


def fields(action: Action) -> list[tuple[str, str]]:
    """The hidden fields that post `action`."""
    if isinstance(action, Choose):
        return [("kind", "choose"), ("question", action.question), ("option", action.option)]
    if isinstance(action, ChooseMany):
        return [("kind", "many"), ("question", action.question), *(("option", o) for o in action.options)]
    if isinstance(action, Command):
        return [("kind", "command"), ("name", action.name), ("arg", action.arg)]
    return [("kind", "text"), ("text", action.text)]


def parse_form(body: bytes) -> Form | None:
    """An urlencoded body as fields; None when it is not valid UTF-8 or has too many fields."""
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None


def first(form: Form, name: str) -> str:
    values = form.get(name) or [""]
    return values[0]


def action_from(form: Form) -> Action | None:
    """The action a form posts, or None when its fields make no sense (a broken or forged form)."""
    kind = first(form, "kind")
    ids = [first(form, n) for n in ("question", "option", "name", "arg")]
    if any(len(v) > MAX_ID for v in ids):
        return None
    question, option, name, arg = ids
    if kind == "choose" and question and option:
        return Choose(question, option)
    if kind == "many" and question:
        options = tuple(o for o in form.get("option", []) if o)
        return ChooseMany(question, options) if all(len(o) <= MAX_ID for o in options) else None
    if kind == "command" and name:
        return Command(name, arg)
    if kind == "text":
        return Text(first(form, "text")[:MAX_TEXT])
    return None
