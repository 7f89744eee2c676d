"""Telegram account links over HTTP: unit admins issue codes; the bot redeems and removes them.

`POST /api/v1/telegram/link-codes` is for people: an admin for any account, a unit admin
for the accounts of their unit. `POST` and `DELETE /api/v1/telegram/links` are for the bot
alone (its `bot` token, and `X-Telegram-User` naming who sent /link or /unlink): no one
else can tie a Telegram user to an account. `POST /api/v1/telegram/link-codes/void` lets
the bot spend a code someone posted in a group, where everyone could use it. Every link
made or removed is audited.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from db.models import Account, AuditEvent
from extension_backend import keys
from extension_backend.api import principal_of
from extension_backend.auth import (
    BOT_ROLE,
    TELEGRAM_USER_HEADER,
    authenticate,
    bearer_of,
    telegram_user_of,
)
from extension_backend.errors import ApiError, invalid
from extension_backend.requests import read_json_body, validate
from extension_backend.schemas import RowId, StrictInput
from extension_backend.telegram_links import (
    LinkError,
    issue_code,
    linkable,
    redeem_code,
    unlink,
    void_code,
)

routes = web.RouteTableDef()

#: Roles that may issue link codes (a unit admin only for their own unit's accounts).
CODE_ISSUERS = frozenset({"unit_admin", "admin"})


class LinkCodeIn(StrictInput):
    account: RowId = Field(description="The account the officer will act as from Telegram.")


class LinkIn(StrictInput):
    code: str = Field(min_length=4, max_length=40, description="The code from the unit admin.")


def account_view(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "role": account.role,
        "unit": account.unit_code,
    }


@routes.post("/api/v1/telegram/link-codes")
async def post_link_code(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    if principal is None:
        raise ApiError(401, "unauthorized", "link codes need a bearer token")
    if principal.role not in CODE_ISSUERS:
        raise ApiError(403, "forbidden", f"a {principal.role} may not issue link codes")
    data = validate(LinkCodeIn, await read_json_body(request, request.app[keys.SETTINGS]))
    assert isinstance(data, LinkCodeIn)
    async with request.app[keys.SESSIONS]() as session:
        account = await session.get(Account, data.account)
        in_scope = account is not None and (
            principal.role == "admin" or account.unit_code == principal.unit_code
        )
        if account is None or not in_scope:
            raise ApiError(404, "not_found", f"no account {data.account} for this token")
        if not linkable(account):
            raise invalid("account", f"account {data.account} cannot be linked to Telegram")
        code, expires_at = await issue_code(session, account, principal.account_id)
        session.add(
            AuditEvent(
                actor=principal.actor,
                action="telegram.link_code_issued",
                object_type="account",
                object_id=str(account.id),
                details={"expires_at": expires_at.isoformat()},
            )
        )
        await session.commit()
    body = {"code": code, "expires_at": expires_at.isoformat(), "account": account_view(account)}
    return web.json_response(body, status=201, headers={"Cache-Control": "no-store"})


async def _bot(request: web.Request) -> None:
    """Only the bot's own token passes."""
    async with request.app[keys.SESSIONS]() as session:
        principal = await authenticate(session, bearer_of(request))
    if principal is None:
        raise ApiError(401, "unauthorized", "links are managed by the bot, with its token")
    if principal.role != BOT_ROLE:
        raise ApiError(403, "forbidden", "only the bot links Telegram accounts")


async def _bot_and_user(request: web.Request) -> int:
    """The Telegram user a `bot` token names; anyone else is refused."""
    await _bot(request)
    telegram_user = telegram_user_of(request)
    if telegram_user is None:
        raise ApiError(400, "bad_request", f"send {TELEGRAM_USER_HEADER}")
    return telegram_user


@routes.post("/api/v1/telegram/link-codes/void")
async def post_void_code(request: web.Request) -> web.Response:
    await _bot(request)
    data = validate(LinkIn, await read_json_body(request, request.app[keys.SETTINGS]))
    assert isinstance(data, LinkIn)
    async with request.app[keys.SESSIONS]() as session:
        voided = await void_code(session, data.code)
        if voided:
            session.add(
                AuditEvent(
                    actor="system",
                    action="telegram.link_code_voided",
                    object_type="telegram_link_code",
                    object_id="-",
                    details={"reason": "posted in a group chat"},
                )
            )
        await session.commit()
    return web.json_response({"voided": voided})


@routes.post("/api/v1/telegram/links")
async def post_link(request: web.Request) -> web.Response:
    telegram_user = await _bot_and_user(request)
    data = validate(LinkIn, await read_json_body(request, request.app[keys.SETTINGS]))
    assert isinstance(data, LinkIn)
    async with request.app[keys.SESSIONS]() as session:
        try:
            account = await redeem_code(session, data.code, telegram_user)
        except LinkError as exc:
            await session.commit()  # a code spent on a disabled account stays spent
            raise ApiError(422, "invalid_link_code", str(exc), field="code") from None
        session.add(
            AuditEvent(
                actor=f"account:{account.id}",
                action="telegram.linked",
                object_type="account",
                object_id=str(account.id),
                details={"telegram_user_id": telegram_user},
            )
        )
        await session.commit()
    return web.json_response({"account": account_view(account)}, status=201)


@routes.delete("/api/v1/telegram/links")
async def delete_link(request: web.Request) -> web.Response:
    telegram_user = await _bot_and_user(request)
    async with request.app[keys.SESSIONS]() as session:
        account_id = await unlink(session, telegram_user)
        if account_id is not None:
            session.add(
                AuditEvent(
                    actor=f"account:{account_id}",
                    action="telegram.unlinked",
                    object_type="account",
                    object_id=str(account_id),
                    details={"telegram_user_id": telegram_user},
                )
            )
        await session.commit()
    return web.json_response({"unlinked": account_id is not None})
