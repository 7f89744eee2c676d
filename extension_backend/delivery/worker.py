"""The outbox worker: claims due Delivery rows, sends them, records what happened.

Safe with several instances on one PostgreSQL database: due rows are claimed in a short
transaction (`SELECT … FOR UPDATE SKIP LOCKED`, then marked `sending` with a lease), so two
workers never hold the same row. On SQLite, the single writer, each claim is an UPDATE
guarded by the same due condition and counts only if it changed the row. Sending happens
outside any transaction. A row whose claimer crashed is due again when its lease expires,
and is sent again with the same Idempotency-Key (at least once; receivers dedupe).

An attempt is counted when it is claimed, not when its result is recorded: a send cut
short by a crash still counts, so `attempts` matches what the receiver may have seen, and
a row that kills every instance that sends it (a poison payload) ends dead after
`delivery_max_attempts` claims instead of crashing the service forever.

It must never lose a row: a failure is recorded on the row (failing, with backoff) or, past
the attempt limit or on a refusal, the row is dead, logged as an error and audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import SessionFactory
from db.models import AuditEvent, Delivery, Unit
from db.types import utcnow
from extension_backend import keys
from extension_backend.delivery.channels import (
    Channels,
    DeliveryError,
    Target,
    build_channels,
)
from extension_backend.delivery.payload import build_payload
from extension_backend.evidence_api import LINKS, EvidenceLinks
from extension_backend.settings import Settings

log = logging.getLogger(__name__)

#: Rows a worker takes: waiting ones, and claims whose lease ran out (a crashed claimer).
DUE_STATES = ("pending", "failing", "sending")

Clock = Callable[[], datetime]
Jitter = Callable[[], float]


def default_jitter() -> float:
    return random.uniform(0.5, 1.5)  # noqa: S311 - spreading retries, not a secret


@dataclass(frozen=True, slots=True)
class Claim:
    """A row this worker holds until `lease_until`."""

    id: int
    lease_until: datetime


class Worker:
    """One instance's delivery loop. Drive `run_once()` in tests; `run()` in the service."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionFactory,
        channels: Channels,
        *,
        clock: Clock = utcnow,
        jitter: Jitter = default_jitter,
        links: EvidenceLinks | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.channels = channels
        self.clock = clock
        self.jitter = jitter
        # The evidence links in payloads; made from the settings (the secret file in the
        # data dir) unless the app passes the ones its evidence route checks against.
        self.links = links or EvidenceLinks.from_settings(settings)

    # -- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Poll forever; a failing poll is logged and retried, never ends the loop."""
        while True:
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery poll failed")
                done = 0
            if not done:
                await asyncio.sleep(self.settings.delivery_poll_seconds)

    async def run_once(self) -> int:
        """Claim what is due, send it all, record the results. Returns how many were claimed."""
        claims = await self.claim()
        await asyncio.gather(*(self.deliver(claim) for claim in claims))
        return len(claims)

    # -- claiming ----------------------------------------------------------------------

    async def claim(self, limit: int | None = None) -> list[Claim]:
        """Take up to `limit` due rows: mark them `sending` with a lease, in one transaction.

        Each claim counts as an attempt. A row whose lease ran out after its last allowed
        attempt (its claimers all stopped before recording a result) is marked dead instead.
        """
        limit = limit or self.settings.delivery_batch_size
        now = self.clock()
        lease_until = now + timedelta(seconds=self.settings.delivery_lease_seconds)
        exhausted = col(Delivery.attempts) >= self.settings.delivery_max_attempts
        due = (
            col(Delivery.state).in_(DUE_STATES),
            col(Delivery.next_attempt_at) <= now,
            ~(exhausted & (col(Delivery.state) == "sending")),
        )
        oldest_due = (
            select(Delivery.id)
            .where(*due)
            .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
            .limit(limit)
        )
        abandoned = (
            col(Delivery.state) == "sending",
            col(Delivery.next_attempt_at) <= now,
            exhausted,
        )
        abandoned_ids = select(Delivery.id).where(*abandoned)
        async with self.sessions() as session, session.begin():
            dialect = session.bind.dialect.name if session.bind else ""
            if dialect == "postgresql":
                # Rows another instance is claiming right now are locked: skip them.
                oldest_due = oldest_due.with_for_update(skip_locked=True)
                abandoned_ids = abandoned_ids.with_for_update(skip_locked=True)
            await self._bury_abandoned(session, abandoned_ids, abandoned, now)
            # On SQLite (one writer, no row locks) this is a single guarded UPDATE: a row
            # another worker took first no longer matches `due` and is not returned.
            result = await session.exec(
                update(Delivery)
                .where(col(Delivery.id).in_(oldest_due.scalar_subquery()), *due)
                .values(
                    state="sending",
                    attempts=col(Delivery.attempts) + 1,
                    next_attempt_at=lease_until,
                    updated_at=now,
                )
                .returning(col(Delivery.id))
            )
            claimed = sorted(int(i) for i in result.scalars().all())
        return [Claim(ident, lease_until) for ident in claimed]

    async def _bury_abandoned(
        self, session: AsyncSession, ids: Any, abandoned: tuple[Any, ...], now: datetime
    ) -> None:
        """Mark dead the rows claimed `delivery_max_attempts` times without a result."""
        error = "claimed for every allowed attempt; each claimer stopped before recording a result"
        result = await session.exec(
            update(Delivery)
            .where(col(Delivery.id).in_(ids.scalar_subquery()), *abandoned)
            .values(state="dead", next_attempt_at=None, last_error=error, updated_at=now)
            .returning(
                col(Delivery.id),
                col(Delivery.case_id),
                col(Delivery.report_id),
                col(Delivery.unit_code),
                col(Delivery.channel),
                col(Delivery.attempts),
            )
        )
        for ident, case_id, report_id, unit, channel, attempts in result.all():
            log.error(
                "delivery %d to %s by %s is dead after %d attempt(s): %s",
                ident, unit, channel, attempts, error,
            )  # fmt: skip
            session.add(
                _dead_event(
                    ident, case_id=case_id, report_id=report_id, unit=unit, channel=channel,
                    attempts=attempts, error=error, retryable=True,
                )
            )  # fmt: skip

    # -- sending -----------------------------------------------------------------------

    async def deliver(self, claim: Claim) -> None:
        """Send one claimed row and record the outcome on it."""
        try:
            async with self.sessions() as session:
                delivery = await session.get(Delivery, claim.id)
                assert delivery is not None
                unit = await session.get(Unit, delivery.unit_code)
                target = _target_of(unit, delivery)
                payload = await build_payload(
                    session,
                    delivery,
                    self.settings.base_url,
                    links=self.links,
                    now=self.clock().timestamp(),
                )
            channel = self.channels.get(delivery.channel)
            if channel is None:
                raise DeliveryError(f"unknown channel {delivery.channel!r}", retryable=False)
            await channel.send(payload, target, delivery.idempotency_key)
        except DeliveryError as exc:
            await self._failed(claim, str(exc), retryable=exc.retryable)
        except Exception as exc:  # a bug or an outage: keep the row, retry later
            log.exception("delivery %d: unexpected error", claim.id)
            await self._failed(claim, f"{type(exc).__name__}: {exc}", retryable=True)
        else:
            await self._sent(claim)

    async def _sent(self, claim: Claim) -> None:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            result = await session.exec(
                update(Delivery)
                .where(*_held(claim))
                .values(
                    state="sent",
                    delivered_at=now,
                    next_attempt_at=None,
                    last_error="",
                    updated_at=now,
                )
            )
        if result.rowcount != 1:
            log.warning("delivery %d was sent after its lease ran out", claim.id)

    async def _failed(self, claim: Claim, error: str, *, retryable: bool) -> None:
        now = self.clock()
        settings = self.settings
        async with self.sessions() as session, session.begin():
            delivery = await session.get(Delivery, claim.id, with_for_update=True)
            if delivery is None or not _still_held(delivery, claim):
                log.warning("delivery %d failed after its lease ran out: %s", claim.id, error)
                return
            attempts = delivery.attempts  # counted when claimed
            delivery.last_error = error[:2000]
            delivery.updated_at = now
            if not retryable or attempts >= settings.delivery_max_attempts:
                delivery.state = "dead"
                delivery.next_attempt_at = None
                log.error(
                    "delivery %d to %s by %s is dead after %d attempt(s): %s",
                    claim.id,
                    delivery.unit_code,
                    delivery.channel,
                    attempts,
                    error,
                )
                session.add(
                    _dead_event(
                        claim.id, case_id=delivery.case_id, report_id=delivery.report_id,
                        unit=delivery.unit_code, channel=delivery.channel, attempts=attempts,
                        error=delivery.last_error, retryable=retryable,
                    )
                )  # fmt: skip
            else:
                delay = min(
                    settings.delivery_backoff_cap_seconds,
                    settings.delivery_backoff_base_seconds * 2 ** (attempts - 1),
                )
                delivery.state = "failing"
                delivery.next_attempt_at = now + timedelta(seconds=delay * self.jitter())
                log.warning(
                    "delivery %d attempt %d failed, retry at %s: %s",
                    claim.id,
                    attempts,
                    delivery.next_attempt_at.isoformat(),
                    error,
                )
            session.add(delivery)


