"""Webhook mode: the bot mounted on the service's aiohttp app, for production.

Polling (`wildflag bot`) needs one long-lived process per bot; with a webhook Telegram
posts each update to the service, so any of N backend instances can take it (DESIGN.md,
Scale). `wildflag serve` calls `mount` when WILDFLAG_TELEGRAM_WEBHOOK_SECRET is set.

Two checks keep strangers from feeding the bot forged updates (which would let anyone
file reports or press unit-chat buttons as another Telegram user): the route's path is
derived from the secret (a wrong path is a plain 404), and Telegram's
X-Telegram-Bot-Api-Secret-Token header must equal the secret (else 403, nothing processed).
The bot still talks to the backend only over HTTP (its WILDFLAG_API_URL), exactly as in
polling mode: mounting shares the process and the port, not the code.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from telegram import Update

from bot.app import build_application
from bot.config import BotConfig
from bot.sending import AnyApplication

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
APPLICATION: web.AppKey[AnyApplication] = web.AppKey("wildflag_bot_application")


def _error(status: int, code: str, message: str) -> web.Response:
    # The API's error shape (DESIGN.md), written out here: bot/ does not import the backend.
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _secret_matches(given: str | None, secret: str) -> bool:
    # Bytes, not str: compare_digest refuses non-ASCII str, and a header may hold anything.
    return given is not None and hmac.compare_digest(given.encode(), secret.encode())


def mount(app: web.Application, config: BotConfig) -> str:
    """Add the update route and the bot's lifecycle to `app`; returns the route's path.

    Raises `ConfigError` (naming the variable) when a webhook setting is missing or bad,
    before anything is added to `app`.
    """
    webhook_url = config.webhook_url  # validates the secret and the public URL
    secret = config.webhook_secret
    assert secret is not None  # webhook_url checked it

    async def receive(request: web.Request) -> web.Response:
        if not _secret_matches(request.headers.get(SECRET_HEADER), secret):
            return _error(403, "forbidden", "missing or wrong Telegram secret token")
        application = request.app.get(APPLICATION)
        if application is None or not application.running:
            # Starting or stopping: Telegram retries a failed delivery, so nothing is lost.
            return _error(503, "unavailable", "the bot is not running; retry")
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "bad_request", "the body is not JSON")
        if not isinstance(data, dict):
            return _error(400, "bad_request", "the body is not a Telegram update")
        try:
            update = Update.de_json(data, application.bot)
        except (AttributeError, KeyError, TypeError, ValueError):  # what a malformed one raises
            return _error(400, "bad_request", "the body is not a Telegram update")
        # Queued, not processed inline: Telegram wants a quick 200 and would resend a slow
        # update; the Application handles the queue as it handles polled updates.
        await application.update_queue.put(update)
        return web.json_response({"ok": True})

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        application = build_application(config)
        await application.initialize()
        await application.start()  # processes the update queue and the job queue; no polling
        app[APPLICATION] = application
        try:
            await application.bot.set_webhook(
                url=webhook_url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
            )
            log.info("telegram webhook set at %s/telegram/…", config.public_url)
            yield
        finally:
            # The webhook is left set: Telegram keeps updates while we restart, and other
            # instances behind the same URL keep serving. `wildflag bot` deletes it itself.
            await application.stop()
            await application.shutdown()

    app.router.add_post(config.webhook_path, receive)
    app.cleanup_ctx.append(lifecycle)
    return config.webhook_path
