"""Sanity of the shipped species lexicon, matching/data/lexicon.json."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import pytest
from opencc import OpenCC  # type: ignore[import-untyped]

from matching.species import APPENDICES, RANKS, default_matcher, term_key

LEXICON: dict[str, Any] = json.loads(
    resources.files("matching").joinpath("data/lexicon.json").read_text(encoding="utf-8")
)
TAXA: list[dict[str, Any]] = LEXICON["taxa"]
TAXON_NAMES = {entry["taxon"] for entry in TAXA}
REQUIRED_KEYS = {
    "taxon",
    "rank",
    "family",
    "order",
    "class",
    "appendix",
    "source",
    "scientific",
    "names",
}
OPTIONAL_KEYS = {"annotation", "trade_terms", "code_words", "names_omitted", "note", "spp_appendix"}
# Languages every animal species entry carries, unless `names_omitted` says why not.
ANIMAL_SPECIES_LANGUAGES = {"en", "fr", "es", "pt", "de", "zh", "vi"}
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?$")
# The languages online wildlife trade is conducted in; zh is Simplified (and forms common to
# both scripts), zh-Hant Traditional words that still differ once folded to Simplified,
# hi-Latn romanised Hindi, zh-Latn the pinyin initials Chinese sellers write for a word a
# platform filters (XY料 for 象牙料).
LANGUAGES = {
    "en", "fr", "es", "pt", "de", "it", "nl", "ru", "ar", "hi", "hi-Latn", "sw",
    "zh", "zh-Hant", "zh-Latn", "ja", "ko", "vi", "th", "id", "ms",
}  # fmt: skip
# Honest floors: how many entries carry names or trade terms in each language (a little
# below the counts of curated-2026.11.3, so that a careless deletion shows).
MIN_ENTRIES_PER_LANGUAGE = {
    "en": 178, "fr": 168, "es": 162, "pt": 148, "de": 170, "it": 160, "nl": 160, "ru": 165,
    "ar": 102, "hi": 64, "sw": 32, "zh": 176, "ja": 165, "ko": 140, "vi": 110,
    "th": 102, "id": 120, "ms": 80,
}  # fmt: skip
# Unicode character-name prefixes a letter or mark of a term may have, per language.
SCRIPTS = {
    "zh": ("CJK",),
    "zh-Hant": ("CJK",),
    "zh-Latn": ("LATIN", "CJK"),  # initials with the Chinese word they hide in: XY料
    "ja": ("CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC"),
    "ko": ("HANGUL",),
    "th": ("THAI",),
    "ar": ("ARABIC",),
    "hi": ("DEVANAGARI",),
    "ru": ("CYRILLIC",),
}
LATIN = ("LATIN",)
# Inflected forms the matcher cannot derive (it only adds -s/-es), listed on purpose.
INFLECTED_FORMS = [
    ("Elephantidae", "ru", ["слоновая кость", "слоновую кость", "из слоновой кости"]),
    ("Manidae", "ru", ["чешуя панголина", "чешуи панголина", "чешую панголина"]),
    ("Rhinocerotidae", "ru", ["рог носорога", "рога носорога"]),
    ("Panthera tigris", "ru", ["тигр", "тигра", "шкура тигра", "шкуру тигра"]),
    ("Acipenseriformes", "ru", ["чёрная икра", "черной икры", "черную икру"]),
    ("Elephantidae", "de", ["Stoßzahn", "Stoßzähne", "Elfenbeinschnitzerei"]),
    ("Manidae", "de", ["Schuppentier", "Schuppentiere", "Pangolinschuppen"]),
    ("Rhinocerotidae", "de", ["Nashorn", "Nashörner"]),
    ("Elephantidae", "nl", ["ivoor", "ivoren", "olifant", "olifanten"]),
    ("Elephantidae", "it", ["avorio", "avori"]),
]


def ids(entry: Mapping[str, Any]) -> str:
    return str(entry["taxon"])


def terms(value: Mapping[str, list[Any]] | None) -> Iterator[tuple[str, str]]:
    """(language, term) pairs of a {language: [term | {term, ...}]} map."""
    for language, items in (value or {}).items():
        for item in items:
            yield language, item if isinstance(item, str) else item["term"]


def keys_of(entry: Mapping[str, Any]) -> set[str]:
    found = {term_key(name) for name in entry["scientific"]}
    for field in ("names", "trade_terms", "code_words"):
        found |= {term_key(term) for _, term in terms(entry.get(field))}
    return found


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    assert not repeated, f"keys repeated in one object: {repeated}"
    return dict(pairs)


@pytest.mark.parametrize("name", ["lexicon.json", "contexts.json"])
def test_no_object_repeats_a_key(name: str) -> None:
    """A JSON reader keeps the last of two equal keys: a second "id" list in one entry's
    names would silently drop every term of the first."""
    text = resources.files("matching").joinpath(f"data/{name}").read_text(encoding="utf-8")
    json.loads(text, object_pairs_hook=_refuse_repeats)


def test_top_level() -> None:
    assert re.fullmatch(r"curated-\d{4}\.\d{1,2}\.\d+", LEXICON["version"])
    assert LEXICON["source"].strip()
    assert 40 <= len(TAXA) <= 300


@pytest.mark.parametrize("entry", TAXA, ids=ids)
def test_entry_shape(entry: dict[str, Any]) -> None:
    assert set(entry) >= REQUIRED_KEYS, REQUIRED_KEYS - set(entry)
    assert set(entry) <= REQUIRED_KEYS | OPTIONAL_KEYS, set(entry) - REQUIRED_KEYS - OPTIONAL_KEYS
    assert entry["source"] == "curated"
    assert entry["appendix"] in APPENDICES
    assert entry["rank"] in RANKS
    for field in ("family", "order", "class"):
        assert entry[field] is None or (isinstance(entry[field], str) and entry[field].strip())
    if "annotation" in entry:
        assert re.fullmatch(r"#\d+", entry["annotation"])


@pytest.mark.parametrize("entry", TAXA, ids=ids)
def test_entry_taxonomy_is_consistent(entry: dict[str, Any]) -> None:
    rank, taxon = entry["rank"], entry["taxon"]
    if rank == "SPECIES":
        assert re.fullmatch(r"[A-Z][a-z]+ [a-z]+(-[a-z]+)?", taxon)
        assert taxon in entry["scientific"]
    else:
        assert re.fullmatch(r"[A-Z][a-z]+", taxon)
        # A genus listed only in part (Corallium) names its listed species instead.
        assert (
            taxon in entry["scientific"]
            or f"{taxon} spp." in entry["scientific"]
            or (rank == "GENUS" and all(n.startswith(f"{taxon} ") for n in entry["scientific"][:1]))
        )
    if rank == "FAMILY":
        assert entry["family"] == taxon
    if rank == "ORDER":
        assert entry["order"] == taxon and entry["family"] is None


@pytest.mark.parametrize("entry", TAXA, ids=ids)
def test_terms_are_non_empty_and_unique_per_language(entry: dict[str, Any]) -> None:
    assert entry["scientific"], "every taxon needs a scientific form"
    for field in ("names", "trade_terms", "code_words"):
        for language, items in (entry.get(field) or {}).items():
            assert LANGUAGE.match(language), language
            assert items, f"{field}.{language} is empty"
            keys = []
            for item in items:
                if isinstance(item, dict):
                    assert set(item) <= {"term", "confidence", "note"}
                    assert 0 < item["confidence"] <= 1
                    item = item["term"]
                assert isinstance(item, str) and item == item.strip() and item
                keys.append(term_key(item))
            assert len(keys) == len(set(keys)), f"{field}.{language} repeats a term"
    assert entry.get("names") or entry.get("trade_terms"), (
        "no way to find this taxon in plain words"
    )


@pytest.mark.parametrize(
    "entry", [e for e in TAXA if e["class"] and e["rank"] == "SPECIES"], ids=ids
)
def test_animal_species_have_the_main_languages(entry: dict[str, Any]) -> None:
    omitted = entry.get("names_omitted", {})
    assert all(reason.strip() for reason in omitted.values())
    missing = ANIMAL_SPECIES_LANGUAGES - set(entry["names"]) - set(omitted)
    assert not missing, f"names missing for {sorted(missing)} with no reason in names_omitted"


def test_taxa_are_unique() -> None:
    names = [entry["taxon"] for entry in TAXA]
    assert len(names) == len(set(names))


def is_higher_taxon(higher: Mapping[str, Any], lower: Mapping[str, Any]) -> bool:
    """Whether `higher` is the genus, family, order or class of `lower`."""
    name = higher["taxon"]
    return name != lower["taxon"] and (
        name in (lower["family"], lower["order"], lower["class"])
        or str(lower["taxon"]).startswith(f"{name} ")
    )


def test_no_term_points_at_two_taxa() -> None:
    # One term, one taxon: the matcher would report both on the same words. A term may be
    # shared only by a taxon and one of its higher taxa, or where an entry's note says why.
    by_name = {entry["taxon"]: entry for entry in TAXA}
    owners: dict[str, set[str]] = defaultdict(set)
    for entry in TAXA:
        for key in keys_of(entry):
            owners[key].add(entry["taxon"])
    unexplained = {}
    for key, names in owners.items():
        entries = [by_name[name] for name in sorted(names)]
        for i, first in enumerate(entries):
            for second in entries[i + 1 :]:
                if is_higher_taxon(first, second) or is_higher_taxon(second, first):
                    continue
                if any(key in term_key(entry.get("note", "")) for entry in (first, second)):
                    continue
                unexplained[key] = sorted(names)
    assert unexplained == {}


def test_languages_covered() -> None:
    languages = {language for entry in TAXA for language in entry["names"]}
    assert {"en", "fr", "es", "pt", "de", "zh", "vi"} <= languages


def test_every_chinese_term_is_found_written_in_traditional_characters() -> None:
    # Traditional text folds onto Simplified, so each zh term serves Taiwan and Hong Kong too.
    to_traditional = OpenCC("s2t")
    pairs = [
        (entry["taxon"], term)
        for entry in TAXA
        for language, term in term_languages(entry)
        if language == "zh" and to_traditional.convert(term) != term
    ]
    assert len(pairs) > 100
    matcher = default_matcher()
    missed = [
        (taxon, term)
        for taxon, term in pairs
        if term_key(to_traditional.convert(term)) != term_key(term)
        or not matcher.find(f"出售 {to_traditional.convert(term)} 一件")
    ]
    assert not missed


def test_not_listed_entries() -> None:
    listed_keys = set().union(*(keys_of(entry) for entry in TAXA))
    not_listed = LEXICON["not_listed"]
    assert {
        "Nymphicus hollandicus",
        "Melopsittacus undulatus",
        "Agapornis roseicollis",
        "Psittacula krameri",
    } <= {entry["taxon"] for entry in not_listed}
    for entry in not_listed:
        assert entry["taxon"] not in TAXON_NAMES
        assert set(entry["suppresses"]) <= TAXON_NAMES
        assert len(entry["names"]) >= 3, "name the unlisted taxon in several languages"
        for _, name in terms(entry["names"]):
            assert name.strip() == name and name
            assert term_key(name) not in listed_keys, f"{name!r} is also a listed term"


@pytest.mark.parametrize("group", LEXICON["negative_contexts"], ids=lambda group: group["reason"])
def test_negative_contexts_cover_a_term_of_their_taxa(group: dict[str, Any]) -> None:
    assert group["reason"].strip()
    assert group["taxa"] and set(group["taxa"]) <= TAXON_NAMES
    keys = set().union(*(keys_of(entry) for entry in TAXA if entry["taxon"] in group["taxa"]))
    for _, phrase in terms(group["phrases"]):
        phrase_key = term_key(phrase)
        assert any(key in phrase_key for key in keys), (
            f"{phrase!r} contains no term of {group['taxa']}"
        )


def term_languages(entry: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(language, term) pairs of every term field of an entry, taxon or not-listed."""
    for field in ("names", "trade_terms", "code_words"):
        yield from terms(entry.get(field))


