"""Species terms written the way listings write them: look-alikes, pieces, invisible
characters, misspellings, inflections and compounds, always at the offsets of the original."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from matching.species import (
    COMMON_CONFIDENCE,
    COMPOUND_FACTOR,
    MISSPELLING_FACTOR,
    OBFUSCATION_FACTOR,
    SCIENTIFIC_CONFIDENCE,
    TRADE_CONFIDENCE,
    SpeciesMatch,
    SpeciesMatcher,
    default_matcher,
)
from matching.text import lookalike_readings, normalise, osa_distance


def taxon(name: str, rank: str, appendix: str, **terms: Any) -> dict[str, Any]:
    return {
        "taxon": name,
        "rank": rank,
        "family": name if rank == "FAMILY" else None,
        "order": name if rank == "ORDER" else None,
        "class": None,
        "appendix": appendix,
        **terms,
    }


# A lexicon of its own, so these tests hold whatever the curated lexicon grows into.
LEXICON: dict[str, Any] = {
    "version": "normalisation-test-1",
    "taxa": [
        taxon(
            "Elephantidae",
            "FAMILY",
            "I/II",
            scientific=["Elephantidae"],
            names={"en": ["elephant"], "de": ["Elefant"], "es": ["elefante"], "zh": ["大象"]},
            trade_terms={
                "en": ["ivory", "ivory carving"],
                "de": ["Elfenbein"],
                "ru": ["слоновая кость"],
                "zh": ["象牙"],
            },
        ),
        taxon(
            "Loxodonta africana",
            "SPECIES",
            "I/II",
            scientific=["Loxodonta africana"],
            names={"es": ["elefante africano"], "de": ["Afrikanischer Elefant"]},
        ),
        taxon(
            "Manidae",
            "FAMILY",
            "I",
            scientific=["Manidae"],
            names={"en": ["pangolin"], "de": ["Schuppentier"]},
            trade_terms={"en": ["pangolin scales"]},
        ),
        taxon(
            "Rhinocerotidae",
            "FAMILY",
            "I/II",
            scientific=["Rhinocerotidae"],
            names={"en": ["rhinoceros", "rhino"], "de": ["Nashorn"], "ru": ["носорог"]},
            trade_terms={"en": ["rhino horn"]},
        ),
        taxon(
            "Panthera tigris",
            "SPECIES",
            "I",
            scientific=["Panthera tigris"],
            names={"en": ["tiger"], "de": ["Tiger"]},
        ),
        taxon(
            "Acipenseriformes",
            "ORDER",
            "I/II",
            scientific=["Acipenseriformes"],
            names={"en": ["sturgeon"]},
        ),
        taxon("Python", "GENUS", "II", scientific=["Python"]),
        taxon("Dalbergia", "GENUS", "I/II", scientific=["Dalbergia"]),
        taxon("Paphiopedilum", "GENUS", "I", scientific=["Paphiopedilum"]),
        taxon("Psittaciformes", "ORDER", "I/II", names={"en": ["parrot"]}),
    ],
}


@pytest.fixture(scope="module")
def matcher() -> SpeciesMatcher:
    return SpeciesMatcher(LEXICON, LEXICON["version"])


def only(matcher: SpeciesMatcher, text: str) -> SpeciesMatch:
    """The one match in `text`, checked to index the original text exactly."""
    [match] = matcher.find(text)
    assert text[match.start : match.end] == match.term
    return match


# -- look-alike characters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term", "taxon_name", "kind"),
    [
        ("1v0ry bangle", "1v0ry", "Elephantidae", "trade"),
        ("selling iv0ry, 2 pieces", "iv0ry", "Elephantidae", "trade"),
        ("p@ngolin 500 g", "p@ngolin", "Manidae", "common"),
        ("PANG0L1N!", "PANG0L1N", "Manidae", "common"),
        ("e1ephant tusk", "e1ephant", "Elephantidae", "common"),  # "1" read as "l" here
        ("r h 1 n o", "r h 1 n o", "Rhinocerotidae", "common"),
        ("fresh rh1no horn powder", "rh1no horn", "Rhinocerotidae", "trade"),
        ("iv$ry", None, None, None),  # "$" reads "s": "ivsry" is no lexicon word
    ],
)
def test_leetspeak_inside_a_word(
    matcher: SpeciesMatcher, text: str, term: str | None, taxon_name: str | None, kind: str | None
) -> None:
    if term is None:
        assert matcher.find(text) == []
        return
    match = only(matcher, text)
    assert (match.term, match.taxon, match.kind) == (term, taxon_name, kind)
    assert match.note is not None and "look-alike characters" in match.note


def test_leetspeak_costs_confidence_and_says_how_it_was_read(matcher: SpeciesMatcher) -> None:
    match = only(matcher, "1v0ry")
    assert match.confidence == pytest.approx(TRADE_CONFIDENCE * OBFUSCATION_FACTOR)
    assert match.confidence < TRADE_CONFIDENCE
    assert match.note == "read '1v0ry' as 'ivory' (look-alike characters)"
    assert match.to_dict()["note"] == match.note


@pytest.mark.parametrize(
    ("text", "term", "taxon_name"),
    [
        ("iv\u03bfry carving", "iv\u03bfry carving", "Elephantidae"),  # Greek omicron
        ("iv\u043ery", "iv\u043ery", "Elephantidae"),  # Cyrillic o
        ("pangol\u0456n", "pangol\u0456n", "Manidae"),  # Ukrainian i
        ("\u0420ANGOLIN", "\u0420ANGOLIN", "Manidae"),  # Cyrillic capital Er for P
        ("Продаю нoсорог", "нoсорог", "Rhinocerotidae"),  # Latin o inside a Russian word
    ],
)
def test_letters_of_another_script(
    matcher: SpeciesMatcher, text: str, term: str, taxon_name: str
) -> None:
    match = only(matcher, text)
    assert (match.term, match.taxon) == (term, taxon_name)
    assert match.note is not None and "look-alike characters" in match.note


def test_a_word_in_one_script_is_read_as_written(matcher: SpeciesMatcher) -> None:
    match = only(matcher, "Продаю носорог")
    assert (match.term, match.note, match.confidence) == ("носорог", None, COMMON_CONFIDENCE)


def test_lookalike_readings_leave_numbers_and_plain_words_alone() -> None:
    assert lookalike_readings("500") == []
    assert lookalike_readings("18k") == []  # one letter: a measure, not a word
    assert lookalike_readings("ivory") == []
    assert lookalike_readings("носорог") == []
    assert lookalike_readings("1v0ry")[0] == "ivory"
    assert "elephant" in lookalike_readings("e1ephant")


# -- numbers and prices ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "500 g",
        "3.5 kg, 18k gold, $50, €1.500, 1 2 3 4",
        "3 x 5 cm, 2x2, 4x4 truck, mp3 player, 1st edition",
        "Order no. 1337, ref 5-0-0",
    ],
)
def test_numbers_are_not_read_as_words(matcher: SpeciesMatcher, text: str) -> None:
    assert matcher.find(text) == []


def test_numbers_next_to_a_disguised_word_keep_their_offsets(matcher: SpeciesMatcher) -> None:
    text = "€1.500 for p@ngolin sc@les 500 g, also 3.5 kg 1v0ry"
    found = [(m.term, m.taxon) for m in matcher.find(text)]
    assert found == [("p@ngolin sc@les", "Manidae"), ("1v0ry", "Elephantidae")]
    for match in matcher.find(text):
        assert text[match.start : match.end] == match.term


# -- words taken apart -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term", "taxon_name"),
    [
        ("i.v.o.r.y bangle", "i.v.o.r.y", "Elephantidae"),
        ("i-v-o-r-y", "i-v-o-r-y", "Elephantidae"),
        ("I V O R Y", "I V O R Y", "Elephantidae"),
        ("i. v. o. r. y.", "i. v. o. r. y", "Elephantidae"),
        ("ivo_ry for sale", "ivo_ry", "Elephantidae"),
        ("pango.lin", "pango.lin", "Manidae"),
        ("p a n g o l i n scales", "p a n g o l i n scales", "Manidae"),
        ("象 牙 手镯", "象 牙", "Elephantidae"),
    ],
)
def test_separators_inside_a_word(
    matcher: SpeciesMatcher, text: str, term: str, taxon_name: str
) -> None:
    match = only(matcher, text)
    assert (match.term, match.taxon) == (term, taxon_name)
    assert match.note is not None and "separators inside the word" in match.note
    assert match.confidence < (TRADE_CONFIDENCE if taxon_name == "Elephantidae" else 1)


@pytest.mark.parametrize(
    ("text", "term", "taxon_name"),
    [
        ("Bán vảy t.ê t.ê hàng rừng", "vảy t.ê t.ê", "Manidae"),
        ("Bán r.á.i c.á vuốt bé 3 tháng", "r.á.i c.á vuốt bé", "Aonyx cinereus"),
        ("s.ừ.n.g t.ê châu Phi", "s.ừ.n.g t.ê", "Rhinocerotidae"),
    ],
)
def test_words_spelled_with_dots_keep_the_spaces_between_them(
    text: str, term: str, taxon_name: str
) -> None:
    """Dots join the letters of a word and spaces still part the words: 't.ê t.ê' is two
    words, tê tê, not one word 'tete' (while the spaces of 'i v o r y' join its letters)."""
    [match] = default_matcher().find(text)
    assert (match.term, match.taxon) == (term, taxon_name)


@pytest.mark.parametrize(
    ("text", "term", "taxon_name"),
    [
        ("pang**in scales 1kg", "pang**in scales", "Manidae"),
        ("i**ory bangle, old", "i**ory", "Elephantidae"),
        ("Vendo A*tro*phytum asterias pianta adulta", "A*tro*phytum asterias", "Astrophytum"),
        # an ending the term does not hold: крокодила is the genitive of крокодил
        ("Сумка из кожи нильского к***дила, Египет", "к***дила", "Crocodylia"),
    ],
)
def test_letters_masked_with_stars(text: str, term: str, taxon_name: str) -> None:
    match = next(m for m in default_matcher().find(text) if m.taxon == taxon_name)
    assert match.term == term
    assert match.note is not None and "letters masked" in match.note


@pytest.mark.parametrize(
    "text",
    [
        "5*** hotel near the beach, 2 nights",  # no letters shown
        "s**t happens mug, ceramic",  # too few letters to tell one word
        "f**king great deal on tyres",  # no lexicon word fits
    ],
)
def test_stars_that_mask_no_lexicon_word(text: str) -> None:
    assert default_matcher().find(text) == []


def test_words_that_happen_to_be_joined_by_a_hyphen_stay_apart(matcher: SpeciesMatcher) -> None:
    # Both pieces are words already: "rhino-horn" is the trade term, not a word "rhinohorn".
    match = only(matcher, "rhino-horn")
    assert (match.term, match.kind, match.note) == ("rhino-horn", "trade", None)
    assert matcher.find("U.S.A. and e.g. a b c") == []


@pytest.mark.parametrize(
    ("text", "term", "hidden"),
    [
        ("iv\u200bory", "iv\u200bory", 1),  # zero-width space
        ("pan\u00adgolin", "pan\u00adgolin", 1),  # soft hyphen
        ("i\u200dv\u200co\u2060ry\ufeff", "i\u200dv\u200co\u2060ry", 3),  # joiners, BOM
    ],
)
def test_invisible_characters_are_read_through(
    matcher: SpeciesMatcher, text: str, term: str, hidden: int
) -> None:
    match = only(matcher, text)
    assert match.term == term
    # The word is exactly the lexicon's once they are gone; the note says they were there.
    assert match.note is not None and f"through {hidden} invisible character" in match.note
    assert match.confidence in (COMMON_CONFIDENCE, TRADE_CONFIDENCE)


# -- misspellings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term", "target", "edits"),
    [
        ("pangoline", "pangoline", "pangolin", 1),  # 8 letters: one edit
        ("pnagolin", "pnagolin", "pangolin", 1),  # a swap counts one
        ("rhinocerous horn", "rhinocerous", "rhinoceros", 1),  # 10 letters: up to two
        ("rhinnocerros", "rhinnocerros", "rhinoceros", 2),
        ("rinocerus", "rinocerus", "rhinoceros", 2),
        ("stugreon", "stugreon", "sturgeon", 1),
        ("Paphiopedilium", "Paphiopedilium", "paphiopedilum", 1),  # a long genus
        ("Dalbergai", "Dalbergai", "dalbergia", 1),  # nine letters, at the limit
    ],
)
def test_misspellings_within_the_distance_for_their_length(
    matcher: SpeciesMatcher, text: str, term: str, target: str, edits: int
) -> None:
    [match] = [m for m in matcher.find(text) if m.term == term]
    assert match.note == f"matched '{term}' as '{target}' ({edits} edit{'s' if edits > 1 else ''})"
    prior = SCIENTIFIC_CONFIDENCE if match.kind == "scientific" else COMMON_CONFIDENCE
    assert match.confidence == pytest.approx(prior * MISSPELLING_FACTOR**edits, abs=1e-4)


@pytest.mark.parametrize(
    "text",
    [
        "ivry",  # "ivory" has five letters: never matched by a misspelling
        "ivroy",
        "tigr",
        "rhnio",
        "pngolinn",  # two edits from an eight-letter word
        "rnocerus",  # three edits from a ten-letter one
        "bangolin",  # the first letter is never the misspelt one
        "Pyhton",  # a word of scientific names only, shorter than eight letters
        "Elephantine",  # two edits from "Elephantidae": scientific names take one at most
        "surgeon",  # an ordinary word one edit from "sturgeon" (contexts.json)
        "carrot cake",  # ... and from "parrot", with another first letter
    ],
)
def test_what_is_never_read_as_a_misspelling(matcher: SpeciesMatcher, text: str) -> None:
    assert matcher.find(text) == []


def test_osa_distance() -> None:
    assert osa_distance("pangolin", "pangolin", 1) == 0
    assert osa_distance("pnagolin", "pangolin", 1) == 1
    assert osa_distance("rinocerus", "rhinoceros", 2) == 2
    assert osa_distance("rnocerus", "rhinoceros", 2) == 3  # capped at limit + 1


# -- plurals, inflections, compounds ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term", "taxon_name"),
    [
        ("zwei Elefanten", "Elefanten", "Elephantidae"),
        ("von Nashörnern", "Nashörnern", "Rhinocerotidae"),
        ("Продаю носорога", "носорога", "Rhinocerotidae"),
        ("изделие из слоновой кости", "слоновой кости", "Elephantidae"),
        ("elefantes africanos", "elefantes africanos", "Loxodonta africana"),
        ("zwei afrikanischen Elefanten", "afrikanischen Elefanten", "Loxodonta africana"),
        ("elefanti africani", "elefanti africani", "Loxodonta africana"),
    ],
)
def test_inflected_forms(matcher: SpeciesMatcher, text: str, term: str, taxon_name: str) -> None:
    match = only(matcher, text)
    assert (match.term, match.taxon) == (term, taxon_name)
    # An inflection is the word itself, as sure as the lexicon's form.
    assert match.confidence in (COMMON_CONFIDENCE, TRADE_CONFIDENCE)


def test_short_terms_are_not_inflected_or_taken_for_compounds(matcher: SpeciesMatcher) -> None:
    # "tiger" and "rhino" have five letters: "Tigerente" is a toy duck, "rhinoe" no word.
    assert matcher.find("Tigerente, Tigern, rhinoe") == []


def test_scientific_names_take_no_plural_even_inside_a_phrase(matcher: SpeciesMatcher) -> None:
    assert matcher.find("Dalbergias") == []


@pytest.mark.parametrize(
    ("text", "term", "taxon_name", "kind"),
    [
        ("Pangolinpanzer 2 kg", "Pangolin", "Manidae", "common"),
        ("Nashornpulver", "Nashorn", "Rhinocerotidae", "common"),
        ("Elfenbeinschnitzerei", "Elfenbein", "Elephantidae", "trade"),
        ("Babyelefant", "elefant", "Elephantidae", "common"),
        # The trade term keeps the confidence of the name inside it, as written out.
        ("#pangolinscales", "pangolinscales", "Manidae", "trade"),
    ],
)
def test_compounds_of_long_terms(
    matcher: SpeciesMatcher, text: str, term: str, taxon_name: str, kind: str
) -> None:
    match = only(matcher, text)
    assert (match.term, match.taxon, match.kind) == (term, taxon_name, kind)
    assert match.note is not None and "in the compound" in match.note
    prior = TRADE_CONFIDENCE if term == "Elfenbein" else COMMON_CONFIDENCE
    assert match.confidence == pytest.approx(prior * COMPOUND_FACTOR)


@pytest.mark.parametrize("text", ["elephantine proportions", "parroting slogans", "Tigerente"])
def test_derived_words_are_not_compounds(matcher: SpeciesMatcher, text: str) -> None:
    assert matcher.find(text) == []


def test_required_german_compound_with_the_shipped_lexicon() -> None:
    [match] = default_matcher().find("Pangolinschuppen 500 g")
    assert (match.taxon, match.appendix) == ("Manidae", "I")
    # The curated lexicon now lists the word itself; without it the compound rule finds it.
    assert match.term in ("Pangolinschuppen", "Pangolin")


# -- scripts without spaces stay as they were ------------------------------------------------------


def test_unspaced_scripts_still_match_inside_runs(matcher: SpeciesMatcher) -> None:
    found = [(m.term, m.taxon) for m in matcher.find("出售象牙手镯和大象")]
    assert found == [("象牙", "Elephantidae"), ("大象", "Elephantidae")]


# -- offsets, whatever the reading -----------------------------------------------------------------


def test_every_reading_indexes_the_original_text(matcher: SpeciesMatcher) -> None:
    text = (
        "ＦＵＬＬ ｗｉｄｔｈ: ｐ＠ｎｇｏｌｉｎ; Straße 5 – i.v.o.r.y, "
        "ß ﬁ iv\u200bory, Nashörnern, pangoline, 象 牙, Pangolinpanzer, 1v0ry"
    )
    matches = matcher.find(text)
    assert len(matches) == 8
    for match in matches:
        assert text[match.start : match.end] == match.term
        folded = normalise(match.term).text
        assert folded.strip() and not folded[0].isspace()


def test_a_matcher_with_its_readings_pickles(matcher: SpeciesMatcher) -> None:
    # The service caches built matchers as pickles (extension_backend/species_store.py).
    matcher.find("1v0ry")
    copy = pickle.loads(pickle.dumps(matcher))
    assert [m.to_dict() for m in copy.find("1v0ry, pangoline")] == [
        m.to_dict() for m in matcher.find("1v0ry, pangoline")
    ]
