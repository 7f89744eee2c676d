"""What officers do to cases: merge, split, reroute, share, acknowledge, assign, move
through the working states, close, reopen.

Merging and splitting keep every report, evidence file and routing decision; they move
reports between cases and recompute what a case derives from its reports (count, priority,
country). A merged case stays as a pointer (`merged_into_id`, status "merged") so links to
it resolve.

The working state of a case moves new → triaged → under_investigation → referred to the
platform or to prosecution → closed (with an outcome), and a closed case can be reopened.
Acknowledging or assigning a new case triages it; who is on it is kept apart from the state
(`acknowledged_by_id`, `assigned_account_id`), so an assigned case can be at any stage.
A change that makes no sense in the current state (a second acknowledgement, closing a
closed case, anything on a merged case) raises
`CaseChangeError`, which the API answers 409: two officers pressing the same button in a
unit's chat learn that the other was first instead of overwriting them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import (
    Account,
    Analysis,
    Case,
    CaseUnit,
    JurisdictionDecision,
    Listing,
    Report,
    Unit,
)
from db.outbox import deliveries_for
from db.types import utcnow
from matching.analysis import PRIORITIES
from matching.appendix import RANKS


class CaseChangeError(ValueError):
    """A change to a case that cannot be done as asked (the API answers 409)."""


#: Why a case was closed: the listing was taken down, specimens were seized, no offence was
#: found, it repeats another case, or it is not wildlife / not a CITES specimen at all.
OUTCOMES = ("removed", "seized", "no_offence", "duplicate", "false_positive")
#: Open working states, in order; `closed` and `merged` are the ends.
OPEN_STATES = (
    "new",
    "triaged",
    "under_investigation",
    "referred_platform",
    "referred_prosecution",
)
#: How a unit came to have a case (`CaseUnit.kind`).
UNIT_KINDS = ("routed", "rerouted", "shared", "merged", "split")
#: How many units a reroute offers besides "type a unit code".
MAX_REROUTE_CANDIDATES = 6


def case_units(session: Session, case_id: int) -> list[str]:
    """The codes of the units a case is with, in order."""
    rows = session.exec(
        select(CaseUnit.unit_code).where(CaseUnit.case_id == case_id).order_by(CaseUnit.unit_code)
    )
    return list(rows.all())


async def units_of(session: AsyncSession, case_id: int) -> list[str]:
    """`case_units` through an async session."""
    return await session.run_sync(case_units, case_id)


def followed_case(session: Session, case_id: int | None) -> Case | None:
    """The case `case_id` is now: itself, or the case it was merged into, followed to the end."""
    case = session.get(Case, case_id) if case_id is not None else None
    while case is not None and case.merged_into_id is not None:
        case = session.get(Case, case.merged_into_id)
    return case


async def current_case(session: AsyncSession, case_id: int | None) -> Case | None:
    """`followed_case` through an async session."""
    return await session.run_sync(followed_case, case_id)


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


async def _share_units(
    session: AsyncSession, source: int, target: int, reason: str, kind: str
) -> None:
    have = set(await units_of(session, target))
    for code in await units_of(session, source):
        if code not in have:
            session.add(CaseUnit(case_id=target, unit_code=code, reason=reason, kind=kind))


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
    await _share_units(session, source.id, target.id, f"merged from case {source.id}", "merged")
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
    await _share_units(session, source.id, new.id, f"split from case {source.id}", "split")
    await session.flush()
    await refresh_case(session, source)
    await refresh_case(session, new)
    return new


async def reroute_case(session: AsyncSession, case: Case, unit: Unit, reason: str) -> None:
    """Send `case` to `unit` as well, with the reason, and start that unit's deliveries.

    The units that had the case keep it: rerouting adds a destination, it never takes a
    case away from a unit that may already be acting on it.
    """
    await _send_to_unit(session, case, unit, f"rerouted: {reason}", "rerouted")


async def share_case(session: AsyncSession, case: Case, unit: Unit, reason: str) -> None:
    """Share `case` with `unit` to work it together: the unit sees it, is notified through
    its channels and joins the case's forum. Like a reroute, nobody loses the case."""
    await _send_to_unit(session, case, unit, f"shared: {reason}", "shared")


