"""Acknowledge, assign, close and reopen a case through the API: rights, conflicts, audit.

On SQLite and PostgreSQL. The same endpoints serve the Telegram buttons, through the bot's
token and X-Telegram-User, which is checked here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from db.engine import create_engine, session_factory
from db.models import AuditEvent, Case, TelegramLink
from extension_backend.auth import create_token
from extension_backend.settings import Settings
from tests.backend.conftest import Peek
from tests.helpers import IVORY as SHARED_IVORY

IVORY = {k: v for k, v in SHARED_IVORY.items() if k != "title"}  # routed to GB


@dataclass(frozen=True)
class Account:
    id: int
    token: str
    name: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def account(settings: Settings, role: str, unit: str | None, name: str = "") -> Account:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            row, token = await create_token(session, role=role, unit_code=unit, name=name)
        assert row.id is not None
        return Account(row.id, token, name)
    finally:
        await engine.dispose()


async def link_telegram(settings: Settings, telegram_user: int, account_id: int) -> None:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            session.add(TelegramLink(telegram_user_id=telegram_user, account_id=account_id))
            await session.commit()
    finally:
        await engine.dispose()


@pytest.fixture
async def gb_case(client: Any, settings: Settings) -> int:
    response = await client.post("/api/v1/reports", json=IVORY)
    assert response.status == 201
    [case] = await _cases(settings)
    assert case.id is not None
    return case.id


async def _cases(settings: Settings) -> list[Case]:
    return await Peek(settings).rows(Case)


async def post(client: Any, path: str, who: Account | None, body: Any = None, **headers: str):
    sent = {**(who.auth if who else {}), **headers}
    response = await client.post(path, json=body, headers=sent)
    return response.status, await response.json()


async def test_acknowledge_once_by_an_officer_of_the_unit_audited(client, settings, peek, gb_case):
    officer = await account(settings, "officer", "GB", "Officer Alice")
    path = f"/api/v1/cases/{gb_case}/acknowledge"
    status, body = await post(client, path, officer)
    assert status == 200, body
    assert body["status"] == "triaged"
    assert body["acknowledged_by"] == {"id": officer.id, "name": "Officer Alice", "unit": "GB"}
    assert body["acknowledged_at"] and body["assigned_to"] is None and body["outcome"] is None

    status, body = await post(client, path, officer)
    assert status == 409 and "already acknowledged" in body["error"]["message"]
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "case.acknowledged")
    assert event.actor == f"account:{officer.id}" and event.object_id == str(gb_case)
    assert event.details == {"status": "triaged", "note": ""}


async def test_rights_observer_other_unit_bot_alone_and_anonymous(client, settings, gb_case):
    path = f"/api/v1/cases/{gb_case}/acknowledge"
    observer = await account(settings, "observer", "GB")
    fr = await account(settings, "officer", "FR")
    bot = await account(settings, "bot", None, "telegram")
    gb = await account(settings, "officer", "GB")
    assert (await post(client, path, observer))[0] == 403
    assert (await post(client, path, fr))[0] == 404  # another unit's case is not acknowledged
    assert (await post(client, path, bot))[0] == 403  # the bot alone is nobody
    assert (await post(client, path, None))[0] == 401
    assert (await post(client, "/api/v1/cases/999999/acknowledge", gb))[0] == 404
    # The Telegram header is honoured from a bot token only.
    status, body = await post(client, path, gb, **{"X-Telegram-User": "42"})
    assert status == 403 and "bot token" in body["error"]["message"]
    assert (await _cases(settings))[0].status == "new"


async def test_the_bot_acts_with_the_linked_officers_rights(client, settings, peek, gb_case):
    bot = await account(settings, "bot", None, "telegram")
    alice = await account(settings, "officer", "GB", "Officer Alice")
    carol = await account(settings, "officer", "FR", "Officer Carol")
    await link_telegram(settings, 7001, alice.id)
    await link_telegram(settings, 7003, carol.id)
    path = f"/api/v1/cases/{gb_case}/acknowledge"

    status, body = await post(client, path, bot, **{"X-Telegram-User": "7002"})
    assert status == 403 and body["error"]["code"] == "telegram_not_linked"
    assert "/link CODE first" in body["error"]["message"]
    assert (await post(client, path, bot, **{"X-Telegram-User": "7003"}))[0] == 404
    assert (await post(client, path, bot, **{"X-Telegram-User": "x"}))[0] == 400

    status, body = await post(client, path, bot, **{"X-Telegram-User": "7001"})
    assert status == 200 and body["acknowledged_by"]["id"] == alice.id
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "case.acknowledged")
    assert event.actor == f"account:{alice.id}" and event.details["via"] == "telegram"


async def test_assign_to_self_or_by_a_unit_admin_to_an_officer_of_the_case(
    client, settings, peek, gb_case
):
    path = f"/api/v1/cases/{gb_case}/assign"
    alice = await account(settings, "officer", "GB", "Alice")
    bob = await account(settings, "officer", "GB", "Bob")
    admin = await account(settings, "unit_admin", "GB", "Admin")
    fr = await account(settings, "officer", "FR", "Fr")

    status, body = await post(client, path, alice)
    assert status == 200 and body["status"] == "triaged"
    assert body["assigned_to"]["id"] == alice.id and body["acknowledged_by"]["id"] == alice.id
    assert (await post(client, path, alice))[0] == 409  # already hers
    assert (await post(client, path, alice, {"account": bob.id}))[0] == 403  # officers: self
    status, body = await post(client, path, admin, {"account": fr.id})
    assert status == 422 and body["error"]["field"] == "account"
    status, body = await post(client, path, admin, {"account": bob.id, "note": "Bob knows it"})
    assert status == 200 and body["assigned_to"]["name"] == "Bob"
    events = await peek.rows(AuditEvent, AuditEvent.action == "case.assigned")
    assert [(e.details["account"], e.details["previous"]) for e in events] == [
        (alice.id, None),
        (bob.id, alice.id),
    ]


async def test_close_as_false_positive_then_reopen(client, settings, peek, gb_case):
    officer = await account(settings, "officer", "GB", "Alice")
    path = f"/api/v1/cases/{gb_case}/status"
    status, body = await post(client, path, officer, {"status": "closed"})
    assert status == 422  # an outcome is required
    status, body = await post(client, path, officer, {"status": "closed", "outcome": "maybe"})
    assert status == 422 and body["error"]["field"] == "outcome"
    status, body = await post(client, path, officer, {"status": "open"})
    assert status == 409  # not closed

    status, body = await post(
        client, path, officer, {"status": "closed", "outcome": "false_positive"}
    )
    assert status == 200, body
    assert (body["status"], body["outcome"]) == ("closed", "false_positive")
    assert body["closed_by"]["id"] == officer.id and body["closed_at"]
    assert (await post(client, path, officer, {"status": "closed", "outcome": "seized"}))[0] == 409
    ack = await post(client, f"/api/v1/cases/{gb_case}/acknowledge", officer)
    assert ack[0] == 409 and "closed" in ack[1]["error"]["message"]

    status, body = await post(client, path, officer, {"status": "open", "note": "it was ivory"})
    assert status == 200 and (body["status"], body["outcome"]) == ("new", None)
    actions = [e.action for e in await peek.rows(AuditEvent) if e.object_type == "case"]
    assert actions == ["case.closed", "case.reopened"]


async def test_the_case_offers_units_to_reroute_to(client, settings, gb_case):
    officer = await account(settings, "officer", "GB")
    response = await client.get(f"/api/v1/cases/{gb_case}", headers=officer.auth)
    body = await response.json()
    assert body["units"] == ["GB"]
    assert "COORD" in body["reroute_candidates"] and "GB" not in body["reroute_candidates"]


async def test_openapi_describes_the_new_endpoints(client):
    document = await (await client.get("/api/openapi.json")).json()
    for path in ("acknowledge", "assign", "status"):
        operation = document["paths"][f"/api/v1/cases/{{case_id}}/{path}"]["post"]
        assert "409" in operation["responses"] and "403" in operation["responses"]
    assert "telegramUser" in document["components"]["securitySchemes"]
    assert {"StatusIn", "AssignIn", "LinkIn", "LinkCodeIn"} <= set(
        document["components"]["schemas"]
    )
    links = document["paths"]["/api/v1/telegram/links"]
    assert set(links) == {"post", "delete"}
