"""The unit workspace: server-rendered pages where national units work their cases.

Pages sit on the same database functions as the JSON API (`db.cases`, `cases_api`), which
stays the source of truth; `web` holds the guard, CSRF and rendering every page shares and
`filters` the case filters the queue, exports and trends share.
"""

from __future__ import annotations

from aiohttp import web

from extension_backend.dashboard import (
    admin,
    admin_channels,
    admin_people,
    admin_tokens,
    audit_page,
    case_actions,
    case_evidence,
    case_page,
    events,
    exports,
    forum,
    platforms,
    queue,
    signin,
    trends,
)

MODULES = (
    signin,
    queue,
    events,
    case_page,
    case_actions,
    case_evidence,
    forum,
    platforms,
    trends,
    exports,
    audit_page,
    admin,
    admin_people,
    admin_channels,
    admin_tokens,
)


def add_routes(app: web.Application) -> None:
    events.setup(app)  # shutdown ends open event streams instead of waiting for them
    for module in MODULES:
        app.router.add_routes(module.routes)
