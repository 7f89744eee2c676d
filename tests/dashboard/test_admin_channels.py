"""Unit administration, channels: the CLI's types and checks, secrets shown once, health."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

from sqlmodel import select

from db.models import AuditEvent, Delivery, Report, Unit
from db.types import utcnow
from tests.backend.conftest import set_channels
from tests.dashboard.conftest import report
from tests.dashboard.test_admin import database, shown_secret


async def test_a_webhook_secret_is_generated_and_shown_once(browser, peek):
    person = await browser("unit_admin", "GB")
    await person.get("/app/admin/units/GB")
    response, html = await person.post(
        "/app/admin/units/GB/channels", {"type": "webhook", "target": "https://gb.example/hook"}
    )
    assert response.status == 200 and "X-Wildflag-Signature" in html
    secret = shown_secret(html)
    [unit] = await peek.rows(Unit, Unit.code == "GB")
    # Kept (signing needs it) but never shown again.
    assert unit.channels == [
        {"type": "webhook", "target": "https://gb.example/hook", "secret": secret}
    ]
    _, page = await person.get("/app/admin/units/GB")
    assert "https://gb.example/hook" in page and secret not in page
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "channel.added")
    assert event.actor == f"account:{person.account.id}" and event.object_id == "GB"
    assert event.details["type"] == "webhook" and secret not in str(event.details)
    # An e-mail channel has no secret: back to the page.
    response, _ = await person.post(
        "/app/admin/units/GB/channels", {"type": "email", "target": "desk@gb.example"}
    )
    assert response.status == 303 and response.headers["Location"].endswith("channel_added")


async def test_targets_are_checked_as_the_cli_checks_them(browser, peek):
    person = await browser("unit_admin", "GB")
    cases = {
        ("webhook", "ftp://gb.example/hook"): "A webhook target is an http(s):// URL.",
        ("telegram", "my group"): "A telegram target is a chat id (e.g. -1001234567890)",
        ("email", "desk.gb.example"): "An email target is an e-mail address.",
        ("sms", "+44 1234"): "A channel type is one of webhook, email, telegram, noop.",
    }
    for (kind, target), message in cases.items():
        response, html = await person.post(
            "/app/admin/units/GB/channels", {"type": kind, "target": target}
        )
        assert response.status == 422 and message in unescape(html), (kind, html)
        assert f'value="{target}"' in html
    response, _ = await person.post(
        "/app/admin/units/GB/channels", {"type": "telegram", "target": "-1001234567890"}
    )
    assert response.status == 303
    response, html = await person.post(
        "/app/admin/units/GB/channels", {"type": "telegram", "target": "@gbdesk"}
    )
    assert response.status == 422 and "already has a telegram channel; remove it first" in html
    [unit] = await peek.rows(Unit, Unit.code == "GB")
    assert unit.channels == [{"type": "telegram", "target": "-1001234567890"}]


async def test_removing_a_channel(browser, settings, peek):
    await set_channels(
        settings,
        "GB",
        [{"type": "email", "target": "a@gb.example"}, {"type": "noop", "target": ""}],
    )
    person = await browser("unit_admin", "GB")
    # A list that changed since the page was loaded does not lose the wrong channel.
    response, _ = await person.post(
        "/app/admin/units/GB/channels/0/remove", {"type": "noop", "target": ""}
    )
    assert response.status == 409
    assert (await person.post("/app/admin/units/GB/channels/5/remove"))[0].status == 404
    response, _ = await person.post(
        "/app/admin/units/GB/channels/1/remove", {"type": "noop", "target": ""}
    )
    assert response.status == 303
    [unit] = await peek.rows(Unit, Unit.code == "GB")
    assert unit.channels == [{"type": "email", "target": "a@gb.example"}]
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "channel.removed")
    assert event.details == {"unit": "GB", "type": "noop", "target": ""}


async def test_another_units_channels_are_out_of_reach(browser, settings, peek):
    await set_channels(settings, "FR", [{"type": "email", "target": "fr@fr.example"}])
    person = await browser("unit_admin", "GB")
    response, _ = await person.post("/app/admin/units/FR/channels", {"type": "noop", "target": ""})
    assert response.status == 404
    response, _ = await person.post(
        "/app/admin/units/FR/channels/0/remove", {"type": "email", "target": "fr@fr.example"}
    )
    assert response.status == 404
    [unit] = await peek.rows(Unit, Unit.code == "FR")
    assert unit.channels == [{"type": "email", "target": "fr@fr.example"}]


async def test_each_channel_shows_its_delivery_health(dash, browser, settings):
    target = "https://gb.example/hook"
    await set_channels(settings, "GB", [{"type": "webhook", "target": target, "secret": "s"}])
    async with database(settings) as session:
        unit = await session.get(Unit, "GB")
        unit.channels = []  # no outbox rows from intake; this test writes its own
        session.add(unit)
        await session.commit()
    await report(dash)
    await report(dash, url="https://www.ebay.co.uk/itm/2")
    now = utcnow()
    async with database(settings) as session:
        first, second = (await session.exec(select(Report).order_by(Report.id))).all()
        unit = await session.get(Unit, "GB")
        unit.channels = [{"type": "webhook", "target": target, "secret": "s"}]
        session.add(unit)

        def row(report: Report, topic: str, state: str, **fields) -> Delivery:
            return Delivery(
                case_id=report.case_id,
                report_id=report.id,
                unit_code="GB",
                channel="webhook",
                topic=topic,
                target=target,
                state=state,
                idempotency_key=f"{report.id}-{topic}-{state}",
                **fields,
            )

        session.add(row(first, "", "sent", delivered_at=now - timedelta(hours=2)))
        session.add(
            row(
                first,
                "comment:1",
                "dead",
                last_error="HTTP 410 from receiver",
                updated_at=now - timedelta(hours=1),
            )
        )
        session.add(row(second, "", "dead", last_error="old", updated_at=now - timedelta(days=9)))
        session.add(row(second, "comment:2", "failing", attempts=2, last_error="timeout"))
        await session.commit()
    person = await browser("unit_admin", "GB")
    _, html = await person.get("/app/admin/units/GB")
    cells = html.split('id="channel-0"')[1].split("</tr>")[0]
    assert (now - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M UTC") in cells
    assert "<td>1</td>\n      <td>1</td>" in cells  # failing, dead (the 9-day-old one is out)
    assert "<td>timeout</td>" in cells  # the latest error
    assert '<tr id="channel-0" class="unhealthy">' in html
