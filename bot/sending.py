"""Sending a confirmed report, and never losing one.

A confirmed report first enters the queue in the bot's state (its fields and Telegram file
ids, never image bytes) and is written to disk; then it is sent: photos downloaded from
Telegram into memory, posted to the backend. When the backend is down, slow, failing or
rate limiting, the report stays queued and a JobQueue tick retries it with exponential
backoff until it goes through; then the user gets the reference. Every attempt at one report
carries the same Idempotency-Key (kept in the queue entry), so when the backend stored the
report but its answer was lost, the retry gets that report's receipt instead of storing a
second copy. Only an explicit refusal
(a 4xx from the backend, a photo Telegram no longer has) ends a report unsent, and the user
is told why.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import Application, ContextTypes

from bot import messages, state
from bot.api import ApiRejected, BackendUnavailable, Photo, WildflagApi
from bot.config import BotConfig
from bot.draft import PhotoRef
from bot.i18n import t

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class PhotoUnavailable(Exception):
    """Telegram will not give us a photo (e.g. an expired file id): retrying cannot help."""


class Sender:
    """Delivers confirmed reports to the backend; owns the retry queue's policy."""

    def __init__(self, api: WildflagApi, config: BotConfig) -> None:
        self.api = api
        self.config = config
        self._in_flight: set[str] = set()

    def backoff(self, attempts: int, hint: float | None = None) -> float:
        """Seconds before the next attempt: doubling from the base, capped; at least `hint`."""
        delay = min(
            self.config.retry_cap_seconds,
            self.config.retry_base_seconds * 2 ** min(attempts - 1, 30),
        )
        return max(delay, hint or 0.0)

    async def download(self, bot: Bot, refs: list[PhotoRef]) -> list[Photo]:
        """Each photo's bytes, in memory only: nothing from a report touches the bot's disk."""
        photos = []
        for ref in refs:
            try:
                file = await bot.get_file(ref.file_id)
                data = bytes(await file.download_as_bytearray())
            except BadRequest as exc:
                raise PhotoUnavailable(str(exc)) from None
            photos.append(Photo(ref.filename, ref.content_type, data))
        return photos

    async def deliver(
        self,
        application: AnyApplication,
        *,
        user_id: int,
        chat_id: int,
        lang: str,
        fields: dict[str, Any],
        refs: list[PhotoRef],
        as_officer: bool = False,
    ) -> None:
        """Send a just-confirmed report (as the linked officer when `as_officer`).

        The report enters the queue, on disk, before the first attempt (an outbox): if the
        bot dies mid-send, the report is retried after the restart instead of lost.
        """
        entry = state.enqueue(
            application.bot_data,
            user_id=user_id,
            chat_id=chat_id,
            lang=lang,
            fields=fields,
            photos=refs,
            retry_in=0.0,
            as_officer=as_officer,
        )
        self._in_flight.add(entry["id"])
        try:
            await application.update_persistence()
            with contextlib.suppress(TelegramError):
                await application.bot.send_chat_action(chat_id, ChatAction.TYPING)
            await self._attempt(application, entry, first=True)
        finally:
            self._in_flight.discard(entry["id"])

    async def retry_queued(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """JobQueue tick: send every queued report that is due. Never drops one on failure."""
        application = context.application
        now = time.time()
        for entry in list(state.queue_of(application.bot_data).values()):
            if entry["next_at"] > now or entry["id"] in self._in_flight:
                continue
            self._in_flight.add(entry["id"])
            try:
                await self._attempt(application, entry, first=False)
            finally:
                self._in_flight.discard(entry["id"])

    async def _attempt(
        self, application: AnyApplication, entry: dict[str, Any], *, first: bool
    ) -> None:
        """One try at a queued report; the entry leaves the queue only when its fate is known."""
        bot = application.bot
        queue = state.queue_of(application.bot_data)
        lang, chat_id = entry["lang"], entry["chat_id"]
        try:
            as_officer = bool(entry.get("as_officer"))
            photos = await self.download(bot, state.queued_photos(entry))
            receipt = await self.api.submit_report(
                entry["fields"],
                photos,
                telegram_user=entry["user_id"] if as_officer else None,
                idempotency_key=state.idempotency_key(entry),
            )
        except (ApiRejected, PhotoUnavailable) as exc:
            # Refused for good: retrying the same report cannot help.
            queue.pop(entry["id"], None)
            if isinstance(exc, ApiRejected) and exc.code == "telegram_not_linked":
                # Unlinked on the backend's side: stop presenting the user as an officer.
                application.user_data[entry["user_id"]].pop("officer", None)
                application.mark_data_for_update_persistence(user_ids=[entry["user_id"]])
            await application.update_persistence()
            message = exc.message if isinstance(exc, ApiRejected) else str(exc)
            log.warning("report %s refused: %s", entry["id"], message)
            key = "rejected" if first else "rejected_queued"
            await self._tell(bot, chat_id, t(lang, key, message=message))
            return
        except Exception as exc:
            # BackendUnavailable, Telegram's NetworkError while fetching photos (BadRequest,
            # its subclass, became PhotoUnavailable), or a bug: keep the report either way.
            if isinstance(exc, (BackendUnavailable, NetworkError)):
                log.warning(
                    "report %s not sent (attempt %d): %s", entry["id"], entry["attempts"] + 1, exc
                )
            else:
                log.exception("report %s not sent: unexpected error", entry["id"])
            entry["attempts"] += 1
            hint = exc.retry_after if isinstance(exc, BackendUnavailable) else None
            entry["next_at"] = time.time() + self.backoff(entry["attempts"], hint)
            await application.update_persistence()
            if first:
                await self._tell(bot, chat_id, t(lang, "queued"))
            return
        queue.pop(entry["id"], None)
        user_id = entry["user_id"]
        state.remember_report(
            application.user_data[user_id], receipt, as_officer=bool(entry.get("as_officer"))
        )
        application.mark_data_for_update_persistence(user_ids=[user_id])
        await application.update_persistence()  # recorded as sent before we tell anyone
        text = messages.receipt(receipt, lang)
        await self._tell(bot, chat_id, text if first else t(lang, "queued_sent") + "\n" + text)

    @staticmethod
    async def _tell(bot: Bot, chat_id: int, text: str) -> None:
        try:
            await bot.send_message(chat_id, text)
        except TelegramError:
            # The report's fate is settled either way; a lost notice must not undo it.
            log.exception("could not tell chat %s", chat_id)
