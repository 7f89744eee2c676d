"""Every route of the service, enumerated from the router, against the two rules no page may
forget: a case of another unit is the same 404 as a case that does not exist (whatever id
is guessed, through the dashboard or the API), and no state-changing form works without
the session's CSRF token. A route added later without these tests failing first is a
route these tests already cover.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import func, select

from db.engine import create_engine, session_factory
from db.models import (
    Account,
    ApiToken,
    AuditEvent,
    Case,
    CaseComment,
    Evidence,
    Platform,
    PlatformReferral,
    WebSession,
)
from tests.dashboard.conftest import Browser, case_of, report
from tests.dashboard.test_case_evidence import gps_photo, submit

#: A valid body for each API change, so that the request gets past validation to scope.
#: Values that fit the routes' patterns, for pages that need no particular row.
PLACEHOLDERS = {
    "{kind}": "cases",
    "{fmt}": "csv",
    "{series}": "taxa",
    "{year}": "2026",
    "{code}": "GB",
    "{sha256}": "0" * 64,
}
API_BODIES = {
    "merge": {"into": 1, "reason": "same seller"},
    "split": {"reports": ["WF-AAAA-AAAA"], "reason": "two listings"},
    "reroute": {"unit": "FR", "reason": "seller in Lyon"},
    "status": {"status": "triaged"},
}


def routes(dash: Any) -> list[tuple[str, str]]:
    found = []
    for route in dash.server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and route.method != "HEAD":
            found.append((route.method, path))
    return found


async def scalar(settings: Any, query: Any) -> Any:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            return (await session.exec(query)).first()
    finally:
        await engine.dispose()


async def test_another_units_case_is_404_on_every_route_that_names_a_case(
    dash, browser, settings, peek
):
    reference = await submit(
        dash,
        {"url": "https://www.ebay.co.uk/itm/77001", "title": "Pangolin scales 500 g",
         "text": "Pangolin scales, ships from London", "reporter_country": "GB"},
        ("images", gps_photo(), "scales.jpg", "image/jpeg"),
    )  # fmt: skip
    gb_case = await case_of(settings, reference)
    sha = (await scalar(settings, select(Evidence.sha256))) or ""
    gb = await browser("officer", "GB")
    # A referral of GB's case, so that its id exists to be guessed.
    platform = await scalar(settings, select(Platform.id).where(Platform.name == "eBay"))
    response, _ = await gb.post(f"/app/cases/{gb_case}/referrals", {"platform": platform})
    assert response.status == 303
    referral = await scalar(settings, select(PlatformReferral.id))

    fr = await browser("officer", "FR")
    fr_token = await peek.token("officer", "FR")
    before = {k: v for k, v in (await peek.counts()).items() if k != "AuditEvent"}
    comments = await peek.count(CaseComment)
    case_before = await scalar(settings, select(Case).where(Case.id == gb_case))
    checked = 0
    for method, path in routes(dash):
        if "{case_id}" not in path and "{referral_id}" not in path:
            continue
        for case_id in (gb_case, 987654):  # the other unit's case, and one that does not exist
            url = (
                path.replace("{case_id}", str(case_id))
                .replace("{sha256}", sha)
                .replace("{referral_id}", str(referral if case_id == gb_case else 987654))
            )
            if path.startswith("/api/"):
                headers = {"Authorization": f"Bearer {fr_token}"}
                body = API_BODIES.get(url.rsplit("/", 1)[-1], {})
                response = await dash.request(method, url, headers=headers, json=body)
                body = await response.json()
                assert (response.status, body["error"]["code"]) == (404, "not_found"), url
            elif method == "GET":
                response, html = await fr.get(url)
                assert response.status == 404, url
                assert "Pangolin" not in html and reference not in html, url
            else:
                response, _ = await fr.post(url, {"reason": "x", "body": "x", "into": "1"})
                assert response.status == 404, url
            checked += 1
    assert checked >= 30  # every case route of the API and the dashboard was tried twice
    after = {k: v for k, v in (await peek.counts()).items() if k != "AuditEvent"}
    assert after == before
    assert await peek.count(CaseComment) == comments
    case = await scalar(settings, select(Case).where(Case.id == gb_case))
    assert case.model_dump() == case_before.model_dump()  # nothing about the case changed


async def test_no_form_works_without_the_session_csrf_token(dash, browser, settings, peek):
    gb_case = await case_of(settings, (await report(dash))["reference"])
    admin = await browser("admin")
    # Every id a form's path can name, so each request reaches its CSRF check.
    account = await scalar(settings, select(Account.id).where(Account.role == "admin"))
    await peek.token("officer", "GB")
    token = await scalar(settings, select(ApiToken.id))
    platform = await scalar(settings, select(Platform.id))
    response, _ = await admin.post(f"/app/cases/{gb_case}/referrals", {"platform": platform})
    assert response.status == 303
    referral = await scalar(settings, select(PlatformReferral.id))
    values = {
        "{case_id}": gb_case,
        "{account_id}": account,
        "{token_id}": token,
        "{platform_id}": platform,
        "{referral_id}": referral,
        "{code}": "GB",
        "{index}": 0,
    }
    events = await peek.count(AuditEvent)
    forms = 0
    for method, path in routes(dash):
        if method not in ("POST", "DELETE") or not path.startswith(("/app", "/logout")):
            continue
        url = path
        for name, value in values.items():
            url = url.replace(name, str(value))
        assert not re.search(r"\{\w+\}", url), url
        for how in ({"csrf": False}, {"csrf_token": "guessed"}, {"origin": "https://evil.test"}):
            data = {"csrf_token": how["csrf_token"]} if "csrf_token" in how else {}
            response, html = await admin.post(
                url, data, csrf="csrf" not in how, origin=how.get("origin")
            )
            assert response.status == 403, (url, how)
            assert "did not come from wildflag" in html, url
        forms += 1
    assert forms >= 25
    assert await peek.count(AuditEvent) == events  # nothing was done, nothing was recorded
    sessions = await peek.rows(WebSession)
    assert all(s.revoked_at is None for s in sessions)  # not even signed out
    case = await scalar(settings, select(Case).where(Case.id == gb_case))
    assert case.status == "referred_platform"
    assert await scalar(settings, select(func.count()).select_from(CaseComment)) == 0


async def test_signed_out_every_dashboard_page_sends_to_sign_in(dash, settings):
    gb_case = await case_of(settings, (await report(dash))["reference"])
    stranger = Browser(dash)
    pages = 0
    for method, path in routes(dash):
        if method != "GET" or not path.startswith("/app"):
            continue
        for name, value in PLACEHOLDERS.items():
            path = path.replace(name, value)
        url = re.sub(r"\{\w+\}", "1", path.replace("{case_id}", str(gb_case)))
        response, _ = await stranger.get(url)
        assert response.status == 303, url
        assert response.headers["Location"].startswith("/login?next="), url
        pages += 1
    assert pages >= 15
