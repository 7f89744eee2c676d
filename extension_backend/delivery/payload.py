"""The notification a unit receives about a case: one builder, used by every channel.

It is read from the database rows intake wrote (case, report, analysis, species matches,
jurisdiction decision, evidence), so every channel says the same thing. It never carries
who reported: the report's account and receipt stay out of it.

`event` says what happened, so a receiver does not open the same case twice:

- `case.routed`: the first notification of this case to this unit (a new case, or one
  rerouted or newly routed to the unit). `update` is null.
- `case.updated`: the unit already had a notification about this case (an earlier
  outbox row for the same case and unit, on any channel, whatever became of it) and a new
  report joined it. `update` is `{"report_count": N, "new_report": "WF-…"}`: the case's
  report count now and the reference of the report that caused this notification. The
  rest of the payload is the whole case as of now, so a receiver that missed the first
  notification can still open the case from an update.

Each `evidence[]` entry has a `url`: a link signed for this delivery that serves the
stored copy of the file (EXIF/GPS removed) for `evidence_link_ttl_days`, each view audited
(see `extension_backend.evidence_api`).

Payload fields are only ever added; `version` is bumped only if one changes meaning.
"""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import (
    Analysis,
    Case,
    CaseUnit,
    Delivery,
    Evidence,
    JurisdictionDecision,
    Report,
    SpeciesMatch,
)
from extension_backend.evidence_api import EvidenceLinks

#: Bumped when a field changes meaning; fields are only ever added.
PAYLOAD_VERSION = 1

#: The first notification of a case to a unit.
ROUTED = "case.routed"
#: A later report joined a case the unit was already notified of.
UPDATED = "case.updated"


async def event_of(session: AsyncSession, delivery: Delivery) -> str:
    """`case.updated` if an earlier row notified this unit of this case, else `case.routed`.

    Any earlier row counts, the dashboard's included (always written, always delivered),
    so the answer does not depend on which channels the unit had then or whether a push
    got through: the unit has had the case since its first row.
    """
    earlier = (
        await session.exec(
            select(Delivery.id)
            .where(
                Delivery.case_id == delivery.case_id,
                Delivery.unit_code == delivery.unit_code,
                Delivery.report_id != delivery.report_id,
                col(Delivery.id) < delivery.id,
            )
            .limit(1)
        )
    ).first()
    return UPDATED if earlier is not None else ROUTED


async def build_payload(
    session: AsyncSession,
    delivery: Delivery,
    base_url: str,
    links: EvidenceLinks | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The JSON-ready notification for one outbox row.

    With `links`, each evidence entry carries a `url` signed for this delivery, valid from
    `now` (Unix seconds) for the links' TTL; without, `url` is null.
    """
    case = await session.get(Case, delivery.case_id)
    report = await session.get(Report, delivery.report_id)
    if case is None or report is None:  # pragma: no cover - foreign keys forbid it
        raise LookupError(f"delivery {delivery.id}: case or report is gone")
    analysis = (
        await session.exec(
            select(Analysis)
            .where(Analysis.report_id == report.id)
            .order_by(col(Analysis.id).desc())
        )
    ).first()
    species: list[dict[str, Any]] = []
    jurisdiction: dict[str, Any] = {"country": case.country, "confidence": None, "signals": []}
    if analysis is not None:
        matches = await session.exec(
            select(SpeciesMatch)
            .where(SpeciesMatch.analysis_id == analysis.id)
            .order_by(col(SpeciesMatch.id))
        )
        species = [m.to_dict() for m in matches]
        decision = (
            await session.exec(
                select(JurisdictionDecision).where(JurisdictionDecision.analysis_id == analysis.id)
            )
        ).first()
        if decision is not None:
            jurisdiction = {
                "country": decision.country,
                "confidence": decision.confidence,
                "signals": decision.signals,
            }
    routed = await session.get(CaseUnit, (delivery.case_id, delivery.unit_code))
    evidence = await session.exec(
        select(Evidence).where(Evidence.report_id == report.id).order_by(col(Evidence.id))
    )
    assert delivery.id is not None and case.id is not None
    case_id, delivery_id = case.id, delivery.id
    issued = time.time() if now is None else now

    def link(sha256: str) -> str | None:
        return links.url(sha256, case_id, delivery_id, issued) if links else None

    references = (
        await session.exec(
            select(Report.reference).where(Report.case_id == case.id).order_by(col(Report.id))
        )
    ).all()
    event = await event_of(session, delivery)
    update = (
        {"report_count": case.report_count, "new_report": report.reference}
        if event == UPDATED
        else None
    )
    return {
        "version": PAYLOAD_VERSION,
        "event": event,
        "update": update,
        "delivery_id": delivery.id,
        "idempotency_key": delivery.idempotency_key,
        "case": {
            "id": case.id,
            "url": f"{base_url}/api/v1/cases/{case.id}",
            "status": case.status,
            "title": case.title,
            "report_count": case.report_count,
        },
        "reference": report.reference,
        "references": list(references),
        "priority": case.priority,
        "appendix": case.appendix,
        "species": species,
        "country": jurisdiction["country"],
        "jurisdiction": jurisdiction,
        "unit": {
            "code": delivery.unit_code,
            "reason": routed.reason if routed is not None else "",
        },
        "report": {
            "reference": report.reference,
            "received_at": report.created_at.isoformat(),
            "url": report.url,
            "title": report.title,
            "text": report.text,
            "price": report.price,
            "currency": report.currency,
            "seller": report.seller,
            "seller_location": report.seller_location,
            "ships_to": report.ships_to,
        },
        "evidence": [
            {
                "kind": e.kind,
                "sha256": e.sha256,
                "original_sha256": e.original_sha256,
                "media_type": e.media_type,
                "size": e.size,
                "width": e.width,
                "height": e.height,
                "url": link(e.sha256),
            }
            for e in evidence
        ],
    }


def summary_text(payload: dict[str, Any]) -> str:
    """The notification as plain text, for e-mail bodies and chat messages."""
    case = payload["case"]
    report = payload["report"]
    species = (
        ", ".join(f"{s['taxon']} (Appendix {s['appendix']})" for s in payload["species"][:5])
        or "none recognised"
    )
    update = payload.get("update")
    lines = [
        f"wildflag case {case['id']}{' update' if update else ''}: {payload['priority']} priority"
        + (f", CITES Appendix {payload['appendix']}" if payload["appendix"] else ""),
    ]
    if update:
        lines.append(
            f"A new report joined this case: {update['new_report']}"
            f" ({update['report_count']} reports in all)"
        )
    lines += [
        f"Report {payload['reference']}" + (f" — {case['title']}" if case["title"] else ""),
        f"Species: {species}",
        f"Country: {payload['country'] or 'unknown'}; routed to {payload['unit']['code']}"
        + (f" ({payload['unit']['reason']})" if payload["unit"]["reason"] else ""),
    ]
    if report["url"]:
        lines.append(f"Listing: {report['url']}")
    if report["seller"] or report["seller_location"]:
        lines.append(f"Seller: {report['seller']} {report['seller_location']}".rstrip())
    if payload["evidence"]:
        # A link names the file by its SHA-256 already; one line per file keeps a chat
        # message with many photos under Telegram's length limit.
        lines.append(f"Evidence: {len(payload['evidence'])} file(s), by SHA-256:")
        lines.extend(f"  {e['kind']} {e.get('url') or e['sha256']}" for e in payload["evidence"])
    lines.append(f"Case: {case['url']}")
    return "\n".join(lines)
