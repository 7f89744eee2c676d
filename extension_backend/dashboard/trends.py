"""Trends: reports and cases over time by taxonomic group, Appendix, platform, country and
channel; median prices by product; shipping methods and routes — each a chart with a table
and a CSV download.

Scope is the queue's (`filters.visible_cases`, then the shared `CaseFilters`), so a unit
sees the trends of its own cases and the trends of a filtered queue are one link away. The
date range (`since`/`until`) is the trend window, applied to what each series counts (a
report's or a case's creation), not to the cases' creation as in the queue.

Counting is done in SQL, grouped by a period expression written for each database
(`MonthOf`, `WeekOf`); the series read out of the listing text (prices, shipping) are
computed in Python over the reports of the window, read in batches by id.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from aiohttp import web
from sqlalchemy import String, case, distinct, func, literal
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Analysis, AuditEvent, Case, Listing, Report, SpeciesMatch, Unit
from extension_backend import keys
from extension_backend.auth import GLOBAL_ROLES, Principal
from extension_backend.dashboard.filters import CaseFilters, start_of, visible_cases
from extension_backend.dashboard.web import PageError, page, render
from extension_backend.export_rows import neutralise
from extension_backend.pages import PAGE_HEADERS
from extension_backend.web_auth import SignedIn
from matching.prices import Price, PriceSummary, find_price, median_by_product, parse_price
from matching.prices import product_of as _product_of
from matching.routing import Taxon, kingdom_of
from matching.shipping import read_shipping, route_label

routes = web.RouteTableDef()

Period = Literal["month", "week"]
#: A range this short (in days) is shown by week unless `period=month` is asked for.
WEEKLY_UP_TO_DAYS = 92
MAX_PERIODS = {"month": 120, "week": 160}
#: Reports read per batch for the text-derived series.
BATCH = 500
#: Groups drawn per chart; the rest are summed as "other" (the table and CSV keep them all).
CHART_GROUPS = 8
PRICE_LINES = 6
OTHER = "other"
UNRECOGNISED = "unrecognised"
PLANTS = "Plantae"
APPENDIX_OF_PRIORITY = {"critical": "I", "high": "II", "normal": "III"}


# --- periods, per database --------------------------------------------------------------------


class MonthOf(FunctionElement[str]):
    """'YYYY-MM' of a UTC timestamp column."""

    type = String()
    inherit_cache = True
    name = "month_of"


class WeekOf(FunctionElement[str]):
    """'YYYY-MM-DD' of the Monday that starts a UTC timestamp's ISO week."""

    type = String()
    inherit_cache = True
    name = "week_of"


