"""/link CODE and /unlink: an officer ties their Telegram account to their wildflag account.

The code comes from a unit admin (`POST /api/v1/telegram/link-codes` or
`wildflag accounts link-code`); the bot redeems it with its backend token, naming the
Telegram user who sent it. Only in a private chat: a code posted in a group has been seen
by everyone there, so the bot voids it (nobody can use it then) and says to get a new one.
What the bot keeps (`user_data["officer"]`) only decides whether the user's reports are
sent as theirs; the backend, not the bot, decides what a linked user may do.
"""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot import messages
from bot.api import ApiRejected, BackendUnavailable, WildflagApi
from bot.i18n import t


class Linking:
    """The /link and /unlink commands, bound to the backend client."""

    def __init__(self, api: WildflagApi) -> None:
        self.api = api

    _lang = staticmethod(messages.user_language)

    async def link(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        assert message is not None and user is not None and context.user_data is not None
        lang = self._lang(update, context)
        if message.chat.type != ChatType.PRIVATE:
            if context.args and self.api.acts_for_users:
                with contextlib.suppress(ApiRejected, BackendUnavailable):
                    await self.api.void_code(" ".join(context.args))
            await message.reply_text(t(lang, "link_private_only"))
            return
        if not context.args:
            await message.reply_text(t(lang, "link_usage"))
            return
        if not self.api.acts_for_users:
            await message.reply_text(t(lang, "link_unavailable"))
            return
        try:
            body = await self.api.link(" ".join(context.args), user.id)
        except ApiRejected as exc:
            await message.reply_text(t(lang, "link_refused", message=exc.message))
            return
        except BackendUnavailable:
            await message.reply_text(t(lang, "status_unavailable"))
            return
        account = body["account"]
        context.user_data["officer"] = account
        await message.reply_text(
            t(
                lang,
                "link_done",
                name=account.get("name") or account.get("id"),
                role=account.get("role"),
                unit=account.get("unit") or "—",
            )
        )

    async def unlink(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        assert message is not None and user is not None and context.user_data is not None
        lang = self._lang(update, context)
        if not self.api.acts_for_users:
            await message.reply_text(t(lang, "link_unavailable"))
            return
        try:
            unlinked = await self.api.unlink(user.id)
        except ApiRejected as exc:
            await message.reply_text(t(lang, "link_refused", message=exc.message))
            return
        except BackendUnavailable:
            await message.reply_text(t(lang, "status_unavailable"))
            return
        context.user_data.pop("officer", None)
        await message.reply_text(t(lang, "unlink_done" if unlinked else "unlink_none"))
