"""The webhook address guard: no loopback, private, link-local, CGNAT, multicast, reserved
or metadata destinations, however spelt, unless the operator allows the network.

Real parts: webhook receivers on loopback (which the guard must refuse unless allowed),
the system resolver for `localhost`, the dashboard over HTTP. Only one fake: a scripted
DNS resolver standing in for a name server that answers what an attacker wants, since a
name server for made-up names cannot be plugged into the system resolver here.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from db.engine import create_engine, session_factory
from db.models import AuditEvent, Delivery, Unit
from extension_backend.app import create_app
from extension_backend.delivery.address_guard import (
    AddressRefused,
    GuardedResolver,
    guarded_session,
    literal_address,
    refusal,
    refused_cause,
    resolved_problem,
    url_problem,
)
from extension_backend.delivery.channels import (
    DeliveryError,
    Target,
    WebhookChannel,
    build_channels,
)
from extension_backend.delivery.worker import Worker
from extension_backend.settings import Settings
from tests.backend.conftest import set_channels
from tests.backend.test_delivery import IVORY
from tests.dashboard.conftest import Browser, add_account, close_browsers
from tests.live_backend import free_port

SECRET = "guard-test-secret"
LOOPBACK = [ipaddress.ip_network("127.0.0.1/32")]

# (address as written in a URL's host, why it is refused or None)
TABLE = [
    ("127.0.0.1", "a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("2130706433", "a loopback address"),  # decimal
    ("0177.0.0.1", "a loopback address"),  # octal
    ("0x7f.0.0.1", "a loopback address"),  # hex
    ("0x7f000001", "a loopback address"),
    ("127.1", "a loopback address"),  # short form
    ("127.0.0.1.", "a loopback address"),  # trailing dot
    ("[::1]", "a loopback address"),
    ("[::ffff:127.0.0.1]", "a loopback address"),  # IPv4-mapped
    ("[::ffff:7f00:1]", "a loopback address"),
    ("0", "an unspecified address"),  # 0.0.0.0: this host
    ("0.0.0.0", "an unspecified address"),
    ("[::]", "an unspecified address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.255", "a private address"),
    ("192.168.1.1", "a private address"),
    ("[fd12:3456::1]", "a private address"),  # unique local
    ("[::ffff:10.0.0.1]", "a private address"),
    ("[64:ff9b::a00:1]", "a private address"),  # NAT64 of 10.0.0.1
    ("169.254.1.1", "a link-local address"),
    ("[fe80::1]", "a link-local address"),
    ("169.254.169.254", "a cloud metadata address"),  # AWS, GCP, Azure, OpenStack
    ("[::ffff:169.254.169.254]", "a cloud metadata address"),
    ("2852039166", "a cloud metadata address"),  # 169.254.169.254 in decimal
    ("168.63.129.16", "a cloud metadata address"),  # Azure WireServer
    ("100.100.100.200", "a cloud metadata address"),  # Alibaba
    ("[fd00:ec2::254]", "a cloud metadata address"),  # AWS over IPv6
    ("100.64.0.1", "a shared (carrier-grade NAT) address"),
    ("100.127.255.254", "a shared (carrier-grade NAT) address"),
    ("224.0.0.1", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("[ff02::1]", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a reserved address"),
    ("192.0.2.1", "a reserved address"),  # documentation
    ("198.18.0.1", "a reserved address"),  # benchmarking
    ("[2001:db8::1]", "a reserved address"),
    ("[2002:7f00:1::]", "a reserved address"),  # 6to4 of 127.0.0.1
    ("[2001:0:4136:e378::1]", "a reserved address"),  # Teredo
    ("[100::1]", "a reserved address"),  # discard-only
    ("[::127.0.0.1]", "a reserved address"),  # IPv4-compatible, long deprecated
    # Public: allowed.
    ("93.184.215.14", None),
    ("8.8.8.8", None),
    ("100.63.255.255", None),  # just below CGNAT
    ("100.128.0.1", None),  # just above
    ("172.32.0.1", None),  # just above 172.16/12
    ("[2606:4700:4700::1111]", None),
    ("[::ffff:8.8.8.8]", None),
    ("[64:ff9b::808:808]", None),  # NAT64 of 8.8.8.8
]


@pytest.mark.parametrize(("host", "reason"), TABLE)
def test_the_table_of_addresses(host: str, reason: str | None) -> None:
    address = literal_address(host)
    assert address is not None, host
    assert refusal(address) == reason
    problem = url_problem(f"https://{host}:8443/hook")
    if reason is None:
        assert problem is None
    else:
        assert problem is not None and reason in problem and str(address) in problem


@pytest.mark.parametrize(
    "host", ["unit.example.org", "cafe.be", "deadbeef", "1.2.3.4.5", "08.1.1.1", "0x.example"]
)
def test_names_are_not_read_as_addresses(host: str) -> None:
    assert literal_address(host) is None
    assert url_problem(f"https://{host}/hook") is None  # judged after DNS, at send time


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "localhost.", "api.localhost"])
def test_localhost_names_are_loopback_without_asking_dns(host: str) -> None:
    problem = url_problem(f"http://{host}:8080/")
    assert problem is not None and "a loopback address" in problem


def test_allowed_networks_let_an_operator_reach_internal_receivers() -> None:
    allowed = [ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("fd00:1::/64")]
    assert url_problem("http://10.20.3.4/hook", allowed) is None
    assert url_problem("http://[::ffff:10.20.3.4]/hook", allowed) is None  # the same host
    assert url_problem("http://[fd00:1::5]/hook", allowed) is None
    assert "a private address" in (url_problem("http://10.21.0.1/hook", allowed) or "")
    assert "a loopback address" in (url_problem("http://127.0.0.1/hook", allowed) or "")
    metadata = url_problem("http://169.254.169.254/latest/meta-data/", allowed)
    assert metadata and "a cloud metadata address" in metadata
    # Only an explicit entry lets metadata through.
    assert (
        refusal(ipaddress.ip_address("169.254.169.254"), [ipaddress.ip_network("169.254.0.0/16")])
        is None
    )


def test_settings_take_networks_and_refuse_garbage() -> None:
    settings = Settings(delivery_allow_private_networks=["10.0.0.0/8", "::1"])
    assert [str(n) for n in settings.delivery_allow_private_networks] == ["10.0.0.0/8", "::1/128"]
    assert Settings().delivery_allow_private_networks == []  # refused by default
    with pytest.raises(ValueError, match="delivery_allow_private_networks"):
        Settings(delivery_allow_private_networks=["the office"])


# -- at send time, against real receivers ---------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.redirect_to: str | None = None

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.requests.append(request.path)
        if self.redirect_to:
            raise web.HTTPTemporaryRedirect(self.redirect_to)
        return web.json_response({"ok": True})


async def start(host: str = "127.0.0.1", port: int | None = None) -> tuple[Receiver, TestServer]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    server = TestServer(app, host=host, port=port or free_port())
    await server.start_server()
    return receiver, server


@pytest.fixture
async def receiver() -> Any:
    recv, server = await start()
    recv.port = server.port  # type: ignore[attr-defined]
    yield recv
    await server.close()


def channel(allowed: list[Any] | None = None, **kwargs: Any) -> WebhookChannel:
    return WebhookChannel(timeout=5, allowed_networks=allowed or [], **kwargs)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",  # resolved by the system resolver
        "2130706433",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "127.1",
        "0",  # connects to this host on Linux
        "[::ffff:127.0.0.1]",
    ],
)
async def test_a_send_to_loopback_in_any_spelling_is_refused_and_final(receiver, host):
    url = f"http://{host}:{receiver.port}/hook"
    with pytest.raises(DeliveryError) as refused:
        await channel().send({"case": 1}, Target(url, SECRET), "key-1")
    assert refused.value.retryable is False
    message = str(refused.value)
    assert message.startswith("address refused: ")
    assert "loopback address" in message or "unspecified address" in message
    assert "delivery_allow_private_networks" in message
    assert receiver.requests == []  # nothing reached it


async def test_an_allowed_network_is_delivered_to(receiver):
    url = f"http://127.0.0.1:{receiver.port}/hook"
    await channel(LOOPBACK).send({"case": 1}, Target(url, SECRET), "key-1")
    assert receiver.requests == ["/hook"]


async def test_a_redirect_from_an_allowed_receiver_is_not_followed(receiver):
    """The webhook never follows a redirect: the attempt fails for good, saying where to."""
    inner, inner_server = await start("127.0.0.2")
    try:
        receiver.redirect_to = f"http://127.0.0.2:{inner_server.port}/admin"
        url = f"http://127.0.0.1:{receiver.port}/hook"
        with pytest.raises(DeliveryError) as refused:
            await channel(LOOPBACK).send({"case": 1}, Target(url, SECRET), "key-1")
        assert refused.value.retryable is False
        assert "HTTP 307" in str(refused.value) and "redirects are not followed" in str(
            refused.value
        )
        assert receiver.requests == ["/hook"] and inner.requests == []
    finally:
        await inner_server.close()


@pytest.mark.parametrize("target", ["http://127.0.0.2:{port}/admin", "http://2130706434:{port}/"])
async def test_a_guarded_session_refuses_a_redirect_hop_to_a_refused_address(receiver, target):
    """Had redirects been followed, each hop is checked: the guard sits in the session."""
    inner, inner_server = await start("127.0.0.2")
    try:
        receiver.redirect_to = target.format(port=inner_server.port)
        http, guard = guarded_session(LOOPBACK)  # 127.0.0.1 allowed, 127.0.0.2 not
        try:
            async with http:
                with pytest.raises(aiohttp.ClientError) as failed:
                    await http.get(f"http://127.0.0.1:{receiver.port}/hook")
        finally:
            await guard.close()
        refused = refused_cause(failed.value)
        assert refused is not None and str(refused.address) == "127.0.0.2"
        assert "is a loopback address" in str(refused)
        assert receiver.requests == ["/hook"] and inner.requests == []
    finally:
        await inner_server.close()


class ScriptedDns(AbstractResolver):
    """A name server an attacker controls: answers each name from a script. Stands in for
    DNS because made-up names cannot be added to the system resolver in a test."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            {"hostname": host, "host": a, "port": port, "family": socket.AF_INET, "proto": 0,
             "flags": socket.AI_NUMERICHOST}
            for a in self.answers[host]
        ]  # fmt: skip

    async def close(self) -> None:
        return None


