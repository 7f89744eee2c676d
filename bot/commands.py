"""The commands outside the report conversation: /start, /help, /status, /mine, /language.

Every one works without /start first and in the middle of a report (they never end it).
`/status` and `/mine` show only the user's own reports: the bot asks the backend with the
receipt tokens it kept for this user, so it cannot show anyone else's.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import messages, state
from bot.api import ApiRejected, BackendUnavailable, WildflagApi
from bot.config import BotConfig
from bot.i18n import CATALOG, LANGUAGE_NAMES, t

log = logging.getLogger(__name__)

#: /mine asks the backend about this many of the latest reports (one request each).
MINE_SHOWN = 10


class Commands:
    """Command callbacks, bound to the backend client and config."""

    def __init__(self, api: WildflagApi, config: BotConfig) -> None:
        self.api = api
        self.config = config

    lang = staticmethod(messages.user_language)

    @staticmethod
    async def reply(update: Update, text: str, **kwargs: Any) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(text, **kwargs)

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.reply(
            update, t(self.lang(update, context), "start", service=self.config.api_url)
        )

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.reply(update, t(self.lang(update, context), "help"))

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        lang = self.lang(update, context)
        if not context.args:
            await self.reply(update, t(lang, "status_usage"))
            return
        reference = context.args[0].strip().upper()
        own = state.own_report(context.user_data or {}, reference)
        if own is None or not (own.get("receipt_token") or own.get("as_officer")):
            await self.reply(update, t(lang, "status_not_yours", reference=reference))
            return
        try:
            body = await self._status_of(update, own)
        except BackendUnavailable:
            await self.reply(update, t(lang, "status_unavailable"))
            return
        except ApiRejected as exc:
            await self.reply(update, t(lang, "rejected", message=exc.message))
            return
        await self.reply(update, messages.status(body, lang))

    async def _status_of(self, update: Update, report: dict[str, Any]) -> dict[str, Any]:
        """A remembered report's status: by its receipt token, or as the officer who sent it."""
        user = update.effective_user
        as_officer = bool(report.get("as_officer")) and user is not None
        return await self.api.report_status(
            report["reference"],
            report.get("receipt_token"),
            telegram_user=user.id if as_officer and user else None,
        )

    async def mine(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        lang = self.lang(update, context)
        reports = list((context.user_data or {}).get("reports", []))[-MINE_SHOWN:]
        user = update.effective_user
        queued = state.queued_for(context.bot_data, user.id) if user else []
        if not reports and not queued:
            await self.reply(update, t(lang, "mine_empty"))
            return
        lines = [t(lang, "mine_title")]
        reachable = True
        for report in reversed(reports):
            status, priority = "?", report.get("priority")
            if reachable and (report.get("receipt_token") or report.get("as_officer")):
                try:
                    body = await self._status_of(update, report)
                    status, priority = body.get("status", "?"), body.get("priority", priority)
                except BackendUnavailable:
                    reachable = False  # one failure is enough: don't wait on each report
                except ApiRejected:
                    pass
            lines.append(
                t(
                    lang,
                    "mine_item",
                    reference=report["reference"],
                    status=status,
                    priority=messages.priority(priority, lang),
                )
            )
        if queued:
            lines.append(t(lang, "mine_queued", count=len(queued)))
        if not reachable:
            lines.append(t(lang, "status_unavailable"))
        await self.reply(update, "\n".join(lines))

    async def language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        lang = self.lang(update, context)
        if context.args:
            await self.set_language(update, context, context.args[0].strip().lower())
            return
        buttons = [
            [InlineKeyboardButton(name, callback_data=f"lang:{code}")]
            for code, name in LANGUAGE_NAMES.items()
        ]
        await self.reply(
            update, t(lang, "language_choose"), reply_markup=InlineKeyboardMarkup(buttons)
        )

    async def language_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        await query.answer()
        await query.edit_message_reply_markup(None)
        await self.set_language(update, context, query.data.removeprefix("lang:"))

    async def set_language(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, code: str
    ) -> None:
        assert context.user_data is not None
        if code not in CATALOG:
            available = ", ".join(sorted(CATALOG))
            await self.reply(
                update,
                t(self.lang(update, context), "language_unknown", code=code, available=available),
            )
            return
        context.user_data["lang"] = code
        await self.reply(update, t(code, "language_set"))

    async def unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        command = (update.effective_message.text or "").split()[0]
        await self.reply(update, t(self.lang(update, context), "unknown_command", command=command))

    async def text_hint(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text with no report under way: say how to report instead of guessing."""
        await self.reply(update, t(self.lang(update, context), "text_hint"))

    async def stale_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer(t(self.lang(update, context), "stale_button"))
        if query.data == "report:cancel":
            await self.reply(update, t(self.lang(update, context), "nothing_to_cancel"))

    async def cancel_outside(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.reply(update, t(self.lang(update, context), "nothing_to_cancel"))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log first, then tell the user something went wrong, if there is a user."""
        log.error("error handling an update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(
                    update.effective_chat.id, t(self.lang(update, context), "error")
                )
            except TelegramError:
                log.exception("could not report the error to the user")
