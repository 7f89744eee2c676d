"""Client addresses behind a reverse proxy: `X-Forwarded-For` counts only from a trusted peer.

The service runs for real and the test client connects from 127.0.0.1, so 127.0.0.1 is
the peer: untrusted by default, and the trusted proxy when a test says so.
"""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from typing import Any

import pytest
from sqlalchemy import delete

from db.models import RateEvent, Report
from extension_backend import keys
from extension_backend.client_address import forwarded_client, parse_address
from extension_backend.settings import Settings

PROXY = [ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8")]  # the front proxy, an inner one


async def send(client: Any, forwarded_for: str | None = None) -> Any:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    return await client.post("/api/v1/reports", json={"text": "pangolin scales"}, headers=headers)


async def forget_limits(client: Any) -> None:
    """Drops the counts a shared (PostgreSQL) limit keeps, as a new window would."""
    async with client.app[keys.ENGINE].begin() as connection:
        await connection.execute(delete(RateEvent))


def limited(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update={"anonymous_reports_per_minute": 2, **changes})


async def test_a_spoofed_header_from_an_untrusted_peer_changes_nothing(make_client, settings):
    # No trusted proxies (the default), and trusted proxies that are not this peer.
    for proxies in ([], [ip_network("10.0.0.0/8")]):
        client = await make_client(
            limited(
                settings,
                trusted_proxies=proxies,
                blocked_networks=[ip_network("203.0.113.66/32")],
            )
        )
        # A new "client" each time does not earn a new limit: all are 127.0.0.1.
        statuses = [(await send(client, f"198.51.100.{n}")).status for n in range(3)]
        assert statuses == [201, 201, 429]
        await client.close()

        client = await make_client(
            limited(
                settings,
                trusted_proxies=proxies,
                blocked_networks=[ip_network("203.0.113.66/32")],
                anonymous_reports_per_minute=10,  # on PostgreSQL, the limit is shared
            )
        )
        # Nor does naming a blocked address block the peer (which is not blocked).
        assert (await send(client, "203.0.113.66")).status == 201
        await forget_limits(client)  # on PostgreSQL the next instance would know them
        await client.close()


async def test_through_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    make_client, settings
):
    client = await make_client(limited(settings, trusted_proxies=PROXY))
    alice, bob = "203.0.113.10", "203.0.113.20"
    assert [(await send(client, alice)).status for _ in range(2)] == [201, 201]
    third = await send(client, alice)
    assert third.status == 429 and (await third.json())["error"]["code"] == "rate_limited"
    assert (await send(client, bob)).status == 201  # another client behind the same proxy
    # Alice cannot escape her limit by prepending an address: only the hop the trusted
    # proxy appended counts, whatever she wrote to its left.
    assert (await send(client, f"198.51.100.1, {alice}")).status == 429
    # Through an inner trusted proxy (10.0.0.2) the client is still the first untrusted hop.
    assert (await send(client, f"{bob}, 10.0.0.2")).status == 201
    assert (await send(client, f"{bob}, 10.0.0.2")).status == 429
    # Without the header the proxy itself is the client, with a limit of its own.
    assert (await send(client)).status == 201


async def test_a_blocked_forwarded_address_is_refused_and_nothing_stored(
    make_client, settings, peek
):
    client = await make_client(
        settings.model_copy(
            update={
                "trusted_proxies": PROXY,
                "blocked_networks": [ip_network("203.0.113.0/24")],
            }
        )
    )
    refused = await send(client, "203.0.113.66")
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "blocked"
    mapped = await send(client, "::ffff:203.0.113.66")  # the same address, IPv4-mapped
    assert mapped.status == 403
    assert await peek.rows(Report) == []
    # The proxy's other clients, and the proxy itself, are not blocked.
    assert (await send(client, "198.51.100.7")).status == 201
    assert (await send(client)).status == 201
    assert len(await peek.rows(Report)) == 2


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("127.0.0.1", [], "127.0.0.1"),  # no header: the peer
        ("127.0.0.1", ["203.0.113.5"], "203.0.113.5"),
        ("127.0.0.1", ["1.1.1.1, 203.0.113.5"], "203.0.113.5"),  # left of it: client's word
        ("127.0.0.1", ["203.0.113.5, 10.0.0.2, 10.0.0.3"], "203.0.113.5"),
        ("127.0.0.1", ["203.0.113.5", "10.0.0.2"], "203.0.113.5"),  # two header lines
        ("127.0.0.1", ["10.0.0.9, 10.0.0.2"], "10.0.0.9"),  # every hop trusted: leftmost
        ("127.0.0.1", ["203.0.113.5:4711"], "203.0.113.5"),  # with a port
        ("127.0.0.1", ["[2001:db8::7]:4711"], "2001:db8::7"),
        ("127.0.0.1", ["2001:db8::7"], "2001:db8::7"),
        ("127.0.0.1", ["::ffff:203.0.113.5"], "203.0.113.5"),
        ("127.0.0.1", ["1.1.1.1, not-an-address"], "127.0.0.1"),  # garbage: stop there
        ("127.0.0.1", ["1.1.1.1, garbage, 10.0.0.2"], "10.0.0.2"),
        ("192.0.2.1", ["203.0.113.5"], "192.0.2.1"),  # an untrusted peer: header ignored
        ("::ffff:127.0.0.1", ["203.0.113.5"], "203.0.113.5"),  # a dual-stack socket's peer
    ],
)
def test_forwarded_client(peer: str, header: list[str], client: str) -> None:
    assert forwarded_client(peer, header, PROXY) == ip_address(client)


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert forwarded_client("127.0.0.1", ["203.0.113.5"], []) == ip_address("127.0.0.1")
    assert forwarded_client(None, ["203.0.113.5"], PROXY) is None  # no peer (a socket file)
    assert parse_address("not an address") is None


def test_trusted_proxies_setting_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("WILDFLAG_TRUSTED_PROXIES", '["10.0.0.0/8", "::1"]')
    assert [str(n) for n in Settings().trusted_proxies] == ["10.0.0.0/8", "::1/128"]
    monkeypatch.setenv("WILDFLAG_TRUSTED_PROXIES", '["the load balancer"]')
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings()
