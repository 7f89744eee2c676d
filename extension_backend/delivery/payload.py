"""The notification a unit receives about a case: one builder, used by every channel.

It is read from the database rows intake wrote (case, report, analysis, species matches,
jurisdiction decision, evidence), so every channel says the same thing. It never carries
who reported: the report's account and receipt stay out of it.
"""

from __future__ import annotations

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

#: Bumped when a field changes meaning; fields are only ever added.
PAYLOAD_VERSION = 1


async def build_payload(session: AsyncSession, delivery: Delivery, base_url: str) -> dict[str, Any]:
    """The JSON-ready notification for one outbox row."""
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
    references = (
        await session.exec(
            select(Report.reference).where(Report.case_id == case.id).order_by(col(Report.id))
        )
    ).all()
    return {
        "version": PAYLOAD_VERSION,
        "event": "case.routed",
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
    lines = [
        f"wildflag case {case['id']}: {payload['priority']} priority"
        + (f", CITES Appendix {payload['appendix']}" if payload["appendix"] else ""),
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
        lines.append(f"Evidence: {len(payload['evidence'])} file(s), SHA-256:")
        lines.extend(f"  {e['kind']} {e['sha256']}" for e in payload["evidence"])
    lines.append(f"Case: {case['url']}")
    return "\n".join(lines)
