"""Unit administration: the pages where a unit admin manages their unit, an admin every unit.

A unit admin works on their own unit only: its people (officers, observers, unit admins),
its delivery channels and its API tokens, and sees its routing settings read-only (routing
is the operator's: `wildflag units edit`, or an admin here). Another unit, or an account or
token of another unit, is the same 404 as one that does not exist, so ids reveal nothing.

Validation is the CLI's (`accounts.create_account`, `cli`'s unit and channel checks), so
the dashboard cannot make what `wildflag` would refuse. Passwords, tokens and Telegram link
codes are generated here, shown once on the page that answers the form, and stored only as
hashes; every change is audited with its actor. This module holds the scope rules, the
overview and unit pages and the unit settings; `admin_people`, `admin_channels` and
`admin_tokens` hold the forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Account, ApiToken, AuditEvent, Delivery, TelegramLink, Unit
from db.types import utcnow
from extension_backend import keys
from extension_backend.accounts import UNIT_ROLES
from extension_backend.auth import GLOBAL_ROLES
from extension_backend.dashboard.web import ADMINS, PageError, page, redirect, render
from extension_backend.delivery.channels import CONFIGURABLE_TYPES
from extension_backend.unit_directory import (
    UnitChangeError,
    appendices_arg,
    apply_unit_changes,
    countries_arg,
    taxa_arg,
)
from extension_backend.web_auth import SignedIn

routes = web.RouteTableDef()

#: How far back a channel's failures count on the unit page.
HEALTH_WINDOW = timedelta(days=7)
#: Roles an admin gives from the overview (people who work across units).
GLOBAL_ACCOUNT_ROLES = ("coordinator", "admin")
#: Roles anyone managing a unit gives from its page, in the order the form offers them.
UNIT_ACCOUNT_ROLES = ("officer", "observer", "unit_admin")
NOTICES = {
    "disabled": "The account is disabled and its sessions ended; its tokens no longer work.",
    "enabled": "The account is enabled again; it may sign in, and its tokens work again.",
    "revoked": "The token is revoked.",
    "channel_added": "The channel is added; new cases are delivered through it too.",
    "channel_removed": "The channel is removed; nothing more is delivered through it.",
    "unit_edited": "The unit's settings are saved; new cases are routed by them.",
    "unchanged": "Nothing changed.",
}


def audit(
    me: SignedIn, action: str, object_type: str, object_id: Any, **details: Any
) -> AuditEvent:
    """The audit row of one administrative change, with who made it."""
    return AuditEvent(
        actor=me.principal.actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details,
    )


def sentence(message: str) -> str:
    """A checker's message ("unknown country codes: UK") as a sentence on the page."""
    message = message.strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def id_of(request: web.Request, name: str) -> int:
    """A numeric path part; anything else is the same 404 as an unknown id."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise PageError(404, "No such page.") from None


def manages(me: SignedIn, account: Account) -> bool:
    """Whether `me` may administer `account`: an admin any person's account, a unit admin
    the officers, observers and unit admins of their own unit."""
    if account.role not in UNIT_ROLES and account.role not in GLOBAL_ROLES:
        return False  # the bot's account is a client's, managed with the CLI
    if me.principal.role == "admin":
        return True
    return account.role in UNIT_ROLES and account.unit_code == me.principal.unit_code


async def managed_account(session: AsyncSession, me: SignedIn, account_id: int) -> Account:
    """The account, if `me` manages it; else 404, the same as an unknown id."""
    account = await session.get(Account, account_id)
    if account is None or not manages(me, account):
        raise PageError(404, "No such account.")
    return account


async def managed_unit(session: AsyncSession, me: SignedIn, code: str) -> Unit:
    """The unit, if `me` manages it; another unit is the same 404 as an unknown one."""
    code = code.strip().upper()
    if me.principal.role != "admin" and code != me.principal.unit_code:
        raise PageError(404, "No such unit.")
    unit = await session.get(Unit, code)
    if unit is None:
        raise PageError(404, "No such unit.")
    return unit


def page_of(account: Account) -> str:
    """Where an account is administered: its unit's page, or the overview."""
    if account.role in UNIT_ROLES and account.unit_code:
        return f"/app/admin/units/{account.unit_code}"
    return "/app/admin"


