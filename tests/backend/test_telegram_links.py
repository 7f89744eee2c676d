"""Telegram links: codes issued by unit admins, redeemed once by the bot, before they expire;
and the bot's reports: anonymous, free of the per-address limit, an officer's when linked.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from db.engine import create_engine, session_factory
from db.models import AuditEvent, Report, TelegramLink, TelegramLinkCode
from db.types import utcnow
from tests.backend.test_case_actions import IVORY, Account, account, post
from tests.helpers import run_wildflag


async def issue(client: Any, admin: Account, target: Account) -> tuple[int, dict[str, Any]]:
    return await post(client, "/api/v1/telegram/link-codes", admin, {"account": target.id})


async def test_a_code_links_once_and_only_through_the_bot(client, settings, peek):
    admin = await account(settings, "unit_admin", "GB", "GB admin")
    alice = await account(settings, "officer", "GB", "Alice")
    bot = await account(settings, "bot", None, "telegram")
    status, body = await issue(client, admin, alice)
    assert status == 201, body
    code = body["code"]
    assert len(code) == 11 and code[5] == "-" and body["account"]["id"] == alice.id
    assert code.replace("-", "") not in str(
        [r.code_hash for r in await peek.rows(TelegramLinkCode)]
    )

    links = "/api/v1/telegram/links"
    assert (await post(client, links, alice, {"code": code}, **{"X-Telegram-User": "9"}))[0] == 403
    assert (await post(client, links, bot, {"code": code}))[0] == 400  # whom for?
    status, body = await post(
        client, links, bot, {"code": code.lower().replace("-", " ")}, **{"X-Telegram-User": "9"}
    )
    assert status == 201, body
    assert body["account"] == {"id": alice.id, "name": "Alice", "role": "officer", "unit": "GB"}
    status, body = await post(client, links, bot, {"code": code}, **{"X-Telegram-User": "10"})
    assert status == 422 and body["error"]["code"] == "invalid_link_code"
    [link] = await peek.rows(TelegramLink)
    assert (link.telegram_user_id, link.account_id) == (9, alice.id)
    actions = {e.action for e in await peek.rows(AuditEvent)}
    assert {"telegram.link_code_issued", "telegram.linked"} <= actions

    deleted = await client.delete(links, headers={**bot.auth, "X-Telegram-User": "9"})
    assert (await deleted.json()) == {"unlinked": True}
    again = await client.delete(links, headers={**bot.auth, "X-Telegram-User": "9"})
    assert (await again.json()) == {"unlinked": False}
    assert await peek.rows(TelegramLink) == []


async def test_an_expired_code_is_refused(client, settings):
    admin = await account(settings, "admin", None, "admin")
    alice = await account(settings, "officer", "GB", "Alice")
    bot = await account(settings, "bot", None, "telegram")
    code = (await issue(client, admin, alice))[1]["code"]
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            await session.exec(
                update(TelegramLinkCode).values(expires_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
    finally:
        await engine.dispose()
    status, body = await post(
        client, "/api/v1/telegram/links", bot, {"code": code}, **{"X-Telegram-User": "9"}
    )
    assert status == 422 and "expired" in body["error"]["message"]


async def test_who_may_issue_codes_for_whom(client, settings):
    gb_admin = await account(settings, "unit_admin", "GB")
    gb_officer = await account(settings, "officer", "GB")
    fr_officer = await account(settings, "officer", "FR")
    bot = await account(settings, "bot", None)
    assert (await issue(client, gb_admin, fr_officer))[0] == 404  # not their unit's
    assert (await issue(client, gb_officer, gb_officer))[0] == 403
    admin = await account(settings, "admin", None)
    assert (await issue(client, admin, bot))[0] == 422  # the bot is not a person
    assert (await issue(client, admin, fr_officer))[0] == 201


async def test_bot_reports_are_anonymous_and_not_limited_per_address(make_client, settings, peek):
    client = await make_client(settings.model_copy(update={"anonymous_reports_per_minute": 1}))
    bot = await account(settings, "bot", None, "telegram")
    for _ in range(3):
        status, body = await post(client, "/api/v1/reports", bot, IVORY)
        assert status == 201, body
        assert "receipt_token" in body and "case_id" not in body and "duplicate" not in body
    assert {r.account_id for r in await peek.rows(Report)} == {None}
    # Others from the same address still meet the limit.
    assert (await post(client, "/api/v1/reports", None, IVORY))[0] == 201
    assert (await post(client, "/api/v1/reports", None, IVORY))[0] == 429

    officer = await account(settings, "officer", "GB", "Alice")
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            session.add(TelegramLink(telegram_user_id=77, account_id=officer.id))
            await session.commit()
    finally:
        await engine.dispose()
    status, body = await post(client, "/api/v1/reports", bot, IVORY, **{"X-Telegram-User": "77"})
    assert status == 201 and body["duplicate"] is True and body["case_reports"] == 5
    assert "receipt_token" not in body


def test_cli_issues_a_link_code_and_lists_accounts(tmp_path) -> None:
    data = tmp_path / "cli"
    created = run_wildflag("tokens", "create", "--role", "bot", "--name", "telegram", data_dir=data)
    assert created.returncode == 0, created.stderr
    officer = run_wildflag(
        "tokens", "create", "--role", "officer", "--unit", "GB", "--name", "Alice", data_dir=data
    )
    assert officer.returncode == 0, officer.stderr
    listed = run_wildflag("accounts", "list", "--json", data_dir=data)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["role"], r["name"]) for r in rows] == [("bot", "telegram"), ("officer", "Alice")]
    code = run_wildflag("accounts", "link-code", str(rows[1]["id"]), data_dir=data)
    assert code.returncode == 0, code.stderr
    assert len(code.stdout.strip()) == 11 and "expires" in code.stderr
    refused = run_wildflag("accounts", "link-code", str(rows[0]["id"]), data_dir=data)
    assert refused.returncode == 2 and "cannot be linked" in refused.stderr


async def test_the_bot_voids_a_code_seen_in_a_group(client, settings):
    admin = await account(settings, "unit_admin", "GB")
    alice = await account(settings, "officer", "GB", "Alice")
    bot = await account(settings, "bot", None)
    code = (await issue(client, admin, alice))[1]["code"]
    void = "/api/v1/telegram/link-codes/void"
    assert (await post(client, void, alice, {"code": code}))[0] == 403
    assert (await post(client, void, bot, {"code": code}))[1] == {"voided": True}
    assert (await post(client, void, bot, {"code": code}))[1] == {"voided": False}
    status, _ = await post(
        client, "/api/v1/telegram/links", bot, {"code": code}, **{"X-Telegram-User": "9"}
    )
    assert status == 422
