"""Checklist import in lexicon form: parsing, the precision guard, the merge with curated data."""

from __future__ import annotations

from typing import Any

import pytest

from matching import checklist
from matching.checklist import (
    CHECKLIST,
    COMMON_NAMES,
    combine,
    detect_kind,
    fit_appendix,
    listed_appendix,
    merge,
    parse_checklist,
    parse_common_names,
    parse_synonyms,
    split_names,
)
from matching.species import SpeciesMatcher
from matching.text import fold

MATCHER_APPENDICES = {"I", "II", "III", "I/II", "I/III", "II/III", "I/II/III"}


def row(full_name: str, rank: str = "SPECIES", listing: str = "II", **extra: str) -> dict[str, str]:
    """One checklist row with the columns the import reads."""
    genus = full_name.split(" ")[0]
    return {
        "TaxonId": extra.pop("TaxonId", "1"),
        "Kingdom": "Animalia",
        "Class": extra.pop("Class", "Aves"),
        "Order": extra.pop("Order", "Psittaciformes"),
        "Family": extra.pop("Family", "Psittacidae"),
        "Genus": genus,
        "FullName": full_name,
        "RankName": rank,
        "CurrentListing": listing,
        "#AnnotationSymbol": extra.pop("annotation", ""),
        "SynonymsWithAuthors": extra.pop("synonyms", ""),
        "EnglishNames": extra.pop("en", ""),
        "SpanishNames": extra.pop("es", ""),
        "FrenchNames": extra.pop("fr", ""),
        **extra,
    }


def taxon(name: str, rank: str = "SPECIES", appendix: str = "II", **extra: Any) -> dict[str, Any]:
    """An imported taxon entry as `parse_checklist` makes it."""
    return {
        "taxon": name,
        "rank": rank,
        "family": "Felidae",
        "order": "Carnivora",
        "class": "Mammalia",
        "appendix": appendix,
        "source": "checklist:test.csv",
        "scientific": extra.pop("scientific", [name]),
        "names": extra.pop("names", {}),
        **extra,
    }


CURATED: dict[str, Any] = {
    "version": "curated-test",
    "taxa": [
        {
            "taxon": "Panthera tigris",
            "rank": "SPECIES",
            "family": "Felidae",
            "order": "Carnivora",
            "class": "Mammalia",
            "appendix": "I",
            "source": "curated",
            "scientific": ["Panthera tigris"],
            "names": {"en": ["tiger"], "de": ["Tiger"]},
            "trade_terms": {"en": ["tiger bone", "tiger skin"]},
            "code_words": {"en": ["big cat wine"]},
            "names_omitted": {"vi": "folds onto a common word"},
        },
        {
            "taxon": "Elephantidae",
            "rank": "FAMILY",
            "family": "Elephantidae",
            "order": "Proboscidea",
            "class": "Mammalia",
            "appendix": "I/II",
            "source": "curated",
            "scientific": ["Elephantidae"],
            "names": {"en": ["elephant"]},
            "trade_terms": {"en": ["ivory"]},
        },
    ],
    "not_listed": [
        {
            "taxon": "Nymphicus hollandicus",
            "rank": "SPECIES",
            "suppresses": [],
            "scientific": ["Nymphicus hollandicus"],
            "names": {"en": ["cockatiel"]},
        }
    ],
    "negative_contexts": [
        {
            "taxa": ["Elephantidae"],
            "phrases": {"en": ["ivory cream", "ivory dress", "ivory colour"]},
        }
    ],
}


def merged(*taxa: dict[str, Any], not_listed: list[dict[str, Any]] | None = None) -> Any:
    imported = {"version": "imported-test", "taxa": list(taxa), "not_listed": not_listed or []}
    return merge(CURATED, imported, appendices=MATCHER_APPENDICES)


def entry(result: Any, name: str) -> dict[str, Any]:
    return next(t for t in result.lexicon["taxa"] if t["taxon"] == name)


def all_names(item: dict[str, Any]) -> list[str]:
    return [name for values in item.get("names", {}).values() for name in values]


# -- parsing ------------------------------------------------------------------------------


