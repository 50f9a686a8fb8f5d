"""Staff commands: `screening-bot leads|stats|audit|purge|rotate-key`.

For study coordinators at a terminal. Every read, export, status change, merge and
erasure of a lead is appended to the audit log under who ran the command, as the
operating system says (login name and uid); `--staff NAME` only adds a note. Tables
are padded by display width, so Chinese names line up.

Whatever is stored, what staff get is safe (bot/safe_text.py): every table cell and
line printed has control, bidi and other hidden characters shown as escapes (a stored
ESC cannot drive the terminal); CSV and XLSX cells that a spreadsheet would read as a
formula are marked as text (OWASP), XLSX cells are always written as text, and no
stored value can make an export fail.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import pwd
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from .config import ConfigError, Settings, SubCommands
from .dialog.load import load_dialog
from .dialog.model import OUTCOMES, Dialog
from .dialog.rules import SELF_REPORTED, Invalid
from .errors import Problem
from .files import OutputFiles, new_files_removed_on_failure
from .i18n import _
from .retention import retention_from
from .safe_text import escaped, json_safe, looks_like_formula, spreadsheet_cell, typed_text
from .store import audit
from .store.backup import check_backup, erased_since, in_use, make_backup, restore_backup, withdrawn_since
from .store.db import database_files
from .store.leads import CLOSE_REASONS, MERGED, NOT_DUPLICATE, STATUSES, Lead, LeadError, LeadStore
from .store.retention import erase_conversation, erase_lead, purge
from .store.vault import Vault, VaultError, database_key, open_protected, read_keys, rotate_key
from .store.wipe import pending
from .summary import RESULT_WORDS, shown_result

#: Staff words; marked for the catalogs because the Telegram staff view (channels/telegram/staff.py) translates them.
OUTCOME_NAMES = {
    "likely_candidate": _("likely candidate"),
    "needs_review": _("needs review"),
    "not_eligible": _("likely not eligible"),
    "not_yet": _("not yet"),
}
#: Why a lead is urgent, besides the label of a question answered with a risk answer.
TYPED_RISK = "typed_risk"
TYPED_RISK_WORDS = _("typed a message that may mean a risk of suicide")


def urgent_reasons(urgent: str, dialog: Dialog) -> list[str]:
    """A lead's `urgent` codes as (untranslated) words: each risk answer's question label, or a typed risk."""
    reasons = []
    for code in filter(None, urgent.split(",")):
        if code == TYPED_RISK:
            reasons.append(TYPED_RISK_WORDS)
        else:
            reasons.append(dialog.question(code).label if dialog.has_question(code) else code)
    return reasons


@dataclass
class Desk:
    """What a staff command works with: the database, the leads, the dialog (for labels) and who is asking."""

    db: sqlite_utils.Database
    leads: LeadStore
    dialog: Dialog
    staff: str
    #: A name the staff member typed (`--staff`): kept in the entry's detail as a note, never as who it was.
    signed: str = ""

    def record(self, action: str, lead_id: str = "", detail: str = "", seen: Sequence[str] = ()) -> None:
        note = f' (signed "{self.signed}")' if self.signed else ""
        audit.record(self.db, self.staff, action, lead_id, detail + note, seen=seen)


def staff_identity() -> str:
    """Who runs a staff command, as the operating system says: the login name and uid of this process.

    Not $USER and not a name typed in: both are whatever the person says. On a shared server each
    coordinator logs in as themselves, and the audit log shows that account."""
    uid = os.getuid()
    try:
        login = pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no account (a container)
        login = "no account"
    return f"{login} (uid {uid})"


def signed_name(args: argparse.Namespace) -> str:
    """The --staff note, checked like anything typed that is kept (no hidden characters)."""
    name = typed_text(getattr(args, "staff", "") or "", 60)
    return "" if isinstance(name, Invalid) else name


def open_staff_database(settings: Settings, args: argparse.Namespace) -> tuple[sqlite_utils.Database, Vault]:
    """The database the channels filled, with its key. Staff commands never start one by accident: a
    mistyped --db would otherwise show an empty, brand-new database (with a new key) as "No leads match."."""
    if not args.create and not settings.db_path.exists():
        raise ConfigError(
            f"no database at {settings.db_path.absolute()} (from --db, SCREENING_DB or the default): "
            "check the path; to start a new, empty database there, add --create"
        )
    with new_files_removed_on_failure(*database_files(settings.db_path), settings.key_path()):  # none half-made
        return open_protected(settings.db_path, settings.screening_key, settings.key_path(), settings.old_key_path())


def open_desk(settings: Settings, args: argparse.Namespace) -> Desk:
    dialog = load_dialog(settings.dialog_path)
    db, vault = open_staff_database(settings, args)
    return Desk(db, LeadStore(db, vault), dialog, staff_identity(), signed_name(args))


# ---------------------------------------------------------------------- tables


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


# ---------------------------------------------------------------------- leads


def cmd_leads_list(settings: Settings, args: argparse.Namespace) -> int:
    desk = open_desk(settings, args)
    found = desk.leads.find(args.status, args.since, args.until)
    desk.record("list", detail=_filters(args, f"rows={len(found)}"), seen=[lead.id for lead in found])
    if not found:
        print("No leads match.")
        return 0
    rows = [
        [
            lead.id,
            "URGENT" if lead.urgent else "",
            _minute(lead.created_at),
            lead.status + (f" ({lead.close_reason})" if lead.close_reason else ""),
            OUTCOME_NAMES.get(lead.outcome, lead.outcome),
            lead.name or "-",
            lead.phone,
            lead.call_time or "-",
            lead.call_language or "-",
            lead.source or "-",
            lead.repeat_count or "",
            " ".join(lead.open_duplicates()) or "-",
        ]
        for lead in found
    ]
    headers = [
        "ID", "URGENT", "CREATED (UTC)", "STATUS", "OUTCOME", "NAME", "PHONE", "CALL", "LANG", "SOURCE", "REPEATS",
        "POSSIBLE DUPLICATE OF",
    ]  # fmt: skip
    print(table(headers, rows))
    print(f"\n{len(found)} lead(s).")
    return 0


def cmd_leads_show(settings: Settings, args: argparse.Namespace) -> int:
    desk = open_desk(settings, args)
    lead = desk.leads.get(args.id)
    if lead is None:
        print(f"error: no lead {escaped(repr(args.id))}; `screening-bot leads list` shows the ids", file=sys.stderr)
        return 1
    desk.record("read", lead.id, seen=[lead.id])
    print(show_lead(lead, desk.dialog))
    return 0


def show_lead(lead: Lead, dialog: Dialog) -> str:
    """The whole lead for staff, in English (the dialog file's labels)."""
    facts = [
        ("Lead", lead.id),
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
        [cid, dialog.criteria[cid].label if cid in dialog.criteria else "", result_in_words(result, cid, dialog)]
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


def result_in_words(result: str, criterion_id: str, dialog: Dialog) -> str:
    """A criterion's result as staff read it: a self-report is "none reported", never "met"."""
    shown = shown_result(result, dialog.criteria.get(criterion_id))
    return RESULT_WORDS[shown] if shown in SELF_REPORTED else shown.replace("_", " ")


def _question_label(dialog: Dialog, question_id: str) -> str:
    return dialog.question(question_id).label if dialog.has_question(question_id) else question_id


def _answer_label(dialog: Dialog, item: dict[str, Any]) -> str:
    value = item.get("answer")
    if value == "not_sure":
        return "not sure"
    if dialog.has_question(item["question"]):
        question = dialog.question(item["question"])
        picked = value if isinstance(value, list) else [value]
        labels = [question.option(str(v)).label if question.option(str(v)) else str(v) for v in picked]
        return ", ".join(labels)
    return str(value)


def _note(args: argparse.Namespace) -> str | None:
    """The --note, checked like anything typed that is kept: no hidden characters, at most 500 letters."""
    note = typed_text(getattr(args, "note", "") or "", 500)
    if isinstance(note, Invalid):
        print(
            "error: --note must be plain text of at most 500 letters, without control or hidden characters",
            file=sys.stderr,
        )
        return None
    return note


def cmd_leads_set_status(settings: Settings, args: argparse.Namespace) -> int:
    if (note := _note(args)) is None:
        return 2
    args.note = note
    desk = open_desk(settings, args)
    try:
        lead = desk.leads.set_status(args.id, args.status, desk.staff, note=args.note, reason=args.reason)
    except LeadError as exc:
        print(f"error: {escaped(exc)}", file=sys.stderr)
        return 1
    desk.record("set-status", lead.id, f"status={lead.status} reason={lead.close_reason}")
    print(f"Lead {lead.id}: {lead.status}" + (f" ({lead.close_reason})" if lead.close_reason else ""))
    return 0


def cmd_leads_merge(settings: Settings, args: argparse.Namespace) -> int:
    """Two leads are the same person: ID is closed as a duplicate of --into, which is kept."""
    if (note := _note(args)) is None:
        return 2
    desk = open_desk(settings, args)
    try:
        lead = desk.leads.merge(args.id, args.into, desk.staff, note)
    except LeadError as exc:
        print(f"error: {escaped(exc)}", file=sys.stderr)
        return 1
    desk.record("merge", lead.id, f"into={args.into.strip().lower()}")
    print(f"Lead {lead.id}: closed as a duplicate, merged into {escaped(args.into.strip().lower())}")
    return 0


def cmd_leads_not_duplicate(settings: Settings, args: argparse.Namespace) -> int:
    """Two leads with the same number are different people (e.g. one carer screening for two patients)."""
    if (note := _note(args)) is None:
        return 2
    desk = open_desk(settings, args)
    try:
        lead = desk.leads.not_duplicate(args.id, args.other, desk.staff, note)
    except LeadError as exc:
        print(f"error: {escaped(exc)}", file=sys.stderr)
        return 1
    other = args.other.strip().lower()
    desk.record("not-duplicate", lead.id, f"other={other}")
    print(f"Leads {lead.id} and {escaped(other)}: not the same person")
    return 0


EXPORT_COLUMNS = (
    "id",
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


def export_rows(leads: list[Lead], dialog: Dialog) -> list[dict[str, Any]]:
    """One flat row per lead, one column per criterion, for spreadsheets."""
    rows = []
    for lead in leads:
        row: dict[str, Any] = {
            "id": lead.id,
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
        for cid in dialog.criteria:
            row[cid] = shown_result(lead.criteria[cid], dialog.criteria[cid]) if cid in lead.criteria else ""
        rows.append(row)
    return rows


def cmd_leads_export(settings: Settings, args: argparse.Namespace) -> int:
    desk = open_desk(settings, args)
    if args.format == "xlsx" and not args.output:
        print("error: XLSX needs --output FILE.xlsx", file=sys.stderr)
        return 2
    found = desk.leads.find(args.status, args.since, args.until)
    rows = export_rows(found, desk.dialog)
    headers = [*EXPORT_COLUMNS, *desk.dialog.criteria]
    data = write_export(args.format, headers, rows)
    desk.record(
        "export", detail=_filters(args, f"format={args.format}", f"rows={len(rows)}"), seen=[lead.id for lead in found]
    )
    if args.output:
        path = Path(args.output)
        with OutputFiles(path.parent, mode=0o600) as out:  # it holds contact details; never half-written
            out.write(path.name, data)
        print(f"{len(rows)} lead(s) written to {path}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


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


def cmd_leads_erase(settings: Settings, args: argparse.Namespace) -> int:
    desk = open_desk(settings, args)
    if desk.leads.get(args.id) is None:
        print(f"error: no lead {escaped(repr(args.id))}", file=sys.stderr)
        return 1
    if not args.yes:
        print(f"Erase lead {args.id} and the whole screening behind it? This cannot be undone. Type yes: ", end="")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() != "yes":
            print("Nothing was erased.")
            return 1
    erase_lead(desk.db, args.id, desk.staff)
    print(f"Lead {escaped(args.id)} erased (logged in the audit log, without its data).")
    if pending(desk.db):
        print(
            "note: another program is reading the database, so its write-ahead log still holds the erased data. "
            "It is emptied as soon as that program is done: by the running bot or web chat within a minute, "
            "or by the next `screening-bot` command.",
            file=sys.stderr,
        )
    return 0


def _filters(args: argparse.Namespace, *more: str) -> str:
    """The filters a staff member used, for the audit log."""
    used = [f"{k}={getattr(args, k)}" for k in ("status", "since", "until") if getattr(args, k, None)]
    return " ".join([*more[:-1], *used, *more[-1:]])


# ---------------------------------------------------------------------- stats, audit, purge, keys


def funnel(db: sqlite_utils.Database, dialog: Dialog) -> tuple[list[list[Any]], list[list[Any]], list[list[Any]]]:
    """(the funnel, where people stop per question, leads by status) from counters and live rows."""
    n = audit.totals(db)
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
    live = {
        r["state"]: r["c"]
        for r in db.query("SELECT state, COUNT(*) AS c FROM conversations WHERE outcome = '' GROUP BY state")
    }
    stops = [
        [q.id, q.label, live.get(q.id, 0), n.get(f"stopped:{q.id}", 0)]
        for q in dialog.questions
        if live.get(q.id) or n.get(f"stopped:{q.id}")
    ]
    if live.get("summary") or n.get("stopped:summary"):
        stops.append(["summary", _("checking the answers"), live.get("summary", 0), n.get("stopped:summary", 0)])
    by_status = {r["status"]: r["c"] for r in db.query("SELECT status, COUNT(*) AS c FROM leads GROUP BY status")}
    statuses = [[s, by_status.get(s, 0)] for s in STATUSES]
    return steps, stops, statuses


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    dialog = load_dialog(settings.dialog_path)
    steps, stops, statuses = funnel(open_staff_database(settings, args)[0], dialog)
    print("Screening funnel (anonymous counts, all time)\n")
    print(table(["STEP", "PEOPLE"], steps))
    print("\nWhere unfinished screenings stop\n")
    if stops:
        print(table(["QUESTION", "LABEL", "IN PROGRESS NOW", "STOPPED (REMOVED)"], stops))
    else:
        print("No unfinished screenings.")
    print("\nLeads by status\n")
    print(table(["STATUS", "LEADS"], statuses))
    return 0


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    db, _vault = open_staff_database(settings, args)
    if args.what == "verify":
        return report_verdict(audit.verify(db))
    rows = [
        [_minute(e["at"]), e["who"], e["action"], e["lead_id"], e["detail"], e["leads_seen"]]
        for e in audit.entries(db, args.limit)
    ]
    headers = ["WHEN (UTC)", "WHO", "ACTION", "LEAD", "DETAIL", "LEADS SEEN"]
    print(table(headers, rows, limit=60) if rows else "The audit log is empty.")
    return 0


def report_verdict(verdict: audit.Verdict) -> int:
    """`audit verify`: 0 when the chain and the triggers are intact, 1 (and each finding) when not."""
    head = f"{verdict.entries} entries; head {verdict.head[:16] or '-'} (note it elsewhere: a cut tail verifies too)"
    if verdict.intact:
        print(f"The audit log is intact: every link verifies and both triggers are in place. {head}.")
        return 0
    print(f"THE AUDIT LOG WAS TAMPERED WITH: {len(verdict.problems)} finding(s). {head}.")
    for problem in verdict.problems:
        print(f"  - {escaped(problem)}")
    return 1


# ---------------------------------------------------------------------- backups


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    folder = Path(args.out) if args.out else settings.backup_dir
    if folder is None:
        raise ConfigError(
            "say where the backup goes: --out FOLDER, or set SCREENING_BACKUP_DIR (config file: screening_backup_dir) "
            "to a folder on another disk"
        )
    db, _vault = open_staff_database(settings, args)
    made = make_backup(db, settings.db_path, folder, settings.backup_keep_days)
    audit.record(db, staff_identity(), "backup", detail=f"file={made.path.name} removed={len(made.removed)}")
    print(made.path)
    print(
        f"{made.conversations} screening(s), {made.answers} answer(s), {made.leads} lead(s), encrypted with the "
        f"database's key; {len(made.removed)} backup(s) older than {settings.backup_keep_days} days deleted. "
        "Keep the key apart from the backups (README, 'Backups').",
        file=sys.stderr,
    )
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    keys = read_keys(settings.screening_key, settings.key_path())
    if keys is None:
        raise VaultError(
            f"no key: neither SCREENING_KEY nor the key file {settings.key_path()} is there, and a backup is encrypted "
            "with it. Restore the key from where you keep it apart from the backups, then try again."
        )
    db_keys = [database_key(k) for k in keys.keys]
    backup = Path(args.backup)
    _version, backup_time = check_backup(backup, db_keys)
    if in_use(settings.db_path, db_keys[0]):
        raise Problem(
            f"the database {settings.db_path} is open in another program (the bot, the web chat, a staff command?). "
            "Stop them first, then restore."
        )
    if not args.yes:
        print(
            f"Replace {settings.db_path} with the backup {backup.name}? What was saved after it was made is lost "
            "(erasures are made again). Type yes: ",
            end="",
        )
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() != "yes":
            print("Nothing was restored.")
            return 1
    marks = erased_since(settings.db_path, db_keys[0], backup_time)
    withdrawn = withdrawn_since(settings.db_path, db_keys[0], backup_time)
    restored = restore_backup(backup, settings.db_path, db_keys)
    db, vault = open_protected(settings.db_path, settings.screening_key, settings.key_path(), settings.old_key_path())
    erased = [cid for (cid,) in db.execute("SELECT id FROM conversations") if audit.erasure_mark(db, cid) in marks]
    again = sum(erase_conversation(db, conversation, "restore") for conversation in erased)
    leads = LeadStore(db, vault)
    for lead in filter(None, (leads.get(lead_id) for lead_id in withdrawn)):
        again += len(leads.withdraw(lead.conversation_id))  # "no, thank you" to contact, said after the backup
    audit.record(db, staff_identity(), "restore", detail=f"from={backup.name} erased_again={again}")
    print(f"Restored {settings.db_path} from {backup}; {again} erasure(s) made since the backup were made again.")
    if restored.kept_aside is not None:
        print(
            f"The replaced database is kept at {restored.kept_aside} (with its key, it can be read): delete it "
            "once the restored one works; it holds personal data.",
            file=sys.stderr,
        )
    return 0


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    periods = retention_from(settings)
    db, _vault = open_staff_database(settings, args)
    counts = purge(db, datetime.now(UTC), periods, dry_run=args.dry_run, who=staff_identity())
    verb = "would be removed" if args.dry_run else "removed"
    print(
        table(
            ["WHAT", "KEPT FOR", verb.upper()],
            [
                ["unfinished screenings", f"{periods.unfinished_days} days", counts.unfinished],
                [
                    "finished, no lead (not eligible, not yet, no contact)",
                    f"{periods.not_eligible_days} days",
                    counts.finished_without_lead,
                ],
                ["closed or enrolled leads", f"{periods.closed_lead_days} days", counts.closed_leads],
            ],
        )
    )
    return 0


def cmd_rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    db, vault = open_staff_database(settings, args)
    keys = read_keys(settings.screening_key, settings.key_path())
    key_file = keys.key_file if keys else settings.key_path()
    new_key = rotate_key(db, vault, key_file)
    audit.record(
        db, staff_identity(), "rotate-key", detail="new keys: all re-encrypted, hashes and pseudonyms re-derived"
    )
    count = next(db.query("SELECT COUNT(*) AS c FROM leads"))["c"]
    print(
        f"{count} lead(s) re-encrypted with a new key; phone hashes and Telegram pseudonyms made again with a new "
        "hash key. Restart the bot and the web chat now if they were running: they still hold the old keys.",
        file=sys.stderr,
    )
    if key_file is None:
        print("The key comes from SCREENING_KEY: set it to this new key now (the old one no longer works):")
        print(new_key.decode())
    else:
        print(f"The new key is in {key_file}. Back it up now (see README, 'Encryption key').", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------- wiring


def _date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-25") from exc


def register(sub: SubCommands) -> None:
    """Add the staff subcommands to `screening-bot`."""
    staff = argparse.ArgumentParser(add_help=False)
    staff.add_argument(
        "--staff",
        metavar="NAME",
        help="a name to note in the audit entry; who you are is your login and uid, as the system says",
    )
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--create", action="store_true", help="start a new, empty database if there is none (default: refuse)"
    )
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument(
        "--status", choices=[*STATUSES, "open"], help="only leads with this status ('open': not closed or enrolled)"
    )
    filters.add_argument("--since", type=_date, help="created on or after this date (YYYY-MM-DD)")
    filters.add_argument("--until", type=_date, help="created on or before this date (YYYY-MM-DD)")

    leads = sub.add_parser("leads", help="staff: list, show, update and export leads")
    leads_sub = leads.add_subparsers(dest="leads_command", required=True)
    p = leads_sub.add_parser("list", parents=[staff, database, filters], help="leads, newest first")
    p.set_defaults(func=cmd_leads_list)
    p = leads_sub.add_parser("show", parents=[staff, database], help="one whole lead, with its history")
    p.add_argument("id")
    p.set_defaults(func=cmd_leads_show)
    p = leads_sub.add_parser("set-status", parents=[staff, database], help="change a lead's status")
    p.add_argument("id")
    p.add_argument("status", choices=STATUSES)
    p.add_argument("--reason", default="", choices=["", *CLOSE_REASONS], help="why it is closed (needed for 'closed')")
    p.add_argument("--note", default="", help="a short note kept in the lead's history")
    p.set_defaults(func=cmd_leads_set_status)
    p = leads_sub.add_parser(
        "merge", parents=[staff, database], help="two leads are the same person: close ID as a duplicate of --into"
    )
    p.add_argument("id")
    p.add_argument("--into", required=True, metavar="OTHER_ID", help="the lead that is kept")
    p.add_argument("--note", default="", help="a short note kept in both leads' history")
    p.set_defaults(func=cmd_leads_merge)
    p = leads_sub.add_parser(
        "not-duplicate", parents=[staff, database], help="two leads with one number are different people"
    )
    p.add_argument("id")
    p.add_argument("other")
    p.add_argument("--note", default="", help="a short note kept in both leads' history")
    p.set_defaults(func=cmd_leads_not_duplicate)
    p = leads_sub.add_parser(
        "export", parents=[staff, database, filters], help="leads as CSV (Excel-ready), XLSX or JSON"
    )
    p.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv")
    p.add_argument("--output", "-o", help="file to write (default: standard output; needed for xlsx)")
    p.set_defaults(func=cmd_leads_export)
    p = leads_sub.add_parser("erase", parents=[staff, database], help="erase a lead and the person's whole screening")
    p.add_argument("id")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_leads_erase)

    p = sub.add_parser("stats", parents=[database], help="staff: the screening funnel and where people stop")
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser(
        "audit", parents=[database], help="staff: the audit log, newest first; `audit verify` checks its chain"
    )
    p.add_argument("what", nargs="?", choices=["verify"], help="verify: check every link and both triggers")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_audit)
    p = sub.add_parser("backup", parents=[database], help="an encrypted copy of the database, taken while it runs")
    p.add_argument("--out", metavar="FOLDER", help="where to write it (default: SCREENING_BACKUP_DIR)")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="put a backup in the database's place (stop the bot first)")
    p.add_argument("backup", metavar="BACKUP_FILE", help="a file `screening-bot backup` wrote")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_restore)
    p = sub.add_parser("purge", parents=[staff, database], help="remove data past its retention period")
    p.add_argument("--dry-run", action="store_true", help="only count what would be removed")
    p.set_defaults(func=cmd_purge)
    p = sub.add_parser(
        "rotate-key",
        parents=[staff, database],
        help="new keys: re-encrypt everything, re-derive phone hashes and pseudonyms",
    )
    p.set_defaults(func=cmd_rotate_key)
