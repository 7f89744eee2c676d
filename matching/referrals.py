"""Platforms and referrals: which directory entry a listing belongs to, and how referrals fared.

A directory entry lists the domains a platform serves listings from. A listing is matched
to it by its registrable host ("ebay.co.uk"), or, failing that, by the platform name
`matching.urls` gives both ("ebay" for every eBay site), so an entry listing `ebay.com`
also claims a listing on `ebay.com.sg`. Nothing here reads a database or the network.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from matching.urls import InvalidURL, canonical_url

__all__ = [
    "REFERRAL_STATES",
    "PlatformStats",
    "domain_keys",
    "match_platform",
    "referral_stats",
]

#: A referral waits for the platform, then it took the listing down, left it, or refused.
REFERRAL_STATES = ("pending", "removed", "still_online", "refused")
_DAY = 86400.0


def domain_keys(domain: str) -> tuple[str, str | None] | None:
    """A directory domain as (registrable host, platform name), or None if it is no host."""
    text = domain.strip().lower()
    if not text:
        return None
    if "://" not in text:
        text = f"https://{text}/"
    try:
        found = canonical_url(text)
    except InvalidURL:
        return None
    return found.host, found.platform


def match_platform(
    host: str | None,
    platform: str | None,
    directory: Sequence[tuple[int, Sequence[str]]],
) -> int | None:
    """The id of the directory entry (id, domains) a listing (host, platform) belongs to.

    An exact host wins over a platform name; the first entry wins a tie.
    """
    keys = [(ident, [k for d in domains if (k := domain_keys(d))]) for ident, domains in directory]
    if host:
        wanted = host.lower()
        for ident, found in keys:
            if any(h == wanted for h, _ in found):
                return ident
    if platform:
        for ident, found in keys:
            if any(p == platform for _, p in found):
                return ident
    return None


@dataclass(frozen=True, slots=True)
class PlatformStats:
    """How one platform answered referrals."""

    made: int = 0
    pending: int = 0
    removed: int = 0
    still_online: int = 0
    refused: int = 0
    median_days_to_removal: float | None = None


def referral_stats(
    referrals: Iterable[tuple[int, str, datetime, datetime | None]],
) -> dict[int, PlatformStats]:
    """Per platform id: referrals made, by state, and the median days from referral to
    removal (over removed ones with a resolution time; None when there are none).

    Input rows are (platform id, state, referred at, resolved at).
    """
    states: dict[int, dict[str, int]] = {}
    days: dict[int, list[float]] = {}
    for platform_id, state, referred_at, resolved_at in referrals:
        counts = states.setdefault(platform_id, dict.fromkeys(REFERRAL_STATES, 0))
        counts[state] = counts.get(state, 0) + 1
        if state == "removed" and resolved_at is not None:
            elapsed = max(0.0, (resolved_at - referred_at).total_seconds() / _DAY)
            days.setdefault(platform_id, []).append(elapsed)
    return {
        ident: PlatformStats(
            made=sum(counts.values()),
            pending=counts["pending"],
            removed=counts["removed"],
            still_online=counts["still_online"],
            refused=counts["refused"],
            median_days_to_removal=(
                round(statistics.median(days[ident]), 1) if ident in days else None
            ),
        )
        for ident, counts in states.items()
    }
