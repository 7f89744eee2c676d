"""The aiohttp application factory: `create_app(settings)` wires it all; nothing is global."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from db.bootstrap import prepare
from db.engine import create_engine, session_factory
from db.writer import intake_writer
from extension_backend import (
    api,
    case_actions_api,
    cases_api,
    dashboard,
    evidence_api,
    health,
    keys,
    openapi,
    pages,
    telegram_api,
)
from extension_backend.dashboard.web import page_errors
from extension_backend.delivery.worker import delivery_context
from extension_backend.errors import error_middleware
from extension_backend.evidence import EvidenceStore
from extension_backend.images import ImageIndex
from extension_backend.intake import Intake
from extension_backend.proof_of_work import ProofOfWork, challenge_key
from extension_backend.ratelimit import create_limiter
from extension_backend.schemas import build_schemas
from extension_backend.security_headers import add_security_headers
from extension_backend.settings import Settings
from extension_backend.species_store import load_matcher, ready_place_index
from extension_backend.web_auth import LOGIN_FAILURES, LOGIN_WINDOW


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.effective_database_url)
    if settings.migrate_on_start:
        await prepare(engine)
    app[keys.ENGINE] = engine
    app[keys.SESSIONS] = session_factory(engine)
    limits = {
        keys.ANON_LIMITER: ("anonymous", settings.anonymous_reports_per_minute, 60.0),
        keys.POW_LIMITER: ("proof_of_work", settings.anonymous_pow_reports_per_minute, 60.0),
        keys.TOKEN_LIMITER: ("token", settings.token_reports_per_minute, 60.0),
        keys.BOT_LIMITER: ("bot", settings.bot_reports_per_minute, 60.0),
        keys.LOGIN_LIMITER: ("login", LOGIN_FAILURES, LOGIN_WINDOW),
    }
    for key, (name, limit, window) in limits.items():
        app[key] = create_limiter(engine, name, limit, window)
    app[keys.STORE] = EvidenceStore(settings.evidence_dir)
    app[keys.MATCHER] = await asyncio.to_thread(load_matcher, settings)  # a cache load
    await asyncio.to_thread(ready_place_index, settings)
    images = ImageIndex()
    async with app[keys.SESSIONS]() as session:
        await session.run_sync(images.catch_up)  # the near-duplicate index, from the database
    writer = intake_writer(settings.effective_database_url, app[keys.SESSIONS])
    app[keys.INTAKE] = Intake(
        settings, app[keys.SESSIONS], writer, app[keys.STORE], app[keys.MATCHER], images
    )
    try:
        yield
    finally:
        await writer.close()
        await engine.dispose()


async def proof_of_work_context(app: web.Application) -> AsyncIterator[None]:
    """The proof-of-work checker, keyed from the evidence link secret (read or made once)."""
    settings = app[keys.SETTINGS]
    link_secret = await asyncio.to_thread(evidence_api.load_link_secret, settings)
    app[keys.PROOF_OF_WORK] = ProofOfWork(settings, challenge_key(link_secret))
    yield


async def index(request: web.Request) -> web.Response:
    return pages.render("index.html")


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware, page_errors],
        client_max_size=settings.max_request_bytes,
    )
    app[keys.SETTINGS] = settings
    app.on_response_prepare.append(add_security_headers)
    app[keys.SCHEMAS] = build_schemas(settings)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(evidence_api.links_context)  # the evidence link secret
    app.cleanup_ctx.append(proof_of_work_context)  # after it: the same secret file
    app.cleanup_ctx.append(delivery_context)  # after the database: stops before it closes
    app.router.add_get("/", index)
    app.router.add_routes(api.routes)
    app.router.add_routes(cases_api.routes)
    app.router.add_routes(case_actions_api.routes)
    app.router.add_routes(telegram_api.routes)
    app.router.add_routes(evidence_api.routes)
    app.router.add_routes(pages.routes)
    dashboard.add_routes(app)
    app.router.add_routes(health.routes)
    app.router.add_routes(openapi.routes)
    app.router.add_static("/static", pages.STATIC_DIR, append_version=False)
    return app
