"""Unit administration: who may open it, which unit they see, CSRF, escaping, routing edits.

The people, channel and token forms have their own files (`test_admin_*.py`); the helpers
here are shared with them.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape

from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import create_engine, session_factory
from db.models import AuditEvent, Unit
from extension_backend.settings import Settings
from tests.backend.conftest import set_channels
from tests.dashboard.conftest import add_account

SECRET = re.compile(r'<code class="secret">([^<]+)</code>')
ADMIN_ACTIONS = (
    "account.created",
    "account.disabled",
    "account.enabled",
    "account.password_reset",
    "channel.added",
    "channel.removed",
    "token.created",
    "token.revoked",
    "unit.updated",
    "telegram.link_code_issued",
)


def shown_secret(html: str) -> str:
    """The password, token, code or webhook secret a result page shows once."""
    found = SECRET.search(html)
    assert found, html
    return unescape(found.group(1))


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def test_only_unit_admins_and_admins_get_in(browser, settings):
    target = await add_account(settings, "officer", "GB", email="target@units.example")
    for role, unit in (("officer", "GB"), ("observer", "GB"), ("coordinator", None)):
        person = await browser(role, unit)
        for path in ("/app/admin", "/app/admin/units/GB"):
            response, html = await person.get(path)
            assert response.status == 403, (role, path)
            assert "not open to your role" in html
        response, _ = await person.post(f"/app/admin/accounts/{target.id}/disable")
        assert response.status == 403, role
        response, _ = await person.post(
            "/app/admin/units/GB/channels", {"type": "email", "target": "x@gb.example"}
        )
        assert response.status == 403, role
        response, html = await person.get("/app")
        assert 'href="/app/admin"' not in html  # not in their menu either
    async with database(settings) as session:
        assert (await session.get(Unit, "GB")).channels == []


async def test_a_unit_admin_works_on_their_own_unit_only(browser):
    person = await browser("unit_admin", "GB")
    response, _ = await person.get("/app/admin")
    assert response.status == 303 and response.headers["Location"] == "/app/admin/units/GB"
    response, html = await person.get("/app/admin/units/gb")
    assert response.status == 200 and "United Kingdom (GB)" in html
    assert 'href="/app/admin"' in html  # the menu's entry
    for path in ("/app/admin/units/FR", "/app/admin/units/NOPE"):
        response, html = await person.get(path)
        assert response.status == 404 and "No such unit." in html
    # Routing is read-only for them: no form, and posting one is refused.
    assert 'action="/app/admin/units/GB/settings"' not in html
    response, _ = await person.post(
        "/app/admin/units/GB/settings", {"name": "Mine", "countries": "GB"}
    )
    assert response.status == 403


async def test_an_admin_picks_any_unit(browser):
    person = await browser("admin", None)
    response, html = await person.get("/app/admin")
    assert response.status == 200
    assert 'href="/app/admin/units/FR"' in html and 'href="/app/admin/units/GB"' in html
    response, html = await person.get("/app/admin/units/FR")
    assert response.status == 200 and "France (FR)" in html
    assert 'action="/app/admin/units/FR/settings"' in html
    assert (await person.get("/app/admin/units/ZZZ"))[0].status == 404


async def test_every_form_needs_the_csrf_token(browser, settings, peek):
    officer = await add_account(settings, "officer", "GB", email="o@units.example")
    await set_channels(settings, "GB", [{"type": "email", "target": "gb@units.example"}])
    admin = await browser("admin", None)
    token_html = (await admin.post(f"/app/admin/accounts/{officer.id}/tokens"))[1]
    assert shown_secret(token_html).startswith("wf_")
    _, html = await admin.get("/app/admin/units/GB")
    token_id = re.search(r"/app/admin/tokens/(\d+)/revoke", html).group(1)
    forms = {
        "/app/admin/accounts": {"email": "new@units.example", "role": "coordinator"},
        "/app/admin/units/GB/accounts": {"email": "new2@units.example", "role": "officer"},
        f"/app/admin/accounts/{officer.id}/disable": {},
        f"/app/admin/accounts/{officer.id}/enable": {},
        f"/app/admin/accounts/{officer.id}/password": {},
        f"/app/admin/accounts/{officer.id}/link-code": {},
        f"/app/admin/accounts/{officer.id}/tokens": {},
        f"/app/admin/tokens/{token_id}/revoke": {},
        "/app/admin/units/GB/channels": {"type": "webhook", "target": "https://gb.example/h"},
        "/app/admin/units/GB/channels/0/remove": {
            "type": "email",
            "target": "gb@units.example",
        },
        "/app/admin/units/GB/settings": {"name": "GB", "countries": "GB"},
    }

    # Every form on the pages is one of these (ids aside).
    def shapes(paths):
        return {re.sub(r"/\d+/", "/N/", path) for path in paths} - {"/logout"}

    overview = (await admin.get("/app/admin"))[1]
    actions = shapes(re.findall(r'<form method="post" action="([^"]+)"', html + overview))
    assert actions <= shapes(forms), actions - shapes(forms)
    before = await peek.count(AuditEvent)
    for path, data in forms.items():
        response, body = await admin.post(path, data, csrf=False)
        assert response.status == 403 and "did not come from wildflag" in body, path
        response, _ = await admin.post(path, data, origin="https://evil.example")
        assert response.status == 403, path
    assert await peek.count(AuditEvent) == before
    async with database(settings) as session:
        assert (await session.get(Unit, "GB")).channels[0]["type"] == "email"


async def test_names_and_targets_are_rendered_escaped(browser, settings):
    payload = "<script>alert(1)</script>"
    await add_account(settings, "officer", "GB", email="x@units.example", name=payload)
    await set_channels(
        settings, "GB", [{"type": "webhook", "target": 'https://gb.example/"><img src=x>'}]
    )
    person = await browser("unit_admin", "GB")
    response, html = await person.get("/app/admin/units/GB")
    assert response.status == 200
    assert payload not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x>" not in html
    response, html = await person.post(
        "/app/admin/units/GB/accounts",
        {"email": "y@units.example", "name": payload, "role": "officer"},
    )
    assert response.status == 200 and payload not in html and "&lt;script&gt;" in html


async def test_an_admin_edits_routing_with_the_cli_rules(browser, peek):
    person = await browser("admin", None)
    await person.get("/app/admin/units/GB")
    response, html = await person.post(
        "/app/admin/units/GB/settings", {"name": "UK", "countries": "GB UK"}
    )
    assert response.status == 422
    assert "Unknown country codes: UK (ISO 3166-1 alpha-2, e.g. GB, FR)." in unescape(html)
    assert 'value="GB UK"' in html  # the form comes back with what was typed
    response, html = await person.post(
        "/app/admin/units/GB/settings", {"name": "UK", "countries": ""}
    )
    assert response.status == 422 and "A national unit needs countries." in html
    response, html = await person.post(
        "/app/admin/units/GB/settings",
        {"name": "UK", "countries": "GB", "appendices": "Roman"},
    )
    assert response.status == 422 and "Unknown appendices: Roman" in html
    response, _ = await person.post(
        "/app/admin/units/GB/settings",
        {
            "name": "UK Border Force",
            "countries": "gb je",
            "appendices": "i ii",
            "taxa": "Orchidaceae, Dalbergia nigra",
            "reporter_cases": "on",
        },
    )
    assert response.status == 303
    assert response.headers["Location"] == "/app/admin/units/GB?notice=unit_edited"
    [unit] = await peek.rows(Unit, Unit.code == "GB")
    assert (unit.name, unit.countries, unit.appendices) == (
        "UK Border Force",
        ["GB", "JE"],
        ["I", "II"],
    )
    assert unit.taxa == ["Dalbergia nigra", "Orchidaceae"] and unit.reporter_cases
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "unit.updated")
    assert event.actor == f"account:{person.account.id}" and event.object_id == "GB"
    assert event.details["changes"]["countries"]["to"] == ["GB", "JE"]
    # The same form again changes nothing and audits nothing.
    response, _ = await person.post(
        "/app/admin/units/GB/settings",
        {
            "name": "UK Border Force",
            "countries": "GB JE",
            "appendices": "I II",
            "taxa": "Dalbergia nigra, Orchidaceae",
            "reporter_cases": "on",
        },
    )
    assert response.headers["Location"].endswith("notice=unchanged")
    assert len(await peek.rows(AuditEvent, AuditEvent.action == "unit.updated")) == 1


async def test_a_unit_admin_reads_the_routing(browser):
    person = await browser("unit_admin", "GB")
    _, html = await person.get("/app/admin/units/GB")
    assert "wildflag units edit GB" in html
    assert "GB GG JE IM" in html and "(every case)" in html
