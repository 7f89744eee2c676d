"""Exports: the cases and reports a person may see, as CSV or JSON Lines, and the yearly
anonymised figures for the CITES Secretariat.

Downloads are streamed: rows are read in batches (`export_rows`, keyset on id) and written
to the response as they come, so an export of 100,000 cases neither times out nor holds
its rows in memory. Scope is the queue's (`filters.visible_cases`) with the queue's filters
from the query string; a case of another unit is simply not in the file.

Every download is audited (`export.cases`, `export.reports`, `export.secretariat`) with
its filters and the number of rows. The row is written when the stream ends, in a
`finally`, so it is written too when the browser goes away half-way (`complete: false`,
with the rows sent until then); the count is only known then.

Must never: put receipt hashes, idempotency data or addresses in a file; show the
reporter's account to roles other than `export_rows.REPORTER_ROLES`; let an officer or unit
admin download the Secretariat's figures (they span every unit).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from db.models import AuditEvent
from extension_backend import keys
from extension_backend.auth import GLOBAL_ROLES
from extension_backend.dashboard.filters import (
    CHANNELS,
    PRIORITIES,
    STATUSES,
    CaseFilters,
    visible_cases,
)
from extension_backend.dashboard.web import PageError, page, render
from extension_backend.export_rows import (
    REPORTER_ROLES,
    Tally,
    case_columns,
    case_rows,
    encoder_for,
    report_columns,
    report_rows,
    secretariat_csv,
    secretariat_document,
    secretariat_figures,
    stream_rows,
)
from extension_backend.web_auth import SignedIn

routes = web.RouteTableDef()

#: The Secretariat's figures span every unit: coordinators and admins only.
SECRETARIAT_ROLES = GLOBAL_ROLES
#: Years offered on the exports page (the current one and those before it).
YEARS_SHOWN = 5
FIRST_YEAR = 2000

DOWNLOAD_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def filter_details(filters: CaseFilters) -> dict[str, str]:
    """The filters as the audit trail records them: only those that were set."""
    return dict(parse_qsl(filters.query_string()))


def _download_name(stem: str, extension: str) -> str:
    return f"wildflag-{stem}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.{extension}"


async def audit_export(
    request: web.Request, me: SignedIn, action: str, object_id: str, **details: Any
) -> None:
    """One audit row for one download, written in a session of its own."""
    async with request.app[keys.SESSIONS]() as session:
        session.add(
            AuditEvent(
                actor=me.principal.actor,
                action=action,
                object_type="export",
                object_id=object_id,
                details={"role": me.principal.role, "unit": me.principal.unit_code, **details},
            )
        )
        await session.commit()


@routes.get("/app/exports")
@page()
async def exports_page(request: web.Request, me: SignedIn) -> web.Response:
    filters = CaseFilters.from_query(request.query)
    this_year = datetime.now(UTC).year
    return render(
        request,
        "dashboard/exports.html",
        me,
        filters=filters,
        query=filters.query_string(),
        statuses=STATUSES,
        priorities=PRIORITIES,
        channels=CHANNELS,
        global_role=me.principal.role in GLOBAL_ROLES,
        reporter_identity=me.principal.role in REPORTER_ROLES,
        secretariat=me.principal.role in SECRETARIAT_ROLES,
        years=list(range(this_year, this_year - YEARS_SHOWN, -1)),
        suppress_below=_suppress_below(request),
    )


@routes.get(r"/app/exports/{kind:cases|reports}.{fmt:csv|json}")
@page()
async def export_download(request: web.Request, me: SignedIn) -> web.StreamResponse:
    kind, fmt = request.match_info["kind"], request.match_info["fmt"]
    filters = CaseFilters.from_query(request.query)
    principal = me.principal
    cases = filters.apply(visible_cases(principal), principal)
    with_reporter = kind == "reports" and principal.role in REPORTER_ROLES
    columns = case_columns() if kind == "cases" else report_columns(with_reporter=with_reporter)
    encoder = encoder_for(fmt, columns, bom=True)
    response = web.StreamResponse(
        headers={
            **DOWNLOAD_HEADERS,
            "Content-Type": f"{encoder.media_type}; charset=utf-8",
            "Content-Disposition": (
                f'attachment; filename="{_download_name(kind, encoder.extension)}"'
            ),
        }
    )
    await response.prepare(request)
    tally, complete = Tally(), False
    try:
        async with request.app[keys.ENGINE].connect() as connection:
            batches = (
                case_rows(connection, cases)
                if kind == "cases"
                else report_rows(connection, cases, with_reporter=with_reporter)
            )
            await stream_rows(batches, encoder, response.write, tally)
        complete = True
    finally:
        await audit_export(
            request,
            me,
            f"export.{kind}",
            kind,
            format=fmt,
            filters=filter_details(filters),
            rows=tally.rows,
            complete=complete,
            reporter_identity=with_reporter,
        )
    await response.write_eof()
    return response


def _suppress_below(request: web.Request) -> int:
    """The suppression threshold the operator set (`secretariat_suppress_below`)."""
    return request.app[keys.SETTINGS].secretariat_suppress_below


@routes.get(r"/app/exports/secretariat/{year:\d{4}}.{fmt:csv|json}")
@page(roles=SECRETARIAT_ROLES)
async def secretariat_download(request: web.Request, me: SignedIn) -> web.Response:
    year, fmt = int(request.match_info["year"]), request.match_info["fmt"]
    if not FIRST_YEAR <= year <= datetime.now(UTC).year:
        raise PageError(404, f"No figures for {year}.")
    below = _suppress_below(request)
    async with request.app[keys.ENGINE].connect() as connection:
        figures = await secretariat_figures(connection, year)
    now = datetime.now(UTC)
    if fmt == "csv":
        body = secretariat_csv(figures, year=year, below=below, generated_at=now, bom=True)
        content_type = "text/csv"
    else:
        document = secretariat_document(figures, year=year, below=below, generated_at=now)
        body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
        content_type = "application/json"
    await audit_export(
        request,
        me,
        "export.secretariat",
        str(year),
        format=fmt,
        year=year,
        figures=len(figures),
        suppressed_below=below,
    )
    return web.Response(
        body=body,
        headers={
            **DOWNLOAD_HEADERS,
            "Content-Type": f"{content_type}; charset=utf-8",
            "Content-Disposition": (
                f'attachment; filename="wildflag-cites-secretariat-{year}.{fmt}"'
            ),
        },
    )
