"""The case page: everything a unit needs to judge one case, and the forms to act on it.

`GET /app/cases/{id}` shows the listing, every report, the evidence with its near-duplicate
matches, the species matches (and the mentions a context rule overruled, recomputed for
display), the routing signals, the deliveries and the case's history. The actions post to
`case_actions`, the evidence files are served by `case_evidence`.

Scope is the API's (`cases_api.visible_case`): another unit's case and an id that does not
exist get the same 404 page. A merged case sends the reader to the case it went into.
What the page must never do: show a reporter's account to a role that does not need it,
render anything a reporter or seller wrote unescaped, or link a listing in a way that lets
the seller's page learn where it was opened from (`rel="noopener noreferrer nofollow"`);
the server never fetches a listing URL.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.cases import OPEN_STATES, OUTCOMES, current_case, reroute_candidates, units_of
from db.models import (
    Account,
    Analysis,
    AuditEvent,
    Case,
    CaseUnit,
    Delivery,
    Evidence,
    ImageMatch,
    JurisdictionDecision,
    Listing,
    Report,
    SpeciesMatch,
    Unit,
)
from extension_backend import keys
from extension_backend.auth import GLOBAL_ROLES
from extension_backend.case_actions_api import ASSIGNERS
from extension_backend.cases_api import audit, visible_case
from extension_backend.dashboard.web import EDITORS, PageError, page, redirect, render
from extension_backend.errors import ApiError
from extension_backend.web_auth import SignedIn
from matching.listing import Listing as ListingFacts
from matching.species import Overruled

routes = web.RouteTableDef()

#: Roles that may see who reported (an officer's account, a linked Telegram user).
REPORTER_ROLES = frozenset({"unit_admin", "coordinator", "admin"})
#: A delivery that failed this often is worth a banner even before it is dead.
TROUBLE_ATTEMPTS = 3
#: How much of the case's history the page lists (newest first).
HISTORY_LIMIT = 300
NOT_FOUND = "No such case."
#: Working states an officer can set (new is where cases start, never a choice).
WORKING_STATES = tuple(s for s in OPEN_STATES if s != "new")
#: What a notice code in the query string says after a form (never the query's own text).
NOTICES = {
    "acknowledged": "Case acknowledged.",
    "assigned": "Case assigned.",
    "status": "Status changed.",
    "closed": "Case closed.",
    "reopened": "Case reopened.",
    "rerouted": "Case rerouted.",
    "shared": "Case shared.",
    "merged": "Case merged.",
    "split": "Reports split into a new case.",
}


def case_id_param(request: web.Request) -> int:
    """The case id in the path; anything but a number is the same 404 as an unknown case."""
    value = request.match_info["case_id"]
    if not value.isdigit() or len(value) > 18:
        raise PageError(404, NOT_FOUND)
    return int(value)


async def visible(session: AsyncSession, me: SignedIn, case_id: int) -> Case:
    """The case if `me` may see it, else the one 404 page (unknown and foreign look alike)."""
    try:
        return await visible_case(session, me.principal, case_id)
    except ApiError as error:
        if error.status == 404:
            raise PageError(404, NOT_FOUND) from None
        raise


def safe_href(url: str) -> str | None:
    """A URL we may put in a link: http(s) only (never `javascript:` or `data:`)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def evidence_url(case_id: int, sha256: str) -> str:
    return f"/app/cases/{case_id}/evidence/{sha256}"


def shown_target(delivery: Delivery, me: SignedIn) -> str:
    """Where a delivery went, as much as this reader should see.

    A webhook URL often carries a secret in its path or query: only its host is shown.
    E-mail addresses and chat ids are shown to the unit's own staff (and admins).
    """
    target = delivery.target or ""
    if delivery.channel == "webhook":
        try:
            return urlsplit(target).hostname or "—"
        except ValueError:
            return "—"
    if delivery.channel in ("email", "telegram"):
        principal = me.principal
        if principal.role == "admin" or principal.unit_code == delivery.unit_code:
            return target or "—"
        return f"hidden ({delivery.unit_code} {delivery.channel})"
    return target or "—"


def shown_error(delivery: Delivery, me: SignedIn) -> str:
    """The last error, with the target masked as `shown_target` masks it: a channel's
    error message may quote the URL (and its secret) or the address it failed to reach."""
    error = delivery.last_error or ""
    if delivery.target and delivery.target in error:
        error = error.replace(delivery.target, shown_target(delivery, me))
    return error


def troubled(delivery: Delivery) -> bool:
    """Dead, or failed at least `TROUBLE_ATTEMPTS` times and still not delivered."""
    return delivery.state == "dead" or (
        delivery.state != "sent" and delivery.attempts >= TROUBLE_ATTEMPTS
    )


