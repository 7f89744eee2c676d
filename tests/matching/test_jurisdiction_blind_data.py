"""Sanity of the blind jurisdiction evaluation set, tests/data/jurisdiction_blind.jsonl.

The blind set was written without looking at the jurisdiction inference, its place data or the
main evaluation set, so a score on it says how the inference does on listings nobody tuned it
on. These tests only check that the file is well formed and covers what it claims to cover;
they deliberately do not run the inference (a miss on the blind set is a finding, not an error).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pycountry

from tests.helpers import read_jsonl

DATA = Path(__file__).resolve().parents[1] / "data" / "jurisdiction_blind.jsonl"

REQUIRED_KEYS = {"id", "text", "country", "split"}
OPTIONAL_KEYS = {"url", "title", "seller_location", "currency", "reporter_country", "note"}
ID = re.compile(r"[a-z]{2}-\d{3}")
ISO2 = {country.alpha_2 for country in pycountry.countries}
# Countries where the online wildlife trade is heaviest get several listings each.
HEAVY = {"VN", "CN", "TH", "ID", "MY", "PH", "IN", "NG", "KE", "TZ", "ZA", "BR", "MX", "US"}
HEAVY |= {"GB", "FR", "DE", "JP", "HK", "TW", "AE", "SA", "RU"}
CONTINENTS = {
    "africa": {"NG", "KE", "TZ", "ZA", "CM", "CD", "GA", "UG", "MZ", "MG", "ET", "SN", "GH", "EG"},
    "asia": {"VN", "CN", "TH", "ID", "MY", "PH", "IN", "JP", "HK", "TW", "AE", "SA", "PK", "BD"},
    "europe": {"GB", "FR", "DE", "IT", "ES", "PT", "NL", "BE", "PL", "CZ", "UA", "RU", "AT"},
    "north_america": {"US", "CA", "MX", "GT", "CR", "JM", "DO"},
    "south_america": {"BR", "PE", "CO", "EC", "BO", "AR", "CL", "VE", "PY"},
    "oceania": {"AU", "NZ", "PG", "FJ"},
}

ITEMS = read_jsonl(DATA)
LABELLED = [item for item in ITEMS if item.get("country") is not None]


def shape_problems(item: dict[str, Any]) -> list[str]:
    """What is wrong with one listing's keys and label (empty when nothing is)."""
    if not item.keys() >= REQUIRED_KEYS:
        return [f"missing {sorted(REQUIRED_KEYS - item.keys())}"]
    problems = []
    if extra := item.keys() - REQUIRED_KEYS - OPTIONAL_KEYS:
        problems.append(f"unknown keys {sorted(extra)}")
    for key in ("text", *sorted(OPTIONAL_KEYS)):
        value = item.get(key, "x")
        if not (isinstance(value, str) and value.strip()):
            problems.append(f"{key} empty or not a string")
    country = item["country"]
    if country is not None and country not in ISO2:
        problems.append(f"country {country!r} is not an ISO 3166-1 alpha-2 code")
    prefix = "xx" if country is None else str(country).lower()
    if not (ID.fullmatch(item["id"]) and item["id"].startswith(prefix + "-")):
        problems.append(f"id {item['id']!r} does not match country {country!r}")
    reporter = item.get("reporter_country")
    if reporter is not None and reporter not in ISO2:
        problems.append(f"reporter_country {reporter!r}")
    url = item.get("url")
    if url is not None and not url.startswith(("http://", "https://")):
        problems.append(f"url {url!r}")
    if item["split"] != "blind":
        problems.append(f"split {item['split']!r}")
    return problems


def test_every_listing_is_well_formed() -> None:
    problems = {item.get("id", "?"): p for item in ITEMS if (p := shape_problems(item))}
    assert not problems


def test_ids_are_unique() -> None:
    ids = Counter(item["id"] for item in ITEMS)
    assert not [i for i, n in ids.items() if n > 1]


def test_texts_are_unique() -> None:
    texts = Counter((item.get("url"), item.get("title"), item["text"]) for item in ITEMS)
    assert not [t for t, n in texts.items() if n > 1]


def test_size_and_unassigned_share() -> None:
    assert 180 <= len(ITEMS) <= 300
    unassigned = len(ITEMS) - len(LABELLED)
    assert 0.15 <= unassigned / len(ITEMS) <= 0.35


def test_countries_are_many_and_span_continents() -> None:
    countries = {item["country"] for item in LABELLED}
    assert len(countries) >= 45
    missing = {name: sorted(codes) for name, codes in CONTINENTS.items() if not codes & countries}
    assert not missing


def test_heavy_trade_countries_have_several_listings() -> None:
    counts = Counter(item["country"] for item in LABELLED)
    assert not {c: counts[c] for c in HEAVY if counts[c] < 3}


def test_listings_without_a_url_are_present() -> None:
    # Text an officer forwarded has no URL; the set must measure that case too.
    assert sum(1 for item in ITEMS if "url" not in item) >= 20
