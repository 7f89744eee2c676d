"""The unit workspace: server-rendered pages where national units work their cases.

Pages sit on the same database functions as the JSON API (`db.cases`, `cases_api`), which
stays the source of truth; `web` holds the guard, CSRF and rendering every page shares.
"""

from __future__ import annotations

from aiohttp import web

from extension_backend.dashboard import queue, signin


def add_routes(app: web.Application) -> None:
    for module in (signin, queue):
        app.router.add_routes(module.routes)
