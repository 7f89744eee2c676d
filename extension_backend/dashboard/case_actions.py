"""The case page's forms: acknowledge, assign, set status, close, reopen, reroute, share,
merge and split.

Each is a POST guarded by `@page(roles=EDITORS)` (observers get 403, a missing CSRF token
403 before anything is read) that does what the JSON API does, with the API's own helpers
and rules: the same `db.cases` function, the same scope (`visible_case`: another unit's case
is the same 404 as an unknown one, for the case and for a merge target), the same audit row
(`cases_api.audit`, marked `via: dashboard`), one transaction. Then post/redirect/get back
to the case with a notice. A change the case's state does not allow (`CaseChangeError`) or
a value that makes no sense re-renders the case page with the message and the API's status
(409, 422, 403, 404), and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from multidict import MultiDictProxy
from sqlmodel.ext.asyncio.session import AsyncSession

from db.cases import (
    CaseChangeError,
    acknowledge_case,
    assign_case,
    close_case,
    merge_cases,
    reopen_case,
    reroute_case,
    set_case_status,
    share_case,
    split_case,
)
from db.models import Account, Case, Unit
from extension_backend import keys
from extension_backend.case_actions_api import AckIn, AssignIn, StatusIn, _assignee
from extension_backend.cases_api import MergeIn, RerouteIn, SplitIn, audit, visible_case
from extension_backend.dashboard.case_page import case_id_param, show_case, visible
from extension_backend.dashboard.web import EDITORS, page, redirect
from extension_backend.errors import ApiError
from extension_backend.requests import validate
from extension_backend.schemas import StrictInput
from extension_backend.web_auth import SignedIn

routes = web.RouteTableDef()
In = TypeVar("In", bound=StrictInput)


@dataclass(frozen=True, slots=True)
class Done:
    """What a change did: the audit action and details, and where to go next."""

    action: str
    details: dict[str, Any]
    notice: str
    go_to: int | None = None  # another case to show (merge: the target)
    query: dict[str, str | int] | None = None


Change = Callable[[AsyncSession, Case, Account], Awaitable[Done]]


class FormError(Exception):
    """A form that cannot be done as filled in; the case page shows the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _form_of(model: type[In], data: dict[str, Any]) -> In:
    """The form's values checked by the API's input model (the same limits as the API)."""
    try:
        checked = validate(model, data)
    except ApiError as error:
        raise FormError(error.status, error.message) from None
    assert isinstance(checked, model)
    return checked


