"""The platform directory and referrals of cases to platforms.

`/app/platforms` lists the platforms where wildlife is offered, with their wildlife policy
and where to report a listing or ask for a takedown, and how each answered referrals
(made, removed, median days to removal). Every signed-in role reads it; admins and
coordinators add and edit entries (seeded on first start from `db/data/platforms.csv`).

On a case, an editor records that the listing was referred to a platform (when, how,
their ticket) and later whether it came down. Recording a referral moves an open case to
`referred_platform` in the same transaction. Scope is the API's: a case of another unit is
the same 404 as an unknown one, for its referrals too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.cases import CaseChangeError, set_case_status
from db.models import Account, AuditEvent, Case, Platform, PlatformReferral
from db.platforms import directory, directory_stats, suggested_platform
from db.types import utcnow
from extension_backend import keys
from extension_backend.accounts import display_names
from extension_backend.auth import Principal
from extension_backend.cases_api import audit, case_id_of, visible_case
from extension_backend.dashboard.web import EDITORS, PageError, page, render
from extension_backend.web_auth import SignedIn
from matching.referrals import REFERRAL_STATES, PlatformStats, domain_keys

routes = web.RouteTableDef()

#: Who keeps the directory: it serves every unit, so not one unit's admin.
DIRECTORY_EDITORS = frozenset({"admin", "coordinator"})
#: How a referral ended (besides waiting).
RESOLUTIONS = tuple(s for s in REFERRAL_STATES if s != "pending")
#: Case states a referral does not move (already there, or finished).
UNMOVED = frozenset({"referred_platform", "closed", "merged"})


@dataclass(frozen=True, slots=True)
class ReferralView:
    referral: PlatformReferral
    platform: Platform | None
    referred_by: str


async def referral_section(session: AsyncSession, case: Case, me: SignedIn) -> dict[str, Any]:
    """What the case page's referrals section shows (template `dashboard/_referrals.html`)."""
    assert case.id is not None
    platforms = await directory(session)
    by_id = {p.id: p for p in platforms}
    referrals = (
        await session.exec(
            select(PlatformReferral)
            .where(PlatformReferral.case_id == case.id)
            .order_by(col(PlatformReferral.referred_at), col(PlatformReferral.id))
        )
    ).all()
    names = await display_names(session, {r.referred_by_id for r in referrals})
    suggested = await suggested_platform(session, case.id, platforms)
    return {
        "referrals": [
            ReferralView(r, by_id.get(r.platform_id), names.get(r.referred_by_id, "someone"))
            for r in referrals
        ],
        "platforms": platforms,
        "suggested": suggested,
        "can_edit": me.principal.role in EDITORS and case.status != "merged",
        "resolutions": RESOLUTIONS,
        "today": utcnow().date().isoformat(),
    }


# -- the directory -----------------------------------------------------------------------


@routes.get("/app/platforms")
@page()
async def platforms_page(request: web.Request, me: SignedIn) -> web.Response:
    async with request.app[keys.SESSIONS]() as session:
        platforms = await directory(session)
        stats = await directory_stats(session)
    return render(
        request,
        "dashboard/platforms.html",
        me,
        rows=[(p, stats.get(p.id or 0, PlatformStats())) for p in platforms],
        can_edit=me.principal.role in DIRECTORY_EDITORS,
        notice=NOTICES.get(request.query.get("notice", "")),
    )


NOTICES = {"added": "The platform was added.", "saved": "The platform was saved."}


@routes.get("/app/platforms/new")
@page(roles=DIRECTORY_EDITORS)
async def new_platform(request: web.Request, me: SignedIn) -> web.Response:
    return render(request, "dashboard/platform_form.html", me, platform=None, values={}, error=None)


@routes.get("/app/platforms/{platform_id}")
@page()
async def platform_page(request: web.Request, me: SignedIn) -> web.Response:
    async with request.app[keys.SESSIONS]() as session:
        platform = await _platform(session, request)
        stats = (await directory_stats(session)).get(platform.id or 0, PlatformStats())
    if me.principal.role in DIRECTORY_EDITORS:
        return render(
            request,
            "dashboard/platform_form.html",
            me,
            platform=platform,
            values=_values_of(platform),
            stats=stats,
            error=None,
        )
    return render(request, "dashboard/platform.html", me, platform=platform, stats=stats)


