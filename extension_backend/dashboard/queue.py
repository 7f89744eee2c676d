"""The queue: the cases a unit works, Appendix I first, filtered, counted and paged.

Scope comes first and only from `filters.visible_cases`: every list, count and datalist on
this page is built on it, so a filter, a count or a suggestion never shows a case (or a
taxon, platform or country of a case) of another unit. The filters are a GET form, so a
filtered queue is a URL an officer can bookmark or send to a colleague of the same unit.
New cases arrive without a reload through `/app/events` (see `events`), which this page
points `static/queue.js` at.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web
from multidict import MultiMapping
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from db.cases import OPEN_STATES
from db.models import Account, Analysis, Case, Listing, Report, SpeciesMatch, Unit
from db.types import utcnow
from extension_backend import keys
from extension_backend.auth import GLOBAL_ROLES, Principal
from extension_backend.dashboard.filters import CHANNELS, PRIORITIES, CaseFilters, visible_cases
from extension_backend.dashboard.web import EDITORS, PageError, page, render
from extension_backend.web_auth import SignedIn
from matching.analysis import PRIORITY_CONFIDENCE, most_specific
from matching.appendix import RANKS, highest_appendix

routes = web.RouteTableDef()

PAGE_SIZE = 50
#: Deeper than this, a filter serves better than paging (and offsets stay cheap).
MAX_PAGE = 2000
#: Datalists suggest, they do not enumerate a checklist: enough for any unit's queue.
MAX_SUGGESTIONS = 300
#: Statuses in the order a case moves through them (the summary bar and the select).
STATUS_ORDER = (*OPEN_STATES, "closed")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the queue: the case and what the page looked up for it."""

    case: Case
    species: str  # the most urgent taxon the case's reports name, "" when none
    platform: str
    assignee: str


@dataclass(frozen=True, slots=True)
class Choices:
    """What the filter form offers: values present in the person's own cases only."""

    taxa: list[str]
    platforms: list[str]
    countries: list[str]
    units: list[str]  # empty unless the person sees every unit
    colleagues: list[tuple[int, str]]  # (account id, name) for "assigned to"


@routes.get("/app")
@page()
async def queue(request: web.Request, me: SignedIn) -> web.Response:
    filters = CaseFilters.from_query(request.query)
    number = page_number(request.query)
    principal = me.principal
    scope = visible_cases(principal)
    matching = filters.apply(scope, principal)
    listed = matching.order_by(
        col(Case.priority_rank), col(Case.updated_at).desc(), col(Case.id).desc()
    )
    async with request.app[keys.SESSIONS]() as session:
        total = await _count(session, matching)
        cases = list(
            (await session.exec(listed.offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE))).all()
        )
        # Each bar counts with every filter but its own, so clicking one switches to it.
        by_priority = await _count_by(
            session, replace(filters, priority="").apply(scope, principal), "priority"
        )
        by_status = await _count_by(
            session, replace(filters, status="").apply(scope, principal), "status"
        )
        rows = await _rows(session, cases)
        choices = await _choices(session, principal, scope)
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request,
        "dashboard/queue.html",
        me,
        rows=rows,
        filters=filters,
        total=total,
        page=number,
        pages=pages,
        by_priority=[(p, by_priority.get(p, 0)) for p in PRIORITIES],
        by_status=[(s, by_status.get(s, 0)) for s in STATUS_ORDER],
        choices=choices,
        priorities=PRIORITIES,
        statuses=STATUS_ORDER,
        channels=CHANNELS,
        global_view=principal.role in GLOBAL_ROLES,
        rendered_at=utcnow().isoformat(),
    )


def page_number(query: MultiMapping[str]) -> int:
    """The `page` parameter (1 when absent); PageError(400) for anything else."""
    raw = str(query.get("page", "")).strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise PageError(400, f"Page is a number from 1 to {MAX_PAGE}.")
    return int(raw)


async def _count(session: AsyncSession, query: SelectOfScalar[Any]) -> int:
    found = query.subquery()
    return int((await session.exec(select(func.count()).select_from(found))).one())


async def _count_by(
    session: AsyncSession, query: SelectOfScalar[Any], column: str
) -> dict[str, int]:
    found = query.subquery()
    key = found.c[column]
    rows = await session.exec(select(key, func.count()).select_from(found).group_by(key))
    return {str(value): int(count) for value, count in rows.all()}


