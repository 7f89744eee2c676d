"""Species recognition: offsets, languages, boundaries, exclusions and the lexicon version."""

from __future__ import annotations

import dataclasses
import json
import re
from importlib import resources
from pathlib import Path

import pytest

from matching.analysis import FLAG_CONFIDENCE
from matching.appendix import highest_appendix
from matching.species import (
    ABBREVIATED_CONFIDENCE,
    CODE_CONFIDENCE,
    COMMON_CONFIDENCE,
    SCIENTIFIC_CONFIDENCE,
    TRADE_CONFIDENCE,
    SpeciesMatch,
    SpeciesMatcher,
    abbreviated_names,
    default_matcher,
    default_version,
)


@pytest.fixture(scope="module")
def matcher() -> SpeciesMatcher:
    return default_matcher()


def taxa(matcher: SpeciesMatcher, text: str) -> list[str]:
    return [match.taxon for match in matcher.find(text)]


def tiny(tmp_path: Path, **extra: object) -> SpeciesMatcher:
    """A matcher over a two-entry lexicon, to test the mechanics apart from the curated data."""
    lexicon = {
        "version": "test-1",
        "taxa": [
            {
                "taxon": "Rhinocerotidae",
                "rank": "FAMILY",
                "family": "Rhinocerotidae",
                "order": "Perissodactyla",
                "class": "Mammalia",
                "appendix": "I/II",
                "scientific": ["Rhinocerotidae"],
                "names": {"en": ["rhino"]},
                "trade_terms": {"en": ["horn"]},
            },
            {
                "taxon": "Boidae",
                "rank": "FAMILY",
                "family": "Boidae",
                "order": "Serpentes",
                "class": "Reptilia",
                "appendix": "I/II",
                "scientific": ["Boidae"],
                "names": {"en": ["boa"]},
            },
        ],
        **extra,
    }
    path = tmp_path / "lexicon.json"
    path.write_text(json.dumps(lexicon), encoding="utf-8")
    return SpeciesMatcher.from_file(path)


# -- offsets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "taxon", "term"),
    [
        ("Ｍａｎｉｓ ｊａｖａｎｉｃａ, 2 kg", "Manis javanica", "Ｍａｎｉｓ ｊａｖａｎｉｃａ"),
        ("Große Straße 5 – echtes Elfenbein", "Elephantidae", "Elfenbein"),
        ("Maße: 3 cm. Breitmaulnashorn", "Ceratotherium simum", "Breitmaulnashorn"),
        # Was "... sculpté": a carved elephant is a likeness, which the context rules now
        # overrule (figurine word "sculpté"); a mounted one is a specimen.
        ("Vends ÉLÉPHANT D’AFRIQUE naturalisé", "Loxodonta africana", "ÉLÉPHANT D’AFRIQUE"),
        ("ﬁne old ﬁgure, PANGOLIN   SCALES", "Manidae", "PANGOLIN   SCALES"),
        ("Ａｆｒｉｃａｎ-ｇｒｅｙ", "Psittacus erithacus", "Ａｆｒｉｃａｎ-ｇｒｅｙ"),
    ],
)
def test_offsets_index_the_original_text(
    matcher: SpeciesMatcher, text: str, taxon: str, term: str
) -> None:
    [match] = [m for m in matcher.find(text) if m.taxon == taxon]
    assert match.term == term
    assert text[match.start : match.end] == term


def test_offsets_after_characters_that_fold_to_two(matcher: SpeciesMatcher) -> None:
    # "ß" folds to "ss" and "ﬁ" to "fi": a match after them must still land on the original.
    text = "ßßßﬁﬁ rhino horn"
    [match] = matcher.find(text)
    assert (match.start, match.end) == (6, 16)
    assert match.term == "rhino horn"