@routes.post("/app/platforms")
@page(roles=DIRECTORY_EDITORS)
async def add_platform(request: web.Request, me: SignedIn) -> web.StreamResponse:
    return await _save(request, me, None)


@routes.post("/app/platforms/{platform_id}")
@page(roles=DIRECTORY_EDITORS)
async def edit_platform(request: web.Request, me: SignedIn) -> web.StreamResponse:
    async with request.app[keys.SESSIONS]() as session:
        platform = await _platform(session, request)
    return await _save(request, me, platform)


async def _platform(session: AsyncSession, request: web.Request) -> Platform:
    try:
        platform = await session.get(Platform, int(request.match_info["platform_id"]))
    except ValueError:
        platform = None
    if platform is None:
        raise PageError(404, "No such platform.")
    return platform


def _values_of(platform: Platform) -> dict[str, str]:
    return {
        "name": platform.name,
        "domains": " ".join(platform.domains),
        "policy_url": platform.policy_url,
        "report_url": platform.report_url,
        "contact_email": platform.contact_email,
        "notes": platform.notes,
    }


class FormError(ValueError):
    """A form field that cannot be saved as typed (the page answers 422, values kept)."""


def _http_url(value: str, label: str) -> str:
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(value) > 2100:
        raise FormError(f"{label} must be an http(s) address.")
    return value


def _platform_fields(form: Any) -> dict[str, Any]:
    values = {k: str(form.get(k) or "").strip() for k in _values_of(Platform(name=""))}
    if not values["name"] or len(values["name"]) > 200:
        raise FormError("A platform needs a name (at most 200 characters).")
    domains = list(dict.fromkeys(values["domains"].lower().replace(",", " ").split()))
    if bad := [d for d in domains if domain_keys(d) is None]:
        raise FormError(f"Not a domain: {', '.join(bad)}.")
    email = values["contact_email"]
    if email and (email.count("@") != 1 or "." not in email.partition("@")[2] or " " in email):
        raise FormError("The contact must be an e-mail address.")
    return {
        **values,
        "domains": domains,
        "policy_url": _http_url(values["policy_url"], "The policy page"),
        "report_url": _http_url(values["report_url"], "The report or takedown page"),
    }


async def _save(
    request: web.Request, me: SignedIn, platform: Platform | None
) -> web.StreamResponse:
    form = await request.post()
    try:
        fields = _platform_fields(form)
    except FormError as error:
        return render(
            request,
            "dashboard/platform_form.html",
            me,
            status=422,
            platform=platform,
            values={k: str(form.get(k) or "") for k in _values_of(Platform(name=""))},
            error=str(error),
        )
    async with request.app[keys.SESSIONS]() as session:
        clash = (
            await session.exec(select(Platform).where(Platform.name == fields["name"]))
        ).first()
        if clash is not None and (platform is None or clash.id != platform.id):
            return render(
                request,
                "dashboard/platform_form.html",
                me,
                status=422,
                platform=platform,
                values={**fields, "domains": " ".join(fields["domains"])},
                error=f"There is already a platform named {fields['name']}.",
            )
        row = platform if platform is not None else Platform(name=fields["name"])
        if platform is not None:
            row = await session.get(Platform, platform.id)
            assert row is not None
        before = _values_of(row) if platform is not None else {}
        for key, value in fields.items():
            setattr(row, key, value)
        session.add(row)
        await session.flush()
        changed = {k: v for k, v in _values_of(row).items() if before.get(k) != v}
        session.add(
            AuditEvent(
                actor=me.principal.actor,
                action="platform.updated" if platform is not None else "platform.created",
                object_type="platform",
                object_id=str(row.id),
                details={"changed": sorted(changed)},
            )
        )
        await session.commit()
    raise web.HTTPSeeOther(f"/app/platforms?notice={'saved' if platform else 'added'}")


# -- referrals -----------------------------------------------------------------------------


