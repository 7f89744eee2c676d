"""Signing in: passwords, authenticator codes, sessions, CSRF and the failure limit."""

from __future__ import annotations

import pyotp
from yarl import URL

from db.models import AuditEvent, WebSession
from tests.dashboard.conftest import Browser, add_account, case_of, report


async def test_pages_send_a_stranger_to_sign_in(dash):
    response, _ = await Browser(dash).get("/app?status=new")
    assert response.status == 303
    location = URL(response.headers["Location"])
    assert (location.path, location.query["next"]) == ("/login", "/app?status=new")
    response, _ = await Browser(dash).get("/app/no-such-page")
    assert response.status == 404 and response.content_type == "text/html"


async def test_sign_in_opens_the_queue_and_audits(dash, settings, peek):
    account = await add_account(settings, "officer", "GB", name="Alice")
    person = Browser(dash, account)
    response, _ = await person.post(
        "/login",
        {"email": "OFFICER.gb@units.example ", "password": "correct horse battery", "next": "/app"},
        csrf=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/app"
    cookie = response.cookies["wildflag_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    response, html = await person.get("/app")
    assert response.status == 200 and "Alice · officer · GB" in html
    events = await peek.rows(AuditEvent, AuditEvent.action == "signin")
    assert [e.object_id for e in events] == [str(account.id)]


async def test_wrong_password_and_unknown_email_get_the_same_answer(dash, settings, peek):
    await add_account(settings, "officer", "GB")
    person = Browser(dash)
    wrong, wrong_html = await person.post(
        "/login",
        {"email": "officer.gb@units.example", "password": "not the password"},
        csrf=False,
    )
    unknown, unknown_html = await person.post(
        "/login", {"email": "nobody@units.example", "password": "not the password"}, csrf=False
    )
    assert wrong.status == unknown.status == 401
    assert "Wrong e-mail, password or code." in wrong_html
    assert wrong_html == unknown_html
    assert "wildflag_session" not in wrong.cookies
    assert await peek.count(WebSession) == 0
    assert len(await peek.rows(AuditEvent, AuditEvent.action == "signin.failed")) == 2


async def test_failed_sign_ins_are_limited(dash, settings):
    await add_account(settings, "officer", "GB")
    person = Browser(dash)
    for _ in range(10):
        await person.sign_in("officer.gb@units.example", "wrong password!")
    # Even the right password is refused while the limit holds.
    response, html = await person.post(
        "/login",
        {"email": "officer.gb@units.example", "password": "correct horse battery"},
        csrf=False,
    )
    assert response.status == 429 and int(response.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in html


async def test_a_disabled_account_cannot_sign_in_and_loses_its_session(dash, settings):
    from db.engine import create_engine, session_factory
    from db.models import Account

    account = await add_account(settings, "officer", "GB")
    person = Browser(dash, account)
    assert await person.sign_in("officer.gb@units.example") == 303
    engine = create_engine(settings.effective_database_url)
    async with session_factory(engine)() as session:
        row = await session.get(Account, account.id)
        row.disabled = True
        session.add(row)
        await session.commit()
    await engine.dispose()
    assert (await person.get("/app"))[0].status == 303
    assert await Browser(dash).sign_in("officer.gb@units.example") == 401


async def test_forms_need_the_session_csrf_token_and_our_origin(browser, peek):
    person = await browser("officer", "GB")
    response, html = await person.post("/logout", csrf=False)
    assert response.status == 403 and "did not come from wildflag" in html
    response, _ = await person.post("/logout", origin="https://evil.example")
    assert response.status == 403
    response, _ = await person.post("/logout", {"csrf_token": "guessed"})
    assert response.status == 403
    assert (await person.get("/app"))[0].status == 200  # still signed in
    response, _ = await person.post("/logout")
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert (await person.get("/app"))[0].status == 303
    rows = await peek.rows(WebSession)
    assert len(rows) == 1 and rows[0].revoked_at is not None


async def test_the_cookie_is_useless_once_signed_out(dash, browser):
    person = await browser("officer", "GB")
    stolen = {c.key: c.value for c in person.cookies}
    await person.post("/logout")
    person.cookies.update_cookies(stolen)
    assert (await person.get("/app"))[0].status == 303


async def test_authenticator_app_enrolment_then_sign_in_needs_a_code(dash, browser, settings):
    person = await browser("officer", "GB")
    response, html = await person.post("/app/account/totp", {"step": "start"})
    secret = html.split('name="secret" value="')[1].split('"')[0]
    response, html = await person.post(
        "/app/account/totp", {"step": "confirm", "secret": secret, "code": "000000"}
    )
    assert response.status == 422 and "does not match" in html
    code = pyotp.TOTP(secret).now()
    response, _ = await person.post(
        "/app/account/totp", {"step": "confirm", "secret": secret, "code": code}
    )
    assert response.status == 303
    await person.post("/logout")
    again = Browser(dash)
    assert await again.sign_in("officer.gb@units.example") == 401  # password alone
    assert await again.sign_in("officer.gb@units.example", code="123456") in (401, 303)
    assert await again.sign_in("officer.gb@units.example", code=pyotp.TOTP(secret).now()) == 303


async def test_changing_the_password_ends_other_sessions(dash, browser, settings):
    person = await browser("officer", "GB")
    elsewhere = Browser(dash)
    assert await elsewhere.sign_in("officer.gb@units.example") == 303
    response, html = await person.post(
        "/app/account/password",
        {"current": "correct horse battery", "new": "short", "repeat": "short"},
    )
    assert response.status == 422 and "12 characters" in html
    response, _ = await person.post(
        "/app/account/password",
        {
            "current": "correct horse battery",
            "new": "a much longer secret",
            "repeat": "a much longer secret",
        },
    )
    assert response.status == 303
    assert (await person.get("/app"))[0].status == 200
    assert (await elsewhere.get("/app"))[0].status == 303
    assert await Browser(dash).sign_in("officer.gb@units.example", "a much longer secret") == 303


async def test_next_never_leaves_the_dashboard(dash, settings):
    await add_account(settings, "officer", "GB")
    for target in ("https://evil.example/", "//evil.example/app", "/api/v1/cases/1"):
        response, _ = await Browser(dash).post(
            "/login",
            {
                "email": "officer.gb@units.example",
                "password": "correct horse battery",
                "next": target,
            },
            csrf=False,
        )
        assert response.headers["Location"] == "/app", target


async def test_the_queue_shows_a_unit_only_its_own_cases(dash, browser, settings):
    gb = await report(dash, title="Pangolin scales <script>alert(1)</script>")
    fr = await report(
        dash,
        url="https://www.leboncoin.fr/annonce/123456",
        title="Écailles de pangolin",
        text="Écailles de pangolin, 500 g, remise en main propre à Lyon",
        reporter_country="FR",
    )
    assert gb["routed_to"] == ["GB"] and fr["routed_to"] == ["FR"]
    gb_case = await case_of(settings, gb["reference"])
    fr_case = await case_of(settings, fr["reference"])
    officer = await browser("officer", "GB")
    _, html = await officer.get("/app")
    assert f"/app/cases/{gb_case}" in html and f"/app/cases/{fr_case}" not in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    coordinator = await browser("coordinator")
    _, html = await coordinator.get("/app")
    assert f"/app/cases/{gb_case}" in html and f"/app/cases/{fr_case}" in html
