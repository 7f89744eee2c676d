"""Sanity of the fresh species evaluation set, tests/data/species_fresh.jsonl.

Written in sixty rounds (splits "fresh" to "fresh60"), like the blind set, by writers who
saw neither the matcher, its lexicon and context rules nor the other sets; each round was
scored once as written (the figure for listings never seen) and then tuned on. These
tests check only that it is well formed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.helpers import read_jsonl
from tests.matching.test_species_blind_data import shape_problems
from tests.matching.test_species_eval_data import LANGUAGES

DATA = Path(__file__).resolve().parents[1] / "data" / "species_fresh.jsonl"
ITEMS = read_jsonl(DATA)
ROUNDS = {
    "fresh": 440,
    "fresh2": 420,
    "fresh3": 390,
    "fresh4": 300,
    "fresh5": 300,
    "fresh6": 300,
    "fresh7": 301,
    "fresh8": 240,
    "fresh9": 289,
    "fresh10": 282,
    "fresh11": 285,
    "fresh12": 294,
    "fresh13": 284,
    "fresh14": 280,
    "fresh15": 284,
    "fresh16": 295,
    "fresh17": 280,
    "fresh18": 281,
    "fresh19": 281,
    "fresh20": 286,
    "fresh21": 291,
    "fresh22": 296,
    "fresh23": 280,
    "fresh24": 293,
    "fresh25": 266,
    "fresh26": 260,
    "fresh27": 251,
    "fresh28": 254,
    "fresh29": 256,
    "fresh30": 250,
    "fresh31": 240,
    "fresh32": 244,
    "fresh33": 220,
    "fresh34": 216,
    "fresh35": 228,
    "fresh36": 245,
    "fresh37": 240,
    "fresh38": 244,
    "fresh39": 240,
    "fresh40": 246,
    "fresh41": 240,
    "fresh42": 250,
    "fresh43": 240,
    "fresh44": 240,
    "fresh45": 250,
    "fresh46": 208,
    "fresh47": 240,
    "fresh48": 240,
    "fresh49": 240,
    "fresh50": 240,
    "fresh51": 240,
    "fresh52": 239,
    "fresh53": 240,
    "fresh54": 239,
    "fresh55": 240,
    "fresh56": 240,
    "fresh57": 240,
    "fresh58": 239,
    "fresh59": 240,
    "fresh60": 239,
}


def test_every_listing_is_well_formed() -> None:
    problems = {
        item.get("id", "?"): p
        for item in ITEMS
        if (p := shape_problems(item, item["split"] if item.get("split") in ROUNDS else "fresh"))
    }
    assert not problems


def test_every_round_is_there() -> None:
    assert Counter(item["split"] for item in ITEMS) == ROUNDS


def test_ids_and_texts_are_unique() -> None:
    assert len({item["id"] for item in ITEMS}) == len(ITEMS)
    texts = Counter((item.get("title"), item["text"]) for item in ITEMS)
    assert not [t for t, n in texts.items() if n > 1]


def test_every_language_has_positives_and_look_alikes() -> None:
    for language in LANGUAGES:
        items = [item for item in ITEMS if item["lang"] == language]
        assert sum(item["flagged"] for item in items) >= 4, language
        assert sum(not item["flagged"] for item in items) >= 3, language