@compiles(MonthOf, "sqlite")
def _month_sqlite(element: MonthOf, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores the UTC timestamp as text; strftime reads it as UTC.
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(WeekOf, "sqlite")
def _week_sqlite(element: WeekOf, compiler: SQLCompiler, **kw: Any) -> str:
    # 'weekday 0' moves forward to the Sunday ending the week (or stays on it); six days
    # back is that week's Monday, as PostgreSQL's date_trunc('week') counts.
    return f"date({compiler.process(element.clauses, **kw)}, 'weekday 0', '-6 days')"


@compiles(MonthOf, "postgresql")
def _month_postgresql(element: MonthOf, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"to_char(date_trunc('month', ({value}) AT TIME ZONE 'UTC'), 'YYYY-MM')"


@compiles(WeekOf, "postgresql")
def _week_postgresql(element: WeekOf, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"to_char(date_trunc('week', ({value}) AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"


@compiles(MonthOf)
@compiles(WeekOf)
def _period_other(element: FunctionElement[str], compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(f"no period expression for {compiler.dialect.name}")


def period_of(column: Any, period: Period) -> ColumnElement[str]:
    """The period (month or ISO week) a timestamp falls in, as the key `Window` lists."""
    return MonthOf(column) if period == "month" else WeekOf(column)


def period_key(moment: datetime, period: Period) -> str:
    """The same key as `period_of`, computed in Python (for text-derived series)."""
    day = moment.astimezone(UTC).date()
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return (day - timedelta(days=day.weekday())).isoformat()


# --- the window ---------------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True, slots=True)
class Window:
    """The dates a trend covers (both included) and how they are bucketed."""

    since: date
    until: date
    period: Period

    @classmethod
    def of(cls, filters: CaseFilters, period: str, today: date | None = None) -> Window:
        """From the filters' since/until; by default the last 12 months, this one included."""
        if period not in ("", "month", "week"):
            raise PageError(400, "Period is 'month' or 'week'.")
        today = today or datetime.now(UTC).date()
        until = filters.until or today
        since = filters.since
        if since is None:
            if period == "week":
                since = until - timedelta(weeks=12)
            else:
                since = _add_months(until.replace(day=1), -11)
        if since > until:
            raise PageError(400, "The start date is after the end date.")
        chosen: Period
        if period in ("month", "week"):
            chosen = period  # type: ignore[assignment]
        else:
            chosen = "week" if (until - since).days <= WEEKLY_UP_TO_DAYS else "month"
        window = cls(since, until, chosen)
        if len(window.periods()) > MAX_PERIODS[chosen]:
            raise PageError(
                400, f"At most {MAX_PERIODS[chosen]} {chosen}s at once: narrow the dates."
            )
        return window

    @property
    def start(self) -> datetime:
        return start_of(self.since)

    @property
    def end(self) -> datetime:
        """Exclusive: the start of the day after `until`."""
        return start_of(self.until + timedelta(days=1))

    def periods(self) -> list[str]:
        """Every period key in the window, empty ones included, oldest first."""
        keys: list[str] = []
        if self.period == "month":
            day = self.since.replace(day=1)
            while day <= self.until:
                keys.append(f"{day.year:04d}-{day.month:02d}")
                day = _add_months(day, 1)
        else:
            day = self.since - timedelta(days=self.since.weekday())
            while day <= self.until:
                keys.append(day.isoformat())
                day += timedelta(weeks=1)
        return keys


# --- series ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Series:
    """One chart's numbers: a value per (period, group)."""

    id: str
    title: str
    description: str
    periods: list[str]
    chart: str = "stacked"  # stacked bars of counts, or "line" (medians)
    values: dict[str, dict[str, float]] = field(default_factory=dict)  # group → period → v
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # prices: n per median
    value_name: str = "reports"

    def add(self, period: str, group: str, value: float) -> None:
        if period in self._period_set():
            bucket = self.values.setdefault(group, {})
            bucket[period] = bucket.get(period, 0) + value

    def _period_set(self) -> frozenset[str]:
        return frozenset(self.periods)

    def groups(self) -> list[str]:
        """Groups by their total, largest first ("other", "unrecognised" and the like last)."""
        totals = {g: sum(v.values()) for g, v in self.values.items()}
        return sorted(totals, key=lambda g: (g in _LAST, -totals[g], g))

    def total(self, group: str) -> float:
        return sum(self.values.get(group, {}).values())

    def row(self, group: str) -> list[float | None]:
        bucket = self.values.get(group, {})
        if self.chart == "line":
            return [bucket.get(p) for p in self.periods]
        return [bucket.get(p, 0) for p in self.periods]

    def shown(self) -> list[tuple[str, list[float | None]]]:
        """What the chart and the table draw: the largest groups, the rest as "other"."""
        groups = self.groups()
        if self.chart == "line":
            return [(g, self.row(g)) for g in groups[:PRICE_LINES]]
        if len(groups) <= CHART_GROUPS + 1:
            return [(g, self.row(g)) for g in groups]
        kept, rest = groups[:CHART_GROUPS], groups[CHART_GROUPS:]
        other = [sum(self.values[g].get(p, 0) for g in rest) for p in self.periods]
        return [(g, self.row(g)) for g in kept] + [(f"{OTHER} ({len(rest)})", other)]

    def csv_rows(self) -> Iterable[list[str]]:
        header = ["period", "group", "value"]
        if self.counts:
            header.append("reports")
        yield header
        for group in self.groups():
            for period in self.periods:
                value = self.values[group].get(period)
                if value is None and self.chart == "line":
                    continue
                row = [period, group, _number(value or 0)]
                if self.counts:
                    row.append(str(self.counts.get(group, {}).get(period, 0)))
                yield row

    def chart_data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "line" if self.chart == "line" else "bar",
            "stacked": self.chart != "line",
            "labels": self.periods,
            "valueName": self.value_name,
            "datasets": [{"label": g, "data": data} for g, data in self.shown()],
        }


_LAST = frozenset({OTHER, UNRECOGNISED, "review", "unknown", "no URL"})


def _number(value: float | Decimal) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


@dataclass(frozen=True, slots=True)
class Spec:
    title: str
    description: str
    text_derived: bool = False


SERIES: dict[str, Spec] = {
    "taxa": Spec(
        "Reports by taxonomic group",
        "Reports per period by the class of each species recognised in them (plants as "
        "Plantae). A report naming species of two classes counts in both; 'unrecognised' "
        "reports matched no listed species and wait for review.",
    ),
    "appendix": Spec(
        "Reports by CITES Appendix",
        "Reports per period by the highest Appendix of the species recognised in them; "
        "'review' when none was recognised.",
    ),
    "platform": Spec(
        "Reports by platform",
        "Reports per period by the platform of the listing (its host when the platform is "
        "not known; 'no URL' for reports without a link).",
    ),
    "country": Spec(
        "Reports by country of listing",
        "Reports per period by the country of the case's listing as wildflag inferred it; "
        "'unknown' when no country was clear.",
    ),
    "channel": Spec(
        "Reports by channel",
        "Reports per period by how they arrived: browser extension, Telegram bot or API.",
    ),
    "cases": Spec(
        "Cases opened and closed",
        "Cases opened (first report) and closed per period.",
    ),
    "prices": Spec(
        "Median price by product",
        "Median asking price per period of each product (taxon and the product its trade "
        "term names), in one currency at a time: there is no conversion between currencies. "
        "From the price field, else a price written next to a currency in the text.",
        text_derived=True,
    ),
    "shipping": Spec(
        "Shipping methods mentioned",
        "Reports per period that name a courier or means of shipping, discreet packaging, "
        "customs avoidance, or that say they do not ship (read from the listing text).",
        text_derived=True,
    ),
    "routes": Spec(
        "Shipping routes",
        "Reports per period by route, from where a listing ships to where it ships "
        "(ISO country codes; '?' where the listing names only one end).",
        text_derived=True,
    ),
}


# --- queries ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """Who asks and what: the cases they may see, narrowed by the filters, in a window."""

    principal: Principal
    filters: CaseFilters
    window: Window

    def case_ids(self) -> Any:
        # The window applies to what each series counts, not to the cases' creation.
        undated = replace(self.filters, since=None, until=None)
        cases = undated.apply(visible_cases(self.principal), self.principal)
        return cases.with_only_columns(col(Case.id))

    def report_ids(self) -> Any:
        return select(Report.id).where(*self.report_where())

    def report_where(self) -> list[Any]:
        return [
            col(Report.case_id).in_(self.case_ids()),
            col(Report.created_at) >= self.window.start,
            col(Report.created_at) < self.window.end,
        ]


def _latest_analysis(reports: Any) -> Any:
    """The latest analysis of each of `reports` (ids, or a query of them): a newer matcher
    adds an analysis and the old ones stay. Limited to those reports so that the grouping
    reads the window's analyses, not the whole table's."""
    return (
        select(
            col(Analysis.report_id).label("report_id"),
            func.max(Analysis.id).label("analysis_id"),
        )
        .where(col(Analysis.report_id).in_(reports))
        .group_by(col(Analysis.report_id))
        .subquery("latest")
    )


async def _grouped(session: AsyncSession, inner: Any) -> list[tuple[str, str, int]]:
    """(period, group, distinct items) of a query with columns period, grp, item.

    Grouped over a subquery so the group expression (a CASE with parameters) is written
    once: PostgreSQL refuses a GROUP BY whose parameters differ from the SELECT's.
    """
    sub = inner.subquery("counted")
    query = select(sub.c.period, sub.c.grp, func.count(distinct(sub.c.item))).group_by(
        sub.c.period, sub.c.grp
    )
    return [(str(p), str(g), int(n)) for p, g, n in (await session.exec(query)).all()]


async def _plant_taxa(session: AsyncSession, scope: Scope) -> list[str]:
    """Taxa without a class that the codes of nomenclature say are plants (orchids,
    rosewoods: the lexicon and checklist give plants no class)."""
    latest = _latest_analysis(scope.report_ids())
    query = (
        select(SpeciesMatch.taxon, SpeciesMatch.rank, SpeciesMatch.family, SpeciesMatch.order_name)
        .distinct()
        .join(latest, latest.c.analysis_id == SpeciesMatch.analysis_id)
        .join(Report, col(Report.id) == latest.c.report_id)
        .where(col(SpeciesMatch.class_name).is_(None), *scope.report_where())
    )
    rows = (await session.exec(query)).all()
    return sorted(
        {
            taxon
            for taxon, rank, family, order in rows
            if kingdom_of(Taxon(taxon, rank, family, order, None)) == "Plantae"
        }
    )


async def _taxa(session: AsyncSession, scope: Scope, series: Series) -> None:
    latest = _latest_analysis(scope.report_ids())
    plants = await _plant_taxa(session, scope)
    whens: list[tuple[Any, Any]] = [
        (col(SpeciesMatch.id).is_(None), literal(UNRECOGNISED)),
        (func.lower(col(SpeciesMatch.class_name)).like("%opsida"), literal(PLANTS)),
        (col(SpeciesMatch.class_name).is_not(None), col(SpeciesMatch.class_name)),
    ]
    if plants:
        whens.append((col(SpeciesMatch.taxon).in_(plants), literal(PLANTS)))
    group = case(*whens, else_=literal(OTHER))
    inner = (
        select(
            period_of(Report.created_at, scope.window.period).label("period"),
            group.label("grp"),
            col(Report.id).label("item"),
        )
        .select_from(Report)
        .outerjoin(latest, latest.c.report_id == Report.id)
        .outerjoin(SpeciesMatch, col(SpeciesMatch.analysis_id) == latest.c.analysis_id)
        .where(*scope.report_where())
    )
    for period, grp, count in await _grouped(session, inner):
        series.add(period, grp, count)


async def _appendix(session: AsyncSession, scope: Scope, series: Series) -> None:
    latest = _latest_analysis(scope.report_ids())
    whens = [(col(Analysis.priority) == p, literal(a)) for p, a in APPENDIX_OF_PRIORITY.items()]
    inner = (
        select(
            period_of(Report.created_at, scope.window.period).label("period"),
            case(*whens, else_=literal("review")).label("grp"),
            col(Report.id).label("item"),
        )
        .select_from(Report)
        .outerjoin(latest, latest.c.report_id == Report.id)
        .outerjoin(Analysis, col(Analysis.id) == latest.c.analysis_id)
        .where(*scope.report_where())
    )
    for period, grp, count in await _grouped(session, inner):
        series.add(period, grp, count)


async def _by_column(
    session: AsyncSession, scope: Scope, series: Series, group: Any, join: Callable[[Any], Any]
) -> None:
    inner = join(
        select(
            period_of(Report.created_at, scope.window.period).label("period"),
            group.label("grp"),
            col(Report.id).label("item"),
        ).select_from(Report)
    ).where(*scope.report_where())
    for period, grp, count in await _grouped(session, inner):
        series.add(period, grp, count)


async def _platform(session: AsyncSession, scope: Scope, series: Series) -> None:
    group = func.coalesce(col(Listing.platform), col(Listing.host), literal("no URL"))
    await _by_column(
        session,
        scope,
        series,
        group,
        lambda q: q.outerjoin(Listing, col(Listing.id) == Report.listing_id),
    )


async def _country(session: AsyncSession, scope: Scope, series: Series) -> None:
    group = func.coalesce(col(Case.country), literal("unknown"))
    await _by_column(
        session, scope, series, group, lambda q: q.join(Case, col(Case.id) == Report.case_id)
    )


async def _channel(session: AsyncSession, scope: Scope, series: Series) -> None:
    await _by_column(session, scope, series, col(Report.channel), lambda q: q)


async def _cases(session: AsyncSession, scope: Scope, series: Series) -> None:
    window = scope.window
    for label, column in (("opened", Case.created_at), ("closed", Case.closed_at)):
        inner = select(
            period_of(column, window.period).label("period"),
            literal(label).label("grp"),
            col(Case.id).label("item"),
        ).where(
            col(Case.id).in_(scope.case_ids()),
            col(column) >= window.start,
            col(column) < window.end,
        )
        for period, grp, count in await _grouped(session, inner):
            series.add(period, grp, count)


SQL_SERIES = {
    "taxa": _taxa,
    "appendix": _appendix,
    "platform": _platform,
    "country": _country,
    "channel": _channel,
    "cases": _cases,
}


# --- text-derived series ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Listed:
    """What the text-derived series read of one report."""

    id: int
    created_at: datetime
    title: str
    text: str
    price: str
    currency: str
    seller_location: str
    ships_to: str
    matches: tuple[tuple[str, str, str, float], ...]  # taxon, term, kind, confidence


async def _reports(
    session: AsyncSession, scope: Scope, *, matches: bool
) -> AsyncIterator[list[_Listed]]:
    """The reports of the window in batches of `BATCH`, by id (keyset: each batch is one
    indexed range, however far in), with their latest analysis's species matches."""
    last = 0
    while True:
        query = (
            select(
                Report.id,
                Report.created_at,
                Report.title,
                Report.text,
                Report.price,
                Report.currency,
                Report.seller_location,
                Report.ships_to,
            )
            .where(col(Report.id) > last, *scope.report_where())
            .order_by(col(Report.id))
            .limit(BATCH)
        )
        rows = (await session.exec(query)).all()
        if not rows:
            return
        found: dict[int, list[tuple[str, str, str, float]]] = {}
        if matches:
            latest = _latest_analysis([row[0] for row in rows])
            match_query = select(
                latest.c.report_id,
                SpeciesMatch.taxon,
                SpeciesMatch.term,
                SpeciesMatch.kind,
                SpeciesMatch.confidence,
            ).join(SpeciesMatch, col(SpeciesMatch.analysis_id) == latest.c.analysis_id)
            matched = (await session.exec(match_query)).all()
            for report_id, taxon, term, kind, confidence in matched:
                found.setdefault(report_id, []).append((taxon, term, kind, confidence))
        yield [
            _Listed(*row, matches=tuple(found.get(row[0], ())))  # type: ignore[misc]
            for row in rows
        ]
        last = rows[-1][0]


def price_of(listed: _Listed) -> Price | None:
    """The report's price: its price field, else a price written next to a currency."""
    if listed.price.strip():
        return parse_price(listed.price, listed.currency)
    return find_price(f"{listed.title}\n{listed.text}")


def product_of(listed: _Listed) -> tuple[str, str] | None:
    """(taxon, product) of the report's surest match, a trade term preferred."""
    if not listed.matches:
        return None
    taxon, term, kind, _ = max(
        listed.matches, key=lambda m: (m[2] in ("trade", "code"), m[3], m[0])
    )
    return taxon, _product_of(term, kind, listed.title)


async def _text_series(
    session: AsyncSession, scope: Scope, wanted: set[str]
) -> tuple[dict[str, Series], list[PriceSummary]]:
    """The text-derived series in `wanted`, in one pass over the window's reports."""
    window = scope.window
    periods = window.periods()
    made = {name: _series(name, periods) for name in wanted}
    priced: list[tuple[str, str, Price]] = []
    by_period: dict[tuple[str, str], list[tuple[str, str, Price]]] = {}
    async for batch in _reports(session, scope, matches="prices" in wanted):
        for listed in batch:
            period = period_key(listed.created_at, window.period)
            price = price_of(listed) if "prices" in wanted else None
            product = product_of(listed) if price is not None else None
            if price is not None and product is not None:
                item = (*product, price)
                priced.append(item)
                by_period.setdefault((period, price.currency), []).append(item)
            if wanted & {"shipping", "routes"}:
                shipping = read_shipping(
                    f"{listed.title}\n{listed.text}",
                    seller_location=listed.seller_location,
                    ships_to=listed.ships_to,
                )
                if "shipping" in made:
                    for mention in shipping.mentions:
                        made["shipping"].add(period, mention, 1)
                if "routes" in made:
                    for route in shipping.routes:
                        made["routes"].add(period, route_label(route), 1)
    summaries = median_by_product(priced)
    if "prices" in made:
        prices = made["prices"]
        for (period, _currency), items in by_period.items():
            for summary in median_by_product(items):
                group = price_group(summary)
                prices.values.setdefault(group, {})[period] = float(summary.median)
                prices.counts.setdefault(group, {})[period] = summary.count
    return made, summaries


def price_group(summary: PriceSummary) -> str:
    return f"{summary.taxon} · {summary.product} [{summary.currency or 'no currency'}]"


def _series(name: str, periods: list[str]) -> Series:
    spec = SERIES[name]
    if name == "prices":
        return Series(
            name, spec.title, spec.description, periods, chart="line", value_name="median price"
        )
    return Series(name, spec.title, spec.description, periods)


async def compute(
    session: AsyncSession, scope: Scope, names: Iterable[str]
) -> tuple[dict[str, Series], list[PriceSummary]]:
    """The series named, in SERIES order, and the price summaries of the whole window."""
    names = [name for name in SERIES if name in set(names)]
    periods = scope.window.periods()
    made: dict[str, Series] = {}
    for name in names:
        if name in SQL_SERIES:
            made[name] = _series(name, periods)
            await SQL_SERIES[name](session, scope, made[name])
    text, summaries = await _text_series(
        session, scope, {n for n in names if SERIES[n].text_derived}
    )
    made.update(text)
    return {name: made[name] for name in names}, summaries


# --- pages ---------------------------------------------------------------------------------------


def _scope_of(request: web.Request, me: SignedIn) -> Scope:
    # A unit filter only narrows: for a unit it is within the cases it already sees.
    filters = CaseFilters.from_query(request.query)
    window = Window.of(filters, str(request.query.get("period", "")).strip())
    return Scope(me.principal, filters, window)


def _links(scope: Scope, currency: str) -> dict[str, str]:
    """The query string that reproduces this view (filters, window, period)."""
    base = scope.filters.query_string(
        since=scope.window.since.isoformat(), until=scope.window.until.isoformat()
    )
    query = f"{base}&period={scope.window.period}"
    return {"query": query, "currency": f"&currency={currency}" if currency else ""}


@routes.get("/app/trends")
@page()
async def trends_page(request: web.Request, me: SignedIn) -> web.Response:
    scope = _scope_of(request, me)
    async with request.app[keys.SESSIONS]() as session:
        series, summaries = await compute(session, scope, SERIES)
        units: list[tuple[str, str]] = []
        if me.principal.role in GLOBAL_ROLES:
            rows = await session.exec(select(Unit.code, Unit.name).order_by(col(Unit.code)))
            units = [(code, name) for code, name in rows.all()]
    currencies = _currencies(summaries)
    currency = str(request.query.get("currency", "")).strip()
    if currency not in currencies:
        currency = currencies[0] if currencies else ""
    prices = series["prices"]
    prices.values = {g: v for g, v in prices.values.items() if g.endswith(f"[{currency}]")}
    charts = [s.chart_data() for s in series.values()]
    return render(
        request,
        "dashboard/trends.html",
        me,
        scope=scope,
        filters=scope.filters,
        window=scope.window,
        series=list(series.values()),
        summaries=summaries,
        currencies=currencies,
        currency=currency,
        units=units,
        links=_links(scope, currency),
        payload={"charts": charts},
        hidden_filters=_hidden_filters(scope.filters),
        request_period=str(request.query.get("period", "")).strip(),
    )


def _currencies(summaries: list[PriceSummary]) -> list[str]:
    """Currencies by how many prices were quoted in them, the commonest first."""
    counts: dict[str, int] = {}
    for summary in summaries:
        counts[summary.currency] = counts.get(summary.currency, 0) + summary.count
    return sorted(counts, key=lambda c: (-counts[c], c))


def _hidden_filters(filters: CaseFilters) -> list[tuple[str, str]]:
    """Active filters the trends form has no field for (from a queue link), kept as they are."""
    shown = {"since", "until", "taxon", "platform", "country", "channel", "unit"}
    return [
        (name, str(value))
        for name, value in (
            ("status", filters.status),
            ("priority", filters.priority),
            ("assigned", filters.assigned),
            ("q", filters.q),
        )
        if value and name not in shown
    ]


@routes.get("/app/trends/{series}.csv")
@page()
async def trends_csv(request: web.Request, me: SignedIn) -> web.Response:
    name = request.match_info["series"]
    if name not in SERIES:
        raise PageError(404, "No such trend.")
    scope = _scope_of(request, me)
    async with request.app[keys.SESSIONS]() as session:
        series, _ = await compute(session, scope, [name])
        session.add(
            AuditEvent(
                actor=me.principal.actor,
                action="export.trends",
                object_type="trends",
                object_id=name,
                details={
                    "series": name,
                    "filters": scope.filters.query_string(),
                    "since": scope.window.since.isoformat(),
                    "until": scope.window.until.isoformat(),
                    "period": scope.window.period,
                    "unit": me.principal.unit_code,
                },
            )
        )
        await session.commit()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in series[name].csv_rows():
        # A platform or host name is partly the seller's doing: no cell runs as a formula.
        writer.writerow([neutralise(value) for value in row])
    filename = f"wildflag-trends-{name}-{scope.window.since}-{scope.window.until}.csv"
    return web.Response(
        text=buffer.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={
            **PAGE_HEADERS,
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
