"""Which network addresses a webhook may be sent to, and an HTTP session that enforces it.

A unit admin sets their unit's webhook URL from the dashboard. Without a guard that URL
could point the service at itself (`http://127.0.0.1:8080/…`), at the database, at other
hosts of the operator's internal network or at a cloud metadata service
(`169.254.169.254`, which hands out credentials), and the service would send requests
there on the admin's behalf (server-side request forgery).

So a webhook may only reach public addresses, unless the operator names the internal
networks where units' receivers legitimately live (`delivery_allow_private_networks`).
The check runs on the addresses a name resolves to *at send time*, inside the HTTP
client's resolver: the connection is made to exactly the addresses that were checked, so
a name that resolves to a public address when checked and to `127.0.0.1` a moment later
(DNS rebinding) cannot slip through. Literal addresses, in every spelling the C library
accepts (`2130706433`, `0177.0.0.1`, `0x7f.1`, `0`, `[::]`, `[::ffff:127.0.0.1]`), are
checked by a client middleware, which aiohttp runs for every request it makes, redirects
included. The webhook channel does not follow redirects at all.

The pure part (`refusal`, `literal_address`, `url_problem`) does no I/O; the dashboard
uses it, with one DNS lookup (`resolved_problem`), to refuse an address when it is
entered, and the send-time guard is the one that cannot be bypassed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_middlewares import ClientHandlerType
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Seconds the dashboard waits for DNS when an address is entered (send time uses the
#: delivery timeout).
ENTRY_LOOKUP_SECONDS = 3.0


def _nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


#: Refused networks, most specific reason first. Our own table rather than `ipaddress`'s
#: `is_private`/`is_global`, whose lists changed between Python releases (3.11.10, 3.12.4):
#: the refusal must not depend on the interpreter's patch level.
REFUSED: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = (
    ("an unspecified address", _nets("0.0.0.0/8", "::/128")),
    ("a loopback address", _nets("127.0.0.0/8", "::1/128")),
    (
        "a cloud metadata address",
        # AWS/GCP/Azure/OpenStack 169.254.169.254 (also link-local, below), Azure's
        # WireServer (a public address!), Alibaba, Oracle, AWS over IPv6.
        _nets("169.254.169.254/32", "168.63.129.16/32", "100.100.100.200/32")
        + _nets("192.0.0.192/32", "fd00:ec2::254/128"),
    ),
    ("a link-local address", _nets("169.254.0.0/16", "fe80::/10")),
    (
        "a private address",
        _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")
        + _nets("64:ff9b:1::/48"),
    ),
    ("a shared (carrier-grade NAT) address", _nets("100.64.0.0/10")),
    ("a multicast address", _nets("224.0.0.0/4", "ff00::/8")),
    (
        "a reserved address",
        # IETF assignments, documentation, benchmarking, the 6to4 relay, 240/4 and the
        # broadcast address; IPv6 protocol assignments (Teredo…), documentation, 6to4,
        # discard-only; and anything outside 2000::/3, the only global unicast block.
        _nets("192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24")
        + _nets("203.0.113.0/24", "192.88.99.0/24", "240.0.0.0/4")
        + _nets("2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20", "100::/64"),
    ),
)
#: IPv6 outside this block is not a unicast address anyone can route to.
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
#: NAT64 (RFC 6052): the IPv4 address is in the last 32 bits, and decides.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: Host spellings glibc's `inet_aton` reads as an IPv4 address (decimal, octal, hex,
#: fewer than four parts). Only these reach `inet_aton`, which ignores trailing junk.
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.I)


class AddressRefused(OSError):
    """A destination the guard refuses. An `OSError`, so that aiohttp's connector reports
    it as a connection error (`ClientConnectorError.os_error`) rather than a crash."""

    def __init__(self, host: str, address: IPAddress, reason: str) -> None:
        named = str(address) if host.strip("[]") == str(address) else f"{host} ({address})"
        super().__init__(
            f"{named} is {reason}: webhooks only go to public addresses unless the operator "
            "allows its network (delivery_allow_private_networks)"
        )
        self.host = host
        self.address = address
        self.reason = reason

    def __str__(self) -> str:
        return str(self.args[0])


def _embedded_v4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: IPv4-mapped (`::ffff:a.b.c.d`) or NAT64."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why a webhook may not connect to `address` (e.g. "a loopback address"), or None.

    An address inside one of the `allowed` networks is accepted whatever it is. An IPv6
    address that stands for an IPv4 one is judged as that IPv4 address, so
    `::ffff:127.0.0.1` is loopback and `::ffff:10.0.0.5` is allowed where 10.0.0.0/8 is.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
    candidates = [address]
    if (v4 := _embedded_v4(address)) is not None:
        candidates.append(v4)
    allowed = list(allowed)
    if any(c in net for c in candidates for net in allowed if c.version == net.version):
        return None
    judged = candidates[-1]
    for reason, networks in REFUSED:
        if any(judged in net for net in networks if net.version == judged.version):
            return reason
    if judged.version == 6 and judged not in GLOBAL_UNICAST_V6:
        return "a reserved address"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells, in any form the C library's resolver accepts, or None
    for a name. `"2130706433"`, `"0177.0.0.1"`, `"0x7f.1"` and `"0"` are all IPv4
    addresses to `getaddrinfo`, so they are to the guard."""
    host = host.strip().strip("[]")
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return None
    if not _NUMERIC_HOST.fullmatch(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except OSError:
        return None


#: Names that are the machine itself whatever DNS says (RFC 6761).
_LOCAL_NAMES = re.compile(r"(?:.+\.)?localhost(?:\.localdomain)?\.?", re.I)


def url_problem(url: str, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why a webhook to `url` would be refused, judged without DNS, or None.

    Catches literal addresses in any spelling and `localhost` names; a name that
    resolves to a refused address is caught by `resolved_problem` and at send time.
    """
    try:
        host = URL(url).host or ""
    except (ValueError, TypeError):
        return "the address is not a valid URL"
    if not host:
        return "the address has no host"
    address = literal_address(host)
    if address is None and _LOCAL_NAMES.fullmatch(host):
        address = ipaddress.IPv4Address("127.0.0.1")
    if address is None:
        return None
    if reason := refusal(address, allowed):
        return str(AddressRefused(host, address, reason))
    return None


async def resolved_problem(url: str, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """`url_problem`, then the addresses its name resolves to now (when it resolves).

    A name that does not resolve (yet) is accepted: the receiver may not be in DNS when
    the unit sets it up, and the send-time guard checks again anyway.
    """
    if problem := url_problem(url, allowed):
        return problem
    host = URL(url).host or ""
    if literal_address(host) is not None:
        return None
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(ENTRY_LOOKUP_SECONDS):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        return None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if reason := refusal(address, allowed):
            return str(AddressRefused(host, address, reason))
    return None


class GuardedResolver(AbstractResolver):
    """A resolver that refuses a name if any address it resolves to is refused.

    aiohttp's connector connects to the addresses a resolver returns, and to nothing
    else, so what is checked here is what is connected to. Every address must pass, not
    just one: otherwise a name with one public and one internal address could still
    reach the internal one.
    """

    def __init__(
        self, allowed: Sequence[IPNetwork] = (), inner: AbstractResolver | None = None
    ) -> None:
        self.allowed = tuple(allowed)
        self._owns_inner = inner is None
        self.inner = inner or aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(str(result["host"]).split("%", 1)[0])
            if reason := refusal(address, self.allowed):
                raise AddressRefused(host, address, reason)
        return results

    async def close(self) -> None:
        if self._owns_inner:
            await self.inner.close()


def literal_guard(allowed: Sequence[IPNetwork]) -> Any:
    """A client middleware refusing requests to a refused literal address. aiohttp
    connects to a literal address without asking the resolver, and runs middlewares for
    every request, each redirect included."""
    allowed = tuple(allowed)

    async def middleware(
        request: aiohttp.ClientRequest, handler: ClientHandlerType
    ) -> aiohttp.ClientResponse:
        host = request.url.host or ""
        address = literal_address(host)
        if address is not None and (reason := refusal(address, allowed)):
            raise AddressRefused(host, address, reason)
        return await handler(request)

    return middleware


def guarded_session(
    allowed: Sequence[IPNetwork] = (), *, resolver: AbstractResolver | None = None
) -> tuple[aiohttp.ClientSession, GuardedResolver]:
    """An HTTP session that reaches only allowed addresses, and its resolver (close it
    after the session: a resolver passed to a connector is not closed by it)."""
    guard = GuardedResolver(allowed, resolver)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=guard),
        middlewares=(literal_guard(allowed),),
    )
    return session, guard


def refused_cause(exc: BaseException) -> AddressRefused | None:
    """The guard's refusal behind an aiohttp error, if that is what it was."""
    if isinstance(exc, AddressRefused):
        return exc
    cause = getattr(exc, "os_error", None) or exc.__cause__
    return cause if isinstance(cause, AddressRefused) else None
