"""Merging and splitting cases: officers correct what automatic deduplication decided.

Both keep every report, evidence file and routing decision; they move reports between
cases and recompute what a case derives from its reports (count, priority, country). A
merged case stays as a pointer (`merged_into_id`, status "merged") so links to it resolve.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Analysis, Case, CaseUnit, JurisdictionDecision, Listing, Report, Unit
from db.outbox import deliveries_for
from db.types import utcnow
from matching.analysis import PRIORITIES
from matching.appendix import RANKS


class CaseChangeError(ValueError):
    """A merge or split that cannot be done as asked."""


async def units_of(session: AsyncSession, case_id: int) -> list[str]:
    rows = await session.exec(
        select(CaseUnit.unit_code).where(CaseUnit.case_id == case_id).order_by(CaseUnit.unit_code)
    )
    return list(rows.all())


async def refresh_case(session: AsyncSession, case: Case) -> None:
    """Recompute what a case derives from its reports: count and most urgent priority."""
    assert case.id is not None
    case.report_count = (
        await session.exec(select(func.count()).where(Report.case_id == case.id))
    ).one()
    ranks = (
        await session.exec(
            select(Analysis.appendix, Analysis.priority)
            .join(Report, col(Report.id) == Analysis.report_id)
            .where(Report.case_id == case.id)
        )
    ).all()
    appendices = [a for a, _ in ranks if a in RANKS]
    best = min(appendices, key=RANKS.__getitem__) if appendices else None
    case.priority, case.priority_rank = PRIORITIES[best]
    case.appendix = best
    case.updated_at = utcnow()
    session.add(case)


async def _share_units(session: AsyncSession, source: int, target: int, reason: str) -> None:
    have = set(await units_of(session, target))
    for code in await units_of(session, source):
        if code not in have:
            session.add(CaseUnit(case_id=target, unit_code=code, reason=reason))


async def merge_cases(session: AsyncSession, source: Case, target: Case) -> None:
    """Move every report and listing of `source` into `target`; `source` points there."""
    if source.id == target.id:
        raise CaseChangeError("a case cannot be merged into itself")
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise CaseChangeError("a merged case cannot be merged again; use the case it went to")
    assert source.id is not None and target.id is not None
    for model in (Report, Listing, JurisdictionDecision):
        rows = (await session.exec(select(model).where(model.case_id == source.id))).all()
        for row in rows:
            row.case_id = target.id
            session.add(row)
    await _share_units(session, source.id, target.id, f"merged from case {source.id}")
    source.merged_into_id = target.id
    source.status = "merged"
    source.report_count = 0
    source.updated_at = utcnow()
    session.add(source)
    await session.flush()
    await refresh_case(session, target)


async def split_case(session: AsyncSession, source: Case, references: Sequence[str]) -> Case:
    """A new case holding the reports `references` of `source`, with their listings.

    A listing moves when all its reports move; one still reported in `source` stays, and
    the moved reports keep pointing at it (the listing is shared evidence, not ownership).
    The new case keeps the units of the old one: splitting never takes a case from a unit.
    """
    assert source.id is not None
    wanted = set(references)
    reports = list(
        (await session.exec(select(Report).where(col(Report.reference).in_(wanted)))).all()
    )
    found = {r.reference for r in reports if r.case_id == source.id}
    if missing := sorted(wanted - found):
        raise CaseChangeError(f"not reports of case {source.id}: {', '.join(missing)}")
    if len(found) == source.report_count:
        raise CaseChangeError("a split must leave at least one report in the case")
    new = Case(
        priority="review",
        priority_rank=4,
        country=source.country,
        title=source.title,
        status="new",
    )
    session.add(new)
    await session.flush()
    assert new.id is not None
    for report in reports:
        report.case_id = new.id
        session.add(report)
    moved_decisions = await session.exec(
        select(JurisdictionDecision)
        .join(Analysis, col(Analysis.id) == JurisdictionDecision.analysis_id)
        .where(col(Analysis.report_id).in_([r.id for r in reports]))
    )
    for decision in moved_decisions.all():
        decision.case_id = new.id
        session.add(decision)
    await session.flush()
    listing_ids = {r.listing_id for r in reports if r.listing_id is not None}
    for listing_id in listing_ids:
        remaining = (
            await session.exec(
                select(func.count()).where(
                    Report.listing_id == listing_id, Report.case_id == source.id
                )
            )
        ).one()
        if remaining == 0:
            listing = await session.get(Listing, listing_id)
            assert listing is not None
            listing.case_id = new.id
            session.add(listing)
    await _share_units(session, source.id, new.id, f"split from case {source.id}")
    await session.flush()
    await refresh_case(session, source)
    await refresh_case(session, new)
    return new


async def reroute_case(session: AsyncSession, case: Case, unit: Unit, reason: str) -> None:
    """Send `case` to `unit` as well, with the reason, and start that unit's deliveries.

    The units that had the case keep it: rerouting adds a destination, it never takes a
    case away from a unit that may already be acting on it.
    """
    assert case.id is not None
    if unit.code in await units_of(session, case.id):
        raise CaseChangeError(f"case {case.id} is already with unit {unit.code}")
    latest = (
        await session.exec(
            select(Report).where(Report.case_id == case.id).order_by(col(Report.id).desc())
        )
    ).first()
    if latest is None or latest.id is None:
        raise CaseChangeError(f"case {case.id} has no report to deliver")
    session.add(CaseUnit(case_id=case.id, unit_code=unit.code, reason=f"rerouted: {reason}"))
    session.add_all(deliveries_for(unit, case.id, latest.id))
    case.updated_at = utcnow()
    session.add(case)
