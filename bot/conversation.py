"""The reporting conversation: collect a listing, ask country and notes, confirm, send.

```
 link / photo / image file / forwarded post (no command needed)   /report
                 │                                                   │
                 ▼                                                   ▼
        ┌──────────────────┐  more link, text, photos, files, forwards (any order)
        │    COLLECTING    │◀─┐
        └──────────────────┘──┘
                 │ Done button or /done (needs a link, text or a photo)
                 ▼
        ┌──────────────────┐  country code or name (pycountry), or Skip;
        │     COUNTRY      │  an unknown name asks again
        └──────────────────┘
                 ▼
        ┌──────────────────┐  a note, or Skip
        │      NOTES       │
        └──────────────────┘
                 ▼
        ┌──────────────────┐  the summary: exactly what is sent, and to whom
        │     CONFIRM      │── Confirm ──▶ END (sent in the background: receipt, or queued)
        └──────────────────┘
   /cancel or the Cancel button in any state ──▶ END, nothing sent
```

Handlers only converse: the draft lives in `user_data`, sending is `Sender.deliver`.
Commands such as /status or /help work mid-report without ending it (they are handled
outside this conversation). Rejections (too large, not an image, too many photos, rate
limit) are answered here, in the user's language.
"""

from __future__ import annotations

import enum
import time
import warnings
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
)
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import messages, state
from bot.config import BotConfig
from bot.draft import IMAGE_TYPES, Draft, PhotoRef, parse_country, report_fields
from bot.i18n import t
from bot.sending import Sender

MB = 1024 * 1024
END = ConversationHandler.END


class Step(enum.Enum):
    COLLECTING = "collecting"
    COUNTRY = "country"
    NOTES = "notes"
    CONFIRM = "confirm"


#: Messages that start a report without a command: a link, a photo, a file, a forwarded post.
#: In private chats only: in a group (a unit's chat, phase 2) a photo is not a report.
STARTS_REPORT = filters.ChatType.PRIVATE & (
    filters.PHOTO
    | filters.Document.ALL
    | filters.FORWARDED
    | (filters.TEXT & ~filters.COMMAND & filters.Regex(r"(?i)(https?://|www\.|t\.me/)"))
    | filters.Entity(MessageEntity.TEXT_LINK)
    | filters.CaptionEntity(MessageEntity.TEXT_LINK)
)
#: Anything that adds to a draft once a report is under way.
ADDS_TO_REPORT = (
    filters.PHOTO | filters.Document.ALL | filters.FORWARDED | (filters.TEXT & ~filters.COMMAND)
)
MEDIA = filters.PHOTO | filters.Document.ALL | filters.FORWARDED


