"""The trends chart in a real browser: Debian's Chromium, driven by Python playwright, on
the real service over loopback, under the page's real Content-Security-Policy.

The canvas must exist, have a size, and hold drawn pixels; the JSON data block must not be
refused, and nothing may be reported as a CSP violation. Without /usr/bin/chromium the
test skips with the reason (fails under CI), as the extension's tests do.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.dashboard.conftest import PASSWORD, add_account
from tests.live_backend import Backend, running_backend

CHROMIUM = Path(os.environ.get("WILDFLAG_TEST_CHROMIUM", "/usr/bin/chromium"))
HYGIENE = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Collects CSP violations in the page before any of its scripts runs.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""
# How many pixels of a canvas are not fully transparent.
DRAWN_PIXELS = """
(canvas) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) drawn += 1; }
  return drawn;
}
"""


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium, or a skip (a failure under CI) before any server starts."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + " and CI is set")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
async def backend(chromium: Path, tmp_path: Path) -> AsyncIterator[Backend]:
    async with running_backend(tmp_path) as server:
        yield server


async def test_the_chart_draws_under_the_csp(backend: Backend, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    async with ClientSession() as http:
        for n, title in enumerate(("Pangolin scales", "African grey parrot", "Carved ivory")):
            body = {
                "url": f"https://www.ebay.co.uk/itm/{500 + n}",
                "title": title,
                "text": f"{title}, ships from London to worldwide by DHL",
                "reporter_country": "GB",
                "price": f"£{100 * (n + 1)}",
            }
            async with http.post(f"{backend.url}/api/v1/reports", json=body) as response:
                assert response.status == 201, await response.text()
    account = await add_account(backend.settings, "officer", "GB")
    assert account.email is not None

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=HYGIENE
        )
        try:
            page = await browser.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            await page.add_init_script(WATCH_CSP)
            await page.goto(f"{backend.url}/login?next=/app/trends")
            await page.fill("#email", account.email)
            await page.fill("#password", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{backend.url}/app/trends")
            await page.wait_for_selector("canvas#chart-taxa[data-drawn=true]", timeout=15_000)

            canvas = page.locator("canvas#chart-taxa")
            box = await canvas.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100
            assert await canvas.evaluate(DRAWN_PIXELS) > 500
            for series in ("appendix", "channel", "shipping", "routes", "prices"):
                drawn = page.locator(f"canvas#chart-{series}")
                assert await drawn.get_attribute("data-drawn") == "true", series
                assert await drawn.evaluate(DRAWN_PIXELS) > 0, series
            # With the chart drawn, its table folds away (still one click from the chart).
            assert not await page.locator("#trend-taxa details.trend-table").evaluate(
                "(details) => details.open"
            )
            await page.screenshot(path=str(tmp_path / "trends.png"), full_page=True)

            violations = await page.evaluate("window.__cspViolations")
            assert violations == []
            assert not [line for line in console if "Content Security Policy" in line]
            assert not [line for line in console if line.startswith("pageerror")]
        finally:
            await browser.close()