def _dead_event(
    delivery_id: int,
    *,
    case_id: int,
    report_id: int,
    unit: str,
    channel: str,
    attempts: int,
    error: str,
    retryable: bool,
) -> AuditEvent:
    """The audit record of a delivery given up on: operators are alerted from these."""
    return AuditEvent(
        actor="system",
        action="delivery.dead",
        object_type="delivery",
        object_id=str(delivery_id),
        details={
            "case_id": case_id,
            "report_id": report_id,
            "unit": unit,
            "channel": channel,
            "attempts": attempts,
            "error": error,
            "retryable": retryable,
        },
    )


def _held(claim: Claim) -> tuple[object, ...]:
    """The row is still ours: sending, with the lease we set."""
    return (
        col(Delivery.id) == claim.id,
        col(Delivery.state) == "sending",
        col(Delivery.next_attempt_at) == claim.lease_until,
    )


def _still_held(delivery: Delivery, claim: Claim) -> bool:
    return delivery.state == "sending" and delivery.next_attempt_at == claim.lease_until


def _target_of(unit: Unit | None, delivery: Delivery) -> Target:
    """The unit's channel entry this row was written for, with its secret."""
    for entry in unit.channels if unit else []:
        if entry.get("type") == delivery.channel and entry.get("target", "") == delivery.target:
            return Target(address=delivery.target, secret=str(entry.get("secret", "")))
    # The channel was removed from the unit after the row was written: send without it.
    return Target(address=delivery.target)


#: The running worker of an app (absent when `delivery_worker` is off).
WORKER = web.AppKey("delivery_worker", Worker)


async def delivery_context(app: web.Application) -> AsyncIterator[None]:
    """A cleanup context that runs the worker beside the app (`delivery_worker` setting)."""
    settings = app[keys.SETTINGS]
    if not settings.delivery_worker:
        yield
        return
    async with aiohttp.ClientSession() as http:
        channels = build_channels(http, settings)
        worker = Worker(settings, app[keys.SESSIONS], channels, links=app[LINKS])
        app[WORKER] = worker
        task = asyncio.create_task(worker.run(), name="wildflag-delivery")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