@pytest.mark.parametrize("entry", TAXA + LEXICON["not_listed"], ids=ids)
def test_languages_are_known(entry: dict[str, Any]) -> None:
    used = {language for language, _ in term_languages(entry)}
    assert used <= LANGUAGES, used - LANGUAGES
    assert set(entry.get("names_omitted", {})) <= LANGUAGES | {"*"}


@pytest.mark.parametrize(("language", "minimum"), sorted(MIN_ENTRIES_PER_LANGUAGE.items()))
def test_each_language_names_enough_taxa(language: str, minimum: int) -> None:
    covered = [
        entry["taxon"]
        for entry in TAXA
        if entry["names"].get(language) or (entry.get("trade_terms") or {}).get(language)
    ]
    assert len(covered) >= minimum, f"{language}: {len(covered)} entries"


@pytest.mark.parametrize("language", sorted(MIN_ENTRIES_PER_LANGUAGE.keys() - {"zh-Hant", "ms"}))
def test_flagship_products_have_trade_terms(language: str) -> None:
    # Ivory, pangolin scales, rhino horn and shark fin in every trade language (zh-Hant and
    # ms only where their forms differ from zh and id).
    for taxon in ("Elephantidae", "Manidae", "Rhinocerotidae", "Carcharhinidae"):
        entry = next(entry for entry in TAXA if entry["taxon"] == taxon)
        assert (entry.get("trade_terms") or {}).get(language), f"{taxon}: no {language} term"


