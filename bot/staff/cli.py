"""Staff commands: `screening-bot leads|stats|audit|backup|restore|purge|rotate-key`.

For study coordinators at a terminal. Every read, export, status change, merge and
erasure of a lead is appended to the audit log under who ran the command, as the
operating system says (login name and uid); `--staff NAME` only adds a note. Tables
are padded by display width, so Chinese names line up. `audit verify` checks the audit
log's chain; `backup` and `restore` keep and bring back an encrypted copy of the database.

Whatever is stored, what staff get is safe (bot/safe_text.py): every table cell and
line printed has control, bidi and other hidden characters shown as escapes (a stored
ESC cannot drive the terminal); CSV and XLSX cells that a spreadsheet would read as a
formula are marked as text (OWASP), XLSX cells are always written as text, and no
stored value can make an export fail.

Long on purpose: one argparse command per staff action, each a few lines over the team's
service; splitting would scatter the commands.
"""

from __future__ import annotations

import argparse
import os
import pwd
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .. import compose
from ..config import ConfigError, Settings, SubCommands
from ..dialog.model import Dialog
from ..dialog.rules import Invalid
from ..files import OutputFiles
from ..retention import retention_from
from ..safe_text import escaped, typed_text
from ..screening.team import CLOSE_REASONS, STATUSES, LeadError, TeamService, Verdict
from .views import OUTCOME_NAMES, _minute, export_table, funnel, show_lead, table, trial_name, write_export


@dataclass
class Desk:
    """What a staff command works with: the team's service (every trial's leads, each trial's dialog for its
    labels; it notes the `--staff` name in each audit entry) and who is asking, as the operating system says."""

    team: TeamService
    staff: str

    def trials(self, args: argparse.Namespace) -> list[Dialog]:
        """The trials a command is about: the one named by --trial, else every trial run here."""
        wanted = self.team.check_trial(getattr(args, "trial", None))
        return [self.team.dialogs[wanted]] if wanted else list(self.team.dialogs.values())


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


def open_desk(settings: Settings, args: argparse.Namespace) -> Desk:
    """The database the channels filled, with its key (never a new one by accident, see compose.open_team)."""
    return Desk(compose.open_team(settings, create=args.create, signed=signed_name(args)), staff_identity())


# ---------------------------------------------------------------------- leads


