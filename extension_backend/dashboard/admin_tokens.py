"""Unit administration, API tokens: issue a bearer token for an account, revoke one.

A token acts with its account's rights (`auth.authenticate`), so a unit admin issues tokens
only for their unit's accounts and an admin for anyone's. The token is shown once; only its
SHA-256 and first characters (to tell tokens apart in lists) are stored, as
`wildflag tokens create` stores them. Revoking is final; disabling the account instead
stops all its tokens until it is enabled again.
"""

from __future__ import annotations

from aiohttp import web

from db.models import Account, ApiToken
from db.types import utcnow
from extension_backend import keys
from extension_backend.auth import add_token
from extension_backend.dashboard.admin import (
    audit,
    id_of,
    managed_account,
    manages,
    page_of,
    shown_once,
)
from extension_backend.dashboard.web import ADMINS, PageError, page, redirect
from extension_backend.web_auth import SignedIn

routes = web.RouteTableDef()


@routes.post("/app/admin/accounts/{account_id}/tokens")
@page(roles=ADMINS)
async def create(request: web.Request, me: SignedIn) -> web.Response:
    async with request.app[keys.SESSIONS]() as session:
        account = await managed_account(session, me, id_of(request, "account_id"))
        if account.disabled:
            raise PageError(409, "The account is disabled: a token of it would not work.")
        token, secret = await add_token(session, account)
        session.add(
            audit(
                me,
                "token.created",
                "api_token",
                token.id,
                account=account.id,
                unit=account.unit_code,
                prefix=token.prefix,
            )
        )
        await session.commit()
    return shown_once(
        request,
        me,
        title=f"API token for {account.name}",
        secret=secret,
        back=page_of(account),
        explain=(
            "Shown only now; wildflag keeps only its hash. It acts with this account's "
            "rights: send it as 'Authorization: Bearer <token>'."
        ),
    )


@routes.post("/app/admin/tokens/{token_id}/revoke")
@page(roles=ADMINS)
async def revoke(request: web.Request, me: SignedIn) -> web.Response:
    async with request.app[keys.SESSIONS]() as session:
        token = await session.get(ApiToken, id_of(request, "token_id"))
        account = await session.get(Account, token.account_id) if token else None
        if token is None or account is None or not manages(me, account):
            raise PageError(404, "No such token.")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            session.add(token)
            session.add(
                audit(
                    me,
                    "token.revoked",
                    "api_token",
                    token.id,
                    account=account.id,
                    unit=account.unit_code,
                    prefix=token.prefix,
                )
            )
            await session.commit()
    raise redirect(page_of(account), notice="revoked")
