"""The units directory is cached per process (`db.units.unit_rules`), yet a change made
with `wildflag units`, in the dashboard or through another instance routes the very next
report: the cache is checked against the database on every report, never trusted for a
while. Each step below submits right after the change, with no pause."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from itertools import count
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from yarl import URL

from extension_backend.settings import Settings
from tests.dashboard.conftest import Browser, add_account
from tests.helpers import WILDFLAG, run_wildflag, wildflag_env
from tests.live_backend import free_port

_listings = count(1)


def orchids() -> dict[str, str]:
    """A new listing of Thai orchids each time: a case of its own, judged afresh."""
    return {
        "url": f"https://shop.example.com/item/orchid-{next(_listings)}",
        "text": "Rare Paphiopedilum orchid plants, wild collected",
        "seller_location": "Chiang Mai, Thailand",
    }


async def routed_to(http: Any, base: str = "") -> list[str]:
    response = await http.post(f"{base}/api/v1/reports", json=orchids())
    assert response.status == 201, await response.text()
    return list((await response.json())["routed_to"])


async def cli(settings: Settings, *args: str) -> None:
    """`wildflag units …` as an operator runs it: its own process and database connection."""
    done = await asyncio.to_thread(
        run_wildflag,
        "units",
        *args,
        data_dir=settings.data_dir,
        WILDFLAG_DATABASE_URL=str(settings.database_url),
    )
    assert done.returncode == 0, done.stderr


async def signed_in_admin(client: Any, settings: Settings, email: str) -> Browser:
    account = await add_account(settings, "admin", None, email=email)
    person = Browser(client, account)
    assert await person.sign_in(email) == 303
    await person.get("/app/admin/units/TH")  # the form's CSRF token
    return person


async def set_th_taxa(person: Browser, taxa: str) -> None:
    response, html = await person.post(
        "/app/admin/units/TH/settings", {"name": "Thailand", "countries": "TH", "taxa": taxa}
    )
    assert response.status == 303, html
    assert response.headers["Location"] == "/app/admin/units/TH?notice=unit_edited"


async def test_a_cli_change_routes_the_very_next_report(client, settings):
    assert await routed_to(client) == ["TH"]
    await cli(settings, "edit", "TH", "--taxa", "Elasmobranchii")
    assert await routed_to(client) == ["COORD"]  # TH takes sharks only now
    await cli(settings, "edit", "TH", "--taxa", "", "--inactive")
    assert await routed_to(client) == ["COORD"]  # no active unit for Thailand
    await cli(settings, "edit", "TH", "--active")
    assert await routed_to(client) == ["TH"]
    await cli(settings, "add", "TH2", "--name", "Thai customs", "--countries", "TH")
    assert await routed_to(client) == ["TH", "TH2"]


async def test_a_dashboard_change_routes_the_very_next_report(client, settings):
    person = await signed_in_admin(client, settings, "admin@units.example")
    try:
        assert await routed_to(client) == ["TH"]
        await set_th_taxa(person, "Elasmobranchii")
        assert await routed_to(client) == ["COORD"]
        await set_th_taxa(person, "Orchidaceae")
        assert await routed_to(client) == ["TH"]
    finally:
        await person.http.close()


@pytest.fixture
async def second_instance(settings: Settings, tmp_path: Path) -> AsyncIterator[str]:
    """`wildflag serve` as a process of its own on the same database: its own cache."""
    port = free_port()
    env = wildflag_env(
        tmp_path / "second",
        WILDFLAG_DATABASE_URL=str(settings.database_url),
        WILDFLAG_MIGRATE_ON_START="false",
        WILDFLAG_ANONYMOUS_REPORTS_PER_MINUTE="1000",
        WILDFLAG_LOG_LEVEL="WARNING",
    )
    log = tmp_path / "second.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            WILDFLAG, "serve", "--host", "127.0.0.1", "--port", str(port),
            env=env, stdout=output, stderr=output,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                if process.returncode is not None:
                    raise RuntimeError(f"wildflag serve exited: {log.read_text()[-2000:]}")
                try:
                    async with http.get(url + "/readyz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("wildflag serve did not become ready in 60 s")
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_instances_on_one_postgresql_see_each_others_changes(
    client, settings, second_instance
):
    # Instance B is reached like a test client, for the dashboard's browser helper.
    other = SimpleNamespace(make_url=lambda path: URL(second_instance).join(URL(path)))
    here = await signed_in_admin(client, settings, "admin.a@units.example")
    there = await signed_in_admin(other, settings, "admin.b@units.example")
    async with aiohttp.ClientSession() as http:
        try:
            # Both instances have routed with the directory as it was: both have it cached.
            assert await routed_to(client) == ["TH"]
            assert await routed_to(http, second_instance) == ["TH"]

            await set_th_taxa(here, "Elasmobranchii")  # through instance A
            assert await routed_to(http, second_instance) == ["COORD"]
            assert await routed_to(client) == ["COORD"]

            await set_th_taxa(there, "Orchidaceae")  # through instance B
            assert await routed_to(client) == ["TH"]
            assert await routed_to(http, second_instance) == ["TH"]
        finally:
            await here.http.close()
            await there.http.close()
