"""The address a request came from, seen through the operator's reverse proxies.

Behind a proxy every request's peer is the proxy, so the per-address intake limit would
throttle everyone together and the blocklist could only block everyone. The proxy says
who its client was in `X-Forwarded-For`, but so can anyone else: the header is believed
only when the direct peer is in `trusted_proxies`, and then only as far as trusted hops
go. Each proxy appends the address it received the request from, so reading from the
right, the first address that is not itself a trusted proxy was written by a trusted
proxy about a client it saw: that is the client. Anything to its left is whatever the
client chose to send, and is ignored.

Pure: `forwarded_client` takes the peer and the header values, so it can be tested
without a network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from aiohttp import web

from extension_backend import keys

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str) -> IPAddress | None:
    """An address as peers and proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`,
    `[2001:db8::1]:5678`; IPv4-mapped IPv6 as its IPv4 address (a dual-stack socket's
    view of an IPv4 client), so one client has one key and blocklists match it."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, proxies: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def forwarded_client(
    peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[IPNetwork]
) -> IPAddress | None:
    """The client's address: the peer's, unless the peer is a trusted proxy and
    `X-Forwarded-For` (all its header lines, in order) names a client behind it.

    A hop that cannot be read ends the walk at the last trusted hop: a proxy we trust
    wrote something we do not understand, so nothing further left can be believed.
    """
    current = parse_address(peer) if peer else None
    if current is None or not proxies or not _trusted(current, proxies):
        return current
    hops = [hop for line in forwarded_for for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            return current
        current = address
        if not _trusted(address, proxies):
            return address
    return current  # every hop a trusted proxy: the leftmost is as far as we can see


def client_address(request: web.Request) -> IPAddress | None:
    """The client address of `request` under the app's `trusted_proxies` setting."""
    return forwarded_client(
        request.remote,
        request.headers.getall("X-Forwarded-For", []),
        request.app[keys.SETTINGS].trusted_proxies,
    )
