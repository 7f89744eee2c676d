"""Idempotency-Key on POST /api/v1/reports: a retried report is stored once.

Clients (the bot, the extension) retry a report whose answer they never saw; the key makes
that retry answer with the first receipt instead of storing the report twice. On SQLite and
PostgreSQL, because the concurrent case rests on each database's unique constraint.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import timedelta

from aiohttp import FormData
from sqlmodel import col, select

from db.engine import create_engine, session_factory
from db.models import Evidence, Report
from db.types import utcnow
from extension_backend.intake import IdempotencyKey, Intake, Receipt
from tests.helpers import IVORY, image_bytes

PARROT = {"text": "Two African grey parrots, hand reared, Nairobi", "seller_location": "Kenya"}


def key_header(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or str(uuid.uuid4())}


async def test_same_key_twice_stores_one_report_and_replays_the_receipt(client, peek):
    headers = key_header()
    first = await client.post("/api/v1/reports", json=IVORY, headers=headers)
    assert first.status == 201, await first.text()
    assert "Idempotent-Replayed" not in first.headers
    counts = await peek.counts()

    again = await client.post("/api/v1/reports", json=IVORY, headers=headers)
    assert again.status == 200, await again.text()
    assert again.headers["Idempotent-Replayed"] == "true"
    # The very receipt the reporter lost: same reference, same token to follow it with.
    assert await again.json() == await first.json()
    assert await peek.counts() == counts
    [report] = await peek.rows(Report)
    # Only hashes are stored: neither the key nor the receipt token in clear.
    assert headers["Idempotency-Key"] not in repr(report.model_dump())
    assert (await first.json())["receipt_token"] not in repr(report.model_dump())

    body = await first.json()
    status = await client.get(
        f"/api/v1/reports/{body['reference']}", headers={"X-Receipt-Token": body["receipt_token"]}
    )
    assert status.status == 200


async def test_different_keys_and_no_key_store_separate_reports(client, peek):
    references = set()
    for headers in (key_header(), key_header(), {}):
        response = await client.post("/api/v1/reports", json=IVORY, headers=headers)
        assert response.status == 201, await response.text()
        references.add((await response.json())["reference"])
    assert len(references) == 3
    assert await peek.count(Report) == 3


async def test_keys_are_scoped_to_the_callers_account(client, peek):
    officer = await peek.token("officer", "GB")
    key = str(uuid.uuid4())
    auth = {"Authorization": f"Bearer {officer}", **key_header(key)}
    first = await client.post("/api/v1/reports", json=IVORY, headers=auth)
    again = await client.post("/api/v1/reports", json=IVORY, headers=auth)
    assert (first.status, again.status) == (201, 200)
    assert (await again.json()) == (await first.json())
    assert "receipt_token" not in await again.json()
    # The same key without the token is another caller's key: a new report.
    anonymous = await client.post("/api/v1/reports", json=IVORY, headers=key_header(key))
    assert anonymous.status == 201
    assert await peek.count(Report) == 2


async def test_invalid_keys_are_refused_and_store_nothing(client, nothing_stored):
    for bad in ("", "a" * 101, "has space", "ключ", "a/b", "k;1"):
        response = await client.post(
            "/api/v1/reports", json=IVORY, headers={"Idempotency-Key": bad}
        )
        assert response.status == 400, (bad, await response.text())
        error = (await response.json())["error"]
        assert error["code"] == "invalid_idempotency_key"
        assert error["field"] == "Idempotency-Key"
    response = await client.post(
        "/api/v1/reports",
        json=IVORY,
        headers=[("Idempotency-Key", "one"), ("Idempotency-Key", "two")],
    )
    assert response.status == 400


async def test_longest_and_odd_valid_keys_are_accepted(client, peek):
    for key in ("k" * 100, "a", "bot:2f1c.x_y-z"):
        response = await client.post("/api/v1/reports", json=PARROT, headers=key_header(key))
        assert response.status == 201, await response.text()
    assert await peek.count(Report) == 3


async def test_concurrent_requests_with_one_key_store_one_report(client, peek):
    headers = key_header()
    responses = await asyncio.gather(
        *(client.post("/api/v1/reports", json=IVORY, headers=headers) for _ in range(2))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses == [200, 201], [await r.text() for r in responses]
    bodies = [await r.json() for r in responses]
    assert bodies[0] == bodies[1]
    [replayed] = [r for r in responses if r.status == 200]
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert await peek.count(Report) == 1


async def test_the_loser_of_the_unique_constraint_answers_as_a_replay(client, peek, monkeypatch):
    """Both requests pass the early look-up (as they can on PostgreSQL): the constraint
    decides, and the loser finds the winner's report instead of failing."""
    real = Intake.replay
    early: list[str] = []

    async def first_look_misses(self: Intake, key: IdempotencyKey) -> Receipt | None:
        if len(early) < 2:
            early.append(key.digest)
            return None
        return await real(self, key)

    monkeypatch.setattr(Intake, "replay", first_look_misses)
    headers = key_header()
    responses = await asyncio.gather(
        *(client.post("/api/v1/reports", json=IVORY, headers=headers) for _ in range(2))
    )
    assert sorted(r.status for r in responses) == [200, 201], [await r.text() for r in responses]
    assert len(early) == 2
    bodies = [await r.json() for r in responses]
    assert bodies[0] == bodies[1]
    assert await peek.count(Report) == 1