def cmd_leads_list(settings: Settings, args: argparse.Namespace) -> int:
    desk = open_desk(settings, args)
    try:
        found = desk.team.leads(
            args.status, args.since, args.until, who=desk.staff, detail=_filters(args, "rows={rows}"), trial=args.trial
        )
    except LeadError as exc:
        print(f"error: {escaped(exc)}", file=sys.stderr)
        return 2
    if not found:
        print("No leads match.")
        return 0
    rows = [
        [
            lead.id,
            lead.dialog_id,
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
        "ID", "TRIAL", "URGENT", "CREATED (UTC)", "STATUS", "OUTCOME", "NAME", "PHONE", "CALL", "LANG", "SOURCE",
        "REPEATS", "POSSIBLE DUPLICATE OF",
    ]  # fmt: skip
    print(table(headers, rows))
    print(f"\n{len(found)} lead(s).")
    return 0


def cmd_leads_show(settings: Settings, args: argparse.Namespace) -> int:
    desk = open_desk(settings, args)
    lead = desk.team.lead(args.id, who=desk.staff)
    if lead is None:
        print(f"error: no lead {escaped(repr(args.id))}; `screening-bot leads list` shows the ids", file=sys.stderr)
        return 1
    print(show_lead(lead, desk.team.dialog_of(lead)))
    return 0


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
        lead = desk.team.set_status(args.id, args.status, desk.staff, note=args.note, reason=args.reason)
    except LeadError as exc:
        print(f"error: {escaped(exc)}", file=sys.stderr)
        return 1
    print(f"Lead {lead.id}: {lead.status}" + (f" ({lead.close_reason})" if lead.close_reason else ""))
    return 0


def cmd_leads_merge(settings: Settings, args: argparse.Namespace) -> int:
    """Two leads are the same person: ID is closed as a duplicate of --into, which is kept."""
    if (note := _note(args)) is None:
        return 2
    desk = open_desk(settings, args)
    try:
        lead = desk.team.merge(args.id, args.into, desk.staff, note)
    except LeadError as exc:
        print(f"error: {escaped(exc)}", file=sys.stderr)
        return 1
    print(f"Lead {lead.id}: closed as a duplicate, merged into {escaped(args.into.strip().lower())}")
    return 0


def cmd_leads_not_duplicate(settings: Settings, args: argparse.Namespace) -> int:
    """Two leads with the same number are different people (e.g. one carer screening for two patients)."""
    if (note := _note(args)) is None:
        return 2
    desk = open_desk(settings, args)
    try:
        lead = desk.team.not_duplicate(args.id, args.other, desk.staff, note)
    except LeadError as exc:
        print(f"error: {escaped(exc)}", file=sys.stderr)
        return 1
    other = args.other.strip().lower()
    print(f"Leads {lead.id} and {escaped(other)}: not the same person")
    return 0


def cmd_leads_export(settings: Settings, args: argparse.Namespace) -> int:
    desk = open_desk(settings, args)
    if args.format == "xlsx" and not args.output:
        print("error: XLSX needs --output FILE.xlsx", file=sys.stderr)
        return 2
    try:
        trials = desk.trials(args)
        found = desk.team.leads(args.status, args.since, args.until, trial=args.trial)
    except LeadError as exc:
        print(f"error: {escaped(exc)}", file=sys.stderr)
        return 2
    headers, rows = export_table(found, trials)
    data = write_export(args.format, headers, rows)
    detail = _filters(args, f"format={args.format}", f"rows={len(rows)}")
    desk.team.record(desk.staff, "export", detail=detail, seen=[lead.id for lead in found])
    if args.output:
        path = Path(args.output)
        with OutputFiles(path.parent, mode=0o600) as out:  # it holds contact details; never half-written
            out.write(path.name, data)
        print(f"{len(rows)} lead(s) written to {path}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def cmd_leads_erase(settings: Settings, args: argparse.Namespace) -> int:
    desk = open_desk(settings, args)
    if desk.team.lead(args.id) is None:
        print(f"error: no lead {escaped(repr(args.id))}", file=sys.stderr)
        return 1
    if not args.yes:
        print(f"Erase lead {args.id} and the whole screening behind it? This cannot be undone. Type yes: ", end="")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() != "yes":
            print("Nothing was erased.")
            return 1
    desk.team.erase(args.id, desk.staff)
    print(f"Lead {escaped(args.id)} erased (logged in the audit log, without its data).")
    if desk.team.wipe_pending():
        print(
            "note: another program is reading the database, so its write-ahead log still holds the erased data. "
            "It is emptied as soon as that program is done: by the running bot or web chat within a minute, "
            "or by the next `screening-bot` command.",
            file=sys.stderr,
        )
    return 0


def _filters(args: argparse.Namespace, *more: str) -> str:
    """The filters a staff member used, for the audit log."""
    used = [f"{k}={getattr(args, k)}" for k in ("trial", "status", "since", "until") if getattr(args, k, None)]
    return " ".join([*more[:-1], *used, *more[-1:]])


# ---------------------------------------------------------------------- stats, audit, purge, keys


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    """The funnel of each trial (or of the one named by --trial): each trial's questions are its own."""
    desk = open_desk(settings, args)
    try:
        trials = desk.trials(args)
    except LeadError as exc:
        print(f"error: {escaped(exc)}", file=sys.stderr)
        return 2
    for number, dialog in enumerate(trials):
        steps, stops, statuses = funnel(desk.team.counts(dialog.id), dialog)
        if len(desk.team.dialogs) > 1:
            print(("\n" if number else "") + f"Trial {trial_name(dialog.id, dialog)}\n" + "=" * 40 + "\n")
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
    team = open_desk(settings, args).team
    if args.what == "verify":
        return report_verdict(team.verify_audit())
    rows = [
        [_minute(e["at"]), e["who"], e["action"], e["lead_id"], e["detail"], e["leads_seen"]]
        for e in team.audit_entries(args.limit)
    ]
    headers = ["WHEN (UTC)", "WHO", "ACTION", "LEAD", "DETAIL", "LEADS SEEN"]
    print(table(headers, rows, limit=60) if rows else "The audit log is empty.")
    return 0


def report_verdict(verdict: Verdict) -> int:
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
    desk = open_desk(settings, args)
    made = desk.team.backup(settings.db_path, folder, settings.backup_keep_days, desk.staff)
    print(made.path)
    print(
        f"{made.conversations} screening(s), {made.answers} answer(s), {made.leads} lead(s), encrypted with the "
        f"database's key; {len(made.removed)} backup(s) older than {settings.backup_keep_days} days deleted. "
        "Keep the key apart from the backups (README, 'Backups').",
        file=sys.stderr,
    )
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    backup = Path(args.backup)
    checked = compose.check_restore(settings, backup)  # the key, the backup, and nobody using the database
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
    again, kept_aside = compose.restore(settings, checked, staff_identity())
    print(f"Restored {settings.db_path} from {backup}; {again} erasure(s) made since the backup were made again.")
    if kept_aside is not None:
        print(
            f"The replaced database is kept at {kept_aside} (with its key, it can be read): delete it "
            "once the restored one works; it holds personal data.",
            file=sys.stderr,
        )
    return 0


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    periods = retention_from(settings)
    desk = open_desk(settings, args)  # refuses to run with a wrong key
    counts = desk.team.purge(periods, desk.staff, dry_run=args.dry_run)
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
    desk = open_desk(settings, args)
    key_file = compose.key_file_in_use(settings)
    new_key, count = desk.team.rotate_key(key_file, desk.staff)
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
    trial = argparse.ArgumentParser(add_help=False)
    trial.add_argument("--trial", metavar="DIALOG_ID", help="only this trial (its [dialog] id); default: every trial")

    leads = sub.add_parser("leads", help="staff: list, show, update and export leads")
    leads_sub = leads.add_subparsers(dest="leads_command", required=True)
    p = leads_sub.add_parser("list", parents=[staff, database, filters, trial], help="leads, newest first")
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
        "export", parents=[staff, database, filters, trial], help="leads as CSV (Excel-ready), XLSX or JSON"
    )
    p.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv")
    p.add_argument("--output", "-o", help="file to write (default: standard output; needed for xlsx)")
    p.set_defaults(func=cmd_leads_export)
    p = leads_sub.add_parser("erase", parents=[staff, database], help="erase a lead and the person's whole screening")
    p.add_argument("id")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_leads_erase)

    p = sub.add_parser(
        "stats", parents=[database, trial], help="staff: the screening funnel and where people stop, per trial"
    )
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
