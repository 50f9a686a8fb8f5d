"""Notifications of new leads for the study team, through channels a hospital in China uses.

E-mail (SMTP), the group robots of WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书), and
Telegram as one option among them, all through apprise, each configured by one URL in
NOTIFY_URLS. A message never holds personal data: "New lead 3f2a: needs review. URGENT:
please call first. Open the console: https://…/staff/leads/3f2a".

`targets.py` reads the URLs and sends one message; `notifier.py` writes each message to
the outbox in SQLite (bot/store/outbox.py) and delivers it, urgent first, retrying with
a growing pause until it is delivered: a failure is shown in the console, never lost.
"""