async def test_concurrent_multipart_with_one_key_keeps_the_winners_files(client, peek):
    headers = key_header()
    picture = image_bytes(color="teal")

    def form() -> FormData:
        data = FormData()
        data.add_field("report", '{"text": "ivory carving"}', content_type="application/json")
        data.add_field("images", picture, filename="a.jpg", content_type="image/jpeg")
        return data

    responses = await asyncio.gather(
        *(client.post("/api/v1/reports", data=form(), headers=headers) for _ in range(2))
    )
    assert sorted(r.status for r in responses) == [200, 201]
    assert await peek.count(Report) == 1
    [evidence] = await peek.rows(Evidence)
    assert peek.evidence_files() and all(evidence.sha256 in f for f in peek.evidence_files())


async def test_a_key_is_free_again_after_24_hours(client, peek, settings):
    headers = key_header()
    first = await client.post("/api/v1/reports", json=PARROT, headers=headers)
    assert first.status == 201
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            row = (await session.exec(select(Report))).one()
            row.created_at = utcnow() - timedelta(hours=25)
            session.add(row)
            await session.commit()
    finally:
        await engine.dispose()
    later = await client.post("/api/v1/reports", json=PARROT, headers=headers)
    assert later.status == 201, await later.text()
    assert (await later.json())["reference"] != (await first.json())["reference"]
    [old] = await peek.rows(Report, col(Report.reference) == (await first.json())["reference"])
    assert old.idempotency_key_hash is None and old.idempotency_receipt is None
    again = await client.post("/api/v1/reports", json=PARROT, headers=headers)
    assert again.status == 200
    assert (await again.json())["reference"] == (await later.json())["reference"]


async def test_openapi_documents_the_header(client):
    document = await (await client.get("/api/openapi.json")).json()
    operation = document["paths"]["/api/v1/reports"]["post"]
    [parameter] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert parameter["in"] == "header" and not parameter["required"]
    assert operation["responses"]["200"]["headers"]["Idempotent-Replayed"]


def test_the_key_hash_differs_by_scope():
    anonymous, account = IdempotencyKey("k", "anonymous"), IdempotencyKey("k", "account:1")
    assert anonymous.digest != account.digest
    assert anonymous.digest != hashlib.sha256(b"k").hexdigest()
    assert anonymous.unseal(anonymous.seal("token-123")) == "token-123"
    assert account.unseal(anonymous.seal("token-123")) != "token-123"
