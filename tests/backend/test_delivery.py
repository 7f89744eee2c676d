"""The delivery worker and its channels, against a real webhook receiver on loopback.

Each test runs on SQLite and on PostgreSQL. The worker is driven with `run_once()` and a
fake clock (no sleeping, no timing assertions), except one test that checks the app starts
it by itself.
"""

from __future__ import annotations

import asyncio
import email
import json
import socket
import time
from collections import Counter
from datetime import datetime, timedelta
from email.policy import default
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from db.engine import create_engine, session_factory
from db.models import AuditEvent, Delivery
from db.types import utcnow
from extension_backend.delivery.channels import DeliveryError, Target, build_channels
from extension_backend.delivery.signing import sign, verify_signature
from extension_backend.delivery.worker import Worker
from extension_backend.settings import Settings
from tests.backend.conftest import set_channels
from tests.helpers import IVORY

SECRET = "test-secret-of-the-gb-unit"


class Receiver:
    """A unit's webhook endpoint: records every POST, answers from a script, dedupes by key."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[int] = []  # statuses to answer first; then 200
        self.new_keys: list[str] = []  # keys seen for the first time (the receiver's dedupe)
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        self.requests.append({"path": request.path, "headers": dict(request.headers), "body": body})
        status = self.script.pop(0) if self.script else 200
        key = request.headers.get("Idempotency-Key", "")
        if status == 200 and key not in self.new_keys:
            self.new_keys.append(key)
        return web.json_response({"ok": status == 200}, status=status)

    def keys(self) -> Counter[str]:
        return Counter(r["headers"]["Idempotency-Key"] for r in self.requests)


@pytest.fixture
async def receiver(aiohttp_server: Any) -> Any:
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", recv.handle)
    server = await aiohttp_server(app)
    recv.url = str(server.make_url("/hook"))  # type: ignore[attr-defined]
    recv.server = server  # type: ignore[attr-defined]
    return recv


class FakeClock:
    def __init__(self) -> None:
        self.now = utcnow() + timedelta(seconds=1)  # after intake's rows became due

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def workers(settings: Settings) -> Any:
    """Makes workers, each with its own engine and HTTP session, closed after the test."""
    opened: list[Any] = []

    async def make(clock: FakeClock | None = None, **overrides: Any) -> Worker:
        s = settings.model_copy(update={"delivery_worker": False, **overrides})
        engine = create_engine(s.effective_database_url)
        http = aiohttp.ClientSession()
        opened.append((engine, http))
        channels = build_channels(http, s)
        return Worker(
            s, session_factory(engine), channels, clock=clock or FakeClock(), jitter=lambda: 1.0
        )

    yield make
    for engine, http in opened:
        await http.close()
        await engine.dispose()


@pytest.fixture
async def api(make_client: Any, settings: Settings) -> Any:
    """The service without its own worker: the tests drive one."""
    return await make_client(settings.model_copy(update={"delivery_worker": False}))


async def report(api: Any, **changes: str) -> dict[str, Any]:
    response = await api.post("/api/v1/reports", json={**IVORY, **changes})
    assert response.status == 201, await response.text()
    return await response.json()


async def one_delivery(peek: Any, channel: str = "webhook") -> Delivery:
    [row] = await peek.rows(Delivery, Delivery.channel == channel)
    return row


def webhook(url: str) -> list[dict[str, Any]]:
    return [{"type": "webhook", "target": url, "secret": SECRET}]


async def test_webhook_gets_one_signed_post_and_the_row_is_sent(
    settings, api, peek, receiver, workers
):
    await set_channels(settings, "GB", webhook(receiver.url))
    receipt = await report(api)
    dashboard_before = await one_delivery(peek, "dashboard")
    clock = FakeClock()
    worker = await workers(clock)

    assert await worker.run_once() == 1
    assert await worker.run_once() == 0  # nothing left to send

    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    assert headers["X-Wildflag-Signature"].startswith("sha256=")
    assert verify_signature(
        SECRET, headers["X-Wildflag-Timestamp"], body, headers["X-Wildflag-Signature"],
        now=time.time(),
    )  # fmt: skip
    payload = json.loads(body)
    assert payload["reference"] == receipt["reference"]
    assert payload["references"] == [receipt["reference"]]
    assert (payload["priority"], payload["appendix"], payload["country"]) == ("critical", "I", "GB")
    assert payload["unit"]["code"] == "GB" and payload["unit"]["reason"]
    assert any(s["appendix"] in ("I", "I/II") for s in payload["species"])
    assert payload["jurisdiction"]["signals"]
    assert payload["case"]["url"] == f"http://wildflag.test/api/v1/cases/{payload['case']['id']}"
    assert payload["report"]["url"] == IVORY["url"]
    assert "receipt" not in json.dumps(payload)  # nothing about who reported

    row = await one_delivery(peek)
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.delivered_at == clock.now and row.next_attempt_at is None
    assert headers["Idempotency-Key"] == row.idempotency_key
    assert await one_delivery(peek, "dashboard") == dashboard_before  # untouched


async def test_a_receiver_that_fails_three_times_gets_it_with_backoff(
    settings, api, peek, receiver, workers
):
    await set_channels(settings, "GB", webhook(receiver.url))
    await report(api)
    receiver.script = [500, 503, 429]
    clock = FakeClock()
    worker = await workers(clock, delivery_backoff_base_seconds=10, delivery_backoff_cap_seconds=25)

    for attempt, delay in ((1, 10), (2, 20), (3, 25)):  # base * 2**n, capped
        assert await worker.run_once() == 1
        row = await one_delivery(peek)
        assert (row.state, row.attempts) == ("failing", attempt)
        assert row.last_error.startswith("HTTP ")
        assert row.next_attempt_at == clock.now + timedelta(seconds=delay)
        clock.advance(delay - 1)
        assert await worker.run_once() == 0  # not due yet
        clock.advance(1)

    assert await worker.run_once() == 1
    row = await one_delivery(peek)
    assert (row.state, row.attempts, row.last_error) == ("sent", 4, "")
    assert len(receiver.requests) == 4 and len(receiver.keys()) == 1  # one key, every try


async def test_a_refusal_is_dead_at_once_and_audited(settings, api, peek, receiver, workers):
    await set_channels(settings, "GB", webhook(receiver.url))
    await report(api)
    receiver.script = [410]
    worker = await workers()

    assert await worker.run_once() == 1
    row = await one_delivery(peek)
    assert (row.state, row.attempts, row.next_attempt_at) == ("dead", 1, None)
    assert "410" in row.last_error
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "delivery.dead")
    assert event.object_id == str(row.id) and event.actor == "system"
    assert event.details["unit"] == "GB" and event.details["retryable"] is False
    assert await worker.run_once() == 0


async def test_a_delivery_is_dead_after_the_attempt_limit(settings, api, peek, receiver, workers):
    await set_channels(settings, "GB", webhook(receiver.url))
    await report(api)
    receiver.script = [500, 500]
    clock = FakeClock()
    worker = await workers(clock, delivery_max_attempts=2, delivery_backoff_base_seconds=5)

    assert await worker.run_once() == 1
    clock.advance(5)
    assert await worker.run_once() == 1
    row = await one_delivery(peek)
    assert (row.state, row.attempts) == ("dead", 2)
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "delivery.dead")
    assert event.details["attempts"] == 2 and event.details["retryable"] is True


async def test_a_crashed_claim_is_delivered_after_the_lease(settings, api, peek, receiver, workers):
    await set_channels(settings, "GB", webhook(receiver.url))
    await report(api)
    clock = FakeClock()
    crashed = await workers(clock, delivery_lease_seconds=60)
    survivor = await workers(clock, delivery_lease_seconds=60)

    # An instance claims the row, sends it, and dies before recording the result.
    [claim] = await crashed.claim()
    row = await one_delivery(peek)
    assert row.state == "sending" and row.next_attempt_at == claim.lease_until
    payload = {"crashed": True}
    await crashed.channels["webhook"].send(
        payload, Target(receiver.url, SECRET), row.idempotency_key
    )

    assert await survivor.run_once() == 0  # still leased
    clock.advance(61)
    assert await survivor.run_once() == 1

    row = await one_delivery(peek)
    assert (row.state, row.attempts) == ("sent", 2)  # the crashed attempt counts too
    assert len(receiver.requests) == 2  # at least once: sent again after the crash…
    assert list(receiver.keys()) == [row.idempotency_key]  # …with the same key,
    assert receiver.new_keys == [row.idempotency_key]  # so the receiver records it once

    # The dead instance's late result cannot overwrite the survivor's.
    await crashed._failed(claim, "late", retryable=True)
    assert (await one_delivery(peek)).state == "sent"


async def test_a_row_every_claimer_dies_on_ends_dead(settings, api, peek, receiver, workers):
    """A poison row (its send kills the instance each time) must not crash-loop forever."""
    await set_channels(settings, "GB", webhook(receiver.url))
    await report(api)
    clock = FakeClock()
    worker = await workers(clock, delivery_lease_seconds=60, delivery_max_attempts=3)

    for attempt in (1, 2, 3):  # each claimer dies before recording anything
        [claim] = await worker.claim()
        row = await one_delivery(peek)
        assert (row.state, row.attempts) == ("sending", attempt)
        clock.advance(61)

    assert await worker.claim() == []  # not a fourth time…
    row = await one_delivery(peek)
    assert (row.state, row.attempts, row.next_attempt_at) == ("dead", 3, None)  # …but dead
    assert "stopped before recording" in row.last_error
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "delivery.dead")
    assert event.object_id == str(row.id) and event.details["attempts"] == 3
    await worker._sent(claim)  # the last claimer's late success cannot revive it
    assert (await one_delivery(peek)).state == "dead"
    assert receiver.requests == []


async def test_two_workers_never_send_one_delivery_twice(
    settings, database_url, api, peek, receiver, workers
):
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share a PostgreSQL database, not a SQLite file")
    await set_channels(settings, "GB", webhook(receiver.url))
    count = 24
    for n in range(count):
        await report(api, url=f"https://www.ebay.co.uk/itm/Carved-tusk/28451234{n:04d}")
    receiver.delay = 0.005  # keep sends in flight while the other worker claims
    clock = FakeClock()
    first = await workers(clock, delivery_batch_size=3)
    second = await workers(clock, delivery_batch_size=3)

    async def drain(worker: Worker) -> int:
        total = 0
        while claimed := await worker.run_once():
            total += claimed
        return total

    done = await asyncio.gather(drain(first), drain(second))
    assert sum(done) == count
    keys = receiver.keys()
    assert len(keys) == count and set(keys.values()) == {1}
    rows = await peek.rows(Delivery, Delivery.channel == "webhook")
    assert {r.state for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}


async def test_staging_switch_sends_every_webhook_to_one_url(
    settings, api, peek, receiver, workers
):
    real = "http://127.0.0.1:9/never-called"
    await set_channels(settings, "GB", webhook(real))
    await report(api)
    staging = str(receiver.server.make_url("/staging"))
    worker = await workers(delivery_staging_target=staging)

    assert await worker.run_once() == 1
    [request] = receiver.requests
    assert request["path"] == "/staging"
    assert request["headers"]["X-Wildflag-Staging-Original-Target"] == real
    assert (await one_delivery(peek)).state == "sent"


async def test_noop_channel_and_unknown_channels(settings, api, peek, workers):
    await set_channels(
        settings, "GB", [{"type": "noop", "target": "demo"}, {"type": "pigeon", "target": "x"}]
    )
    await report(api)
    worker = await workers()
    assert await worker.run_once() == 2
    assert (await one_delivery(peek, "noop")).state == "sent"
    pigeon = await one_delivery(peek, "pigeon")
    assert pigeon.state == "dead" and "unknown channel" in pigeon.last_error


async def test_the_service_runs_the_worker(settings, make_client, peek, receiver):
    await set_channels(settings, "GB", webhook(receiver.url))
    client = await make_client(settings.model_copy(update={"delivery_poll_seconds": 0.05}))
    await report(client)
    for _ in range(400):  # up to 20 s; normally the first poll or two
        if (await one_delivery(peek)).state == "sent":
            break
        await asyncio.sleep(0.05)
    assert (await one_delivery(peek)).state == "sent"
    assert len(receiver.requests) == 1


async def test_webhook_without_a_secret_is_refused(receiver):
    async with aiohttp.ClientSession() as http:
        channel = build_channels(http, Settings(delivery_timeout_seconds=5))["webhook"]
        with pytest.raises(DeliveryError) as refused:
            await channel.send({}, Target(receiver.url), "k")
    assert refused.value.retryable is False and receiver.requests == []


def test_verify_signature_rejects_tampering_wrong_secrets_and_replays():
    body = b'{"case":1}'
    now = 1_800_000_000
    header = sign("s", now, body)
    assert verify_signature("s", str(now), body, header, now=now + 299)
    assert verify_signature("s", now, body.decode(), header, now=now)
    assert not verify_signature("s", now, b'{"case":2}', header, now=now)
    assert not verify_signature("other", now, body, header, now=now)
    assert not verify_signature("s", now, body, header, now=now + 301)  # a replay
    assert not verify_signature("s", now, body, header, now=now - 301)
    assert not verify_signature("s", "yesterday", body, header, now=now)
    assert not verify_signature("s", now, body, "sha256=" + "0" * 64, now=now)
    assert not verify_signature("s", now, body, "", now=now)


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=default))
        )
        return "250 OK"


@pytest.fixture
def smtp_server() -> Any:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.port = port  # type: ignore[attr-defined]
    yield mailbox
    controller.stop()


async def test_email_channel_sends_the_case_over_smtp(settings, api, peek, smtp_server, workers):
    await set_channels(settings, "GB", [{"type": "email", "target": "nwcu@example.org"}])
    receipt = await report(api)
    worker = await workers(smtp_host="127.0.0.1", smtp_port=smtp_server.port)

    assert await worker.run_once() == 1
    row = await one_delivery(peek, "email")
    assert row.state == "sent", row.last_error
    [(recipients, message)] = smtp_server.messages
    assert recipients == ["nwcu@example.org"]
    assert receipt["reference"] in message["Subject"] and "critical" in message["Subject"]
    assert message["Message-ID"] == f"<{row.idempotency_key}@wildflag>"
    text = message.get_body(("plain",)).get_content()
    assert receipt["reference"] in text and IVORY["url"] in text
    [attachment] = list(message.iter_attachments())
    assert json.loads(attachment.get_content())["reference"] == receipt["reference"]


async def test_email_requiring_starttls_from_a_server_without_it_is_retried(
    settings, api, peek, smtp_server, workers
):
    await set_channels(settings, "GB", [{"type": "email", "target": "nwcu@example.org"}])
    await report(api)
    worker = await workers(
        smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_starttls="required"
    )
    assert await worker.run_once() == 1
    row = await one_delivery(peek, "email")
    assert row.state == "failing" and "STARTTLS" in row.last_error.upper()
    assert smtp_server.messages == []  # nothing went out in the clear


class FakeBotApi:
    """Just enough of the Telegram Bot API: sendMessage, and a chat that does not exist."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_message(self, request: web.Request) -> web.Response:
        assert request.match_info["token"] == "123:TEST"
        body = await request.json()
        if str(body["chat_id"]) == "-404":
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                status=400,
            )
        self.sent.append(body)
        return web.json_response({"ok": True, "result": {"message_id": len(self.sent)}})


