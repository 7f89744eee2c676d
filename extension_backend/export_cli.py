"""`wildflag export`: the operator's exports, from the command line.

    wildflag export cases|reports --format csv|json [--status S] [--since DATE]
        [--until DATE] [--unit CODE] [--priority P] [--country CC] [--taxon NAME]
        [--platform NAME] [--channel C] [--search TEXT] [--with-reporter] [--bom]
        [--out FILE]
    wildflag export secretariat --year YEAR [--format csv|json] [--suppress-below N]
        [--out FILE]

The same rows and files as the dashboard's downloads (`export_rows`), over every unit (the
CLI is the operator's, who holds the database anyway), streamed to stdout or FILE in
batches. JSON is JSON Lines for cases and reports, one document for the Secretariat's
figures. The reporter's account column is left out unless `--with-reporter`. Each run is
audited with the actor "cli", like the CLI's other changes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any, BinaryIO

from multidict import MultiDict

from db.bootstrap import prepare
from db.engine import create_engine, session_factory
from db.models import AuditEvent
from extension_backend.auth import Principal
from extension_backend.dashboard.exports import filter_details
from extension_backend.dashboard.filters import (
    CHANNELS,
    PRIORITIES,
    STATUSES,
    CaseFilters,
    visible_cases,
)
from extension_backend.dashboard.web import PageError
from extension_backend.export_rows import (
    SUPPRESS_BELOW,
    Tally,
    case_columns,
    case_rows,
    encoder_for,
    report_columns,
    report_rows,
    secretariat_csv,
    secretariat_document,
    secretariat_figures,
    stream_rows,
)
from extension_backend.settings import Settings

#: Who the CLI exports as: every unit's cases, nobody's "me".
OPERATOR = Principal(account_id=0, role="admin", unit_code=None, name="cli")
#: `wildflag export` option → the dashboard's filter of the same meaning.
FILTER_OPTIONS = {
    "status": "status",
    "priority": "priority",
    "since": "since",
    "until": "until",
    "unit": "unit",
    "country": "country",
    "taxon": "taxon",
    "platform": "platform",
    "channel": "channel",
    "search": "q",
}


def register(sub: Any) -> None:
    """Add `export` and its commands to the `wildflag` parser's subcommands."""
    export = sub.add_parser(
        "export", help="cases, reports or the Secretariat's yearly figures, as CSV or JSON"
    )
    commands = export.add_subparsers(dest="export_command", required=True)
    for kind, help_text in (
        ("cases", "cases matching the filters (every unit), one row each"),
        ("reports", "the reports of the cases matching the filters, one row each"),
    ):
        command = commands.add_parser(kind, help=help_text)
        command.add_argument(
            "--format",
            choices=("csv", "json"),
            default="csv",
            help="csv (default) or json (JSON Lines: one object per line)",
        )
        command.add_argument("--status", choices=STATUSES, help='"open" is any open state')
        command.add_argument("--priority", choices=PRIORITIES)
        command.add_argument("--since", metavar="DATE", help="created on or after, 2026-01-31")
        command.add_argument("--until", metavar="DATE", help="created on or before")
        command.add_argument("--unit", metavar="CODE", help="only cases routed or shared to CODE")
        command.add_argument("--country", metavar="CC", help="country of the listing (ISO-2)")
        command.add_argument("--taxon", metavar="NAME", help="a taxon at any rank: Manidae")
        command.add_argument("--platform", metavar="NAME", help="e.g. ebay")
        command.add_argument("--channel", choices=CHANNELS, help="how a report came in")
        command.add_argument("--search", metavar="TEXT", help="words, a reference or #case")
        if kind == "reports":
            command.add_argument(
                "--with-reporter",
                action="store_true",
                help="add the reporting account's id (reporters' identity)",
            )
        command.add_argument(
            "--bom",
            action="store_true",
            help="start the CSV with a UTF-8 byte order mark (for Excel)",
        )
        command.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
        command.set_defaults(func=cmd_export_rows, kind=kind)
    secretariat = commands.add_parser(
        "secretariat",
        help="the anonymised, aggregated figures of one year for the CITES Secretariat",
    )
    secretariat.add_argument("--year", type=int, required=True)
    secretariat.add_argument("--format", choices=("csv", "json"), default="csv")
    secretariat.add_argument(
        "--suppress-below",
        type=int,
        default=SUPPRESS_BELOW,
        metavar="N",
        help=f'write counts below N as "<N" (default {SUPPRESS_BELOW})',
    )
    secretariat.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    secretariat.set_defaults(func=cmd_export_secretariat)