def test_detect_kind_by_header() -> None:
    header = ["TaxonId", *checklist.CHECKLIST_COLUMNS, "All_DistributionISOCodes"]
    assert detect_kind(header) == CHECKLIST
    assert detect_kind(["\ufeffscientific_name", "rank", "language", "common_name"]) == COMMON_NAMES
    with pytest.raises(ValueError, match="not a CITES checklist export"):
        detect_kind(["id", "text"])


@pytest.mark.parametrize(
    ("listing", "expected"),
    [
        ("II", "II"),
        ("I/II", "I/II"),
        ("I/NC", "I/NC"),
        (" I / II ", "I/II"),
        ("NC", None),
        ("", None),
    ],
)
def test_listed_appendix(listing: str, expected: str | None) -> None:
    assert listed_appendix(listing) == expected


def test_unknown_listing_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown listing"):
        listed_appendix("IV")


@pytest.mark.parametrize(
    ("synonyms", "expected"),
    [
        ("Ornismya abeillei Lesson & DeLattre, 1839", ["Ornismya abeillei"]),
        (
            "Bufo osgoodi Loveridge, 1932, Altiphrynoides osgoodi Frost, Grant, Faivovich, "
            "Bain, Haas, Haddad, de Sá, Channing, 2006, Nectophrynoides osgoodi (Loveridge, 1932)",
            ["Bufo osgoodi", "Altiphrynoides osgoodi", "Nectophrynoides osgoodi"],
        ),
        (
            "Acipenser rostratus Fischer in Fitzinger & Heckel, 1836",
            ["Acipenser rostratus"],
        ),
        (
            "Coelogyne cymbidoiddes sensu Ridl. non Rhb.f., Pleione tomentosa (Lindl.) Kuntze",
            ["Coelogyne cymbidoiddes", "Pleione tomentosa"],
        ),
        ("Cercopithecus diana roloway (Linnaeus, 1758)", ["Cercopithecus diana roloway"]),
        (
            "Enygrus carinatus var. superciliosus Kinghorn, 1928",
            ["Enygrus carinatus var. superciliosus"],
        ),
        ("Macroplectrum didieri Baill. ex Finet", ["Macroplectrum didieri"]),
        ("Anathallis gert-hatschbachii (Hoehne) Luer", ["Anathallis gert-hatschbachii"]),
        ("Antipathes undulata van Pesch, 1914", ["Antipathes undulata"]),
        ("", []),
    ],
)
def test_synonyms_without_their_authors(synonyms: str, expected: list[str]) -> None:
    assert parse_synonyms(synonyms) == expected


def test_names_are_split_and_cleaned() -> None:
    assert split_names("Hawks, Eagles") == ["Hawks", "Eagles"]
    assert split_names("Amethystine (Rock) Python, 2-hoorn kameleon, Zwart-/Roodkeellijster") == [
        "Amethystine Python"
    ]
    assert split_names("Tiger, Tiger, ") == ["Tiger"]


