"""Sanity of the labelled species evaluation set, tests/data/species_eval.jsonl.

The set is scored by `benchmarks/species_eval.py`; these tests only check that it is well
formed and covers what it claims to cover (every language, every group of traded taxa,
every kind of look-alike), so a score on it means something.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from benchmarks.species_eval import LANGUAGES as EVAL_LANGUAGES
from tests.helpers import read_jsonl

DATA = Path(__file__).resolve().parents[1] / "data" / "species_eval.jsonl"

REQUIRED_KEYS = {"id", "lang", "group", "text", "flagged", "taxa", "appendix", "kind"}
REQUIRED_KEYS |= {"phenomenon", "split"}
OPTIONAL_KEYS = {"title", "note"}
LANGUAGES = set(EVAL_LANGUAGES)  # the languages the scorer reports, in its order
# Groups of traded taxa the set must cover with at least three positives each.
GROUPS = {
    "ivory",
    "pangolin",
    "rhino",
    "big_cat",
    "bear",
    "primate",
    "parrot",
    "hornbill",
    "sea_turtle",
    "tortoise",
    "crocodilian",
    "python_boa",
    "monitor",
    "chameleon",
    "gecko",
    "frog",
    "axolotl",
    "shark_ray",
    "sturgeon",
    "eel",
    "totoaba",
    "seahorse",
    "coral",
    "conch",
    "tarantula",
    "butterfly",
    "agarwood",
    "rosewood",
    "orchid",
    "cactus",
    "succulent",
    "pitcher_plant",
    "snowdrop",
    "monkey_puzzle",
    "saiga",
    "musk",
    "shahtoosh",
}
# A few listings beyond the required groups: later rounds of the fresh set brought sea
# cucumbers, cycads and tree ferns, owls and other birds, other mammals and fish, and bulbs.
EXTRA_GROUPS = {"falcon", "otter", "lizard", "none", "sea_cucumber", "tree", "bird", "mammal"}
EXTRA_GROUPS |= {"fish", "bulb"}
# Kinds of look-alike every matcher trips on; each needs at least three hard negatives.
HARD_NEGATIVE_PHENOMENA = {
    "colour",
    "brand",
    "print",
    "toy",
    "replica",
    "faux",
    "french_ivory",
    "vegetable_ivory",
    "bone_china",
    "shaped",
    "media",
    "not_listed",
}
KINDS = {"positive", "hard_negative", "negative"}
APPENDICES = {"I", "II", "III"}
ID = re.compile(r"^[a-z]{2}(-Hant)?-[a-z-]+-\d{3}$")
TAXON = re.compile(r"^[A-Z][a-z]+( [a-z]+(-[a-z]+)?){0,2}$")  # "Agave victoriae-reginae"
# Taxa the labels name that matching/data/lexicon.json did not hold when the set was written
# (November 2026). A label may name them; each is a gap for the lexicon to consider, not an
# error in the set. Names outside the lexicon and this list are typos until shown otherwise.
KNOWN_LEXICON_GAPS = {
    "Acipenser baerii",
    "Acipenser gueldenstaedtii",
    "Acropora",
    "Agalychnis callidryas",
    "Agapornis fischeri",
    "Alligator mississippiensis",
    "Aloe",
    "Aloe polyphylla",
    "Amazona",
    "Amazona aestiva",
    "Amazona oratrix",
    "Ara ararauna",
    "Ara chloropterus",
    "Ara macao",
    "Aratinga solstitialis",
    "Ariocarpus",
    "Astrophytum asterias",
    "Boa constrictor",
    "Boa imperator",
    "Brachypelma hamorii",
    "Buceros bicornis",
    "Buceros rhinoceros",
    "Cacatua alba",
    "Cacatua galerita",
    "Cacatua moluccensis",
    "Cacatua sulphurea",
    "Caiman crocodilus",
    "Caiman yacare",
    "Callithrix",
    "Callithrix jacchus",
    "Callitrichidae",
    "Cebuella pygmaea",
    "Centrochelys sulcata",
    "Chamaeleo calyptratus",
    "Chelonia mydas",
    "Chelonoidis carbonarius",
    "Chlorocebus",
    "Coralliidae",
    "Corallium elatius",
    "Corallium japonicum",
    "Crocodylus niloticus",
    "Crocodylus siamensis",
    "Dalbergia cochinchinensis",
    "Dalbergia odorifera",
    "Dalbergia oliveri",
    "Dalbergia retusa",
    "Dalbergia tonkinensis",
    "Dendrobates tinctorius",
    "Dendrobatidae",
    "Dendrobium",
    "Eclectus roratus",
    "Eolophus roseicapilla",
    "Euphorbia",
    "Euphorbia obesa",
    "Eupsittula canicularis",
    "Falco cherrug",
    "Falconidae",
    "Felidae",
    "Furcifer pardalis",
    "Gyrinops",
    "Huso huso",
    "Hylidae",
    "Hylobatidae",
    "Lamnidae",
    "Leontopithecus rosalia",
    "Leopardus pardalis",
    "Lophophora williamsii",
    "Lorius",
    "Lorius lory",
    "Lynx lynx",
    "Macaca",
    "Macaca fascicularis",
    "Macaca mulatta",
    "Macaca nemestrina",
    "Malacochersus tornieri",
    "Malayopython reticulatus",
    "Melursus ursinus",
    "Moschus moschiferus",
    "Neofelis nebulosa",
    "Nepenthes rajah",
    "Ornithoptera alexandrae",
    "Ornithoptera paradisea",
    "Ornithoptera priamus",
    "Pachypodium",
    "Pachypodium rosulatum",
    "Panthera onca",
    "Papilionidae",
    "Pleione formosana",
    "Pleurocorallium elatius",
    "Poecilotheria metallica",
    "Primates",
    "Psittacula eupatria",
    "Python bivittatus",
    "Python sebae",
    "Pythonidae",
    "Sapajus",
    "Scleractinia",
    "Testudo hermanni",
    "Testudo horsfieldii",
    "Theraphosidae",
    "Trioceros jacksonii",
    "Trogonoptera brookiana",
    "Troides",
    "Uromastyx",
    "Uromastyx aegyptia",
    "Ursus americanus",
    "Ursus arctos",
    "Ursus maritimus",
    "Varanus bengalensis",
    "Varanus exanthematicus",
    "Varanus griseus",
    "Varanus nebulosus",
    "Varanus salvator",
}


ITEMS = read_jsonl(DATA)
POSITIVES = [item for item in ITEMS if item["flagged"]]
NEGATIVES = [item for item in ITEMS if not item["flagged"]]
LEXICON_TAXA = {
    entry["taxon"]
    for entry in json.loads(
        resources.files("matching").joinpath("data/lexicon.json").read_text(encoding="utf-8")
    )["taxa"]
}


def test_size() -> None:
    assert 600 <= len(ITEMS) <= 1500


def test_ids_are_unique_and_well_formed() -> None:
    ids = Counter(item["id"] for item in ITEMS)
    assert not [i for i, n in ids.items() if n > 1]
    assert not [i for i in ids if not ID.match(i)]
    assert all(item["id"].startswith(item["lang"] + "-") for item in ITEMS)


def test_texts_are_unique() -> None:
    texts = Counter((item.get("title"), item["text"]) for item in ITEMS)
    assert not [t for t, n in texts.items() if n > 1]


def shape_problems(item: dict[str, Any]) -> list[str]:
    """What is wrong with one listing's keys and values (empty when nothing is)."""
    problems = []
    if not item.keys() >= REQUIRED_KEYS:
        return [f"missing {sorted(REQUIRED_KEYS - item.keys())}"]
    if item.keys() - REQUIRED_KEYS - OPTIONAL_KEYS:
        problems.append(f"unknown keys {sorted(item.keys() - REQUIRED_KEYS - OPTIONAL_KEYS)}")
    if item["lang"] not in LANGUAGES:
        problems.append(f"lang {item['lang']!r}")
    if item["group"] not in GROUPS | EXTRA_GROUPS:
        problems.append(f"group {item['group']!r}")
    for key in ("text", "title", "note"):
        value = item.get(key, "x")
        if not (isinstance(value, str) and value.strip()):
            problems.append(f"{key} empty or not a string")
    if not isinstance(item["flagged"], bool):
        problems.append("flagged not a bool")
    if item["kind"] not in KINDS:
        problems.append(f"kind {item['kind']!r}")
    if not (isinstance(item["phenomenon"], str) and re.fullmatch(r"[a-z_]+", item["phenomenon"])):
        problems.append(f"phenomenon {item['phenomenon']!r}")
    if item["split"] not in {"dev", "holdout"}:
        problems.append(f"split {item['split']!r}")
    taxa = item["taxa"]
    if item["flagged"] is True:
        if item["kind"] != "positive" or item["group"] == "none":
            problems.append("flagged but not a positive of a group")
        if not (isinstance(taxa, list) and taxa and len(set(taxa)) == len(taxa)):
            problems.append("taxa must be a non-empty list without repeats")
        elif not all(isinstance(t, str) and TAXON.match(t) for t in taxa):
            problems.append(f"taxa not scientific names: {taxa}")
        if item["appendix"] not in APPENDICES:
            problems.append(f"appendix {item['appendix']!r}")
    elif item["kind"] == "positive" or taxa != [] or item["appendix"] is not None:
        problems.append("a negative has no taxa, no appendix and is not kind 'positive'")
    return problems


