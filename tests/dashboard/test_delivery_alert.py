"""A unit learns on every dashboard page that its channels stopped hearing of its cases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db.engine import create_engine, session_factory
from db.models import Delivery
from db.types import utcnow
from extension_backend.app import create_app
from tests.backend.conftest import set_channels
from tests.dashboard.conftest import case_of, close_browsers, report


@pytest.fixture
async def dash(aiohttp_client, settings):
    """The service without its delivery worker: the test decides what became of a delivery."""
    quiet = settings.model_copy(update={"delivery_worker": False})
    client = await aiohttp_client(create_app(quiet))
    yield client
    await close_browsers(client)


async def _kill_deliveries(settings, case_id: int, *, age: timedelta = timedelta(0)) -> None:
    from sqlmodel import select

    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            rows = (
                await session.exec(
                    select(Delivery).where(
                        Delivery.case_id == case_id, Delivery.channel == "webhook"
                    )
                )
            ).all()
            assert rows
            for row in rows:
                row.state, row.updated_at = "dead", utcnow() - age
                session.add(row)
            await session.commit()
    finally:
        await engine.dispose()


async def test_dead_deliveries_show_a_banner_to_that_unit_only(dash, browser, settings):
    await set_channels(settings, "GB", [{"type": "webhook", "target": "https://gb.example/hook"}])
    case_id = await case_of(settings, (await report(dash))["reference"])
    gb, fr = await browser("officer", "GB"), await browser("officer", "FR")
    _, html = await gb.get("/app")
    assert 'class="alert"' not in html
    await _kill_deliveries(settings, case_id)
    _, html = await gb.get("/app/account")  # every page, not only the queue
    assert 'class="alert"' in html and f'href="/app/cases/{case_id}"' in html
    assert "1 delivery to your unit&#39;s channels failed for good" in html
    _, html = await fr.get("/app")
    assert 'class="alert"' not in html
    _, html = await (await browser("coordinator")).get("/app")
    assert f'href="/app/cases/{case_id}"' in html


async def test_an_old_dead_delivery_no_longer_raises_the_banner(dash, browser, settings):
    await set_channels(settings, "GB", [{"type": "webhook", "target": "https://gb.example/hook"}])
    case_id = await case_of(settings, (await report(dash))["reference"])
    await _kill_deliveries(settings, case_id, age=timedelta(days=8))
    _, html = await (await browser("officer", "GB")).get("/app")
    assert 'class="alert"' not in html
