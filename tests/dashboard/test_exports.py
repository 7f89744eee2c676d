"""Exports: scope, filters, reporter identity, CSV injection, the Secretariat's figures, the
audit of every download, and an export of 100,000 cases in bounded memory."""

from __future__ import annotations

import csv
import io
import json
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy import insert

from db.engine import create_engine, session_factory
from db.models import (
    Account,
    AuditEvent,
    Case,
    CaseUnit,
    Listing,
    Platform,
    PlatformReferral,
    Report,
)
from extension_backend.export_rows import neutralise
from tests.dashboard.conftest import case_of, report

FR_REPORT = {
    "url": "https://www.leboncoin.fr/annonce/123456",
    "title": "Écailles de pangolin",
    "text": "Écailles de pangolin, 500 g, remise en main propre à Lyon",
    "reporter_country": "FR",
}


def read_csv(body: str) -> list[dict[str, str]]:
    assert body.startswith("\ufeff")  # for Excel
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def read_jsonl(body: str) -> list[dict]:
    return [json.loads(line) for line in body.splitlines() if line]


async def test_an_officer_exports_only_their_units_cases(dash, browser, settings):
    gb = await report(dash)
    fr = await report(dash, **FR_REPORT)
    gb_case = await case_of(settings, gb["reference"])
    fr_case = await case_of(settings, fr["reference"])
    officer = await browser("officer", "GB")

    response, body = await officer.get("/app/exports/cases.csv")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="wildflag-')
    rows = read_csv(body)
    assert [int(r["id"]) for r in rows] == [gb_case]
    row = rows[0]
    assert list(row) == [
        "id", "created", "updated", "status", "outcome", "priority", "appendix", "country",
        "units", "platforms", "taxa", "report_count", "title", "first_url",
    ]  # fmt: skip
    assert (row["units"], row["platforms"], row["report_count"]) == ("GB", "ebay", "1")
    assert row["first_url"] == "https://ebay.co.uk/itm/1234567890"  # the canonical URL
    assert row["title"] == "Pangolin scales 500 g" and row["taxa"]

    _, body = await officer.get("/app/exports/reports.json")
    assert [r["reference"] for r in read_jsonl(body)] == [gb["reference"]]
    _, body = await officer.get("/app/exports/reports.csv")
    assert fr["reference"] not in body and "leboncoin" not in body

    coordinator = await browser("coordinator")
    response, body = await coordinator.get("/app/exports/cases.json")
    assert response.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    cases = read_jsonl(body)
    assert [c["id"] for c in cases] == sorted([gb_case, fr_case])
    assert cases[0]["units"] in (["GB"], ["FR"]) and isinstance(cases[0]["taxa"], list)
    _, body = await coordinator.get("/app/exports/cases.csv?unit=FR")
    assert [int(r["id"]) for r in read_csv(body)] == [fr_case]


async def test_filters_are_honoured(dash, browser, settings):
    first = await report(dash, url="https://www.ebay.co.uk/itm/111", title="Ivory bangle carved")
    await report(dash, url="https://www.ebay.co.uk/itm/222", title="Pangolin scales")
    officer = await browser("officer", "GB")
    _, body = await officer.get("/app/exports/cases.csv?q=bangle")
    assert [int(r["id"]) for r in read_csv(body)] == [await case_of(settings, first["reference"])]
    _, body = await officer.get("/app/exports/reports.json?q=bangle")
    assert [r["reference"] for r in read_jsonl(body)] == [first["reference"]]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    _, body = await officer.get(f"/app/exports/cases.csv?since={tomorrow}")
    assert read_csv(body) == []
    _, body = await officer.get("/app/exports/cases.csv?status=closed")
    assert read_csv(body) == []
    _, body = await officer.get("/app/exports/cases.csv?status=new")
    assert len(read_csv(body)) == 2
    response, html = await officer.get("/app/exports/cases.csv?status=bogus")
    assert response.status == 400 and response.content_type == "text/html"
    assert "Unknown status" in html


