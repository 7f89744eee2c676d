"""The case page: what a unit sees of one case, and what it must not see.

Each test runs on SQLite and on PostgreSQL (the `settings` fixture).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from db.engine import create_engine, session_factory
from db.models import AuditEvent, Delivery, Unit
from extension_backend.app import create_app
from extension_backend.settings import Settings
from tests.dashboard.conftest import case_of, close_browsers, report

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
async def dash(aiohttp_client: Any, settings: Settings) -> AsyncIterator[TestClient]:
    """The service without its delivery worker: the deliveries stay as a test sets them."""
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"delivery_worker": False}))
    )
    yield client
    await close_browsers(client)


def text_of(html: str) -> str:
    """The page's text without tags, as a reader sees it."""
    return unescape(re.sub(r"<[^>]+>", " ", html))


async def set_delivery(settings: Settings, case_id: int, **values: object) -> None:
    """Change the deliveries of a case as the worker would have left them."""
    from sqlmodel import select

    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            rows = (await session.exec(select(Delivery).where(Delivery.case_id == case_id))).all()
            assert rows
            for row in rows:
                for key, value in values.items():
                    setattr(row, key, value)
                if row.state != "sent":  # an error as channels write it: naming the target
                    row.last_error = f"HTTP 500 from {row.target}"
                session.add(row)
            await session.commit()
    finally:
        await engine.dispose()


async def set_channels(settings: Settings, code: str, channels: list[dict[str, str]]) -> None:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            unit = await session.get(Unit, code)
            assert unit is not None
            unit.channels = channels
            session.add(unit)
            await session.commit()
    finally:
        await engine.dispose()


async def test_the_page_shows_the_listing_reports_and_reasons(dash, settings, browser):
    sent = await report(
        dash,
        title="Ivory silk blouse and elephant ivory carving",
        text="Genuine elephant ivory carving, 1.2 kg.\nCollection in London.",
        seller="tusk_trader_77",
        seller_location="London, United Kingdom",
        ships_to="worldwide",
        price="1200",
        currency="GBP",
    )
    case_id = await case_of(settings, sent["reference"])
    officer = await browser("officer", "GB")
    response, html = await officer.get(f"/app/cases/{case_id}")
    assert response.status == 200
    assert "img-src 'self'" in response.headers["Content-Security-Policy"]
    page = text_of(html)
    facts = ("tusk_trader_77", "London, United Kingdom", "worldwide", "1200 GBP")
    for fact in (*facts, sent["reference"]):
        assert fact in page
    # The listing is a link that tells the seller's site nothing, and it is never fetched.
    link = re.search(r'<a href="(https://www\.ebay\.co\.uk/[^"]+)"([^>]*)>', html)
    assert link is not None
    assert 'rel="noopener noreferrer nofollow"' in link.group(2)
    assert 'target="_blank"' in link.group(2)
    # Species with the term, and the mention a context rule overruled, with its reason.
    assert "Elephantidae" in page and "elephant ivory" in page
    assert re.search(r"not counted: ivory as a colour", page)
    # The units and why, and the routing signals.
    assert re.search(r"GB\s.*routed", page)
    assert "Jurisdiction" in page and "Routed to:" in page
    assert "anonymous" in page


async def test_reported_text_is_escaped_and_keeps_its_lines(dash, settings, browser):
    sent = await report(dash, title=f"Pangolin scales {XSS}", text=f"line one\nline two {XSS}")
    case_id = await case_of(settings, sent["reference"])
    officer = await browser("officer", "GB")
    _, html = await officer.get(f"/app/cases/{case_id}")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    # Line breaks kept by CSS (white-space: pre-wrap), not by turning text into markup.
    assert re.search(r'<div class="reported-text">line one\nline two &lt;script', html)


async def test_another_units_case_is_the_same_404_as_no_case(dash, settings, browser):
    sent = await report(dash)
    case_id = await case_of(settings, sent["reference"])
    stranger = await browser("officer", "FR")
    theirs, theirs_html = await stranger.get(f"/app/cases/{case_id}")
    unknown, unknown_html = await stranger.get(f"/app/cases/{case_id + 1000}")
    words, _ = await stranger.get("/app/cases/abc")
    assert theirs.status == unknown.status == words.status == 404
    assert theirs_html == unknown_html
    assert "Pangolin" not in theirs_html
    # A coordinator sees every unit's cases.
    coordinator = await browser("coordinator", None)
    response, _ = await coordinator.get(f"/app/cases/{case_id}")
    assert response.status == 200


