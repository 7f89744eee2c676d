"""Evidence files on the case page: `GET /app/cases/{id}/evidence/{sha256}[?download=1]`.

The signed-in counterpart of `evidence_api`'s token route, with its rules: the case must
be visible to the reader and the file must belong to that case (following merges), else
the one 404 page; only the stored copy (EXIF/GPS stripped at intake) is served; a page
snapshot is always an attachment, never rendered in our origin; nothing is cached. Every
view writes an `evidence.viewed` audit event and every download `evidence.downloaded`:
together they are the custody record (who, when, which file, which case), and the response
carries the file's SHA-256 so a downloaded copy can be checked against it.
"""

from __future__ import annotations

import asyncio
import base64
import logging

from aiohttp import web

from db.models import AuditEvent
from extension_backend import keys
from extension_backend.dashboard.case_page import NOT_FOUND, case_id_param, visible
from extension_backend.dashboard.web import PageError, page
from extension_backend.evidence_api import SHA256, _file_headers, evidence_of_case
from extension_backend.web_auth import SignedIn

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


@routes.get("/app/cases/{case_id}/evidence/{sha256}")
@page()
async def case_evidence(request: web.Request, me: SignedIn) -> web.StreamResponse:
    case_id = case_id_param(request)
    sha256 = request.match_info["sha256"]
    download = request.query.get("download") == "1"
    async with request.app[keys.SESSIONS]() as session:
        await visible(session, me, case_id)
        if not SHA256.fullmatch(sha256):
            raise PageError(404, NOT_FOUND)
        evidence = await evidence_of_case(session, sha256, case_id)
        if evidence is None:
            raise PageError(404, NOT_FOUND)
        try:
            data = await asyncio.to_thread(request.app[keys.STORE].read, sha256)
        except FileNotFoundError:
            log.error("evidence %s of case %d is in the database but not on disk", sha256, case_id)
            raise PageError(404, NOT_FOUND) from None
        session.add(
            AuditEvent(
                actor=me.principal.actor,
                action="evidence.downloaded" if download else "evidence.viewed",
                object_type="evidence",
                object_id=sha256,
                details={
                    "sha256": sha256,
                    "original_sha256": evidence.original_sha256,
                    "case": case_id,
                    "via": "dashboard",
                    "unit": me.principal.unit_code,
                    "kind": evidence.kind,
                },
            )
        )
        await session.commit()
    headers = _file_headers(evidence, case_id)
    if download:
        headers["Content-Disposition"] = headers["Content-Disposition"].replace(
            "inline;", "attachment;"
        )
    digest = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
    headers["Digest"] = f"sha-256={digest}"
    headers["Repr-Digest"] = f"sha-256=:{digest}:"
    headers["X-Evidence-SHA256"] = sha256
    headers["X-Evidence-Original-SHA256"] = evidence.original_sha256
    return web.Response(body=data, headers=headers)
