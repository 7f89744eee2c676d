"""Fixtures for the dashboard: people with accounts, a browser-like client, cases to show.

`Browser` behaves as a browser would for these server-rendered pages: it keeps the session
cookie, sends `Origin` on posts, and takes the CSRF token from the page it last loaded, so
a test that wants to prove the CSRF check works can leave it out explicitly.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from html import unescape
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession, CookieJar
from aiohttp.test_utils import TestClient

from db.engine import create_engine, session_factory
from db.models import Account
from extension_backend.accounts import create_account
from extension_backend.app import create_app
from extension_backend.settings import Settings
from tests.backend.conftest import Peek

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """One person's browser against the test server: its own cookie jar, so two people
    signed in side by side stay two sessions (as two real browsers would)."""

    def __init__(self, client: TestClient, account: Account | None = None) -> None:
        self.client = client
        self.account = account
        self.csrf: str | None = None
        self.http = ClientSession(
            base_url=str(client.make_url("/")), cookie_jar=CookieJar(unsafe=True)
        )
        client.__dict__.setdefault("_browsers", []).append(self)

    @property
    def origin(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")

    @property
    def cookies(self) -> CookieJar:
        return self.http.cookie_jar  # type: ignore[return-value]

    async def get(self, path: str, **kwargs: Any) -> tuple[ClientResponse, str]:
        response = await self.http.get(path, allow_redirects=False, **kwargs)
        text = await response.text()
        if found := CSRF.search(text):
            self.csrf = unescape(found.group(1))
        return response, text

    async def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        csrf: bool = True,
        origin: str | None = None,
        **kwargs: Any,
    ) -> tuple[ClientResponse, str]:
        form = dict(data or {})
        if csrf and "csrf_token" not in form:
            if self.csrf is None:
                await self.get("/app/account")
            form["csrf_token"] = self.csrf or ""
        headers = {"Origin": origin or self.origin, **kwargs.pop("headers", {})}
        response = await self.http.post(
            path, data=form, headers=headers, allow_redirects=False, **kwargs
        )
        return response, await response.text()

    async def sign_in(self, email: str, password: str = PASSWORD, code: str = "") -> int:
        response, _ = await self.post(
            "/login", {"email": email, "password": password, "code": code}, csrf=False
        )
        return response.status


async def add_account(
    settings: Settings,
    role: str,
    unit: str | None,
    *,
    email: str | None = None,
    name: str = "",
    password: str = PASSWORD,
) -> Account:
    """An account made the way `wildflag accounts create` makes one."""
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            account = await create_account(
                session,
                email=email or f"{role}.{(unit or 'all').lower()}@units.example",
                role=role,
                unit_code=unit,
                name=name or f"{role} {unit or ''}".strip(),
                password=password,
            )
            await session.commit()
            return account
    finally:
        await engine.dispose()


@pytest.fixture
def peek(settings: Settings) -> Peek:
    return Peek(settings)


MakeBrowser = Callable[..., Awaitable[Browser]]


async def close_browsers(client: TestClient) -> None:
    for person in client.__dict__.pop("_browsers", []):
        await person.http.close()


@pytest.fixture
async def dash(aiohttp_client: Any, settings: Settings) -> AsyncIterator[TestClient]:
    """The whole service (API and dashboard) on the test database."""
    client = await aiohttp_client(create_app(settings))
    yield client
    await close_browsers(client)


@pytest.fixture
def browser(dash: TestClient, settings: Settings) -> MakeBrowser:
    """`await browser("officer", "GB")`: a new account of that role, signed in."""

    async def make(role: str, unit: str | None = None, **kwargs: Any) -> Browser:
        account = await add_account(settings, role, unit, **kwargs)
        person = Browser(dash, account)
        assert account.email is not None
        assert await person.sign_in(account.email) == 303
        return person

    return make


async def report(dash: TestClient, **fields: Any) -> dict[str, Any]:
    """Submit an anonymous report through the API; the answer's JSON."""
    body = {
        "url": "https://www.ebay.co.uk/itm/1234567890",
        "title": "Pangolin scales 500 g",
        "text": "Genuine pangolin scales, 500 g, ships from London",
        "reporter_country": "GB",
        **fields,
    }
    response = await dash.post("/api/v1/reports", json=body)
    assert response.status == 201, await response.text()
    return await response.json()


async def case_of(settings: Settings, reference: str) -> int:
    """The case a report (by reference) belongs to."""
    from sqlmodel import select

    from db.models import Report

    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            row = (await session.exec(select(Report).where(Report.reference == reference))).one()
            return row.case_id
    finally:
        await engine.dispose()
