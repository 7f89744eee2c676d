"""Building the python-telegram-bot Application, and running it in polling mode.

`build_application` wires handlers to an injected backend client, so tests run the real
Application against a fake Bot API and a real backend; `run_polling` is `wildflag bot`.
Handler order matters: the report conversation first, then the commands (which therefore
work mid-report without ending it) and the unit-chat buttons, then the catch-alls for
unknown commands and stray text or buttons.
"""

from __future__ import annotations

import logging

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)

from bot import state
from bot.api import WildflagApi
from bot.commands import Commands
from bot.config import BotConfig
from bot.conversation import ReportConversation
from bot.linking import Linking
from bot.sending import AnyApplication, Sender
from bot.unit_chat import UnitChat

log = logging.getLogger(__name__)

COMMAND_MENU = [
    ("report", "Report a suspicious listing"),
    ("status", "Status of one of your reports"),
    ("mine", "Your reports"),
    ("language", "Language / langue / idioma"),
    ("link", "Officers: link your wildflag account"),
    ("unlink", "Officers: unlink your account"),
    ("cancel", "Drop the report in progress"),
    ("help", "What I understand"),
    ("start", "What this bot does; anonymity"),
]


def build_application(config: BotConfig, api: WildflagApi | None = None) -> AnyApplication:
    """The bot, ready to initialise. It owns `api` unless one is passed in (tests do)."""
    api = api or WildflagApi(
        config.api_url, timeout=config.api_timeout_seconds, bearer_token=config.backend_token
    )
    sender = Sender(api, config)
    commands = Commands(api, config)
    conversation = ReportConversation(config, sender)
    linking = Linking(api)
    unit_chat = UnitChat(api)

    async def close_api(_: AnyApplication) -> None:
        await api.close()

    application = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.telegram_base_url)
        .base_file_url(config.telegram_base_file_url)
        # Every message is i18n HTML with escaped values; no link previews of the listings
        # (a preview has Telegram's servers fetch the seller's page, which a seller may notice).
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .persistence(state.persistence(config.state_dir))
        .post_init(set_command_menu)
        .post_shutdown(close_api)
        .build()
    )
    application.add_handler(conversation.handler())
    application.add_handler(CommandHandler("start", commands.start))
    application.add_handler(CommandHandler("help", commands.help))
    application.add_handler(CommandHandler("status", commands.status))
    application.add_handler(CommandHandler("mine", commands.mine))
    application.add_handler(CommandHandler("language", commands.language))
    application.add_handler(CommandHandler("cancel", commands.cancel_outside))
    application.add_handler(CommandHandler("link", linking.link))
    application.add_handler(CommandHandler("unlink", linking.unlink))
    application.add_handler(CallbackQueryHandler(unit_chat.button, pattern=r"^wf:"))
    application.add_handler(
        MessageHandler(
            filters.ChatType.GROUPS & filters.REPLY & filters.TEXT & ~filters.COMMAND,
            unit_chat.unit_code_reply,
        )
    )
    application.add_handler(CallbackQueryHandler(commands.language_button, pattern=r"^lang:"))
    application.add_handler(CallbackQueryHandler(commands.stale_button, pattern=r"^report:"))
    application.add_handler(MessageHandler(filters.COMMAND, commands.unknown_command))
    application.add_handler(
        MessageHandler(filters.TEXT & filters.ChatType.PRIVATE, commands.text_hint)
    )
    application.add_error_handler(commands.on_error)
    assert application.job_queue is not None, "install python-telegram-bot[job-queue]"
    application.job_queue.run_repeating(
        sender.retry_queued,
        interval=config.retry_tick_seconds,
        first=config.retry_tick_seconds,
        name="wildflag-retry-queue",
    )
    return application


async def set_command_menu(application: AnyApplication) -> None:
    """The command list Telegram shows under the "/" button."""
    await application.bot.set_my_commands([BotCommand(c, d) for c, d in COMMAND_MENU])


def run_polling(config: BotConfig) -> None:
    """`wildflag bot`: long polling until interrupted (Ctrl-C or SIGTERM)."""
    log.info("wildflag bot: backend %s, state in %s", config.api_url, config.state_dir)
    build_application(config).run_polling(allowed_updates=Update.ALL_TYPES)
