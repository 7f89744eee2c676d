"""The queue: the cases a unit works, Appendix I first.

Officers, unit admins and observers see the cases routed or shared to their unit;
coordinators and admins see every unit's. Merged cases are pointers, not work: they are
left out.
"""

from __future__ import annotations

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from db.models import Case, CaseUnit
from extension_backend import keys
from extension_backend.auth import GLOBAL_ROLES, Principal
from extension_backend.dashboard.web import page, render
from extension_backend.web_auth import SignedIn

routes = web.RouteTableDef()

PAGE_SIZE = 50


def visible_cases(principal: Principal) -> SelectOfScalar[Case]:
    """Every case `principal` may see (not merged), as a query to filter and order further."""
    query = select(Case).where(col(Case.merged_into_id).is_(None))
    if principal.role not in GLOBAL_ROLES:
        shared = select(CaseUnit.case_id).where(CaseUnit.unit_code == principal.unit_code)
        query = query.where(col(Case.id).in_(shared))
    return query


@routes.get("/app")
@page()
async def queue(request: web.Request, me: SignedIn) -> web.Response:
    query = (
        visible_cases(me.principal)
        .order_by(col(Case.priority_rank), col(Case.updated_at).desc(), col(Case.id).desc())
        .limit(PAGE_SIZE)
    )
    async with request.app[keys.SESSIONS]() as session:
        cases = list((await session.exec(query)).all())
    return render(request, "dashboard/queue.html", me, cases=cases)
