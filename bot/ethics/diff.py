"""What changed between two versions of a dialog, in words, for the amendment the committee approves.

Each dialog is flattened into named parts (the consent notice, each criterion, each
question, each option, each outcome) with their fields in the committee's terms; the
diff then lists added and removed parts and every changed field with old and new text.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..dialog.model import Condition, Dialog, Option, Question


@dataclass(frozen=True)
class Change:
    kind: str  # "added", "removed", "changed", "moved"
    part: str  # e.g. 'question "age"', 'question "age", option "self"'
    field: str = ""
    old: str = ""
    new: str = ""

    def in_words(self) -> str:
        if self.kind == "added":
            return f"Added {self.part}: {self.new}"
        if self.kind == "removed":
            return f"Removed {self.part}: {self.old}"
        if self.kind == "moved":
            return f"Moved {self.part}: {self.old} -> {self.new}"
        return f'Changed {self.part}, {self.field}: "{self.old}" -> "{self.new}"'


def _condition(c: Condition) -> str:
    """An ask_if test by ids only, so renaming an option's label is one change, not several."""
    tests = [
        f"{name.replace('_', ' ')} {value if not isinstance(value, tuple) else ', '.join(value)}"
        for name, value in (
            ("any_of", c.any_of),
            ("none_of", c.none_of),
            ("years_ago_at_most", c.years_ago_at_most),
            ("at_least", c.at_least),
            ("at_most", c.at_most),
            ("less_than_weeks_ago", c.less_than_weeks_ago),
        )
        if value not in ((), None)
    ]
    return f"{c.question}: {'; '.join(tests)}"


def _question_fields(q: Question) -> dict[str, str]:
    accept = f"{q.accept.min} to {q.accept.max}, else rules out {q.accept.criterion}" if q.accept else ""
    since = f"{q.since.weeks} weeks before today for {q.since.criterion}" if q.since else ""
    return {
        "kind": q.kind,
        "label": q.label,
        "text": q.text,
        "carer's text": q.text_caregiver,
        "criteria": ", ".join(q.criteria),
        "asked only if": " and ".join(_condition(c) for c in q.ask_if),
        "range": f"{q.min if q.min is not None else ''} to {q.max if q.max is not None else ''}".strip(),
        "year of birth accepted": "yes" if q.birth_year else "",
        "accepted ages": accept,
        "time rule": since,
        '"Not sure" button': "yes" if q.not_sure else "",
    }


def _option_fields(o: Option) -> dict[str, str]:
    return {
        "label": o.label,
        "carer's label": o.label_caregiver,
        "rules out": o.rules_out,
        "needs review": "yes" if o.review else "",
        "not yet, days to wait": str(o.wait_days) if o.wait_days else "",
        "criterion": o.criterion,
        "only answer": "yes" if o.exclusive else "",
        "shows crisis help, urgent for the study team": "yes" if o.safety else "",
        "for the site to confirm": o.to_confirm,
    }


def parts(dialog: Dialog) -> dict[str, dict[str, str]]:
    """Every part of the dialog a person sees or a rule depends on, by a stable name, in file order."""
    out: dict[str, dict[str, str]] = {
        "the dialog": {
            "title": dialog.title,
            "trial": dialog.trial,
            "recruiting": "yes" if dialog.recruiting else "no",
        },
        "the consent notice": {
            f.name.replace("_", " "): str(getattr(dialog.consent, f.name) or "") for f in fields(dialog.consent)
        },
        "the site": {f.name.replace("_", " "): getattr(dialog.site, f.name) for f in fields(dialog.site)},
        "the crisis-help message": {
            "text": dialog.safety.text,
            "carer's text": dialog.safety.text_caregiver,
            "emergency text": dialog.safety.emergency_text,
            "carer's emergency text": dialog.safety.emergency_text_caregiver,
            "if very unwell now (welcome and help)": dialog.safety.unwell_now,
        },
    }
    for kind, phrases in dialog.safety.signals.items():
        out[f'the typed phrases that mean a risk: "{kind}"'] = {"phrases": ", ".join(phrases)}
    for line in dialog.safety.lines:
        out[f'the help line "{line.id}"'] = {
            "number": line.number,
            "label": line.label,
            "hours": line.hours,
            "listed in the crisis text": "yes" if line.crisis else "",
            "for the site to confirm": line.to_confirm,
        }
    for consent in dialog.consents:
        out[f'the separate consent "{consent.id}"'] = {
            "kind": consent.kind.replace("_", " "),
            "version": consent.version,
            "asked before question": consent.before,
            "channels": ", ".join(consent.channels) or "all",
            "recipient": consent.recipient,
            "text": consent.text,
            "carer's text": consent.text_caregiver,
            "agree": consent.agree,
            "decline": consent.decline,
            "after declining": consent.declined,
            "for the site to confirm": consent.to_confirm,
        }
    for c in dialog.criteria.values():
        out[f'criterion "{c.id}"'] = {
            "label": c.label,
            "kind": c.kind,
            "patients can answer": c.lay,
            "reason told": c.reason,
        }
    for q in dialog.questions:
        out[f'question "{q.id}"'] = _question_fields(q)
        for o in q.options:
            out[f'question "{q.id}", option "{o.id}"'] = _option_fields(o)
    for name, outcome in dialog.outcomes.items():
        out[f'outcome "{name}"'] = {
            "title": outcome.title,
            "carer's title": outcome.title_caregiver,
            "text": outcome.text,
            "carer's text": outcome.text_caregiver,
        }
    return out


def _summary(values: dict[str, str]) -> str:
    for key in ("text", "label", "title"):
        if values.get(key):
            return values[key]
    return "; ".join(f"{k}: {v}" for k, v in values.items() if v)


def dialog_changes(old: Dialog, new: Dialog) -> list[Change]:
    """Every difference between two dialogs, in the new file's order (removed parts last)."""
    before, after = parts(old), parts(new)
    changes: list[Change] = []
    if old.version != new.version:
        changes.append(Change("changed", "the dialog", "version", old.version, new.version))
    for name, values in after.items():
        if name not in before:
            parent = name.split(", option")[0]
            if parent != name and parent not in before:
                continue  # an option of a new question: the question is listed
            changes.append(Change("added", name, new=_summary(values)))
            continue
        for key, value in values.items():
            if before[name].get(key, "") != value:
                changes.append(Change("changed", name, key, before[name].get(key, ""), value))
    for name, values in before.items():
        parent = name.split(", option")[0]
        if name not in after and not (parent != name and parent not in after):
            changes.append(Change("removed", name, old=_summary(values)))
    old_order = [q.id for q in old.questions if new.has_question(q.id)]
    new_order = [q.id for q in new.questions if old.has_question(q.id)]
    if old_order != new_order:
        changes.append(Change("moved", "the question order", old=", ".join(old_order), new=", ".join(new_order)))
    for q in new.questions:
        if old.has_question(q.id):
            was = [o.id for o in old.question(q.id).options if q.option(o.id)]
            now = [o.id for o in q.options if old.question(q.id).option(o.id)]
            if was != now:
                changes.append(Change("moved", f'the options of question "{q.id}"', ", ".join(was), ", ".join(now)))
    return changes