def test_parse_checklist_rows() -> None:
    rows = [
        row(
            "Abeillia abeillei",
            synonyms="Ornismya abeillei Lesson & DeLattre, 1839",
            en="Emerald-chinned Hummingbird",
            es="Colibrí barbiesmeralda",
            fr="Colibri d'Abeillé",
            TaxonId="3734",
        ),
        row("Abeillia", rank="GENUS", synonyms="Frigidorchis Z.J.Liu & S.C.Chen"),
        row("Trochilidae", rank="FAMILY", Family="Trochilidae", en="Hummingbirds"),
        row("Struthio camelus", listing="I/NC", en="Ostrich"),
        row("Agapornis roseicollis", listing="NC", synonyms="Psittacus roseicollis Vieillot"),
        row("Aloe vera", listing="", Class="", synonyms="Aloe barbadensis Mill."),
        row("Oddus taxon", rank="KINGDOM"),
        row("Abeillia abeillei"),
    ]
    result = parse_checklist(rows, "checklist:test.csv")
    assert [t["taxon"] for t in result.taxa] == [
        "Abeillia abeillei",
        "Abeillia",
        "Trochilidae",
        "Struthio camelus",
    ]
    species = result.taxa[0]
    assert species == {
        "taxon": "Abeillia abeillei",
        "rank": "SPECIES",
        "family": "Psittacidae",
        "order": "Psittaciformes",
        "class": "Aves",
        "appendix": "II",
        "source": "checklist:test.csv",
        "taxon_id": "3734",
        "scientific": ["Abeillia abeillei", "Ornismya abeillei"],
        "names": {
            "en": ["Emerald-chinned Hummingbird"],
            "es": ["Colibrí barbiesmeralda"],
            "fr": ["Colibri d'Abeillé"],
        },
    }
    assert result.taxa[1]["scientific"] == ["Abeillia"]  # no uninomial synonyms for genera
    assert result.taxa[2]["family"] == "Trochilidae"
    assert result.taxa[3]["appendix"] == "I/NC"  # as written
    assert [e["taxon"] for e in result.not_listed] == ["Agapornis roseicollis", "Aloe vera"]
    assert result.not_listed[1]["scientific"] == ["Aloe vera", "Aloe barbadensis"]
    assert result.counts["rows"] == 8
    assert result.counts["taxa"] == 4 and result.counts["not_listed"] == 2
    assert result.counts["unreadable"] == 1 and result.counts["duplicate"] == 1
    assert result.counts["rank_species"] == 2 and result.counts["synonyms"] == 1


def test_annotation_symbol_is_kept() -> None:
    result = parse_checklist([row("Aquilaria malaccensis", annotation="#14")], "checklist:x")
    assert result.taxa[0]["annotation"] == "#14"


def test_common_names_join_on_name_and_rank() -> None:
    taxa = parse_checklist(
        [row("Panthera tigris", listing="I", en="Tiger"), row("Felidae", rank="FAMILY")],
        "checklist:x",
    ).taxa
    names = parse_common_names(
        [
            {"scientific_name": "Panthera tigris", "rank": "SPECIES", "language": "de",
             "common_name": "Tiger"},
            {"scientific_name": "Panthera tigris", "rank": "SPECIES", "language": "en",
             "common_name": "tiger, Bengal Tiger"},
            {"scientific_name": "Felidae", "rank": "FAMILY", "language": "en",
             "common_name": "Cats, Big Cats"},
            {"scientific_name": "Felidae", "rank": "GENUS", "language": "en",
             "common_name": "Wrong rank"},
            {"scientific_name": "Mammuthus primigenius", "rank": "SPECIES", "language": "en",
             "common_name": "Woolly mammoth"},
            {"scientific_name": "", "rank": "SPECIES", "language": "en", "common_name": "x"},
        ]
    )  # fmt: skip
    assert names.counts["rows"] == 6 and names.counts["unreadable"] == 1
    lexicon, counts = combine(taxa, names.names, "imported-x")
    tiger = lexicon["taxa"][0]
    assert tiger["names"] == {"en": ["Tiger", "Bengal Tiger"], "de": ["Tiger"]}
    assert lexicon["taxa"][1]["names"] == {"en": ["Cats", "Big Cats"]}
    assert counts["taxa_skipped"] == 2 and counts["names_skipped"] == 2
    assert counts["names_joined"] == 4
    assert lexicon["version"] == "imported-x"
    assert taxa[0]["names"] == {"en": ["Tiger"]}  # the parsed taxa are not changed


# -- the precision guard --------------------------------------------------------------------


def test_single_words_need_length_and_more_than_one_language() -> None:
    result = merged(
        taxon(
            "Falco subbuteo",
            names={"en": ["Hobby", "Eurasian Hobby"], "es": ["Alcotán"]},
        ),
        taxon("Leopardus pardalis", appendix="I", names={"en": ["Ocelot"], "fr": ["Ocelot"]}),
        taxon(
            "Blaustirnus amazona",
            names={"de": ["Blaustirnamazone", "Kurzwort"], "sv": ["Struts"]},
        ),
    )
    assert all_names(entry(result, "Falco subbuteo")) == ["Eurasian Hobby"]
    assert all_names(entry(result, "Leopardus pardalis")) == ["Ocelot", "Ocelot"]
    assert all_names(entry(result, "Blaustirnus amazona")) == ["Blaustirnamazone"]
    assert result.counts["rejected_short_word"] == 1  # Hobby
    assert result.counts["rejected_one_language_word"] == 3  # Alcotán, Kurzwort, Struts


