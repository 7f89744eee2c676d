"""The extension's proof of work in a real Chromium, against the real backend.

The backend allows one plain anonymous report per minute from an address and many with a
proof. The test spends the plain one itself, then has the extension send three reports
from the same address (one from the preview, two through the worker): all three are
stored at once, which only a valid proof allows, and the backend counts three spent
challenges. The solver is the extension's WebCrypto code; the checker is the backend's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from db.models import Report, SpentProof
from tests.extension.conftest import Backend, Browser
from tests.extension.test_extension import open_listing, preview_from_menu, storage
from tests.live_backend import running_backend


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[Backend]:
    """Overrides the conftest backend: a base limit of one plain report per minute."""
    async with running_backend(
        tmp_path,
        anonymous_reports_per_minute=1,
        anonymous_pow_reports_per_minute=100,
    ) as server:
        yield server


async def test_the_extension_attaches_a_proof_the_backend_accepts(
    browser: Browser, pages: str, backend: Backend
) -> None:
    async with aiohttp.ClientSession() as http:
        plain = f"{backend.url}/api/v1/reports"
        assert (await http.post(plain, json={"text": "parrot"})).status == 201
        assert (await http.post(plain, json={"text": "parrot"})).status == 429  # base: spent

    popup = await preview_from_menu(browser, await open_listing(browser, f"{pages}/jsonld.html"))
    await popup.click("#send-button")
    await popup.wait_for_selector("#receipt:not([hidden])", timeout=30_000)
    reference = await popup.inner_text("#receipt-reference")

    outcomes = []
    for text in ("Ivory bangles, antique", "Pangolin scales, 2 kg"):
        envelope = {"id": text, "token": "", "report": {"text": text}, "images": []}
        outcomes.append(await browser.worker.evaluate("e => wildflag.submitOrQueue(e)", envelope))
    assert [sorted(o) for o in outcomes] == [["sent"], ["sent"]], outcomes
    assert await storage(browser, "queue") in (None, [])  # nothing waits for a retry

    stored = await backend.peek.rows(Report)
    assert len(stored) == 4 and reference in {r.reference for r in stored}
    assert {o["sent"]["reference"] for o in outcomes} <= {r.reference for r in stored}
    assert len(await backend.peek.rows(SpentProof)) == 3  # one challenge a report, all valid
