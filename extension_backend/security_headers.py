"""The security headers every response carries, whatever route, status or error made it.

Pages set their own, stricter policy (`pages.PAGE_HEADERS`, `dashboard.web.DASHBOARD_HEADERS`);
this hook fills in what a response left unset, so an API answer, a static file, a 404
from the router or a streamed export is never framed, sniffed into HTML or leaks its
address in a referrer. It runs as the response is prepared, after every middleware.
"""

from __future__ import annotations

from aiohttp import web

from extension_backend.web_auth import secure_request

#: Nothing that is not a page may run or load anything, or be framed.
DEFAULT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}

#: Sent only over HTTPS (a browser ignores it on plain HTTP, and a local `make run` would
#: otherwise pin localhost to HTTPS): a year, subdomains left to the operator.
HSTS = "max-age=31536000"


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Set each default header the response has not set itself."""
    for name, value in DEFAULT_HEADERS.items():
        response.headers.setdefault(name, value)
    if secure_request(request):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