def test_group_generic_and_genus_words_are_dropped() -> None:
    result = merged(
        taxon("Accipitridae", rank="FAMILY", names={"en": ["Hawks", "Hawks and Eagles"]}),
        taxon("Python", rank="GENUS", names={"en": ["Pythons"]}),
        taxon("Python regius", names={"en": ["Python", "Ball Python"], "fr": ["Python"]}),
        taxon("Python molurus", names={"en": ["Indian Python"]}),
        taxon("Python bivittatus", names={"en": ["Burmese Python"]}),
        taxon("Varanus niloticus", names={"en": ["Monitore"]}),
        taxon("Varanus salvator", names={"en": ["Water Monitore"]}),
        taxon("Varanus exanthematicus", names={"en": ["Savannah Monitore"]}),
    )
    assert all_names(entry(result, "Accipitridae")) == ["Hawks and Eagles"]
    assert all_names(entry(result, "Python regius")) == ["Ball Python"]
    assert all_names(entry(result, "Varanus niloticus")) == []  # a word of 2 others' names
    assert result.counts["rejected_group_word"] == 1
    assert result.counts["rejected_genus_name"] == 2
    assert result.counts["rejected_generic_word"] == 1


def test_genus_names_alone_need_eight_letters() -> None:
    result = merged(
        taxon("Ara", rank="GENUS", appendix="I/II"),
        taxon("Quechua", rank="GENUS"),
        taxon("Dendrobium", rank="GENUS"),
        taxon("Ara macao", appendix="I"),
        taxon("Orchidaceae", rank="FAMILY"),
        taxon("Primates", rank="ORDER"),
    )
    assert entry(result, "Ara")["scientific"] == ["Ara sp", "Ara spp"]
    assert entry(result, "Quechua")["scientific"] == ["Quechua sp", "Quechua spp"]
    assert entry(result, "Dendrobium")["scientific"] == ["Dendrobium"]
    assert entry(result, "Ara macao")["scientific"] == ["Ara macao"]
    assert entry(result, "Orchidaceae")["scientific"] == ["Orchidaceae"]
    assert entry(result, "Primates")["scientific"] == []


def test_common_words_everyday_phrases_and_colours_are_dropped() -> None:
    result = merged(
        taxon(
            "Panthera onca",
            appendix="I",
            names={"en": ["Jaguar", "Jaguars"], "fr": ["Jaguar"], "es": ["Yaguareté"]},
        ),
        taxon(
            "Guaiacum officinale",
            names={"en": ["Tree of Life", "Lignum vitae"], "es": ["Palo santo"]},
        ),
        taxon("Corallium rubrum", appendix="III", names={"en": ["Pink coral"]}),
        taxon("Colorus albus", names={"en": ["Colour"], "fr": ["Colour"]}),
    )
    assert all_names(entry(result, "Panthera onca")) == []
    assert all_names(entry(result, "Guaiacum officinale")) == ["Lignum vitae"]
    assert all_names(entry(result, "Corallium rubrum")) == []
    assert all_names(entry(result, "Colorus albus")) == []  # a word of a negative phrase
    assert result.counts["rejected_negative_word"] == 2


def test_unspaced_scripts_need_three_characters() -> None:
    result = merged(taxon("Ailuropoda melanoleuca", appendix="I", names={"zh": ["熊猫", "大熊猫"]}))
    assert all_names(entry(result, "Ailuropoda melanoleuca")) == ["大熊猫"]


def test_partly_listed_taxa_keep_scientific_names_only() -> None:
    result = merged(
        taxon("Vulpes vulpes", appendix="III/NC", names={"en": ["Red Fox", "Renard roux"]})
    )
    fox = entry(result, "Vulpes vulpes")
    assert fox["appendix"] == "III" and fox["scientific"] == ["Vulpes vulpes"]
    assert "names" not in fox
    assert result.counts["rejected_partly_listed"] == 2 and result.counts["appendix_fitted"] == 1