async def test_telegram_channel_posts_to_the_units_chat(
    settings, api, peek, workers, aiohttp_server
):
    bot_api = FakeBotApi()
    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", bot_api.send_message)
    server = await aiohttp_server(app)
    await set_channels(settings, "GB", [{"type": "telegram", "target": "-1001234567890"}])
    receipt = await report(api)
    worker = await workers(telegram_token="123:TEST", telegram_api_url=str(server.make_url("")))

    assert await worker.run_once() == 1
    assert (await one_delivery(peek, "telegram")).state == "sent"
    [message] = bot_api.sent
    assert message["chat_id"] == -1001234567890
    assert receipt["reference"] in message["text"] and "critical" in message["text"]

    await set_channels(settings, "FR", [{"type": "telegram", "target": "-404"}])
    await report(api, url="https://www.leboncoin.fr/annonce/123", seller_location="Lyon, France")
    assert await worker.run_once() == 1
    rows = await peek.rows(Delivery, Delivery.unit_code == "FR", Delivery.channel == "telegram")
    assert rows and rows[0].state == "dead" and "chat not found" in rows[0].last_error


async def test_a_new_report_on_a_delivered_case_is_an_update(
    settings, api, peek, receiver, workers
):
    await set_channels(settings, "GB", webhook(receiver.url))
    first = await report(api)
    clock = FakeClock()  # reset before each run: rows written later are due later
    worker = await workers(clock)
    assert await worker.run_once() == 1
    second = await report(api, text="Same tusk, still for sale. Collection in London.")
    clock.now = FakeClock().now
    assert await worker.run_once() == 1

    routed, updated = (json.loads(r["body"]) for r in receiver.requests)
    assert (routed["event"], routed["update"]) == ("case.routed", None)
    assert routed["reference"] == first["reference"]
    assert updated["event"] == "case.updated"
    assert updated["update"] == {"report_count": 2, "new_report": second["reference"]}
    assert updated["case"]["id"] == routed["case"]["id"]  # the same case, not a new one
    assert updated["references"] == [first["reference"], second["reference"]]
    assert updated["idempotency_key"] != routed["idempotency_key"]  # a notification of its own

    # Rerouted to another unit, the case is new to that unit: it is routed there, not updated.
    fr = str(receiver.server.make_url("/fr"))
    await set_channels(settings, "FR", webhook(fr))
    token = await peek.token("officer", "GB")
    response = await api.post(
        f"/api/v1/cases/{routed['case']['id']}/reroute",
        json={"unit": "FR", "reason": "the seller ships from Lyon"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status == 200, await response.text()
    clock.now = FakeClock().now
    assert await worker.run_once() == 1
    to_fr = json.loads(receiver.requests[-1]["body"])
    assert receiver.requests[-1]["path"] == "/fr"
    assert (to_fr["event"], to_fr["unit"]["code"], to_fr["update"]) == ("case.routed", "FR", None)


async def test_update_mail_and_chat_say_update(
    settings, api, peek, smtp_server, workers, aiohttp_server
):
    bot_api = FakeBotApi()
    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", bot_api.send_message)
    server = await aiohttp_server(app)
    await set_channels(
        settings,
        "GB",
        [
            {"type": "email", "target": "nwcu@example.org"},
            {"type": "telegram", "target": "-1001234567890"},
        ],
    )
    clock = FakeClock()
    worker = await workers(
        clock,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        telegram_token="123:TEST",
        telegram_api_url=str(server.make_url("")),
    )
    first = await report(api)
    clock.now = FakeClock().now
    assert await worker.run_once() == 2
    second = await report(api, text="Same tusk, price lowered.")
    clock.now = FakeClock().now
    assert await worker.run_once() == 2

    [(_, new), (_, update)] = smtp_server.messages
    case_id = json.loads(next(new.iter_attachments()).get_content())["case"]["id"]
    assert new["Subject"] == f"[wildflag] critical case {case_id}: {first['reference']}"
    assert update["Subject"] == f"[wildflag] critical case {case_id} update: {second['reference']}"
    body = update.get_body(("plain",)).get_content()
    assert f"wildflag case {case_id} update:" in body
    assert f"A new report joined this case: {second['reference']} (2 reports in all)" in body
    chat_new, chat_update = (m["text"] for m in bot_api.sent)
    assert chat_new.startswith(f"wildflag case {case_id}: ") and "update" not in chat_new
    assert chat_update.startswith(f"wildflag case {case_id} update: ")
