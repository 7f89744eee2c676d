"""What exports hold and how they are written: rows of cases and reports, the yearly figures
for the CITES Secretariat, and the CSV / JSON Lines encoders that stream them.

Shared by the dashboard's downloads (`dashboard.exports`, `dashboard.audit_page`) and
`wildflag export` (`export_cli`), so that a file means the same whichever way it was made.

Rows are read by one query whose cursor is read a batch at a time (`yield_per`: a
server-side cursor on PostgreSQL, SQLite's own stepping cursor), a case's units and
listings in the same query and each batch's species by one more. One batch is in memory
at a time however many rows match, and each is encoded and handed to the writer before
the next is read. (Keyset
pagination was measured first: it re-ran the scope's sub-query for every batch, 5.6 s of
SQL for 100,000 cases on SQLite against 0.8 s for one streamed query.)

Never in a row: receipt hashes, idempotency data, the submission as received (`submitted`)
or a reporter's notes; the reporter's account only when the caller asks for it for a role
that may see it (`REPORTER_ROLES`). Never in the Secretariat's figures: free text, URLs,
references, sellers, anything about a reporter — only counts by public categories (taxon,
Appendix, country, platform, channel, outcome), with small counts suppressed.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, distinct, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from db.models import (
    Analysis,
    AuditEvent,
    Case,
    CaseUnit,
    Listing,
    Platform,
    PlatformReferral,
    Report,
    SpeciesMatch,
)

#: Rows read per query. 1,000 cases encode to about 200 kB of CSV: large enough that the
#: round trips do not dominate, small enough that a batch is nothing next to the process.
BATCH = 1000
#: Cases per batch of the reports export (a case may hold many reports).
REPORT_CASE_BATCH = 200

CASE_COLUMNS = (
    "id",
    "created",
    "updated",
    "status",
    "outcome",
    "priority",
    "appendix",
    "country",
    "units",
    "platforms",
    "taxa",
    "report_count",
    "title",
    "first_url",
)
REPORT_COLUMNS = (
    "reference",
    "case_id",
    "received",
    "channel",
    "url",
    "title",
    "text",
    "price",
    "currency",
    "seller",
    "seller_location",
    "ships_to",
    "reporter_country",
    "taxa",
    "appendix",
)
#: The reporter's account id (an officer's report, a linked Telegram user's); anonymous
#: reports have none. Only for these roles, as everywhere in the dashboard.
REPORTER_COLUMN = "reporter_account"
REPORTER_ROLES = frozenset({"unit_admin", "coordinator", "admin"})
AUDIT_COLUMNS = ("id", "at", "actor", "action", "object_type", "object_id", "details")

#: Counts below this are written "<3" in the Secretariat's figures: a count of one or two
#: can point at a single seller or reporter when read beside public listings.
SUPPRESS_BELOW = 3

Row = dict[str, Any]
Write = Callable[[bytes], Awaitable[None]]


@dataclass
class Tally:
    """Rows written so far: still right when the stream breaks half-way (for the audit)."""

    rows: int = 0


# --- encoding -------------------------------------------------------------------------

#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """A cell a spreadsheet shows as text: formulas get a leading single quote."""
    return "'" + value if value.startswith(FORMULA_START) else value


_FORMULA_CHARS = frozenset(FORMULA_START)


def _cell(value: Any) -> str:
    kind = type(value)
    if kind is str:  # the common case first: 100,000 rows × 14 cells
        return "'" + value if value[:1] in _FORMULA_CHARS else value
    if value is None:
        return ""
    if kind is int:
        return str(value)
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, datetime):
        return value.isoformat()
    elif isinstance(value, bool):
        return "true" if value else "false"
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralise(str(value))


class CsvEncoder:
    """Rows as CSV (RFC 4180 quoting by the csv module, CRLF line ends, UTF-8).

    `bom`: start with a UTF-8 byte order mark, which Excel needs to read UTF-8 (names of
    species and listings in many scripts); the dashboard's downloads carry one, the CLI's
    output does not unless asked (scripts read plain UTF-8).
    """

    media_type = "text/csv"
    extension = "csv"

    def __init__(self, columns: Sequence[str], *, bom: bool = False) -> None:
        self.columns = tuple(columns)
        self.bom = bom

    def preamble(self) -> bytes:
        """What comes before the rows: the byte order mark if asked for, the column names."""
        names = self.encode([{name: name for name in self.columns}])
        return ("\ufeff".encode() if self.bom else b"") + names

    def encode(self, rows: Iterable[Row]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in rows:
            writer.writerow([_cell(row[name]) for name in self.columns])
        return buffer.getvalue().encode("utf-8")


class JsonLinesEncoder:
    """Rows as JSON Lines: one JSON object per line, lists as JSON arrays, times ISO 8601."""

    media_type = "application/x-ndjson"
    extension = "jsonl"

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)

    def preamble(self) -> bytes:
        return b""

    def encode(self, rows: Iterable[Row]) -> bytes:
        lines = (
            json.dumps({name: row[name] for name in self.columns}, default=_json_default)
            for row in rows
        )
        return "".join(line + "\n" for line in lines).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


Encoder = CsvEncoder | JsonLinesEncoder


def encoder_for(fmt: str, columns: Sequence[str], *, bom: bool = False) -> Encoder:
    if fmt == "csv":
        return CsvEncoder(columns, bom=bom)
    if fmt == "json":
        return JsonLinesEncoder(columns)
    raise ValueError(f"unknown format {fmt!r}: csv or json")


async def stream_rows(
    batches: AsyncIterator[list[Row]], encoder: Encoder, write: Write, tally: Tally | None = None
) -> int:
    """Write the header, then each batch as it comes; the number of rows written."""
    tally = tally if tally is not None else Tally()
    head = encoder.preamble()
    if head:
        await write(head)
    async for batch in batches:
        if batch:
            await write(encoder.encode(batch))
            tally.rows += len(batch)
    return tally.rows


# --- cases and reports ----------------------------------------------------------------


def case_columns() -> tuple[str, ...]:
    return CASE_COLUMNS


def report_columns(*, with_reporter: bool) -> tuple[str, ...]:
    return (*REPORT_COLUMNS, REPORTER_COLUMN) if with_reporter else REPORT_COLUMNS


async def partitions(
    connection: AsyncConnection, query: Select[Any], size: int
) -> AsyncIterator[Sequence[Any]]:
    """The rows of one query, `size` at a time, from a cursor that is read as it goes
    (a server-side cursor on PostgreSQL, SQLite's stepping cursor): the query runs once,
    however many batches it yields, and only one batch is in memory."""
    result = await connection.stream(query.execution_options(yield_per=size))
    try:
        async for part in result.partitions():
            yield part
    finally:
        await result.close()


def _narrowed(query: Select[Any], cases: Select[Any]) -> Select[Any]:
    """`query` (over `Case`'s columns) with the scope and filters of `cases`."""
    return query.where(cases.whereclause) if cases.whereclause is not None else query


async def case_rows(
    connection: AsyncConnection, cases: Select[Any], *, batch: int = BATCH
) -> AsyncIterator[list[Row]]:
    """The cases `cases` selects (any query over `Case`: scope and filters applied), in id
    order, one batch of rows at a time."""
    # A case's units and listings come with it (correlated sub-queries on indexed columns),
    # its species by one query per batch: one round trip less per batch than three lists.
    units = (
        select(func.aggregate_strings(CaseUnit.unit_code, " "))
        .where(CaseUnit.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    platforms = (
        select(func.aggregate_strings(Listing.platform, " "))
        .where(Listing.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    first_url = (
        select(Listing.url)
        .where(Listing.case_id == Case.id)
        .order_by(Listing.id)
        .limit(1)
        .correlate(Case)
        .scalar_subquery()
    )
    query = select(
        Case.id,
        Case.created_at,
        Case.updated_at,
        Case.status,
        Case.priority,
        Case.outcome,
        Case.appendix,
        Case.country,
        Case.report_count,
        Case.title,
        units.label("units"),
        platforms.label("platforms"),
        first_url.label("first_url"),
    )
    async for found in partitions(connection, _narrowed(query, cases).order_by(Case.id), batch):
        taxa = await _case_taxa(connection, [row.id for row in found])
        yield [
            {
                "id": row.id,
                "created": row.created_at,
                "updated": row.updated_at,
                "status": row.status,
                "outcome": row.outcome,
                "priority": row.priority,
                "appendix": row.appendix,
                "country": row.country,
                "units": sorted((row.units or "").split()),
                "platforms": sorted(set((row.platforms or "").split())),
                "taxa": taxa.get(row.id, []),
                "report_count": row.report_count,
                "title": row.title,
                "first_url": row.first_url or "",
            }
            for row in found
        ]


async def report_rows(
    connection: AsyncConnection,
    cases: Select[Any],
    *,
    with_reporter: bool,
    batch: int = REPORT_CASE_BATCH,
) -> AsyncIterator[list[Row]]:
    """The reports of the cases `cases` selects, by case then report, a batch at a time."""
    case_ids = _narrowed(select(Case.id), cases).order_by(Case.id)
    async for part in partitions(connection, case_ids, batch):
        ids = [row.id for row in part]
        found = (
            await connection.execute(
                select(
                    Report.id,
                    Report.reference,
                    Report.case_id,
                    Report.created_at,
                    Report.channel,
                    Report.url,
                    Report.title,
                    Report.text,
                    Report.price,
                    Report.currency,
                    Report.seller,
                    Report.seller_location,
                    Report.ships_to,
                    Report.reporter_country,
                    Report.account_id,
                )
                .where(col(Report.case_id).in_(ids))
                .order_by(col(Report.case_id), col(Report.id))
            )
        ).all()
        analysed = await _report_analyses(connection, [row.id for row in found])
        rows = []
        for row in found:
            appendix, taxa = analysed.get(row.id, (None, []))
            item: Row = {
                "reference": row.reference,
                "case_id": row.case_id,
                "received": row.created_at,
                "channel": row.channel,
                "url": row.url,
                "title": row.title,
                "text": row.text,
                "price": row.price,
                "currency": row.currency,
                "seller": row.seller,
                "seller_location": row.seller_location,
                "ships_to": row.ships_to,
                "reporter_country": row.reporter_country,
                "taxa": taxa,
                "appendix": appendix,
            }
            if with_reporter:
                item[REPORTER_COLUMN] = row.account_id
            rows.append(item)
        yield rows


def _latest_analyses(report_ids: Any) -> Any:
    """The newest analysis of each report (a newer matcher adds one, never rewrites)."""
    return (
        select(func.max(Analysis.id))
        .where(col(Analysis.report_id).in_(report_ids))
        .group_by(col(Analysis.report_id))
    )


async def _case_taxa(connection: AsyncConnection, ids: list[int]) -> dict[int, list[str]]:
    reports = select(Report.id).where(col(Report.case_id).in_(ids))
    found = await connection.execute(
        select(Report.case_id, SpeciesMatch.taxon)
        .join(Analysis, col(Analysis.report_id) == Report.id)
        .join(SpeciesMatch, col(SpeciesMatch.analysis_id) == Analysis.id)
        .where(col(Analysis.id).in_(_latest_analyses(reports)))
        .distinct()
    )
    taxa: dict[int, set[str]] = defaultdict(set)
    for case_id, taxon in found:
        taxa[case_id].add(taxon)
    return {case_id: sorted(names) for case_id, names in taxa.items()}


async def _report_analyses(
    connection: AsyncConnection, report_ids: list[int]
) -> dict[int, tuple[str | None, list[str]]]:
    if not report_ids:
        return {}
    latest = (
        await connection.execute(
            select(Analysis.id, Analysis.report_id, Analysis.appendix).where(
                col(Analysis.id).in_(_latest_analyses(report_ids))
            )
        )
    ).all()
    by_analysis = {row.id: row.report_id for row in latest}
    taxa: dict[int, set[str]] = defaultdict(set)
    if by_analysis:
        found = await connection.execute(
            select(SpeciesMatch.analysis_id, SpeciesMatch.taxon).where(
                col(SpeciesMatch.analysis_id).in_(list(by_analysis))
            )
        )
        for analysis_id, taxon in found:
            taxa[by_analysis[analysis_id]].add(taxon)
    return {row.report_id: (row.appendix, sorted(taxa[row.report_id])) for row in latest}


# --- the audit trail ------------------------------------------------------------------


async def audit_rows(
    connection: AsyncConnection, events: Select[Any], *, batch: int = BATCH
) -> AsyncIterator[list[Row]]:
    """The audit events `events` selects (a query over `AuditEvent`), newest first."""
    query = select(AuditEvent.__table__)  # columns, not ORM objects
    if events.whereclause is not None:
        query = query.where(events.whereclause)
    async for found in partitions(connection, query.order_by(col(AuditEvent.id).desc()), batch):
        yield [
            {
                "id": row.id,
                "at": row.at,
                "actor": row.actor,
                "action": row.action,
                "object_type": row.object_type,
                "object_id": row.object_id,
                "details": row.details,
            }
            for row in found
        ]


# --- the yearly figures for the CITES Secretariat ---------------------------------------

SECRETARIAT_NOTES = (
    "wildflag: figures on online offers of CITES specimens reported in one calendar year (UTC).",
    "Anonymised and aggregated: counts only, by taxon, Appendix, country of listing, platform, "
    "reporting channel and outcome; no free text, URLs, references, sellers or reporters.",
    "reports = reports received in the year; cases = cases opened in the year (merged cases "
    "counted once); outcomes = cases closed in the year; referrals = platform referrals made "
    "in the year.",
    'Counts from 1 to {below_less_one} are shown as "<{below}" so that no seller or reporter '
    "can be singled out; zeros are left out.",
)

#: The sections of the figures, in the order they are written.
SECTIONS = (
    "totals",
    "taxon",
    "class",
    "appendix",
    "country",
    "platform",
    "channel",
    "outcome",
    "referrals",
    "referral_state",
)

Count = int | str


@dataclass(frozen=True, slots=True)
class Figure:
    """One count: `section` ("taxon"), `key` ("Manis javanica"), `measure` ("reports")."""

    section: str
    key: str
    measure: str
    count: int


def suppress(count: int, below: int) -> Count:
    """A count as published: "<3" for 1 and 2 (with below=3), else the number."""
    return f"<{below}" if 0 < count < below else count


def year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


async def secretariat_figures(connection: AsyncConnection, year: int) -> list[Figure]:
    """Every count of `year`, unsuppressed (suppression is `secretariat_document`'s)."""
    start, end = year_bounds(year)
    reports_in_year = (col(Report.created_at) >= start) & (col(Report.created_at) < end)
    cases_in_year = (
        (col(Case.created_at) >= start)
        & (col(Case.created_at) < end)
        & col(Case.merged_into_id).is_(None)
    )
    latest = select(func.max(Analysis.id)).group_by(col(Analysis.report_id))
    figures: list[Figure] = []

    async def add(section: str, measure: str, query: Select[Any]) -> None:
        for key, count in await connection.execute(query):
            if count:
                figures.append(Figure(section, "none" if key is None else str(key), measure, count))

    report_id = func.count(distinct(Report.id))
    case_id = func.count(distinct(Case.id))
    await add(
        "totals",
        "reports",
        select(literal("all"), func.count(Report.id)).where(reports_in_year),
    )
    await add("totals", "cases", select(literal("all"), func.count(Case.id)).where(cases_in_year))
    for section, column in (("taxon", SpeciesMatch.taxon), ("class", SpeciesMatch.class_name)):
        await add(
            section,
            "reports",
            select(column, report_id)
            .join(Analysis, col(Analysis.report_id) == Report.id)
            .join(SpeciesMatch, col(SpeciesMatch.analysis_id) == Analysis.id)
            .where(reports_in_year, col(Analysis.id).in_(latest))
            .group_by(column),
        )
        await add(
            section,
            "cases",
            select(column, case_id)
            .join(Report, col(Report.case_id) == Case.id)
            .join(Analysis, col(Analysis.report_id) == Report.id)
            .join(SpeciesMatch, col(SpeciesMatch.analysis_id) == Analysis.id)
            .where(cases_in_year, col(Analysis.id).in_(latest))
            .group_by(column),
        )
    await add(
        "appendix",
        "reports",
        select(Analysis.appendix, report_id)
        .join(Analysis, col(Analysis.report_id) == Report.id)
        .where(reports_in_year, col(Analysis.id).in_(latest))
        .group_by(col(Analysis.appendix)),
    )
    await add(
        "appendix",
        "cases",
        select(Case.appendix, case_id).where(cases_in_year).group_by(col(Case.appendix)),
    )
    await add(
        "country",
        "reports",
        select(Case.country, report_id)
        .join(Case, col(Case.id) == Report.case_id)
        .where(reports_in_year)
        .group_by(col(Case.country)),
    )
    await add(
        "country",
        "cases",
        select(Case.country, case_id).where(cases_in_year).group_by(col(Case.country)),
    )
    await add(
        "platform",
        "reports",
        select(Listing.platform, report_id)
        .select_from(Report)
        .outerjoin(Listing, col(Listing.id) == Report.listing_id)
        .where(reports_in_year)
        .group_by(col(Listing.platform)),
    )
    await add(
        "platform",
        "cases",
        select(Listing.platform, case_id)
        .join(Listing, col(Listing.case_id) == Case.id)
        .where(cases_in_year)
        .group_by(col(Listing.platform)),
    )
    await add(
        "channel",
        "reports",
        select(Report.channel, report_id).where(reports_in_year).group_by(col(Report.channel)),
    )
    await add(
        "outcome",
        "cases",
        select(Case.outcome, case_id)
        .where(
            col(Case.closed_at) >= start,
            col(Case.closed_at) < end,
            col(Case.outcome).is_not(None),
            col(Case.merged_into_id).is_(None),
        )
        .group_by(col(Case.outcome)),
    )
    referred = (col(PlatformReferral.referred_at) >= start) & (
        col(PlatformReferral.referred_at) < end
    )
    await add(
        "referrals",
        "referrals",
        select(Platform.name, func.count(PlatformReferral.id))
        .join(Platform, col(Platform.id) == PlatformReferral.platform_id)
        .where(referred)
        .group_by(col(Platform.name)),
    )
    await add(
        "referrals",
        "removed",
        select(Platform.name, func.count(PlatformReferral.id))
        .join(Platform, col(Platform.id) == PlatformReferral.platform_id)
        .where(referred, PlatformReferral.state == "removed")
        .group_by(col(Platform.name)),
    )
    await add(
        "referral_state",
        "referrals",
        select(PlatformReferral.state, func.count(PlatformReferral.id))
        .where(referred)
        .group_by(col(PlatformReferral.state)),
    )
    order = {name: i for i, name in enumerate(SECTIONS)}
    figures.sort(key=lambda f: (order[f.section], f.key.lower(), f.measure))
    return figures


def secretariat_notes(below: int) -> list[str]:
    return [
        note.format(below=below, below_less_one=below - 1) if "{" in note else note
        for note in SECRETARIAT_NOTES
    ]


def secretariat_document(
    figures: Sequence[Figure], *, year: int, below: int, generated_at: datetime
) -> dict[str, Any]:
    """The figures as one JSON document: sections → key → measure → count (suppressed)."""
    sections: dict[str, dict[str, dict[str, Count]]] = {name: {} for name in SECTIONS}
    for figure in figures:
        sections[figure.section].setdefault(figure.key, {})[figure.measure] = suppress(
            figure.count, below
        )
    return {
        "title": "wildflag: online offers of CITES specimens, for the CITES Secretariat",
        "year": year,
        "generated_at": generated_at.isoformat(),
        "suppressed_below": below,
        "notes": secretariat_notes(below),
        "figures": sections,
    }


def secretariat_csv(
    figures: Sequence[Figure], *, year: int, below: int, generated_at: datetime, bom: bool = False
) -> bytes:
    """The figures as CSV: notes as leading "# " lines, then `year,section,key,measure,count`."""
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    for note in [
        f"wildflag figures for the CITES Secretariat, {year}",
        *secretariat_notes(below),
        f"generated {generated_at.isoformat()}",
    ]:
        buffer.write(f"# {note}\r\n")
    writer = csv.writer(buffer)
    writer.writerow(["year", "section", "key", "measure", "count"])
    for figure in figures:
        writer.writerow(
            [
                year,
                figure.section,
                neutralise(figure.key),
                figure.measure,
                suppress(figure.count, below),
            ]
        )
    return buffer.getvalue().encode("utf-8")
