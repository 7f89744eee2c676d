"""Unit administration, people: create accounts, disable and enable them, reset passwords,
issue Telegram link codes.

An account is made by `accounts.create_account`, as `wildflag accounts create` makes one,
with a generated password shown once. A unit admin gives the roles of their unit (officer,
observer, unit admin) and nothing else; an admin also makes coordinators and admins from the
overview. Disabling ends the account's sessions and nothing else: its tokens stay as they
are but stop working, because `auth.authenticate` refuses a disabled account (as
`auth.linked_account` refuses its Telegram link), so enabling it again restores them.
Nobody disables or resets themselves here (the Account page is for one's own password).
"""

from __future__ import annotations

from aiohttp import web

from extension_backend import keys
from extension_backend.accounts import AccountError, create_account, generated_password
from extension_backend.dashboard.admin import (
    GLOBAL_ACCOUNT_ROLES,
    UNIT_ACCOUNT_ROLES,
    audit,
    form_values,
    id_of,
    managed_account,
    managed_unit,
    overview,
    page_of,
    sentence,
    shown_once,
    unit_page,
)
from extension_backend.dashboard.web import ADMINS, PageError, page, redirect
from extension_backend.telegram_links import LinkError, issue_code
from extension_backend.web_auth import SignedIn, end_sessions, hash_password

routes = web.RouteTableDef()

#: The longest name the accounts table holds.
NAME_MAX = 200


async def _create(
    request: web.Request, me: SignedIn, unit_code: str | None, roles: tuple[str, ...]
) -> web.Response:
    """Make the account the form asks for, or show the form again with what is wrong."""
    form = await request.post()
    role = str(form.get("role", ""))
    if role not in roles:
        shown = role.replace("_", " ") or "role-less"
        raise PageError(403, f"You may not create a {shown} account here.")
    name = str(form.get("name", "")).strip()
    password = generated_password()
    async with request.app[keys.SESSIONS]() as session:
        unit = await managed_unit(session, me, unit_code) if unit_code else None
        try:
            if len(name) > NAME_MAX:
                raise AccountError(f"a name has at most {NAME_MAX} characters")
            account = await create_account(
                session,
                email=str(form.get("email", "")),
                role=role,
                unit_code=unit.code if unit else None,
                name=name,
                password=password,
            )
        except AccountError as exc:
            values = form_values(form, "email", "name", "role")
            message = sentence(str(exc))
            if unit is None:
                return await overview(request, me, session, status=422, error=message, form=values)
            return await unit_page(
                request, me, session, unit, status=422, error=message, section="people", form=values
            )
        session.add(
            audit(
                me,
                "account.created",
                "account",
                account.id,
                role=account.role,
                unit=account.unit_code,
                email=account.email,
            )
        )
        await session.commit()
    return shown_once(
        request,
        me,
        title=f"Account for {account.name} created",
        secret=password,
        back=page_of(account),
        explain=(
            f"The password of {account.email}. It is shown only now: pass it on by a safe "
            "route. They sign in at /login and should change it on their Account page."
        ),
    )


@routes.post("/app/admin/units/{code}/accounts")
@page(roles=ADMINS)
async def create_unit_account(request: web.Request, me: SignedIn) -> web.Response:
    return await _create(request, me, request.match_info["code"], UNIT_ACCOUNT_ROLES)


@routes.post("/app/admin/accounts")
@page(roles={"admin"})
async def create_global_account(request: web.Request, me: SignedIn) -> web.Response:
    return await _create(request, me, None, GLOBAL_ACCOUNT_ROLES)


@routes.post("/app/admin/accounts/{account_id}/disable")
@page(roles=ADMINS)
async def disable(request: web.Request, me: SignedIn) -> web.Response:
    async with request.app[keys.SESSIONS]() as session:
        account = await managed_account(session, me, id_of(request, "account_id"))
        if account.id == me.principal.account_id:
            raise PageError(409, "You cannot disable your own account.")
        if not account.disabled:
            account.disabled = True
            session.add(account)
            await end_sessions(session, account)
            session.add(
                audit(me, "account.disabled", "account", account.id, unit=account.unit_code)
            )
            await session.commit()
    raise redirect(page_of(account), notice="disabled")


@routes.post("/app/admin/accounts/{account_id}/enable")
@page(roles=ADMINS)
async def enable(request: web.Request, me: SignedIn) -> web.Response:
    async with request.app[keys.SESSIONS]() as session:
        account = await managed_account(session, me, id_of(request, "account_id"))
        if account.disabled:
            account.disabled = False
            session.add(account)
            session.add(audit(me, "account.enabled", "account", account.id, unit=account.unit_code))
            await session.commit()
    raise redirect(page_of(account), notice="enabled")


@routes.post("/app/admin/accounts/{account_id}/password")
@page(roles=ADMINS)
async def reset_password(request: web.Request, me: SignedIn) -> web.Response:
    """A new generated password (shown once); the account's sessions end, and with
    `reset_totp` its authenticator app is removed too (a lost phone)."""
    form = await request.post()
    reset_totp = form.get("reset_totp") == "on"
    password = generated_password()
    async with request.app[keys.SESSIONS]() as session:
        account = await managed_account(session, me, id_of(request, "account_id"))
        if account.id == me.principal.account_id:
            raise PageError(409, "Change your own password on your Account page.")
        if not account.email:
            raise PageError(409, "This account has no e-mail: it works only through its tokens.")
        account.password_hash = hash_password(password)
        if reset_totp:
            account.totp_secret = None
        session.add(account)
        await end_sessions(session, account)
        session.add(
            audit(
                me,
                "account.password_reset",
                "account",
                account.id,
                unit=account.unit_code,
                totp_reset=reset_totp,
            )
        )
        await session.commit()
    totp = " Their authenticator app was removed; they may set it up again." * reset_totp
    return shown_once(
        request,
        me,
        title=f"New password for {account.name}",
        secret=password,
        back=page_of(account),
        explain=(
            f"The new password of {account.email}, shown only now. Their sessions were "
            f"signed out.{totp}"
        ),
    )


@routes.post("/app/admin/accounts/{account_id}/link-code")
@page(roles=ADMINS)
async def link_code(request: web.Request, me: SignedIn) -> web.Response:
    """A one-time Telegram link code, as `POST /api/v1/telegram/link-codes` issues it."""
    async with request.app[keys.SESSIONS]() as session:
        account = await managed_account(session, me, id_of(request, "account_id"))
        try:
            code, expires_at = await issue_code(session, account, me.principal.account_id)
        except LinkError:
            raise PageError(409, "A disabled account cannot be linked to Telegram.") from None
        session.add(
            audit(
                me,
                "telegram.link_code_issued",
                "account",
                account.id,
                unit=account.unit_code,
                expires_at=expires_at.isoformat(),
            )
        )
        await session.commit()
    return shown_once(
        request,
        me,
        title=f"Telegram link code for {account.name}",
        secret=code,
        back=page_of(account),
        explain=(
            f"Single use, valid until {expires_at:%H:%M} UTC. {account.name} sends "
            f"/link {code} to the wildflag bot in a private chat."
        ),
    )
