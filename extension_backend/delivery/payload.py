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

- `case.comment`: a message in the case's forum (`Delivery.topic` "comment:<id>") that
  concerns the unit: another unit wrote on a case it has, or the comment mentions it or one
  of its people. Its own shape, built by `build_comment_payload`: `case` (id, urls, status,
  title), `comment` (id, text, author name and unit, time, `url` of the comment on the
  case page), `mentions` (every unit and person mentioned) and `mentioned` (those of the
  receiving unit: highlight them).

Each `evidence[]` entry has a `url`: a link signed for this delivery that serves the
stored copy of the file (EXIF/GPS removed) for `evidence_link_ttl_days`, each view audited
(see `extension_backend.evidence_api`).

Payload fields are only ever added; `version` is bumped only if one changes meaning.
"""

from __future__ import annotations

import time
from html import escape
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import (
    Account,
    Analysis,
    Case,
    CaseComment,
    CaseUnit,
    Delivery,
    Evidence,
    JurisdictionDecision,
    Report,
    SpeciesMatch,
)
from extension_backend.evidence_api import EvidenceLinks
from matching.mentions import segments

#: Bumped when a field changes meaning; fields are only ever added.
PAYLOAD_VERSION = 1

#: The first notification of a case to a unit.
ROUTED = "case.routed"
#: A later report joined a case the unit was already notified of.
UPDATED = "case.updated"
#: A message in the case's forum.
COMMENT = "case.comment"
#: How a forum message's delivery names it (`Delivery.topic`).
COMMENT_TOPIC = "comment:"
#: Characters of a comment quoted in a chat message (Telegram stops at 4,096 in all).
CHAT_QUOTE = 3000


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
    if delivery.topic.startswith(COMMENT_TOPIC):
        return await build_comment_payload(session, delivery, base_url)
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


def comment_url(base_url: str, case_id: int, comment_id: int) -> str:
    """The comment on the case page of the dashboard."""
    return f"{base_url}/app/cases/{case_id}#comment-{comment_id}"


async def build_comment_payload(
    session: AsyncSession, delivery: Delivery, base_url: str
) -> dict[str, Any]:
    """The notification of one forum message to one unit (`event` "case.comment")."""
    comment_id = int(delivery.topic.removeprefix(COMMENT_TOPIC))
    comment = await session.get(CaseComment, comment_id)
    case = await session.get(Case, delivery.case_id)
    if comment is None or case is None:  # pragma: no cover - foreign keys forbid it
        raise LookupError(f"delivery {delivery.id}: comment or case is gone")
    author = await session.get(Account, comment.account_id)
    mentioned_ids = [int(i) for i in comment.mentions.get("accounts", [])]
    people = (
        (await session.exec(select(Account).where(col(Account.id).in_(mentioned_ids)))).all()
        if mentioned_ids
        else []
    )
    by_id = {p.id: p for p in people}
    accounts = [
        {"id": i, "name": by_id[i].name, "unit": by_id[i].unit_code}
        for i in mentioned_ids
        if i in by_id
    ]
    units = [str(u) for u in comment.mentions.get("units", [])]
    report = await session.get(Report, delivery.report_id)
    assert case.id is not None and comment.id is not None
    return {
        "version": PAYLOAD_VERSION,
        "event": COMMENT,
        "delivery_id": delivery.id,
        "idempotency_key": delivery.idempotency_key,
        "case": {
            "id": case.id,
            "url": f"{base_url}/api/v1/cases/{case.id}",
            "page_url": f"{base_url}/app/cases/{case.id}",
            "status": case.status,
            "title": case.title,
            "report_count": case.report_count,
        },
        "reference": report.reference if report is not None else None,
        "priority": case.priority,
        "appendix": case.appendix,
        "unit": {"code": delivery.unit_code},
        "comment": {
            "id": comment.id,
            "text": comment.body,
            "author": {
                "name": (author.name if author is not None else "") or "someone",
                "unit": comment.unit_code,
            },
            "created_at": comment.created_at.isoformat(),
            "url": comment_url(base_url, case.id, comment.id),
        },
        "mentions": {"units": units, "accounts": accounts},
        "mentioned": {
            "unit": delivery.unit_code in units,
            "accounts": [a for a in accounts if a["unit"] == delivery.unit_code],
        },
        "handles": [str(h) for h in comment.mentions.get("handles", [])],
    }


def _author(payload: dict[str, Any]) -> str:
    author = payload["comment"]["author"]
    return author["name"] + (f" ({author['unit']})" if author["unit"] else "")


def _mention_line(payload: dict[str, Any]) -> str | None:
    """Who of the receiving unit the comment mentions, said first so nobody misses it."""
    mentioned = payload["mentioned"]
    names = [a["name"] for a in mentioned["accounts"]]
    if mentioned["unit"]:
        names.insert(0, f"your unit ({payload['unit']['code']})")
    return f"It mentions {', '.join(names)}." if names else None


def comment_subject(payload: dict[str, Any]) -> str:
    """The e-mail subject of a forum message."""
    mention = " (mentions you)" if _mention_line(payload) else ""
    subject = f"[wildflag] case {payload['case']['id']}: comment by {_author(payload)}{mention}"
    return " ".join(subject.split())  # one line, whatever a name holds


def comment_text(payload: dict[str, Any]) -> str:
    """A forum message as plain text, for e-mail bodies: the comment exactly as written."""
    case = payload["case"]
    lines = [
        f"wildflag case {case['id']}: {_author(payload)} wrote in the case's forum"
        + (f" — {case['title']}" if case["title"] else ""),
    ]
    if mention := _mention_line(payload):
        lines.append(mention)
    lines += [
        "",
        payload["comment"]["text"],
        "",
        f"Reply on the case page: {payload['comment']['url']}",
    ]
    return "\n".join(lines)


def comment_html(payload: dict[str, Any], *, link: bool = True) -> str:
    """A forum message for Telegram (`parse_mode` HTML): everything anyone typed escaped,
    the mentions that named someone in bold, long comments cut with a link to the rest.

    `link=False` gives the comment's address as text instead of a link (Telegram refuses
    links to a loopback address, which a service without a `public_url` has).
    """
    case = payload["case"]
    text = payload["comment"]["text"]
    cut = len(text) > CHAT_QUOTE
    if cut:
        text = text[:CHAT_QUOTE]
    body = "".join(
        f"<b>{escape(piece)}</b>" if marked else escape(piece)
        for piece, marked in segments(text, payload.get("handles", []))
    )
    lines = [
        f"<b>wildflag case {case['id']}</b>: {escape(_author(payload))} wrote"
        + (f" — {escape(case['title'][:200])}" if case["title"] else ""),
    ]
    if mention := _mention_line(payload):
        lines.append(f"<b>{escape(mention)}</b>")
    lines += ["", body + ("…" if cut else "")]
    url = escape(payload["comment"]["url"])
    rest = " to read the rest" if cut else ""
    lines.append("")
    lines.append(f'<a href="{url}">Open the comment</a>{rest}' if link else f"Open{rest}: {url}")
    return "\n".join(lines)
