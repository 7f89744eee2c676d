"""A case's forum: messages between the units the case is routed or shared to.

This is the secure exchange between Management Authorities and enforcement that CITES
SC62 asks for. Whoever sees a case reads and writes in its forum: its units' officers,
unit admins and observers (a Management Authority taking part in the exchange changes
nothing about the case), and coordinators and admins on any case. Anyone else gets the
same 404 as for an unknown case.

A comment is the record of the exchange: it is never edited or deleted. Posting one
notifies, through their configured channels (outbox rows with topic "comment:<id>"), the
other units of the case (not the author's own) and every unit or person it @mentions; a
mention of a unit the case is not with is refused ("share it first"), never a silent share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.cases import CaseChangeError, units_of
from db.models import Account, Case, CaseComment, Report, Unit
from db.outbox import deliveries_for
from extension_backend import keys
from extension_backend.accounts import display_names
from extension_backend.auth import GLOBAL_ROLES, Principal
from extension_backend.cases_api import audit, case_id_of, visible_case
from extension_backend.dashboard.web import page, render
from extension_backend.delivery.payload import COMMENT_TOPIC
from extension_backend.web_auth import PEOPLE, SignedIn
from matching.mentions import Person, resolve, segments

routes = web.RouteTableDef()

#: The longest comment, in characters: a message, not a document (evidence is uploaded).
MAX_COMMENT = 5000


class CommentError(ValueError):
    """A comment that cannot be posted as written (the page answers 422 with the text kept)."""


@dataclass(frozen=True, slots=True)
class CommentView:
    """One comment as the forum shows it."""

    comment: CaseComment
    author: str
    pieces: list[tuple[str, bool]]  # the text, with the mentions that named someone marked
    mentioned: list[str]  # units and people it named, for the line under it
    from_case: int | None  # set when it was written on a case since merged into this one


async def forum_section(session: AsyncSession, case: Case, me: SignedIn) -> dict[str, Any]:
    """What the case page's forum shows (template `dashboard/_forum.html`)."""
    assert case.id is not None
    case_ids = await _merged_family(session, case.id)
    comments = list(
        (
            await session.exec(
                select(CaseComment)
                .where(col(CaseComment.case_id).in_(case_ids))
                .order_by(col(CaseComment.created_at), col(CaseComment.id))
            )
        ).all()
    )
    ids = {c.account_id for c in comments}
    for c in comments:
        ids.update(int(i) for i in c.mentions.get("accounts", []))
    names = await display_names(session, ids)
    views = [
        CommentView(
            comment=c,
            author=names.get(c.account_id, "someone"),
            pieces=segments(c.body, c.mentions.get("handles", [])),
            mentioned=[
                *c.mentions.get("units", []),
                *(names.get(int(i), f"account {i}") for i in c.mentions.get("accounts", [])),
            ],
            from_case=c.case_id if c.case_id != case.id else None,
        )
        for c in comments
    ]
    units = await units_of(session, case.id)
    people = await mentionable(session, units)
    return {
        "comments": views,
        "can_post": me.principal.role in PEOPLE and case.status != "merged",
        "units": units,
        "handles": [f"@{p.email.partition('@')[0]}" for p in people if p.email][:30],
        "max_length": MAX_COMMENT,
    }


async def _merged_family(session: AsyncSession, case_id: int) -> list[int]:
    """The case and every case merged into it (at any depth): their forums are its history."""
    found, frontier = [case_id], [case_id]
    while frontier:
        rows = await session.exec(select(Case.id).where(col(Case.merged_into_id).in_(frontier)))
        frontier = [i for i in rows.all() if i is not None and i not in found]
        found += frontier
    return found


async def mentionable(session: AsyncSession, units: list[str]) -> list[Person]:
    """The people who can see a case with these units, and so may be mentioned."""
    rows = await session.exec(
        select(Account)
        .where(
            ~col(Account.disabled),
            col(Account.role).in_(PEOPLE),
            or_(col(Account.unit_code).in_(units), col(Account.role).in_(GLOBAL_ROLES)),
        )
        .order_by(col(Account.id))
    )
    return [
        Person(a.id, a.name, a.email or "", a.unit_code) for a in rows.all() if a.id is not None
    ]


async def add_comment(
    session: AsyncSession, case: Case, principal: Principal, body: str
) -> CaseComment:
    """Store a comment, its notifications and its audit row (the caller commits)."""
    assert case.id is not None
    if case.status == "merged":
        raise CaseChangeError(
            f"case {case.id} was merged into case {case.merged_into_id}; write there"
        )
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise CommentError("Write something first: the comment is empty.")
    if len(text) > MAX_COMMENT:
        raise CommentError(
            f"A comment holds at most {MAX_COMMENT:,} characters; this one has {len(text):,}."
        )
    units = await units_of(session, case.id)
    known = (await session.exec(select(Unit.code))).all()
    people = await mentionable(session, units)
    found = resolve(text, case_units=units, known_units=known, people=people)
    if found.problems:
        raise CommentError("; ".join(found.problems))
    comment = CaseComment(
        case_id=case.id,
        account_id=principal.account_id,
        unit_code=principal.unit_code,
        body=text,
        mentions=found.as_json(),
    )
    session.add(comment)
    await session.flush()
    assert comment.id is not None
    by_id = {p.id: p for p in people}
    notified = [u for u in units if u != principal.unit_code]
    notified += found.units
    notified += [by_id[i].unit_code or "" for i in found.accounts]
    await _notify(session, case.id, comment.id, list(dict.fromkeys(u for u in notified if u)))
    session.add(
        audit(
            principal, "case.commented", case.id, comment=comment.id,
            units=found.units, accounts=found.accounts,
        )
    )  # fmt: skip
    return comment


async def _notify(session: AsyncSession, case_id: int, comment_id: int, codes: list[str]) -> None:
    """Outbox rows for each unit's channels; the case's latest report keys them."""
    latest = (
        await session.exec(
            select(Report.id).where(Report.case_id == case_id).order_by(col(Report.id).desc())
        )
    ).first()
    if latest is None or not codes:
        return
    units = (await session.exec(select(Unit).where(col(Unit.code).in_(codes)))).all()
    for unit in sorted(units, key=lambda u: codes.index(u.code)):
        if unit.active:
            session.add_all(
                deliveries_for(unit, case_id, latest, topic=f"{COMMENT_TOPIC}{comment_id}")
            )


@routes.post("/app/cases/{case_id}/comments")
@page()
async def post_comment(request: web.Request, me: SignedIn) -> web.StreamResponse:
    """Every role that sees the case may write (observers too); then back to the forum."""
    form = await request.post()
    body = str(form.get("body") or "")
    async with request.app[keys.SESSIONS]() as session:
        case = await visible_case(session, me.principal, case_id_of(request))
        try:
            await add_comment(session, case, me.principal, body)
        except CommentError as error:
            return render(
                request,
                "dashboard/comment_form.html",
                me,
                status=422,
                case=case,
                error=str(error),
                body=body,
                max_length=MAX_COMMENT,
            )
        await session.commit()
    raise web.HTTPSeeOther(f"/app/cases/{case.id}#forum")
