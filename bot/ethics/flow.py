"""The screening flow as a picture, drawn from the very `transitions` machine the bot runs.

The DOT text is written from `Engine.machine` (its states and each event's
transitions), not from a second description of the flow, so the picture cannot show
a path the bot does not have. Graphviz's `dot` turns it into SVG.

Some of the machine's edges would bury the picture and are summarised in a note
instead of drawn: `back` (to the question before), `edit` (from the summary to any
answer), `restart` (from anywhere), and the `next` -> likely not eligible edge of a
question none of whose answers can rule anyone out (its condition never holds).
A skipped question is drawn as the machine runs it: the state is entered, its
`ask_if` fails, and it passes straight on (a dashed edge with the rule in words).
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from dataclasses import dataclass

from ..dialog import flow
from ..dialog.engine import Engine
from ..dialog.model import CONSENT, DECLINED, LIKELY_CANDIDATE, NEEDS_REVIEW, NOT_ELIGIBLE, NOT_YET, SUMMARY, Question
from .bilingual import Bi
from .words import Words

#: Events drawn as edges; the others are described in the note.
DRAWN_EVENTS = ("agree", "decline", "next", "confirm", "offer_contact", "offer_reminder")

#: The steps after an outcome, in words (contact capture and the reminder offer are states of the machine).
AFTER_OUTCOME_WORDS = {
    flow.CONTACT_CONSENT: Bi("may the study team contact you? (its own consent)", "研究团队可以联系您吗？（单独同意）"),
    flow.CONTACT_PHONE: Bi("mobile number", "手机号码"),
    flow.CONTACT_NAME: Bi("name (may be skipped)", "姓名（可跳过）"),
    flow.CONTACT_TIME: Bi("best time to call", "方便来电的时间"),
    flow.CONTACT_LANGUAGE: Bi("language for the call", "通话语言"),
    flow.CONTACT_DONE: Bi("contact details kept, locked: a lead", "联系方式已加密保存：线索"),
    flow.CONTACT_DECLINED: Bi(
        "no contact: nothing kept, site details shown", "不联系：不保存联系方式，显示研究中心信息"
    ),
    flow.REMINDER_OFFER: Bi("one reminder on the date? (its own opt-in)", "在该日期提醒一次？（单独同意）"),
    flow.FINISHED: Bi("finished", "结束"),
}
#: What an edge after an outcome means, in words.
AFTER_OUTCOME_EDGES = {
    "offer_contact": Bi(
        "contact offered (candidate, needs review, or a sign of risk)", "提供联系（可能符合、需核查或有风险迹象）"
    ),
    "offer_reminder": Bi("a channel that can remind (Telegram)", "可发送提醒的渠道（Telegram）"),
    "agree": Bi("yes", "是"),
    "decline": Bi("no, thank you", "不用了"),
}
SUMMARISED_EVENTS = ("back", "edit", "restart")

OUTCOME_STYLE = {
    LIKELY_CANDIDATE: "#cdeccd",
    NEEDS_REVIEW: "#ffe3a3",
    NOT_YET: "#cfe0f7",
    NOT_ELIGIBLE: "#f6c7c7",
    DECLINED: "#e2e2e2",
}

#: The order the summary's `confirm` tries the outcomes (the machine's order, rules.outcome_of), in words.
CONFIRM_RULE = {
    NOT_ELIGIBLE: Bi("1. an answer rules out", "1. 有回答导致排除"),
    NOT_YET: Bi("2. else, only time stands in the way", "2. 否则，只差时间"),
    NEEDS_REVIEW: Bi("3. else, an answer needs review", "3. 否则，有回答需核查"),
    LIKELY_CANDIDATE: Bi("4. otherwise", "4. 其他情况"),
}

NOTE = (
    "Not drawn, to keep the picture readable:\\l"
    "- back: every question goes back to the one before (skipped ones are passed over);\\l"
    "  an outcome goes back to the summary, likely not eligible to the question that ruled out.\\l"
    "- edit: from the summary to any answered question, then on to the summary.\\l"
    "- restart: from anywhere after consent to the first question, answers cleared.\\l"
    "为使图面清晰，以下未画出：\\l"
    "- 返回：每个问题可回到上一个问题（跳过的问题略过）；结果可回到摘要，“可能不符合”可回到导致排除的问题。\\l"
    "- 修改：从摘要到任一已答问题，再回到摘要。\\l"
    "- 重新开始：同意之后任何时候都可回到第一个问题，答案清空。\\l"
)


#: Latin text in Noto Sans, Chinese in Noto Sans CJK SC (as the HTML pack), else what the system has.
FONTS = '"Noto Sans, Noto Sans CJK SC, DejaVu Sans, sans-serif"'

DECLINED_WORDS = Bi("did not agree: nothing kept", "不同意：不保存任何内容")

#: The one node that is not a state: the note on what is not drawn.
NOTE_NODE = "not drawn"


class FlowError(RuntimeError):
    """The picture cannot be drawn (Graphviz is missing or failed); the message says what to install."""


@dataclass(frozen=True)
class Edge:
    source: str
    dest: str
    event: str
    label: str = ""
    style: str = "solid"


def can_rule_out(question: Question) -> bool:
    return question.accept is not None or any(o.rules_out for o in question.options)


def drawn_edges(engine: Engine, words: Words) -> list[Edge]:
    """The machine's transitions as the picture shows them, each one a real transition of the machine."""
    dialog = engine.dialog
    edges: list[Edge] = []
    for name in DRAWN_EVENTS:
        event = engine.machine.events[name]
        for source, transitions in event.transitions.items():
            for transition in transitions:
                dest = transition.dest
                if source in AFTER_OUTCOME_WORDS or dest in AFTER_OUTCOME_WORDS:  # after an outcome
                    label = _two(AFTER_OUTCOME_EDGES[name]) if name in AFTER_OUTCOME_EDGES else ""
                    edges.append(Edge(source, dest, name, label, "solid"))
                elif name == "next" and not dialog.has_question(source):  # a separate consent
                    edges.append(Edge(source, dest, name, "agree"))
                elif name == "next" and dest == NOT_ELIGIBLE:
                    question = dialog.question(source)
                    if not can_rule_out(question):
                        continue
                    ids = sorted(
                        {o.rules_out for o in question.options if o.rules_out}
                        | ({question.accept.criterion} if question.accept else set())
                    )
                    label = _two(Bi("rules out: ", "排除：") + Bi.same(", ".join(ids)))
                    edges.append(Edge(source, dest, name, label, "bold"))
                elif name == "next":
                    edges.append(Edge(source, dest, name))
                    question = dialog.question(source)
                    if question.ask_if:
                        unless = Bi.join((words.condition(c) for c in question.ask_if), "; and ", "；并且")
                        label = _two(Bi("skipped unless ", "跳过，除非") + unless)
                        edges.append(Edge(source, dest, name, label, "dashed"))
                elif name == "confirm":
                    edges.append(Edge(source, dest, name, _two(CONFIRM_RULE[dest]) if dest in CONFIRM_RULE else ""))
                else:
                    edges.append(Edge(source, dest, name, name))
    return edges


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _wrap(text: str, width: int = 34) -> str:
    return "\n".join(textwrap.wrap(text, width)) if text else ""


