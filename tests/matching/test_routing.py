"""Routing: the country's unit gets the case, the coordinating unit the rest; never silence."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from matching.routing import NoRoute, Route, Taxon, UnitRule, kingdom_of, route, rules_from_rows
from matching.species import default_matcher

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


# Taxa filters and the reporter's country.

DALBERGIA_NIGRA = Taxon("Dalbergia nigra", "SPECIES", "Leguminosae", "Fabales")
TIGER_SUBSPECIES = Taxon(
    "Panthera tigris altaica", "SUBSPECIES", "Felidae", "Carnivora", "Mammalia"
)
PAPHIOPEDILUM = Taxon("Paphiopedilum", "GENUS", "Orchidaceae", "Orchidales")
MAKO = Taxon("Isurus oxyrinchus", "SPECIES", "Lamnidae", "Lamniformes", "Elasmobranchii")
ORCHIDS = Taxon("Orchidaceae", "FAMILY", "Orchidaceae", "Orchidales")


def _only(*taxa: str) -> UnitRule:
    return UnitRule("TH-FLORA", frozenset({"TH"}), taxa=frozenset(taxa))


@pytest.mark.parametrize(
    ("entry", "species"),
    [
        ("Dalbergia nigra", DALBERGIA_NIGRA),  # the species itself
        ("dalbergia", DALBERGIA_NIGRA),  # its genus, read from the binomial, any case
        ("LEGUMINOSAE", DALBERGIA_NIGRA),  # family
        ("Fabales", DALBERGIA_NIGRA),  # order
        ("Plantae", DALBERGIA_NIGRA),  # kingdom, by the botanical family name
        ("Plantae", PAPHIOPEDILUM),  # "-aceae"
        ("Panthera tigris", TIGER_SUBSPECIES),  # the species of a subspecies
        ("Panthera", TIGER_SUBSPECIES),
        ("Mammalia", TIGER_SUBSPECIES),  # class
        ("Animalia", TIGER_SUBSPECIES),  # kingdom, by the zoological family name "-idae"
        ("Elasmobranchii", MAKO),
        ("Orchidaceae", PAPHIOPEDILUM),  # a genus under a filtered family
    ],
)
def test_taxa_filter_admits_at_any_rank(entry: str, species: Taxon) -> None:
    units = [_only(entry), COORD]
    assert route("TH", "II", units, species=[species]) == [Route("TH-FLORA", "listing country TH")]


@pytest.mark.parametrize(
    ("entry", "species"),
    [
        ("Elasmobranchii", DALBERGIA_NIGRA),
        ("Animalia", DALBERGIA_NIGRA),
        ("Plantae", MAKO),
        ("Dalbergia nigra", Taxon("Dalbergia", "GENUS", "Leguminosae", "Fabales")),  # no species
        ("Paphiopedilum", ORCHIDS),  # a family mention does not say which genus
        ("Panthera tigris altaica", Taxon("Panthera tigris", "SPECIES", "Felidae")),
        ("Dalb", DALBERGIA_NIGRA),  # whole names only
    ],
)
def test_taxa_filter_turns_away_other_taxa(entry: str, species: Taxon) -> None:
    units = [_only(entry), COORD]
    assert [r.unit for r in route("TH", "II", units, species=[species])] == ["COORD"]


def test_any_species_of_the_case_is_enough() -> None:
    units = [_only("Orchidaceae"), COORD]
    routes = route("TH", "I", units, species=[MAKO, PAPHIOPEDILUM])
    assert [r.unit for r in routes] == ["TH-FLORA"]


def test_species_matches_from_the_matcher_are_read_too() -> None:
    [match] = [m for m in default_matcher().find("selling a live mako shark") if m.class_]
    units = [UnitRule("MARINE", frozenset({"TH"}), taxa=frozenset({"elasmobranchii"})), COORD]
    assert [r.unit for r in route("TH", "II", units, species=[match])] == ["MARINE"]


def test_taxa_filter_reason_names_the_filter_and_the_case_taxa() -> None:
    units = [UnitRule("MARINE", frozenset({"TH"}), taxa=frozenset({"Elasmobranchii"})), COORD]
    assert route("TH", "II", units, species=[DALBERGIA_NIGRA, PAPHIOPEDILUM]) == [
        Route(
            "COORD",
            "coordinating unit: unit MARINE for listing country TH takes only Elasmobranchii, "
            "not Dalbergia nigra, Paphiopedilum",
        )
    ]


def test_case_without_species_is_not_admitted_by_a_taxa_filter() -> None:
    units = [_only("Plantae"), COORD]
    assert route("TH", None, units) == [
        Route(
            "COORD",
            "coordinating unit: unit TH-FLORA for listing country TH takes only Plantae "
            "and no species was recognised",
        )
    ]
    # An unfiltered unit of the same country still takes it, and only it does.
    general = UnitRule("TH", frozenset({"TH"}))
    assert route("TH", None, [general, *units]) == [Route("TH", "listing country TH")]


def test_appendix_and_taxa_filters_both_apply() -> None:
    flora_one = UnitRule(
        "TH-FLORA", frozenset({"TH"}), appendices=frozenset({"I"}), taxa=frozenset({"Plantae"})
    )
    units = [flora_one, COORD]
    assert [r.unit for r in route("TH", "I", units, species=[DALBERGIA_NIGRA])] == ["TH-FLORA"]
    assert route("TH", "II", units, species=[DALBERGIA_NIGRA]) == [
        Route(
            "COORD",
            "coordinating unit: unit TH-FLORA for listing country TH does not take II cases",
        )
    ]
    assert [r.unit for r in route("TH", "I", units, species=[MAKO])] == ["COORD"]


def test_refusals_of_several_units_are_each_given() -> None:
    units = [
        UnitRule("TH-FLORA", frozenset({"TH"}), taxa=frozenset({"Plantae"})),
        UnitRule("TH-ONE", frozenset({"TH"}), appendices=frozenset({"I"})),
        UnitRule("TH-MARINE", frozenset({"TH"}), appendices=frozenset({"I"})),
        COORD,
    ]
    [fallback] = route("TH", "II", units, species=[MAKO])
    assert fallback.reason == (
        "coordinating unit: unit TH-FLORA for listing country TH takes only Plantae, not "
        "Isurus oxyrinchus; unit TH-ONE, TH-MARINE for listing country TH does not take II cases"
    )


GB = UnitRule("GB", frozenset({"GB", "GG", "JE"}), reporter_cases=True)
TH = UnitRule("TH", frozenset({"TH"}))
REPORTED = [TH, GB, FR, COORD]  # FR covers its reporters' cases only when it opts in


def test_reporter_country_unit_gets_a_second_copy() -> None:
    assert route("TH", "I", REPORTED, reporter_country="gb") == [
        Route("TH", "listing country TH"),
        Route("GB", "reporter's country GB"),
    ]
    # A territory the unit covers counts as its country.
    assert [r.unit for r in route("TH", "I", REPORTED, reporter_country="JE")] == ["TH", "GB"]


def test_reporter_country_unit_that_did_not_opt_in_gets_nothing() -> None:
    assert route("TH", "I", REPORTED, reporter_country="FR") == [Route("TH", "listing country TH")]


def test_reporter_country_keeps_the_coordinating_fallback() -> None:
    assert route(None, "I", REPORTED, reporter_country="GB") == [
        Route("COORD", "coordinating unit: listing country unknown"),
        Route("GB", "reporter's country GB"),
    ]
    assert [r.unit for r in route("TW", "II", REPORTED, reporter_country="GB")] == ["COORD", "GB"]


def test_reporter_in_the_listing_country_means_one_route() -> None:
    assert route("GB", "I", REPORTED, reporter_country="GB") == [Route("GB", "listing country GB")]


def test_reporter_country_unit_filters_apply() -> None:
    flora = UnitRule(
        "GB", frozenset({"GB"}), appendices=frozenset({"I", "II"}), taxa=frozenset({"Plantae"}),
        reporter_cases=True,
    )  # fmt: skip
    units = [TH, flora, COORD]
    with_orchid = route("TH", "II", units, reporter_country="GB", species=[PAPHIOPEDILUM])
    assert [r.unit for r in with_orchid] == ["TH", "GB"]
    assert [r.unit for r in route("TH", "II", units, reporter_country="GB", species=[MAKO])] == [
        "TH"
    ]
    assert [r.unit for r in route("TH", "III", units, reporter_country="GB", species=[])] == ["TH"]
    assert [r.unit for r in route("TH", None, units, reporter_country="GB")] == ["TH"]


def test_a_reporter_unit_does_not_stand_in_for_a_missing_coordinating_unit() -> None:
    with pytest.raises(NoRoute):
        route(None, "I", [TH, GB], reporter_country="GB")


def test_rules_from_rows_reads_taxa_and_reporter_cases() -> None:
    rows = [
        {"code": "GB", "kind": "national", "countries": "GB", "taxa": "Plantae Elasmobranchii",
         "reporter_cases": "true"},
        {"code": "DE", "kind": "national", "countries": "DE",
         "taxa": "Dalbergia nigra, Orchidaceae", "reporter_cases": "no"},
    ]  # fmt: skip
    assert rules_from_rows(rows) == [
        UnitRule(
            "GB", frozenset({"GB"}), taxa=frozenset({"Plantae", "Elasmobranchii"}),
            reporter_cases=True,
        ),
        UnitRule("DE", frozenset({"DE"}), taxa=frozenset({"Dalbergia nigra", "Orchidaceae"})),
    ]  # fmt: skip


def test_kingdom_follows_the_codes_of_nomenclature() -> None:
    assert kingdom_of(DALBERGIA_NIGRA) == "Plantae"  # a conserved family name
    assert kingdom_of(ORCHIDS) == "Plantae"
    assert kingdom_of(Taxon("Aloe", "GENUS", None, "Liliales")) == "Plantae"
    assert kingdom_of(MAKO) == "Animalia"
    assert kingdom_of(Taxon("Anthozoa", "CLASS", None, None, "Anthozoa")) is None  # unknown