# -- languages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "taxon", "term"),
    [
        ("Selling African grey parrot, hand tame", "Psittacus erithacus", "African grey parrot"),
        ("Vends perroquet gris du Gabon, bagué", "Psittacus erithacus", "perroquet gris du Gabon"),
        ("Vendo colmillo de elefante antiguo", "Elephantidae", "colmillo de elefante"),
        ("Vendo escamas de pangolim", "Manidae", "escamas de pangolim"),
        ("Verkaufe Graupapagei aus Nachzucht", "Psittacus erithacus", "Graupapagei"),
        ("Bán vảy tê tê giá tốt", "Manidae", "vảy tê tê"),
        ("Jual sisik trenggiling", "Manidae", "sisik trenggiling"),
        ("ヨウムの雛を譲ります", "Psittacus erithacus", "ヨウム"),
        ("Продаю слоновая кость", "Elephantidae", "слоновая кость"),
        ("出售象牙手镯", "Elephantidae", "象牙"),
        ("正宗犀牛角粉", "Rhinocerotidae", "犀牛角"),
        ("野生熊膽粉", "Ursidae", "熊膽粉"),
        ("小叶紫檀手串", "Pterocarpus santalinus", "小叶紫檀"),
    ],
)
def test_names_in_many_languages(matcher: SpeciesMatcher, text: str, taxon: str, term: str) -> None:
    found = {(m.taxon, m.term) for m in matcher.find(text)}
    assert (taxon, term) in found


def test_chinese_without_spaces_finds_each_product(matcher: SpeciesMatcher) -> None:
    assert taxa(matcher, "出售象牙手镯和穿山甲片还有虎骨酒") == [
        "Elephantidae",
        "Manidae",
        "Panthera tigris",
    ]


# -- boundaries --------------------------------------------------------------------------


def test_terms_do_not_match_inside_longer_words(tmp_path: Path) -> None:
    small = tiny(tmp_path)
    assert small.find("hornet nest, boat trailer, rhinoplasty") == []
    assert [m.term for m in small.find("horn. A boa! rhino")] == ["horn", "boa", "rhino"]


def test_latin_term_next_to_chinese_characters(tmp_path: Path) -> None:
    assert [m.term for m in tiny(tmp_path).find("出售rhino角")] == ["rhino"]


@pytest.mark.parametrize(
    "text",
    [
        "Ivory wedding dress, size 10",
        "Colour: Ivory",
        "ivory-coloured lace",
        "Shipping from Ivory Coast",
        "faux ivory piano keys",
        "French ivory dresser set",
        "vegetable ivory buttons",
        "Côte d’Ivoire",
        "象牙白瓷砖",
        "18k white gold ring",
        "Onitsuka Tiger sneakers",
        "leopard print scarf",
        "tortoiseshell glasses",
        "crocodile clip",
        "sea lions at the pier",
    ],
)
def test_ordinary_uses_are_not_offers(matcher: SpeciesMatcher, text: str) -> None:
    assert matcher.find(text) == []


def test_real_ivory_is_still_found(matcher: SpeciesMatcher) -> None:
    assert taxa(matcher, "antique carved ivory bangle") == ["Elephantidae"]
    assert taxa(matcher, "ivory") == ["Elephantidae"]


def test_negative_context_only_cancels_what_it_covers(matcher: SpeciesMatcher) -> None:
    matches = matcher.find(
        "Ivory dress, ivory colour. Also a carved ivory netsuke, cockatiel parrot, parrot"
    )
    assert [(m.taxon, m.term) for m in matches] == [
        ("Elephantidae", "carved ivory"),
        ("Elephantidae", "netsuke"),
        ("Psittaciformes", "parrot"),
    ]
    assert matches[-1].start == len(
        "Ivory dress, ivory colour. Also a carved ivory netsuke, cockatiel parrot, "
    )


def test_negative_context_only_cancels_its_own_taxa(matcher: SpeciesMatcher) -> None:
    # "leopard tortoise" is not a leopard, but it is a tortoise (Stigmochelys, listed).
    assert taxa(matcher, "leopard tortoise hatchling") == ["Stigmochelys pardalis"]


# -- not listed by CITES ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "cockatiel",
        "Cockatiel parrot, hand reared",
        "parrot - cockatiel",
        "cacatúa ninfa",
        "Budgie parrots for sale",
        "peach-faced lovebird",
        "Indian ringneck parrot",
        "虎皮鹦鹉一对",
        "玄凤鹦鹉",
        "perruche ondulée",
        "Wellensittich",
    ],
)
def test_unlisted_parrots_produce_nothing(matcher: SpeciesMatcher, text: str) -> None:
    assert matcher.find(text) == []


