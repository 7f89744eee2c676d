"""Officers act on a case: acknowledge it, assign it, move it through the working states,
close it with an outcome, reopen it.

The same rights as every case change (`cases_api`): an officer, unit admin, coordinator or
admin who sees the case (a unit it is routed to); observers get 403, another unit's case
the same 404 as an unknown one. Each change is one transaction with its audit row; a
change the case's state does not allow (a second acknowledgement, closing a closed case)
is 409 and changes nothing. The Telegram unit-chat buttons call exactly these endpoints,
with the pressing officer's rights (`auth.authenticate_request`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import ConfigDict, Field, model_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from db.cases import (
    acknowledge_case,
    assign_case,
    close_case,
    reopen_case,
    set_case_status,
    units_of,
)
from db.models import Account, Case
from extension_backend import keys
from extension_backend.auth import GLOBAL_ROLES, Principal
from extension_backend.cases_api import (
    EDITORS,
    audit,
    case_id_of,
    case_principal,
    case_view,
    change_request,
    visible_case,
)
from extension_backend.errors import ApiError, invalid
from extension_backend.requests import validate
from extension_backend.schemas import RowId, StrictInput

routes = web.RouteTableDef()
In = TypeVar("In", bound=StrictInput)
#: One change: applied to the case, returns the audit action and its details.
Change = Callable[[AsyncSession, Case, Account], Awaitable[tuple[str, dict[str, Any]]]]

#: Roles that may assign a case to someone other than themselves.
ASSIGNERS = frozenset({"unit_admin"}) | GLOBAL_ROLES


class AckIn(StrictInput):
    note: str = Field("", max_length=1000)


class AssignIn(StrictInput):
    account: RowId | None = Field(
        None, description="The account to assign to; the caller when omitted."
    )
    note: str = Field("", max_length=1000)


WorkingState = Literal[
    "triaged", "under_investigation", "referred_platform", "referred_prosecution"
]  # db.cases.OPEN_STATES after `new`
Outcome = Literal["removed", "seized", "no_offence", "duplicate", "false_positive"]


class StatusIn(StrictInput):
    # `_outcome_with_closed` as JSON Schema, so the OpenAPI document states the rule.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"status": {"const": "closed"}}, "required": ["status"]},
            "then": {"required": ["outcome"], "properties": {"outcome": {"type": "string"}}},
            "else": {"properties": {"outcome": {"type": "null"}}},
        }
    )

    status: WorkingState | Literal["closed", "open"] = Field(
        description="A working state (`triaged`, `under_investigation`, `referred_platform`, "
        "`referred_prosecution`), `closed` (with an outcome), or `open` to reopen a closed "
        "case."
    )
    outcome: Outcome | None = Field(
        None, description="Why it was closed; required with `closed`."
    )  # db.cases.OUTCOMES
    note: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def _outcome_with_closed(self) -> StatusIn:
        if self.status == "closed" and self.outcome is None:
            raise ValueError("closing a case needs an outcome")
        if self.status != "closed" and self.outcome is not None:
            raise ValueError("an outcome is only given when closing")
        return self


async def _action(request: web.Request, model: type[In]) -> tuple[Principal, In]:
    """The caller (an editor) and the body; a button press may post no body at all."""
    if request.can_read_body:
        return await change_request(request, model)
    principal = await case_principal(request, edit=True)
    data = validate(model, {})
    assert isinstance(data, model)
    return principal, data


async def _assignee(
    session: AsyncSession, principal: Principal, case: Case, account_id: int | None
) -> Account:
    """Who gets the case: the caller, or (for unit admins and above) an editor who sees it."""
    if account_id not in (None, principal.account_id) and principal.role not in ASSIGNERS:
        raise ApiError(403, "forbidden", f"a {principal.role} may assign a case only to themselves")
    wanted = principal.account_id if account_id is None else account_id
    account = await session.get(Account, wanted)
    assert case.id is not None
    sees = account is not None and (
        account.role in GLOBAL_ROLES or account.unit_code in await units_of(session, case.id)
    )
    if account is None or account.disabled or account.role not in EDITORS or not sees:
        raise invalid("account", f"no account {wanted} that works on this case's units")
    return account


async def _respond(
    request: web.Request, principal: Principal, case_id: int, change: Change
) -> web.Response:
    async with request.app[keys.SESSIONS]() as session:
        case = await visible_case(session, principal, case_id)
        actor = await session.get(Account, principal.account_id)
        assert actor is not None
        action, details = await change(session, case, actor)
        session.add(case)
        session.add(audit(principal, action, case_id, status=case.status, **details))
        await session.commit()
        body = await case_view(session, case)
    return web.json_response(body)


@routes.post("/api/v1/cases/{case_id}/acknowledge")
async def post_acknowledge(request: web.Request) -> web.Response:
    principal, data = await _action(request, AckIn)

    async def change(
        session: AsyncSession, case: Case, actor: Account
    ) -> tuple[str, dict[str, Any]]:
        acknowledge_case(case, actor)
        return "case.acknowledged", {"note": data.note}

    return await _respond(request, principal, case_id_of(request), change)


@routes.post("/api/v1/cases/{case_id}/assign")
async def post_assign(request: web.Request) -> web.Response:
    principal, data = await _action(request, AssignIn)

    async def change(
        session: AsyncSession, case: Case, actor: Account
    ) -> tuple[str, dict[str, Any]]:
        assignee = await _assignee(session, principal, case, data.account)
        previous = case.assigned_account_id
        assign_case(case, assignee, actor)
        return "case.assigned", {"account": assignee.id, "previous": previous, "note": data.note}

    return await _respond(request, principal, case_id_of(request), change)


@routes.post("/api/v1/cases/{case_id}/status")
async def post_status(request: web.Request) -> web.Response:
    principal, data = await change_request(request, StatusIn)

    async def change(
        session: AsyncSession, case: Case, actor: Account
    ) -> tuple[str, dict[str, Any]]:
        if data.status == "closed":
            assert data.outcome is not None
            close_case(case, data.outcome, actor)
            return "case.closed", {"outcome": data.outcome, "note": data.note}
        if data.status == "open":
            reopen_case(case)
            return "case.reopened", {"note": data.note}
        previous = case.status
        set_case_status(case, data.status, actor)
        return "case.status_changed", {"previous": previous, "note": data.note}

    return await _respond(request, principal, case_id_of(request), change)
