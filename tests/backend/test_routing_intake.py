"""Unit filters and the reporter's unit at intake: routed_to, CaseUnit and one outbox row per
destination and channel, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from db.engine import create_engine, session_factory
from db.models import CaseUnit, Delivery, JurisdictionDecision, Report, Unit
from extension_backend.settings import Settings

ORCHIDS = {
    "url": "https://shop.example.com/item/4411",
    "text": "Rare Paphiopedilum orchid plants, wild collected",
    "seller_location": "Chiang Mai, Thailand",
}
SHARK = {
    "url": "https://shop.example.com/item/77",
    "text": "Dried mako shark fins for sale",
    "seller_location": "Bangkok, Thailand",
}


async def edit_unit(settings: Settings, code: str, **changes: Any) -> None:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            unit = await session.get(Unit, code)
            assert unit is not None
            for field, value in changes.items():
                setattr(unit, field, value)
            session.add(unit)
            await session.commit()
    finally:
        await engine.dispose()


async def report(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/reports", json=body)
    assert response.status == 201, await response.text()
    return await response.json()


async def test_reporter_country_unit_gets_a_second_copy(client, peek, settings):
    await edit_unit(settings, "GB", reporter_cases=True)
    await edit_unit(settings, "TH", channels=[{"type": "noop", "target": "th-desk"}])

    first = await report(client, dict(ORCHIDS, reporter_country="gb"))
    assert first["routed_to"] == ["TH", "GB"]
    routed = {row.unit_code: row.reason for row in await peek.rows(CaseUnit)}
    assert routed == {"TH": "listing country TH (seller_location)", "GB": "reporter's country GB"}
    [decision] = await peek.rows(JurisdictionDecision)
    assert [r["unit"] for r in decision.routed_to] == ["TH", "GB"]
    deliveries = await peek.rows(Delivery)
    assert sorted((d.unit_code, d.channel) for d in deliveries) == [
        ("GB", "dashboard"),
        ("TH", "dashboard"),
        ("TH", "noop"),
    ]

    # The same listing reported from France, whose unit did not opt in: only TH this time,
    # and GB keeps the case it already had.
    second = await report(client, dict(ORCHIDS, reporter_country="FR"))
    assert second["routed_to"] == ["TH"]
    [again] = await peek.rows(Report, Report.reference == second["reference"])
    assert sorted(
        (d.unit_code, d.channel) for d in await peek.rows(Delivery, Delivery.report_id == again.id)
    ) == [("TH", "dashboard"), ("TH", "noop")]
    assert sorted(row.unit_code for row in await peek.rows(CaseUnit)) == ["GB", "TH"]


async def test_reporter_not_opted_in_changes_nothing(client, peek):
    body = await report(client, dict(ORCHIDS, reporter_country="GB"))
    assert body["routed_to"] == ["TH"]
    assert [d.unit_code for d in await peek.rows(Delivery)] == ["TH"]


async def test_taxa_filter_turns_a_case_to_the_coordinating_unit(client, peek, settings):
    await edit_unit(settings, "TH", taxa=["Elasmobranchii"])

    orchids = await report(client, ORCHIDS)
    assert orchids["routed_to"] == ["COORD"]
    [routed] = await peek.rows(CaseUnit)
    assert routed.unit_code == "COORD"
    assert routed.reason == (
        "coordinating unit: unit TH for listing country TH takes only Elasmobranchii, "
        "not Paphiopedilum, Orchidaceae"
    )
    assert [(d.unit_code, d.channel) for d in await peek.rows(Delivery)] == [("COORD", "dashboard")]

    shark = await report(client, SHARK)
    assert shark["routed_to"] == ["TH"]

    # A later report of the shark listing that names no shark is still the case of a shark:
    # the filter reads the species of the whole case.
    later = await report(client, {"url": SHARK["url"], "text": "still for sale, 2 kg"})
    assert later["routed_to"] == ["TH"]


async def test_taxa_filter_and_the_reporters_unit_together(client, peek, settings):
    await edit_unit(settings, "TH", taxa=["Elasmobranchii"])
    await edit_unit(settings, "GB", taxa=["Plantae"], reporter_cases=True)
    body = await report(client, dict(ORCHIDS, reporter_country="GB"))
    assert body["routed_to"] == ["COORD", "GB"]
    shark = await report(client, dict(SHARK, reporter_country="GB"))
    assert shark["routed_to"] == ["TH"]  # GB's flora filter turns the shark case away
    assert sorted(d.unit_code for d in await peek.rows(Delivery)) == ["COORD", "GB", "TH"]