async def test_a_name_is_judged_by_what_it_resolves_to_when_sent(receiver):
    """Rebinding: the name resolved to nothing (or something public) when it was entered
    and resolves to loopback when sent. The guard judges the answer the connection uses."""
    url = f"http://unit-receiver.test:{receiver.port}/hook"
    assert url_problem(url) is None and await resolved_problem(url) is None  # accepted on entry
    dns = ScriptedDns({"unit-receiver.test": ["127.0.0.1"]})
    with pytest.raises(DeliveryError, match=r"unit-receiver.test \(127.0.0.1\) is a loopback"):
        await channel(resolver=dns).send({"case": 1}, Target(url, SECRET), "key-1")
    assert dns.asked == ["unit-receiver.test"] and receiver.requests == []

    # Allowed, the connection goes to exactly the address that was checked.
    await channel(LOOPBACK, resolver=dns).send({"case": 1}, Target(url, SECRET), "key-2")
    assert receiver.requests == ["/hook"]


async def test_every_address_of_a_name_must_pass():
    """One public and one internal address: refused, or the connection could pick either."""
    dns = ScriptedDns({"mixed.test": ["93.184.215.14", "10.0.0.5"]})
    guard = GuardedResolver((), dns)
    with pytest.raises(AddressRefused, match=r"mixed.test \(10.0.0.5\) is a private address"):
        await guard.resolve("mixed.test", 443)
    public = GuardedResolver((), ScriptedDns({"public.test": ["93.184.215.14"]}))
    assert [r["host"] for r in await public.resolve("public.test", 443)] == ["93.184.215.14"]


