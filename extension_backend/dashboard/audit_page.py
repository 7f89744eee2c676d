"""The audit page: who viewed evidence, exported, changed a case or signed in, and when.

Unit admins see the events that concern their unit, coordinators and admins every event;
officers and observers none (403). An event concerns unit U when:

- it is about a case routed or shared to U (`object_type` "case", the case id), or about
  one of its evidence files (`evidence.viewed` names the case in `details.case`), one of
  its reports (`report.received`: `details.case_id`) or a delivery to U (`details.unit`);
- it is about one of U's accounts (sign-ins, passwords, Telegram links) or U itself;
- one of U's people did it (their exports, their views of shared cases).

The page filters by action (exactly, or a family: "export" is every `export.*`), actor
("account:12", or just 12; "cli", "system"), object ("case:12", or a type alone, "case")
and date; newest first, a page at a time (keyset on id: `before=<id>`). The CSV download
carries the same filters, streams like the case exports and is itself audited
(`export.audit`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiMapping
from sqlalchemy import String, cast, literal, or_
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from db.models import Account, AuditEvent, CaseUnit
from extension_backend import keys
from extension_backend.auth import GLOBAL_ROLES, Principal
from extension_backend.dashboard.exports import DOWNLOAD_HEADERS, audit_export
from extension_backend.dashboard.filters import start_of
from extension_backend.dashboard.web import PageError, page, render
from extension_backend.export_rows import AUDIT_COLUMNS, Tally, audit_rows, encoder_for, stream_rows
from extension_backend.web_auth import SignedIn

routes = web.RouteTableDef()

AUDIT_ROLES = frozenset({"unit_admin"}) | GLOBAL_ROLES
PAGE_SIZE = 100
MAX_TEXT = 100


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What the audit page was asked to show. Empty strings mean "any"."""

    action: str = ""
    actor: str = ""
    object: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_query(cls, query: MultiMapping[str]) -> AuditFilters:
        values = {f.name: str(query.get(f.name, "")).strip() for f in fields(cls)}
        for name in ("action", "actor", "object"):
            if len(values[name]) > MAX_TEXT:
                raise PageError(400, f"{name.capitalize()}: at most {MAX_TEXT} characters.")
        if values["actor"].isdigit():
            values["actor"] = f"account:{values['actor']}"
        parsed: dict[str, Any] = dict(values)
        for name in ("since", "until"):
            try:
                parsed[name] = date.fromisoformat(values[name]) if values[name] else None
            except ValueError:
                raise PageError(400, f"{name.capitalize()} is a date, e.g. 2026-11-28.") from None
        return cls(**parsed)

    def query_string(self, **changes: Any) -> str:
        pairs = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        return urlencode({k: str(v) for k, v in pairs.items() if v not in ("", None)})

    def details(self) -> dict[str, str]:
        return {f.name: str(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)}

    def apply(self, query: SelectOfScalar[AuditEvent]) -> SelectOfScalar[AuditEvent]:
        if self.action:
            family = self.action.rstrip(".")
            query = query.where(
                or_(
                    col(AuditEvent.action) == self.action,
                    col(AuditEvent.action).startswith(family + ".", autoescape=True),
                )
            )
        if self.actor:
            query = query.where(AuditEvent.actor == self.actor)
        if self.object:
            kind, _, ident = self.object.partition(":")
            query = query.where(AuditEvent.object_type == kind.strip())
            if ident.strip():
                query = query.where(AuditEvent.object_id == ident.strip())
        if self.since:
            query = query.where(col(AuditEvent.at) >= start_of(self.since))
        if self.until:
            query = query.where(col(AuditEvent.at) < start_of(self.until + timedelta(days=1)))
        return query


