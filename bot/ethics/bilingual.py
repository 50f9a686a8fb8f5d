"""The pack's own words, English and Simplified Chinese side by side.

Why pairs and not gettext: the pack always prints both languages at once, for an ethics
committee, so each text is one pair kept together here, where a reviewer compares the two
wordings line by line. gettext chooses one language at run time, and its catalog is the
patients' catalog: committee prose there would fail the plain-words tests written for
patients, and would be listed in the pack as one of "the bot's messages". What the bot
says to people still comes from the dialog file and the catalogs, as the bot says it.

Long on purpose: the pack's own words in English and Chinese side by side, as a
translator reviews them; it is data, not logic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

#: The languages of the pack's own words (the dialog's texts are shown in every catalog's language).
PACK_LANGUAGES = ("en", "zh_Hans")


class Bi(NamedTuple):
    """One text in English and in Simplified Chinese."""

    en: str
    zh: str

    def format(self, **params: Any) -> Bi:
        """Fill {placeholders}: a Bi value gives each language its own words, anything else is the same in both."""
        return Bi(
            self.en.format(**{k: v.en if isinstance(v, Bi) else v for k, v in params.items()}),
            self.zh.format(**{k: v.zh if isinstance(v, Bi) else v for k, v in params.items()}),
        )

    def __add__(self, other: object) -> Bi:  # type: ignore[override]
        if isinstance(other, Bi):
            return Bi(self.en + other.en, self.zh + other.zh)
        return NotImplemented

    @staticmethod
    def join(items: Iterable[Bi], en: str = ", ", zh: str = "、") -> Bi:
        parts = list(items)
        return Bi(en.join(p.en for p in parts), zh.join(p.zh for p in parts))

    @staticmethod
    def same(text: str) -> Bi:
        """A text that reads the same in both languages (an id, a number, a version)."""
        return Bi(text, text)


# ---------------------------------------------------------------------- the header
SUBTITLE = Bi(
    "Ethics-committee pack of the screening chat: every word it says, every path it takes, and how it handles "
    "personal information. It is generated from the very files the bot runs, so it cannot describe another bot.",
    "筛查聊天的伦理委员会审查材料：它说的每一句话、走的每一条路径，以及它如何处理个人信息。"
    "本材料由机器人实际运行的文件直接生成，因此描述的就是实际运行的机器人。",
)
NOT_SET = Bi("NOT SET", "未填写")
UNTRANSLATED = Bi("NOT TRANSLATED", "未翻译")
TRIAL = Bi("Trial registration", "注册号")
OFFICIAL_TITLE = Bi("Official title", "研究题目")
SPONSOR = Bi("Sponsor", "申办方")
INVESTIGATOR = Bi("Principal investigator", "主要研究者")
SITE = Bi("Site", "研究中心")
SITE_CONTACT = Bi("Study team contact", "研究团队联系方式")
ETHICS_COMMITTEE = Bi("Ethics committee", "伦理委员会")
DATA_CONTROLLER = Bi("Data controller (PIPL: personal information handler)", "个人信息处理者")
SERVER_LOCATION = Bi("Where the data is stored", "数据存储地点")
DIALOG = Bi("Screening script (dialog)", "筛查脚本")
VERSION = Bi("Version", "版本号")
VERSION_DATE = Bi("Version date", "版本日期")
CONTENT_HASH = Bi("Content hash of the script (SHA-256)", "脚本内容哈希值（SHA-256）")
TRANSLATION_HASHES = Bi("Translations (SHA-256 of each catalog)", "译文（各语言目录的SHA-256）")
DIALOG_FILE = Bi("Script file", "脚本文件")
CONSENT_VERSIONS = Bi("Consents and their versions", "同意书及版本")
RECRUITING = Bi("Recruiting", "是否正在招募")
YES = Bi("yes", "是")
NO = Bi("no", "否")
AND = Bi(" and ", "和")
OR = Bi(" or ", "或")
LANGUAGES = Bi("Languages of the chat", "聊天语言")
GENERATED = Bi("Generated", "生成时间")
TRANSLATED_COUNT = Bi("{language}: {done} of {total} texts translated.", "{language}：{total}条中已翻译{done}条。")
UNTRANSLATED_COUNT = Bi(
    "The other {missing} are marked {flag} and shown in English.", "其余{missing}条标为“{flag}”，以英文显示。"
)
PAGE_HEAD = Bi("Screening chat, ethics pack", "筛查聊天伦理审查材料")
HASH_NOTE = Bi(
    "The version and the content hash name the exact script; the bot refuses to start when the script changes "
    "without a new version. The translations are in the catalogs named above: their hashes name the exact wording.",
    "版本号和内容哈希值唯一标识脚本；脚本改动而版本号未变时，机器人拒绝启动。译文保存在上面列出的语言目录中，"
    "其哈希值唯一标识具体措辞。",
)

# ---------------------------------------------------------------------- contents and sections
CONTENTS = Bi("Contents", "目录")
SECTION_CHANGES = Bi("Changes since version {old}", "自版本{old}以来的修改")
SECTION_OPEN = Bi("Still to be confirmed by the site", "尚待研究中心确认的事项")
SECTION_FLOW = Bi("The flow", "流程图")
SECTION_CONSENTS = Bi("The consents", "知情同意")
SECTION_PIPL = Bi("Personal information (PIPL)", "个人信息保护（《个人信息保护法》）")
SECTION_QUESTIONS = Bi("The questions ({count})", "问题（共{count}个）")
SECTION_CRITERIA = Bi("Criteria and knock-out reasons", "入选/排除标准及排除理由")
SECTION_OUTCOMES = Bi("The outcomes", "筛查结果")
SECTION_OBSERVED = Bi("What happens after each kind of answer (measured)", "各类回答之后实际发生什么（实测）")
SECTION_SITE = Bi("The site contact message", "研究团队联系信息")
SECTION_TRIAL_WORDS = Bi("The trial's own words and its region", "本研究的用语和地区设置")
TRIAL_WORDS_INTRO = Bi(
    "Everything the chat says about this trial, and how it reads phone numbers and sends reminders, comes from the "
    "dialog file ([texts] and [region]); nothing about one trial is in the program.",
    "聊天中关于本研究的所有说法，以及它如何识别电话号码、何时发送提醒，"
    "都来自对话脚本（[texts] 和 [region]）；程序中没有任何针对某一研究的内容。",
)
TRIAL_WORD_NAMES = {
    "greeting": Bi("First line of a chat", "聊天的第一句"),
    "about": Bi("What the chat is (help)", "聊天说明（帮助）"),
    "about_caregiver": Bi("What the chat is, to a carer", "聊天说明（照护者）"),
    "visit": Bi("What follows a call", "来电之后"),
    "visit_caregiver": Bi("What follows a call, to a carer", "来电之后（照护者）"),
    "calendar_title": Bi("Calendar entry for the date", "日期的日历事项"),
}
REGION_PHONE = Bi("Phone numbers without +: read as", "不带 + 的电话号码按此地区识别")
REGION_REMINDER = Bi("The reminder goes out at", "提醒发送时间")
REGION_CALLS = Bi("The study team calls in", "研究团队通话语言")
SECTION_SAFETY = Bi("Safety: crisis help, emergencies, typed signs of risk", "安全：危机求助、急症、输入中的风险迹象")
SECTION_STAFF = Bi("What the study team receives", "研究团队收到的信息")
SECTION_RETENTION = Bi("How long data is kept", "数据保存期限")
SECTION_ELSE = Bi("Everything else in the script", "脚本中的其他内容")
SECTION_MESSAGES = Bi("The bot's other messages", "机器人的其他消息")

# ---------------------------------------------------------------------- changes
CHANGES_INTRO = Bi(
    "Compared with the text of version {old}, version {new} changes {count} thing(s). Texts are quoted as in the "
    "script (English, the source); each one's Chinese is in the sections below.",
    "与版本{old}的文字相比，版本{new}共有{count}处修改。所引文字为脚本中的英文原文；各条的中文见下文各节。",
)
NO_CHANGES = Bi("No change in any text or rule since version {old}.", "自版本{old}以来，文字和规则均无改动。")
VERSION_DATE_UNCHANGED = Bi(
    "Warning: the version changed but the version date did not ([study] version_date = {date}).",
    "警告：版本号已改而版本日期未改（[study] version_date = {date}）。",
)

# ---------------------------------------------------------------------- open items
OPEN_INTRO = Bi(
    "The site marks these in the script, or leaves them empty, until it has confirmed them. "
    "`screening-bot check-launch` lists them, with the deployment's own settings, until all are closed.",
    "以下各项在研究中心确认前，于脚本中标记为待确认或留空。`screening-bot check-launch` 会连同部署设置一并列出，"
    "直至全部完成。",
)
OPEN_NONE = Bi("Nothing in the script waits for the site's confirmation.", "脚本中没有待研究中心确认的事项。")
OPEN_WHERE = Bi("Where in the script", "在脚本中的位置")
ETHICS_CONTACT = Bi("The ethics committee's phone or e-mail", "伦理委员会的电话或电子邮件")
OPEN_WHAT = Bi("What to confirm", "需确认的内容")

# ---------------------------------------------------------------------- flow
FLOW_INTRO = Bi(
    "The screening is one state machine: the consent notice, then each question in order, then a summary the "
    "person confirms, then one outcome. A question with an 'asked only if' rule is skipped when the rule does not "
    "hold (dashed blue arrows). A red arrow leads to 'likely not eligible' when an answer rules out (with the "
    "criterion ids). The summary's four arrows are tried in their numbered order.",
    "筛查是一个状态机：先是知情同意告知，然后按顺序提问，再显示答案摘要供本人确认，最后给出一个结果。"
    "带“仅在……时提问”规则的问题在规则不成立时跳过（蓝色虚线箭头）。红色箭头表示某个回答导致“可能不符合”"
    "（标有标准编号）。摘要后的四个箭头按编号顺序判断。",
)
OUTCOMES_LEGEND = Bi("Outcomes", "结果")
DECLINED = Bi("did not agree: nothing kept", "不同意：不保存任何内容")
NO_PICTURE = Bi("The flow picture was not drawn (Graphviz was not available).", "未绘制流程图（缺少Graphviz）。")

# ---------------------------------------------------------------------- consents
CONSENTS_INTRO = Bi(
    "Every consent the bot asks for, with the version it records with each 'yes'. A new meaning needs a new version.",
    "机器人征求的每一项同意，以及每次“同意”时记录的版本号。含义改变时须使用新版本号。",
)
CONSENT_VERSION = Bi("version {version}", "版本 {version}")
CONSENT_WHEN = Bi("When it is asked", "何时征求")
CONSENT_IF_YES = Bi("If yes", "同意时")
CONSENT_IF_NO = Bi("If no", "不同意时")
CONSENT_NOTICE = Bi("Consent notice (to answer the questions)", "知情同意告知（回答问题）")
CONSENT_NOTICE_WHEN = Bi(
    "First, before any question. The privacy command (a button on the web page) shows it again.",
    "最先，在任何问题之前。“隐私”命令（网页上为按钮）可再次显示。",
)
CONSENT_NOTICE_YES = Bi(
    "The first question; the version and time of the agreement are kept with the conversation.",
    "进入第一个问题；同意的版本和时间随对话保存。",
)
CONSENT_NOTICE_NO = Bi("The chat ends; {kept}", "聊天结束；{kept}")
CONTACT_CONSENT = Bi("Consent to be contacted by the study team", "同意研究团队联系")
CONTACT_CONSENT_WHEN = Bi(
    "After the outcome, when the outcome is {outcomes} and nothing the person said suggests a risk (measured).",
    "结果之后，当结果为{outcomes}且本人没有表现出风险迹象时（实测）。",
)
CONTACT_CONSENT_YES = Bi(
    "The mobile number, an optional name, the best time and language to call; this makes a lead (below).",
    "手机号码、可选的称呼、方便通话的时间和语言；由此生成一条线索（见下文）。",
)
CONTACT_CONSENT_NO = Bi(
    "The site's contact details are shown; no contact details are asked for.",
    "显示研究中心的联系方式；不索取联系方式。",
)
URGENT_CONTACT_CONSENT = Bi("Consent to be contacted, after a sign of risk", "出现风险迹象后同意研究团队联系")
URGENT_CONTACT_WHEN = Bi(
    "After the outcome, in place of the consent above, when the person gave a risk answer, or typed words of "
    "suicide risk once health information may be kept: measured after {outcomes}.",
    "结果之后，如本人给出了风险回答，或在可以保存健康信息之后输入了自杀风险的字句，则以此代替上一项同意："
    "实测在{outcomes}之后征求。",
)
URGENT_CONTACT_NOT_MEASURED = Bi(
    "NOT MEASURED: no made-up person at risk was offered contact with this script.",
    "未实测：按本脚本没有风险模拟者被询问是否愿意被联系。",
)
URGENT_CONTACT_YES = Bi(
    "As above; the lead is marked urgent with the reason, so the study team reaches the person first. Measured: "
    "{urgent} of {leads} leads of people at risk marked urgent; consent version recorded: {versions}.",
    "同上；线索标为紧急并注明原因，研究团队会优先联系。实测：{leads}条风险者线索中{urgent}条标为紧急；"
    "记录的同意书版本：{versions}。",
)
URGENT_CONTACT_NO = Bi(
    "The site's contact details are shown; no contact details are asked for. Measured: site contact shown: "
    "{site}; the crisis-help message shown again: {crisis}; lead made: {lead}.",
    "显示研究中心的联系方式；不索取联系方式。实测：显示研究团队联系方式：{site}；再次显示危机求助信息：{crisis}；"
    "生成线索：{lead}。",
)
REMINDER_CONSENT = Bi("Reminder on the date (Telegram only)", "到期提醒（仅Telegram）")
REMINDER_CONSENT_WHEN = Bi(
    "After a 'not yet' outcome, on a channel that can send a message unasked (Telegram).",
    "结果为“暂不”之后，在可以主动发消息的渠道（Telegram）上。",
)
REMINDER_CONSENT_YES = Bi(
    "One message on that date; the answers are kept until then and for the period in the text.",
    "在该日期发送一条消息；回答保存到那时，并按文中所述再保存一段时间。",
)
REMINDER_CONSENT_NO = Bi("Nothing else changes.", "其他不变。")
CONSENT_FROM_DIALOG = Bi("From the script, section {where}.", "来自脚本 {where} 节。")
CONSENT_KIND = Bi("What it is for", "用途")
CONSENT_KIND_NAMES = {
    "sensitive_data": Bi(
        "Separate consent: health information (PIPL art. 28–29)",
        "单独同意：健康信息（《个人信息保护法》第二十八至二十九条）",
    ),
    "cross_border": Bi(
        "Separate consent: answers through servers outside mainland China (PIPL art. 38–39)",
        "单独同意：回答经过中国大陆境外的服务器（《个人信息保护法》第三十八至三十九条）",
    ),
}
CONSENT_KIND_WHY = {
    "sensitive_data": Bi("Health information is sensitive personal information", "健康信息属于敏感个人信息"),
    "cross_border": Bi(
        "Answers pass through servers outside mainland China, held by the recipient below",
        "回答经过中国大陆境外的服务器，由下列接收方持有",
    ),
}
CONSENT_RECIPIENT = Bi("Recipient (named in the text)", "接收方（在文字中写明）")
SEPARATE_WHEN = Bi(
    "Once, right before question {number}, {question}, {channels}. Measured: {measured}.",
    "只征求一次，在第{number}个问题{question}之前，{channels}。实测：{measured}。",
)
ON_EVERY_CHANNEL = Bi("on every channel", "在所有渠道上")
ON_CHANNELS = Bi("on {channels} only", "仅在{channels}上")
CHANNEL_NAMES = {
    "telegram": Bi("Telegram", "Telegram（电报）"),
    "web": Bi("the web chat", "网页版"),
    "terminal": Bi("the terminal", "终端"),
}
ASKED_THEN = Bi("on {channel} asked, then {question}", "在{channel}上征求，之后是{question}")
ASKED_LAST = Bi("on {channel} asked, then the summary", "在{channel}上征求，之后是答案摘要")
NOT_ASKED = Bi("on {channel} not asked", "在{channel}上不征求")
SEPARATE_YES = Bi(
    "Its version and the time are kept with the conversation (measured: version {version} kept); the questions go on.",
    "其版本和时间随对话保存（实测：保存的版本为{version}）；然后继续提问。",
)
SEPARATE_NO = Bi(
    "The chat ends with the text below (measured on {channel}: shown: {shown}); {kept}",
    "聊天结束，显示下面的文字（在{channel}上实测：显示：{shown}）；{kept}",
)
SEPARATE_NOT_DECLINED = Bi(
    "NOT MEASURED: no made-up person reached it to decline it.", "未实测：没有模拟者到达此项同意并拒绝。"
)
CONSENT_NOT_AS_SCRIPTED = Bi(
    "WARNING, measured: not asked where the script says ({expected}).",
    "警告（实测）：征求的位置与脚本不符（{expected}）。",
)
CONSENT_UNDER_AGE = Bi("Button: under {age}", "按钮：未满{age}岁")
CONSENT_UNDER_AGE_TEXT = Bi("Said to a child under {age}", "对未满{age}岁儿童说的话")
CONSENT_UNDER_AGE_TEXT_CARER = Bi("Said to a carer of a child under {age}", "对未满{age}岁患者的照护者说的话")
CONSENT_UNDER_AGE_FACT = Bi("A child under {age} (PIPL art. 31)", "未满{age}岁的儿童（第三十一条）")
UNDER_AGE_GATE = Bi(
    'A child under {age} must not consent alone. The button "{button}" on this notice ends the chat with the '
    "text below{at_question}. Measured: {measured}.",
    "未满{age}岁的儿童不能自己同意。本告知上的“{button}”按钮会以下面的文字结束聊天{at_question}。实测：{measured}。",
)
UNDER_AGE_AT_QUESTION = Bi(
    "; so does an answer to question {number}, {question}, that may mean under {age} (the youngest age a year "
    "of birth can mean counts)",
    "；第{number}个问题{question}中可能未满{age}岁的回答（按出生年份可能的最小年龄计算）也会如此",
)
UNDER_AGE_AT_NOTICE = Bi("the button on the notice", "告知上的按钮")
UNDER_AGE_PATIENT = Bi("a patient who types {age} at the age question", "在年龄问题输入{age}的患者")
UNDER_AGE_CARER = Bi("a carer who types {age} at the age question", "在年龄问题输入{age}的照护者")
UNDER_AGE_SEEN = Bi(
    "{where}: its text shown: {shown}, conversations kept: {kept}",
    "{where}：显示相应文字：{shown}，保存的对话数：{kept}",
)
UNDER_AGE_KEPT = Bi(
    "WARNING, measured: {where}: the text for a child was not shown, or {rows} conversation(s) were kept.",
    "警告（实测）：{where}：没有显示给儿童的文字，或保存了{rows}条对话。",
)
CONSENT_TEXT_CARER = Bi("Text (carer)", "文字（照护者）")
CONSENT_AGREE = Bi("Agree button", "同意按钮")
CONSENT_DECLINE = Bi("Decline button", "不同意按钮")
CONSENT_DECLINED = Bi("After declining", "不同意之后")
CONSENT_TEXT = Bi("Text", "文字")
BUTTON = Bi("Button: {id}", "按钮：{id}")
KEPT_NOTHING = Bi(
    "nothing about the person is kept (measured: {rows} stored conversations after declining).",
    "不保存任何个人信息（实测：不同意后保存的对话数为{rows}）。",
)
KEPT_SOMETHING = Bi(
    "WARNING, measured: {rows} stored conversation(s) remain after declining.",
    "警告（实测）：不同意后仍保存了{rows}条对话。",
)

# ---------------------------------------------------------------------- PIPL
PIPL_INTRO = Bi(
    "How the bot handles personal information, in the terms of China's Personal Information Protection Law. "
    "Facts marked {flag} must be filled in by the site before launch.",
    "按《个人信息保护法》说明机器人如何处理个人信息。标为“{flag}”的事项须由研究中心在上线前填写。",
)
PIPL_CONTROLLER = Bi("Who handles the information", "个人信息处理者")
PIPL_PURPOSE = Bi("Purpose and basis", "处理目的和依据")
PIPL_PURPOSE_TEXT = Bi(
    "To see whether the study may fit a person and, only if they ask, to let the study team contact them. "
    "Based on the person's consent (art. 13 (1)), asked before the first question; no answer is asked or kept "
    "before it.",
    "判断研究是否可能适合本人，并且仅在本人要求时，由研究团队与其联系。依据为本人同意（第十三条第一项），"
    "在第一个问题之前征求；此前不提问，也不保存任何回答。",
)
PIPL_SENSITIVE = Bi("Sensitive personal information (art. 28–30)", "敏感个人信息（第二十八至三十条）")
PIPL_SENSITIVE_TEXT = Bi(
    "The answers to the {count} questions in this pack are health information, which the law counts as sensitive "
    "personal information. They are collected only for the purpose above.",
    "本材料中{count}个问题的回答属于健康信息，依法为敏感个人信息，仅为上述目的收集。",
)
PIPL_SEPARATE_CONSENT = Bi(
    '"{name}" (version {version}) is asked {channels}, right before question {number}, {question}. Declining '
    "ends the chat; {kept} Its text is in the section on consents.",
    "“{name}”（版本{version}）{channels}征求，在第{number}个问题{question}之前。"
    "不同意则聊天结束；{kept}其文字见“知情同意”一节。",
)
PIPL_NO_SEPARATE_CONSENT = Bi(
    "The script asks no separate consent of this kind ({rule}); every consent the bot asks is in the section on "
    "consents.",
    "脚本没有征求此类单独同意（{rule}）；机器人征求的每一项同意见“知情同意”一节。",
)
ART_29 = Bi("art. 29", "第二十九条")
ART_39 = Bi("art. 39", "第三十九条")
PIPL_STORED = Bi("Where it is stored", "存储地点")
PIPL_STORED_TEXT = Bi(
    "In one SQLite database on the study's server ({where}), created readable only by the bot's own user account. "
    "The whole database file, every answer included, is encrypted (SQLCipher, AES-256); phone numbers and names "
    "are encrypted once more inside it (Fernet). Backups are copies of the same encrypted file. {key}",
    "保存在研究服务器（{where}）上的一个SQLite数据库中，创建时仅机器人自己的系统账户可以读取。"
    "整个数据库文件（包括所有回答）都经过加密（SQLCipher，AES-256）；手机号码和称呼在其中再加密一次（Fernet）。"
    "备份是同一加密文件的副本。{key}",
)
KEY_FROM_ENVIRONMENT = Bi(
    "The key is given to the bot in the environment (SCREENING_KEY), not kept in a file.",
    "密钥通过环境变量（SCREENING_KEY）提供给机器人，不保存在文件中。",
)
KEY_APART = Bi("The key is in {path}, apart from the database.", "密钥保存在 {path}，与数据库分开。")
KEY_BESIDE = Bi(
    "The key file {path} is in the same folder as the database; `screening-bot check-launch` lists this until the "
    "key is moved.",
    "密钥文件 {path} 与数据库在同一文件夹中；在移走之前，`screening-bot check-launch` 会一直列出此项。",
)
PIPL_ABROAD = Bi("Transfer outside mainland China (art. 38–39)", "向境外提供（第三十八至三十九条）")
PIPL_ABROAD_TELEGRAM = Bi(
    "Telegram: people who screen on Telegram send every answer through Telegram's servers, which are outside "
    "mainland China; a chat with a bot is not end-to-end encrypted, so the Telegram service can read it. "
    "The web chat: its pages and answers pass only between the person's browser and the study's server ({where}), "
    "and no file comes from any other host.",
    "Telegram：在Telegram上筛查的人，每个回答都经过位于中国大陆境外的Telegram服务器；与机器人的聊天不是端到端加密的，"
    "Telegram服务方可以读取。网页版：页面和回答只在本人浏览器与研究服务器（{where}）之间传输，"
    "不从任何其他主机加载文件。",
)
PIPL_ABROAD_STAFF_ON = Bi(
    "Study team posts: each new lead is posted to the study team's Telegram chat, WITH the phone number and name "
    "(STAFF_NOTIFY_CONTACT=1), and /export sends files with phone numbers in a private chat: all of it passes "
    "through Telegram's servers abroad.",
    "研究团队通知：每条新线索都发送到研究团队的Telegram群，并且包含手机号码和称呼（STAFF_NOTIFY_CONTACT=1），"
    "/export 也在私聊中发送含手机号码的文件：这些都经过境外的Telegram服务器。",
)
PIPL_ABROAD_STAFF_OFF = Bi(
    "Study team posts: each new lead is posted to the study team's Telegram chat without the phone number and "
    "name (outcome, reasons, answers to check, language); staff read the number in a private chat with the bot, "
    "and /export sends files with phone numbers there: both also pass through Telegram.",
    "研究团队通知：每条新线索发送到研究团队的Telegram群，不含手机号码和称呼（只有结果、原因、需核查的回答、语言）；"
    "工作人员在与机器人的私聊中查看号码，/export 也在那里发送含手机号码的文件：两者同样经过Telegram。",
)
PIPL_ABROAD_STAFF_NONE = Bi(
    "Study team posts: no Telegram staff chat is set (STAFF_CHAT_ID), so no lead is posted to Telegram; staff "
    "read leads on the server (`screening-bot leads`).",
    "研究团队通知：未设置Telegram工作群（STAFF_CHAT_ID），因此线索不会发到Telegram；工作人员在服务器上查看线索"
    "（`screening-bot leads`）。",
)
PIPL_MINORS = Bi("Children (art. 31)", "未成年人（第三十一条）")
PIPL_MINORS_TEXT = Bi(
    "The age is asked at question {number} ({question}), after the consent notice; an age outside {min} to {max} "
    "ends the screening as 'likely not eligible' (criterion {criterion}).",
    "年龄在第{number}个问题（{question}）询问，位于知情同意之后；年龄不在{min}到{max}岁之间时，筛查以“可能不符合”结束"
    "（标准 {criterion}）。",
)
PIPL_MINORS_GATE = Bi(
    "A child under {age} is stopped before any question on health, and nothing about them is kept: the button "
    '"{button}" on the consent notice ends the chat{at_question}. Measured: {measured}. The bot cannot check an '
    "age: it relies on what the person says.",
    "未满{age}岁的儿童在任何健康问题之前就会被停止，且不保存任何内容：知情同意告知上的“{button}”按钮会结束聊天"
    "{at_question}。实测：{measured}。机器人无法核实年龄，只能依据本人所说。",
)
PIPL_MINORS_NO_GATE = Bi(
    "The script has no under-age gate (guardian_age in [consent]): the bot cannot check a person's age before "
    "they agree to the consent notice.",
    "脚本没有设置未成年人限制（[consent] 中的 guardian_age）：在本人同意知情同意告知之前，机器人无法核实其年龄。",
)
PIPL_MINORS_NONE = Bi("The script asks no age.", "脚本不询问年龄。")
PIPL_RIGHTS = Bi("The person's rights (art. 44–47)", "个人的权利（第四十四至四十七条）")
PIPL_RIGHTS_TEXT = Bi(
    "In every channel a person can read the notice again (privacy) and erase their conversation, answers, outcome "
    "and lead at once (delete): /privacy and /delete in Telegram, buttons on every web page, typed words in the "
    "terminal. At the end, 'Summary for my doctor' gives them a copy of their answers. Staff erase a person's data "
    "on request with `screening-bot leads erase`. `screening-bot purge` erases what is past its period (see the "
    "retention periods).",
    "在每个渠道中，本人都可以再次阅读告知（隐私），并立即删除自己的对话、回答、结果和线索（删除）：Telegram中用"
    " /privacy 和 /delete，网页每页都有按钮，终端中输入相应的词。结束时，“给医生的摘要”提供本人回答的副本。"
    "工作人员可按本人要求用 `screening-bot leads erase` 删除。"
    "`screening-bot purge` 删除超过保存期限的数据（见保存期限）。",
)
PIPL_ACCESS = Bi("Who can see it", "谁能查看")
PIPL_ACCESS_TEXT = Bi(
    "The study team: the Telegram user ids in STAFF_USER_IDS ({staff}) and whoever runs `screening-bot` on the "
    "server. Every staff read, export, status change and erasure is written to the audit log. The bot's logs hold "
    "a random conversation id, never names, phone numbers, chat ids or answers.",
    "研究团队：STAFF_USER_IDS中的Telegram用户（{staff}），以及在服务器上运行 `screening-bot` 的人员。"
    "工作人员的每次查看、导出、状态修改和删除都记入审计日志。机器人日志只记录随机的对话编号，从不记录姓名、手机号码、"
    "聊天编号或回答。",
)
STAFF_COUNT = Bi("{count} set", "已设置{count}个")

# ---------------------------------------------------------------------- questions
QUESTIONS_INTRO = Bi(
    "Asked in this order. 'Carer' is the wording used when someone answers for the patient (the first question "
    "asks who is answering).",
    "按此顺序提问。“照护者”是他人代患者回答时使用的措辞（第一个问题询问由谁回答）。",
)
KINDS = {
    "choice": Bi("Pick one", "单选"),
    "multi": Bi("Choose all that apply", "多选"),
    "number": Bi("Typed number", "输入数字"),
    "year": Bi("Typed year", "输入年份"),
}
SKIP_RULE = Bi("Skip rule.", "跳过规则。")
ROW_LABEL = Bi("Label", "标签")
ROW_PATIENT = Bi("Patient", "患者本人")
ROW_CARER = Bi("Carer", "照护者")
ROW_OPTION = Bi("Option", "选项")
ROW_OPTION_CARER = Bi("(carer)", "（照护者）")
LEADS_TO = Bi("Leads to", "导向")

# ---------------------------------------------------------------------- criteria
CRITERIA_INTRO = Bi(
    "Each criterion restates one eligibility rule of the protocol. 'Patients can answer': yes, partly (the study "
    "team confirms) or no (only doctors or lab tests can tell; the script is refused if such a rule could rule "
    "anyone out). The reason is what a person is told when an answer rules them out.",
    "每条标准复述方案中的一条入选/排除规则。“患者能否回答”：能、部分能（由研究团队确认）、不能（只有医生或化验能判断；"
    "若这类规则可能导致排除，脚本会被拒绝加载）。“理由”是回答导致排除时告诉本人的话。",
)
CRITERION = Bi("Criterion", "标准")
LAY = Bi("Patients can answer", "患者能否回答")
LAY_VALUES = {"yes": Bi("yes", "能"), "partly": Bi("partly", "部分能"), "no": Bi("no", "不能")}
REASON = Bi("reason told", "告知的理由")

# ---------------------------------------------------------------------- outcomes
OUTCOMES_INTRO = Bi(
    "After the summary the person confirms, one outcome is shown; the rules are tried in this order: {order}. "
    "No outcome says anyone is eligible.",
    "本人确认摘要后，显示一个结果；按以下顺序判断：{order}。任何结果都不会说某人“符合条件”。",
)
OUTCOME_WHEN = {
    "likely_candidate": Bi(
        "Shown when no answer rules out, none needs review and no time rule waits.",
        "没有回答导致排除、没有需核查的回答、也没有需等待的时间规则时显示。",
    ),
    "needs_review": Bi(
        "Shown when an answer needs a check by the study team, and none rules out or waits.",
        "有回答需研究团队核查，且没有导致排除或需等待的回答时显示。",
    ),
    "not_eligible": Bi(
        "Shown when an answer rules out, with the reason(s) in plain words (see the criteria).",
        "有回答导致排除时显示，并用通俗的话说明理由（见入选/排除标准）。",
    ),
    "not_yet": Bi(
        "Shown when only time stands in the way; {date} becomes the day every time rule is met. Each time rule is "
        "listed with its date.",
        "只差时间时显示；{date}替换为所有时间规则都满足的日期。每条时间规则都列出其日期。",
    ),
}
OUTCOME_THEN = Bi(
    "Then (measured, for a person with no risk answer who typed nothing): {then}.",
    "随后（实测，无风险回答、也未输入文字者）：{then}。",
)
ROW_TITLE = Bi("Title", "标题")
ROW_TITLE_CARER = Bi("Title (carer)", "标题（照护者）")

# ---------------------------------------------------------------------- observed behaviour
OBSERVED_INTRO = Bi(
    "While writing this pack, the generator runs the real screening (the same code, an empty database in memory) "
    "for one made-up person per row, and records what the bot did. The answers are chosen from the script, so "
    "this table follows any change to it. A person who types words of risk types the first phrase of the "
    "script's list (see the safety section) once health information may be kept. A person who agrees to be "
    "contacted is given a test phone number. Each person is run as on the web chat, and again as on Telegram, "
    "which can also send a reminder.",
    "生成本材料时，生成程序用真实的筛查代码（内存中的空数据库）为每一行模拟一个人，并记录机器人实际做了什么。"
    "回答从脚本中选取，因此脚本改动时本表随之更新。输入风险字句的模拟者，在可以保存健康信息之后输入脚本列表中的第一个短语"
    "（见安全一节）。同意联系的模拟者使用测试手机号码。"
    "每个人先按网页版运行，再按Telegram运行一次（Telegram还可以发送提醒）。",
)
OBSERVED_PERSON = Bi("The person answered", "模拟者的回答")
OBSERVED_OUTCOME = Bi("Outcome", "结果")
OBSERVED_CRISIS_AT_ANSWER = Bi("Crisis help at the risk answer or typed words", "风险回答或输入时显示危机求助")
OBSERVED_CRISIS_AT_END = Bi("Crisis help at the end", "结束时显示危机求助")
OBSERVED_SITE = Bi("Site contact shown", "显示研究团队联系方式")
OBSERVED_CONTACT = Bi("Contact offered", "询问是否愿意被联系")
OBSERVED_LEAD = Bi("Lead made (after yes and a number)", "生成线索（同意并留号后）")
OBSERVED_STAFF = Bi("Study team told", "通知研究团队")
OBSERVED_URGENT = Bi("Lead marked urgent", "线索标为紧急")
OBSERVED_REMINDER = Bi("Reminder offered (Telegram)", "提供到期提醒（Telegram）")
OBSERVED_NOT_REACHABLE = Bi("Cannot happen with this script: {why}.", "按本脚本不会发生：{why}。")
NO_RULE_OUT_AFTER = Bi("no answer after the safety question can rule out", "安全相关问题之后没有可导致排除的回答")
NO_RULE_OUT_AFTER_TYPED = Bi(
    "no answer after the health consent can rule out", "同意处理健康信息之后没有可导致排除的回答"
)
SCENARIO_CLEAR = Bi("No answer raises a concern", "没有任何需关注的回答")
SCENARIO_REVIEW = Bi("One answer needs review: {answer}", "一个需核查的回答：{answer}")
SCENARIO_WAIT = Bi("Only time stands in the way: {answer}", "只差时间：{answer}")
SCENARIO_RULE_OUT = Bi("One answer rules out: {answer}", "一个导致排除的回答：{answer}")
SCENARIO_SAFETY = Bi("A safety answer ({answer})", "安全相关回答（{answer}）")
SCENARIO_TYPED = Bi("Typed “{text}” (words of {kind}) at “{question}”", "在“{question}”处输入“{text}”（{kind}的字句）")
SIGNAL_NAMES = {"suicide": Bi("suicide risk", "自杀风险"), "emergency": Bi("a medical emergency", "急症")}
SCENARIO_UNPLANNED = Bi("Also {answer} (the question offers nothing else)", "另有{answer}（该问题没有其他选项）")
SCENARIO_AND = Bi("{first}; and {second}", "{first}；以及{second}")
ANSWERED = Bi("“{question}”: “{option}”", "“{question}”：“{option}”")

# ---------------------------------------------------------------------- site and safety
SITE_INTRO = Bi(
    "Shown after {outcomes}, and to a person at risk after {risk} (measured above). Built from the script's public "
    "site facts and the deployment's settings (phone, e-mail, hours: left out when not set).",
    "在{outcomes}之后显示，对有风险的人在{risk}之后显示（见上方实测）。由脚本中公开的研究中心信息和部署设置"
    "（电话、电子邮件、时间；未设置则不显示）组成。",
)
MESSAGE = Bi("Message", "消息")
SAFETY_TEXTS = Bi("The texts", "文字")
SAFETY_TEXTS_INTRO = Bi(
    "In these texts {lines} becomes every help line marked 'in the crisis text' (below), one per row, and a "
    "line's id in braces, such as {emergency}, becomes its number. A carer who answers for the patient reads the "
    "carer's wording. The last row shows the crisis text as a patient reads it.",
    "在这些文字中，{lines} 替换为下表中所有标为“列入危机求助信息”的求助电话，每行一个；大括号中的电话编号（如 "
    "{emergency}）替换为该电话号码。代患者回答的照护者看到照护者的措辞。最后一行是患者实际看到的危机求助信息。",
)
ROW_CRISIS = Bi("Crisis text (patient)", "危机求助信息（患者本人）")
ROW_CRISIS_CARER = Bi("Crisis text (carer)", "危机求助信息（照护者）")
ROW_EMERGENCY = Bi("Emergency text (patient)", "急症信息（患者本人）")
ROW_EMERGENCY_CARER = Bi("Emergency text (carer)", "急症信息（照护者）")
ROW_UNWELL = Bi("If very unwell now", "如果现在很不舒服")
ROW_CRISIS_SHOWN = Bi("Crisis text as a patient reads it", "患者看到的危机求助信息")
SAFETY_WHERE = Bi(
    "Where they are shown (measured): the crisis text right after a risk answer and again at the end (the table "
    "above), and at once when a typed message has a phrase of suicide risk; the emergency text at once when a "
    "typed message has a phrase of a medical emergency (both below); the line for the very unwell in the "
    "welcome: {welcome}; in the help: {help}.",
    "显示时机（实测）：危机求助信息在风险回答之后立即显示，结束时再次显示（见上表），输入的文字含有自杀风险短语时"
    "也立即显示；输入的文字含有急症短语时立即显示急症信息（均见下文）；“如果现在很不舒服”一句在欢迎语中：{welcome}；"
    "在帮助中：{help}。",
)
SAFETY_LINES = Bi("Help lines", "求助电话")
SAFETY_LINES_INTRO = Bi(
    "Every phone number the safety texts give is one of these lines (the script is refused if a number is typed "
    "into a text). A line waits for the site's confirmation while a [[to_confirm]] item names it; "
    "`screening-bot check-launch` lists it until then.",
    "安全相关文字中的每个电话号码都来自下表（如在文字中直接写号码，脚本会被拒绝加载）。只要有 [[to_confirm]] "
    "项指向某个电话，它就处于待研究中心确认状态；在此之前 `screening-bot check-launch` 会一直列出。",
)
LINE = Bi("Line", "电话")
NUMBER = Bi("Number", "号码")
IN_CRISIS = Bi("In the crisis text", "列入危机求助信息")
NAMED_IN = Bi("Its number is also given in", "号码也出现在")
CONFIRMATION = Bi("Site confirmation", "研究中心确认")
LINE_WAITS = Bi("WAITS FOR THE SITE", "待研究中心确认")
LINE_CONFIRMED = Bi("No [[to_confirm]] item: confirmed by the site", "无 [[to_confirm]] 项：研究中心已确认")
ROW_LINE_LABEL = Bi("{number}: label", "{number}：名称")
ROW_LINE_HOURS = Bi("{number}: hours", "{number}：时间")
NOWHERE_ELSE = Bi("nowhere else", "无")
SAFETY_TEXT_NAMES = {
    "text": Bi("the crisis text", "危机求助信息"),
    "text_caregiver": Bi("the carer's crisis text", "照护者的危机求助信息"),
    "emergency_text": Bi("the emergency text", "急症信息"),
    "emergency_text_caregiver": Bi("the carer's emergency text", "照护者的急症信息"),
    "unwell_now": Bi("the line for the very unwell", "“如果现在很不舒服”一句"),
    "urgent_contact": Bi("the contact consent after a sign of risk", "出现风险迹象后的联系同意"),
}
SAFETY_AFTER_ANSWER = Bi("After a risk answer", "风险回答之后")
SAFETY_INTRO = Bi(
    "Shown at once when a person picks an answer marked 'shows the crisis-help message': {answers}.",
    "本人选择标有“立即显示危机求助信息”的回答时立即显示：{answers}。",
)
SAFETY_AFTER = Bi(
    "What follows depends on the person's other answers (measured above, for people at risk: a risk answer, or "
    "typed words of suicide risk): {cases}.",
    "之后发生什么取决于本人的其他回答（见上方实测，针对有风险的人：风险回答，或输入了自杀风险的字句）：{cases}。",
)
SAFETY_CASE = Bi(
    "{outcome}: contact {offered}, study team {told}, lead {urgent}",
    "{outcome}：{offered}询问联系，{told}通知研究团队，线索{urgent}",
)
URGENT = Bi("marked urgent", "标为紧急")
NOT_URGENT = Bi("NOT marked urgent", "未标为紧急")
SAFETY_EVERY_OUTCOME = Bi(
    "Measured for every outcome ({outcomes}): a person at risk is offered contact, and the study team hears of "
    "them, first, once they agree and give a number.",
    "已对每一种结果实测（{outcomes}）：有风险的人都会被询问是否愿意被联系，本人同意并留号后，研究团队会优先得知。",
)
SAFETY_UNMEASURED = Bi(
    "Not measured for {outcomes}: no made-up person at risk reached it with this script.",
    "未实测{outcomes}：按本脚本没有风险模拟者得到该结果。",
)
OFFERED = Bi("offered", "会")
NOT_OFFERED = Bi("NOT offered", "不会")
TOLD = Bi("told if the person agrees and gives a number", "本人同意并留号后会")
NOT_TOLD = Bi("NOT told", "不会")
SAFETY_GAP = Bi(
    "Warning: in {count} of these cases nobody from the study team hears of the person.",
    "警告：其中{count}种情况下，研究团队不会得知此人。",
)
SAFETY_NONE = Bi("No answer in this script shows the crisis-help message.", "本脚本中没有会显示危机求助信息的回答。")
SAFETY_SIGNALS = Bi("Typed signs of risk", "输入中的风险迹象")
SIGNALS_INTRO = Bi(
    "Every typed message, in every channel, is checked for these phrases before it is read as an answer. Case, "
    "full-width letters, apostrophes, punctuation and spacing do not matter; an English phrase matches whole "
    "words, a Chinese phrase anywhere. What a match does, measured: a made-up person types the first phrase of "
    "each list, once health information may be kept (in English as a patient, in Chinese as a carer).",
    "每个渠道中输入的每条消息，在被当作回答之前，都会检查是否含有这些短语。大小写、全角字母、撇号、标点和空格"
    "都不影响；英文短语按整词匹配，中文短语在任何位置都匹配。匹配后的处理（实测）：模拟者在可以保存健康信息之后，"
    "输入每个列表中的第一个短语（英文以患者身份，中文以照护者身份）。",
)
SIGNAL_KIND = Bi("Kind", "类型")
SIGNAL_TYPED = Bi("Typed, by, at", "输入内容、输入者、所在问题")
SIGNAL_HELP = Bi("Help shown at once, in their wording", "立即按其身份措辞显示求助信息")
SIGNAL_AGAIN = Bi("The same question again", "再次显示同一问题")
SIGNAL_STORED = Bi("Database rows holding the words", "数据库中含这些字句的记录数")
SIGNAL_COUNTED = Bi("Anonymous count went up by", "匿名计数增加")
SIGNAL_MARKED = Bi("Noted on the conversation (yes/no only)", "在对话中记录（仅“是/否”）")
SIGNALS_AFTER = Bi(
    "A person who typed words of suicide risk is then treated as after a risk answer: see the rows with typed "
    "words in the measured table above.",
    "输入了自杀风险字句的人，之后按风险回答处理：见上方实测表中输入文字的各行。",
)
SIGNAL_PHRASES = Bi("The phrases", "短语")
SIGNAL_LIST = Bi("{kind}: {count} phrases", "{kind}：{count}个短语")
PHRASES_EN = Bi("English", "英文")
PHRASES_ZH = Bi("Chinese (Simplified and Traditional)", "中文（简体和繁体）")
SIGNALS_NONE = Bi("The script lists no phrases ([safety.signals]).", "脚本没有列出短语（[safety.signals]）。")
RESPONDENTS = {"self": Bi("a patient", "患者本人"), "caregiver": Bi("a carer", "照护者")}

# ---------------------------------------------------------------------- staff and retention
STAFF_INTRO = Bi(
    "The study team hears of a person only through a lead: made when the person agrees to be contacted and gives a "
    "mobile number, which happens after {outcomes}, and to a person at risk after {risk} (measured above). A "
    "lead holds:",
    "研究团队只通过“线索”得知某人：本人同意被联系并留下手机号码时生成，这发生在{outcomes}之后，对有风险的人在{risk}之后"
    "（见上方实测）。"
    "一条线索包括：",
)
FIELD = Bi("Field", "字段")
FIELD_WHY = Bi("What it is, and why", "内容及用途")
NOT_DESCRIBED = Bi("NOT DESCRIBED: add it to LEAD_FIELDS in bot/ethics/pack.py", "未说明")
RETENTION_INTRO = Bi(
    "The periods in force in this deployment (RETAIN_* settings). `screening-bot purge` erases what is past them: "
    "the Telegram bot runs it every day; a deployment without it runs it from a daily timer (cron).",
    "本部署实际使用的期限（RETAIN_* 设置）。`screening-bot purge` 删除超过期限的数据：Telegram机器人每天运行一次；"
    "不运行Telegram机器人的部署须用每日定时任务（cron）运行。",
)
WHAT = Bi("What", "内容")
KEPT_FOR = Bi("Kept for at most", "最长保存")
DAYS = Bi("{days} days", "{days}天")
NO_LIMIT = Bi("no fixed limit", "无固定期限")
RETENTION_ROWS = {
    "unfinished": Bi(
        "Unfinished screenings (people who stopped part way), from the last answer",
        "未完成的筛查（中途停止者），自最后一次回答起",
    ),
    "finished": Bi(
        "Finished screenings without a lead (any outcome, no contact details given), from the outcome",
        "已完成但无线索的筛查（任何结果，未留联系方式），自得出结果起",
    ),
    "reminder": Bi(
        "A 'not yet' person who asked for a reminder: kept until it is sent, then",
        "要求提醒的“暂不”者：保存至提醒发出，之后再保存",
    ),
    "open_lead": Bi(
        "Open leads (contact details and answers), while the study team works on them",
        "未结案的线索（联系方式和回答），研究团队处理期间",
    ),
    "closed_lead": Bi(
        "Leads the study team closed (or enrolled), from the last status change",
        "研究团队已结案（或已入组）的线索，自最后一次状态变更起",
    ),
}
RETENTION_AFTER = Bi(
    "A person can erase everything at any time (delete). Every conversation records the script version and content "
    "hash it ran under.",
    "本人可随时删除全部内容（删除）。每段对话都记录其运行时的脚本版本和内容哈希值。",
)
ELSE_INTRO = Bi(
    "Every part of the script that no section above shows, as it is in the file (a text with its translations), "
    "so nothing in the script is left out of this pack.",
    "上文各节未展示的脚本内容，按文件原样列出（文字附译文），确保脚本中的任何内容都不会遗漏。",
)
ELSE_NONE = Bi("Nothing: every part of the script is shown above.", "无：脚本的所有内容均已在上文展示。")
ELSE_WHERE = Bi("Where in the script", "在脚本中的位置")
MESSAGES_INTRO = Bi(
    "Buttons, help, progress and error messages from the bot's code (from locales/messages.pot). Words in braces, "
    "such as {number}, are filled in when shown.",
    "来自机器人代码的按钮、帮助、进度和错误消息（取自 locales/messages.pot）。"
    "花括号中的词（如 {number}）在显示时替换。",
)


def to_bi(value: Any) -> Bi:
    """A value as a pair: a Bi stays, a TwoLanguages-like object gives its en and zh, anything else is the same."""
    if isinstance(value, Bi):
        return value
    if hasattr(value, "en") and hasattr(value, "zh"):
        return Bi(value.en, value.zh)
    return Bi.same(str(value))
