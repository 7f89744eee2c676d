"""The real wildflag service on loopback, for tests of its clients (the bot, the extension)
and of the process itself: a free port, and a backend that can be stopped and started."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

from aiohttp.test_utils import TestServer

from extension_backend.app import create_app
from extension_backend.settings import Settings
from tests.backend.conftest import Peek


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Backend:
    """The real wildflag service on a fixed loopback port, which can be stopped and started."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.peek = Peek(settings)
        self._server: TestServer | None = None

    async def start(self) -> None:
        self._server = TestServer(create_app(self.settings), host="127.0.0.1", port=self.port)
        await self._server.start_server()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None


B = TypeVar("B", bound=Backend)


@contextlib.asynccontextmanager
async def running_backend(
    tmp_path: Path,
    backend_class: type[B] = Backend,
    **overrides: Any,  # type: ignore[assignment]
) -> AsyncIterator[B]:
    """The service running for a browser test, stopped afterwards: its data under
    `tmp_path / "backend"`, the public URL the test pages name, a high anonymous limit and
    no delivery worker; `overrides` set other settings."""
    settings = Settings(
        **{
            "data_dir": tmp_path / "backend",
            "public_url": "http://wildflag.test",
            "anonymous_reports_per_minute": 1000,
            "delivery_worker": False,
            **overrides,
        }
    )
    server = backend_class(settings, free_port())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
