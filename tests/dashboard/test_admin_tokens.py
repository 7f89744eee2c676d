"""Unit administration, API tokens: issued once and hashed, listed, revoked, scoped."""

from __future__ import annotations

from db.models import ApiToken, AuditEvent
from extension_backend.auth import hash_secret
from tests.dashboard.conftest import add_account, case_of, report
from tests.dashboard.test_admin import shown_secret


async def test_a_token_is_shown_once_stored_hashed_and_revocable(dash, browser, settings, peek):
    person = await browser("unit_admin", "GB")
    officer = await add_account(settings, "officer", "GB", email="o@units.example", name="Olu")
    case_id = await case_of(settings, (await report(dash))["reference"])
    response, html = await person.post(f"/app/admin/accounts/{officer.id}/tokens")
    assert response.status == 200 and "API token for Olu" in html
    token = shown_secret(html)
    [row] = await peek.rows(ApiToken, ApiToken.account_id == officer.id)
    assert row.token_hash == hash_secret(token) and row.prefix == token[:10]
    assert token not in str([e.details for e in await peek.rows(AuditEvent)])
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await dash.get(f"/api/v1/cases/{case_id}", headers=bearer)).status == 200

    _, page = await person.get("/app/admin/units/GB")
    assert f"<code>{row.prefix}…</code>" in page and token not in page
    assert f'action="/app/admin/tokens/{row.id}/revoke"' in page
    response, _ = await person.post(f"/app/admin/tokens/{row.id}/revoke")
    assert response.status == 303 and response.headers["Location"].endswith("notice=revoked")
    assert (await dash.get(f"/api/v1/cases/{case_id}", headers=bearer)).status == 401
    _, page = await person.get("/app/admin/units/GB")
    assert f'action="/app/admin/tokens/{row.id}/revoke"' not in page
    created = await peek.rows(AuditEvent, AuditEvent.action == "token.created")
    revoked = await peek.rows(AuditEvent, AuditEvent.action == "token.revoked")
    assert [e.object_id for e in created] == [e.object_id for e in revoked] == [str(row.id)]
    assert revoked[0].actor == f"account:{person.account.id}"


async def test_another_units_tokens_are_unknown_ids(browser, peek):
    french = await peek.token("officer", "FR")
    [row] = await peek.rows(ApiToken, ApiToken.token_hash == hash_secret(french))
    person = await browser("unit_admin", "GB")
    _, page = await person.get("/app/admin/units/GB")
    assert row.prefix not in page
    response, html = await person.post(f"/app/admin/tokens/{row.id}/revoke")
    assert response.status == 404 and "No such token." in html
    response, _ = await person.post(f"/app/admin/accounts/{row.account_id}/tokens")
    assert response.status == 404
    [row] = await peek.rows(ApiToken, ApiToken.id == row.id)
    assert row.revoked_at is None
    assert await peek.count(ApiToken) == 1
    # A token-only account of the unit (`wildflag tokens create`) is listed and managed.
    gb = await peek.token("officer", "GB")
    [gb_row] = await peek.rows(ApiToken, ApiToken.token_hash == hash_secret(gb))
    _, page = await person.get("/app/admin/units/GB")
    assert gb_row.prefix in page and "token only" in page
    response, _ = await person.post(f"/app/admin/tokens/{gb_row.id}/revoke")
    assert response.status == 303


async def test_a_disabled_account_gets_no_new_token(browser, settings):
    person = await browser("unit_admin", "GB")
    officer = await add_account(settings, "officer", "GB", email="o@units.example")
    await person.post(f"/app/admin/accounts/{officer.id}/disable")
    response, html = await person.post(f"/app/admin/accounts/{officer.id}/tokens")
    assert response.status == 409 and "disabled" in html
