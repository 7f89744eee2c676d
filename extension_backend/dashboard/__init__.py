"""The unit workspace: server-rendered pages where national units work their cases.

Pages sit on the same database functions as the JSON API (`db.cases`, `cases_api`), which
stays the source of truth; `web` holds the guard, CSRF and rendering every page shares and
`filters` the case filters the queue, exports and trends share.
"""

from __future__ import annotations

from aiohttp import web

from extension_backend.dashboard import (
    admin,
    audit_page,
    case_page,
    events,
    exports,
    forum,
    platforms,
    queue,
    signin,
    trends,
)

MODULES = (signin, queue, events, case_page, forum, platforms, trends, exports, audit_page, admin)


def add_routes(app: web.Application) -> None:
    for module in MODULES:
        app.router.add_routes(module.routes)
