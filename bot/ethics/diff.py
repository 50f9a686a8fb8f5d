"""What changed between two versions of a dialog, in words, for the amendment the committee approves.

Each dialog is flattened into named parts (the consent notice, each criterion, each
question, each option, each outcome) with their fields in the committee's terms; the
diff then lists added and removed parts and every changed field with old and new text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from ..dialog.model import Condition, Dialog, Option, Question, TwoLanguages
from .bilingual import Bi

#: The parts' and fields' names in Chinese, for the amendment's list of changes.
PART_ZH = (
    (r"^the dialog$", "对话脚本"),
    (r"^the consent notice$", "知情同意告知"),
    (r"^the site$", "研究中心信息"),
    (r"^the study$", "研究信息"),
    (r"^the crisis-help message$", "危机求助信息"),
    (r"^the question order$", "问题顺序"),
    (r"^the chat's own words$", "聊天中本研究的用语"),
    (r"^the region$", "地区设置"),
    (r'^the typed phrases that mean a risk: "([^"]+)"$', r"表示风险的输入词语：“\1”"),
    (r'^the help line "([^"]+)"$', r"求助热线“\1”"),
    (r'^the separate consent "([^"]+)"$', r"单独同意“\1”"),
    (r'^the item for the site to confirm "([^"]+)"$', r"待研究中心确认的事项“\1”"),
    (r'^the options of question "([^"]+)"$', r"问题“\1”的选项顺序"),
    (r'^criterion "([^"]+)"$', r"标准“\1”"),
    (r'^outcome "([^"]+)"$', r"结果“\1”"),
    (r'^question "([^"]+)", option "([^"]+)"$', r"问题“\1”的选项“\2”"),
    (r'^question "([^"]+)"$', r"问题“\1”"),
)
FIELD_ZH = {
    "version": "版本号", "title": "标题", "trial": "注册号", "recruiting": "是否招募", "text": "文字",
    "agree": "同意按钮", "decline": "不同意按钮", "declined": "不同意之后", "label": "标签",
    "patients can answer": "患者能否回答", "reason told": "告知的理由", "kind": "类型", "carer's text": "照护者用语",
    "criteria": "标准", "asked only if": "提问条件", "range": "范围", "year of birth accepted": "接受出生年份",
    "accepted ages": "接受的年龄", "time rule": "时间规则", '"Not sure" button': "“不确定”按钮",
    "carer's label": "照护者标签", "rules out": "排除", "needs review": "需核查",
    "not yet, wait": "暂不，等待时间",
    "greeting": "问候语", "about": "聊天说明", "about caregiver": "聊天说明（照护者）", "visit": "就诊邀请",
    "visit caregiver": "就诊邀请（照护者）", "calendar title": "日历标题", "phone region": "电话号码地区",
    "phone example": "电话号码示例", "time zone": "时区", "reminder time": "提醒时间", "call languages": "通话语言",
    "who is answering (question)": "回答者问题",
    "criterion": "标准", "only answer": "单独选择", "shows crisis help": "显示危机求助", "version date": "版本日期",
    "phrases": "词语", "number": "号码", "hours": "时间", "listed in the crisis text": "列入危机求助信息",
    "what (en)": "内容（英文）", "what (zh)": "内容（中文）", "asked before question": "在此问题之前询问",
    "channels": "渠道",
    "recipient": "接收方", "after declining": "不同意之后", "carer's title": "照护者标题",
    "emergency text": "急症文字", "carer's emergency text": "照护者急症文字",
    "if very unwell now (welcome and help)": "如果现在很不舒服（欢迎和帮助）",
}  # fmt: skip


def part_zh(part: str) -> str:
    for pattern, chinese in PART_ZH:
        if re.match(pattern, part):
            return re.sub(pattern, chinese, part)
    return part


@dataclass(frozen=True)
class Change:
    kind: str  # "added", "removed", "changed", "moved"
    part: str  # e.g. 'question "age"', 'question "age", option "self"'
    field: str = ""
    old: str = ""
    new: str = ""

    def in_words(self) -> Bi:
        """The change in English and Chinese; the texts quoted are the script's own (English, the source)."""
        part = Bi(self.part, part_zh(self.part))
        if self.kind == "added":
            return Bi("Added {part}: {new}", "新增{part}：{new}").format(part=part, new=self.new)
        if self.kind == "removed":
            return Bi("Removed {part}: {old}", "删除{part}：{old}").format(part=part, old=self.old)
        if self.kind == "moved":
            return Bi("Moved {part}: {old} -> {new}", "调整{part}：{old} -> {new}").format(
                part=part, old=self.old, new=self.new
            )
        return Bi('Changed {part}, {field}: "{old}" -> "{new}"', "修改{part}的{field}：“{old}” -> “{new}”").format(
            part=part, field=Bi(self.field, FIELD_ZH.get(self.field, self.field)), old=self.old, new=self.new
        )


def _condition(c: Condition) -> str:
    """An ask_if test by ids only, so renaming an option's label is one change, not several.

    Every field of the condition is listed (not a chosen few), so a new kind of test shows up too."""
    tests = []
    for f in fields(Condition):
        value = getattr(c, f.name)
        if f.name in ("question", "month_question") or value in ((), None):
            continue
        shown = ", ".join(value) if isinstance(value, tuple) else value
        tests.append(f"{f.name.replace('_', ' ')} {shown}")
    return f"{c.question}: {'; '.join(tests)}"


def _question_fields(q: Question) -> dict[str, str]:
    accept = f"{q.accept.min} to {q.accept.max}, else rules out {q.accept.criterion}" if q.accept else ""
    since = f"{q.since.at_least} before today for {q.since.criterion}" if q.since else ""
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
        "not yet, wait": str(o.wait) if o.wait else "",
        "criterion": o.criterion,
        "only answer": "yes" if o.exclusive else "",
        "shows crisis help, urgent for the study team": "yes" if o.safety else "",
    }


def _study_fields(dialog: Dialog) -> dict[str, str]:
    out = {}
    for f in fields(dialog.study):
        value = getattr(dialog.study, f.name)
        name = f.name.replace("_", " ")
        if isinstance(value, TwoLanguages):
            out[f"{name} (en)"], out[f"{name} (zh)"] = value.en, value.zh
        else:
            out[name] = value
    return out


def parts(dialog: Dialog) -> dict[str, dict[str, str]]:
    """Every part of the dialog a person sees or a rule depends on, by a stable name, in file order."""
    out: dict[str, dict[str, str]] = {
        "the dialog": {
            "title": dialog.title,
            "trial": dialog.trial,
            "recruiting": "yes" if dialog.recruiting else "no",
            "who is answering (question)": dialog.respondent_question,
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
        "the study": _study_fields(dialog),
        "the chat's own words": {f.name.replace("_", " "): getattr(dialog.texts, f.name) for f in fields(dialog.texts)},
        "the region": {
            "phone region": dialog.region.phone_region,
            "phone example": dialog.region.phone_example,
            "time zone": dialog.region.time_zone,
            "reminder time": dialog.region.reminder_time,
            "call languages": ", ".join(f"{c.id}: {c.label}" for c in dialog.region.call_languages),
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
        }
    for item in dialog.to_confirm:
        out[f'the item for the site to confirm "{item.part}"'] = {"what (en)": item.what.en, "what (zh)": item.what.zh}
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
