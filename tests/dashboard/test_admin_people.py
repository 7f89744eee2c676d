"""Unit administration, people: accounts made, disabled, enabled, reset, linked to Telegram."""

from __future__ import annotations

from db.models import Account, AuditEvent, TelegramLinkCode, WebSession
from extension_backend.auth import hash_secret, linked_account
from extension_backend.telegram_links import normalise_code, redeem_code
from extension_backend.web_auth import check_password
from tests.dashboard.conftest import Browser, add_account, case_of, report
from tests.dashboard.test_admin import database, shown_secret


async def test_a_unit_admin_creates_an_officer_with_a_password_shown_once(dash, browser, peek):
    person = await browser("unit_admin", "GB")
    await person.get("/app/admin/units/GB")
    response, html = await person.post(
        "/app/admin/units/GB/accounts",
        {"email": " Ana@Units.Example", "name": "Ana", "role": "officer"},
    )
    assert response.status == 200 and "Account for Ana created" in html
    password = shown_secret(html)
    [account] = await peek.rows(Account, Account.email == "ana@units.example")
    assert (account.role, account.unit_code, account.name) == ("officer", "GB", "Ana")
    # Only an argon2 hash is kept, and the password is nowhere else in the database.
    assert account.password_hash.startswith("$argon2id$") and password not in account.password_hash
    assert check_password(account, password)
    events = await peek.rows(AuditEvent, AuditEvent.action == "account.created")
    assert [(e.actor, e.object_id) for e in events] == [
        (f"account:{person.account.id}", str(account.id))
    ]
    assert password not in str([e.details for e in await peek.rows(AuditEvent)])
    # The unit page lists them, without the password.
    _, page = await person.get("/app/admin/units/GB")
    assert "ana@units.example" in page and password not in page
    assert await Browser(dash).sign_in("ana@units.example", password) == 303


async def test_a_unit_admin_gives_only_their_units_roles(browser, peek):
    person = await browser("unit_admin", "GB")
    for role in ("coordinator", "admin", "bot", ""):
        response, html = await person.post(
            "/app/admin/units/GB/accounts", {"email": f"x{role}@units.example", "role": role}
        )
        assert response.status == 403 and "may not create" in html, role
    response, _ = await person.post(
        "/app/admin/accounts", {"email": "c@units.example", "role": "coordinator"}
    )
    assert response.status == 403
    response, _ = await person.post(
        "/app/admin/units/FR/accounts", {"email": "fr@units.example", "role": "officer"}
    )
    assert response.status == 404
    assert await peek.rows(Account, Account.email.like("x%")) == []
    assert await peek.rows(Account, Account.email == "fr@units.example") == []


async def test_account_form_errors_are_the_clis(browser, settings):
    await add_account(settings, "officer", "GB", email="taken@units.example")
    person = await browser("unit_admin", "GB")
    response, html = await person.post(
        "/app/admin/units/GB/accounts", {"email": "not-an-address", "role": "officer"}
    )
    assert response.status == 422 and "is not an e-mail address" in html
    assert 'value="not-an-address"' in html
    response, html = await person.post(
        "/app/admin/units/GB/accounts", {"email": "TAKEN@units.example", "role": "officer"}
    )
    assert response.status == 422
    assert "An account with e-mail taken@units.example already exists." in html


async def test_an_admin_creates_coordinators_from_the_overview(browser, peek):
    person = await browser("admin", None)
    response, html = await person.post(
        "/app/admin/accounts", {"email": "coord@units.example", "role": "coordinator"}
    )
    assert response.status == 200
    [account] = await peek.rows(Account, Account.email == "coord@units.example")
    assert account.role == "coordinator" and account.unit_code is None
    _, html = await person.get("/app/admin")
    assert "coord@units.example" in html
    response, _ = await person.post(
        "/app/admin/accounts", {"email": "o@units.example", "role": "officer"}
    )
    assert response.status == 403  # unit roles are given on the unit's page


async def test_disabling_ends_sessions_and_stops_tokens_until_enabled(
    dash, browser, settings, peek
):
    admin = await browser("unit_admin", "GB")
    officer = await browser("officer", "GB")
    case_id = await case_of(settings, (await report(dash))["reference"])
    _, html = await admin.post(f"/app/admin/accounts/{officer.account.id}/tokens")
    token = shown_secret(html)
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await dash.get(f"/api/v1/cases/{case_id}", headers=bearer)).status == 200

    response, _ = await admin.post(f"/app/admin/accounts/{officer.account.id}/disable")
    assert response.status == 303
    assert response.headers["Location"] == "/app/admin/units/GB?notice=disabled"
    assert (await officer.get("/app"))[0].status == 303  # signed out
    sessions = await peek.rows(WebSession, WebSession.account_id == officer.account.id)
    assert sessions and all(s.revoked_at is not None for s in sessions)
    response = await dash.get(f"/api/v1/cases/{case_id}", headers=bearer)
    assert response.status == 401
    assert await officer.sign_in(officer.account.email) == 401
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "account.disabled")
    assert event.actor == f"account:{admin.account.id}"
    _, html = await admin.get("/app/admin/units/GB")
    assert "disabled" in html

    response, _ = await admin.post(f"/app/admin/accounts/{officer.account.id}/enable")
    assert response.status == 303
    # Nothing was revoked behind the scenes: the same token works again.
    assert (await dash.get(f"/api/v1/cases/{case_id}", headers=bearer)).status == 200
    assert await officer.sign_in(officer.account.email) == 303
    assert len(await peek.rows(AuditEvent, AuditEvent.action == "account.enabled")) == 1


