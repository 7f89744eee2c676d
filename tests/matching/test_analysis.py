"""The single analysis path: priority, routing, and judging a report with its case."""

from __future__ import annotations

import pytest

from matching.analysis import analyze, joined_to_case, most_specific, priority_of
from matching.jurisdiction import Signal
from matching.listing import Listing
from matching.routing import Taxon, UnitRule

UNITS = [
    UnitRule("COORD", frozenset(), coordinating=True),
    UnitRule("FR", frozenset({"FR", "GF"})),
    UnitRule("KE", frozenset({"KE"})),
]


@pytest.mark.parametrize(
    ("appendix", "expected"),
    [
        ("I", ("critical", 1)),
        ("I/II", ("critical", 1)),
        ("II", ("high", 2)),
        ("III", ("normal", 3)),
        (None, ("review", 4)),
    ],
)
def test_priority_follows_the_highest_appendix(appendix, expected):
    assert priority_of(appendix) == expected


def test_a_listing_is_analysed_and_routed_with_reasons():
    result = analyze(Listing(text="Pangolin scales, 1 kg", seller_location="Nairobi, Kenya"), UNITS)
    assert result.flagged and result.priority == "critical"
    assert result.jurisdiction.country == "KE"
    assert result.units == ["KE"]
    assert "seller_location" in result.routes[0].reason
    as_dict = result.to_dict()
    assert as_dict["country"] == "KE" and as_dict["units"] == ["KE"]
    assert as_dict["lexicon_version"] == result.lexicon_version


def test_nothing_known_goes_to_review_and_the_coordinating_unit():
    result = analyze(Listing(text="wooden chair"), UNITS)
    assert (result.flagged, result.priority, result.units) == (False, "review", ["COORD"])


def test_joining_a_case_weighs_the_case_signals_with_the_report():
    report = analyze(Listing(text="ivory", url="https://www.ebay.fr/itm/123456789012"), UNITS)
    assert report.units == ["FR"]
    case_signals = [Signal("seller_location", "Mombasa, Kenya", "KE", 3.0)]
    joined = joined_to_case(report, case_signals, "II", UNITS)
    assert joined.jurisdiction.country == "KE" and joined.units == ["KE"]
    assert {s.country for s in joined.jurisdiction.signals} == {"KE", "FR"}
    assert joined.species == report.species and joined.priority == report.priority


def test_a_disguised_trade_term_still_ranks_by_appendix_but_a_vague_one_is_reviewed():
    disguised = analyze(Listing(text="1v0ry bangles wholesale, msg for pics"), UNITS)
    assert disguised.flagged and disguised.priority == "critical"
    assert disguised.species[0].note  # says how the word was read
    vague = analyze(Listing(text="Dried shark fins, mixed sizes, 10kg"), UNITS)
    assert vague.flagged and vague.priority == "review"


def test_an_olx_pakistan_listing_with_a_pakistani_phone_shows_both_signals():
    units = [*UNITS, UnitRule("PK", frozenset({"PK"}))]
    result = analyze(
        Listing(
            text="Parrot chicks for sale, call +92 300 1234567",
            url="https://www.olx.com.pk/item/african-grey-iid-1234567",
        ),
        units,
    )
    assert result.jurisdiction.country == "PK" and result.units == ["PK"]
    signals = {(s.signal, s.country) for s in result.jurisdiction.signals}
    assert {("url_cctld", "PK"), ("phone", "PK")} <= signals
    assert "phone" in result.routes[0].reason and "url_cctld" in result.routes[0].reason


def test_routing_reads_the_sure_species_and_the_reporters_country():
    units = [
        *UNITS,
        UnitRule("KE-FLORA", frozenset({"KE"}), taxa=frozenset({"Plantae"})),
        UnitRule("GB", frozenset({"GB"}), reporter_cases=True),
    ]
    orchids = Listing(
        text="Paphiopedilum orchids", seller_location="Nairobi, Kenya", reporter_country="GB"
    )
    assert analyze(orchids, units).units == ["KE", "KE-FLORA", "GB"]
    scales = Listing(text="Pangolin scales, 1 kg", seller_location="Nairobi, Kenya")
    assert analyze(scales, units).units == ["KE"]
    # A bare "tusk" (below the priority bar) is no species for a taxa filter.
    elephants = [UNITS[0], UnitRule("KE", frozenset({"KE"}), taxa=frozenset({"Elephantidae"}))]
    tusk = analyze(Listing(text="old tusk", seller_location="Nairobi, Kenya"), elephants)
    assert [m.taxon for m in tusk.species] == ["Elephantidae"]
    assert tusk.units == ["COORD"]
    ivory = analyze(Listing(text="elephant ivory", seller_location="Nairobi, Kenya"), elephants)
    assert ivory.units == ["KE"]


