"""How a person does a thing in their channel, for the texts that every channel shares.

A shared text names an action by a placeholder instead of a command: the consent notice
says "You can delete your answers at any time: {delete}." Each channel fills it in its
own way and in the person's language: on the web `tap "Delete my answers"`, on Telegram
`send /delete`, in the terminal `type delete`. So no channel shows another's commands,
and the dialog file, which the ethics committee approves, stays one text for all.

The placeholders a shared text may use are the keys of `how_to()`: {delete}, {start}
(begin again after deleting) and {restart} (answer again from the first question).
The help lists `commands()` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from .i18n import Translator, _, language_name

WEB = "web"
TELEGRAM = "telegram"

#: What each action in the help does, in the order the help lists them.
HELP = [
    ("back", _("go to the previous question")),
    ("restart", _("start again from the first question")),
    ("language", _("choose English or Chinese")),
    ("privacy", _("read how we use your answers")),
    ("summary", _("a summary of your answers, for your doctor")),
    ("stop", _("stop all reminders")),
    ("delete", _("delete your answers")),
]
#: The words the terminal (and any channel that reads typed commands) understands.
TYPED = {
    "back": _("back"),
    "restart": _("restart"),
    "language": _("language"),
    "privacy": _("privacy"),
    "summary": _("summary"),
    "stop": _("stop"),
    "delete": _("delete"),
}


def commands(channel: str, t: Translator, languages: Sequence[str] = ()) -> dict[str, str]:
    """What a person taps, sends or types for each action in `channel`, as shown to them."""
    if channel == WEB:
        return {
            "back": t(_("Back")),
            "restart": t(_("Start over")),
            "start": t(_("Start again")),
            "language": " / ".join(language_name(code) for code in languages) or t(_("Language")),
            "privacy": t(_("Privacy")),
            "summary": t(_("Summary for my doctor")),
            "stop": "",
            "delete": t(_("Delete my answers")),
        }
    if channel == TELEGRAM:
        return {name: f"/{name}" for name in (*TYPED, "start")}
    return {name: t(word) for name, word in TYPED.items()} | {"start": ""}


def how_to(channel: str, t: Translator) -> dict[str, str]:
    """The placeholders of shared texts, filled the channel's way: one for each ACTION_PLACEHOLDERS."""
    names = commands(channel, t)
    if channel == WEB:
        verb = _('tap "{name}"')
    elif channel == TELEGRAM:
        verb = _("send {name}")
    else:
        verb = _('type "{name}"')
    how = {action: t(verb, name=names[action]) for action in ("delete", "restart")}
    how["start"] = t(verb, name=names["start"]) if names["start"] else t(_("run the chat again"))
    return how


def help_intro(channel: str, t: Translator) -> str:
    if channel == WEB:
        return t(_("You can use these buttons:"))
    if channel == TELEGRAM:
        return t(_("You can use these commands:"))
    return t(_("You can type these words:"))
