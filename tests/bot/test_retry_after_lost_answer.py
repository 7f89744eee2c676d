"""A report the backend stored but whose answer the bot never saw is not stored twice.

A proxy between the bot and the backend forwards everything, but holds the answer to the
first report past the bot's timeout: the backend has stored it, the bot sees a timeout and
queues the report. The retry carries the same Idempotency-Key, so the backend answers with
the first receipt and there is still one report.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import BotConfig
from db.models import Report
from tests.bot.conftest import Backend, api_call, running_bot
from tests.bot.fake_telegram import FakeBotApi
from tests.bot.test_conversation import ALICE
from tests.bot.test_queue import confirm_a_report, until
from tests.live_backend import free_port

#: The bot gives up on a request after this many seconds; the proxy holds the first answer
#: longer than that.
TIMEOUT = 2.0
_HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection"}


class LosingProxy:
    """Forwards to the backend; the answer to the first report arrives too late."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.keys: list[str | None] = []
        self.statuses: list[int] = []
        self.released = asyncio.Event()
        self.server = TestServer(self._app(), host="127.0.0.1", port=free_port())
        self.url = f"http://127.0.0.1:{self.server.port}"

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.forward)
        return app

    async def forward(self, request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with (
            aiohttp.ClientSession() as http,
            http.request(
                request.method,
                self.target + request.path_qs,
                headers=headers,
                data=await request.read(),
            ) as answer,
        ):
            body = await answer.read()
            status = answer.status
            content_type = answer.content_type
        if request.method == "POST" and request.path == "/api/v1/reports":
            self.keys.append(request.headers.get("Idempotency-Key"))
            self.statuses.append(status)
            if len(self.keys) == 1:
                # Stored by now; the bot times out waiting for the answer.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.released.wait(), TIMEOUT + 1.0)
        return web.Response(body=body, status=status, content_type=content_type)


@pytest.fixture
async def proxy(backend: Backend) -> AsyncIterator[LosingProxy]:
    server = LosingProxy(backend.url)
    await server.server.start_server()
    yield server
    server.released.set()
    await server.server.close()


async def test_a_retry_after_a_lost_answer_stores_one_report(
    telegram: FakeBotApi,
    backend: Backend,
    proxy: LosingProxy,
    bot_config: Callable[..., BotConfig],
) -> None:
    config = bot_config(proxy.url, api_timeout_seconds=TIMEOUT)
    async with running_bot(config) as application:
        mark = telegram.mark()
        await confirm_a_report(telegram, ALICE)
        # The first attempt reached the backend, which stored it; the bot saw a timeout.
        await until(lambda: len(proxy.keys) >= 1)
        sent = await telegram.wait_for_text(ALICE, "Report received", since=mark, within=30)
        await until(lambda: not application.bot_data["queue"])

        [report] = await backend.peek.rows(Report)
        assert report.reference in sent.text
        assert len(proxy.keys) == 2
        assert proxy.keys[0] == proxy.keys[1]
        assert uuid.UUID(str(proxy.keys[0]))
        assert proxy.statuses == [201, 200]  # the retry was answered as a replay
        [remembered] = application.user_data[ALICE]["reports"]
        assert remembered["reference"] == report.reference
        # The receipt token the user got from the replay opens the report's status.
        status, body = await api_call(
            backend,
            "GET",
            f"/api/v1/reports/{report.reference}",
            headers={"X-Receipt-Token": remembered["receipt_token"]},
        )
        assert status == 200 and body["reference"] == report.reference
    assert await backend.peek.count(Report) == 1
