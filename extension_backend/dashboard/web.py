"""What every dashboard page shares: the signed-in guard, CSRF, rendering and HTML errors.

A page handler is `async def handler(request, me: SignedIn)` wrapped in `@page(...)`:
the wrapper sends a browser without a session to the sign-in page, refuses a role the page
is not for (403), and refuses a state-changing request that lacks the session's CSRF token
or comes from another origin (403) before the handler runs. Scope inside a page is the
API's: `cases_api.visible_case` answers 404 for a case of another unit, here as there.

Pages answer HTML, never the API's JSON errors: `page_errors` renders `ApiError`,
`CaseChangeError` and `PageError` raised under `/app` and `/login` as an error page with
the same status.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from sqlmodel import col, select

from db.cases import CaseChangeError
from db.models import Delivery
from db.types import utcnow
from extension_backend import keys
from extension_backend.auth import GLOBAL_ROLES
from extension_backend.errors import ApiError
from extension_backend.pages import PAGE_HEADERS, TEMPLATES
from extension_backend.web_auth import PEOPLE, SignedIn, csrf_ok, same_origin, session_of

PageHandler = Callable[[web.Request, SignedIn], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Where the dashboard lives; pages under it answer HTML errors.
PREFIXES = ("/app", "/login", "/logout")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Roles that may change cases from the dashboard (observers read only).
EDITORS = frozenset({"officer", "unit_admin", "coordinator", "admin"})
ADMINS = frozenset({"unit_admin", "admin"})


#: How far back a dead delivery still raises the banner on every page.
ALERT_DAYS = 7


@dataclass(frozen=True, slots=True)
class DeliveryAlert:
    """Deliveries to the person's unit(s) that failed for good: a unit that does not hear of
    its cases must learn it on every page, not by chance."""

    dead: int
    cases: list[int]


ALERTS = web.RequestKey("delivery_alerts", DeliveryAlert)


async def delivery_alert(request: web.Request, me: SignedIn) -> DeliveryAlert | None:
    """Dead deliveries of the last `ALERT_DAYS` days to the units `me` works for."""
    since = utcnow() - timedelta(days=ALERT_DAYS)
    query = select(Delivery.case_id).where(
        Delivery.state == "dead", col(Delivery.updated_at) >= since
    )
    if me.principal.role not in GLOBAL_ROLES:
        query = query.where(Delivery.unit_code == me.principal.unit_code)
    async with request.app[keys.SESSIONS]() as session:
        case_ids = list((await session.exec(query.order_by(col(Delivery.id).desc()))).all())
    if not case_ids:
        return None
    return DeliveryAlert(len(case_ids), list(dict.fromkeys(case_ids))[:5])


#: The dashboard's pages: the public pages' strict policy, plus images (evidence thumbnails)
#: and connections (the queue's event stream) from our own origin, nothing else. Referrers
#: stay within our origin: with `no-referrer` browsers send `Origin: null` on form posts,
#: and the origin check (`web_auth.same_origin`) must see our own origin to accept one.
DASHBOARD_HEADERS = {
    **PAGE_HEADERS,
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
}


class PageError(Exception):
    """A page the person may not see or a form that cannot be done, as an HTML error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _when(value: datetime | str | None) -> str:
    """A timestamp as officers read it: UTC, to the minute."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _label(value: str | None) -> str:
    """A code (`under_investigation`) as words (`under investigation`)."""
    return (value or "").replace("_", " ")


TEMPLATES.filters.setdefault("when", _when)
TEMPLATES.filters.setdefault("label", _label)


def nav_for(me: SignedIn) -> list[tuple[str, str]]:
    """The menu a role sees: (path, label)."""
    role = me.principal.role
    items = [
        ("/app", "Queue"),
        ("/app/trends", "Trends"),
        ("/app/exports", "Exports"),
        ("/app/platforms", "Platforms"),
    ]
    if role in ADMINS:
        items.append(("/app/admin", "Unit admin" if role == "unit_admin" else "Admin"))
    if role in ADMINS or role in GLOBAL_ROLES:
        items.append(("/app/audit", "Audit"))
    items.append(("/app/account", "Account"))
    return items


def render(
    request: web.Request,
    template: str,
    me: SignedIn | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> web.Response:
    """A dashboard page: the template with the person, their CSRF token and the menu."""
    html = TEMPLATES.get_template(template).render(
        me=me,
        csrf_token=me.csrf_token if me else "",
        nav=nav_for(me) if me else [],
        path=request.path,
        alert=request.get(ALERTS),
        **context,
    )
    return web.Response(
        text=html,
        content_type="text/html",
        status=status,
        headers={**DASHBOARD_HEADERS, **(headers or {})},
    )


def page(*, roles: Iterable[str] | None = None) -> Callable[[PageHandler], Handler]:
    """Guard a dashboard handler: signed in, the right role, CSRF on every change."""
    allowed = frozenset(roles) if roles is not None else PEOPLE

    def wrap(handler: PageHandler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            me = await session_of(request)
            if me is None:
                if request.method in SAFE_METHODS:
                    raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
                raise PageError(401, "Your session has ended. Sign in again.")
            if me.principal.role not in allowed:
                raise PageError(403, "This page is not open to your role.")
            if request.method not in SAFE_METHODS:
                await require_csrf(request, me)
            elif (alert := await delivery_alert(request, me)) is not None:
                request[ALERTS] = alert
            return await handler(request, me)

        return guarded

    return wrap


async def require_csrf(request: web.Request, me: SignedIn) -> None:
    """403 unless the request carries the session's token and comes from our origin."""
    token = request.headers.get("X-CSRF-Token")
    if token is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        token = str((await request.post()).get("csrf_token") or "")
    if not same_origin(request) or not csrf_ok(me, token):
        raise PageError(
            403, "This form has expired or did not come from wildflag. Reload the page and retry."
        )


def redirect(path: str, **query: str | int) -> web.HTTPSeeOther:
    """Post/redirect/get: the page to show after a form, with a notice code."""
    suffix = ("?" + urlencode(query)) if query else ""
    return web.HTTPSeeOther(quote(path, safe="/?=&") + suffix)


@web.middleware
async def page_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors under the dashboard's paths as HTML pages (the API keeps its JSON)."""
    if not request.path.startswith(PREFIXES):
        return await handler(request)
    try:
        return await handler(request)
    except PageError as error:
        status, message = error.status, error.message
    except ApiError as error:
        status, message = error.status, error.message
    except CaseChangeError as error:
        status, message = 409, str(error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        status, message = error.status, "No such page." if error.status == 404 else error.reason
    me = await session_of(request)
    return render(request, "dashboard/error.html", me, status=status, message=message)
