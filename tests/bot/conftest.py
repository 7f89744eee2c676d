"""Fixtures for the bot: a fake Bot API, the real backend on loopback, the real PTB bot.

The backend is `create_app(Settings(...))` on SQLite, served over real HTTP like
`wildflag serve`; the bot reaches it only through `WILDFLAG_API_URL`, as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.api import WildflagApi
from bot.app import AnyApplication, build_application
from bot.config import BotConfig
from db.engine import create_engine, session_factory
from extension_backend.auth import create_token
from extension_backend.settings import Settings
from tests.bot.fake_telegram import FakeBotApi
from tests.live_backend import Backend, free_port


@pytest.fixture
def backend_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "backend",
        public_url="http://wildflag.test",
        anonymous_reports_per_minute=1000,
        delivery_worker=False,
    )


@pytest.fixture
async def backend(backend_settings: Settings) -> AsyncIterator[Backend]:
    """The backend, running."""
    server = Backend(backend_settings, free_port())
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def stopped_backend(backend_settings: Settings) -> AsyncIterator[Backend]:
    """The backend's address with nothing listening yet: the test starts it."""
    server = Backend(backend_settings, free_port())
    yield server
    await server.stop()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def bot_config(tmp_path: Path, telegram: FakeBotApi) -> Callable[..., BotConfig]:
    """A config pointing at the fake Bot API; the test names the backend."""

    def make(api_url: str, **overrides: Any) -> BotConfig:
        values: dict[str, Any] = {
            "token": telegram.token,
            "api_url": api_url,
            "telegram_api_url": telegram.root,
            "data_dir": tmp_path / "botdata",
            "api_timeout_seconds": 10.0,
            "retry_base_seconds": 0.2,
            "retry_cap_seconds": 1.0,
            "retry_tick_seconds": 0.1,
        }
        values.update(overrides)
        return BotConfig(**values)

    return make


@asynccontextmanager
async def running_bot(config: BotConfig) -> AsyncIterator[AnyApplication]:
    """The real Application, polling; stopped in the order TESTING.md gives."""
    api = WildflagApi(
        config.api_url, timeout=config.api_timeout_seconds, bearer_token=config.backend_token
    )
    application = build_application(config, api)
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        await api.close()


@pytest.fixture
async def bot(
    backend: Backend, bot_config: Callable[..., BotConfig]
) -> AsyncIterator[AnyApplication]:
    """The bot polling the fake Bot API, talking to the running backend."""
    async with running_bot(bot_config(backend.url)) as application:
        yield application


# --- officers, unit chats, links ---------------------------------------------------------


@dataclass(frozen=True)
class Officer:
    """An account made as `wildflag tokens create` makes it: its id, token and name."""

    id: int
    token: str
    name: str


async def make_account(settings: Settings, role: str, unit: str | None, name: str) -> Officer:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            account, token = await create_token(session, role=role, unit_code=unit, name=name)
        assert account.id is not None
        return Officer(account.id, token, name)
    finally:
        await engine.dispose()


async def api_call(
    backend: Backend, method: str, path: str, token: str | None = None, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """One request to the running backend, as any API client makes it."""
    headers = dict(kwargs.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, backend.url + path, headers=headers, **kwargs) as response,
    ):
        return response.status, await response.json()


async def link_code(backend: Backend, admin: Officer, account: Officer) -> str:
    status, body = await api_call(
        backend, "POST", "/api/v1/telegram/link-codes", admin.token, json={"account": account.id}
    )
    assert status == 201, body
    return str(body["code"])


async def link(telegram: FakeBotApi, user: int, code: str) -> str:
    """/link CODE in a private chat with the bot; the bot's answer."""
    mark = telegram.mark()
    telegram.send_text(user, f"/link {code}")
    return (await telegram.wait_for_text(user, "ink", since=mark)).text