def test_unlisted_parrot_leaves_other_parrots_alone(matcher: SpeciesMatcher) -> None:
    assert taxa(matcher, "budgie and African grey parrot") == ["Psittacus erithacus"]
    assert taxa(matcher, "cockatiel for sale. Also a cockatoo") == ["Cacatuidae"]
    assert taxa(matcher, "cockatoo") == ["Cacatuidae"]
    assert taxa(matcher, "鹦鹉") == ["Psittaciformes"]


def test_mammoth_ivory_is_not_elephant_ivory(matcher: SpeciesMatcher) -> None:
    assert matcher.find("mammoth ivory pendant") == []
    assert taxa(matcher, "猛犸象牙 and elephant ivory") == ["Elephantidae"]


# -- overlaps, plurals, confidence -------------------------------------------------------------


def test_longer_match_wins(matcher: SpeciesMatcher) -> None:
    assert taxa(matcher, "Asian elephant") == ["Elephas maximus"]
    assert taxa(matcher, "snow leopard pelt") == ["Panthera uncia"]
    assert taxa(matcher, "helmeted hornbill casque") == ["Rhinoplax vigil"]
    assert taxa(matcher, "大叶紫檀 and 紫檀") == ["Dalbergia", "Pterocarpus santalinus"]


@pytest.mark.parametrize(
    ("text", "taxon", "term"),
    [
        ("white rhino horn", "Ceratotherium simum", "white rhino"),
        ("cuerno de rinoceronte blanco", "Ceratotherium simum", "rinoceronte blanco"),
        ("白犀牛角", "Ceratotherium simum", "白犀牛"),
        ("snow leopard pelt", "Panthera uncia", "snow leopard"),
        ("Sunda pangolin scales", "Manis javanica", "Sunda pangolin"),
        ("whale shark fin", "Rhincodon typus", "whale shark"),
    ],
)
def test_matches_sharing_words_go_to_the_most_specific_taxon(
    matcher: SpeciesMatcher, text: str, taxon: str, term: str
) -> None:
    assert [(m.taxon, m.term) for m in matcher.find(text)] == [(taxon, term)]


def test_shared_words_with_the_same_taxon_give_one_match(matcher: SpeciesMatcher) -> None:
    # "elephant ivory" and "ivory carving" overlap on "ivory"; both Elephantidae, the longer
    # wins and keeps the confidence of the name "elephant" inside it.
    [match] = matcher.find("elephant ivory carving")
    assert (match.taxon, match.term, match.kind) == ("Elephantidae", "elephant ivory", "trade")
    assert match.confidence == COMMON_CONFIDENCE


def test_same_span_same_taxon_reported_once(matcher: SpeciesMatcher) -> None:
    # "pangolin" is both the English and the French name.
    assert len(matcher.find("pangolin")) == 1


@pytest.mark.parametrize(
    ("text", "taxon", "term"),
    [
        ("two tigers", "Panthera tigris", "tigers"),
        ("orchids", "Orchidaceae", "orchids"),
        ("cactuses and succulents", "Cactaceae", "cactuses"),
        ("cacti", "Cactaceae", "cacti"),
        ("Seahorses, dried", "Hippocampus", "Seahorses"),
        ("guacamayos", "Ara", "guacamayos"),
        ("tiger bones", "Panthera tigris", "tiger bones"),
    ],
)
def test_plural_forms(matcher: SpeciesMatcher, text: str, taxon: str, term: str) -> None:
    assert [(m.taxon, m.term) for m in matcher.find(text)] == [(taxon, term)]


def test_a_plural_first_word_reads_as_its_base_also_when_another_term_holds_it(
    tmp_path: Path,
) -> None:
    """'buches de totoaba' is 'buche de totoaba' with its first word plural; a second term
    written with that plural ('buches del Golfo') once hid the reading."""
    fish = {
        "taxon": "Totoaba macdonaldi",
        "rank": "SPECIES",
        "family": "Sciaenidae",
        "order": "Perciformes",
        "class": "Actinopteri",
        "appendix": "I",
        "scientific": ["Totoaba macdonaldi"],
        "names": {},
        "trade_terms": {"es": ["buche de totoaba"]},
    }
    alone = tiny(tmp_path, taxa=[fish])
    both = tiny(tmp_path, taxa=[{**fish, "code_words": {"es": ["buches del Golfo"]}}])
    for matcher in (alone, both):
        assert [m.term for m in matcher.find("Se compran buches de totoaba, secos")] == [
            "buches de totoaba"
        ]
    assert [m.term for m in both.find("Se venden buches del Golfo")] == ["buches del Golfo"]


