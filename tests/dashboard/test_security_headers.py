"""Every response carries the security headers: every route from the router, signed in and
not, whatever status it answers, and the router's own 404s, static files and streams.

Pages keep their own stricter policy (scripts and styles from our origin only, never
inline); everything else gets a policy that loads nothing and may not be framed.
"""

from __future__ import annotations

import re

from aiohttp import ClientResponse

from extension_backend.app import create_app
from tests.dashboard.conftest import Browser, case_of, report
from tests.dashboard.test_route_matrix import PLACEHOLDERS, routes

#: The routes whose GET never ends (a server-sent event stream): headers only.
STREAMS = {"/app/events"}


def concrete(path: str, case_id: int, reference: str) -> str:
    named = {**PLACEHOLDERS, "{case_id}": str(case_id), "{reference}": reference}
    for name, value in named.items():
        path = path.replace(name, value)
    return re.sub(r"\{[^}]+\}", "1", path)  # any other id: a row that may or may not exist


def policy(response: ClientResponse) -> dict[str, str]:
    """The Content-Security-Policy as directive -> sources."""
    header = response.headers.get("Content-Security-Policy", "")
    directives = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {d[0]: (d[1] if len(d) > 1 else "") for d in directives}


def assert_secure(response: ClientResponse, where: str) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") in {"no-referrer", "same-origin"}, where
    csp = policy(response)
    assert csp.get("frame-ancestors") == "'none'", where
    assert csp.get("default-src") == "'none'", where
    for directive in ("script-src", "style-src"):
        sources = csp.get(directive, "")
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, where
        assert "*" not in sources.split(), where
    assert "Strict-Transport-Security" not in headers, f"{where}: HSTS over plain HTTP"


async def fetch(person: Browser, method: str, path: str) -> ClientResponse:
    if path in STREAMS:
        response = await person.http.get(path, allow_redirects=False)
        response.close()  # the stream stays open: its headers are what matters
        return response
    if method == "GET":
        response, _ = await person.get(path)
        return response
    # A form or API call with no body and no token: refused, and the refusal is secure too.
    response = await person.http.request(method, path, allow_redirects=False)
    await response.read()
    return response


async def test_every_route_answers_with_the_security_headers(dash, browser, settings):
    reference = (await report(dash))["reference"]
    case_id = await case_of(settings, reference)
    people = [Browser(dash), await browser("officer", "GB"), await browser("admin")]
    checked = 0
    for method, path in routes(dash):
        url = concrete(path, case_id, reference)
        for person in people:
            response = await fetch(person, method, url)
            assert_secure(response, f"{method} {url} as {person.account and person.account.role}")
            checked += 1
    assert checked > 100  # the router was walked, not an empty list
    stranger = people[0]
    for url in ("/no/such/page", "/static/no-such-file.js", "/api/v1/no-such-route"):
        response = await fetch(stranger, "GET", url)
        assert response.status == 404
        assert_secure(response, url)


async def test_pages_may_run_only_their_own_scripts(dash, browser):
    stranger, officer = Browser(dash), await browser("officer", "GB")
    visits = [(stranger, "/"), (stranger, "/login"), (officer, "/app"), (officer, "/app/trends")]
    for person, path in visits:
        response, html = await person.get(path)
        assert response.status == 200, path
        csp = policy(response)
        assert csp["script-src"] == "'self'", path
        assert "<script>" not in html and " on" + "click=" not in html, path


async def test_https_responses_pin_https(aiohttp_client, settings):
    https = settings.model_copy(update={"public_url": "https://wildflag.example"})
    client = await aiohttp_client(create_app(https))
    response = await client.get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
