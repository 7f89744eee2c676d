"""The dashboard in a real browser: an officer signs in, finds a new case in the queue without
reloading, opens it, acknowledges and assigns it, and closes it; the pages run under their
real Content-Security-Policy with no violation and no script error.

Debian's Chromium driven by Python playwright, the real service on loopback (see
../shared/notes/TESTING.md). With `WILDFLAG_SCREENSHOTS=DIR` the run also saves the queue,
a case page and the trends page as PNGs (the README's pictures come from it).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from tests.dashboard.conftest import PASSWORD, add_account
from tests.dashboard.test_trends_browser import CHROMIUM, HYGIENE, WATCH_CSP
from tests.dashboard.test_trends_browser import chromium as chromium
from tests.live_backend import Backend, running_backend

SHOTS = os.environ.get("WILDFLAG_SCREENSHOTS")

LISTINGS = [
    {
        "url": "https://www.ebay.co.uk/itm/284512345678",
        "title": "Antique carved elephant ivory tusk, 1.2 kg",
        "text": "Genuine ivory, pre-ban they say. Collection only, London. Cash.",
        "seller": "curios_uk",
        "seller_location": "London, United Kingdom",
        "price": "1200",
        "currency": "GBP",
    },
    {
        "url": "https://www.gumtree.com/p/reptiles/royal-python/1458893321",
        "title": "Royal python skins x10, tanned",
        "text": "Python skins for leather work, ships from Manchester by Royal Mail",
        "seller_location": "Manchester",
        "price": "300",
        "currency": "GBP",
    },
    {
        "url": "https://www.facebook.com/marketplace/item/889123456789012/",
        "title": "African grey parrot, hand reared, talking",
        "text": "Young African grey, cage included. Delivery possible in the UK.",
        "seller_location": "Birmingham, UK",
        "price": "950",
        "currency": "GBP",
    },
]


#: With screenshots on, a year of earlier reports so that the trends have a shape.
HISTORY = [
    ("Pangolin scales 250 g, traditional medicine", "ebay.co.uk/itm/5000{n}", "Leeds"),
    ("Rhino horn cup, antique, certificate", "gumtree.com/p/antiques/horn/15000{n}", "Bristol"),
    ("Carved ivory netsuke pair", "ebay.co.uk/itm/6000{n}", "Brighton"),
    ("Hand-reared African grey parrot", "gumtree.com/p/birds/grey/16000{n}", "Leeds"),
    ("Python skin offcuts 2 m", "ebay.co.uk/itm/7000{n}", "Glasgow, ships by DHL"),
    ("Slipper orchid Paphiopedilum rothschildianum", "ebay.co.uk/itm/8000{n}", "Cardiff"),
    ("Hawksbill turtle shell comb", "gumtree.com/p/antiques/shell/17000{n}", "Hull"),
    ("Dalbergia rosewood logs, export grade", "ebay.co.uk/itm/9000{n}", "Liverpool"),
]


async def backdate_history(backend: Backend) -> None:
    """Report HISTORY listings and move them (and their cases) into the past year."""
    from datetime import timedelta

    from sqlmodel import select

    from db.engine import create_engine, session_factory
    from db.models import Case, Report
    from db.types import utcnow

    for n in range(3):
        for title, path, place in HISTORY:
            await submit(
                backend,
                {
                    "url": f"https://www.{path.format(n=n)}",
                    "title": title,
                    "text": f"{title}. Ships from {place}, UK. Royal Mail or collection.",
                    "seller_location": place,
                    "price": str(50 + 37 * n + len(title)),
                    "currency": "GBP",
                },
            )
    engine = create_engine(backend.settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            reports = (await session.exec(select(Report).order_by(Report.id))).all()
            for i, row in enumerate(reports):
                when = utcnow() - timedelta(days=20 + (i * 41) % 330)
                row.created_at = when
                session.add(row)
                case = await session.get(Case, row.case_id)
                assert case is not None
                case.created_at = case.updated_at = when
                session.add(case)
            await session.commit()
    finally:
        await engine.dispose()


@pytest.fixture
async def backend(chromium: Path, tmp_path: Path) -> AsyncIterator[Backend]:
    async with running_backend(tmp_path) as server:
        yield server


async def submit(backend: Backend, listing: dict[str, Any]) -> None:
    async with ClientSession() as http:
        body = {**listing, "reporter_country": "GB"}
        async with http.post(f"{backend.url}/api/v1/reports", json=body) as response:
            assert response.status == 201, await response.text()


async def test_an_officer_works_a_case_in_the_browser(backend: Backend) -> None:
    from playwright.async_api import async_playwright

    if SHOTS:
        await backdate_history(backend)
    for listing in LISTINGS[1:]:
        await submit(backend, listing)
    officer = await add_account(backend.settings, "officer", "GB", name="Alice Ward")
    assert officer.email is not None

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=HYGIENE
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            problems: list[str] = []
            page.on(
                "console",
                lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
            )
            page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
            await page.add_init_script(WATCH_CSP)

            # A stranger is sent to sign in, and comes back where they wanted to go.
            await page.goto(f"{backend.url}/app")
            assert page.url.startswith(f"{backend.url}/login")
            await page.fill("#password", "wrong password!!")
            await page.fill("#email", officer.email)
            await page.click("button[type=submit]")
            assert "Wrong e-mail, password or code." in await page.inner_text("main")
            await page.fill("#email", officer.email)
            await page.fill("#password", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{backend.url}/app")
            rows = page.locator("table.cases tbody tr[data-case]")
            before = await rows.count()
            assert before == 2 or SHOTS

            # A new Appendix I case arrives while the queue is open: announced, not shuffled in.
            await submit(backend, LISTINGS[0])
            news = page.locator("#queue-news")
            await news.wait_for(state="visible", timeout=15_000)
            assert "1 new" in await news.inner_text()
            assert await rows.count() == before
            await news.locator("a").click()
            await page.wait_for_load_state()
            assert await rows.count() == before + 1
            first = rows.first  # Appendix I first
            assert "critical" in await first.inner_text()
            if SHOTS:
                await page.screenshot(path=str(Path(SHOTS) / "queue.png"))

            await first.locator("a").first.click()
            await page.wait_for_url(f"{backend.url}/app/cases/*")
            main = page.locator("main")
            assert "Antique carved elephant ivory tusk" in await main.inner_text()
            await page.click("form[data-action=acknowledge] button")
            await page.wait_for_load_state()
            assert "triaged" in (await main.inner_text()).lower()
            await page.click("form[data-action=assign] button")
            await page.wait_for_load_state()
            assert "Alice Ward" in await main.inner_text()
            if SHOTS:
                await page.set_viewport_size({"width": 1280, "height": 1600})
                await page.screenshot(path=str(Path(SHOTS) / "case.png"))
                await page.set_viewport_size({"width": 1280, "height": 800})

            close = page.locator("form[data-action=close]")
            await close.locator("select").select_option("seized")
            page.once("dialog", lambda dialog: dialog.accept())  # "Close this case?"
            await close.locator("button").click()
            await page.wait_for_load_state()
            text = (await main.inner_text()).lower()
            assert "closed" in text and "seized" in text

            await page.goto(f"{backend.url}/app/trends")
            await page.wait_for_selector("canvas#chart-taxa[data-drawn=true]", timeout=15_000)
            if SHOTS:  # the first charts, not the whole long page
                await page.set_viewport_size({"width": 1280, "height": 1400})
                await page.screenshot(path=str(Path(SHOTS) / "trends.png"))

            assert await page.evaluate("window.__cspViolations") == []
            assert problems == []
        finally:
            await browser.close()

    cases = await backend.peek.rows(__import__("db.models").models.Case)
    closed = [c for c in cases if c.status == "closed"]
    assert len(closed) == 1 and closed[0].outcome == "seized"
    assert closed[0].assigned_account_id == officer.id