def test_not_listed_taxa_of_the_import_cancel_their_names() -> None:
    aloe_vera = {
        "taxon": "Aloe vera",
        "rank": "SPECIES",
        "scientific": ["Aloe vera", "Aloe barbadensis", "Aloe succotrina"],
        "suppresses": [],
        "source": "checklist:test.csv",
    }
    result = merged(
        taxon("Aloe succotrina", scientific=["Aloe succotrina", "Aloe vera", "Aloe soccotrina"]),
        not_listed=[aloe_vera],
    )
    assert entry(result, "Aloe succotrina")["scientific"] == ["Aloe succotrina", "Aloe soccotrina"]
    added = result.lexicon["not_listed"][-1]
    assert added["taxon"] == "Aloe vera"
    assert added["scientific"] == ["Aloe vera", "Aloe barbadensis"]  # a listed name stays listed
    matcher = SpeciesMatcher(result.lexicon, "test")
    assert [m.taxon for m in matcher.find("Aloe vera gel, 200 ml")] == []
    assert [m.taxon for m in matcher.find("Aloe succotrina seeds")] == ["Aloe succotrina"]


# -- the merge ---------------------------------------------------------------------------------


def test_curated_entries_keep_their_terms_and_take_the_imported_listing() -> None:
    result = merged(
        taxon(
            "Panthera tigris",
            appendix="I",
            annotation="#1",
            names={"en": ["Tiger", "Bengal Tiger"], "vi": ["Cọp"]},
            scientific=["Panthera tigris", "Tigris regalis"],
        ),
        taxon("Loxodonta africana", appendix="I/II", names={"en": ["Ivory", "African Elephant"]}),
        taxon("Nymphicus hollandicus", names={"en": ["Cockatiel parrot"]}),
    )
    tiger = entry(result, "Panthera tigris")
    assert tiger["names"] == CURATED["taxa"][0]["names"]
    assert tiger["trade_terms"] == CURATED["taxa"][0]["trade_terms"]
    assert tiger["code_words"] == CURATED["taxa"][0]["code_words"]
    assert tiger["scientific"] == ["Panthera tigris", "Tigris regalis"]  # synonyms join
    assert tiger["annotation"] == "#1" and tiger["listing_source"] == "checklist:test.csv"
    elephant = entry(result, "Loxodonta africana")
    assert all_names(elephant) == ["African Elephant"]  # "ivory" stays the curated term
    assert not any(t["taxon"] == "Nymphicus hollandicus" for t in result.lexicon["taxa"])
    assert result.counts["excluded_by_curated"] == 1
    assert result.lexicon["negative_contexts"] == CURATED["negative_contexts"]
    assert result.lexicon["not_listed"] == CURATED["not_listed"]
    assert result.lexicon["version"] == "curated-test"
    assert CURATED["taxa"][0]["appendix"] == "I"  # the curated lexicon itself is not changed


def test_imported_listing_replaces_the_curated_one() -> None:
    result = merged(taxon("Elephantidae", rank="FAMILY", appendix="II"))
    family = entry(result, "Elephantidae")
    assert family["appendix"] == "II" and family["trade_terms"] == {"en": ["ivory"]}
    assert result.counts["listing_replaced"] == 1


def test_a_species_name_listed_under_a_curated_grouping_goes_to_the_species() -> None:
    curated = {
        **CURATED,
        "taxa": [
            *CURATED["taxa"],
            {
                "taxon": "Ariocarpus",
                "rank": "GENUS",
                "family": "Cactaceae",
                "order": "Caryophyllales",
                "class": None,
                "appendix": "I",
                "scientific": ["Ariocarpus", "Ariocarpus kotschoubeyanus"],
                "names": {"en": ["living rock cactus"]},
            },
        ],
    }
    imported = {"taxa": [taxon("Ariocarpus kotschoubeyanus", appendix="I", family="Cactaceae")]}
    result = merge(curated, imported, appendices=MATCHER_APPENDICES)
    assert entry(result, "Ariocarpus")["scientific"] == ["Ariocarpus"]
    assert entry(result, "Ariocarpus kotschoubeyanus")["scientific"] == [
        "Ariocarpus kotschoubeyanus"
    ]
    assert result.counts["curated_scientific_moved"] == 1
    assert result.examples["curated_scientific_moved"] == [
        "Ariocarpus kotschoubeyanus: Ariocarpus → Ariocarpus kotschoubeyanus"
    ]
    assert curated["taxa"][-1]["scientific"] == ["Ariocarpus", "Ariocarpus kotschoubeyanus"]


