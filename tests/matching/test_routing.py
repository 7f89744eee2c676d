"""Routing: the country's unit gets the case, the coordinating unit the rest; never silence."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from matching.routing import NoRoute, Route, UnitRule, route, rules_from_rows

UNITS_CSV = Path(__file__).resolve().parents[2] / "db" / "data" / "units.csv"

FR = UnitRule("FR", frozenset({"FR", "GF", "RE"}))
CN = UnitRule("CN", frozenset({"CN", "HK", "MO"}))
KE = UnitRule("KE", frozenset({"KE"}))
COORD = UnitRule("COORD", frozenset(), coordinating=True)
UNITS = [FR, CN, KE, COORD]


def test_country_goes_to_its_unit() -> None:
    assert route("FR", "I", UNITS) == [Route("FR", "listing country FR")]


def test_reason_names_the_signals_when_given() -> None:
    routes = route("FR", "II", UNITS, signals=["seller_location", "url_cctld", "url_cctld"])
    assert routes == [Route("FR", "listing country FR (seller_location, url_cctld)")]


def test_territory_goes_to_the_unit_whose_rule_lists_it() -> None:
    assert route("HK", "I", UNITS) == [Route("CN", "listing country HK")]
    assert route("RE", "I", UNITS) == [Route("FR", "listing country RE")]


def test_territory_in_the_seed_file_goes_to_the_responsible_party() -> None:
    with UNITS_CSV.open(encoding="utf-8", newline="") as handle:
        units = rules_from_rows(csv.DictReader(handle))
    assert [r.unit for r in route("HK", "I", units)] == ["CN"]
    assert [r.unit for r in route("GL", "II", units)] == ["DK"]
    assert [r.unit for r in route("PR", None, units)] == ["US"]
    assert [r.unit for r in route("TW", "I", units)] == ["COORD"]
    assert [r.unit for r in route(None, "I", units)] == ["COORD"]


def test_no_country_goes_to_the_coordinating_unit() -> None:
    assert route(None, "I", UNITS) == [Route("COORD", "coordinating unit: listing country unknown")]


def test_uncovered_country_goes_to_the_coordinating_unit() -> None:
    assert route("TW", "II", UNITS) == [
        Route("COORD", "coordinating unit: no unit covers listing country TW")
    ]


def test_every_coordinating_unit_gets_the_fallback() -> None:
    second = UnitRule("REGIONAL", frozenset(), coordinating=True)
    routes = route(None, None, [COORD, FR, second])
    assert [r.unit for r in routes] == ["COORD", "REGIONAL"]


def test_appendix_filter() -> None:
    only_one = UnitRule("FR", frozenset({"FR"}), appendices=frozenset({"I"}))
    units = [only_one, COORD]
    assert route("FR", "I", units) == [Route("FR", "listing country FR")]
    assert route("FR", "I/II", units) == [Route("FR", "listing country FR")]
    turned_away = route("FR", "II", units)
    assert turned_away == [
        Route("COORD", "coordinating unit: unit FR for listing country FR does not take II cases")
    ]
    assert [r.unit for r in route("FR", None, units)] == ["COORD"]


def test_review_filter_admits_unmatched_cases() -> None:
    review = UnitRule("FR-REVIEW", frozenset({"FR"}), appendices=frozenset({"review"}))
    main = UnitRule("FR", frozenset({"FR"}), appendices=frozenset({"I", "II", "III"}))
    units = [main, review, COORD]
    assert [r.unit for r in route("FR", None, units)] == ["FR-REVIEW"]
    assert [r.unit for r in route("FR", "review", units)] == ["FR-REVIEW"]
    assert [r.unit for r in route("FR", "NC", units)] == ["FR-REVIEW"]
    assert [r.unit for r in route("FR", "III", units)] == ["FR"]


def test_no_coordinating_unit_fails_loudly() -> None:
    with pytest.raises(NoRoute):
        route(None, "I", [FR, CN])
    with pytest.raises(NoRoute):
        route("TW", "I", [FR, CN])
    with pytest.raises(NoRoute):
        route("FR", "II", [UnitRule("FR", frozenset({"FR"}), appendices=frozenset({"I"}))])
    with pytest.raises(NoRoute):
        route(None, None, [])


def test_no_duplicates_and_order_follows_the_rules() -> None:
    regional = UnitRule("ASEAN", frozenset({"VN", "TH"}), coordinating=True)
    vn = UnitRule("VN", frozenset({"VN"}))
    units = [vn, regional, vn, UnitRule("VN", frozenset({"VN", "LA"}))]
    routes = route("VN", "I", units)
    assert [r.unit for r in routes] == ["VN", "ASEAN"]
    assert route("VN", "I", list(reversed(units)))[0].unit == "VN"
    assert [r.unit for r in route("VN", "I", [regional, vn])] == ["ASEAN", "VN"]


def test_is_pure_and_deterministic() -> None:
    first = route("KE", "I", UNITS, reporter_country="FR")
    second = route("KE", "I", UNITS, reporter_country="FR")
    assert first == second == [Route("KE", "listing country KE")]


def test_country_code_case_is_forgiven() -> None:
    assert route("fr", "I", UNITS) == [Route("FR", "listing country FR")]


@pytest.mark.parametrize("appendix", ["IV", "A", "1", "I/X"])
def test_unknown_appendix_is_an_error(appendix: str) -> None:
    with pytest.raises(ValueError, match="appendix"):
        route("FR", appendix, UNITS)


def test_rules_from_rows() -> None:
    rows = [
        {"code": "NL", "name": "Netherlands", "kind": "national", "countries": "NL AW cw"},
        {"code": "COORD", "name": "Coordinating unit", "kind": "coordinating", "countries": ""},
        {"code": "X", "name": "x", "kind": "national", "countries": "DE", "appendices": "I II"},
    ]
    assert rules_from_rows(rows) == [
        UnitRule("NL", frozenset({"NL", "AW", "CW"})),
        UnitRule("COORD", frozenset(), coordinating=True),
        UnitRule("X", frozenset({"DE"}), appendices=frozenset({"I", "II"})),
    ]
    with pytest.raises(ValueError, match="kind"):
        rules_from_rows([{"code": "Y", "kind": "regional", "countries": ""}])
    with pytest.raises(ValueError, match="appendices"):
        rules_from_rows([{"code": "Y", "kind": "national", "countries": "", "appendices": "IV"}])