def test_two_single_letters_taken_apart_are_one_word(matcher: SpeciesMatcher) -> None:
    """'t.ê' is tê, though the curated lexicon has 't' and 'e' as words of some terms (a
    piece of one letter is no word a joining could hide)."""
    [match] = matcher.find("Có 1 sừng t.ê nguyên khúc")
    assert (match.term, match.taxon) == ("sừng t.ê", "Rhinocerotidae")
    assert match.note is not None and "separators inside the word" in match.note


def test_scientific_names_take_no_plural(matcher: SpeciesMatcher) -> None:
    assert matcher.find("Dalbergias") == []


@pytest.mark.parametrize(
    ("text", "taxon", "term"),
    [
        ("MRK sling 1cm (B. hamorii), posting Monday", "Brachypelma", "B. hamorii"),
        ("P.metallica 슬링 2cm 3마리 분양", "Poecilotheria", "P.metallica"),
        ("Froglets: D. tinctorius 'Azureus', 3 months OOW", "Dendrobatidae", "D. tinctorius"),
    ],
)
def test_keepers_abbreviate_a_curated_binomial(
    matcher: SpeciesMatcher, text: str, taxon: str, term: str
) -> None:
    found = [m for m in matcher.find(text) if m.kind == "scientific"]
    assert [(m.taxon, m.term, m.confidence) for m in found] == [
        (taxon, term, ABBREVIATED_CONFIDENCE)
    ]


@pytest.mark.parametrize(
    ("text", "taxon"),
    [
        ("Black coral pendant, sterling silver, Hawaii", "Antipatharia"),
        ("Aka coral pendant 18k", "Corallium japonicum"),
        ("MOMO 桃紅珊瑚 原枝 吊墜", "Corallium elatius"),
        ("血赤珊瑚 ペンダント", "Corallium japonicum"),
        ("小叶紫檀 雕刻 摆件", "Pterocarpus santalinus"),
        ("Red sanders carving Ganesha", "Pterocarpus santalinus"),
        ("大红酸枝 摆件", "Dalbergia cochinchinensis"),
    ],
)
def test_a_carving_of_a_traded_material_is_the_specimen_not_a_likeness(
    matcher: SpeciesMatcher, text: str, taxon: str
) -> None:
    """Corals and precious woods are traded as a material: their names are trade terms,
    which the figurine rule leaves standing, as it leaves ivory."""
    assert [(m.taxon, m.kind) for m in matcher.find(text)] == [(taxon, "trade")]


def test_no_plain_listing_is_flagged(matcher: SpeciesMatcher) -> None:
    """The plain goods of tests/data/non_wildlife_listings.txt, in every language: a term
    added to the lexicon must not make any of them a wildlife offer (as 'baning', a
    Malay tortoise, once read 'baking' as a misspelling of itself)."""
    path = Path(__file__).resolve().parents[1] / "data" / "non_wildlife_listings.txt"
    lines = [line.strip() for line in path.read_text("utf-8").splitlines()]
    plain = [line for line in lines if line and not line.startswith("#")]
    assert len(plain) > 300
    found = {text: matcher.find(text) for text in plain}
    flagged = {
        text: [(m.taxon, m.term) for m in matches]
        for text, matches in found.items()
        if any(m.confidence >= FLAG_CONFIDENCE for m in matches)
    }
    assert not flagged


