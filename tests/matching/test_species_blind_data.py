"""Sanity of the blind species evaluation set, tests/data/species_blind.jsonl.

The blind set was written without looking at the matcher, its lexicon or the main evaluation
set, so a score on it says how the matcher does on listings nobody tuned it on. These tests
only check that it is well formed and covers what it claims to cover; they deliberately do
not check its taxa against the lexicon (a taxon the lexicon lacks is a finding, not an error).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import read_jsonl
from tests.matching.test_species_eval_data import (
    APPENDICES,
    EXTRA_GROUPS,
    GROUPS,
    HARD_NEGATIVE_PHENOMENA,
    ID,
    KINDS,
    LANGUAGES,
    OPTIONAL_KEYS,
    REQUIRED_KEYS,
    TAXON,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "species_blind.jsonl"

# Look-alikes the blind set adds to those of the main set; every one needs four examples.
BLIND_HARD_NEGATIVE_PHENOMENA = HARD_NEGATIVE_PHENOMENA | {
    "advocacy",
    "negation",
    "other_meaning",
    "supplies",
}
# Languages with the most marketplace traffic get more listings than the rest.
BIG_LANGUAGES = {"en", "fr", "es", "pt", "de", "zh", "vi", "id"}

ITEMS = read_jsonl(DATA)
POSITIVES = [item for item in ITEMS if item["flagged"]]


def test_size_and_mix() -> None:
    assert 280 <= len(ITEMS) <= 450
    kinds = Counter(item["kind"] for item in ITEMS)
    assert 0.50 <= kinds["positive"] / len(ITEMS) <= 0.70
    assert 0.25 <= kinds["hard_negative"] / len(ITEMS) <= 0.45
    assert 0.02 <= kinds["negative"] / len(ITEMS) <= 0.10


def test_ids_are_unique_and_well_formed() -> None:
    ids = Counter(item["id"] for item in ITEMS)
    assert not [i for i, n in ids.items() if n > 1]
    assert not [i for i in ids if not ID.match(i)]
    assert all(item["id"].startswith(item["lang"] + "-") for item in ITEMS)


def test_texts_are_unique() -> None:
    texts = Counter((item.get("title"), item["text"]) for item in ITEMS)
    assert not [t for t, n in texts.items() if n > 1]


def shape_problems(item: dict[str, Any], split: str = "blind") -> list[str]:
    """What is wrong with one listing's keys and labels (empty when nothing is)."""
    if not item.keys() >= REQUIRED_KEYS:
        return [f"missing {sorted(REQUIRED_KEYS - item.keys())}"]
    problems = []
    if extra := item.keys() - REQUIRED_KEYS - OPTIONAL_KEYS:
        problems.append(f"unknown keys {sorted(extra)}")
    if item["lang"] not in LANGUAGES:
        problems.append(f"lang {item['lang']!r}")
    if item["group"] not in GROUPS | EXTRA_GROUPS:
        problems.append(f"group {item['group']!r}")
    for key in ("text", "title", "note"):
        value = item.get(key, "x")
        if not (isinstance(value, str) and value.strip()):
            problems.append(f"{key} empty or not a string")
    if item["kind"] not in KINDS:
        problems.append(f"kind {item['kind']!r}")
    if not (isinstance(item["phenomenon"], str) and re.fullmatch(r"[a-z_]+", item["phenomenon"])):
        problems.append(f"phenomenon {item['phenomenon']!r}")
    if item["split"] != split:
        problems.append(f"split {item['split']!r}")
    flagged, taxa, appendix = item["flagged"], item["taxa"], item["appendix"]
    if not isinstance(flagged, bool) or not isinstance(taxa, list):
        return [*problems, "flagged not a bool or taxa not a list"]
    # flagged <=> a positive <=> it names taxa <=> it names an Appendix
    if len({flagged, item["kind"] == "positive", bool(taxa), appendix is not None}) > 1:
        problems.append("flagged, kind, taxa and appendix disagree")
    if flagged and item["group"] == "none":
        problems.append("a positive needs a group")
    if len(set(taxa)) != len(taxa) or not all(isinstance(t, str) and TAXON.match(t) for t in taxa):
        problems.append(f"taxa not distinct scientific names: {taxa}")
    if appendix is not None and appendix not in APPENDICES:
        problems.append(f"appendix {appendix!r}")
    return problems


def test_every_listing_is_well_formed() -> None:
    problems = {item.get("id", "?"): p for item in ITEMS if (p := shape_problems(item))}
    assert not problems


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_language_is_covered(language: str) -> None:
    items = [item for item in ITEMS if item["lang"] == language]
    assert len(items) >= (20 if language in BIG_LANGUAGES else 8), len(items)
    assert sum(item["flagged"] for item in items) >= 4
    assert sum(not item["flagged"] for item in items) >= 3


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_group_has_positives(group: str) -> None:
    assert sum(1 for item in POSITIVES if item["group"] == group) >= 3


def test_every_hard_negative_phenomenon_has_examples() -> None:
    counts = Counter(item["phenomenon"] for item in ITEMS if item["kind"] == "hard_negative")
    missing = BLIND_HARD_NEGATIVE_PHENOMENA - counts.keys()
    assert not missing
    assert not {p: n for p, n in counts.items() if n < 4}


def test_hard_negatives_span_languages() -> None:
    # Look-alikes in English only would measure English; each kind must show up elsewhere too.
    languages: dict[str, set[str]] = {}
    for item in ITEMS:
        if item["kind"] == "hard_negative":
            languages.setdefault(item["phenomenon"], set()).add(item["lang"])
    assert not {p: sorted(langs) for p, langs in languages.items() if len(langs) < 3}
