"""`route` looks units up in an index remembered per rule list: it must answer exactly as a
pass over the list would, and follow the list when it changes."""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from matching import routing
from matching.routing import NoRoute, Route, Taxon, UnitRule, route, rules_from_rows

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


# --- remembered answers ------------------------------------------------------------------

_TAXA = [
    Taxon("Dalbergia nigra", "SPECIES", "Leguminosae", "Fabales"),
    Taxon("Paphiopedilum", "GENUS", "Orchidaceae", "Orchidales"),
    Taxon("Isurus oxyrinchus", "SPECIES", "Lamnidae", "Lamniformes", "Elasmobranchii"),
    Taxon("Panthera tigris altaica", "SUBSPECIES", "Felidae", "Carnivora", "Mammalia"),
    Taxon("Orchidaceae", "FAMILY", "Orchidaceae", "Orchidales"),
    Taxon("Panthera tigris", "SPECIES", "Felidae", "Carnivora", "Mammalia"),
]


def _filtered_units() -> list[UnitRule]:
    return [
        UnitRule("TH-FLORA", frozenset({"TH"}), taxa=frozenset({"Plantae"})),
        UnitRule("TH", frozenset({"TH"}), appendices=frozenset({"I", "II"})),
        UnitRule("GB", frozenset({"GB"}), appendices=frozenset({"I"}), reporter_cases=True),
        UnitRule("FR", frozenset({"FR", "GB"}), taxa=frozenset({"felidae"}), reporter_cases=True),
        UnitRule("COORD", frozenset(), coordinating=True, appendices=frozenset({"review"})),
    ]


def _fresh(
    country: str | None,
    appendix: str | None,
    units: list[UnitRule],
    reporter: str | None,
    signals: list[str],
    species: list[Taxon],
) -> list[Route] | str:
    """`route` with nothing remembered: the answer worked out afresh (or the error)."""
    routing._UNIT_INDEXES.clear()
    try:
        return route(
            country,
            appendix,
            list(units),
            reporter_country=reporter,
            signals=signals,
            species=species,
        )
    except (NoRoute, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def test_remembered_routes_are_the_routes_worked_out_afresh() -> None:
    rng = random.Random(3)
    units = _filtered_units()
    countries = ["TH", "th ", "GB", "FR", "KE", "", None]
    appendices = ["I", "II", "III", "I/II", "review", None, "", "NC", "IV"]
    reporters = ["GB", "gb", "FR", "TH", "", None]
    questions = []
    for _ in range(400):
        questions.append(
            (
                rng.choice(countries),
                rng.choice(appendices),
                rng.choice(reporters),
                rng.sample(["currency", "tld", "phone", "place"], rng.randint(0, 2)),
                rng.sample(_TAXA, rng.randint(0, 3)),
            )
        )
    expected = [_fresh(c, a, units, r, s, t) for c, a, r, s, t in questions]
    routing._UNIT_INDEXES.clear()
    for _ in range(2):  # the first pass fills the memo, the second answers from it
        for (country, appendix, reporter, signals, taxa), answer in zip(
            questions, expected, strict=True
        ):
            try:
                got: list[Route] | str = route(
                    country,
                    appendix,
                    units,
                    reporter_country=reporter,
                    signals=signals,
                    species=iter(taxa),
                )
            except (NoRoute, ValueError) as exc:
                got = f"{type(exc).__name__}: {exc}"
            assert got == answer, (country, appendix, reporter, signals, taxa)
    assert any(isinstance(a, str) and a.startswith("ValueError") for a in expected)
    assert any(isinstance(a, list) and len(a) > 1 for a in expected)


@dataclass(frozen=True)
class _Mention:
    """A species match: the taxonomy `route` reads, and fields it must not key on."""

    taxon: str
    rank: str
    family: str | None
    order: str | None
    class_: str | None
    term: str
    confidence: float


def test_matches_of_one_taxon_share_a_remembered_answer_and_others_do_not() -> None:
    units = [UnitRule("TH", frozenset({"TH"}), taxa=frozenset({"Felidae"})), COORD_RULE]
    tiger = _Mention("Panthera tigris", "SPECIES", "Felidae", "Carnivora", "Mammalia", "tiger", 1)
    skin = _Mention("Panthera tigris", "SPECIES", "Felidae", "Carnivora", "Mammalia", "skin", 0.6)
    other = _Mention("Panthera tigris", "SPECIES", None, "Carnivora", "Mammalia", "tiger", 1)
    assert route("TH", "I", units, species=[tiger]) == [Route("TH", "listing country TH")]
    assert route("TH", "I", units, species=[skin]) == [Route("TH", "listing country TH")]
    # One name the filter reads differs: not the same question.
    assert [r.unit for r in route("TH", "I", units, species=[other])] == ["COORD"]


def test_a_routing_error_is_raised_every_time() -> None:
    units = [UnitRule("FR", frozenset({"FR"}))]
    for _ in range(3):
        with pytest.raises(NoRoute):
            route("KE", "I", units)
        with pytest.raises(ValueError, match="unknown CITES appendix"):
            route("FR", "IV", units)


def test_an_edited_rule_list_gets_no_remembered_answer_of_its_old_rules() -> None:
    units = [UnitRule("TH", frozenset({"TH"}), appendices=frozenset({"I"})), COORD_RULE]
    assert [r.unit for r in route("TH", "I", units)] == ["TH"]
    units[0] = UnitRule("TH", frozenset({"TH"}), appendices=frozenset({"II"}))
    assert [r.unit for r in route("TH", "I", units)] == ["COORD"]
    units[0] = UnitRule("TH", frozenset({"TH"}), appendices=frozenset({"I"}))
    assert [r.unit for r in route("TH", "I", units)] == ["TH"]


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routing, "_ROUTES_KEPT", 8)
    units = [UnitRule("FR", frozenset({"FR"})), COORD_RULE]
    for number in range(50):
        route("FR", "I", units, signals=[f"signal {number}"])
    assert 0 < len(routing._unit_index(units).routes) <= 8


def test_a_returned_list_is_the_caller_s_own() -> None:
    units = [UnitRule("FR", frozenset({"FR"})), COORD_RULE]
    first = route("FR", "I", units)
    first.append(Route("XX", "edited by the caller"))
    assert route("FR", "I", units) == [Route("FR", "listing country FR")]


COORD_RULE = UnitRule("COORD", frozenset(), coordinating=True)