@dataclass(frozen=True, slots=True)
class Person:
    """An account as the people table shows it."""

    account: Account
    telegram: bool
    tokens: int

    @property
    def signs_in(self) -> bool:
        """Token-only accounts (`wildflag tokens create`) have no e-mail and no password."""
        return bool(self.account.email)


@dataclass(frozen=True, slots=True)
class Health:
    """A channel's recent deliveries: the last that arrived, what failed in the window."""

    last_success: datetime | None = None
    failing: int = 0
    dead: int = 0
    last_error: str = ""


async def people(session: AsyncSession, *where: Any) -> list[Person]:
    accounts = list(
        (
            await session.exec(
                select(Account).where(*where).order_by(col(Account.role), col(Account.name))
            )
        ).all()
    )
    ids = [a.id for a in accounts]
    linked = set(
        (
            await session.exec(
                select(TelegramLink.account_id).where(col(TelegramLink.account_id).in_(ids))
            )
        ).all()
    )
    live = dict(
        (
            await session.exec(
                select(ApiToken.account_id, func.count())
                .where(col(ApiToken.account_id).in_(ids), col(ApiToken.revoked_at).is_(None))
                .group_by(col(ApiToken.account_id))
            )
        ).all()
    )
    return [Person(a, a.id in linked, int(live.get(a.id, 0))) for a in accounts]


async def tokens(session: AsyncSession, *where: Any) -> list[tuple[ApiToken, Account]]:
    rows = await session.exec(
        select(ApiToken, Account)
        .join(Account, col(Account.id) == ApiToken.account_id)
        .where(*where)
        .order_by(col(ApiToken.revoked_at).is_not(None), col(ApiToken.created_at).desc())
    )
    return list(rows.all())


async def channel_health(session: AsyncSession, unit: Unit) -> list[Health]:
    """Per channel of `unit`, in order: its rows in the outbox (matched by type and target,
    as the worker matches them), the last success ever and the failures of the window."""
    since = utcnow() - HEALTH_WINDOW
    found = []
    for channel in unit.channels:
        mine = (
            Delivery.unit_code == unit.code,
            Delivery.channel == str(channel.get("type", "")),
            Delivery.target == str(channel.get("target", "")),
        )
        last = (await session.exec(select(func.max(Delivery.delivered_at)).where(*mine))).one()
        counts = dict(
            (
                await session.exec(
                    select(Delivery.state, func.count())
                    .where(*mine, col(Delivery.state).in_(("failing", "dead")))
                    .where(col(Delivery.updated_at) >= since)
                    .group_by(col(Delivery.state))
                )
            ).all()
        )
        error = (
            await session.exec(
                select(Delivery.last_error)
                .where(*mine, Delivery.last_error != "", col(Delivery.updated_at) >= since)
                .order_by(col(Delivery.updated_at).desc())
                .limit(1)
            )
        ).first()
        if isinstance(last, datetime) and last.tzinfo is None:
            last = last.replace(tzinfo=utcnow().tzinfo)  # SQLite's aggregate is naive
        found.append(
            Health(last, int(counts.get("failing", 0)), int(counts.get("dead", 0)), error or "")
        )
    return found


async def unit_page(
    request: web.Request,
    me: SignedIn,
    session: AsyncSession,
    unit: Unit,
    *,
    status: int = 200,
    error: str | None = None,
    section: str = "",
    form: dict[str, str] | None = None,
) -> web.Response:
    """The unit's page; a refused form comes back here with its message and values."""
    health = await channel_health(session, unit)
    channels = [
        {
            "index": index,
            "type": entry.get("type", ""),
            "target": entry.get("target", ""),
            "secret": bool(entry.get("secret")),
            "health": health[index],
        }
        for index, entry in enumerate(unit.channels)
    ]
    scope = (col(Account.unit_code) == unit.code, col(Account.role).in_(UNIT_ROLES))
    return render(
        request,
        "dashboard/admin_unit.html",
        me,
        status=status,
        unit=unit,
        people=await people(session, *scope),
        channels=channels,
        tokens=await tokens(session, *scope),
        roles=UNIT_ACCOUNT_ROLES,
        channel_types=CONFIGURABLE_TYPES,
        edits=me.principal.role == "admin",
        notice=NOTICES.get(request.query.get("notice", "")),
        error=error,
        section=section,
        form=form or {},
        health_days=HEALTH_WINDOW.days,
    )