@dataclass
class Person:
    """An account as the page names it."""

    id: int
    name: str
    role: str
    unit: str | None

    @property
    def label(self) -> str:
        unit = f", {self.unit}" if self.unit else ""
        return f"{self.name or 'account ' + str(self.id)} ({self.role.replace('_', ' ')}{unit})"


@dataclass
class ImageLink:
    """A near-duplicate match of one image: the other picture, if this reader may see it."""

    distance: int
    algorithm: str
    joined: bool
    direction: str  # "matched" (this image matched an earlier one) | "matched by"
    other: Evidence | None  # None when its case is not visible to the reader
    other_case: int | None
    other_url: str | None


@dataclass
class EvidenceView:
    evidence: Evidence
    report: str
    url: str
    links: list[ImageLink] = field(default_factory=list)


@dataclass
class AnalysisView:
    analysis: Analysis
    matches: list[SpeciesMatch]


@dataclass
class ReportView:
    report: Report
    reporter: str
    analyses: list[AnalysisView]
    overruled: list[Overruled]
    evidence: list[EvidenceView]


@dataclass
class HistoryItem:
    at: datetime
    actor: str
    action: str
    details: list[tuple[str, str]]


@routes.get("/app/cases/{case_id}")
@page()
async def case_page(request: web.Request, me: SignedIn) -> web.StreamResponse:
    case_id = case_id_param(request)
    async with request.app[keys.SESSIONS]() as session:
        case = await visible(session, me, case_id)
        if case.merged_into_id is not None:
            target = await current_case(session, case_id)
            assert target is not None and target.id is not None
            raise redirect(f"/app/cases/{target.id}", notice="merged", source=case_id)
        session.add(audit(me.principal, "case.viewed", case_id, via="dashboard"))
        await session.commit()
    return await show_case(request, me, case_id)


async def show_case(
    request: web.Request,
    me: SignedIn,
    case_id: int,
    *,
    status: int = 200,
    error: str | None = None,
) -> web.Response:
    """Render the case page (also after a form that could not be done, with its message)."""
    async with request.app[keys.SESSIONS]() as session:
        case = await visible(session, me, case_id)
        context = await case_context(request, session, case, me)
    notice = NOTICES.get(request.query.get("notice", "")) if error is None else None
    source = request.query.get("source", "")
    if notice and request.query.get("notice") == "merged" and source.isdigit():
        notice = f"Case #{int(source)} was merged into this case."
    split = request.query.get("new", "")
    if notice and request.query.get("notice") == "split" and split.isdigit():
        notice = f"Reports split into case #{int(split)}."
    return render(
        request,
        "dashboard/case.html",
        me,
        status=status,
        notice=notice,
        error=error,
        **context,
    )


