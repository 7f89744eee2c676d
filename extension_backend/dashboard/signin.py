"""Sign in, sign out, and a person's own account: password and authenticator app.

Accounts are made by `wildflag accounts create` (or a unit admin); nobody signs up. A wrong
e-mail, password or code all get the same answer, and failures are limited per address and
per e-mail (`web_auth.LOGIN_FAILURES` in `LOGIN_WINDOW`). Every sign-in, failure, sign-out
and change here is audited.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlmodel import select

from db.models import Account, AuditEvent, WebSession
from db.types import utcnow
from extension_backend import keys
from extension_backend.api import client_key
from extension_backend.dashboard.web import PageError, page, redirect, render, require_csrf
from extension_backend.web_auth import (
    PEOPLE,
    PasswordError,
    SignedIn,
    check_password,
    check_totp,
    end_session_cookie,
    end_sessions,
    hash_password,
    needs_rehash,
    new_totp_secret,
    normalise_email,
    session_of,
    start_session,
    totp_uri,
)

routes = web.RouteTableDef()

FAILED = "Wrong e-mail, password or code."
NOTICES = {
    "password": "Your password was changed; your other sessions were signed out.",
    "totp_on": "Your authenticator app is now needed to sign in.",
    "totp_off": "Sign-in no longer asks for an authenticator code.",
}


def _safe_next(value: Any) -> str:
    """Where to go after signing in: a path of the dashboard, never another site."""
    target = str(value or "")
    if target.startswith("/app") and not target.startswith("//"):
        return target
    return "/app"


def _audit(actor: str, action: str, account_id: int | None, **details: Any) -> AuditEvent:
    return AuditEvent(
        actor=actor,
        action=action,
        object_type="account",
        object_id=str(account_id or ""),
        details=details,
    )


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    if await session_of(request) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return render(
        request, "dashboard/login.html", next=_safe_next(request.query.get("next")), error=None
    )


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email = normalise_email(str(form.get("email", "")))
    password = str(form.get("password", ""))
    code = str(form.get("code", ""))
    target = _safe_next(form.get("next"))
    limiter = request.app[keys.LOGIN_LIMITER]
    address = f"ip:{client_key(request)}"
    wait = max(await limiter.wait(address), await limiter.wait(f"email:{email}"))
    if wait:
        return render(
            request,
            "dashboard/login.html",
            status=429,
            headers={"Retry-After": str(wait)},
            next=target,
            error=f"Too many failed sign-ins. Try again in {max(1, wait // 60)} min.",
        )
    async with request.app[keys.SESSIONS]() as session:
        account = (await session.exec(select(Account).where(Account.email == email))).first()
        usable = account is not None and not account.disabled and account.role in PEOPLE
        ok = check_password(account if usable else None, password)
        if ok and account is not None and account.totp_secret:
            ok = check_totp(account.totp_secret, code)
        if not ok or account is None:
            await limiter.hit(address)
            await limiter.hit(f"email:{email}")
            session.add(
                _audit(
                    "anonymous",
                    "signin.failed",
                    account.id if account else None,
                    email=email[:320],
                    address=client_key(request),
                )
            )
            await session.commit()
            return render(request, "dashboard/login.html", status=401, next=target, error=FAILED)
        if needs_rehash(account):
            account.password_hash = hash_password(password)
        account.last_login_at = utcnow()
        session.add(account)
        response = web.HTTPSeeOther(target)
        await start_session(request, session, account, response)
        session.add(_audit(f"account:{account.id}", "signin", account.id))
        await session.commit()
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    me = await session_of(request)
    response = web.HTTPSeeOther("/login")
    if me is not None:
        await require_csrf(request, me)
        async with request.app[keys.SESSIONS]() as session:
            row = await session.get(WebSession, me.session_id)
            if row is not None:
                row.revoked_at = utcnow()
                session.add(row)
            session.add(_audit(me.principal.actor, "signout", me.principal.account_id))
            await session.commit()
    end_session_cookie(request, response)
    raise response


async def _account(request: web.Request, me: SignedIn) -> Account:
    async with request.app[keys.SESSIONS]() as session:
        account = await session.get(Account, me.principal.account_id)
    assert account is not None
    return account


@routes.get("/app/account")
@page()
async def account_page(request: web.Request, me: SignedIn) -> web.Response:
    account = await _account(request, me)
    return render(
        request,
        "dashboard/account.html",
        me,
        account=account,
        notice=NOTICES.get(request.query.get("notice", "")),
        enrol=None,
        error=None,
    )


@routes.post("/app/account/password")
@page()
async def change_password(request: web.Request, me: SignedIn) -> web.Response:
    form = await request.post()
    current, new = str(form.get("current", "")), str(form.get("new", ""))
    async with request.app[keys.SESSIONS]() as session:
        account = await session.get(Account, me.principal.account_id)
        assert account is not None
        error = None
        if not check_password(account, current):
            error = "The current password is wrong."
        elif new != str(form.get("repeat", "")):
            error = "The new passwords differ."
        else:
            try:
                account.password_hash = hash_password(new)
            except PasswordError as exc:
                error = str(exc).capitalize() + "."
        if error:
            return render(
                request,
                "dashboard/account.html",
                me,
                status=422,
                account=account,
                notice=None,
                enrol=None,
                error=error,
            )
        session.add(account)
        # Every other session of the account ends: a stolen cookie dies with the password.
        await end_sessions(session, account, keep=me.session_id)
        session.add(_audit(me.principal.actor, "account.password_changed", account.id))
        await session.commit()
    raise redirect("/app/account", notice="password")


@routes.post("/app/account/totp")
@page()
async def totp(request: web.Request, me: SignedIn) -> web.Response:
    """Enrol in two steps: `start` shows a new secret; `confirm` stores it once a code from
    the app proves the app holds it. `disable` needs the password."""
    form = await request.post()
    step = str(form.get("step", ""))
    async with request.app[keys.SESSIONS]() as session:
        account = await session.get(Account, me.principal.account_id)
        assert account is not None

        def again(error: str | None, secret: str | None, status: int = 422) -> web.Response:
            enrol = {"secret": secret, "uri": totp_uri(secret, me.email)} if secret else None
            return render(
                request,
                "dashboard/account.html",
                me,
                status=status,
                account=account,
                notice=None,
                enrol=enrol,
                error=error,
            )

        if step == "start":
            return again(None, new_totp_secret(), status=200)
        if step == "confirm":
            secret = str(form.get("secret", ""))
            if len(secret) < 16 or not check_totp(secret, str(form.get("code", ""))):
                return again("That code does not match; try the current one.", secret or None)
            account.totp_secret = secret
            action, notice = "account.totp_enabled", "totp_on"
        elif step == "disable":
            if not check_password(account, str(form.get("password", ""))):
                return again("The password is wrong.", None)
            account.totp_secret = None
            action, notice = "account.totp_disabled", "totp_off"
        else:
            raise PageError(400, "Unknown step.")
        session.add(account)
        session.add(_audit(me.principal.actor, action, account.id))
        await session.commit()
    raise redirect("/app/account", notice=notice)