async def overview(
    request: web.Request,
    me: SignedIn,
    session: AsyncSession,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> web.Response:
    """An admin's start: every unit, and the people who work across units."""
    counts = dict(
        (
            await session.exec(
                select(Account.unit_code, func.count())
                .where(col(Account.role).in_(UNIT_ROLES), col(Account.disabled).is_(False))
                .group_by(col(Account.unit_code))
            )
        ).all()
    )
    units = list((await session.exec(select(Unit).order_by(col(Unit.code)))).all())
    # Units with people first: those are the ones an admin looks after.
    units.sort(key=lambda u: (not counts.get(u.code), u.code))
    scope = (col(Account.role).in_(GLOBAL_ROLES),)
    return render(
        request,
        "dashboard/admin_index.html",
        me,
        status=status,
        units=units,
        counts=counts,
        people=await people(session, *scope),
        tokens=await tokens(session, *scope),
        roles=GLOBAL_ACCOUNT_ROLES,
        notice=NOTICES.get(request.query.get("notice", "")),
        error=error,
        form=form or {},
    )


def form_values(form: Any, *names: str) -> dict[str, str]:
    """The posted values a refused form shows again (never passwords or secrets)."""
    return {name: str(form.get(name, "")) for name in names}


@routes.get("/app/admin")
@page(roles=ADMINS)
async def admin_home(request: web.Request, me: SignedIn) -> web.Response:
    if me.principal.role != "admin":
        raise redirect(f"/app/admin/units/{me.principal.unit_code}")
    async with request.app[keys.SESSIONS]() as session:
        return await overview(request, me, session)


@routes.get("/app/admin/units/{code}")
@page(roles=ADMINS)
async def unit_home(request: web.Request, me: SignedIn) -> web.Response:
    async with request.app[keys.SESSIONS]() as session:
        unit = await managed_unit(session, me, request.match_info["code"])
        return await unit_page(request, me, session, unit)


def _settings_changes(form: Any) -> dict[str, Any]:
    """The unit's new settings, checked as `wildflag units edit` checks them."""
    name = str(form.get("name", "")).strip()
    if not name:
        raise UnitChangeError("the name must not be empty")
    return {
        "name": name,
        "countries": countries_arg(str(form.get("countries", ""))),
        "appendices": appendices_arg(str(form.get("appendices", ""))),
        "taxa": taxa_arg(str(form.get("taxa", ""))),
        "reporter_cases": form.get("reporter_cases") == "on",
    }


@routes.post("/app/admin/units/{code}/settings")
@page(roles={"admin"})
async def edit_unit(request: web.Request, me: SignedIn) -> web.Response:
    """Routing settings: an admin's, with `wildflag units edit`'s rules; unit admins read."""
    form = await request.post()
    async with request.app[keys.SESSIONS]() as session:
        unit = await managed_unit(session, me, request.match_info["code"])
        try:
            done = apply_unit_changes(unit, _settings_changes(form))
        except UnitChangeError as exc:
            values = form_values(form, "name", "countries", "appendices", "taxa")
            values["reporter_cases"] = "on" if form.get("reporter_cases") == "on" else ""
            return await unit_page(
                request,
                me,
                session,
                unit,
                status=422,
                error=sentence(str(exc)),
                section="settings",
                form=values,
            )
        if done:
            session.add(unit)
            session.add(audit(me, "unit.updated", "unit", unit.code, changes=done))
            await session.commit()
    raise redirect(f"/app/admin/units/{unit.code}", notice="unit_edited" if done else "unchanged")


def shown_once(
    request: web.Request,
    me: SignedIn,
    *,
    title: str,
    secret: str,
    back: str,
    explain: str,
    status: int = 200,
) -> web.Response:
    """The answer to a form that made a secret: the one time it is shown (never stored in
    clear, never in a URL; the page is not cached)."""
    return render(
        request,
        "dashboard/admin_secret.html",
        me,
        status=status,
        title=title,
        secret=secret,
        back=back,
        explain=explain,
    )
