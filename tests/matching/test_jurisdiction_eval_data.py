"""Sanity of the labelled jurisdiction evaluation set, tests/data/jurisdiction_eval.jsonl.

The set is scored by `benchmarks/jurisdiction_eval.py`; these tests only check that it is
well formed and covers what it claims to cover (many countries, many listings that must stay
unassigned, a fixed holdout split), so a score on it means something.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pycountry

from tests.helpers import read_jsonl

DATA = Path(__file__).resolve().parents[1] / "data" / "jurisdiction_eval.jsonl"

REQUIRED_KEYS = {"id", "text", "country", "split"}
OPTIONAL_KEYS = {"url", "title", "seller_location", "currency", "reporter_country", "note"}
ID = re.compile(r"^[a-z]{2}-\d{3}$")  # label's country in lower case ("xx" for None), number
ISO2 = {country.alpha_2 for country in pycountry.countries}


ITEMS = read_jsonl(DATA)


def test_size() -> None:
    assert len(ITEMS) >= 200


def test_ids_are_unique_and_well_formed() -> None:
    ids = Counter(item["id"] for item in ITEMS)
    assert not [i for i, n in ids.items() if n > 1]
    assert not [i for i in ids if not ID.match(i)]
    assert all(item["id"][:2] == (item["country"] or "xx").lower() for item in ITEMS)


def test_listings_are_unique() -> None:
    listings = Counter(
        tuple(item.get(key) for key in sorted(REQUIRED_KEYS | OPTIONAL_KEYS - {"id", "note"}))
        for item in ITEMS
    )
    assert not [listing for listing, n in listings.items() if n > 1]


def shape_problems(item: dict[str, Any]) -> list[str]:
    """What is wrong with one listing's keys and values (empty when nothing is)."""
    if not item.keys() >= REQUIRED_KEYS:
        return [f"missing {sorted(REQUIRED_KEYS - item.keys())}"]
    problems = []
    if item.keys() - REQUIRED_KEYS - OPTIONAL_KEYS:
        problems.append(f"unknown keys {sorted(item.keys() - REQUIRED_KEYS - OPTIONAL_KEYS)}")
    for key in ("text", *sorted(OPTIONAL_KEYS)):
        value = item.get(key, "x")
        if not (isinstance(value, str) and value.strip()):
            problems.append(f"{key} empty or not a string")
    if item["country"] is not None and item["country"] not in ISO2:
        problems.append(f"country {item['country']!r} is not ISO 3166-1 alpha-2")
    if "reporter_country" in item and item["reporter_country"] not in ISO2:
        problems.append(f"reporter_country {item['reporter_country']!r}")
    if "url" in item and not re.match(r"^https?://[^\s/]+", item["url"]):
        problems.append(f"url {item['url']!r}")
    if item["split"] not in {"dev", "holdout"}:
        problems.append(f"split {item['split']!r}")
    return problems


def test_every_listing_is_well_formed() -> None:
    problems = {item.get("id", "?"): p for item in ITEMS if (p := shape_problems(item))}
    assert not problems


def test_covers_many_countries() -> None:
    countries = {item["country"] for item in ITEMS if item["country"]}
    assert len(countries) >= 40, sorted(countries)


def test_enough_listings_must_stay_unassigned() -> None:
    assert sum(1 for item in ITEMS if item["country"] is None) >= 30


def test_conflicts_are_covered() -> None:
    # A reporter in one country reporting a listing in another, and a seller location given.
    elsewhere = [
        item
        for item in ITEMS
        if item["country"] and item.get("reporter_country", item["country"]) != item["country"]
    ]
    assert len(elsewhere) >= 10
    assert sum(1 for item in ITEMS if item.get("seller_location")) >= 20


def test_holdout_share() -> None:
    holdout = [item for item in ITEMS if item["split"] == "holdout"]
    assert 0.10 <= len(holdout) / len(ITEMS) <= 0.25
    assert any(item["country"] is None for item in holdout)
