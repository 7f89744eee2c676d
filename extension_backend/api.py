"""The JSON API under /api/v1: reports in, their status out, analysis on demand.

Handlers only translate HTTP to the intake pipeline and back; every decision is made in
`intake` and `matching`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlmodel import col, select

from db.cases import current_case
from db.models import Analysis, Case, CaseUnit, Listing, Report, SpeciesMatch
from extension_backend import keys
from extension_backend.auth import Principal, authenticate_request, same_secret
from extension_backend.client_address import client_address
from extension_backend.errors import ApiError
from extension_backend.intake import IdempotencyKey, Submission, listing_facts
from extension_backend.proof_of_work import PROOF_HEADER
from extension_backend.ratelimit import Limiter
from extension_backend.requests import (
    idempotency_key,
    read_json_body,
    read_report_request,
    validate,
)
from extension_backend.schemas import AnalysisOut, ReceiptOut, ReportStatusOut

routes = web.RouteTableDef()


async def principal_of(request: web.Request) -> Principal | None:
    """The caller (see `auth.authenticate_request`); None for anonymous requests."""
    async with request.app[keys.SESSIONS]() as session:
        return await authenticate_request(session, request)


def client_key(request: web.Request) -> str:
    """The caller's address for per-address limits: the peer's, or behind a trusted
    reverse proxy the client it forwarded for (`client_address`)."""
    address = client_address(request)
    return str(address) if address is not None else "unknown"


def _blocked(request: web.Request) -> bool:
    """Whether the caller's address is in one of the operator's `blocked_networks`."""
    networks = request.app[keys.SETTINGS].blocked_networks
    address = client_address(request) if networks else None
    if address is None:
        return False
    return any(address.version == net.version and address in net for net in networks)


def _limit(wait: int, source: str) -> None:
    """429 with `Retry-After` when a rate limit says to wait."""
    if wait:
        raise ApiError(
            429,
            "rate_limited",
            f"too many reports from this {source}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


async def _anonymous_limiter(request: web.Request) -> Limiter:
    """The higher limit for a report with a valid proof of work, else the base one.

    A bad or spent proof is refused (see `proof_of_work`) rather than demoted to the base
    limit: the client then knows to solve a new one, or to send without.
    """
    checker = request.app[keys.PROOF_OF_WORK]
    proof = checker.check(request.headers.get(PROOF_HEADER))
    if proof is None:
        return request.app[keys.ANON_LIMITER]
    await request.app[keys.INTAKE].spend_proof(proof, checker.clock())
    return request.app[keys.POW_LIMITER]


@routes.get("/api/v1/proof-of-work")
async def get_proof_of_work(request: web.Request) -> web.Response:
    """A signed challenge whose solution, sent as `X-Wildflag-Proof` with an anonymous
    report, earns the higher anonymous limit. Stateless: nothing is stored."""
    checker = request.app[keys.PROOF_OF_WORK]
    if not checker.enabled:
        raise ApiError(404, "not_found", "this service does not offer proof of work")
    return web.json_response(
        checker.issue().model_dump(mode="json"), headers={"Cache-Control": "no-store"}
    )


@routes.post("/api/v1/reports")
async def post_report(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    key = idempotency_key(request)
    principal = await principal_of(request)
    if principal is not None:
        # A token has its own limit: an officer's is generous for a person and stops a
        # script with a leaked token; the bot's covers everyone it relays for.
        limiter = keys.BOT_LIMITER if principal.is_bot else keys.TOKEN_LIMITER
        _limit(await request.app[limiter].hit(f"account:{principal.account_id}"), "token")
    if principal is not None and principal.is_bot:
        # The bot relays the public's reports anonymously, all from its one address: the
        # per-address limit would stop everyone at once, so the bot limits per user itself.
        principal = None
    elif principal is None:
        if _blocked(request):
            raise ApiError(403, "blocked", "reports from this network are not accepted")
        _limit(await (await _anonymous_limiter(request)).hit(client_key(request)), "address")
    data, files = await read_report_request(request, settings)
    report = validate(request.app[keys.SCHEMAS].report, data)
    receipt = await request.app[keys.INTAKE].submit(
        Submission(
            report=report,
            files=files,
            principal=principal,
            idempotency_key=IdempotencyKey.of(key, principal) if key is not None else None,
        )
    )
    body = ReceiptOut.model_validate(receipt.for_reporter(principal is not None))
    # A repeat of a key answers 200 with the first receipt: the client can tell it stored
    # nothing new, and any 2xx is success to a client that only retries.
    headers = {"Idempotent-Replayed": "true"} if receipt.replayed else None
    return web.json_response(
        body.model_dump(mode="json", by_alias=True, exclude_unset=True),
        status=200 if receipt.replayed else 201,
        headers=headers,
    )


async def report_status(
    request: web.Request, reference: str, receipt_token: str | None, principal: Principal | None
) -> dict[str, Any]:
    """A report's status for whoever holds its receipt, or an officer who may see it.

    An unknown reference and a wrong token get the same 404, so references cannot be probed.
    """
    not_found = ApiError(404, "not_found", "no report with this reference for this token")
    async with request.app[keys.SESSIONS]() as session:
        report = (await session.exec(select(Report).where(Report.reference == reference))).first()
        if report is None:
            raise not_found
        case = await session.get(Case, report.case_id)
        assert case is not None
        routed = list(
            (
                await session.exec(
                    select(CaseUnit.unit_code)
                    .where(CaseUnit.case_id == case.id)
                    .order_by(CaseUnit.unit_code)
                )
            ).all()
        )
        if principal is not None:
            allowed = report.account_id == principal.account_id or any(
                principal.sees_unit(code) for code in routed
            )
        else:
            allowed = receipt_token is not None and same_secret(receipt_token, report.receipt_hash)
        if not allowed:
            raise not_found
        analysis = (
            await session.exec(
                select(Analysis)
                .where(Analysis.report_id == report.id)
                .order_by(col(Analysis.id).desc())
            )
        ).first()
        matches = []
        if analysis is not None:
            matches = list(
                (
                    await session.exec(
                        select(SpeciesMatch)
                        .where(SpeciesMatch.analysis_id == analysis.id)
                        .order_by(col(SpeciesMatch.start))
                    )
                ).all()
            )
    body: dict[str, Any] = {
        "reference": report.reference,
        "status": report.status,
        "received_at": report.created_at.isoformat(),
        "species": [m.to_dict() for m in matches],
        "priority": analysis.priority if analysis else "review",
        "routed_to": routed,
    }
    if principal is not None:
        body.update(case_id=case.id, case_status=case.status, duplicate=report.duplicate)
    return ReportStatusOut.model_validate(body).model_dump(
        mode="json", by_alias=True, exclude_unset=True
    )


@routes.get("/api/v1/reports/{reference}")
async def get_report(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    if principal is not None and principal.is_bot:
        principal = None  # the bot alone opens a report only with its receipt token
    token = request.headers.get("X-Receipt-Token")
    if principal is None and not token:
        raise ApiError(401, "unauthorized", "send X-Receipt-Token or a bearer token")
    body = await report_status(request, request.match_info["reference"], token, principal)
    return web.json_response(body, headers={"Cache-Control": "no-store"})


@routes.post("/api/v1/analyze")
async def post_analyze(request: web.Request) -> web.Response:
    data = await read_json_body(request, request.app[keys.SETTINGS])
    listing = validate(request.app[keys.SCHEMAS].analyze, data)
    fields = listing.model_dump()
    analysis = await request.app[keys.INTAKE].analyse(listing_facts(fields))
    out = {"id": fields.get("id"), **analysis.to_dict()}
    principal = await principal_of(request)
    if principal is not None and not principal.is_bot and analysis.url is not None:
        # The pre-check an officer runs before reporting: is this listing already known?
        # Told to authenticated callers only, as on the receipt, never to anonymous ones.
        out.update(await _known_listing(request, analysis.url.key))
    body = AnalysisOut.model_validate(out)
    return web.json_response(body.model_dump(mode="json", by_alias=True, exclude_unset=True))


async def _known_listing(request: web.Request, url_key: str) -> dict[str, Any]:
    """`duplicate`, and the case and its report count when the listing is known."""
    async with request.app[keys.SESSIONS]() as session:
        listing = (await session.exec(select(Listing).where(Listing.url_key == url_key))).first()
        case = await current_case(session, listing.case_id if listing is not None else None)
    if case is None:
        return {"duplicate": False}
    return {"duplicate": True, "case_id": case.id, "case_reports": case.report_count}
