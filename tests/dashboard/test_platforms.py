"""The platform directory (seeded, read by all, kept by admins and coordinators) and
referrals of cases to platforms (scope, CSRF, status change, statistics).
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import func, select

from db.bootstrap import prepare
from db.cases import close_case
from db.engine import create_engine, session_factory
from db.models import Account, AuditEvent, Case, Platform, PlatformReferral
from db.platforms import COLUMNS, platform_rows
from db.types import utcnow
from extension_backend.dashboard.platforms import referral_section
from extension_backend.pages import TEMPLATES
from extension_backend.web_auth import SignedIn
from matching import urls
from matching.referrals import domain_keys
from tests.dashboard.conftest import case_of, report

PLATFORMS_CSV = Path(__file__).resolve().parents[2] / "db" / "data" / "platforms.csv"
XSS = "<script>alert(1)</script>"


async def in_db(settings: Any, work: Any) -> Any:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


async def platform_id(settings: Any, name: str) -> int:
    async def find(session: Any) -> int:
        return (await session.exec(select(Platform.id).where(Platform.name == name))).one()

    return await in_db(settings, find)


async def gb_case(dash: Any, settings: Any, **fields: Any) -> int:
    return await case_of(settings, (await report(dash, **fields))["reference"])


# -- the shipped directory -----------------------------------------------------------------


def test_the_shipped_directory_is_well_formed():
    with PLATFORMS_CSV.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    assert rows == platform_rows()
    names = [r["name"] for r in rows]
    assert len(names) == len(set(names)) >= 40
    seen: dict[str, str] = {}
    for row in rows:
        assert None not in row and all(v == v.strip() for v in row.values()), row
        domains = row["domains"].split()
        assert domains, row["name"]
        for domain in domains:
            assert domain == domain.lower() and domain_keys(domain) is not None, domain
            assert domain not in seen, f"{domain} in {seen.get(domain)} and {row['name']}"
            seen[domain] = row["name"]
        for key in ("policy_url", "report_url"):
            if row[key]:
                parts = urlsplit(row[key])
                assert parts.scheme == "https" and parts.netloc, row[key]
        if row["contact_email"]:
            assert row["contact_email"].count("@") == 1


def test_every_platform_the_url_rules_know_has_a_directory_entry():
    """A case's Listing.platform (from matching.urls) always finds its entry."""
    known = set(urls._PLATFORM_LABELS.values()) | set(urls._PLATFORM_DOMAINS.values())
    covered = {
        key[1]
        for row in platform_rows()
        for domain in row["domains"].split()
        if (key := domain_keys(domain)) and key[1]
    }
    assert known - covered == set()


async def test_seeding_is_idempotent_and_keeps_operator_edits(settings):
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            count = (await session.exec(select(func.count()).select_from(Platform))).one()
            assert count == len(platform_rows())
            ebay = (await session.exec(select(Platform).where(Platform.name == "eBay"))).one()
            ebay.name = "eBay Inc."
            ebay.report_url = "https://ebay.example/report"
            session.add(ebay)
            await session.commit()
        await prepare(engine)  # the next start
        async with session_factory(engine)() as session:
            assert (
                await session.exec(select(func.count()).select_from(Platform))
            ).one() == count  # the renamed entry is known by its domains: not added again
            ebay = (await session.exec(select(Platform).where(Platform.name == "eBay Inc."))).one()
            assert ebay.report_url == "https://ebay.example/report"
    finally:
        await engine.dispose()


# -- the directory page ----------------------------------------------------------------------