async def case_context(
    request: web.Request, session: AsyncSession, case: Case, me: SignedIn
) -> dict[str, Any]:
    """Everything the case page shows, read in one session."""
    assert case.id is not None
    principal = me.principal
    reports = list(
        (
            await session.exec(
                select(Report).where(Report.case_id == case.id).order_by(col(Report.id))
            )
        ).all()
    )
    report_ids = [r.id for r in reports]
    listings = list(
        (
            await session.exec(
                select(Listing).where(Listing.case_id == case.id).order_by(col(Listing.id))
            )
        ).all()
    )
    case_units = list(
        (
            await session.exec(
                select(CaseUnit, Unit)
                .join(Unit, col(Unit.code) == CaseUnit.unit_code)
                .where(CaseUnit.case_id == case.id)
                .order_by(col(CaseUnit.created_at), col(CaseUnit.unit_code))
            )
        ).all()
    )
    evidence = list(
        (
            await session.exec(
                select(Evidence)
                .where(col(Evidence.report_id).in_(report_ids))
                .order_by(col(Evidence.id))
            )
        ).all()
    )
    analyses = list(
        (
            await session.exec(
                select(Analysis)
                .where(col(Analysis.report_id).in_(report_ids))
                .order_by(col(Analysis.id))
            )
        ).all()
    )
    matches = list(
        (
            await session.exec(
                select(SpeciesMatch)
                .where(col(SpeciesMatch.analysis_id).in_([a.id for a in analyses]))
                .order_by(col(SpeciesMatch.analysis_id), col(SpeciesMatch.start))
            )
        ).all()
    )
    decisions = list(
        (
            await session.exec(
                select(JurisdictionDecision)
                .where(JurisdictionDecision.case_id == case.id)
                .order_by(col(JurisdictionDecision.id))
            )
        ).all()
    )
    deliveries = list(
        (
            await session.exec(
                select(Delivery).where(Delivery.case_id == case.id).order_by(col(Delivery.id))
            )
        ).all()
    )
    people = await _people(
        session,
        [
            case.acknowledged_by_id,
            case.assigned_account_id,
            case.closed_by_id,
            *(r.account_id for r in reports),
        ],
    )
    by_report: dict[int | None, Report] = {r.id: r for r in reports}
    evidence_views = {
        e.id: EvidenceView(
            evidence=e,
            report=by_report[e.report_id].reference,
            url=evidence_url(case.id, e.sha256),
        )
        for e in evidence
    }
    await _image_links(session, me, case.id, evidence_views)
    matcher = request.app[keys.MATCHER]
    report_views = []
    for report in reports:
        facts = ListingFacts(title=report.title, text=report.text)
        overruled = matcher.assess(facts.full_text).overruled if facts.full_text else []
        report_views.append(
            ReportView(
                report=report,
                reporter=_reporter(report, people, me),
                analyses=[
                    AnalysisView(a, [m for m in matches if m.analysis_id == a.id])
                    for a in analyses
                    if a.report_id == report.id
                ],
                overruled=list(overruled),
                evidence=[v for v in evidence_views.values() if v.evidence.report_id == report.id],
            )
        )
    editor = principal.role in EDITORS and case.status != "merged"
    units_now = [cu.unit_code for cu, _ in case_units]
    hooks = {
        "forum": await _section("forum", "forum_section", session, case, me),
        "referrals": await _section("platforms", "referral_section", session, case, me),
    }
    history = await _history(session, case, reports, evidence, me)
    return {
        "case": case,
        "people": people,
        "acknowledged_by": people.get(case.acknowledged_by_id),
        "assigned_to": people.get(case.assigned_account_id),
        "closed_by": people.get(case.closed_by_id),
        "case_units": case_units,
        "listings": [(x, safe_href(x.url)) for x in listings],
        "report_urls": _distinct(
            (r.url, safe_href(r.url)) for r in reports if r.url and r.url not in _urls(listings)
        ),
        "facts": _facts(reports),
        "reports": report_views,
        "images": [v for v in evidence_views.values() if v.evidence.kind == "image"],
        "screenshots": [v for v in evidence_views.values() if v.evidence.kind == "screenshot"],
        "snapshots": [v for v in evidence_views.values() if v.evidence.kind == "snapshot"],
        "matcher_version": matcher.version,
        "decisions": decisions,
        "deliveries": [(d, shown_target(d, me), shown_error(d, me)) for d in deliveries],
        "delivery_trouble": [d for d in deliveries if troubled(d)],
        "history": history,
        # Who assigned is not a column of the case: the newest assignment in the trail says.
        "assigned_by": next((h.actor for h in history if h.action == "case.assigned"), None),
        "editor": editor,
        "assigner": editor and principal.role in ASSIGNERS,
        "assignees": await _assignees(session, units_now) if editor else [],
        "reroute_candidates": await reroute_candidates(session, case) if editor else [],
        "share_units": await _other_units(session, units_now) if editor else [],
        "working_states": WORKING_STATES,
        "outcomes": OUTCOMES,
        **hooks,
    }


async def _section(module: str, name: str, session: AsyncSession, case: Case, me: SignedIn) -> Any:
    """Another part's section of the page (forum, referrals), when that part provides one.

    Imported when the page is built, not at import time: those modules may use this one.
    """
    build = getattr(importlib.import_module(f"extension_backend.dashboard.{module}"), name, None)
    return await build(session, case, me) if build is not None else None


def _urls(listings: Sequence[Listing]) -> set[str]:
    return {x.url for x in listings}