def test_fit_appendix_to_what_the_matcher_takes() -> None:
    assert fit_appendix("I/NC", None) == "I/NC"
    assert fit_appendix("I/NC", MATCHER_APPENDICES) == "I"
    assert fit_appendix("I/II/NC", MATCHER_APPENDICES) == "I/II"
    assert fit_appendix("I/NC", MATCHER_APPENDICES | {"I/NC"}) == "I/NC"
    assert fit_appendix("NC", MATCHER_APPENDICES) is None


def test_ranks_the_matcher_does_not_take_are_skipped() -> None:
    imported = {"taxa": [taxon("Aloe compressa var. schistophila", rank="VARIETY")]}
    result = merge(CURATED, imported, ranks={"SPECIES", "GENUS", "FAMILY"})
    assert result.counts["unsupported_rank"] == 1
    assert len(result.lexicon["taxa"]) == len(CURATED["taxa"])


def test_merged_lexicon_builds_a_matcher_that_finds_both() -> None:
    result = merged(
        taxon(
            "Mammillaria herrerae",
            family="Cactaceae",
            names={"en": ["Golf Ball Cactus", "Golf ball"], "es": ["Biznaga bola de hilo"]},
        ),
        taxon("Leopardus pardalis", appendix="I", names={"en": ["Ocelot"], "fr": ["Ocelot"]}),
    )
    matcher = SpeciesMatcher(result.lexicon, "curated-test+imported.test")
    found = matcher.find("Mammillaria herrerae and an ocelot coat; tiger bone wine; golf ball")
    assert [(m.taxon, m.term, m.appendix) for m in found] == [
        ("Mammillaria herrerae", "Mammillaria herrerae", "II"),
        ("Leopardus pardalis", "ocelot", "I"),
        ("Panthera tigris", "tiger bone", "I"),
    ]


def test_empty_import_gives_the_curated_lexicon() -> None:
    result = merge(CURATED, None)
    assert [t["taxon"] for t in result.lexicon["taxa"]] == ["Panthera tigris", "Elephantidae"]
    assert result.counts["imported_taxa"] == 0


@pytest.mark.parametrize(
    "text",
    [
        "Straße",
        "ﬁne",
        "Ｍａｎｉｓ",
        "Ǆemal",
        "Colibrí barbiesmeralda",
        "İstanbul",
        "Ὀδυσσεύς",
        "鹦鹉",
    ],
)
def test_fast_fold_agrees_with_the_matcher(text: str) -> None:
    assert checklist._fold(text) == fold(text)


def test_a_name_given_to_taxa_of_several_families_is_a_placeholder() -> None:
    """ "Nincs magyar neve" ("has no Hungarian name") names 186 taxa in the multilingual
    file; a phrase shared within one family is a group name and stays."""
    placeholder = {"hu": ["Nincs magyar neve"]}
    result = merged(
        taxon("Panthera onca", names=placeholder),
        taxon("Python regius", family="Pythonidae", names=placeholder),
        taxon("Ara macao", family="Psittacidae", names={**placeholder, "en": ["Scarlet Macaw"]}),
        taxon("Oophaga pumilio", family="Dendrobatidae", names={"en": ["Poison frog"]}),
        taxon("Ranitomeya imitator", family="Dendrobatidae", names={"en": ["Poison frog"]}),
        taxon("Dendrobates tinctorius", family="Dendrobatidae", names={"en": ["Poison frog"]}),
    )
    assert all_names(entry(result, "Panthera onca")) == []
    assert all_names(entry(result, "Ara macao")) == ["Scarlet Macaw"]
    assert all_names(entry(result, "Oophaga pumilio")) == ["Poison frog"]
    assert result.counts["rejected_placeholder"] == 3