async def test_every_role_reads_the_directory_only_keepers_edit_it(dash, settings, browser):
    officer = await browser("officer", "GB")
    response, html = await officer.get("/app/platforms")
    assert response.status == 200 and "Kleinanzeigen" in html and "Mercado Libre" in html
    assert "Add a platform" not in html
    response, _ = await officer.post("/app/platforms", {"name": "Shady market"})
    assert response.status == 403
    ebay = await platform_id(settings, "eBay")
    response, html = await officer.get(f"/app/platforms/{ebay}")
    assert response.status == 200 and "ebay.co.uk" in html and "<form" not in html.split("<main")[1]
    response, _ = await officer.post(f"/app/platforms/{ebay}", {"name": "hijacked"})
    assert response.status == 403
    observer = await browser("observer", "FR")
    assert (await observer.get("/app/platforms"))[0].status == 200
    unit_admin = await browser("unit_admin", "GB")
    response, _ = await unit_admin.post("/app/platforms", {"name": "Shady market"})
    assert response.status == 403


async def test_a_coordinator_adds_and_edits_a_platform(dash, settings, peek, browser):
    coordinator = await browser("coordinator", None)
    response, html = await coordinator.get("/app/platforms")
    assert "Add a platform" in html
    form = {
        "name": f"Reptile forum {XSS}",
        "domains": "www.Reptiles.example.org, reptiles.example.net",
        "policy_url": "https://reptiles.example.org/rules",
        "report_url": "",
        "contact_email": "abuse@reptiles.example.org",
        "notes": "Adverts in the classifieds board.",
    }
    response, _ = await coordinator.post("/app/platforms", form)
    assert response.status == 303
    [row] = await peek.rows(Platform, Platform.name == form["name"])
    assert row.domains == ["www.reptiles.example.org", "reptiles.example.net"]
    response, html = await coordinator.get("/app/platforms")
    assert "Reptile forum &lt;script&gt;" in html and XSS not in html

    response, _ = await coordinator.post(
        f"/app/platforms/{row.id}", {**form, "report_url": "https://reptiles.example.org/report"}
    )
    assert response.status == 303
    [row] = await peek.rows(Platform, Platform.id == row.id)
    assert row.report_url == "https://reptiles.example.org/report"
    actions = [e.action for e in await peek.rows(AuditEvent, AuditEvent.object_type == "platform")]
    assert actions == ["platform.created", "platform.updated"]


async def test_platform_forms_refuse_bad_addresses_and_duplicates(dash, settings, peek, browser):
    admin = await browser("admin", None)
    before = await peek.count(Platform)
    for form, message in (
        ({"name": "X", "policy_url": "javascript:alert(1)"}, "must be an http(s) address"),
        ({"name": "X", "domains": "not a domain!"}, "Not a domain"),
        ({"name": "X", "contact_email": "nobody"}, "must be an e-mail address"),
        ({"name": ""}, "needs a name"),
        ({"name": "eBay"}, "already a platform named eBay"),
    ):
        response, html = await admin.post("/app/platforms", form)
        assert response.status == 422 and message in html, form
    assert await peek.count(Platform) == before


async def test_platform_forms_need_the_csrf_token(dash, settings, peek, browser):
    admin = await browser("admin", None)
    await admin.get("/app/platforms")
    response, _ = await admin.post("/app/platforms", {"name": "No token"}, csrf=False)
    assert response.status == 403
    ebay = await platform_id(settings, "eBay")
    response, _ = await admin.post(
        f"/app/platforms/{ebay}", {"name": "eBay", "notes": "x"}, origin="https://evil.example"
    )
    assert response.status == 403
    assert await peek.rows(Platform, Platform.name == "No token") == []


# -- referrals ---------------------------------------------------------------------------------


async def test_the_listings_platform_is_suggested(dash, settings, browser):
    case_id = await gb_case(dash, settings)  # a listing on ebay.co.uk
    officer = await browser("officer", "GB")

    async def section(session: Any) -> dict[str, Any]:
        account = await session.get(Account, officer.account.id)
        from extension_backend.auth import Principal

        me = SignedIn(Principal(account.id, "officer", "GB", account.name), 0, "tok", "")
        case = await session.get(Case, case_id)
        return {"referrals": await referral_section(session, case, me), "case": case, "me": me}

    context = await in_db(settings, section)
    assert context["referrals"]["suggested"].name == "eBay"
    html = TEMPLATES.get_template("dashboard/_referrals.html").render(csrf_token="tok", **context)
    assert f'action="/app/cases/{case_id}/referrals"' in html
    ebay = context["referrals"]["suggested"].id
    assert f'<option value="{ebay}" selected>eBay</option>' in html