def test_an_abbreviation_two_names_share_names_neither() -> None:
    taxa = [
        {"taxon": "Python", "source": "curated", "scientific": ["Python regius"]},
        {"taxon": "Poicephalus", "source": "curated", "scientific": ["Poicephalus regius"]},
        {"taxon": "Brachypelma", "scientific": ["Brachypelma hamorii", "Brachypelma"]},
        {
            "taxon": "Caenorhabditis",
            "source": "checklist:x",
            "scientific": ["Caenorhabditis elegans"],
        },
        {"taxon": "Hippocampus", "source": "curated", "scientific": ["Hippocampus spp."]},
        # One name in a genus' entry and in its species' own: the species takes it.
        {"taxon": "Ara", "source": "curated", "scientific": ["Ara", "Ara ararauna", "Ara macao"]},
        {"taxon": "Ara ararauna", "source": "curated", "scientific": ["Ara ararauna"]},
    ]
    assert abbreviated_names(taxa) == {
        "Brachypelma": ["B. hamorii", "B.hamorii"],
        "Ara": ["A. macao", "A.macao"],
        "Ara ararauna": ["A. ararauna", "A.ararauna"],
    }


def test_confidence_follows_the_kind_of_term(matcher: SpeciesMatcher) -> None:
    by_term = {m.term: m for m in matcher.find("Psittacus erithacus; tiger; caviar; white plastic")}
    assert (by_term["Psittacus erithacus"].kind, by_term["Psittacus erithacus"].confidence) == (
        "scientific",
        SCIENTIFIC_CONFIDENCE,
    )
    assert (by_term["tiger"].kind, by_term["tiger"].confidence) == ("common", COMMON_CONFIDENCE)
    assert (by_term["caviar"].kind, by_term["caviar"].confidence) == ("trade", TRADE_CONFIDENCE)
    assert (by_term["white plastic"].kind, by_term["white plastic"].confidence) == (
        "code",
        CODE_CONFIDENCE,
    )
    assert SCIENTIFIC_CONFIDENCE > COMMON_CONFIDENCE > TRADE_CONFIDENCE > CODE_CONFIDENCE


def test_longer_phrase_keeps_the_confidence_of_the_name_inside(matcher: SpeciesMatcher) -> None:
    [match] = matcher.find("pangolin scales")
    assert match.kind == "trade"
    assert match.confidence == COMMON_CONFIDENCE


def test_per_term_confidence_override(matcher: SpeciesMatcher) -> None:
    [fin] = matcher.find("dried shark fin")
    assert fin.taxon == "Carcharhinidae"
    assert fin.confidence < TRADE_CONFIDENCE


def test_results_are_sorted_by_start(matcher: SpeciesMatcher) -> None:
    matches = matcher.find("caviar, then rhino horn, then a macaw, then ivory")
    assert [m.start for m in matches] == sorted(m.start for m in matches)
    assert [m.taxon for m in matches] == [
        "Acipenseriformes",
        "Rhinocerotidae",
        "Ara",
        "Elephantidae",
    ]


def test_empty_and_unrelated_text(matcher: SpeciesMatcher) -> None:
    assert matcher.find("") == []
    assert matcher.find("Used bicycle, good condition, 50 EUR") == []


# -- the result type ----------------------------------------------------------------------------


def test_to_dict_has_exactly_the_contract_keys(matcher: SpeciesMatcher) -> None:
    [match] = matcher.find("Manis javanica")
    data = match.to_dict()
    assert list(data) == [
        "taxon",
        "rank",
        "family",
        "order",
        "class",
        "appendix",
        "term",
        "kind",
        "start",
        "end",
        "confidence",
    ]
    assert data["class"] == "Mammalia"
    assert data["appendix"] == "I"
    assert json.loads(json.dumps(data)) == data


def test_to_dict_adds_the_note_only_when_there_is_one(matcher: SpeciesMatcher) -> None:
    [plain] = matcher.find("pangolin")
    [read] = matcher.find("p@ngolin")
    assert plain.note is None and "note" not in plain.to_dict()
    assert read.note is not None
    assert list(read.to_dict()) == [*plain.to_dict(), "note"]
    assert read.to_dict()["note"] == read.note


def test_find_is_what_assess_keeps(matcher: SpeciesMatcher) -> None:
    text = "Ivory silk blouse. Also a carved ivory netsuke and 1v0ry chopsticks"
    assessment = matcher.assess(text)
    assert matcher.find(text) == assessment.matches
    assert [m.term for m in assessment.matches] == ["carved ivory", "netsuke", "1v0ry"]
    assert [o.match.term for o in assessment.overruled] == ["Ivory"]


