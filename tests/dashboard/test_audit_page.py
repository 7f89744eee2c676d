"""The audit page: who may read it, which events a unit admin sees, filters, pages, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from db.engine import create_engine, session_factory
from db.models import AuditEvent
from extension_backend.dashboard.audit_page import PAGE_SIZE
from tests.dashboard.conftest import add_account, case_of, report

FR_REPORT = {
    "url": "https://www.leboncoin.fr/annonce/123456",
    "title": "Écailles de pangolin",
    "text": "Écailles de pangolin, 500 g, remise en main propre à Lyon",
    "reporter_country": "FR",
}


async def add_events(settings, *events: AuditEvent) -> None:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            session.add_all(events)
            await session.commit()
    finally:
        await engine.dispose()


def event(marker: str, object_type: str, object_id: str, actor: str = "system", **details):
    return AuditEvent(
        actor=actor,
        action=f"test.{object_type}",
        object_type=object_type,
        object_id=object_id,
        details={"marker": marker, **details},
    )


async def test_officers_and_observers_may_not_read_the_audit(browser):
    for role in ("officer", "observer"):
        person = await browser(role, "GB")
        for path in ("/app/audit", "/app/audit.csv"):
            response, _ = await person.get(path)
            assert response.status == 403, (role, path)


async def test_a_unit_admin_sees_the_events_of_their_unit_only(dash, browser, settings):
    gb_case = await case_of(settings, (await report(dash))["reference"])
    fr_case = await case_of(settings, (await report(dash, **FR_REPORT))["reference"])
    gb_officer = await add_account(settings, "officer", "GB", email="o.gb@units.example")
    fr_officer = await add_account(settings, "officer", "FR", email="o.fr@units.example")
    await add_events(
        settings,
        event("mk-gb-case", "case", str(gb_case)),
        event("mk-fr-case", "case", str(fr_case)),
        event("mk-gb-evidence", "evidence", "ab" * 32, case=gb_case),
        event("mk-fr-evidence", "evidence", "cd" * 32, case=fr_case),
        event("mk-gb-account", "account", str(gb_officer.id)),
        event("mk-fr-account", "account", str(fr_officer.id)),
        event("mk-gb-unit", "unit", "GB"),
        event("mk-fr-unit", "unit", "FR"),
        event("mk-gb-delivery", "delivery", "1", unit="GB", case_id=gb_case),
        event("mk-fr-delivery", "delivery", "2", unit="FR", case_id=fr_case),
        event("mk-gb-actor", "export", "cases", actor=f"account:{gb_officer.id}"),
        event("mk-fr-actor", "export", "cases", actor=f"account:{fr_officer.id}"),
    )
    admin = await browser("unit_admin", "GB")
    response, html = await admin.get("/app/audit")
    assert response.status == 200
    for kind in ("case", "evidence", "account", "unit", "delivery", "actor"):
        assert f"mk-gb-{kind}" in html, kind
        assert f"mk-fr-{kind}" not in html, kind
    # report.received of the unit's case (written by intake) names the case in details.
    assert "report.received" in html
    _, body = await admin.get("/app/audit.csv")
    assert "mk-gb-case" in body and "mk-fr" not in body

    coordinator = await browser("coordinator")
    _, html = await coordinator.get("/app/audit")
    assert "mk-gb-case" in html and "mk-fr-case" in html and "mk-fr-actor" in html


async def test_filters_and_pages(dash, browser, settings):
    account = await add_account(settings, "officer", "GB", email="o.gb@units.example")
    old = datetime.now(UTC) - timedelta(days=40)
    await add_events(
        settings,
        *[event(f"mk-page-{n:03d}", "unit", "GB") for n in range(PAGE_SIZE + 5)],
        AuditEvent(
            actor=f"account:{account.id}", action="export.cases", object_type="export",
            object_id="cases", details={"marker": "mk-export"},
        ),
        AuditEvent(
            actor="cli", action="case.closed", object_type="case", object_id="77",
            details={"marker": "mk-old"}, at=old,
        ),
    )  # fmt: skip
    admin = await browser("admin")
    _, html = await admin.get("/app/audit?action=export")
    assert "mk-export" in html and "mk-page" not in html and "mk-old" not in html
    _, html = await admin.get(f"/app/audit?actor={account.id}")
    assert "mk-export" in html and "mk-page" not in html
    assert "officer GB (officer, GB)" in html  # the actor by name
    _, html = await admin.get("/app/audit?object=case:77")
    assert "mk-old" in html and "mk-export" not in html
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    _, html = await admin.get(f"/app/audit?object=case&since={since}")
    assert "mk-old" not in html
    response, _ = await admin.get("/app/audit?since=yesterday")
    assert response.status == 400

    _, html = await admin.get("/app/audit?object=unit")
    assert html.count("mk-page-") == PAGE_SIZE
    assert f"mk-page-{PAGE_SIZE + 4:03d}" in html and "mk-page-000" not in html  # newest first
    older = html.split('href="/app/audit?')[-1].split('"')[0].replace("&amp;", "&")
    assert "before=" in older
    _, html = await admin.get(f"/app/audit?{older}")
    assert html.count("mk-page-") == 5 and "mk-page-000" in html


async def test_the_audit_download_is_audited_and_neutralised(dash, browser, settings, peek):
    await add_events(settings, event("=cmd|calc", "unit", "GB"))
    admin = await browser("admin")
    response, body = await admin.get("/app/audit.csv?object=unit")
    assert response.status == 200 and response.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert [r["object_id"] for r in rows] == ["GB"]
    assert rows[0]["details"] == '{"marker": "=cmd|calc"}'  # JSON text starts with "{"
    (download,) = await peek.rows(AuditEvent, AuditEvent.action == "export.audit")
    assert download.actor == f"account:{admin.account.id}"
    assert download.details["filters"] == {"object": "unit"} and download.details["rows"] == 1


async def test_details_are_escaped(dash, browser, settings):
    await add_events(settings, event("<script>alert(1)</script>", "unit", "GB"))
    admin = await browser("admin")
    _, html = await admin.get("/app/audit")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_sign_ins_are_scoped_by_the_accounts_unit(dash, browser):
    admin = await browser("unit_admin", "GB")
    stranger = await browser("officer", "FR")
    colleague = await browser("officer", "GB", email="colleague@units.example")
    _, html = await admin.get("/app/audit?action=signin")
    assert f"account {colleague.account.id}</td>" in html
    assert f"account {stranger.account.id}</td>" not in html
