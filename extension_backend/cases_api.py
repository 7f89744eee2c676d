"""Cases for officers: read one, merge two, split one. Unit scope is enforced on each.

A case is visible to officers of the units it was routed or shared to, and to
coordinators and admins; merging needs rights over both cases, so a merge can never
carry one unit's case into another unit's view. Every read and change is audited.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.cases import merge_cases, reroute_case, split_case, units_of
from db.models import AuditEvent, Case, Evidence, Listing, Report, Unit
from extension_backend import keys
from extension_backend.api import principal_of
from extension_backend.auth import Principal
from extension_backend.errors import ApiError
from extension_backend.requests import read_json_body, validate
from extension_backend.schemas import StrictInput

routes = web.RouteTableDef()
In = TypeVar("In", bound=StrictInput)

#: Roles that may change cases; observers (e.g. a Management Authority) only read.
EDITORS = frozenset({"officer", "unit_admin", "coordinator", "admin"})


class MergeIn(StrictInput):
    into: int = Field(description="The case that receives this case's reports.")
    reason: str = Field("", max_length=1000)


class RerouteIn(StrictInput):
    unit: str = Field(min_length=2, max_length=16, description="The unit code to send to.")
    reason: str = Field(min_length=1, max_length=1000)


class SplitIn(StrictInput):
    reports: list[str] = Field(min_length=1, max_length=1000, description="References to move.")
    reason: str = Field("", max_length=1000)


async def _principal(request: web.Request, *, edit: bool) -> Principal:
    principal = await principal_of(request)
    if principal is None:
        raise ApiError(401, "unauthorized", "cases need a bearer token")
    if edit and principal.role not in EDITORS:
        raise ApiError(403, "forbidden", f"a {principal.role} may not change cases")
    return principal


async def _change_request(request: web.Request, model: type[In]) -> tuple[Principal, In]:
    """The caller, who must be allowed to change cases, and the validated body."""
    principal = await _principal(request, edit=True)
    data = validate(model, await read_json_body(request, request.app[keys.SETTINGS]))
    assert isinstance(data, model)
    return principal, data


async def _visible_case(session: AsyncSession, principal: Principal, case_id: int) -> Case:
    """The case if `principal` may see it; otherwise the same 404 as an unknown case."""
    case = await session.get(Case, case_id)
    if case is None or not any(
        principal.sees_unit(code) for code in await units_of(session, case_id)
    ):
        raise ApiError(404, "not_found", f"no case {case_id} for this token")
    return case


def _case_id(request: web.Request) -> int:
    try:
        return int(request.match_info["case_id"])
    except ValueError:
        raise ApiError(404, "not_found", "case ids are numbers") from None


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
        "priority": case.priority,
        "appendix": case.appendix,
        "country": case.country,
        "title": case.title,
        "report_count": case.report_count,
        "merged_into": case.merged_into_id,
        "units": await units_of(session, case.id),
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


def _audit(principal: Principal, action: str, case_id: int, **details: Any) -> AuditEvent:
    return AuditEvent(
        actor=principal.actor,
        action=action,
        object_type="case",
        object_id=str(case_id),
        details=details,
    )


@routes.get("/api/v1/cases/{case_id}")
async def get_case(request: web.Request) -> web.Response:
    principal = await _principal(request, edit=False)
    async with request.app[keys.SESSIONS]() as session:
        case = await _visible_case(session, principal, _case_id(request))
        body = await case_view(session, case)
        session.add(_audit(principal, "case.viewed", body["id"]))
        await session.commit()
    return web.json_response(body, headers={"Cache-Control": "no-store"})


@routes.post("/api/v1/cases/{case_id}/merge")
async def post_merge(request: web.Request) -> web.Response:
    principal, data = await _change_request(request, MergeIn)
    async with request.app[keys.SESSIONS]() as session:
        source = await _visible_case(session, principal, _case_id(request))
        target = await _visible_case(session, principal, data.into)
        await merge_cases(session, source, target)
        session.add(
            _audit(principal, "case.merged", source.id or 0, into=target.id, reason=data.reason)
        )
        await session.commit()
        body = await case_view(session, target)
    return web.json_response(body)


@routes.post("/api/v1/cases/{case_id}/split")
async def post_split(request: web.Request) -> web.Response:
    principal, data = await _change_request(request, SplitIn)
    async with request.app[keys.SESSIONS]() as session:
        source = await _visible_case(session, principal, _case_id(request))
        new = await split_case(session, source, data.reports)
        session.add(
            _audit(
                principal, "case.split", source.id or 0, into=new.id, reports=data.reports,
                reason=data.reason,
            )
        )  # fmt: skip
        await session.commit()
        body = await case_view(session, new)
    return web.json_response(body, status=201)


@routes.post("/api/v1/cases/{case_id}/reroute")
async def post_reroute(request: web.Request) -> web.Response:
    principal, data = await _change_request(request, RerouteIn)
    async with request.app[keys.SESSIONS]() as session:
        case = await _visible_case(session, principal, _case_id(request))
        unit = await session.get(Unit, data.unit.upper())
        if unit is None or not unit.active:
            raise ApiError(422, "unknown_unit", f"no active unit {data.unit!r}", field="unit")
        await reroute_case(session, case, unit, data.reason)
        session.add(
            _audit(principal, "case.rerouted", case.id or 0, unit=unit.code, reason=data.reason)
        )
        await session.commit()
        body = await case_view(session, case)
    return web.json_response(body)