def test_every_listing_is_well_formed() -> None:
    problems = {item.get("id", "?"): p for item in ITEMS if (p := shape_problems(item))}
    assert not problems


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_language_has_positives_and_negatives(language: str) -> None:
    positives = sum(1 for item in POSITIVES if item["lang"] == language)
    negatives = sum(1 for item in NEGATIVES if item["lang"] == language)
    assert positives >= 10, f"{language}: {positives} positives"
    assert negatives >= 5, f"{language}: {negatives} negatives"


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_group_has_positives(group: str) -> None:
    assert sum(1 for item in POSITIVES if item["group"] == group) >= 3


def test_every_hard_negative_phenomenon_has_examples() -> None:
    counts = Counter(item["phenomenon"] for item in ITEMS if item["kind"] == "hard_negative")
    assert counts.keys() >= HARD_NEGATIVE_PHENOMENA, HARD_NEGATIVE_PHENOMENA - counts.keys()
    assert not {p: n for p, n in counts.items() if n < 3}


def test_labels_name_taxa_the_lexicon_holds_or_known_gaps() -> None:
    unknown = Counter(
        taxon
        for item in POSITIVES
        for taxon in item["taxa"]
        if taxon not in LEXICON_TAXA and taxon not in KNOWN_LEXICON_GAPS
    )
    assert not unknown, f"neither in the lexicon nor a known gap (typo?): {sorted(unknown)}"


def test_most_labels_name_a_taxon_of_the_lexicon() -> None:
    # Labels whose every taxon is a gap are real listings the lexicon cannot match yet; they
    # must stay a minority, or the set measures the lexicon's scope rather than the matcher.
    outside = [item["id"] for item in POSITIVES if not set(item["taxa"]) & LEXICON_TAXA]
    assert len(outside) <= 0.15 * len(POSITIVES), outside


def test_holdout_share() -> None:
    holdout = sum(1 for item in ITEMS if item["split"] == "holdout")
    assert 0.10 <= holdout / len(ITEMS) <= 0.25
    for language in LANGUAGES:
        assert any(i["split"] == "holdout" for i in ITEMS if i["lang"] == language), language