async def test_reporter_identity_only_for_roles_that_need_it(dash, browser, peek):
    token = await peek.token("officer", "GB")
    response = await dash.post(
        "/api/v1/reports",
        json={"url": "https://www.ebay.co.uk/itm/77", "text": "Pangolin scales for sale"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-1"},
    )
    assert response.status == 201, await response.text()
    by_officer = (await response.json())["reference"]
    anonymous = (await report(dash))["reference"]
    reporter = (await peek.rows(Report, Report.reference == by_officer))[0].account_id
    assert reporter is not None

    for role in ("officer", "observer"):
        person = await browser(role, "GB", email=f"{role}.x@units.example")
        _, body = await person.get("/app/exports/reports.csv")
        rows = read_csv(body)
        assert {r["reference"] for r in rows} == {by_officer, anonymous}
        assert "reporter_account" not in rows[0]
        _, body = await person.get("/app/exports/reports.json")
        assert all("reporter_account" not in r for r in read_jsonl(body))

    for role, unit in (("unit_admin", "GB"), ("coordinator", None)):
        person = await browser(role, unit)
        _, body = await person.get("/app/exports/reports.csv")
        rows = {r["reference"]: r for r in read_csv(body)}
        assert rows[by_officer]["reporter_account"] == str(reporter)
        assert rows[anonymous]["reporter_account"] == ""
    # Never receipt hashes, idempotency data or the raw submission, whoever asks.
    assert set(rows[by_officer]) == {
        "reference", "case_id", "received", "channel", "url", "title", "text", "price",
        "currency", "seller", "seller_location", "ships_to", "reporter_country", "taxa",
        "appendix", "reporter_account",
    }  # fmt: skip


async def test_csv_cells_cannot_run_as_formulas(dash, browser):
    await report(
        dash,
        title='=HYPERLINK("http://evil.example","x")',
        text="-pangolin scales",
        seller="+cmd|' /C calc'!A0",
        seller_location="@SUM(1+1)",
        price="-2+3",
    )
    officer = await browser("officer", "GB")
    _, body = await officer.get("/app/exports/reports.csv")
    (row,) = read_csv(body)
    assert row["title"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["seller"] == "'+cmd|' /C calc'!A0"
    assert row["seller_location"] == "'@SUM(1+1)"
    assert row["price"] == "'-2+3"
    assert row["text"] == "'-pangolin scales"
    _, body = await officer.get("/app/exports/cases.csv")
    assert read_csv(body)[0]["title"].startswith("'=HYPERLINK")
    # JSON is data, not a spreadsheet: values as sent.
    _, body = await officer.get("/app/exports/reports.json")
    assert read_jsonl(body)[0]["seller"] == "+cmd|' /C calc'!A0"


def test_tab_and_carriage_return_are_neutralised_too():
    # Intake strips them from the ends of fields; the encoder does not rely on that.
    for value in ("\tcmd", "\r=1+1", "=1", "+1", "-1", "@x"):
        assert neutralise(value) == "'" + value
    assert neutralise("Pangolin =1") == "Pangolin =1"
    assert neutralise("") == ""


async def test_every_export_is_audited_and_observers_may_export(dash, browser, peek):
    await report(dash)
    observer = await browser("observer", "GB")
    response, _ = await observer.get("/app/exports/cases.csv?status=new&country=gb")
    assert response.status == 200
    await observer.get("/app/exports/reports.json")
    events = await peek.rows(AuditEvent, AuditEvent.object_type == "export")
    assert [(e.action, e.actor) for e in events] == [
        ("export.cases", f"account:{observer.account.id}"),
        ("export.reports", f"account:{observer.account.id}"),
    ]
    cases, reports = events
    assert cases.details["filters"] == {"status": "new", "country": "GB"}
    assert cases.details["rows"] == 1 and cases.details["complete"] is True
    assert cases.details["format"] == "csv" and cases.details["unit"] == "GB"
    assert reports.details["rows"] == 1 and reports.details["reporter_identity"] is False


async def test_the_exports_page_carries_the_filters(dash, browser):
    officer = await browser("officer", "GB")
    response, html = await officer.get("/app/exports?status=new&q=%3Cscript%3Ex%3C%2Fscript%3E")
    assert response.status == 200
    assert 'href="/app/exports/cases.csv?status=new&amp;q=%3Cscript%3Ex%3C%2Fscript%3E"' in html
    assert 'href="/app?status=new&amp;q=' in html
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "/app/exports/secretariat/" not in html  # not for officers
    coordinator = await browser("coordinator")
    _, html = await coordinator.get("/app/exports")
    assert f"/app/exports/secretariat/{datetime.now(UTC).year}.csv" in html


SECRET_WORDS = ("zqxsecretseller", "zqxtitleword", "zqxtextword", "zqxurlpath", "zqxlocation")


async def _referral(settings, case_id: int, state: str) -> None:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            platform = Platform(name=f"eBay {state}", domains=["ebay.co.uk"])
            session.add(platform)
            await session.flush()
            account = Account(name="x", role="officer", unit_code="GB")
            session.add(account)
            await session.flush()
            session.add(
                PlatformReferral(
                    case_id=case_id,
                    platform_id=platform.id,
                    referred_by_id=account.id,
                    state=state,
                    note="zqxtextword",
                )
            )
            await session.commit()
    finally:
        await engine.dispose()


async def test_the_secretariat_report_is_anonymous_and_suppresses_small_counts(
    dash, browser, settings, peek
):
    references = []
    for n in range(4):
        sent = await report(
            dash,
            url=f"https://www.ebay.co.uk/itm/{900 + n}?zqxurlpath",
            title=f"Pangolin scales zqxtitleword {n}",
            text="Genuine pangolin scales zqxtextword",
            seller="zqxsecretseller",
            seller_location="zqxlocation",
        )
        references.append(sent["reference"])
    await report(dash, **FR_REPORT)  # one case in France: suppressed
    await _referral(settings, await case_of(settings, references[0]), "removed")
    year = datetime.now(UTC).year

    for role, unit in (("officer", "GB"), ("unit_admin", "GB"), ("observer", "GB")):
        person = await browser(role, unit)
        response, _ = await person.get(f"/app/exports/secretariat/{year}.csv")
        assert response.status == 403, role

    coordinator = await browser("coordinator")
    response, body = await coordinator.get(f"/app/exports/secretariat/{year}.csv")
    assert response.status == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="wildflag-cites-secretariat-{year}.csv"'
    )
    _, document = await coordinator.get(f"/app/exports/secretariat/{year}.json")
    for text in (body, document):
        for word in (*SECRET_WORDS, *references, "ebay.co.uk/itm", "Lyon", "leboncoin.fr/"):
            assert word.lower() not in text.lower(), word
    lines = body.removeprefix("\ufeff").splitlines()
    notes = [line for line in lines if line.startswith("# ")]
    assert any('shown as "<3"' in line for line in notes)
    rows = list(csv.DictReader(line for line in lines if not line.startswith("# ")))
    figures = {(r["section"], r["key"], r["measure"]): r["count"] for r in rows}
    assert figures[("totals", "all", "reports")] == "5"
    assert figures[("country", "GB", "cases")] == "4"
    assert figures[("country", "FR", "cases")] == "<3"
    assert figures[("channel", "api", "reports")] == "5"
    assert figures[("platform", "ebay", "reports")] == "4"
    assert figures[("referrals", "eBay removed", "removed")] == "<3"
    assert any(section == "taxon" for section, _, _ in figures)

    data = json.loads(document)
    assert data["year"] == year and data["suppressed_below"] == 3
    assert data["figures"]["country"]["FR"]["cases"] == "<3"
    assert data["figures"]["totals"]["all"] == {"reports": 5, "cases": 5}

    events = await peek.rows(AuditEvent, AuditEvent.action == "export.secretariat")
    assert [(e.object_id, e.details["format"]) for e in events] == [
        (str(year), "csv"),
        (str(year), "json"),
    ]
    response, _ = await coordinator.get("/app/exports/secretariat/1999.csv")
    assert response.status == 404


# --- 100,000 cases in bounded memory --------------------------------------------------

CASES = 100_000
#: Holding all 100,000 rows at once would take far more than this: the CSV text alone is
#: over 15 MB (asserted below), as Python str plus its encoded bytes over 30 MB, and the
#: rows as dicts of Python objects several times that (about 1 kB each, 100 MB). Streamed
#: in batches of 1,000 the measured peak is a few MB (one batch, its CSV, SQLAlchemy's
#: caches and the client's read buffer), so 12 MB leaves room and still fails loudly if
#: anything collects the rows, or even just the CSV, before sending.
PEAK_BOUND = 12 * 1024 * 1024


def unit_row(i: int, now: datetime) -> dict:
    return {"case_id": i, "unit_code": "GB", "reason": "", "kind": "routed", "created_at": now}


def listing_row(i: int, now: datetime) -> dict:
    url = f"https://ebay.co.uk/itm/{i}"
    return {
        "url_key": f"ebay:{i}",
        "url": url,
        "host": "ebay.co.uk",
        "platform": "ebay",
        "case_id": i,
        "first_seen_at": now,
    }


async def _insert_cases(settings) -> None:
    """100,000 cases, their units and listings, by bulk INSERT (executemany in batches)."""
    engine = create_engine(settings.effective_database_url)
    now = datetime.now(UTC)
    step = 10_000
    try:
        async with engine.begin() as connection:
            for start in range(1, CASES + 1, step):
                ids = range(start, min(start + step, CASES + 1))
                await connection.execute(
                    insert(Case),
                    [
                        {
                            "id": i,
                            "status": "new",
                            "priority": "critical",
                            "priority_rank": 1,
                            "appendix": "I",
                            "country": "GB",
                            "title": f"Pangolin scales, 500 g, genuine, lot number {i:06d}",
                            "report_count": 1,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i in ids
                    ],
                )
                await connection.execute(insert(CaseUnit), [unit_row(i, now) for i in ids])
                await connection.execute(insert(Listing), [listing_row(i, now) for i in ids])
            if not settings.effective_database_url.startswith("sqlite"):
                # Explicit ids leave the sequence behind; later inserts must not collide.
                await connection.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('cases', 'id'), 100000)"
                )
    finally:
        await engine.dispose()


