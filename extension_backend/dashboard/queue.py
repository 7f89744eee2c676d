"""The queue: the cases a unit works, Appendix I first (scope in `filters.visible_cases`)."""

from __future__ import annotations

from aiohttp import web
from sqlmodel import col

from db.models import Case
from extension_backend import keys
from extension_backend.dashboard.filters import CaseFilters, visible_cases
from extension_backend.dashboard.web import page, render
from extension_backend.web_auth import SignedIn

routes = web.RouteTableDef()

PAGE_SIZE = 50


@routes.get("/app")
@page()
async def queue(request: web.Request, me: SignedIn) -> web.Response:
    filters = CaseFilters.from_query(request.query)
    query = (
        filters.apply(visible_cases(me.principal), me.principal)
        .order_by(col(Case.priority_rank), col(Case.updated_at).desc(), col(Case.id).desc())
        .limit(PAGE_SIZE)
    )
    async with request.app[keys.SESSIONS]() as session:
        cases = list((await session.exec(query)).all())
    return render(request, "dashboard/queue.html", me, cases=cases, filters=filters)