# -- through the worker and the dashboard -----------------------------------------------


async def test_a_refused_destination_fails_the_delivery_with_a_clear_error(
    settings, make_client, peek, receiver
):
    strict = settings.model_copy(
        update={"delivery_allow_private_networks": [], "delivery_worker": False}
    )
    url = f"http://localhost:{receiver.port}/hook"  # set behind the dashboard's back
    await set_channels(settings, "GB", [{"type": "webhook", "target": url, "secret": SECRET}])
    client = await make_client(strict)
    assert (await client.post("/api/v1/reports", json=IVORY)).status == 201
    engine = create_engine(strict.effective_database_url)
    try:
        async with aiohttp.ClientSession() as http:
            worker = Worker(strict, session_factory(engine), build_channels(http, strict))
            assert await worker.run_once() == 1
    finally:
        await engine.dispose()
    [row] = await peek.rows(Delivery, Delivery.channel == "webhook")
    assert row.state == "dead" and row.attempts == 1
    assert row.last_error.startswith("address refused: localhost (127.0.0.1) is a loopback")
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "delivery.dead")
    assert event.details["retryable"] is False and "loopback" in event.details["error"]
    assert receiver.requests == []


@pytest.fixture
async def admin_browser(aiohttp_client, settings) -> Any:
    """A GB unit admin, signed in, on a service that allows only 10.0.0.0/8 internally."""
    s = settings.model_copy(
        update={
            "delivery_allow_private_networks": [ipaddress.ip_network("10.0.0.0/8")],
            "delivery_worker": False,
        }
    )
    client = await aiohttp_client(create_app(s))
    account = await add_account(settings, "unit_admin", "GB")
    person = Browser(client, account)
    assert account.email and await person.sign_in(account.email) == 303
    yield person
    await close_browsers(client)


