"""Webhook mode: the real backend app with the real bot mounted, served on loopback.

Telegram's side is the fake Bot API (it records setWebhook and what the bot sends); the
test plays Telegram's delivery by posting update JSON to the mounted route.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import BotConfig, ConfigError
from bot.webhook import SECRET_HEADER, mount
from extension_backend.app import create_app
from extension_backend.settings import Settings
from tests.bot.fake_telegram import FakeBotApi
from tests.helpers import WILDFLAG, wildflag_env
from tests.live_backend import free_port

SECRET = "s3cret-webhook_token-0123456789abcdef"
PUBLIC = "https://wildflag.example.org"
USER = 5151
OTHER = 5252


class Served:
    """The backend with the bot mounted: its loopback URL and the update route."""

    def __init__(self, url: str, path: str) -> None:
        self.url = url
        self.path = path

    async def post(
        self, update: dict[str, Any], secret: str | None = SECRET, path: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.url + (path or self.path), json=update, headers=headers) as response,
        ):
            return response.status, await response.json()


@pytest.fixture
async def served(
    backend_settings: Settings, bot_config: Callable[..., BotConfig]
) -> AsyncIterator[Served]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(backend_settings)
    path = mount(app, bot_config(url, webhook_secret=SECRET, public_url=PUBLIC))
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield Served(url, path)
    finally:
        await server.close()


def methods(telegram: FakeBotApi) -> list[str]:
    return [method for method, _ in telegram.calls]


async def test_start_sets_the_webhook_and_an_update_gets_an_answer(
    telegram: FakeBotApi, served: Served
) -> None:
    assert telegram.webhook is not None
    assert telegram.webhook["url"] == PUBLIC + served.path
    assert telegram.webhook["secret_token"] == SECRET
    assert "message" in telegram.webhook["allowed_updates"]
    assert "callback_query" in telegram.webhook["allowed_updates"]
    assert SECRET not in served.path and telegram.token not in served.path
    status, body = await served.post(telegram.text_update(USER, "/help"))
    assert (status, body) == (200, {"ok": True})
    await telegram.wait_for_text(USER, "/status REF")
    assert "deleteWebhook" not in methods(telegram)  # no polling in this mode


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_processed(
    telegram: FakeBotApi, served: Served
) -> None:
    for secret in (None, "wrong", SECRET[:-1], SECRET + "x", "é" * 20):
        status, body = await served.post(telegram.text_update(USER, "/help"), secret=secret)
        assert status == 403, (secret, body)
        assert body["error"]["code"] == "forbidden"
    # Updates are handled in order: once a later, signed one is answered, a forged one
    # that had been let through would have been answered too.
    status, _ = await served.post(telegram.text_update(OTHER, "/help"))
    assert status == 200
    await telegram.wait_for_text(OTHER, "/status REF")
    assert telegram.texts(USER) == []


async def test_a_wrong_path_is_not_found(telegram: FakeBotApi, served: Served) -> None:
    update = telegram.text_update(USER, "/help")
    for path in ("/telegram/" + "0" * 32, "/telegram/" + SECRET, "/telegram/"):
        status, body = await served.post(update, path=path)
        assert status == 404, (path, body)
    status, body = await served.post({"update_id": 1, "message": "not one"})
    assert status == 400 and body["error"]["code"] == "bad_request"
    assert telegram.texts(USER) == []


@pytest.mark.parametrize(
    ("secret", "public", "names"),
    [
        (None, PUBLIC, "WILDFLAG_TELEGRAM_WEBHOOK_SECRET"),
        ("short", PUBLIC, "WILDFLAG_TELEGRAM_WEBHOOK_SECRET"),
        ("has spaces in it, sixteen+", PUBLIC, "WILDFLAG_TELEGRAM_WEBHOOK_SECRET"),
        (SECRET, None, "WILDFLAG_PUBLIC_URL"),
    ],
)
def test_bad_webhook_settings_name_the_variable_and_mount_nothing(
    secret: str | None, public: str | None, names: str
) -> None:
    app = web.Application()
    config = BotConfig(token="1:x", webhook_secret=secret, public_url=public)
    with pytest.raises(ConfigError, match=names):
        mount(app, config)
    assert not list(app.router.routes()) and not list(app.cleanup_ctx)


def test_the_webhook_settings_come_from_the_environment() -> None:
    config = BotConfig.from_env(
        {
            "WILDFLAG_TELEGRAM_TOKEN": "1:x",
            "WILDFLAG_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "WILDFLAG_PUBLIC_URL": PUBLIC + "/",
        }
    )
    assert config.webhook_secret == SECRET
    assert config.webhook_url == PUBLIC + config.webhook_path
    # Polling mode does not check them: `wildflag bot` runs whatever they hold.
    polling = BotConfig.from_env(
        {"WILDFLAG_TELEGRAM_TOKEN": "1:x", "WILDFLAG_TELEGRAM_WEBHOOK_SECRET": "bad"}
    )
    assert polling.webhook_secret == "bad"


async def test_wildflag_serve_mounts_the_bot(tmp_path: Path, telegram: FakeBotApi) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = wildflag_env(
        tmp_path / "data",
        WILDFLAG_TELEGRAM_TOKEN=telegram.token,
        WILDFLAG_TELEGRAM_API_URL=telegram.root,
        WILDFLAG_TELEGRAM_WEBHOOK_SECRET=SECRET,
        WILDFLAG_PUBLIC_URL=PUBLIC,
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            WILDFLAG, "serve", "--port", str(port), env=env, stdout=output, stderr=output
        )
        try:
            deadline = time.monotonic() + 60
            while telegram.webhook is None:  # set once the app has started
                assert process.returncode is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                await asyncio.sleep(0.1)
            url = telegram.webhook["url"]
            assert url.startswith(PUBLIC + "/telegram/")
            served = Served(base, url.removeprefix(PUBLIC))
            deadline = time.monotonic() + 30
            while True:  # the port opens just after the startup contexts ran
                try:
                    status, body = await served.post(telegram.text_update(USER, "/help"), None)
                    break
                except aiohttp.ClientConnectionError:
                    assert time.monotonic() < deadline, log.read_text(errors="replace")
                    await asyncio.sleep(0.1)
            assert status == 403 and body["error"]["code"] == "forbidden"
            status, _ = await served.post(telegram.text_update(USER, "/help"))
            assert status == 200
            await telegram.wait_for_text(USER, "/status REF")
        finally:
            if process.returncode is None:
                process.terminate()
            code = await asyncio.wait_for(process.wait(), 30)
    output_text = log.read_text(errors="replace")
    assert code == 0, output_text
    assert SECRET not in output_text and telegram.token not in output_text
