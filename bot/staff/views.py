"""What staff see of leads: tables, a whole lead, exports and the funnel; the same in the console and on Telegram.

Whatever is stored, what staff get is safe (bot/safe_text.py): every table cell and
line printed has control, bidi and other hidden characters shown as escapes (a stored
ESC cannot drive the terminal); CSV and XLSX cells that a spreadsheet would read as a
formula are marked as text (OWASP), XLSX cells are always written as text, and no
stored value can make an export fail. Tables are padded by display width, so Chinese
names line up.

Long on purpose: the one place for what every staff view shows (the words for statuses,
reasons and outcomes, tables, exports, the funnel), so the command line, the Telegram desk
and the web console cannot drift apart.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from ..dialog.model import OUTCOMES, Dialog
from ..dialog.rules import SELF_REPORTED
from ..i18n import _
from ..safe_text import escaped, json_safe, looks_like_formula, spreadsheet_cell
from ..screening.summary import RESULT_WORDS, shown_result
from ..screening.team import MERGED, NOT_DUPLICATE, STATUSES, Counts, Lead

OUTCOME_NAMES = {
    "likely_candidate": _("likely candidate"),
    "needs_review": _("needs review"),
    "not_eligible": _("likely not eligible"),
    "not_yet": _("not yet"),
}
#: A lead's statuses and close reasons in words: one table for every staff view (command line,
#: Telegram staff desk, web console), so one translation serves all of them.
STATUS_LABELS = {
    "new": _("new"),
    "attempt_1": _("call attempt 1"),
    "attempt_2": _("call attempt 2"),
    "attempt_3": _("call attempt 3"),
    "contacted": _("contacted"),
    "visit_booked": _("visit booked"),
    "enrolled": _("enrolled"),
    "closed": _("closed"),
}
REASON_LABELS = {
    "not_eligible_at_visit": _("not eligible at the visit"),
    "declined": _("said no"),
    "unreachable": _("could not reach them"),
    "duplicate": _("duplicate"),
}
#: Why a lead is urgent, besides the label of a question answered with a risk answer.
TYPED_RISK = "typed_risk"
TYPED_RISK_WORDS = _("typed a message that may mean a risk of suicide")


def urgent_reasons(urgent: str, dialog: Dialog | None) -> list[str]:
    """A lead's `urgent` codes as (untranslated) words: each risk answer's question label, or a typed risk.

    `dialog` is the lead's own trial (None when that trial is no longer run here: ids are shown)."""
    reasons = []
    for code in filter(None, urgent.split(",")):
        if code == TYPED_RISK:
            reasons.append(TYPED_RISK_WORDS)
        else:
            reasons.append(_question_label(dialog, code))
    return reasons