def test_joining_a_case_reads_the_species_of_the_whole_case():
    flora = [UNITS[0], UnitRule("KE", frozenset({"KE"}), taxa=frozenset({"Orchidaceae"}))]
    alone = analyze(Listing(text="still available", seller_location="Nairobi, Kenya"), flora)
    assert alone.units == ["COORD"]
    orchid = Taxon("Paphiopedilum", "GENUS", "Orchidaceae", "Orchidales")
    joined = joined_to_case(alone, [], "I", flora, case_species=[orchid])
    assert joined.units == ["KE"]
    assert joined_to_case(alone, [], "I", flora, "KE").units == ["COORD"]


def test_a_species_outranks_the_product_term_of_its_family():
    """ "Royal python skins": Python regius (II); the family Pythonidae ("I/II") that the
    product term names adds nothing, so the offer is high, not critical."""
    result = analyze(
        Listing(title="Royal python skins x10", text="Python skins for leather work"), UNITS
    )
    assert {m.taxon for m in result.species} >= {"Python regius", "Pythonidae"}
    assert (result.appendix, result.priority) == ("II", "high")


def test_a_higher_taxon_named_alone_is_ranked_by_the_appendix_of_its_whole_listing():
    """Pythonidae spp. are in Appendix II but for Python molurus molurus (I): skins of "a
    python" are high, as CITES lists pythons; the match still says "I/II", as CITES writes."""
    result = analyze(Listing(text="Python skins for leather work, 10 pieces"), UNITS)
    assert [(m.taxon, m.appendix) for m in result.species] == [("Pythonidae", "I/II")]
    assert (result.appendix, result.priority) == ("II", "high")


def test_a_split_listing_with_no_whole_counts_by_its_most_protective_part():
    """Elephant ivory: both elephants are in Appendix I but for four African populations;
    the lexicon gives Elephantidae no whole listing, so bare ivory stays critical."""
    result = analyze(Listing(text="Raw ivory tusk pieces, 2 kg"), UNITS)
    assert {m.appendix for m in result.species} == {"I/II"}
    assert (result.appendix, result.priority) == ("I", "critical")


def test_a_named_appendix_i_member_outranks_its_higher_taxon():
    result = analyze(Listing(text="Hyacinth macaw, hand-reared parrot, ready now"), UNITS)
    assert "Psittaciformes" not in {m.taxon for m in most_specific(result.species)}
    assert (result.appendix, result.priority) == ("I", "critical")


@pytest.mark.parametrize(
    ("text", "taxon", "priority"),
    [
        ("Saker falcon for sale, passage female, hood trained", "Falco cherrug", "high"),
        ("للبيع صقر حر فرخ هذا الموسم", "Falco cherrug", "high"),
        ("Peregrine tiercel, parent reared 2024", "Falco peregrinus", "critical"),
        ("Кречет, молодая самка, белая морфа", "Falco rusticolus", "critical"),
        # A hybrid with an Appendix I parent counts as Appendix I, whatever its other parent.
        ("Gyr x saker tiercel, 2025 bird, imprint", "Falconidae", "critical"),
    ],
)
def test_falcons_rank_by_their_own_species(text, taxon, priority):
    """Most falcons offered for falconry are sakers (Appendix II); gyrs and peregrines are
    in Appendix I. Ranking every falcon as the family's most protective part would bury
    the Appendix I birds among the sakers."""
    result = analyze(Listing(text=text), UNITS)
    assert [m.taxon for m in most_specific(result.species)] == [taxon]
    assert result.priority == priority