REFUSED_ENTRIES = {
    "http://127.0.0.1:8080/hook": "127.0.0.1 is a loopback address",
    "http://localhost/hook": "localhost (127.0.0.1) is a loopback address",
    "http://2130706433/hook": "2130706433 (127.0.0.1) is a loopback address",
    "http://[::ffff:192.168.0.1]/": "a private address",
    "http://169.254.169.254/latest/meta-data/": "a cloud metadata address",
    "https://100.64.0.1/hook": "a shared (carrier-grade NAT) address",
    "http://0/": "an unspecified address",
}


async def test_the_dashboard_refuses_a_refused_address_with_a_form_error(admin_browser, peek):
    for target, message in REFUSED_ENTRIES.items():
        response, html = await admin_browser.post(
            "/app/admin/units/GB/channels", {"type": "webhook", "target": target}
        )
        assert response.status == 422, target
        text = html.replace("&#39;", "'").lower()  # a sentence: capitalised
        assert message.lower() in text and "delivery_allow_private_networks" in text
        assert f'value="{target}"' in html  # the form comes back filled in
    [unit] = await peek.rows(Unit, Unit.code == "GB")
    assert unit.channels == []
    assert await peek.rows(AuditEvent, AuditEvent.action == "channel.added") == []


async def test_the_dashboard_accepts_an_allowed_internal_receiver(admin_browser, peek):
    response, _ = await admin_browser.post(
        "/app/admin/units/GB/channels", {"type": "webhook", "target": "http://10.1.2.3/hook"}
    )
    assert response.status == 200  # the page showing the new secret once
    [unit] = await peek.rows(Unit, Unit.code == "GB")
    assert [c["target"] for c in unit.channels] == ["http://10.1.2.3/hook"]