def _text(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


async def _act(request: web.Request, me: SignedIn, change: Change) -> web.StreamResponse:
    """Run one change in one transaction with its audit row, then redirect to the case."""
    case_id = case_id_param(request)
    try:
        async with request.app[keys.SESSIONS]() as session:
            case = await visible(session, me, case_id)
            actor = await session.get(Account, me.principal.account_id)
            assert actor is not None
            done = await change(session, case, actor)
            session.add(case)
            session.add(audit(me.principal, done.action, case_id, via="dashboard", **done.details))
            await session.commit()
    except CaseChangeError as error:
        return await show_case(request, me, case_id, status=409, error=str(error))
    except FormError as error:
        return await show_case(request, me, case_id, status=error.status, error=error.message)
    raise redirect(f"/app/cases/{done.go_to or case_id}", notice=done.notice, **(done.query or {}))


@routes.post("/app/cases/{case_id}/acknowledge")
@page(roles=EDITORS)
async def acknowledge(request: web.Request, me: SignedIn) -> web.StreamResponse:
    form = await request.post()

    async def change(session: AsyncSession, case: Case, actor: Account) -> Done:
        data = _form_of(AckIn, {"note": _text(form, "note")})
        acknowledge_case(case, actor)
        return Done("case.acknowledged", {"status": case.status, "note": data.note}, "acknowledged")

    return await _act(request, me, change)


@routes.post("/app/cases/{case_id}/assign")
@page(roles=EDITORS)
async def assign(request: web.Request, me: SignedIn) -> web.StreamResponse:
    form = await request.post()

    async def change(session: AsyncSession, case: Case, actor: Account) -> Done:
        wanted = _text(form, "account")
        if wanted and not wanted.isdigit():
            raise FormError(422, "Choose someone from the list.")
        data = _form_of(
            AssignIn, {"account": int(wanted) if wanted else None, "note": _text(form, "note")}
        )
        try:
            assignee = await _assignee(session, me.principal, case, data.account)
        except ApiError as error:
            raise FormError(error.status, error.message) from None
        previous = case.assigned_account_id
        assign_case(case, assignee, actor)
        details = {
            "status": case.status,
            "account": assignee.id,
            "previous": previous,
            "note": data.note,
        }
        return Done("case.assigned", details, "assigned")

    return await _act(request, me, change)


@routes.post("/app/cases/{case_id}/status")
@page(roles=EDITORS)
async def status(request: web.Request, me: SignedIn) -> web.StreamResponse:
    form = await request.post()

    async def change(session: AsyncSession, case: Case, actor: Account) -> Done:
        data = _form_of(StatusIn, {"status": _text(form, "status"), "note": _text(form, "note")})
        if data.status in ("closed", "open"):
            raise FormError(422, "Close or reopen a case with its own button.")
        previous = case.status
        set_case_status(case, data.status, actor)
        details = {"status": case.status, "previous": previous, "note": data.note}
        return Done("case.status_changed", details, "status")

    return await _act(request, me, change)


@routes.post("/app/cases/{case_id}/close")
@page(roles=EDITORS)
async def close(request: web.Request, me: SignedIn) -> web.StreamResponse:
    form = await request.post()

    async def change(session: AsyncSession, case: Case, actor: Account) -> Done:
        outcome = _text(form, "outcome") or None
        data = _form_of(
            StatusIn, {"status": "closed", "outcome": outcome, "note": _text(form, "note")}
        )
        assert data.outcome is not None
        close_case(case, data.outcome, actor)
        details = {"status": case.status, "outcome": data.outcome, "note": data.note}
        return Done("case.closed", details, "closed")

    return await _act(request, me, change)


@routes.post("/app/cases/{case_id}/reopen")
@page(roles=EDITORS)
async def reopen(request: web.Request, me: SignedIn) -> web.StreamResponse:
    form = await request.post()

    async def change(session: AsyncSession, case: Case, actor: Account) -> Done:
        data = _form_of(StatusIn, {"status": "open", "note": _text(form, "note")})
        reopen_case(case)
        return Done("case.reopened", {"status": case.status, "note": data.note}, "reopened")

    return await _act(request, me, change)


async def _unit(session: AsyncSession, code: str) -> Unit:
    unit = await session.get(Unit, code.upper())
    if unit is None or not unit.active:
        raise FormError(422, f"No active unit {code!r}.")
    return unit


@routes.post("/app/cases/{case_id}/reroute")
@page(roles=EDITORS)
async def reroute(request: web.Request, me: SignedIn) -> web.StreamResponse:
    form = await request.post()

    async def change(session: AsyncSession, case: Case, actor: Account) -> Done:
        data = _form_of(RerouteIn, {"unit": _text(form, "unit"), "reason": _text(form, "reason")})
        unit = await _unit(session, data.unit)
        await reroute_case(session, case, unit, data.reason)
        return Done("case.rerouted", {"unit": unit.code, "reason": data.reason}, "rerouted")

    return await _act(request, me, change)


@routes.post("/app/cases/{case_id}/share")
@page(roles=EDITORS)
async def share(request: web.Request, me: SignedIn) -> web.StreamResponse:
    form = await request.post()

    async def change(session: AsyncSession, case: Case, actor: Account) -> Done:
        # The same limits as a reroute: a unit code and a reason the receiving unit reads.
        data = _form_of(RerouteIn, {"unit": _text(form, "unit"), "reason": _text(form, "reason")})
        unit = await _unit(session, data.unit)
        await share_case(session, case, unit, data.reason)
        return Done("case.shared", {"unit": unit.code, "reason": data.reason}, "shared")

    return await _act(request, me, change)


@routes.post("/app/cases/{case_id}/merge")
@page(roles=EDITORS)
async def merge(request: web.Request, me: SignedIn) -> web.StreamResponse:
    form = await request.post()

    async def change(session: AsyncSession, case: Case, actor: Account) -> Done:
        into = _text(form, "into").lstrip("#")
        if not into.isdigit() or len(into) > 18:
            raise FormError(422, "Give the number of the case to merge into.")
        data = _form_of(MergeIn, {"into": int(into), "reason": _text(form, "reason")})
        try:
            target = await visible_case(session, me.principal, data.into)
        except ApiError as error:
            if error.status == 404:  # unknown and another unit's: the same answer
                raise FormError(404, f"No case #{data.into} that you can see.") from None
            raise
        await merge_cases(session, case, target)
        details = {"into": target.id, "reason": data.reason}
        return Done(
            "case.merged", details, "merged", go_to=target.id, query={"source": case.id or 0}
        )

    return await _act(request, me, change)


@routes.post("/app/cases/{case_id}/split")
@page(roles=EDITORS)
async def split(request: web.Request, me: SignedIn) -> web.StreamResponse:
    form = await request.post()

    async def change(session: AsyncSession, case: Case, actor: Account) -> Done:
        references = [str(r).strip() for r in form.getall("reports", []) if str(r).strip()]
        if not references:
            raise FormError(422, "Tick the reports that belong in a new case.")
        data = _form_of(SplitIn, {"reports": references, "reason": _text(form, "reason")})
        new = await split_case(session, case, data.reports)
        details = {"into": new.id, "reports": data.reports, "reason": data.reason}
        return Done("case.split", details, "split", query={"new": new.id or 0})

    return await _act(request, me, change)
