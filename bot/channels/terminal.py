"""The terminal channel: the whole screening in a shell, typed or piped line by line.

Options are numbered; typing the number or the option's words both work. A few
words are commands at any question: back, restart, lang zh, privacy, delete,
help, quit. With answers piped on standard input, a screening can be scripted.
With several trials configured, `--trial` names one, else the chat first asks which
(the first line of piped input answers that).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from ..dialog.rules import normalise
from ..errors import EXIT_INTERRUPTED, STORAGE_ERRORS
from ..i18n import Translator, _
from ..replies import NOT_SAVED, WHICH_STUDY, Action, Command, Prompt, Reply, Text
from ..screening import Key, ScreeningService, Trials

COMMANDS = {
    "back": "back",
    "restart": "restart",
    "help": "help",
    "privacy": "privacy",
    "delete": "delete",
    "返回": "back",
    "重新开始": "restart",
    "帮助": "help",
    "隐私": "privacy",
    "删除": "delete",
    "重新開始": "restart",
    "幫助": "help",
    "隱私": "privacy",
    "刪除": "delete",
    "summary": "summary",
    "stop": "stop",
    "总结": "summary",
    "總結": "summary",
    "停止": "stop",
}
QUIT = {"quit", "exit", "q", "退出"}
GOODBYE = _("Goodbye. Run the chat again to continue where you stopped.")
TYPE_A_NUMBER = _("Please type one of the numbers.")
#: Prompts whose numbered buttons a typed number picks directly.
BUTTON_PROMPTS = {"consent", "choice", "summary", "language", "confirm_delete", "finished"}


def read_action(line: str, prompt: Prompt | None) -> Action | None:
    """A typed line as an action; None means quit."""
    typed = normalise(line)
    if typed in QUIT:
        return None
    word, _, rest = typed.partition(" ")
    if word in ("lang", "language", "语言", "語言"):
        return Command("language", rest.strip())
    if typed in COMMANDS:
        return Command(COMMANDS[typed])
    if prompt is not None and prompt.kind in BUTTON_PROMPTS:
        if typed.isdigit() and 1 <= int(typed) <= len(prompt.options):
            return prompt.options[int(typed) - 1].action
        for button in (*prompt.options, *prompt.navigation):
            if typed == normalise(button.label):
                return button.action
    return Text(line)


def render(reply: Reply, out: TextIO) -> None:
    for notice in reply.notices:
        out.write(f"\n{notice}\n")
    prompt = reply.prompt
    if prompt is None or prompt.kind == "ended":
        return
    out.write(f"\n{prompt.text}\n")
    for number, button in enumerate(prompt.options, start=1):
        mark = "[x] " if prompt.kind == "multi" and _option_id(button.action) in prompt.selected else ""
        out.write(f"  {number}. {mark}{button.label}\n")
    if prompt.hint:
        out.write(f"{prompt.hint}\n")
    out.flush()


def _option_id(action: Action) -> str:
    return getattr(action, "option", "")


def run_terminal(
    screening: ScreeningService | Trials,
    session: str = "local",
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    trial: str = "",
) -> int:
    """Chat until the person quits or input ends; everything is saved after each answer.

    With several trials, `trial` (a dialog id) names the one to screen for; without it the person picks.
    Ctrl-C ends the chat like `quit` (with the goodbye), but with exit status 130, as a shell
    expects of an interrupted program. When an answer cannot be saved (a full disk, say), the
    person is told so in their language and the error goes on to `screening-bot` (exit 2)."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    trials = Trials.of(screening)
    key = Key("terminal", session, language_hint=os.environ.get("LANG", "").split(".")[0] or None)
    t = trials.translator(trials.default.conversation(key).language)
    piped = not stdin.isatty()
    out.write(t(_("Type quit to stop. Your answers are saved after each one.")) + "\n")
    try:
        found = trials.get(trial) if trial else trials.default if not trials.several else None
        service = found or _which_study(trials, t, stdin, out, piped)
        if service is None:
            out.write(t(GOODBYE) + "\n")
            return 0
        t = service.translator(service.conversation(key).language)
        reply = _step(service, key, Command("start"))
        render(reply, out)
        while not reply.ended:
            out.write("> ")
            out.flush()
            line = stdin.readline()
            if not line:
                out.write("\n")
                break
            if piped:
                out.write(line if line.endswith("\n") else line + "\n")
            action = read_action(line.rstrip("\n"), reply.prompt)
            if action is None:
                break
            try:
                reply = _step(service, key, action)
            except STORAGE_ERRORS:
                out.write("\n" + t(NOT_SAVED) + "\n")
                out.flush()
                raise
            render(reply, out)
            if reply.ended:
                return 0
            t = service.translator(reply.language)  # a /language step changes it
    except KeyboardInterrupt:
        out.write("\n" + t(GOODBYE) + "\n")
        out.flush()
        return EXIT_INTERRUPTED
    out.write(t(GOODBYE) + "\n")
    return 0


def _which_study(trials: Trials, t: Translator, stdin: TextIO, out: TextIO, piped: bool) -> ScreeningService | None:
    """The numbered list of trials, in the person's language; a number (or a dialog id) picks one. None: quit."""
    out.write("\n" + t(WHICH_STUDY) + "\n")
    for number, service in enumerate(trials, start=1):
        out.write(f"  {number}. {trials.title(service.dialog.id, t.language)}\n")
    while True:
        out.write("> ")
        out.flush()
        line = stdin.readline()
        if not line:
            out.write("\n")
            return None
        if piped:
            out.write(line if line.endswith("\n") else line + "\n")
        typed = normalise(line)
        if typed in QUIT:
            return None
        if typed.isdigit() and 1 <= int(typed) <= len(trials):
            return trials.services[int(typed) - 1]
        if trials.get(typed) is not None:
            return trials.get(typed)
        out.write(t(TYPE_A_NUMBER) + "\n")


def _step(service: ScreeningService, key: Key, action: Action) -> Reply:
    reply = service.handle(key, action)
    assert reply is not None  # only a replayed Telegram update gets None
    return reply