def _day(value: str, label: str) -> datetime | None:
    """A date typed in a form as a UTC time: now for today, else that day's midnight."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise FormError(f"{label} must be a date (YYYY-MM-DD).") from None
    now = utcnow()
    if day > now.date():
        raise FormError(f"{label} cannot be in the future.")
    return now if day == now.date() else datetime.combine(day, time(0, 0), tzinfo=UTC)


async def record_referral(
    session: AsyncSession,
    case: Case,
    principal: Principal,
    *,
    platform: Platform,
    referred_at: datetime,
    via: str,
    reference: str,
    note: str,
) -> PlatformReferral:
    """Store a referral and move an open case to `referred_platform` (the caller commits)."""
    assert case.id is not None and platform.id is not None
    if case.status == "merged":
        raise CaseChangeError(
            f"case {case.id} was merged into case {case.merged_into_id}; act on that case"
        )
    referral = PlatformReferral(
        case_id=case.id,
        platform_id=platform.id,
        referred_by_id=principal.account_id,
        unit_code=principal.unit_code,
        via=via,
        platform_reference=reference,
        note=note,
        referred_at=referred_at,
    )
    session.add(referral)
    await session.flush()
    previous = case.status
    if case.status not in UNMOVED:
        actor = await session.get(Account, principal.account_id)
        assert actor is not None
        set_case_status(case, "referred_platform", actor)
        session.add(case)
        session.add(
            audit(
                principal, "case.status_changed", case.id, status=case.status,
                previous=previous, note=f"referred to {platform.name}",
            )
        )  # fmt: skip
    session.add(
        audit(
            principal, "case.referred_to_platform", case.id, referral=referral.id,
            platform=platform.name, via=via, reference=reference, previous=previous,
            status=case.status,
        )
    )  # fmt: skip
    return referral


@routes.post("/app/cases/{case_id}/referrals")
@page(roles=EDITORS)
async def post_referral(request: web.Request, me: SignedIn) -> web.StreamResponse:
    form = await request.post()
    values = {
        k: str(form.get(k) or "").strip()
        for k in ("platform", "referred_on", "via", "reference", "note")
    }
    async with request.app[keys.SESSIONS]() as session:
        case = await visible_case(session, me.principal, case_id_of(request))
        try:
            platform = (
                await session.get(Platform, int(values["platform"]))
                if values["platform"].isdigit()
                else None
            )
            if platform is None:
                raise FormError("Choose the platform the listing was referred to.")
            referred_at = _day(values["referred_on"], "The referral date") or utcnow()
            if len(values["via"]) > 500 or len(values["reference"]) > 200:
                raise FormError("The form or address, or their reference, is too long.")
            await record_referral(
                session,
                case,
                me.principal,
                platform=platform,
                referred_at=referred_at,
                via=values["via"],
                reference=values["reference"],
                note=values["note"][:5000],
            )
        except FormError as error:
            return render(
                request,
                "dashboard/platform_referral.html",
                me,
                status=422,
                case=case,
                error=str(error),
                values=values,
                platforms=await directory(session),
            )
        await session.commit()
    raise web.HTTPSeeOther(f"/app/cases/{case.id}#referrals")


@routes.post("/app/referrals/{referral_id}")
@page(roles=EDITORS)
async def post_referral_update(request: web.Request, me: SignedIn) -> web.StreamResponse:
    """The platform answered: removed, still online or refused (or back to pending)."""
    form = await request.post()
    async with request.app[keys.SESSIONS]() as session:
        try:
            referral = await session.get(PlatformReferral, int(request.match_info["referral_id"]))
        except ValueError:
            referral = None
        if referral is None:
            raise PageError(404, "No such page.")
        # Another unit's referral is as unknown as its case.
        case = await visible_case(session, me.principal, referral.case_id)
        state = str(form.get("state") or "")
        if state not in REFERRAL_STATES:
            raise PageError(422, f"Choose what became of the listing: {', '.join(RESOLUTIONS)}.")
        try:
            resolved = _day(str(form.get("resolved_on") or "").strip(), "The date")
        except FormError as error:
            raise PageError(422, str(error)) from None
        if state == "pending":
            resolved = None
        else:
            resolved = resolved or utcnow()
            if resolved < referral.referred_at:
                raise PageError(
                    422, "The listing cannot have been resolved before it was referred."
                )
        previous = referral.state
        referral.state, referral.resolved_at = state, resolved
        note = str(form.get("note") or "").strip()[:5000]
        if note:
            referral.note = f"{referral.note}\n{note}".strip()
        session.add(referral)
        session.add(
            audit(
                me.principal, "referral.updated", case.id or 0, referral=referral.id,
                state=state, previous=previous, note=note,
            )
        )  # fmt: skip
        await session.commit()
        case_id = case.id
    raise web.HTTPSeeOther(f"/app/cases/{case_id}#referrals")
