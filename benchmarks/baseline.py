"""The baseline: the same questions, written the way python-telegram-bot's examples teach.

This follows examples/conversationbot.py: one `ConversationHandler`, one state per
question and per separate consent (health data, Telegram's servers), answers kept in
`context.user_data` (memory only: no persistence, nothing on disk), each answer replied
to with the next question and a `ReplyKeyboardMarkup` of its options, and the default
`Application` (one update at a time, as the example runs it). It checks nothing and
stores nothing durable: it is the cheapest honest version of "ask these questions on
Telegram", so our bot's figures are read as ratios to it.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

from telegram import ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.dialog.model import Dialog

CONSENT, SUMMARY = "consent", "summary"


def build_baseline(
    dialog: Dialog, steps: list[str], token: str, request: BaseRequest, update_processor: BaseUpdateProcessor
) -> Application:
    """A ConversationHandler asking `steps` (dialog question ids and separate consent ids, in order) after
    the consent text."""

    def keyboard(labels: list[str]) -> ReplyKeyboardMarkup:
        return ReplyKeyboardMarkup([[label] for label in labels], one_time_keyboard=True)

    def ask(step: str) -> tuple[str, ReplyKeyboardMarkup | ReplyKeyboardRemove]:
        consent = dialog.separate_consent(step)
        if consent is not None:
            return consent.text, keyboard([consent.agree, consent.decline])
        question = dialog.question(step)
        labels = [o.label for o in question.options]
        return question.text, keyboard(labels) if labels else ReplyKeyboardRemove()

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        assert update.message
        await update.message.reply_text(
            dialog.consent.text, reply_markup=keyboard([dialog.consent.agree, dialog.consent.decline])
        )
        return CONSENT

    def step(here: str, after: str) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[str]]:
        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
            assert update.message and context.user_data is not None
            context.user_data[here] = update.message.text
            if after == SUMMARY:
                await update.message.reply_text(
                    "\n".join(f"{k}: {v}" for k, v in context.user_data.items()), reply_markup=ReplyKeyboardRemove()
                )
            else:
                text, markup = ask(after)
                await update.message.reply_text(text, reply_markup=markup)
            return after

        return handler

    async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message
        await update.message.reply_text("Thank you.", reply_markup=ReplyKeyboardRemove())
        return ConversationHandler.END

    async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message
        await update.message.reply_text("Bye!", reply_markup=ReplyKeyboardRemove())
        return ConversationHandler.END

    answer = filters.TEXT & ~filters.COMMAND
    order = [CONSENT, *steps, SUMMARY]
    states = {here: [MessageHandler(answer, step(here, after))] for here, after in itertools.pairwise(order)}
    states[SUMMARY] = [CommandHandler("confirm", confirm)]
    app = (
        ApplicationBuilder()
        .token(token)
        .request(request)
        .get_updates_request(request)
        .concurrent_updates(update_processor)
        .build()
    )
    app.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("start", start)], states=states, fallbacks=[CommandHandler("cancel", cancel)]
        )
    )
    return app