async def test_nobody_disables_themselves(browser):
    for role, unit in (("unit_admin", "GB"), ("admin", None)):
        person = await browser(role, unit)
        response, html = await person.post(f"/app/admin/accounts/{person.account.id}/disable")
        assert response.status == 409 and "cannot disable your own account" in html
        assert (await person.get("/app/admin"))[0].status in (200, 303)


async def test_another_units_people_are_unknown_ids(browser, settings, peek):
    french = await add_account(settings, "officer", "FR", email="fr@units.example", name="Zoé")
    coordinator = await add_account(settings, "coordinator", None, email="c@units.example")
    person = await browser("unit_admin", "GB")
    _, html = await person.get("/app/admin/units/GB")
    assert "fr@units.example" not in html and "c@units.example" not in html
    for account in (french, coordinator):
        for action in ("disable", "enable", "password", "link-code", "tokens"):
            response, body = await person.post(f"/app/admin/accounts/{account.id}/{action}")
            assert response.status == 404 and "No such account." in body, (account.role, action)
    unknown, _ = await person.post("/app/admin/accounts/999999/disable")
    assert unknown.status == 404
    assert (await person.post("/app/admin/accounts/abc/disable"))[0].status == 404
    [row] = await peek.rows(Account, Account.id == french.id)
    assert not row.disabled
    # An admin may.
    admin = await browser("admin", None)
    response, _ = await admin.post(f"/app/admin/accounts/{french.id}/disable")
    assert response.status == 303 and response.headers["Location"].startswith("/app/admin/units/FR")


async def test_a_password_reset_is_shown_once_and_ends_sessions(dash, browser, settings, peek):
    admin = await browser("unit_admin", "GB")
    officer = await browser("officer", "GB")
    async with database(settings) as session:
        row = await session.get(Account, officer.account.id)
        row.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        session.add(row)
        await session.commit()
    response, html = await admin.post(
        f"/app/admin/accounts/{officer.account.id}/password", {"reset_totp": "on"}
    )
    assert response.status == 200 and "authenticator app was removed" in html
    password = shown_secret(html)
    assert (await officer.get("/app"))[0].status == 303
    [row] = await peek.rows(Account, Account.id == officer.account.id)
    assert row.totp_secret is None and password not in row.password_hash
    again = Browser(dash)
    assert await again.sign_in(officer.account.email) == 401  # the old password
    assert await again.sign_in(officer.account.email, password) == 303  # no code asked
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "account.password_reset")
    assert event.details["totp_reset"] is True and password not in str(event.details)
    response, html = await admin.post(f"/app/admin/accounts/{admin.account.id}/password")
    assert response.status == 409 and "Account page" in html


async def test_a_telegram_link_code_is_shown_once_and_stored_hashed(browser, settings, peek):
    admin = await browser("unit_admin", "GB")
    officer = await add_account(settings, "officer", "GB", email="t@units.example")
    response, html = await admin.post(f"/app/admin/accounts/{officer.id}/link-code")
    assert response.status == 200 and "/link " in html
    code = shown_secret(html)
    [row] = await peek.rows(TelegramLinkCode, TelegramLinkCode.account_id == officer.id)
    assert (
        row.code_hash == hash_secret(normalise_code(code)) and row.issued_by_id == admin.account.id
    )
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "telegram.link_code_issued")
    assert event.actor == f"account:{admin.account.id}" and code not in str(event.details)
    async with database(settings) as session:
        await redeem_code(session, code, 4242)
        await session.commit()
    _, page = await admin.get("/app/admin/units/GB")
    assert "<td>linked</td>" in page.split(f'id="account-{officer.id}"')[1].split("</tr>")[0]
    assert code not in page
    await admin.post(f"/app/admin/accounts/{officer.id}/disable")
    async with database(settings) as session:
        assert await linked_account(session, 4242) is None  # the bot no longer acts for them
    response, html = await admin.post(f"/app/admin/accounts/{officer.id}/link-code")
    assert response.status == 409