def _distinct(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def _facts(reports: Sequence[Report]) -> dict[str, list[str]]:
    """What the reporters said about the listing, each distinct value once, newest first."""
    newest = list(reversed(reports))
    prices = [f"{r.price} {r.currency}".strip() for r in newest if r.price]
    return {
        "title": _distinct(r.title for r in newest if r.title),
        "seller": _distinct(r.seller for r in newest if r.seller),
        "seller_location": _distinct(r.seller_location for r in newest if r.seller_location),
        "ships_to": _distinct(r.ships_to for r in newest if r.ships_to),
        "price": _distinct(prices),
        "reporter_country": _distinct(r.reporter_country for r in newest if r.reporter_country),
    }


async def _people(session: AsyncSession, ids: Iterable[int | None]) -> dict[int | None, Person]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.exec(select(Account).where(col(Account.id).in_(wanted)))
    return {a.id: Person(a.id, a.name, a.role, a.unit_code) for a in rows.all() if a.id is not None}


def _reporter(report: Report, people: dict[int | None, Person], me: SignedIn) -> str:
    """Who reported, for the roles that need it; "anonymous" for anonymous reports."""
    if report.account_id is None:
        return "anonymous"
    if me.principal.role not in REPORTER_ROLES:
        return "a registered reporter (identity hidden)"
    person = people.get(report.account_id)
    return person.label if person else f"account {report.account_id}"


async def _image_links(
    session: AsyncSession, me: SignedIn, case_id: int, views: dict[int | None, EvidenceView]
) -> None:
    """Attach each image's near-duplicate matches (both directions) to its view."""
    ids = [i for i, v in views.items() if v.evidence.kind == "image"]
    if not ids:
        return
    rows = list(
        (
            await session.exec(
                select(ImageMatch)
                .where(
                    or_(
                        col(ImageMatch.evidence_id).in_(ids),
                        col(ImageMatch.matched_evidence_id).in_(ids),
                    )
                )
                .order_by(col(ImageMatch.distance), col(ImageMatch.id))
            )
        ).all()
    )
    seen_cases: dict[int, bool] = {}
    for row in rows:
        pairs = []
        if row.evidence_id in views:
            pairs.append((row.evidence_id, row.matched_evidence_id, "matched"))
        if row.matched_evidence_id in views:
            pairs.append((row.matched_evidence_id, row.evidence_id, "matched by"))
        for own, other_id, direction in pairs:
            other = await session.get(Evidence, other_id)
            report = await session.get(Report, other.report_id) if other else None
            other_case = report.case_id if report else None
            if other_case is not None and other_case not in seen_cases:
                units = await units_of(session, other_case)
                seen_cases[other_case] = any(me.principal.sees_unit(u) for u in units)
            visible_other = other is not None and other_case is not None and seen_cases[other_case]
            views[own].links.append(
                ImageLink(
                    distance=row.distance,
                    algorithm=row.algorithm,
                    joined=row.joined,
                    direction=direction,
                    other=other if visible_other else None,
                    other_case=other_case if visible_other else None,
                    other_url=(
                        evidence_url(other_case, other.sha256)
                        if visible_other and other is not None and other_case is not None
                        else None
                    ),
                )
            )


async def _assignees(session: AsyncSession, units: Sequence[str]) -> list[Person]:
    """Accounts who can work the case: editors of its units, and coordinators and admins.

    The same rule as the API's `case_actions_api._assignee`, which checks it again on post.
    """
    rows = await session.exec(
        select(Account)
        .where(
            col(Account.role).in_(EDITORS),
            col(Account.disabled).is_(False),
            or_(col(Account.role).in_(GLOBAL_ROLES), col(Account.unit_code).in_(units)),
        )
        .order_by(col(Account.unit_code), col(Account.name), col(Account.id))
    )
    return [Person(a.id, a.name, a.role, a.unit_code) for a in rows.all() if a.id is not None]


async def _other_units(session: AsyncSession, have: Sequence[str]) -> list[Unit]:
    rows = await session.exec(select(Unit).where(Unit.active).order_by(col(Unit.code)))
    return [u for u in rows.all() if u.code not in have]


async def _history(
    session: AsyncSession,
    case: Case,
    reports: Sequence[Report],
    evidence: Sequence[Evidence],
    me: SignedIn,
) -> list[HistoryItem]:
    """The case's audit trail: its changes and views, those of cases merged into it, and
    every view or download of its evidence files."""
    assert case.id is not None
    merged = (await session.exec(select(Case.id).where(Case.merged_into_id == case.id))).all()
    case_ids = {case.id, *(i for i in merged if i is not None)}
    shas = {e.sha256 for e in evidence}
    conditions = [
        (col(AuditEvent.object_type) == "case")
        & col(AuditEvent.object_id).in_([str(i) for i in case_ids])
    ]
    if shas:
        conditions.append(
            (col(AuditEvent.object_type) == "evidence") & col(AuditEvent.object_id).in_(shas)
        )
    rows = list(
        (
            await session.exec(
                select(AuditEvent)
                .where(or_(*conditions))
                .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
                .limit(HISTORY_LIMIT)
            )
        ).all()
    )
    # An evidence file can be in several cases (the same picture reported twice): only this
    # case's views of it belong here.
    rows = [e for e in rows if e.object_type == "case" or (e.details or {}).get("case") in case_ids]
    actors = {
        int(e.actor.split(":", 1)[1])
        for e in rows
        if e.actor.startswith("account:") and e.actor.split(":", 1)[1].isdigit()
    }
    people = await _people(session, actors)
    items = []
    for event in rows:
        actor = event.actor
        if actor.startswith("account:") and actor[8:].isdigit():
            person = people.get(int(actor[8:]))
            actor = person.label if person else actor
        elif actor.startswith("link:delivery:"):
            actor = f"signed link of delivery {actor[14:]}"
        details = [
            (str(k), _detail(v))
            for k, v in sorted((event.details or {}).items())
            if v not in (None, "", [], {})
        ]
        if event.object_type == "case" and event.object_id != str(case.id):
            details.insert(0, ("case", f"#{event.object_id}"))
        items.append(HistoryItem(event.at, actor, event.action, details))
    return items


def _detail(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
