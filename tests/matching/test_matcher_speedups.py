"""The matchers' shortcuts give exactly what the long way gives.

`SpeciesMatcher._reads_as_written` skips the word-by-word respelling pass for texts that
need none (remembering plain words and tokens, the readings of the other tokens, and whether
a word so read may form a key between its neighbours), and `jurisdiction._find_names`
finds place names with an automaton instead of a loop over word windows. Each is checked
against the long way on every text of the evaluation sets plus texts written to sit on the
shortcuts' edges.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matching import jurisdiction
from matching.species import SpeciesMatcher, default_matcher
from matching.text import normalise

DATA = Path(__file__).resolve().parent.parent / "data"

EDGES = [
    "i v o r y bangle",  # spelled out
    "i.v.o.r.y and 5 i v o r y",
    "ivo_ry carving, pango.lin scales",  # taken apart
    "hand-carved tusk",  # a dash inside a word
    "rhino-horn cup",
    "a 5000 EUR tusk, 1 kg, m/h",  # single letters that are not spelled words
    "elefantes africanos, afrikanischen Elefanten",  # inflections
    "ivroy necklace, pangolim scales",  # misspellings
    "象 牙 手镯",  # spelled out without spaces
    "出售rhino角",  # scripts meeting
    "Pangolinschuppen 500 g",
    "$ivory @pangolin!scales",
    "nice elephnts for sale",  # a misspelt plural: a key with its plural ending
    "selling tortoyses, african elephnts tusks",
    "",
]


def _texts() -> list[str]:
    texts = list(EDGES)
    for name in ("species_eval.jsonl", "jurisdiction_eval.jsonl"):
        for line in (DATA / name).read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append("\n".join(p for p in (row.get("title"), row.get("text")) if p))
    texts += (DATA / "non_wildlife_listings.txt").read_text("utf-8").splitlines()
    return texts


TEXTS = _texts()


def test_reading_shortcut_changes_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    matcher = default_matcher()
    fast = [matcher.assess(text).to_dict() for text in TEXTS]
    monkeypatch.setattr(SpeciesMatcher, "_reads_as_written", lambda self, c, f: False)
    monkeypatch.setattr(SpeciesMatcher, "_words_read_plainly", lambda self, c: False)
    slow_matcher = SpeciesMatcher.from_bytes(
        (Path(jurisdiction.__file__).parent / "data" / "lexicon.json").read_bytes()
    )
    slow = [slow_matcher.assess(text).to_dict() for text in TEXTS]
    assert fast == slow
    assert sum(1 for result in slow if result["matches"]) > 500  # the texts do match things


def test_reading_shortcut_is_taken_for_plain_text_only() -> None:
    matcher = default_matcher()

    def shortcut(text: str) -> bool:
        folded = normalise(text).text
        canonical = " ".join(folded.split())
        return matcher._reads_as_written(canonical, folded)

    assert shortcut("Selling my office desk, good condition, 40 EUR")
    assert shortcut("Vendo bicicleta de niño, 50 euros")
    assert not shortcut("i v o r y bangle")
    assert not shortcut("ivo_ry carving")
    assert not shortcut("elefante africnao")  # a misspelling to read


def test_remembered_words_and_tokens_change_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """A matcher that remembers the words and tokens it found plain (all texts met twice,
    and with memories small enough to be cleared often) reads every text as one that
    starts from nothing does."""
    matcher = SpeciesMatcher.from_bytes(
        (Path(jurisdiction.__file__).parent / "data" / "lexicon.json").read_bytes()
    )
    texts = [*TEXTS, *NEIGHBOURS]

    def forgetful(text: str) -> dict[str, object]:
        matcher._forget_plain()
        return matcher.assess(text).to_dict()

    fresh = [forgetful(text) for text in texts]
    warm = [matcher.assess(text).to_dict() for text in texts + texts][len(texts) :]
    assert warm == fresh
    assert matcher._plain_tokens  # the memory was used
    monkeypatch.setattr("matching.species.PLAIN_WORDS_REMEMBERED", 50)
    bounded = [matcher.assess(text).to_dict() for text in texts]
    assert bounded == fresh
    assert len(matcher._plain_words) <= 50 + 200 and len(matcher._plain_tokens) <= 50 + 200
    assert len(matcher._token_readings) <= 50 + 200 and len(matcher._key_forming) <= 50 + 200


# The same words read otherwise next to other neighbours, with and without marks that may
# take a word apart ("3.5", "km/h", "Wi-Fi", "pango.lin").
NEIGHBOURS = [
    "pots de miel, ships 1v0ry",
    "ships pots de miel",
    "i v o r y pots",
    "elefantes africanos",
    "elefantes grandes, africanos elefantes",
    "afrikanischen Elefanten, afrikanischen Tisch",
    "à vendre, vendre ivoire, ivoire à vendre",
    "3.5 kg elefantes africanos",
    "Wi-Fi router, elefantes africanos, 25 km/h",
    "size 8 a pangolim scales",
    "pango.lin 1.5 kg, ships pots",
    "Nashörnern 2 m; Pangolinschuppen 0-3 months",
    "Wi-Fi router, 3.5 kg, 25 km/h, size 8 a",
    "i.v.o.r.y 3.5 kg",
    "ivo_ry, 2 m",
]


def test_remembered_readings_change_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """The remembered readings of tokens, and whether a word so read may form a key between
    its neighbours, give what the long way (every text read word by word) gives; so does
    a text sent the long way by a mark that takes no word apart and holds no word that
    reads otherwise ("3.5 kg", "Wi-Fi router")."""
    texts = [*TEXTS[::3], *NEIGHBOURS, *NEIGHBOURS]
    lexicon = (Path(jurisdiction.__file__).parent / "data" / "lexicon.json").read_bytes()
    fast = SpeciesMatcher.from_bytes(lexicon)
    quick = [fast.assess(text).to_dict() for text in texts]
    assert fast._token_readings and fast._key_forming  # the memories were used
    monkeypatch.setattr(SpeciesMatcher, "_words_read_plainly", lambda self, c: False)
    monkeypatch.setattr(SpeciesMatcher, "_readings", lambda self, c: {"": None})
    slow = SpeciesMatcher.from_bytes(lexicon)
    assert [slow.assess(text).to_dict() for text in texts] == quick


def _find_names_the_long_way(folded: str, start: int, end: int) -> list[tuple[int, int, str, int]]:
    """Place names by trying every run of words, longest first, as the matcher once did."""
    names: dict[str, tuple[str, int]] = {}
    spaceless: dict[str, tuple[str, int]] = {}
    index = jurisdiction._places()
    for automaton, into in ((index.word_automaton, names), (index.spaceless_automaton, spaceless)):
        for key in automaton.keys():  # noqa: SIM118 - an automaton, not a dict
            into[key] = automaton.get(key)[1]
    longest = max(key.count(" ") + 1 for key in names)
    tokens = [
        (m.start(), m.end(), m.group()) for m in jurisdiction._WORD.finditer(folded, start, end)
    ]
    found = []
    i = 0
    while i < len(tokens):
        for size in range(min(longest, len(tokens) - i), 0, -1):
            key = " ".join(token[2] for token in tokens[i : i + size])
            if key in names:
                found.append((tokens[i][0], tokens[i + size - 1][1], *names[key]))
                i += size
                break
        else:
            i += 1
    for position in range(start, end):
        if jurisdiction._SPACELESS.match(folded, position):
            for key, value in spaceless.items():
                if folded.startswith(key, position, end):
                    found.append((position, position + len(key), *value))
    found.sort(key=lambda match: (match[0], -match[1]))
    kept: list[tuple[int, int, str, int]] = []
    for match in found:
        if not kept or match[0] >= kept[-1][1]:
            kept.append(match)
    return kept


@pytest.mark.parametrize("chunk", range(4))
def test_place_automaton_finds_what_the_long_way_finds(chunk: int) -> None:
    texts = [
        *TEXTS[chunk::4],
        "Ciudad  de-México, envío",
        " Hà Nội, Việt Nam",
        "ships from: the United Kingdom!",
        "東京都から発送、北京、台北",
        "กรุงเทพมหานคร ส่งฟรี",
    ]
    found_any = False
    for text in texts:
        folded = normalise(jurisdiction._composed(text)).text
        expected = _find_names_the_long_way(folded, 0, len(folded))
        assert jurisdiction._find_names(folded, 0, len(folded)) == expected, text
        found_any |= bool(expected)
    assert found_any


def test_a_misspelt_plural_is_read_with_or_without_marks_around_it() -> None:
    """Once, a number such as "1.2" beside a misspelt plural sent the text the long way and
    the plural was read, while without it the shortcut decided there was nothing to read."""
    matcher = default_matcher()
    for text in ("nice elephnts for sale", "nice elephnts 1.2 kg for sale"):
        assert [(m.taxon, m.term) for m in matcher.find(text)] == [("Elephantidae", "elephnts")]
