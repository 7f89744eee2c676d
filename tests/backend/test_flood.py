"""One listing reported hundreds of times: one case, every report counted, and the unit's
channels told once per quiet period instead of once per report (no delivery storm)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from db.engine import create_engine, session_factory
from db.models import Case, Delivery, Report
from extension_backend.app import create_app
from tests.backend.conftest import set_channels

LISTING = {
    "url": "https://www.ebay.co.uk/itm/2846661234",
    "title": "Pangolin scales 1 kg",
    "text": "Pangolin scales, 1 kg, ships from London",
    "reporter_country": "GB",
}


async def _age_channel_rows(settings, minutes: float) -> None:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.exec(select(Delivery).where(Delivery.channel != "dashboard"))
            for row in rows.all():
                row.created_at = row.created_at - timedelta(minutes=minutes)
                session.add(row)
            await session.commit()
    finally:
        await engine.dispose()


async def test_a_flood_of_one_listing_is_one_case_and_one_notification(
    aiohttp_client, settings, peek
):
    flood = settings.model_copy(update={"update_quiet_minutes": 10, "delivery_worker": False})
    await set_channels(flood, "GB", [{"type": "webhook", "target": "https://gb.example/h"}])
    client = await aiohttp_client(create_app(flood))

    async def one(n: int) -> int:
        body = {**LISTING, "url": LISTING["url"] + f"?utm_source=share{n}"}
        response = await client.post("/api/v1/reports", json=body)
        return response.status

    statuses = []
    for start in range(0, 120, 20):  # 20 at a time, as a crowd (or a script) would send them
        statuses += await asyncio.gather(*(one(n) for n in range(start, start + 20)))
    assert statuses == [201] * 120

    [case] = await peek.rows(Case)
    assert case.report_count == 120 == await peek.count(Report)
    deliveries = await peek.rows(Delivery)
    assert sum(d.channel == "dashboard" for d in deliveries) == 120  # every report recorded
    assert [d.channel for d in deliveries if d.channel != "dashboard"] == ["webhook"]

    # After the quiet period the next report notifies again, once, carrying the count.
    await _age_channel_rows(flood, 11)
    assert await one(999) == 201
    channel_rows = [d for d in await peek.rows(Delivery) if d.channel != "dashboard"]
    assert len(channel_rows) == 2
    assert await one(1000) == 201
    assert len([d for d in await peek.rows(Delivery) if d.channel != "dashboard"]) == 2
