"""`route` looks units up in an index remembered per rule list: it must answer exactly as a
pass over the list would, and follow the list when it changes."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pytest

from matching.routing import NoRoute, Route, UnitRule, route, rules_from_rows

UNITS_CSV = Path(__file__).resolve().parents[2] / "db" / "data" / "units.csv"


def _scan_route(country: str | None, units: Sequence[UnitRule], reporter: str | None) -> list[str]:
    """The unit codes a plain pass over `units` gives (no filters in these rules)."""
    codes: list[str] = []
    covering = [u for u in units if country and country.upper() in u.countries]
    for unit in covering or [u for u in units if u.coordinating]:
        if unit.code not in codes:
            codes.append(unit.code)
    if reporter:
        for unit in units:
            if unit.reporter_cases and reporter in unit.countries and unit.code not in codes:
                codes.append(unit.code)
    return codes


def _seed() -> list[UnitRule]:
    with UNITS_CSV.open(encoding="utf-8", newline="") as handle:
        return rules_from_rows(csv.DictReader(handle))


def test_every_country_of_the_seed_rules_routes_as_a_pass_over_them() -> None:
    units = _seed()
    units.append(UnitRule("GBX", frozenset({"GB", "FR"}), reporter_cases=True))
    countries = [*sorted({code for unit in units for code in unit.countries}), "ZZ", None]
    for country in countries:
        for reporter in (None, "GB", "FR"):
            routes = route(country, "I", units, reporter_country=reporter)
            assert [r.unit for r in routes] == _scan_route(country, units, reporter), country


def test_a_list_edited_in_place_is_read_again() -> None:
    fr = UnitRule("FR", frozenset({"FR"}))
    coord = UnitRule("COORD", frozenset(), coordinating=True)
    units = [fr, coord]
    assert route("FR", "I", units) == [Route("FR", "listing country FR")]
    units[0] = UnitRule("FR2", frozenset({"FR"}))
    assert route("FR", "I", units) == [Route("FR2", "listing country FR")]
    units.insert(0, UnitRule("EU", frozenset({"FR", "DE"})))
    assert [r.unit for r in route("FR", "I", units)] == ["EU", "FR2"]
    units.clear()
    with pytest.raises(NoRoute):
        route("FR", "I", units)


def test_different_lists_do_not_share_answers() -> None:
    first = [UnitRule("A", frozenset({"KE"})), UnitRule("C1", frozenset(), coordinating=True)]
    second = [UnitRule("B", frozenset({"TZ"})), UnitRule("C2", frozenset(), coordinating=True)]
    for _ in range(2):
        assert [r.unit for r in route("KE", "I", first)] == ["A"]
        assert [r.unit for r in route("KE", "I", second)] == ["C2"]
        assert [r.unit for r in route("TZ", "I", tuple(second))] == ["B"]


def test_a_new_list_in_a_freed_list_s_place_is_not_mistaken_for_it() -> None:
    # CPython reuses the address of a freed list, so a new list may get the old one's id.
    for number in range(50):
        units = [UnitRule(f"U{number}", frozenset({"KE"}))]
        assert route("KE", "II", units) == [Route(f"U{number}", "listing country KE")]
