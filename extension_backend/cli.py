"""The `wildflag` command: serve, analyse listings, manage the database, tokens and units."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web
from sqlalchemy.engine import make_url
from sqlmodel import select

from db.bootstrap import prepare
from db.engine import create_engine, is_sqlite, session_factory
from db.models import Unit
from db.units import seed_unit_rules, unit_rules
from extension_backend.app import create_app
from extension_backend.auth import ROLES, create_token
from extension_backend.errors import ApiError
from extension_backend.intake import listing_facts
from extension_backend.requests import validate
from extension_backend.schemas import build_schemas
from extension_backend.settings import Settings
from matching.analysis import analyze
from matching.routing import UnitRule
from matching.species import default_matcher
from matching.urls import InvalidURL

#: Request line, status, size and time; no client address, so that the logs of a service
#: that promises reporters anonymity cannot be used to identify them.
ACCESS_LOG_FORMAT = '"%r" %s %b %Tfs'


def _settings() -> Settings:
    return Settings()


def cmd_serve(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = Settings(**overrides)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger(__name__).info(
        "data dir %s, database %s",
        settings.data_dir,
        make_url(settings.effective_database_url).render_as_string(hide_password=True),
    )
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=print,
        access_log_format=ACCESS_LOG_FORMAT,
    )
    return 0


def _units_for_analysis(settings: Settings) -> list[UnitRule]:
    """The units directory of this deployment, or the shipped one before first start."""
    url = settings.effective_database_url
    if is_sqlite(url):
        database = make_url(url).database
        if not database or not Path(database).exists():
            return seed_unit_rules()
    return asyncio.run(_stored_unit_rules(url))


async def _stored_unit_rules(url: str) -> list[UnitRule]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return await unit_rules(session)
    finally:
        await engine.dispose()


def analyze_lines(lines: TextIO, out: TextIO, settings: Settings, units: Sequence[UnitRule]) -> int:
    """Analyse JSON Lines listings; one JSON line out per line in. Returns the failures."""
    model = build_schemas(settings).analyze
    matcher = default_matcher()
    failures = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        result: dict[str, Any]
        try:
            data = json.loads(line)
            listing = validate(model, data)
            fields = listing.model_dump()
            analysis = analyze(listing_facts(fields), units, matcher)
            result = {"id": fields.get("id"), **analysis.to_dict()}
        except json.JSONDecodeError as exc:
            result = _line_error(None, "malformed_json", f"line {number}: {exc}")
        except ApiError as exc:
            result = _line_error(data.get("id"), exc.code, exc.message, exc.field)
        except InvalidURL as exc:
            result = _line_error(data.get("id"), "invalid_url", str(exc), "url")
        if "error" in result:
            failures += 1
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    out.flush()
    return failures


def _line_error(ident: Any, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"id": ident, "error": error}


def cmd_analyze(args: argparse.Namespace) -> int:
    settings = _settings()
    units = _units_for_analysis(settings)
    failures = analyze_lines(sys.stdin, sys.stdout, settings, units)
    return 1 if failures else 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        engine = create_engine(settings.effective_database_url)
        try:
            await prepare(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("database is at the newest schema", file=sys.stderr)
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    settings = _settings()

    async def run() -> str:
        engine = create_engine(settings.effective_database_url)
        try:
            await prepare(engine)
            async with session_factory(engine)() as session:
                _, token = await create_token(
                    session, role=args.role, unit_code=args.unit, name=args.name or ""
                )
            return token
        finally:
            await engine.dispose()

    try:
        token = asyncio.run(run())
    except ValueError as exc:
        print(f"wildflag: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def cmd_units_list(args: argparse.Namespace) -> int:
    settings = _settings()

    async def run() -> list[Unit]:
        engine = create_engine(settings.effective_database_url)
        try:
            await prepare(engine)
            async with session_factory(engine)() as session:
                return list((await session.exec(select(Unit).order_by(Unit.code))).all())
        finally:
            await engine.dispose()

    for unit in asyncio.run(run()):
        if args.json:
            print(json.dumps(unit.model_dump(mode="json"), ensure_ascii=False))
        else:
            print(f"{unit.code}\t{unit.kind}\t{' '.join(unit.countries)}\t{unit.name}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="wildflag", description="Report suspicious online offers of wildlife."
    )
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API, status pages and dashboard")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    analyze_cmd = sub.add_parser(
        "analyze", help="JSON Lines listings on stdin → one analysis per line on stdout"
    )
    analyze_cmd.set_defaults(func=cmd_analyze)

    database = sub.add_parser("db", help="database maintenance")
    db_sub = database.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_sub.add_parser("upgrade", help="migrate to the newest schema and seed")
    db_upgrade.set_defaults(func=cmd_db_upgrade)

    tokens = sub.add_parser("tokens", help="bearer tokens for officers, units and clients")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True)
    create = tokens_sub.add_parser("create", help="create a token; prints it once")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--unit", help="unit code the token acts for, e.g. FR")
    create.add_argument("--name", help="who or what holds the token")
    create.set_defaults(func=cmd_tokens_create)

    units = sub.add_parser("units", help="the directory of national units")
    units_sub = units.add_subparsers(dest="units_command", required=True)
    units_list = units_sub.add_parser("list", help="list units")
    units_list.add_argument("--json", action="store_true", help="one JSON object per line")
    units_list.set_defaults(func=cmd_units_list)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