def test_the_context_rules_have_a_version(matcher: SpeciesMatcher) -> None:
    raw = json.loads(resources.files("matching").joinpath("data/contexts.json").read_bytes())
    assert re.fullmatch(re.escape(raw["version"]) + r"\+[0-9a-f]{8}", matcher.contexts_version)


def test_matches_are_frozen(matcher: SpeciesMatcher) -> None:
    [match] = matcher.find("Manis javanica")
    assert isinstance(match, SpeciesMatch)
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.taxon = "Homo sapiens"  # type: ignore[misc]


# -- highest_appendix ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("appendices", "expected"),
    [
        (["II", "I/II"], "I"),
        (["III", "II"], "II"),
        (["III"], "III"),
        (["II/III"], "II"),
        (["I/II/III", "III"], "I"),
        (["NC", "II"], "II"),
        (["NC"], None),
        ([], None),
    ],
)
def test_highest_appendix(appendices: list[str], expected: str | None) -> None:
    assert highest_appendix(appendices) == expected


def test_highest_appendix_takes_any_iterable(matcher: SpeciesMatcher) -> None:
    matches = matcher.find("caviar and Psittacus erithacus")
    assert highest_appendix(m.appendix for m in matches) == "I"


# -- version ---------------------------------------------------------------------------------------


def test_default_version_names_the_lexicon_and_its_hash() -> None:
    raw = json.loads(resources.files("matching").joinpath("data/lexicon.json").read_bytes())
    assert re.fullmatch(re.escape(raw["version"]) + r"\+[0-9a-f]{8}", default_matcher().version)
    assert default_matcher() is default_matcher()


def test_version_changes_when_the_lexicon_changes(tmp_path: Path) -> None:
    original = resources.files("matching").joinpath("data/lexicon.json").read_bytes()
    same = tmp_path / "same.json"
    same.write_bytes(original)
    edited = tmp_path / "edited.json"
    data = json.loads(original)
    data["taxa"][0]["names"]["en"].append("jumbo")
    edited.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    assert SpeciesMatcher.from_file(same).version == default_matcher().version
    changed = SpeciesMatcher.from_file(edited)
    assert changed.version != default_matcher().version
    assert changed.version.startswith(data["version"] + "+")
    assert [m.term for m in changed.find("jumbo")] == ["jumbo"]


def test_invalid_lexicon_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            {
                "version": "x",
                "taxa": [
                    {
                        "taxon": "Nope",
                        "rank": "SPECIES",
                        "family": None,
                        "order": None,
                        "class": None,
                        "appendix": "IV",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="appendix"):
        SpeciesMatcher.from_file(path)


def test_negative_contexts_and_not_listed_in_a_small_lexicon(tmp_path: Path) -> None:
    small = tiny(
        tmp_path,
        negative_contexts=[{"taxa": ["Rhinocerotidae"], "phrases": {"en": ["rhino 3d"]}}],
        not_listed=[
            {"taxon": "Bos taurus", "suppresses": ["Rhinocerotidae"], "names": {"en": ["cow horn"]}}
        ],
    )
    assert small.find("Rhino 3D licence") == []
    assert small.find("cow horn comb") == []  # "horn" inside the unlisted phrase
    assert small.find("rhino, cow horn") == []  # right next to it, and a suppressed taxon
    assert [m.term for m in small.find("rhino and horn")] == ["rhino", "horn"]  # control


def test_default_version_is_the_default_matchers_without_building_it() -> None:
    assert default_version() == default_matcher().version


@pytest.mark.parametrize(
    ("text", "taxa"),
    [
        ("WTB radiated tortise pair, paying well, DM me", ["Astrochelys radiata"]),  # not paling
        ("Rehoming 2 cockatiels + my budgie flock, cages included", []),  # not CAGs
        ("Tiger 125cc 2019 low km, papers ok", []),
        ("Tôm sú tiger size 20 con/kg, tươi sống", []),
        ("Saker falcon, passage female, hood trained", ["Falco cherrug"]),
    ],
)
def test_fresh_rounds_phenomena(matcher: SpeciesMatcher, text: str, taxa: list[str]) -> None:
    """Cases the later fresh rounds showed: ordinary words that are no misspelling of a
    lexicon word, brands and foods named after animals, a falcon by its species."""
    assert [m.taxon for m in matcher.find(text)] == taxa
