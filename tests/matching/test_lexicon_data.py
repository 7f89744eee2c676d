"""Sanity of the shipped species lexicon, matching/data/lexicon.json."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import pytest

from matching.species import APPENDICES, RANKS, term_key

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
OPTIONAL_KEYS = {"annotation", "trade_terms", "code_words", "names_omitted", "note"}
# Languages every animal species entry carries, unless `names_omitted` says why not.
ANIMAL_SPECIES_LANGUAGES = {"en", "fr", "es", "pt", "de", "zh", "vi"}
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?$")


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


def test_top_level() -> None:
    assert re.fullmatch(r"curated-\d{4}\.\d{1,2}\.\d+", LEXICON["version"])
    assert LEXICON["source"].strip()
    assert 40 <= len(TAXA) <= 100


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
        assert re.fullmatch(r"[A-Z][a-z]+ [a-z]+", taxon)
        assert taxon in entry["scientific"]
    else:
        assert re.fullmatch(r"[A-Z][a-z]+", taxon)
        assert taxon in entry["scientific"] or f"{taxon} spp." in entry["scientific"]
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


def test_no_term_points_at_two_taxa() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for entry in TAXA:
        for key in keys_of(entry):
            owners[key].add(entry["taxon"])
    assert {key: owner for key, owner in owners.items() if len(owner) > 1} == {}


def test_languages_covered() -> None:
    languages = {language for entry in TAXA for language in entry["names"]}
    assert {"en", "fr", "es", "pt", "de", "zh", "zh-Hant", "vi"} <= languages


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