def script_of(char: str, allowed: tuple[str, ...]) -> bool:
    return unicodedata.name(char, "").startswith(allowed)


@pytest.mark.parametrize("entry", TAXA + LEXICON["not_listed"], ids=ids)
def test_terms_are_written_in_the_script_of_their_language(entry: dict[str, Any]) -> None:
    for language, term in term_languages(entry):
        allowed = SCRIPTS.get(language, LATIN)
        letters = [c for c in term if unicodedata.category(c)[0] in "LM"]
        assert letters, f"{language}: {term!r} has no letters"
        wrong = [c for c in letters if not script_of(c, allowed)]
        assert not wrong, f"{language}: {term!r} has {wrong} outside {allowed}"


@pytest.mark.parametrize("entry", TAXA + LEXICON["not_listed"], ids=ids)
def test_traditional_chinese_lists_only_forms_that_differ(entry: dict[str, Any]) -> None:
    simplified = {term_key(term) for language, term in term_languages(entry) if language == "zh"}
    traditional = {
        term_key(term) for language, term in term_languages(entry) if language == "zh-Hant"
    }
    assert not simplified & traditional, simplified & traditional


def test_not_listed_names_never_sit_inside_a_term_they_suppress() -> None:
    # A not-listed name inside a listed term of a taxon it suppresses would cancel that
    # term wherever it appears ("aruanã" inside "aruanã-asiático").
    by_name = {entry["taxon"]: entry for entry in TAXA}
    for entry in LEXICON["not_listed"]:
        names = [term_key(name) for name in entry.get("scientific", [])]
        names += [term_key(name) for _, name in terms(entry["names"])]
        for taxon in entry["suppresses"]:
            for key in keys_of(by_name[taxon]):
                inside = [name for name in names if name in key and name != key]
                assert not inside, f"{entry['taxon']}: {inside} inside {taxon}'s {key!r}"


@pytest.mark.parametrize(("taxon", "language", "forms"), INFLECTED_FORMS)
def test_inflected_forms_are_listed(taxon: str, language: str, forms: list[str]) -> None:
    entry = next(entry for entry in TAXA if entry["taxon"] == taxon)
    keys = {term_key(term) for lang, term in term_languages(entry) if lang == language}
    missing = [form for form in forms if term_key(form) not in keys]
    assert not missing


def test_confidence_below_flagging_is_explained() -> None:
    # A term kept below the flagging threshold (0.5) says why in its note.
    for entry in TAXA:
        for field in ("names", "trade_terms"):
            for items in (entry.get(field) or {}).values():
                for item in items:
                    if isinstance(item, dict) and item["confidence"] < 0.5:
                        assert item.get("note", "").strip(), (entry["taxon"], item["term"])
