"""The pack's own words, English and Simplified Chinese side by side.

Why pairs and not gettext: the pack always prints both languages at once, for an ethics
committee, so each text is one pair kept together here, where a reviewer compares the two
wordings line by line. gettext chooses one language at run time, and its catalog is the
patients' catalog: committee prose there would fail the plain-words tests written for
patients, and would be listed in the pack as one of "the bot's messages". What the bot
says to people still comes from the dialog file and the catalogs, as the bot says it.
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
SECTION_SAFETY = Bi("The crisis-help message", "危机求助信息")
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
CONTACT_CONSENT_WHEN = Bi("After the outcome, when {when}.", "结果之后，{when}时。")
CONTACT_CONSENT_YES = Bi(
    "The mobile number, an optional name, the best time and language to call; this makes a lead (below).",
    "手机号码、可选的称呼、方便通话的时间和语言；由此生成一条线索（见下文）。",
)
CONTACT_CONSENT_NO = Bi(
    "The site's contact details are shown; no contact details are asked for.",
    "显示研究中心的联系方式；不索取联系方式。",
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
    "personal information. They are collected only for the purpose above. Every consent the bot asks, with its "
    "text and version, is in the section on consents; whether they meet the separate-consent rules of art. 29 "
    "(sensitive information) and art. 39 (transfer abroad) is for the committee to judge from those texts.",
    "本材料中{count}个问题的回答属于健康信息，依法为敏感个人信息，仅为上述目的收集。机器人征求的每一项同意及其文字和"
    "版本见“知情同意”一节；是否符合第二十九条（敏感个人信息）和第三十九条（向境外提供）关于单独同意的要求，"
    "请委员会根据这些文字判断。",
)
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
    "ends the screening as 'likely not eligible' (criterion {criterion}). The bot cannot check a person's age "
    "before they agree to the consent notice.",
    "年龄在第{number}个问题（{question}）询问，位于知情同意之后；年龄不在{min}到{max}岁之间时，筛查以“可能不符合”结束"
    "（标准 {criterion}）。在本人同意知情同意告知之前，机器人无法核实其年龄。",
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
    "Then (measured, for a person with no safety answer): {then}.", "随后（实测，无安全相关回答者）：{then}。"
)
ROW_TITLE = Bi("Title", "标题")

# ---------------------------------------------------------------------- observed behaviour
OBSERVED_INTRO = Bi(
    "While writing this pack, the generator runs the real screening (the same code, an empty database in memory) "
    "for one made-up person per row, and records what the bot did. The answers are chosen from the script, so "
    "this table follows any change to it. A person who agrees to be contacted is given a test phone number. "
    "Each person is run as on the web chat, and again as on Telegram, which can also send a reminder.",
    "生成本材料时，生成程序用真实的筛查代码（内存中的空数据库）为每一行模拟一个人，并记录机器人实际做了什么。"
    "回答从脚本中选取，因此脚本改动时本表随之更新。同意联系的模拟者使用测试手机号码。"
    "每个人先按网页版运行，再按Telegram运行一次（Telegram还可以发送提醒）。",
)
OBSERVED_PERSON = Bi("The person answered", "模拟者的回答")
OBSERVED_OUTCOME = Bi("Outcome", "结果")
OBSERVED_CRISIS_AT_ANSWER = Bi("Crisis help at the answer", "回答时显示危机求助")
OBSERVED_CRISIS_AT_END = Bi("Crisis help at the end", "结束时显示危机求助")
OBSERVED_SITE = Bi("Site contact shown", "显示研究团队联系方式")
OBSERVED_CONTACT = Bi("Contact offered", "询问是否愿意被联系")
OBSERVED_LEAD = Bi("Lead made (after yes and a number)", "生成线索（同意并留号后）")
OBSERVED_STAFF = Bi("Study team told", "通知研究团队")
OBSERVED_REMINDER = Bi("Reminder offered (Telegram)", "提供到期提醒（Telegram）")
OBSERVED_NOT_REACHABLE = Bi("Cannot happen with this script: {why}.", "按本脚本不会发生：{why}。")
NO_RULE_OUT_AFTER = Bi("no answer after the safety question can rule out", "安全相关问题之后没有可导致排除的回答")
SCENARIO_CLEAR = Bi("No answer raises a concern", "没有任何需关注的回答")
SCENARIO_REVIEW = Bi("One answer needs review: {answer}", "一个需核查的回答：{answer}")
SCENARIO_WAIT = Bi("Only time stands in the way: {answer}", "只差时间：{answer}")
SCENARIO_RULE_OUT = Bi("One answer rules out: {answer}", "一个导致排除的回答：{answer}")
SCENARIO_SAFETY = Bi("A safety answer ({answer})", "安全相关回答（{answer}）")
SCENARIO_UNPLANNED = Bi("Also {answer} (the question offers nothing else)", "另有{answer}（该问题没有其他选项）")
SCENARIO_AND = Bi("{first}; and {second}", "{first}；以及{second}")
ANSWERED = Bi("“{question}”: “{option}”", "“{question}”：“{option}”")

# ---------------------------------------------------------------------- site and safety
SITE_INTRO = Bi(
    "Shown after {outcomes} (measured above). Built from the script's public site facts and the deployment's "
    "settings (phone, e-mail, hours: left out when not set).",
    "在{outcomes}之后显示（见上方实测）。由脚本中公开的研究中心信息和部署设置（电话、电子邮件、时间；未设置则不显示）组成。",
)
MESSAGE = Bi("Message", "消息")
SAFETY_INTRO = Bi(
    "Shown at once when a person picks an answer marked 'shows the crisis-help message': {answers}.",
    "本人选择标有“立即显示危机求助信息”的回答时立即显示：{answers}。",
)
SAFETY_AFTER = Bi(
    "What follows such an answer depends on the person's other answers (measured above): {cases}.",
    "此类回答之后发生什么取决于本人的其他回答（见上方实测）：{cases}。",
)
SAFETY_CASE = Bi("{outcome}: contact {offered}, study team {told}", "{outcome}：{offered}询问联系，{told}通知研究团队")
OFFERED = Bi("offered", "会")
NOT_OFFERED = Bi("NOT offered", "不会")
TOLD = Bi("told if the person agrees and gives a number", "本人同意并留号后会")
NOT_TOLD = Bi("NOT told", "不会")
SAFETY_GAP = Bi(
    "Warning: in {count} of these cases nobody from the study team hears of the person.",
    "警告：其中{count}种情况下，研究团队不会得知此人。",
)
SAFETY_NONE = Bi("No answer in this script shows the crisis-help message.", "本脚本中没有会显示危机求助信息的回答。")

# ---------------------------------------------------------------------- staff and retention
STAFF_INTRO = Bi(
    "The study team hears of a person only through a lead: made when the person agrees to be contacted and gives a "
    "mobile number, which happens after {outcomes} (measured above). A lead holds:",
    "研究团队只通过“线索”得知某人：本人同意被联系并留下手机号码时生成，这发生在{outcomes}之后（见上方实测）。"
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