async def test_each_view_is_audited_and_listed_in_the_history(dash, settings, browser, peek):
    sent = await report(dash)
    case_id = await case_of(settings, sent["reference"])
    officer = await browser("officer", "GB", name="Olive Officer")
    await officer.get(f"/app/cases/{case_id}")
    _, html = await officer.get(f"/app/cases/{case_id}")
    views = await peek.rows(
        AuditEvent, AuditEvent.action == "case.viewed", AuditEvent.object_id == str(case_id)
    )
    assert [v.actor for v in views] == [f"account:{officer.account.id}"] * 2
    history = html[html.index('class="case-history"') :]
    assert "<details>" in history and history.count("case.viewed") == 2
    assert "Olive Officer (officer, GB)" in history


async def test_reporter_identity_only_for_roles_that_need_it(dash, settings, browser, peek):
    officer = await browser("officer", "GB", name="Reporting Rita")
    token = await peek.token("officer", "GB")
    response = await dash.post(
        "/api/v1/reports",
        json={"text": "Pangolin scales, 2 kg, Manchester", "reporter_country": "GB"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status == 201
    case_id = (await response.json())["case_id"]
    _, html = await officer.get(f"/app/cases/{case_id}")
    assert "identity hidden" in html and "officer GB" not in text_of(html).split("Reports")[1]
    admin = await browser("unit_admin", "GB")
    _, html = await admin.get(f"/app/cases/{case_id}")
    assert "identity hidden" not in html
    assert re.search(r'class="reporter">test \(officer, GB\)<', html)


async def test_a_merged_case_leads_to_the_case_it_went_into(dash, settings, browser):
    first = await case_of(settings, (await report(dash))["reference"])
    second = await case_of(
        settings,
        (await report(dash, url="https://www.ebay.co.uk/itm/999", text="Pangolin scales, London"))[
            "reference"
        ],
    )
    assert first != second
    officer = await browser("officer", "GB")
    await officer.get(f"/app/cases/{first}")
    response, _ = await officer.post(f"/app/cases/{first}/merge", {"into": str(second)})
    assert response.status == 303
    response, _ = await officer.get(f"/app/cases/{first}")
    assert response.status == 303
    assert response.headers["Location"].startswith(f"/app/cases/{second}?")
    _, html = await officer.get(response.headers["Location"])
    assert f"Case #{first} was merged into this case." in html


async def test_deliveries_show_state_and_hide_webhook_secrets(dash, settings, browser):
    await set_channels(
        settings,
        "GB",
        [
            {"type": "webhook", "target": "https://hooks.example.org/T0KEN/s3cret?key=abc"},
            {"type": "email", "target": "cites@gb.example"},
        ],
    )
    sent = await report(dash)
    case_id = await case_of(settings, sent["reference"])
    officer = await browser("officer", "GB")
    _, html = await officer.get(f"/app/cases/{case_id}")
    deliveries = html[html.index('id="deliveries"') :]
    assert "hooks.example.org" in deliveries and "s3cret" not in html and "T0KEN" not in html
    assert "cites@gb.example" in deliveries
    assert "case-delivery-alert" not in html
    await set_delivery(settings, case_id, state="failing", attempts=3)
    _, html = await officer.get(f"/app/cases/{case_id}")
    assert "case-delivery-alert" in html and "HTTP 500" in html
    # Another unit's staff (here a coordinator) sees neither the address nor the secret.
    coordinator = await browser("coordinator", None)
    _, html = await coordinator.get(f"/app/cases/{case_id}")
    assert "cites@gb.example" not in html and "hidden (GB email)" in html
    await set_delivery(settings, case_id, state="dead", attempts=1)
    _, html = await officer.get(f"/app/cases/{case_id}")
    assert "case-delivery-alert" in html


async def test_the_forum_and_referral_hooks_are_called(dash, settings, browser, monkeypatch):
    from extension_backend.dashboard import forum, platforms

    seen = []

    async def section(session, case, me):
        seen.append((case.id, me.principal.role))
        return None

    monkeypatch.setattr(forum, "forum_section", section, raising=False)
    monkeypatch.setattr(platforms, "referral_section", section, raising=False)
    case_id = await case_of(settings, (await report(dash))["reference"])
    officer = await browser("officer", "GB")
    response, _ = await officer.get(f"/app/cases/{case_id}")
    assert response.status == 200
    assert seen == [(case_id, "officer"), (case_id, "officer")]