async def test_recording_a_referral_moves_the_case_and_is_audited(dash, settings, peek, browser):
    case_id = await gb_case(dash, settings)
    officer = await browser("officer", "GB")
    ebay = await platform_id(settings, "eBay")
    response, _ = await officer.post(
        f"/app/cases/{case_id}/referrals",
        {"platform": ebay, "via": f"VeRO form {XSS}", "reference": "T-123", "note": ""},
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/app/cases/{case_id}#referrals"
    [referral] = await peek.rows(PlatformReferral)
    assert (referral.case_id, referral.platform_id, referral.state) == (case_id, ebay, "pending")
    assert (referral.unit_code, referral.referred_by_id) == ("GB", officer.account.id)
    [case] = await peek.rows(Case, Case.id == case_id)
    assert case.status == "referred_platform" and case.acknowledged_at is not None
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "case.referred_to_platform")
    assert event.details["referral"] == referral.id and event.details["previous"] == "new"
    assert len(await peek.rows(AuditEvent, AuditEvent.action == "case.status_changed")) == 1

    # A second referral (another platform) leaves the state as it is: no error, no change.
    craigslist = await platform_id(settings, "Craigslist")
    response, _ = await officer.post(
        f"/app/cases/{case_id}/referrals", {"platform": craigslist, "via": "e-mail"}
    )
    assert response.status == 303
    assert len(await peek.rows(PlatformReferral)) == 2
    assert len(await peek.rows(AuditEvent, AuditEvent.action == "case.status_changed")) == 1

    response, html = await officer.get(f"/app/cases/{case_id}")
    assert response.status == 200 and 'id="referrals"' in html
    assert "VeRO form &lt;script&gt;" in html and XSS not in html and "T-123" in html


async def test_a_closed_case_keeps_its_state_when_a_referral_is_recorded(
    dash, settings, peek, browser
):
    case_id = await gb_case(dash, settings)
    officer = await browser("officer", "GB")

    async def close(session: Any) -> None:
        close_case(
            await session.get(Case, case_id),
            "removed",
            await session.get(Account, officer.account.id),
        )

    await in_db(settings, close)
    ebay = await platform_id(settings, "eBay")
    response, _ = await officer.post(f"/app/cases/{case_id}/referrals", {"platform": ebay})
    assert response.status == 303
    [case] = await peek.rows(Case, Case.id == case_id)
    assert (case.status, case.outcome) == ("closed", "removed")


async def test_referral_forms_refuse_what_cannot_be_recorded(dash, settings, peek, browser):
    case_id = await gb_case(dash, settings)
    officer = await browser("officer", "GB")
    ebay = await platform_id(settings, "eBay")
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    for form, message in (
        ({"platform": ""}, "Choose the platform"),
        ({"platform": "999999"}, "Choose the platform"),
        ({"platform": ebay, "referred_on": tomorrow}, "cannot be in the future"),
        ({"platform": ebay, "referred_on": "yesterday"}, "must be a date"),
    ):
        response, html = await officer.post(f"/app/cases/{case_id}/referrals", form)
        assert response.status == 422 and message in html, form
    assert await peek.rows(PlatformReferral) == []
    assert (await peek.rows(Case, Case.id == case_id))[0].status == "new"


