"""Fixtures for the browser extension: the real backend, a page server, a real Chromium.

The backend is `create_app(Settings(...))` on SQLite over real HTTP on loopback; the
fixture marketplace pages come from a small aiohttp server on another loopback port; the
extension is loaded unpacked into Debian's Chromium by Playwright (`executable_path`, never
a downloaded browser, see ../shared/notes/TESTING.md). Without /usr/bin/chromium the tests
skip with the reason, except under CI, where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.helpers import jpeg, photo
from tests.live_backend import Backend, free_port, running_backend

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "browser_extension"
PAGES = Path(__file__).resolve().parent / "pages"
CHROMIUM = Path(os.environ.get("WILDFLAG_TEST_CHROMIUM", "/usr/bin/chromium"))
# Chromium flags that keep a headless run quiet on a closed network (TESTING.md).
HYGIENE = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The fixture marketplace's host name; Chromium resolves it to the local page server (the
# backend refuses listing URLs on loopback or single-label hosts, as it should).
PAGE_HOST = "www.parrotmarket.com"
# A host the per-site table (sites/sites.json) knows, served by the same page server.
SITE_HOST = "www.ebay.co.uk"


def need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(message + " and CI is set")
    pytest.skip(message)


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[Backend]:
    """The backend's address, already running; tests may stop and restart it."""
    async with running_backend(tmp_path) as server:
        yield server


# The fixture pages' images: the listing photos are large, the logo and the related
# listing's thumbnail are the kind of image the extension must not preselect.
IMAGES = {
    "main.jpg": (1, (600, 450)),
    "side.jpg": (2, (400, 300)),
    "related.jpg": (3, (120, 90)),
    "logo.png": (4, (40, 40)),
}


@pytest.fixture
async def pages(tmp_path: Path) -> AsyncIterator[str]:
    """A local "marketplace" serving tests/extension/pages and generated photos."""
    root = tmp_path / "site"
    shutil.copytree(PAGES, root)
    (root / "img").mkdir()
    for name, (seed, size) in IMAGES.items():
        picture = photo(seed, size)
        if name.endswith(".png"):
            picture.save(root / "img" / name, format="PNG")
        else:
            (root / "img" / name).write_bytes(jpeg(picture))
    app = web.Application()
    app.router.add_static("/", root)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    yield f"http://{PAGE_HOST}:{server.port}"
    await server.close()


def build_extension(target: Path, backend_url: str, retry_base_seconds: int = 1) -> Path:
    """The unpacked extension with config.js set as `make extension` sets it at build time.

    One change for the test only: activeTab is granted by a real click on the toolbar
    button or a menu, which no driver can make, so the test build holds `<all_urls>` in its
    place (reading the page and the screenshot need one or the other).
    """
    shutil.copytree(EXTENSION, target, ignore=shutil.ignore_patterns("test", "tools"))
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["host_permissions"].append("<all_urls>")
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    config = target / "config.js"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r'DEFAULT_BACKEND_URL = "[^"]*"', f'DEFAULT_BACKEND_URL = "{backend_url}"', text)
    text = re.sub(r"RETRY_BASE_SECONDS = \d+", f"RETRY_BASE_SECONDS = {retry_base_seconds}", text)
    config.write_text(text, encoding="utf-8")
    return target


@dataclass
class Browser:
    context: object  # playwright BrowserContext
    worker: object  # the extension's service worker
    extension_id: str

    def url(self, page: str) -> str:
        return f"chrome-extension://{self.extension_id}/{page}"


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium, or a skip (a failure under CI) before any server starts."""
    need_chromium()
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path, tmp_path: Path, backend: Backend) -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    extension = build_extension(tmp_path / "extension", backend.url)
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(chromium),
            headless=True,
            args=[
                f"--disable-extensions-except={extension}",
                f"--load-extension={extension}",
                f"--host-resolver-rules=MAP {PAGE_HOST} 127.0.0.1, MAP {SITE_HOST} 127.0.0.1",
                *HYGIENE,
            ],
        )
        try:
            worker = (
                context.service_workers[0]
                if context.service_workers
                else await context.wait_for_event("serviceworker", timeout=15_000)
            )
            extension_id = worker.url.split("/")[2]
            yield Browser(context, worker, extension_id)
        finally:
            await context.close()
