"""Matching listings to directory entries, and how referrals fared per platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from matching.referrals import PlatformStats, domain_keys, match_platform, referral_stats

DIRECTORY = [
    (1, ["ebay.com", "ebay.co.uk"]),
    (2, ["facebook.com", "fb.me"]),
    (3, ["craigslist.org"]),
    (4, ["ebay.de"]),  # an operator's separate entry for one site
]


def test_domain_keys_give_host_and_platform():
    assert domain_keys("www.eBay.co.uk") == ("ebay.co.uk", "ebay")
    assert domain_keys("https://sfbay.craigslist.org/x") == ("craigslist.org", "craigslist")
    assert domain_keys("shop.example.org") == ("example.org", None)
    assert domain_keys("") is None and domain_keys("not a host") is None


def test_a_listing_matches_by_host_first_then_by_platform_name():
    assert match_platform("ebay.de", "ebay", DIRECTORY) == 4  # exact host wins
    assert match_platform("ebay.com.sg", "ebay", DIRECTORY) == 1  # another eBay site
    assert match_platform("fb.com", "facebook", DIRECTORY) == 2
    assert match_platform("craigslist.org", "craigslist", DIRECTORY) == 3
    assert match_platform("example.org", None, DIRECTORY) is None
    assert match_platform(None, None, DIRECTORY) is None


def test_referral_stats_count_states_and_take_the_median_days_to_removal():
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    rows = [
        (1, "removed", t0, t0 + timedelta(days=1)),
        (1, "removed", t0, t0 + timedelta(days=3)),
        (1, "removed", t0, t0 + timedelta(days=10)),
        (1, "still_online", t0, t0 + timedelta(days=2)),
        (1, "pending", t0, None),
        (2, "refused", t0, t0 + timedelta(hours=6)),
        (2, "removed", t0, None),  # no resolution time: counted, not timed
    ]
    stats = referral_stats(rows)
    assert stats[1] == PlatformStats(
        made=5, pending=1, removed=3, still_online=1, refused=0, median_days_to_removal=3.0
    )
    assert stats[2].made == 2 and stats[2].removed == 1 and stats[2].refused == 1
    assert stats[2].median_days_to_removal is None
    even = referral_stats([(7, "removed", t0, t0 + timedelta(days=d)) for d in (1, 2)])
    assert even[7].median_days_to_removal == 1.5
    assert referral_stats([]) == {}
