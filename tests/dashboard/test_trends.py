"""The trends page: series counted right on a known dataset, scope, CSV and its audit row,
and month/week bucketing that is the same on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlmodel import col, select

from db.engine import create_engine, session_factory
from db.models import AuditEvent, Case, Report
from extension_backend.dashboard.filters import CaseFilters
from extension_backend.dashboard.trends import Window, period_key, period_of
from extension_backend.settings import Settings
from tests.dashboard.conftest import MakeBrowser, report

RANGE = "since=2026-01-01&until=2026-03-31&period=month"


async def backdate(settings: Settings, reference: str, when: datetime) -> None:
    """Move a report (and its case, which it opened) to `when`."""
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            row = (await session.exec(select(Report).where(Report.reference == reference))).one()
            await session.exec(
                update(Report).where(col(Report.id) == row.id).values(created_at=when)
            )
            await session.exec(
                update(Case).where(col(Case.id) == row.case_id).values(created_at=when)
            )
            await session.commit()
    finally:
        await engine.dispose()


async def sent(
    dash: TestClient, settings: Settings, when: datetime, n: int, **fields: Any
) -> dict[str, Any]:
    answer = await report(dash, url=f"https://www.ebay.co.uk/itm/{1000 + n}", **fields)
    await backdate(settings, answer["reference"], when)
    return answer


def at(month: int, day: int = 15) -> datetime:
    return datetime(2026, month, day, 12, 0, tzinfo=UTC)


async def table(person: Any, series: str, query: str = RANGE) -> dict[tuple[str, str], str]:
    response, text = await person.get(f"/app/trends/{series}.csv?{query}")
    assert response.status == 200, text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["period", "group", "value"]
    return {(row[0], row[1]): row[2] for row in rows[1:] if row[2] not in ("0", "")}


@pytest.fixture
async def dataset(dash: TestClient, settings: Settings) -> None:
    """Four GB reports in January–March 2026 and one in December 2025 (outside)."""
    await sent(dash, settings, at(1), 1, title="Pangolin scales", channel="extension")
    await sent(
        dash,
        settings,
        at(2, 3),
        2,
        title="African grey parrot",
        text="African grey parrot, live baby, ships from London",
        channel="bot",
    )
    await sent(
        dash,
        settings,
        at(2, 20),
        3,
        title="Paphiopedilum orchid seedlings",
        text="Paphiopedilum orchid seedlings, ships from London",
    )
    await sent(
        dash, settings, at(3), 4, title="Vintage brass lamp", text="Brass lamp, ships from London"
    )
    await sent(dash, settings, datetime(2025, 12, 31, 23, 0, tzinfo=UTC), 5)


async def test_series_on_a_known_dataset(browser: MakeBrowser, dataset: None) -> None:
    officer = await browser("officer", "GB")
    assert await table(officer, "taxa") == {
        ("2026-01", "Mammalia"): "1",
        ("2026-02", "Aves"): "1",
        ("2026-02", "Plantae"): "1",
        ("2026-03", "unrecognised"): "1",
    }
    assert await table(officer, "appendix") == {
        ("2026-01", "I"): "1",
        ("2026-02", "I"): "2",
        ("2026-03", "review"): "1",
    }
    assert await table(officer, "channel") == {
        ("2026-01", "extension"): "1",
        ("2026-02", "bot"): "1",
        ("2026-02", "api"): "1",
        ("2026-03", "api"): "1",
    }
    assert await table(officer, "country") == {
        ("2026-01", "GB"): "1",
        ("2026-02", "GB"): "2",
        ("2026-03", "GB"): "1",
    }
    assert await table(officer, "platform") == {
        ("2026-01", "ebay"): "1",
        ("2026-02", "ebay"): "2",
        ("2026-03", "ebay"): "1",
    }
    assert await table(officer, "cases") == {
        ("2026-01", "opened"): "1",
        ("2026-02", "opened"): "2",
        ("2026-03", "opened"): "1",
    }
    # The window moves: December 2025 alone.
    assert await table(officer, "taxa", "since=2025-12-01&until=2025-12-31&period=month") == {
        ("2025-12", "Mammalia"): "1"
    }


async def test_filters_narrow_the_trends(browser: MakeBrowser, dataset: None) -> None:
    officer = await browser("officer", "GB")
    assert await table(officer, "taxa", RANGE + "&taxon=Aves") == {("2026-02", "Aves"): "1"}
    assert await table(officer, "channel", RANGE + "&channel=bot") == {("2026-02", "bot"): "1"}
    assert await table(officer, "appendix", RANGE + "&country=FR") == {}


async def test_a_unit_never_counts_another_units_cases(
    dash: TestClient, settings: Settings, browser: MakeBrowser
) -> None:
    await sent(dash, settings, at(2), 1, title="Pangolin scales")
    french = await report(
        dash,
        url="https://www.leboncoin.fr/annonces/998877",
        title="Écailles de pangolin",
        text="Écailles de pangolin, expédié de Paris, France",
        reporter_country="FR",
        currency="EUR",
    )
    assert "FR" in french["routed_to"]
    await backdate(settings, french["reference"], at(2))
    officer = await browser("officer", "GB")
    assert await table(officer, "country") == {("2026-02", "GB"): "1"}
    assert await table(officer, "taxa") == {("2026-02", "Mammalia"): "1"}
    # Naming another unit only narrows what the officer sees: to nothing.
    assert await table(officer, "country", RANGE + "&unit=FR") == {}
    coordinator = await browser("coordinator", None)
    assert await table(coordinator, "country") == {("2026-02", "GB"): "1", ("2026-02", "FR"): "1"}
    assert await table(coordinator, "country", RANGE + "&unit=FR") == {("2026-02", "FR"): "1"}
    _, page = await officer.get(f"/app/trends?{RANGE}")
    assert "FR" not in page.split('id="trend-country"')[1].split("</section>")[0]


async def test_csv_is_an_attachment_and_audited(
    browser: MakeBrowser, dataset: None, peek: Any
) -> None:
    officer = await browser("officer", "GB")
    response, text = await officer.get(f"/app/trends/channel.csv?{RANGE}&channel=bot")
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert (
        "wildflag-trends-channel-2026-01-01-2026-03-31.csv"
        in (response.headers["Content-Disposition"])
    )
    assert text.splitlines()[0] == "period,group,value"
    events = await peek.rows(AuditEvent, AuditEvent.action == "export.trends")
    assert len(events) == 1
    event = events[0]
    assert event.actor == f"account:{officer.account.id}"
    assert event.object_id == "channel"
    assert event.details["series"] == "channel"
    assert "channel=bot" in event.details["filters"]
    assert (event.details["since"], event.details["until"]) == ("2026-01-01", "2026-03-31")
    # Viewing the page exports nothing.
    await officer.get(f"/app/trends?{RANGE}")
    assert len(await peek.rows(AuditEvent, AuditEvent.action == "export.trends")) == 1


async def test_page_has_a_chart_a_table_and_a_csv_link_per_series(
    browser: MakeBrowser, dataset: None
) -> None:
    officer = await browser("officer", "GB")
    response, page = await officer.get(f"/app/trends?{RANGE}")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for series in ("taxa", "appendix", "platform", "country", "channel", "cases", "routes"):
        assert f'data-series="{series}"' in page
    for series in ("taxa", "appendix", "platform", "country", "channel", "cases", "prices"):
        assert f"/app/trends/{series}.csv?" in page
    # No listing names a shipping method: the section says so instead of drawing nothing.
    shipping = page.split('id="trend-shipping"')[1].split("</section>")[0]
    assert "Nothing to show" in shipping and "/app/trends/shipping.csv?" in shipping
    assert '<script type="application/json" id="trends-data">' in page
    assert "/static/vendor/chartjs/chart.umd.min.js" in page
    assert "<script>" not in page and " style=" not in page and "onclick" not in page
    # The table fallback holds the numbers.
    taxa = page.split('id="trend-taxa"')[1].split("</section>")[0]
    assert '<th scope="row">Mammalia</th>' in taxa


async def test_user_input_is_escaped(browser: MakeBrowser, dataset: None) -> None:
    officer = await browser("officer", "GB")
    payload = "<script>alert(1)</script>"
    response, page = await officer.get(f"/app/trends?{RANGE}&q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert response.status == 200
    assert payload not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_prices_are_medians_per_currency(
    dash: TestClient, settings: Settings, browser: MakeBrowser
) -> None:
    for n, price in enumerate(("£100", "£200", "£600"), start=1):
        await sent(dash, settings, at(1, n), n, title="Pangolin scales", price=price)
    await sent(dash, settings, at(1, 9), 9, title="Pangolin scales", price="50", currency="USD")
    await sent(dash, settings, at(2), 10, title="Pangolin scales", text="only 80 EUR, London")
    coordinator = await browser("coordinator", None)
    _, text = await coordinator.get(f"/app/trends/prices.csv?{RANGE}")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["period", "group", "value", "reports"]
    assert sorted(rows[1:]) == [
        ["2026-01", "Manidae · scales [GBP]", "200", "3"],
        ["2026-01", "Manidae · scales [USD]", "50", "1"],
        ["2026-02", "Manidae · scales [EUR]", "80", "1"],
    ]
    _, page = await coordinator.get(f"/app/trends?{RANGE}")
    summary = page.split('id="trend-price-table"')[1]
    assert "<td>GBP</td><td>3</td><td>200</td><td>100</td><td>600</td>" in summary
    # The chart draws one currency: the commonest unless another is asked for.
    assert "Median price by product (GBP)" in page
    _, page = await coordinator.get(f"/app/trends?{RANGE}&currency=USD")
    assert "Median price by product (USD)" in page


async def test_shipping_methods_and_routes(
    dash: TestClient, settings: Settings, browser: MakeBrowser
) -> None:
    await sent(
        dash,
        settings,
        at(1),
        1,
        title="Pangolin scales",
        text="Pangolin scales, ships from London to worldwide by DHL, discreet packaging",
    )
    await sent(
        dash,
        settings,
        at(2),
        2,
        title="Pangolin scales",
        text="Pangolin scales. Pickup only, no shipping. Located in London",
    )
    await sent(
        dash,
        settings,
        at(2, 20),
        3,
        title="Pangolin scales",
        text="Pangolin scales via Royal Mail",
        seller_location="Manchester",
        ships_to="US, CA",
    )
    officer = await browser("officer", "GB")
    assert await table(officer, "shipping") == {
        ("2026-01", "DHL"): "1",
        ("2026-01", "discreet packaging"): "1",
        ("2026-02", "pickup only (no shipping)"): "1",
        ("2026-02", "Royal Mail"): "1",
    }
    assert await table(officer, "routes") == {
        ("2026-01", "GB → worldwide"): "1",
        ("2026-02", "GB → US"): "1",
        ("2026-02", "GB → CA"): "1",
    }


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("period=year", 400),
        ("since=2026-03-01&until=2026-01-01", 400),
        ("since=2000-01-01&until=2026-01-01&period=week", 400),
        ("since=not-a-date", 400),
    ],
)
async def test_bad_queries_are_refused(browser: MakeBrowser, query: str, status: int) -> None:
    officer = await browser("officer", "GB")
    response, _ = await officer.get(f"/app/trends?{query}")
    assert response.status == status
    response, _ = await officer.get(f"/app/trends/taxa.csv?{query}")
    assert response.status == status


async def test_unknown_series_and_signed_out(browser: MakeBrowser, dash: TestClient) -> None:
    response = await dash.get("/app/trends", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login")
    response = await dash.get("/app/trends/taxa.csv", allow_redirects=False)
    assert response.status == 303
    observer = await browser("observer", "GB")
    response, _ = await observer.get("/app/trends/nothing.csv")
    assert response.status == 404
    response, _ = await observer.get("/app/trends")
    assert response.status == 200


def test_window_defaults_and_weeks() -> None:
    today = date(2026, 11, 28)
    window = Window.of(CaseFilters(), "", today)
    assert (window.since, window.until, window.period) == (date(2025, 12, 1), today, "month")
    assert window.periods()[0] == "2025-12" and window.periods()[-1] == "2026-11"
    assert len(window.periods()) == 12
    short = Window.of(CaseFilters(since=date(2026, 11, 1)), "", today)
    assert short.period == "week"
    assert short.periods()[0] == "2026-10-26" and short.periods()[-1] == "2026-11-23"
    assert Window.of(CaseFilters(since=date(2026, 11, 1)), "month", today).period == "month"


BOUNDARIES = [
    datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 2, 1, 0, 0, tzinfo=UTC),
    datetime(2025, 12, 28, 12, 0, tzinfo=UTC),  # a Sunday: the week of Monday 22nd
    datetime(2025, 12, 29, 0, 0, tzinfo=UTC),  # a Monday
    datetime(2024, 2, 29, 8, 0, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 30, tzinfo=UTC),  # ISO week 1 of 2026 starts on 2025-12-29
]


async def test_bucketing_is_the_same_in_sql_and_python(
    dash: TestClient, settings: Settings
) -> None:
    references = []
    for n, when in enumerate(BOUNDARIES, start=1):
        references.append((await sent(dash, settings, when, n))["reference"])
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            query = select(
                Report.reference,
                Report.created_at,
                period_of(Report.created_at, "month"),
                period_of(Report.created_at, "week"),
            ).where(col(Report.reference).in_(references))
            rows = (await session.exec(query)).all()
    finally:
        await engine.dispose()
    assert len(rows) == len(BOUNDARIES)
    for _, created_at, month, week in rows:
        assert (month, week) == (period_key(created_at, "month"), period_key(created_at, "week"))
    got = {(m, w) for _, _, m, w in rows}
    assert got == {
        ("2026-01", "2026-01-26"),
        ("2026-02", "2026-01-26"),
        ("2025-12", "2025-12-22"),
        ("2025-12", "2025-12-29"),
        ("2024-02", "2024-02-26"),
        ("2026-01", "2025-12-29"),
    }