# -- a split listing's whole ------------------------------------------------------------------

WHOLE_II = "Appendix II:Included in Appendix II, except for the species included in Appendix I. "


def test_a_higher_taxon_s_whole_listing_is_read_from_its_annotation() -> None:
    rows = [
        row("Psittaciformes", rank="ORDER", listing="I/II/NC", FullAnnotationEnglish=WHOLE_II),
        row("Rhinocerotidae", rank="FAMILY", listing="I/II",
            FullAnnotationEnglish="Appendix I:All species and populations except …"),
        # A species is split by population: which part is "the whole" is not written.
        row("Panthera leo", listing="I/II", FullAnnotationEnglish=WHOLE_II),
        row("Amazona", rank="GENUS", listing="II", FullAnnotationEnglish=WHOLE_II),
        row("Cathartidae", rank="FAMILY", listing="I/III/NC", FullAnnotationEnglish=""),
        row("Falco", rank="GENUS", listing="I/II", FullAnnotationEnglish="Appendix III: odd"),
    ]  # fmt: skip
    taxa = {t["taxon"]: t.get("spp_appendix") for t in parse_checklist(rows, "c").taxa}
    assert taxa == {
        "Psittaciformes": "II",
        "Rhinocerotidae": "I",
        "Panthera leo": None,
        "Amazona": None,
        "Cathartidae": None,
        "Falco": None,  # "III" is no part of "I/II"
    }


def _curated_parrots(spp: str | None) -> dict[str, Any]:
    parrots = {
        "taxon": "Psittaciformes",
        "rank": "ORDER",
        "family": None,
        "order": "Psittaciformes",
        "class": "Aves",
        "appendix": "I/II",
        "scientific": ["Psittaciformes"],
        "names": {"en": ["parrot"]},
    }
    if spp:
        parrots["spp_appendix"] = spp
    return {**CURATED, "taxa": [*CURATED["taxa"], parrots]}


@pytest.mark.parametrize(
    ("curated", "imported", "expected"),
    [
        ("II", {"appendix": "I/II/NC"}, "II"),  # the listing is the same once fitted: kept
        ("II", {"appendix": "I/II", "spp_appendix": "I"}, "I"),  # the import's own wins
        ("II", {"appendix": "II/III"}, None),  # another listing: the curated whole is void
        (None, {"appendix": "I/II", "spp_appendix": "II"}, "II"),
        (None, {"appendix": "I/II"}, None),
    ],
)
def test_the_merge_keeps_a_whole_listing_only_where_it_still_holds(
    curated: str | None, imported: dict[str, str], expected: str | None
) -> None:
    order = taxon("Psittaciformes", rank="ORDER", **imported)
    result = merge(_curated_parrots(curated), {"taxa": [order]}, appendices=MATCHER_APPENDICES)
    assert entry(result, "Psittaciformes").get("spp_appendix") == expected


def test_an_imported_whole_listing_outside_the_listing_is_dropped_not_fatal() -> None:
    genus = taxon("Felis", rank="GENUS", appendix="I/II/NC", spp_appendix="II")
    stray = taxon("Lynx", rank="GENUS", appendix="I/II", spp_appendix="III")
    result = merge(CURATED, {"taxa": [genus, stray]}, appendices=MATCHER_APPENDICES)
    assert entry(result, "Felis")["appendix"] == "I/II"  # NC fitted away, the whole stays
    assert entry(result, "Felis")["spp_appendix"] == "II"
    assert "spp_appendix" not in entry(result, "Lynx")
    SpeciesMatcher(result.lexicon, "test")  # builds


def test_a_matcher_refuses_a_whole_listing_outside_its_listing() -> None:
    lexicon = _curated_parrots("III")
    with pytest.raises(ValueError, match="spp_appendix 'III' is not a part of 'I/II'"):
        SpeciesMatcher(lexicon, "test")
