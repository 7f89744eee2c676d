"""Cases for officers: read one, merge two, split one, reroute. Unit scope is enforced on each.

A case is visible to officers of the units it was routed or shared to, and to
coordinators and admins; merging needs rights over both cases, so a merge can never
carry one unit's case into another unit's view. Every read and change is audited. The
working-state changes (acknowledge, assign, close) are in `case_actions_api`, built on the
same helpers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.cases import merge_cases, reroute_candidates, reroute_case, split_case, units_of
from db.models import Account, AuditEvent, Case, Evidence, Listing, Report, Unit
from extension_backend import keys
from extension_backend.api import principal_of
from extension_backend.auth import Principal
from extension_backend.errors import ApiError
from extension_backend.requests import read_json_body, validate
from extension_backend.schemas import MAX_ROW_ID, RowId, StrictInput

routes = web.RouteTableDef()
In = TypeVar("In", bound=StrictInput)

#: Roles that may change cases; observers (e.g. a Management Authority) only read.
EDITORS = frozenset({"officer", "unit_admin", "coordinator", "admin"})


class MergeIn(StrictInput):
    into: RowId = Field(description="The case that receives this case's reports.")
    reason: str = Field("", max_length=1000)


class RerouteIn(StrictInput):
    unit: str = Field(min_length=2, max_length=16, description="The unit code to send to.")
    reason: str = Field(min_length=1, max_length=1000)


class SplitIn(StrictInput):
    reports: list[str] = Field(min_length=1, max_length=1000, description="References to move.")
    reason: str = Field("", max_length=1000)


async def case_principal(request: web.Request, *, edit: bool) -> Principal:
    """The caller, who must be a person (not the bot alone) and, to change, an editor."""
    principal = await principal_of(request)
    if principal is None:
        raise ApiError(401, "unauthorized", "cases need a bearer token")
    if principal.is_bot:
        raise ApiError(
            403, "forbidden", "the bot acts on cases only for a linked user (X-Telegram-User)"
        )
    if edit and principal.role not in EDITORS:
        raise ApiError(403, "forbidden", f"a {principal.role} may not change cases")
    return principal


async def change_request(request: web.Request, model: type[In]) -> tuple[Principal, In]:
    """The caller, who must be allowed to change cases, and the validated body."""
    principal = await case_principal(request, edit=True)
    data = validate(model, await read_json_body(request, request.app[keys.SETTINGS]))
    assert isinstance(data, model)
    return principal, data


async def visible_case(session: AsyncSession, principal: Principal, case_id: int) -> Case:
    """The case if `principal` may see it; otherwise the same 404 as an unknown case."""
    case = await session.get(Case, case_id)
    if case is None or not any(
        principal.sees_unit(code) for code in await units_of(session, case_id)
    ):
        raise ApiError(404, "not_found", f"no case {case_id} for this token")
    return case


def case_id_of(request: web.Request) -> int:
    """The path's case id; 404 for anything that cannot be one (not a number, out of range),
    as for an unknown case, before any query: a huge number would fail in the database."""
    raw = request.match_info["case_id"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) <= MAX_ROW_ID):
        raise ApiError(404, "not_found", "no such case for this token")
    return int(raw)


async def case_view(session: AsyncSession, case: Case) -> dict[str, Any]:
    assert case.id is not None
    reports = (
        await session.exec(select(Report).where(Report.case_id == case.id).order_by(col(Report.id)))
    ).all()
    listings = (await session.exec(select(Listing).where(Listing.case_id == case.id))).all()
    evidence = (
        await session.exec(
            select(Evidence)
            .where(col(Evidence.report_id).in_([r.id for r in reports]))
            .order_by(col(Evidence.id))
        )
    ).all()
    by_report = {r.id: r.reference for r in reports}
    return {
        "id": case.id,
        "status": case.status,
        "outcome": case.outcome,
        "acknowledged_at": _iso(case.acknowledged_at),
        "acknowledged_by": await _person(session, case.acknowledged_by_id),
        "assigned_to": await _person(session, case.assigned_account_id),
        "assigned_at": _iso(case.assigned_at),
        "closed_at": _iso(case.closed_at),
        "closed_by": await _person(session, case.closed_by_id),
        "priority": case.priority,
        "appendix": case.appendix,
        "country": case.country,
        "title": case.title,
        "report_count": case.report_count,
        "merged_into": case.merged_into_id,
        "units": await units_of(session, case.id),
        "reroute_candidates": await reroute_candidates(session, case),
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "listings": [{"url": x.url, "platform": x.platform, "key": x.url_key} for x in listings],
        "reports": [
            {
                "reference": r.reference,
                "channel": r.channel,
                "received_at": r.created_at.isoformat(),
                "duplicate": r.duplicate,
                "url": r.url,
                "title": r.title,
            }
            for r in reports
        ],
        "evidence": [
            {
                "report": by_report[e.report_id],
                "kind": e.kind,
                "sha256": e.sha256,
                "original_sha256": e.original_sha256,
                "media_type": e.media_type,
                "size": e.size,
                "width": e.width,
                "height": e.height,
                "received_at": e.created_at.isoformat(),
            }
            for e in evidence
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def _person(session: AsyncSession, account_id: int | None) -> dict[str, Any] | None:
    """An account as a case shows it: enough to say who acted, nothing more."""
    account = await session.get(Account, account_id) if account_id is not None else None
    if account is None:
        return None
    return {"id": account.id, "name": account.name, "unit": account.unit_code}


def audit(principal: Principal, action: str, case_id: int, **details: Any) -> AuditEvent:
    """The audit row of one case action; says so when the bot pressed for a linked user."""
    if principal.telegram_user_id is not None:
        details["via"] = "telegram"
    return AuditEvent(
        actor=principal.actor,
        action=action,
        object_type="case",
        object_id=str(case_id),
        details=details,
    )


@routes.get("/api/v1/cases/{case_id}")
async def get_case(request: web.Request) -> web.Response:
    principal = await case_principal(request, edit=False)
    async with request.app[keys.SESSIONS]() as session:
        case = await visible_case(session, principal, case_id_of(request))
        body = await case_view(session, case)
        session.add(audit(principal, "case.viewed", body["id"]))
        await session.commit()
    return web.json_response(body, headers={"Cache-Control": "no-store"})


@routes.post("/api/v1/cases/{case_id}/merge")
async def post_merge(request: web.Request) -> web.Response:
    principal, data = await change_request(request, MergeIn)
    async with request.app[keys.SESSIONS]() as session:
        source = await visible_case(session, principal, case_id_of(request))
        target = await visible_case(session, principal, data.into)
        await merge_cases(session, source, target)
        session.add(
            audit(principal, "case.merged", source.id or 0, into=target.id, reason=data.reason)
        )
        await session.commit()
        body = await case_view(session, target)
    return web.json_response(body)


@routes.post("/api/v1/cases/{case_id}/split")
async def post_split(request: web.Request) -> web.Response:
    principal, data = await change_request(request, SplitIn)
    async with request.app[keys.SESSIONS]() as session:
        source = await visible_case(session, principal, case_id_of(request))
        new = await split_case(session, source, data.reports)
        session.add(
            audit(
                principal, "case.split", source.id or 0, into=new.id, reports=data.reports,
                reason=data.reason,
            )
        )  # fmt: skip
        await session.commit()
        body = await case_view(session, new)
    return web.json_response(body, status=201)


@routes.post("/api/v1/cases/{case_id}/reroute")
async def post_reroute(request: web.Request) -> web.Response:
    principal, data = await change_request(request, RerouteIn)
    async with request.app[keys.SESSIONS]() as session:
        case = await visible_case(session, principal, case_id_of(request))
        unit = await session.get(Unit, data.unit.upper())
        if unit is None or not unit.active:
            raise ApiError(422, "unknown_unit", f"no active unit {data.unit!r}", field="unit")
        await reroute_case(session, case, unit, data.reason)
        session.add(
            audit(principal, "case.rerouted", case.id or 0, unit=unit.code, reason=data.reason)
        )
        await session.commit()
        body = await case_view(session, case)
    return web.json_response(body)