def trial_name(dialog_id: str, dialog: Dialog | None) -> str:
    """A lead's trial for staff: its id and its title (the dialog file's English)."""
    return f"{dialog_id} ({dialog.title})" if dialog is not None else dialog_id or "-"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value: Any, limit: int = 40) -> str:
    text = escaped(" ".join(str("" if value is None else value).split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], limit: int = 48) -> str:
    """A plain text table that stays aligned with Chinese text; long cells are cut at `limit`."""
    cells = [[_cell(h, limit) for h in headers], *[[_cell(v, limit) for v in row] for row in rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def _minute(stamp: str) -> str:
    return stamp[:16].replace("T", " ")


def show_lead(lead: Lead, dialog: Dialog | None) -> str:
    """The whole lead for staff, in English (the labels of its trial's dialog file)."""
    facts = [
        ("Lead", lead.id),
        ("Trial", trial_name(lead.dialog_id, dialog)),
        ("URGENT", "yes: " + "; ".join(urgent_reasons(lead.urgent, dialog)) + ". Call first.")
        if lead.urgent
        else ("Urgent", "no"),
        ("Status", lead.status + (f" ({lead.close_reason})" if lead.close_reason else "")),
        ("Outcome", OUTCOME_NAMES.get(lead.outcome, lead.outcome)),
        ("Answered by", "a carer" if lead.respondent == "caregiver" else "the patient"),
        ("Name", lead.name or "(not given)"),
        ("Phone", lead.phone),
        ("Telegram user", lead.username or "-"),
        ("Best time to call", lead.call_time or "-"),
        ("Call in", lead.call_language or "-"),
        ("Chat language", lead.language),
        ("Channel / source", f"{lead.channel} / {lead.source or '-'}"),
        ("Screened again", f"{lead.repeat_count} time(s)" if lead.repeat_count else "no"),
        ("Dialog version", lead.dialog_version),
        ("Contact consent", f"version {lead.contact_consent_version} at {_minute(lead.contact_consented_at)} UTC"),
        ("Created", _minute(lead.created_at) + " UTC"),
    ]
    out = [table(["", ""], facts, limit=100).split("\n", 2)[2]]
    if lead.duplicates:
        out.append("\nOther leads that may be the same person:")
        out += [f"  • {escaped(duplicate_text(lead, link))}" for link in lead.duplicates]
        if lead.open_duplicates():
            out.append(
                f"  (decide with `screening-bot leads merge {lead.id} --into OTHER_ID`"
                f" or `screening-bot leads not-duplicate {lead.id} OTHER_ID`)"
            )
    if lead.review_answers:
        out.append("\nAnswers the study team should check:")
        for item in lead.review_answers:
            out.append(escaped(f"  • {_question_label(dialog, item['question'])}: {_answer_label(dialog, item)}"))
    criteria = [
        [cid, _criterion_label(dialog, cid), result_in_words(result, cid, dialog)]
        for cid, result in lead.criteria.items()
    ]
    if criteria:
        out.append("\nCriteria:")
        out.append(table(["ID", "CRITERION", "RESULT"], criteria))
    out.append("\nHistory:")
    out.append(
        table(
            ["WHEN (UTC)", "WHO", "CHANGE", "STATUS", "NOTE"],
            [[_minute(h["at"]), h["who"], h["change"], h["status"], h["note"]] for h in lead.history],
        )
    )
    return "\n".join(out)


def duplicate_text(lead: Lead, link: dict[str, str]) -> str:
    """One line about a possible duplicate, in English, for the command line."""
    other = link["id"]
    if link["state"] == MERGED:
        return f"{other}: the same person, merged into {link['kept']}"
    if link["state"] == NOT_DUPLICATE:
        return f"{other}: not the same person (decided)"
    return f"{other}: possible duplicate ({link['reason']}), not decided yet"


def result_in_words(result: str, criterion_id: str, dialog: Dialog | None) -> str:
    """A criterion's result as staff read it: a self-report is "none reported", never "met"."""
    shown = shown_result(result, dialog.criteria.get(criterion_id) if dialog else None)
    return RESULT_WORDS[shown] if shown in SELF_REPORTED else shown.replace("_", " ")


def _criterion_label(dialog: Dialog | None, criterion_id: str) -> str:
    return dialog.criteria[criterion_id].label if dialog and criterion_id in dialog.criteria else ""


def _question_label(dialog: Dialog | None, question_id: str) -> str:
    return dialog.question(question_id).label if dialog and dialog.has_question(question_id) else question_id


def _answer_label(dialog: Dialog | None, item: dict[str, Any]) -> str:
    value = item.get("answer")
    if value == "not_sure":
        return "not sure"
    if dialog and dialog.has_question(item["question"]):
        question = dialog.question(item["question"])
        picked = value if isinstance(value, list) else [value]
        labels = [question.option(str(v)).label if question.option(str(v)) else str(v) for v in picked]
        return ", ".join(labels)
    return str(value)


EXPORT_COLUMNS = (
    "id",
    "trial",
    "urgent",
    "created_at",
    "status",
    "close_reason",
    "status_changed_at",
    "outcome",
    "respondent",
    "name",
    "phone",
    "telegram_user",
    "call_time",
    "call_language",
    "chat_language",
    "channel",
    "source",
    "repeat_count",
    "dialog_version",
    "contact_consent_version",
    "contact_consented_at",
    "possible_duplicate_of",
    "to_check",
)


def export_table(leads: list[Lead], dialogs: Sequence[Dialog]) -> tuple[list[str], list[dict[str, Any]]]:
    """(headers, rows): one flat row per lead, one column per criterion, for spreadsheets.

    `dialogs` are the trials the export is of (the one asked for, else every trial run here). With
    one, the criterion columns are its criterion ids, as always; with several, each trial's columns
    are named `<dialog id>:<criterion id>` (two trials' "I1" are different rules), and a lead fills
    only its own trial's."""
    several = len(dialogs) > 1
    by_id = {dialog.id: dialog for dialog in dialogs}  # a lead of a trial no longer run here: ids, no criteria
    columns = [(d.id, cid, f"{d.id}:{cid}" if several else cid) for d in dialogs for cid in d.criteria]
    rows = []
    for lead in leads:
        dialog = by_id.get(lead.dialog_id)
        row = _export_row(lead, dialog)
        for dialog_id, cid, header in columns:
            own = dialog is not None and dialog.id == dialog_id and cid in lead.criteria
            row[header] = shown_result(lead.criteria[cid], dialog.criteria[cid]) if own and dialog else ""
        rows.append(row)
    return [*EXPORT_COLUMNS, *(header for _id, _cid, header in columns)], rows


def _export_row(lead: Lead, dialog: Dialog | None) -> dict[str, Any]:
    """A lead's row without its criterion columns, in the words of its trial's dialog."""
    row: dict[str, Any] = {
        "id": lead.id,
        "trial": lead.dialog_id,
        "urgent": "; ".join(urgent_reasons(lead.urgent, dialog)),
        "created_at": lead.created_at,
        "status": lead.status,
        "close_reason": lead.close_reason,
        "status_changed_at": lead.status_changed_at,
        "outcome": lead.outcome,
        "respondent": lead.respondent or "",
        "name": lead.name,
        "phone": lead.phone,
        "telegram_user": lead.username,
        "call_time": lead.call_time,
        "call_language": lead.call_language,
        "chat_language": lead.language,
        "channel": lead.channel,
        "source": lead.source,
        "repeat_count": lead.repeat_count,
        "dialog_version": lead.dialog_version,
        "contact_consent_version": lead.contact_consent_version,
        "contact_consented_at": lead.contact_consented_at,
        "possible_duplicate_of": " ".join(lead.open_duplicates()),
        "to_check": "; ".join(
            f"{_question_label(dialog, i['question'])}: {_answer_label(dialog, i)}" for i in lead.review_answers
        ),
    }
    return row


def write_export(fmt: str, headers: list[str], rows: list[dict[str, Any]]) -> bytes:
    """CSV as UTF-8 with a BOM (so Excel shows Chinese), XLSX, or JSON; safe to open whatever is stored.

    CSV: every cell quoted, hidden characters escaped, and a cell a spreadsheet would read
    as a formula gets a leading ' (OWASP CSV injection). XLSX: every text cell is written
    as text (never a formula), hidden characters escaped (XML cannot even hold most of
    them: openpyxl would refuse the whole file), and formula-looking cells carry Excel's
    quote prefix, so editing one does not turn it into a formula either. JSON: the values
    exactly as stored, with hidden characters written as \\u escapes."""
    if fmt == "json":
        return (json_safe(json.dumps(rows, ensure_ascii=False, indent=2)) + "\n").encode()
    if fmt == "xlsx":
        return _xlsx(headers, rows)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=headers, quoting=csv.QUOTE_ALL)
    writer.writeheader()
    writer.writerows({h: spreadsheet_cell(row[h]) for h in headers} for row in rows)
    return text.getvalue().encode("utf-8-sig")


def _xlsx(headers: list[str], rows: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "leads"
    for number, values in enumerate([dict(zip(headers, headers, strict=True)), *rows], start=1):
        for column, header in enumerate(headers, start=1):
            value = spreadsheet_cell(values[header], quote=False)
            cell = sheet.cell(row=number, column=column)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # text, even when it starts with = (openpyxl would make it a formula)
                if looks_like_formula(value):
                    cell.quotePrefix = True
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def funnel(counts: Counts, dialog: Dialog) -> tuple[list[list[Any]], list[list[Any]], list[list[Any]]]:
    """(the funnel, where people stop per question, leads by status) from counters and live rows."""
    n = counts.totals
    steps = [
        [_("started (consent notice shown)"), n.get("started", 0)],
        [_("consented"), n.get("consented", 0)],
        [_("did not consent"), n.get("declined_consent", 0)],
        [_("finished (reached an outcome)"), n.get("finished", 0)],
        *[[f"- {OUTCOME_NAMES[o]}", n.get(f"outcome:{o}", 0)] for o in OUTCOMES],
        [_("agreed to be contacted"), n.get("contact_agreed", 0)],
        [_("did not want contact"), n.get("contact_declined", 0)],
        [_("leads created"), n.get("lead_created", 0)],
        [_("finished and marked urgent (a sign of risk)"), n.get("finished_urgent", 0)],
        ["- " + _("of them, did not want contact"), n.get("contact_declined_urgent", 0)],
        [_("typed messages that may mean a risk of suicide"), n.get("signal:suicide", 0)],
        [_("typed messages that may mean a medical emergency"), n.get("signal:emergency", 0)],
        [_("stopped: under 14 (nothing kept)"), n.get("stopped:under_guardian_age", 0)],
        [_("possible duplicates (same phone number)"), n.get("lead_possible_duplicate", 0)],
        [_("no contact wanted after all (lead deleted)"), n.get("contact_withdrawn", 0)],
        [_("screened again (repeat)"), n.get("lead_repeat", 0)],
        [_("erased at the person's request"), n.get("erased_by_person", 0)],
        [_("erased by staff"), n.get("erased_by_staff", 0)],
        [_("removed by retention"), sum(v for k, v in n.items() if k.startswith("purged:"))],
    ]
    live = counts.live_by_state
    stops = [
        [q.id, q.label, live.get(q.id, 0), n.get(f"stopped:{q.id}", 0)]
        for q in dialog.questions
        if live.get(q.id) or n.get(f"stopped:{q.id}")
    ]
    if live.get("summary") or n.get("stopped:summary"):
        stops.append(["summary", _("checking the answers"), live.get("summary", 0), n.get("stopped:summary", 0)])
    statuses = [[s, counts.leads_by_status.get(s, 0)] for s in STATUSES]
    return steps, stops, statuses