async def test_an_export_of_100000_cases_streams_in_bounded_memory(dash, browser, settings, peek):
    await _insert_cases(settings)
    officer = await browser("officer", "GB")
    client = officer.http  # the officer's browser session, with its cookie
    timeout = aiohttp.ClientTimeout(total=120, sock_read=20)
    rows = size = 0
    tracemalloc.start()
    try:
        started = time.monotonic()
        async with client.get(
            "/app/exports/cases.csv", timeout=timeout, allow_redirects=False
        ) as response:
            assert response.status == 200
            assert response.content_type == "text/csv", await response.text()
            first_byte = None
            async for chunk in response.content.iter_chunked(64 * 1024):
                first_byte = first_byte or time.monotonic() - started
                size += len(chunk)
                rows += chunk.count(b"\n")  # rows end in CRLF; no cell holds a newline
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == CASES + 1  # the header and every case
    assert size > 15 * 1024 * 1024
    assert peak < PEAK_BOUND, f"peak {peak / 2**20:.1f} MB"
    assert first_byte is not None and first_byte < 5  # streamed: the first rows come at once
    assert elapsed < 110  # well within the client's timeout
    (event,) = await peek.rows(AuditEvent, AuditEvent.action == "export.cases")
    assert event.details["rows"] == CASES and event.details["complete"] is True