async def test_referrals_are_scoped_like_their_case(dash, settings, peek, browser):
    case_id = await gb_case(dash, settings)
    ebay = await platform_id(settings, "eBay")
    gb = await browser("officer", "GB")
    await gb.post(f"/app/cases/{case_id}/referrals", {"platform": ebay})
    [referral] = await peek.rows(PlatformReferral)

    de = await browser("officer", "DE")
    response, _ = await de.post(f"/app/cases/{case_id}/referrals", {"platform": ebay})
    assert response.status == 404
    response, _ = await de.post(f"/app/referrals/{referral.id}", {"state": "refused"})
    assert response.status == 404
    response, _ = await de.post("/app/referrals/999999", {"state": "refused"})
    assert response.status == 404  # the same answer as an unknown referral
    _, html = await de.get(f"/app/platforms/{ebay}")
    assert f"/app/cases/{case_id}" not in html
    assert len(await peek.rows(PlatformReferral)) == 1
    assert (await peek.rows(PlatformReferral))[0].state == "pending"

    observer = await browser("observer", "GB")
    response, _ = await observer.post(f"/app/cases/{case_id}/referrals", {"platform": ebay})
    assert response.status == 403
    response, _ = await observer.post(f"/app/referrals/{referral.id}", {"state": "removed"})
    assert response.status == 403


async def test_referral_forms_need_the_csrf_token(dash, settings, peek, browser):
    case_id = await gb_case(dash, settings)
    ebay = await platform_id(settings, "eBay")
    gb = await browser("officer", "GB")
    await gb.get("/app")
    response, _ = await gb.post(f"/app/cases/{case_id}/referrals", {"platform": ebay}, csrf=False)
    assert response.status == 403
    assert await peek.rows(PlatformReferral) == []
    await gb.post(f"/app/cases/{case_id}/referrals", {"platform": ebay})
    [referral] = await peek.rows(PlatformReferral)
    response, _ = await gb.post(
        f"/app/referrals/{referral.id}", {"state": "removed"}, origin="https://evil.example"
    )
    assert response.status == 403
    assert (await peek.rows(PlatformReferral))[0].state == "pending"


async def test_resolutions_feed_the_directory_statistics(dash, settings, peek, browser):
    ebay = await platform_id(settings, "eBay")
    gb = await browser("officer", "GB")
    today = utcnow().date()
    for n, (days_ago, took) in enumerate(((10, 2), (9, 4), (8, None))):
        case_id = await gb_case(dash, settings, url=f"https://www.ebay.co.uk/itm/55500000{n:02d}")
        referred = (today - timedelta(days=days_ago)).isoformat()
        response, _ = await gb.post(
            f"/app/cases/{case_id}/referrals", {"platform": ebay, "referred_on": referred}
        )
        assert response.status == 303
        [referral] = await peek.rows(PlatformReferral, PlatformReferral.case_id == case_id)
        if took is None:
            form = {"state": "still_online", "note": "seller relisted"}
        else:
            resolved = (today - timedelta(days=days_ago - took)).isoformat()
            form = {"state": "removed", "resolved_on": resolved}
        response, _ = await gb.post(f"/app/referrals/{referral.id}", form)
        assert response.status == 303
        assert response.headers["Location"] == f"/app/cases/{case_id}#referrals"

    rows = await peek.rows(PlatformReferral)
    assert sorted(r.state for r in rows) == ["removed", "removed", "still_online"]
    assert all(r.resolved_at is not None for r in rows)
    updates = await peek.rows(AuditEvent, AuditEvent.action == "referral.updated")
    assert len(updates) == 3 and {e.details["state"] for e in updates} == {
        "removed",
        "still_online",
    }

    _, html = await gb.get("/app/platforms")
    row = html.split(f'id="platform-{ebay}"')[1].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split('<td class="num">')[1:]]
    assert cells == ["3", "2", "3.0"]  # made, removed, median of 2 and 4 days

    [referral] = [r for r in rows if r.state == "removed"][:1]
    response, html = await gb.post(
        f"/app/referrals/{referral.id}",
        {"state": "removed", "resolved_on": (today - timedelta(days=30)).isoformat()},
    )
    assert response.status == 422 and "before it was referred" in html