def visible_events(principal: Principal) -> SelectOfScalar[AuditEvent]:
    """The audit events `principal` may read (see the module's docstring)."""
    query = select(AuditEvent)
    if principal.role in GLOBAL_ROLES:
        return query
    unit = principal.unit_code or ""
    case_ids = select(cast(CaseUnit.case_id, String)).where(CaseUnit.unit_code == unit)
    accounts = select(cast(Account.id, String)).where(Account.unit_code == unit)
    actors = select(literal("account:") + cast(Account.id, String)).where(Account.unit_code == unit)
    details = col(AuditEvent.details)
    kind = col(AuditEvent.object_type)
    return query.where(
        or_(
            (kind == "case") & col(AuditEvent.object_id).in_(case_ids),
            # Compared as text: SQLite's JSON_EXTRACT gives a number, PostgreSQL's ->> text.
            (kind == "evidence") & cast(details["case"].as_string(), String).in_(case_ids),
            (kind == "report") & cast(details["case_id"].as_string(), String).in_(case_ids),
            (kind == "delivery") & (details["unit"].as_string() == unit),
            (kind == "account") & col(AuditEvent.object_id).in_(accounts),
            (kind == "unit") & (col(AuditEvent.object_id) == unit),
            col(AuditEvent.actor).in_(actors),
        )
    )


async def _actor_names(request: web.Request, events: list[AuditEvent]) -> dict[str, str]:
    """ "account:12" → "Alice (officer, GB)" for the accounts on the page."""
    ids = {
        int(e.actor[8:]) for e in events if e.actor.startswith("account:") and e.actor[8:].isdigit()
    }
    if not ids:
        return {}
    async with request.app[keys.SESSIONS]() as session:
        accounts = (await session.exec(select(Account).where(col(Account.id).in_(ids)))).all()
    return {
        f"account:{a.id}": f"{a.name or a.email or 'account'} ({a.role}"
        + (f", {a.unit_code})" if a.unit_code else ")")
        for a in accounts
    }


@routes.get("/app/audit")
@page(roles=AUDIT_ROLES)
async def audit_page(request: web.Request, me: SignedIn) -> web.Response:
    filters = AuditFilters.from_query(request.query)
    before = request.query.get("before", "")
    if before and not before.isdigit():
        raise PageError(400, "Before is an event number.")
    query = filters.apply(visible_events(me.principal))
    if before:
        query = query.where(col(AuditEvent.id) < int(before))
    async with request.app[keys.SESSIONS]() as session:
        events = list(
            (
                await session.exec(query.order_by(col(AuditEvent.id).desc()).limit(PAGE_SIZE + 1))
            ).all()
        )
        actions = sorted(set((await session.exec(select(AuditEvent.action).distinct())).all()))
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    return render(
        request,
        "dashboard/audit.html",
        me,
        events=events,
        names=await _actor_names(request, events),
        filters=filters,
        query=filters.query_string(),
        older=filters.query_string(before=events[-1].id) if more and events else None,
        newest=bool(before),
        actions=actions,
        scope="every unit" if me.principal.role in GLOBAL_ROLES else me.principal.unit_code,
    )


@routes.get("/app/audit.csv")
@page(roles=AUDIT_ROLES)
async def audit_download(request: web.Request, me: SignedIn) -> web.StreamResponse:
    filters = AuditFilters.from_query(request.query)
    events = filters.apply(visible_events(me.principal))
    encoder = encoder_for("csv", AUDIT_COLUMNS, bom=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response = web.StreamResponse(
        headers={
            **DOWNLOAD_HEADERS,
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="wildflag-audit-{stamp}.csv"',
        }
    )
    await response.prepare(request)
    tally, complete = Tally(), False
    try:
        async with request.app[keys.ENGINE].connect() as connection:
            await stream_rows(audit_rows(connection, events), encoder, response.write, tally)
        complete = True
    finally:
        await audit_export(
            request,
            me,
            "export.audit",
            "audit",
            format="csv",
            filters=filters.details(),
            rows=tally.rows,
            complete=complete,
        )
    await response.write_eof()
    return response
