"""Server-rendered pages: the public status page a receipt holder follows.

The receipt token never travels in a URL the server sees (it rides after '#', and the
page posts it), pages are not cached, and no referrer leaves them.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web
from sqlmodel import select

from db.models import Unit
from extension_backend import keys
from extension_backend.api import report_status
from extension_backend.errors import ApiError

routes = web.RouteTableDef()

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
STATIC_DIR = Path(__file__).with_name("static")

STATUS_LABELS = {
    "received": "Received",
    "routed": "With the national unit responsible",
}

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
}


def render(template: str, http_status: int = 200, **context: object) -> web.Response:
    html = TEMPLATES.get_template(template).render(**context)
    return web.Response(
        text=html, content_type="text/html", status=http_status, headers=PAGE_HEADERS
    )


@routes.get("/status/{reference}")
async def status_form(request: web.Request) -> web.Response:
    return render("status.html", reference=request.match_info["reference"], status=None, error=None)


@routes.post("/status/{reference}")
async def status_page(request: web.Request) -> web.Response:
    reference = request.match_info["reference"]
    form = await request.post()
    token = str(form.get("receipt", "")).strip()
    try:
        status = await report_status(request, reference, token or None, None)
    except ApiError:
        return render(
            "status.html",
            http_status=404,
            reference=reference,
            status=None,
            error="No report matches this reference and receipt token.",
        )
    async with request.app[keys.SESSIONS]() as session:
        names = dict(
            (
                await session.exec(
                    select(Unit.code, Unit.name).where(Unit.code.in_(status["routed_to"]))  # type: ignore[attr-defined]
                )
            ).all()
        )
    return render(
        "status.html",
        reference=reference,
        status=status,
        status_label=STATUS_LABELS.get(status["status"], status["status"]),
        units=[names.get(code, code) for code in status["routed_to"]],
        error=None,
    )