async def _send_to_unit(
    session: AsyncSession, case: Case, unit: Unit, reason: str, kind: str
) -> None:
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
    session.add(CaseUnit(case_id=case.id, unit_code=unit.code, reason=reason, kind=kind))
    session.add_all(deliveries_for(unit, case.id, latest.id))
    case.updated_at = utcnow()
    session.add(case)


def _open(case: Case) -> None:
    if case.status == "merged":
        raise CaseChangeError(
            f"case {case.id} was merged into case {case.merged_into_id}; act on that case"
        )
    if case.status == "closed":
        raise CaseChangeError(f"case {case.id} is closed ({case.outcome}); reopen it first")


def acknowledge_case(case: Case, account: Account) -> None:
    """A unit has seen the case and someone there will look at it. Only once per case."""
    _open(case)
    if case.acknowledged_at is not None:
        raise CaseChangeError(f"case {case.id} was already acknowledged")
    now = utcnow()
    case.acknowledged_at, case.acknowledged_by_id = now, account.id
    if case.status == "new":
        case.status = "triaged"
    case.updated_at = now


def assign_case(case: Case, assignee: Account, by: Account) -> None:
    """`assignee` works the case. Assigning acknowledges a case nobody acknowledged yet."""
    _open(case)
    if case.assigned_account_id == assignee.id:
        raise CaseChangeError(f"case {case.id} is already assigned to {assignee.name or 'them'}")
    now = utcnow()
    if case.acknowledged_at is None:
        case.acknowledged_at, case.acknowledged_by_id = now, by.id
    case.assigned_account_id, case.assigned_at = assignee.id, now
    if case.status == "new":
        case.status = "triaged"
    case.updated_at = now


def set_case_status(case: Case, status: str, by: Account) -> None:
    """Move an open case to another working state (not back to `new`: once someone has
    looked at a case it was triaged). Setting a state acknowledges an unacknowledged case.
    """
    if status not in OPEN_STATES or status == "new":
        raise ValueError(f"unknown working state {status!r}")
    _open(case)
    if case.status == status:
        raise CaseChangeError(f"case {case.id} is already {status.replace('_', ' ')}")
    now = utcnow()
    if case.acknowledged_at is None:
        case.acknowledged_at, case.acknowledged_by_id = now, by.id
    case.status = status
    case.updated_at = now


def close_case(case: Case, outcome: str, by: Account) -> None:
    """Closed with why; the reports and evidence stay, and a new report still joins it."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    _open(case)
    now = utcnow()
    case.status, case.outcome, case.closed_at, case.closed_by_id = "closed", outcome, now, by.id
    case.updated_at = now


def reopen_case(case: Case) -> None:
    """Open again, as triaged (or new when nobody ever acknowledged it); the outcome is
    cleared. The state before closing is in the audit trail."""
    if case.status != "closed":
        raise CaseChangeError(f"case {case.id} is not closed")
    case.outcome, case.closed_at, case.closed_by_id = None, None, None
    case.status = "triaged" if case.acknowledged_at is not None else "new"
    case.updated_at = utcnow()


async def reroute_candidates(session: AsyncSession, case: Case) -> list[str]:
    """Units a case could go to instead, most likely first: those of every country a
    routing signal pointed at (the case's own country first), then the coordinating units.
    Units that already have the case are left out.
    """
    assert case.id is not None
    have = set(await units_of(session, case.id))
    countries: list[str] = [case.country] if case.country else []
    decisions = await session.exec(
        select(JurisdictionDecision)
        .where(JurisdictionDecision.case_id == case.id)
        .order_by(col(JurisdictionDecision.id))
    )
    for decision in decisions.all():
        signals = sorted(decision.signals, key=lambda s: -float(s.get("weight") or 0))
        countries += [str(s["country"]) for s in signals if s.get("country")]
    units = (await session.exec(select(Unit).where(Unit.active).order_by(Unit.code))).all()
    found: list[str] = []
    for country in dict.fromkeys(countries):
        found += [u.code for u in units if u.kind == "national" and country in u.countries]
    found += [u.code for u in units if u.kind == "coordinating"]
    candidates = [code for code in dict.fromkeys(found) if code not in have]
    return candidates[:MAX_REROUTE_CANDIDATES]