async def _rows(session: AsyncSession, cases: list[Case]) -> list[Row]:
    ids = [case.id for case in cases if case.id is not None]
    if not ids:
        return []
    species = await _species_of(session, ids)
    platforms: dict[int, str] = {}
    listings = await session.exec(
        select(Listing.case_id, Listing.platform, Listing.host)
        .where(col(Listing.case_id).in_(ids))
        .order_by(col(Listing.id))
    )
    for case_id, platform, host in listings.all():
        platforms.setdefault(case_id, platform or host)
    assigned = {c.assigned_account_id for c in cases if c.assigned_account_id is not None}
    names: dict[int, str] = {}
    if assigned:
        people = await session.exec(select(Account).where(col(Account.id).in_(assigned)))
        names = {a.id: _person(a) for a in people.all() if a.id is not None}
    return [
        Row(
            case=case,
            species=species.get(case.id or 0, ""),
            platform=platforms.get(case.id or 0, ""),
            assignee=names.get(case.assigned_account_id or 0, ""),
        )
        for case in cases
    ]


async def _species_of(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    """Per case, the taxon its reports name that is most urgent: sure matches before unsure
    ones, then Appendix I before II before III, then the surest. A family named only by the
    product term of a species also named ("python skins" beside *Python regius*) gives way
    to the species, as it does when the priority is set (`analysis.most_specific`)."""
    rows = await session.exec(
        select(Report.case_id, SpeciesMatch)
        .join(Analysis, col(Analysis.report_id) == Report.id)
        .join(SpeciesMatch, col(SpeciesMatch.analysis_id) == Analysis.id)
        .where(col(Report.case_id).in_(ids))
    )
    per_case: dict[int, list[SpeciesMatch]] = {}
    for case_id, match in rows.all():
        per_case.setdefault(case_id, []).append(match)
    best: dict[int, str] = {}
    for case_id, matches in per_case.items():

        def urgency(match: SpeciesMatch) -> tuple[int, int, float]:
            top = highest_appendix([match.appendix])
            return (
                0 if match.confidence >= PRIORITY_CONFIDENCE else 1,
                RANKS[top] if top else len(RANKS) + 1,
                -match.confidence,
            )

        best[case_id] = min(most_specific(matches), key=urgency).taxon
    return best


async def _choices(
    session: AsyncSession, principal: Principal, scope: SelectOfScalar[Case]
) -> Choices:
    """The datalists and selects of the filter form, drawn from `scope` (never wider)."""
    visible = scope.with_only_columns(col(Case.id)).subquery()
    in_scope = select(visible.c.id)
    taxa: set[str] = set()
    names = await session.exec(
        select(
            SpeciesMatch.taxon,
            SpeciesMatch.family,
            SpeciesMatch.order_name,
            SpeciesMatch.class_name,
        )
        .join(Analysis, col(Analysis.id) == SpeciesMatch.analysis_id)
        .join(Report, col(Report.id) == Analysis.report_id)
        .where(col(Report.case_id).in_(in_scope))
        .distinct()
        .limit(MAX_SUGGESTIONS)
    )
    for row in names.all():
        taxa.update(name for name in row if name)
    platforms = await session.exec(
        select(Listing.platform)
        .where(col(Listing.case_id).in_(in_scope), col(Listing.platform).is_not(None))
        .distinct()
        .limit(MAX_SUGGESTIONS)
    )
    countries = await session.exec(
        select(Case.country)
        .where(col(Case.id).in_(in_scope), col(Case.country).is_not(None))
        .distinct()
    )
    units: list[str] = []
    people = select(Account).where(col(Account.role).in_(EDITORS), col(Account.disabled).is_(False))
    if principal.role in GLOBAL_ROLES:
        units = list(
            (
                await session.exec(
                    select(Unit.code).where(col(Unit.active).is_(True)).order_by(col(Unit.code))
                )
            ).all()
        )
    else:
        people = people.where(Account.unit_code == principal.unit_code)
    colleagues = await session.exec(
        people.order_by(col(Account.unit_code), col(Account.name)).limit(MAX_SUGGESTIONS)
    )
    return Choices(
        taxa=sorted(taxa, key=str.casefold),
        platforms=sorted(p for p in platforms.all() if p),
        countries=sorted(c for c in countries.all() if c),
        units=units,
        colleagues=[(a.id, _person(a)) for a in colleagues.all() if a.id is not None],
    )


def _person(account: Account) -> str:
    name = account.name or f"account {account.id}"
    return f"{name} ({account.unit_code})" if account.unit_code else name