def _two(text: Bi, width: int = 34) -> str:
    """A label in both languages, English lines first; Chinese has no spaces, so it wraps by characters."""
    return "\n".join(filter(None, [_wrap(text.en, width), _wrap(text.zh, width // 2 + 2)]))


def flow_dot(engine: Engine, words: Words) -> str:
    """The machine as Graphviz DOT: questions as boxes, outcomes filled and bold, skips dashed."""
    dialog = engine.dialog
    lines = [
        f"digraph {_quote(dialog.id)} {{",
        f"  graph [rankdir=TB, fontname={FONTS}, fontsize=11, nodesep=0.3, ranksep=0.3,"
        f" labelloc=t, label={_quote(f'{dialog.title} / {words.zh(dialog.title)} ({dialog.id} {dialog.version})')}];",
        f"  node [fontname={FONTS}, fontsize=10, shape=box, style=rounded];",
        f'  edge [fontname={FONTS}, fontsize=8, color="#555555"];',
    ]
    for name in engine.machine.states:
        if name == CONSENT:
            label = f"consent\n{_two(Bi('consent notice ', '知情同意告知 ') + Bi.same(dialog.consent.version), 30)}"
            attrs = f"label={_quote(label)}, shape=note"
        elif (consent := dialog.separate_consent(name)) is not None:
            where = Bi(", ".join(consent.channels) or "every channel", ", ".join(consent.channels) or "所有渠道")
            kind = Bi(
                consent.kind.replace("_", " "),
                {"sensitive_data": "敏感个人信息", "cross_border": "出境"}.get(consent.kind, consent.kind),
            )
            text = Bi("separate consent ", "单独同意 ") + Bi.same(consent.version + " (") + kind + Bi.same("; ") + where
            label = f"{consent.id}\n{_two(text + Bi.same(')'), 30)}"
            attrs = f"label={_quote(label)}, shape=note"
        elif dialog.has_question(name):
            q = dialog.question(name)
            label = f"{q.id}\n{_two(words.text(q.label), 30)}"
            attrs = f"label={_quote(label)}" + (', style="rounded,dashed"' if q.ask_if else "")
        elif name == SUMMARY:
            label = "summary\n" + _two(Bi("answers shown; confirm or edit", "显示答案；确认或修改"), 30)
            attrs = f'label={_quote(label)}, shape=box, style=""'
        elif name in AFTER_OUTCOME_WORDS:
            label = f"{name}\n{_two(AFTER_OUTCOME_WORDS[name], 30)}"
            shape = "note" if name in (flow.CONTACT_CONSENT, flow.REMINDER_OFFER) else "box"
            attrs = f'label={_quote(label)}, shape={shape}, style="rounded"'
        else:
            title = words.text(dialog.outcomes[name].title) if name in dialog.outcomes else DECLINED_WORDS
            attrs = (
                f'label={_quote(name + chr(10) + _two(title, 30))}, shape=box, style="filled,bold", '
                f"penwidth=2, fillcolor={_quote(OUTCOME_STYLE.get(name, '#eeeeee'))}, peripheries=2"
            )
        lines.append(f"  {_quote(name)} [{attrs}];")
    for edge in drawn_edges(engine, words):
        attrs = [f"style={edge.style}"]
        if edge.label:
            attrs.append(f"label={_quote(edge.label)}")
        if edge.style == "dashed":
            attrs.append('color="#1f5fa8", fontcolor="#1f5fa8"')
        if edge.dest == NOT_ELIGIBLE:
            attrs.append("constraint=false")
        if edge.dest == NOT_ELIGIBLE and edge.event == "next":
            attrs.append('color="#b03030", fontcolor="#b03030"')
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.dest)} [{', '.join(attrs)}];")
    lines.append(f'  {_quote(NOTE_NODE)} [shape=plain, fontsize=9, label="{NOTE}"];')
    knock_outs = [q.id for q in dialog.questions if can_rule_out(q)]
    if knock_outs:  # beside the middle knock-out question, so the red edges stay short
        lines.append(f"  {{rank=same; {_quote(knock_outs[len(knock_outs) // 2])}; {_quote(NOT_ELIGIBLE)}}}")
    lines.append(
        f"  {{rank=sink; {_quote(LIKELY_CANDIDATE)}; {_quote(NEEDS_REVIEW)}; {_quote(NOT_YET)}; {_quote(NOTE_NODE)}}}"
    )
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_available() -> bool:
    return shutil.which("dot") is not None


def render_svg(dot_text: str) -> str:
    """Run Graphviz `dot -Tsvg`; raise FlowError saying what to install when it is missing."""
    dot = shutil.which("dot")
    if dot is None:
        raise FlowError(
            "Graphviz's `dot` program is not installed, so the flow picture cannot be drawn. "
            "Install it (Debian/Ubuntu: apt-get install graphviz), or pass --no-flow to leave the picture out."
        )
    result = subprocess.run([dot, "-Tsvg"], input=dot_text, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise FlowError(f"Graphviz `dot` failed: {result.stderr.strip()[:500]}")
    return result.stdout


def flow_svg(engine: Engine, words: Words) -> str:
    return render_svg(flow_dot(engine, words))