def _filters(args: argparse.Namespace) -> CaseFilters:
    query = MultiDict(
        (name, str(getattr(args, option)))
        for option, name in FILTER_OPTIONS.items()
        if getattr(args, option) not in (None, "")
    )
    return CaseFilters.from_query(query)


def _audit(action: str, object_id: str, details: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        actor="cli", action=action, object_type="export", object_id=object_id, details=details
    )


async def _export_rows(args: argparse.Namespace, filters: CaseFilters, out: BinaryIO) -> int:
    settings = Settings()
    engine = create_engine(settings.effective_database_url)
    tally, complete = Tally(), False
    with_reporter = bool(getattr(args, "with_reporter", False))
    columns = (
        case_columns() if args.kind == "cases" else report_columns(with_reporter=with_reporter)
    )
    encoder = encoder_for(args.format, columns, bom=args.bom)

    async def write(data: bytes) -> None:
        out.write(data)

    try:
        await prepare(engine)
        cases = filters.apply(visible_cases(OPERATOR), OPERATOR)
        try:
            async with engine.connect() as connection:
                batches = (
                    case_rows(connection, cases)
                    if args.kind == "cases"
                    else report_rows(connection, cases, with_reporter=with_reporter)
                )
                await stream_rows(batches, encoder, write, tally)
            out.flush()
            complete = True
        finally:
            async with session_factory(engine)() as session:
                session.add(
                    _audit(
                        f"export.{args.kind}",
                        args.kind,
                        {
                            "format": args.format,
                            "filters": filter_details(filters),
                            "rows": tally.rows,
                            "complete": complete,
                            "reporter_identity": with_reporter,
                            "out": "file" if args.out else "stdout",
                        },
                    )
                )
                await session.commit()
    finally:
        await engine.dispose()
    return tally.rows


def cmd_export_rows(args: argparse.Namespace) -> int:
    try:
        filters = _filters(args)
    except PageError as exc:
        print(f"wildflag: {exc.message}", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        out = stack.enter_context(open(args.out, "wb")) if args.out else sys.stdout.buffer
        rows = asyncio.run(_export_rows(args, filters, out))
    print(f"{rows} {args.kind} exported", file=sys.stderr)
    return 0


def cmd_export_secretariat(args: argparse.Namespace) -> int:
    if args.suppress_below < 1:
        print("wildflag: --suppress-below is 1 or more", file=sys.stderr)
        return 2
    settings = Settings()
    now = datetime.now(UTC)

    async def run() -> bytes:
        engine = create_engine(settings.effective_database_url)
        try:
            await prepare(engine)
            async with engine.connect() as connection:
                figures = await secretariat_figures(connection, args.year)
            below = args.suppress_below
            if args.format == "csv":
                body = secretariat_csv(figures, year=args.year, below=below, generated_at=now)
            else:
                document = secretariat_document(
                    figures, year=args.year, below=below, generated_at=now
                )
                body = (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()
            async with session_factory(engine)() as session:
                session.add(
                    _audit(
                        "export.secretariat",
                        str(args.year),
                        {
                            "format": args.format,
                            "year": args.year,
                            "figures": len(figures),
                            "suppressed_below": below,
                        },
                    )
                )
                await session.commit()
            return body
        finally:
            await engine.dispose()

    body = asyncio.run(run())
    if args.out:
        with open(args.out, "wb") as out:
            out.write(body)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    return 0