class ReportConversation:
    """The ConversationHandler and its callbacks, bound to one config and sender."""

    def __init__(self, config: BotConfig, sender: Sender) -> None:
        self.config = config
        self.sender = sender

    # --- helpers ------------------------------------------------------------------------

    lang = staticmethod(messages.user_language)

    def keyboard(self, lang: str, *buttons: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(t(lang, f"button_{b}"), callback_data=f"report:{b}")]
                for b in buttons
            ]
        )

    @staticmethod
    def draft(context: ContextTypes.DEFAULT_TYPE) -> Draft:
        assert context.user_data is not None
        draft = context.user_data.get("draft")
        if not isinstance(draft, Draft):
            draft = context.user_data["draft"] = Draft()
        return draft

    def rate_limited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
        """The refusal to show when the user has used up their reports for the hour."""
        assert context.user_data is not None
        wait = state.rate_limit_wait(context.user_data, self.config.reports_per_hour)
        if not wait:
            return None
        minutes = max(1, round(wait / 60))
        return t(
            self.lang(update, context),
            "rate_limited",
            limit=self.config.reports_per_hour,
            minutes=minutes,
        )

    # --- entry and collecting -----------------------------------------------------------

    async def _fresh_draft(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
        """Start an empty draft, or tell the user they are over their limit and return False."""
        assert update.effective_message is not None and context.user_data is not None
        refusal = self.rate_limited(update, context)
        if refusal:
            await update.effective_message.reply_text(refusal)
            return False
        context.user_data["draft"] = Draft()
        return True

    async def begin(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step | int:
        """/report: a fresh draft."""
        assert update.effective_message is not None
        if not await self._fresh_draft(update, context):
            return END
        lang = self.lang(update, context)
        await update.effective_message.reply_text(
            t(lang, "report_begin"), reply_markup=self.keyboard(lang, "done", "cancel")
        )
        return Step.COLLECTING

    async def start_with(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step | int:
        """A link, photo, file or forwarded post with no command: it starts a report."""
        if not await self._fresh_draft(update, context):
            return END
        if not await self.add(update, context, fresh=True):
            return END  # the first item was refused, and there is nothing else: no report
        return Step.COLLECTING

    async def collect(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """More for the draft; the conversation stays where it is."""
        await self.add(update, context)

    async def collect_at_confirm(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
        """Something added after the summary: show the summary again, with the addition."""
        if await self.add(update, context, acknowledge=False):
            await self.show_summary(update, context)
        return Step.CONFIRM

    async def add(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        *,
        acknowledge: bool = True,
        fresh: bool = False,
    ) -> bool:
        """Add what one message holds to the draft and say so; False if nothing was added.

        With `fresh` (the message that would start a report), a draft left empty is dropped
        before the reply goes out, so nothing of a refused start outlives the refusal.
        """
        message = update.effective_message
        assert message is not None
        lang = self.lang(update, context)
        draft = self.draft(context)
        notes: list[str] = []
        refused: list[str] = []
        url_before = draft.url
        if message.forward_origin is not None:
            origin, link = forward_origin(message)
            draft.forwarded_from = origin
            if link and draft.url is None:
                draft.url = link
            notes.append(t(lang, "added_forward"))
        if message.photo:
            size = message.photo[-1]
            refusal = self.photo_refusal(lang, draft, size.file_size)
            if refusal:
                refused.append(refusal)
            else:
                draft.photos.append(PhotoRef(size.file_id, "image/jpeg", size.file_size))
                notes.append(
                    t(lang, "added_photo", count=len(draft.photos), max=self.config.max_photos)
                )
        if message.document:
            doc = message.document
            kind = (doc.mime_type or "").lower()
            if kind not in IMAGE_TYPES:
                refused.append(
                    t(lang, "not_image", name=doc.file_name or "?", kind=kind or "unknown")
                )
            else:
                refusal = self.photo_refusal(lang, draft, doc.file_size)
                if refusal:
                    refused.append(refusal)
                else:
                    draft.photos.append(PhotoRef(doc.file_id, kind, doc.file_size))
                    notes.append(
                        t(lang, "added_photo", count=len(draft.photos), max=self.config.max_photos)
                    )
        text = message.text or message.caption or ""
        entities = message.entities or message.caption_entities or ()
        for entity in entities:
            # A word hyperlinked in the text: Telegram keeps the address only in the entity.
            if entity.type == MessageEntity.TEXT_LINK and entity.url and entity.url not in text:
                text += f"\n{entity.url}"
        if text.strip():
            before = len(draft.texts)
            draft.add_text(text)
            if len(draft.texts) > before:
                notes.append(t(lang, "added_text"))
        if draft.url and draft.url != url_before:
            notes.insert(0, t(lang, "added_link", url=draft.url))
        added = bool(notes)
        if fresh and not added and context.user_data is not None:
            context.user_data.pop("draft", None)
        reply = refused + notes
        if acknowledge and reply:
            if added or not draft.empty:
                reply.append(t(lang, "more_or_done"))
            await message.reply_text(
                "\n".join(reply),
                reply_markup=self.keyboard(lang, "done", "cancel") if not draft.empty else None,
            )
        elif refused:
            await message.reply_text("\n".join(refused))
        return added

    def photo_refusal(self, lang: str, draft: Draft, size: int | None) -> str | None:
        if len(draft.photos) >= self.config.max_photos:
            return t(lang, "too_many_photos", max=self.config.max_photos)
        if size is not None and size > self.config.max_photo_bytes:
            return t(
                lang,
                "photo_too_big",
                size=f"{size / MB:.1f}",
                limit=f"{self.config.max_photo_bytes / MB:.0f}",
            )
        return None

    # --- country, notes, summary --------------------------------------------------------

    async def done(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step | None:
        lang = self.lang(update, context)
        if update.callback_query:
            await update.callback_query.answer()
        message = update.effective_message
        assert message is not None
        if self.draft(context).empty:
            await message.reply_text(t(lang, "nothing_yet"))
            return None
        await message.reply_text(
            t(lang, "ask_country"), reply_markup=self.keyboard(lang, "skip", "cancel")
        )
        return Step.COUNTRY

    async def country(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step | None:
        lang = self.lang(update, context)
        message = update.effective_message
        assert message is not None
        if update.callback_query:  # Skip
            await update.callback_query.answer()
        else:
            answer = message.text or ""
            code = parse_country(answer)
            if code is None:
                await message.reply_text(
                    t(lang, "bad_country", answer=answer[:60]),
                    reply_markup=self.keyboard(lang, "skip", "cancel"),
                )
                return None
            self.draft(context).country = code
        await message.reply_text(
            t(lang, "ask_notes"), reply_markup=self.keyboard(lang, "skip", "cancel")
        )
        return Step.NOTES

    async def notes(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
        if update.callback_query:  # Skip
            await update.callback_query.answer()
        elif update.effective_message and update.effective_message.text:
            self.draft(context).notes = update.effective_message.text.strip() or None
        await self.show_summary(update, context)
        return Step.CONFIRM

    async def show_summary(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        lang = self.lang(update, context)
        draft = self.draft(context)
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            messages.summary(
                report_fields(draft),
                len(draft.photos),
                lang,
                self.config.api_url,
                officer=state.officer(context.user_data or {}),
            ),
            reply_markup=self.keyboard(lang, "confirm", "cancel"),
        )

    # --- the end ------------------------------------------------------------------------

    async def confirm(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """Send in the background, so one slow backend call never holds up other chats."""
        query = update.callback_query
        assert query is not None and context.user_data is not None
        await query.answer()
        lang = self.lang(update, context)
        message = query.message
        assert isinstance(message, Message) and message.text_html is not None
        refusal = self.rate_limited(update, context)
        if refusal:
            await query.edit_message_reply_markup(None)
            await message.reply_text(refusal)
            return END
        draft: Draft = context.user_data.pop("draft")
        state.count_sent(context.user_data, time.time())
        await query.edit_message_text(
            message.text_html + "\n\n" + t(lang, "sending"),
        )
        assert update.effective_user is not None
        context.application.create_task(
            self.sender.deliver(
                context.application,
                user_id=update.effective_user.id,
                chat_id=message.chat.id,
                lang=lang,
                fields=report_fields(draft),
                refs=list(draft.photos),
                as_officer=state.officer(context.user_data) is not None,
            ),
            update=update,
            name="wildflag-report",
        )
        return END

    @staticmethod
    async def earlier_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert context.user_data is not None
        context.user_data.pop("draft", None)
        lang = self.lang(update, context)
        if update.callback_query:
            await update.callback_query.answer()
            await update.callback_query.edit_message_reply_markup(None)
        assert update.effective_message is not None
        await update.effective_message.reply_text(t(lang, "cancelled"))
        return END

    # --- wiring -------------------------------------------------------------------------

    def handler(self) -> ConversationHandler[Any]:
        def button(name: str) -> CallbackQueryHandler[Any, Any]:
            return CallbackQueryHandler(getattr(self, name), pattern=f"^report:{name}$")

        skip = CallbackQueryHandler(self.country, pattern="^report:skip$")
        states: dict[object, list[BaseHandler[Update, Any, Any]]] = {
            Step.COLLECTING: [
                MessageHandler(ADDS_TO_REPORT, self.collect),
                CommandHandler("done", self.done),
                button("done"),
            ],
            Step.COUNTRY: [
                MessageHandler(MEDIA, self.collect),
                MessageHandler(filters.TEXT & ~filters.COMMAND, self.country),
                skip,
            ],
            Step.NOTES: [
                MessageHandler(MEDIA, self.collect),
                MessageHandler(filters.TEXT & ~filters.COMMAND, self.notes),
                CallbackQueryHandler(self.notes, pattern="^report:skip$"),
            ],
            Step.CONFIRM: [
                MessageHandler(ADDS_TO_REPORT, self.collect_at_confirm),
                button("confirm"),
            ],
        }
        with warnings.catch_warnings():
            # PTB warns that with per_message=False a CallbackQueryHandler is tracked per
            # chat, not per message: that is what we want (one report at a time per user).
            warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
            return ConversationHandler(
                entry_points=[
                    CommandHandler("report", self.begin),
                    MessageHandler(STARTS_REPORT, self.start_with),
                ],
                states=states,
                fallbacks=[
                    CommandHandler("cancel", self.cancel),
                    button("cancel"),
                    CommandHandler("report", self.begin),
                    # A button from an earlier step of this report (Done, pressed again at
                    # the country question): acknowledged, and the current step goes on.
                    CallbackQueryHandler(self.earlier_button, pattern=r"^report:"),
                ],
                name="report",
                persistent=True,
            )


def forward_origin(message: Message) -> tuple[str, str | None]:
    """Who a forwarded post came from, and its public link when it has one."""
    origin = message.forward_origin
    if isinstance(origin, MessageOriginChannel):
        chat = origin.chat
        name = chat.title or ""
        if chat.username:
            return f"{name} (@{chat.username})", f"https://t.me/{chat.username}/{origin.message_id}"
        return name or "a channel", None
    if isinstance(origin, MessageOriginChat):
        chat = origin.sender_chat
        name = chat.title or ""
        return (f"{name} (@{chat.username})" if chat.username else name or "a group"), None
    if isinstance(origin, MessageOriginUser):
        user = origin.sender_user
        return (f"{user.full_name} (@{user.username})" if user.username else user.full_name), None
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name, None
    return "?", None
