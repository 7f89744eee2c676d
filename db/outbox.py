"""Outbox rows: one per destination (unit × channel) for one report of a case, or for
one forum message about it."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from db.models import Delivery, Unit
from db.types import utcnow


def deliveries_for(
    unit: Unit, case_id: int, report_id: int, topic: str = "", *, channels: bool = True
) -> list[Delivery]:
    """A delivery row for every channel of `unit`, for one report of a case
    (`delivery_rows`)."""
    rows = delivery_rows(unit.code, unit.channels, case_id, report_id, topic, channels=channels)
    return [Delivery(**row) for row in rows]


def delivery_rows(
    unit_code: str,
    unit_channels: Sequence[Mapping[str, Any]],
    case_id: int,
    report_id: int,
    topic: str = "",
    *,
    channels: bool = True,
) -> list[dict[str, Any]]:
    """The values of a delivery row for every channel of a unit, for one report of a case.

    `topic` says what it is about: "" a report of the case, "comment:<id>" a forum message
    (then `report_id` is the case's latest report, which the unique destination key needs).

    Every unit sees its cases in the dashboard; that copy is delivered by being stored, so
    its row starts as sent. Each configured channel gets a pending row for the worker,
    unless `channels` is false (a flood of reports of one case: the dashboard row records
    the report, the unit's channels already have a notification coming).
    """
    now = utcnow()
    destinations = [("dashboard", "")] + [
        (str(c.get("type", "")), str(c.get("target", "")))
        for c in (unit_channels if channels else [])
    ]
    rows = []
    for channel, target in destinations:
        delivered = channel == "dashboard"
        rows.append(
            {
                "case_id": case_id,
                "report_id": report_id,
                "unit_code": unit_code,
                "channel": channel,
                "topic": topic,
                "target": target,
                "state": "sent" if delivered else "pending",
                "next_attempt_at": None if delivered else now,
                "delivered_at": now if delivered else None,
                "idempotency_key": secrets.token_hex(16),
            }
        )
    return rows
