"""The analysis's newer shortcuts give exactly what the long way gives.

- `normalise` folds through one table shared by every call (`text._FOLD_TABLE`), filled as
  characters are met, instead of folding a text's characters one by one;
- `species._canonical` translates and squeezes only texts that hold something to change,
  and translates by replacing the characters a text holds (`species._read_as`);
- `SpeciesMatcher._scan` finds the lexicon's keys with `ahocorasick_rs` (several times faster
  than the `pyahocorasick` automaton it replaced, which the long way below still uses), built
  again from the keys when a cached matcher is read;
- `SpeciesMatcher._scan` asks a table (`species._WORD_CHARS`) whether a character is part of
  a word, and tries plural endings only where one can start;
- `SpeciesMatcher.assess` stops as soon as no hit names a listed taxon, and knows it from
  the keys found (`_spans`, `_names_listed`) before it builds any hit;
- `SpeciesMatcher._settle` settles a run of one hit at once;
- `species._last_sentence_end` finds the last end of a sentence with a one-class search;
- `SpeciesMatcher._reads_as_written` (and `_words`) search with patterns that start with
  the mark they need and look behind it (`_MAYBE_SPELLED`, `_MAYBE_SPLIT`, `_DASH`), not
  with the same patterns written in order;
- `SpeciesMatcher._denied_after` folds nothing when an ASCII character follows the term;
- `matching.analysis.analyze` folds a listing once for the species and the places
  (`text.split_lines` cuts the fold into lines), and `normalise` finds uneven characters
  with one regex search;
- `jurisdiction.Evidence` finds each line's location cues once for the two signal types
  that read them, and only in lines where an automaton of the cues finds one;
- `jurisdiction.Currency` runs a currency mark's pattern only on a text holding a
  character the mark needs;
- `wildflag analyze` reads the place index from a cache in the data dir.

Each is compared with the long way on the evaluation sets, the plain listings and texts
written to sit on the shortcuts' edges.
"""

from __future__ import annotations

import dataclasses
import functools
import pickle
import random
import re
from pathlib import Path
from typing import Any

import ahocorasick  # type: ignore[import-untyped]  # C extension without type stubs
import pytest

from matching import jurisdiction, species, text
from matching.listing import Listing
from matching.species import (
    _HANGUL_SYLLABLE,
    _PLURAL_FIRST,
    KOREAN_PARTICLES,
    PLURAL_SUFFIXES,
    SpeciesMatcher,
    _canonical,
    _Hit,
    _is_word_char,
    default_matcher,
)
from matching.text import normalise
from tests.matching.test_matcher_speedups import TEXTS
from tests.matching.test_text_speedup import _INTERESTING, _random_texts, reference_normalise

LEXICON = Path(jurisdiction.__file__).parent / "data" / "lexicon.json"

EDGES = [
    "Selling ivory-handled knife — rare find! 40 EUR",  # a dash between letters
    "rhino . horn, ivo.ry, pango~lin, a/b, x^y, 3*4",  # split marks
    "elephant tusks, tigres, rhinoceroses, ivory's",  # plural endings
    "코끼리를 팝니다, 상아가 있어요, 상아",  # Korean particles
    "Tiger\u2014skin rug, tiger\u2212bone",
    "象牙手镯 九成新",
    "ß ﬁ İ ẞ straße",
    "",
]
ALL_TEXTS = [*TEXTS, *EDGES, *_random_texts(500, seed=7)]


def test_shared_fold_table_matches_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [*ALL_TEXTS, *_INTERESTING]
    first = [normalise(item) for item in texts]
    again = [normalise(item) for item in texts]  # now from a filled table
    assert first == again == [reference_normalise(item) for item in texts]
    # A full table folds each new character afresh, with the same result.
    monkeypatch.setattr(text, "_FOLD_TABLE_MAX", 0)
    monkeypatch.setattr(text, "_FOLD_TABLE", text._FoldTable())
    assert [normalise(item) for item in texts] == first


def test_word_char_table_matches_the_function(monkeypatch: pytest.MonkeyPatch) -> None:
    chars = set("".join(ALL_TEXTS)) | set(_INTERESTING)
    for char in chars:
        assert species._WORD_CHARS[char] is _is_word_char(char), repr(char)
    monkeypatch.setattr(species, "_WORD_CHARS_MAX", 0)
    table = species._WordChars()
    assert all(table[char] is _is_word_char(char) for char in chars)
    assert not table


@functools.cache
def _pyahocorasick_automaton(matcher: SpeciesMatcher) -> Any:
    """The matcher's keys in a `pyahocorasick` automaton, the engine `_scan` used before."""
    automaton = ahocorasick.Automaton()
    for key in matcher._keys:
        automaton.add_word(key.key, tuple(key))
    automaton.make_automaton()
    return automaton


def _scan_the_long_way(
    matcher: SpeciesMatcher, canonical: str, windows: list[tuple[int, int]] | None = None
) -> list[_Hit]:
    """`_scan` as it was: a `pyahocorasick` automaton, a function call per neighbour, every
    plural ending tried."""
    hits: list[_Hit] = []
    automaton = _pyahocorasick_automaton(matcher)
    found = (
        [hit for a, b in windows for hit in automaton.iter(canonical, a, b)]
        if windows
        else automaton.iter(canonical)
    )
    for last, (key, open_start, open_end, terms) in found:
        start, end = last - len(key) + 1, last + 1
        if not open_start and start > 0 and _is_word_char(canonical[start - 1]):
            continue
        if open_end or end == len(canonical) or not _is_word_char(canonical[end]):
            hits.extend(
                _Hit(start, end, t.role, t.target, t.kind, t.confidence, key) for t in terms
            )
            continue
        if _HANGUL_SYLLABLE.match(key, len(key) - 1):
            for particle in KOREAN_PARTICLES:
                stop = end + len(particle)
                if canonical.startswith(particle, end) and (
                    stop == len(canonical) or not _is_word_char(canonical[stop])
                ):
                    hits.extend(
                        _Hit(start, stop, t.role, t.target, t.kind, t.confidence, key)
                        for t in terms
                    )
                    break
            continue
        for suffix in PLURAL_SUFFIXES:
            stop = end + len(suffix)
            if canonical.startswith(suffix, end) and (
                stop == len(canonical) or not _is_word_char(canonical[stop])
            ):
                hits.extend(
                    _Hit(start, stop, t.role, t.target, t.kind, t.confidence, key)
                    for t in terms
                    if t.plural
                )
                break
    return hits


def test_scan_matches_the_long_way() -> None:
    matcher = default_matcher()
    assert {suffix[0] for suffix in PLURAL_SUFFIXES} == _PLURAL_FIRST
    total = 0
    for item in ALL_TEXTS:
        canonical = _canonical(normalise(item).text)[0]
        fast = matcher._scan(canonical)
        assert fast == _scan_the_long_way(matcher, canonical), repr(item)
        total += len(fast)
    assert total > 1000  # the texts do hit the lexicon


def test_scan_in_windows_and_after_pickling_matches_the_long_way() -> None:
    """The automaton is built again when a cached matcher is read; a scan of windows (as
    `_respelled` asks) finds what a scan of each window's text finds, at its offsets."""
    matcher = default_matcher()
    again = pickle.loads(pickle.dumps(matcher))
    total = 0
    for item in ALL_TEXTS:
        canonical = _canonical(normalise(item).text)[0]
        assert again._scan(canonical) == _scan_the_long_way(matcher, canonical), repr(item)
        if len(canonical) < 12:
            continue
        windows = [(0, len(canonical) // 3), (len(canonical) // 2, len(canonical) - 2)]
        windowed = matcher._scan(canonical, windows)
        assert windowed == _scan_the_long_way(matcher, canonical, windows), repr(item)
        total += len(windowed)
    assert total > 100


def test_scan_offsets_count_characters_beyond_the_basic_plane() -> None:
    matcher = default_matcher()
    canonical = _canonical(normalise("😀🦏 ivory 𝒜 pangolin scales 😀").text)[0]
    hits = matcher._scan(canonical)
    assert hits == _scan_the_long_way(matcher, canonical)
    assert {canonical[hit.start : hit.end] for hit in hits} >= {"ivory", "pangolin scales"}


def test_assess_shortcuts_change_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing-listed early exit and the mark pre-checks, against the long way."""
    matcher = default_matcher()
    fast = [matcher.assess(item).to_dict() for item in ALL_TEXTS]
    monkeypatch.setattr(SpeciesMatcher, "_names_nothing_listed", staticmethod(lambda hits: False))
    for name, pattern in _MARK_PATTERNS_IN_ORDER.items():
        monkeypatch.setattr(species, name, pattern)
    monkeypatch.setattr(species, "_any_starts_ascii", lambda words: True)
    slow_matcher = SpeciesMatcher.from_bytes(LEXICON.read_bytes())
    slow = [slow_matcher.assess(item).to_dict() for item in ALL_TEXTS]
    assert fast == slow
    assert sum(1 for result in slow if result["matches"]) > 500
    assert sum(1 for result in slow if result["overruled"]) > 20


def test_single_hits_and_listed_spans_change_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run of one hit settles at once, and whether a text names a listed taxon is read
    off the keys found before any hit is built: both against the long way."""
    matcher = default_matcher()
    named = 0
    for item in [*ALL_TEXTS, "tigres, elephants, cockatiel parrot, ivory dress, NOT ivory"]:
        canonical = _canonical(normalise(item).text)[0]
        spans = matcher._spans(canonical)
        hits = matcher._hits(spans)
        assert hits == matcher._scan(canonical)
        listed = any(hit.role == species._LISTED for hit in hits)
        assert matcher._names_listed(spans) is listed, repr(item)
        named += listed
        for hit in hits:
            fast: list[Any] = []
            slow: list[Any] = []
            settled = matcher._settle([hit], fast)
            assert settled == matcher._settle_overlaps([dataclasses.replace(hit)], slow)
            assert fast == slow
    assert named > 500
    fast_results = [matcher.assess(item).to_dict() for item in ALL_TEXTS]
    monkeypatch.setattr(SpeciesMatcher, "_settle", SpeciesMatcher._settle_overlaps)
    monkeypatch.setattr(SpeciesMatcher, "_names_listed", lambda self, spans: True)
    slow_matcher = SpeciesMatcher.from_bytes(LEXICON.read_bytes())
    assert [slow_matcher.assess(item).to_dict() for item in ALL_TEXTS] == fast_results


def test_read_as_matches_the_translation() -> None:
    """`_read_as` replaces what `translate` through `_READ_AS_TABLE` would, in any order:
    no character is read as one that is read otherwise in turn."""
    assert not set(species._READ_AS.values()) & set(species._READ_AS)
    rng = random.Random(5)
    alphabet = "".join(species._READ_AS) + "ab '\u00e9\u200b"
    texts = [*ALL_TEXTS, *(c * 3 for c in species._READ_AS)]
    texts += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10))) for _ in range(20000)
    ]
    for item in texts:
        assert species._read_as(item) == item.translate(species._READ_AS_TABLE), repr(item)


def test_last_sentence_end_matches_the_pattern() -> None:
    """`_last_sentence_end` finds where the last match of `_SENTENCE_END` ends: full stops
    between digits (ASCII, Arabic-Indic; not superscripts), at either end, in a row; a
    full stop inside the text that closes an abbreviation ("Gr. 38") ends no sentence."""

    def long_way(item: str) -> int:
        cut = 0
        for boundary in species._SENTENCE_END.finditer(item):
            at = boundary.start()
            inside = 0 < at < len(item) - 1
            if (
                item[at] == "."
                and inside
                and re.search(
                    r"(?<![^\W_])(?i:gr|ca|nr|no|approx|vs|inkl|zzgl|stk|bzw)$", item[:at]
                )
            ):
                continue
            cut = boundary.end()
        return cut

    rng = random.Random(11)
    alphabet = "a1.\u0663\u00b2!?;\u3002\uff01 \n\r5x..GrCa"
    texts = [*ALL_TEXTS, "3.5", ".5", "5.", "1.2.3", "a.", "\u0661.\u0662", "\u00b2.\u00b2", "."]
    texts += ["Brautkleid Gr. 38 elfenbein", "ca. 5 cm. Neu", "agr. x", "Gr.", "NO. 5", "vgr. 3"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9))) for _ in range(20000)]
    for item in texts:
        assert species._last_sentence_end(item) == long_way(item), repr(item)


# `_MAYBE_SPELLED`, `_MAYBE_SPLIT` and `_DASH` as they read, each element in order.
_MARK_PATTERNS_IN_ORDER = {
    "_MAYBE_SPELLED": re.compile(r"(?<![^\W_])[^\W_][ .*·•~/\\^+:]{1,2}[^\W_](?![^\W_])"),
    "_MAYBE_SPLIT": re.compile(r"[^\W_][.*·•~/\\^](?:[^\W_]|[@$€])"),
    "_DASH": re.compile(r"(?<=[^\W_])[-_\u2010-\u2015\u2212](?=[^\W_])"),
}


def test_mark_patterns_find_what_they_find_written_in_order() -> None:
    rng = random.Random(3)
    marks = ".*·•~/\\^-_\u2010\u2012\u2015\u2212@$€+: \n"
    letters = "ab1_é象\u0663²"
    texts = [
        "".join(rng.choice(letters + marks) for _ in range(rng.randint(0, 12)))
        for _ in range(20000)
    ]
    texts += ["a b", " a b ", "a  b", "ab c d", "a.b", "a..b", "a...b", "_a b", "a b_", "a-b"]
    texts += ["a_b", "象 牙", "x象 牙y", "a.@b", "a.$", "1.2", "a\u2212b", "-a", "a-", "a b c"]
    found = dict.fromkeys(_MARK_PATTERNS_IN_ORDER, 0)
    for item in [*texts, *ALL_TEXTS]:
        for name, in_order in _MARK_PATTERNS_IN_ORDER.items():
            spans = [match.span() for match in getattr(species, name).finditer(item)]
            if name != "_DASH":  # asked only whether they find one: they start later
                assert bool(spans) == bool(in_order.search(item)), (name, item)
            else:
                assert spans == [match.span() for match in in_order.finditer(item)], (name, item)
            found[name] += bool(spans)
    assert min(found.values()) > 500


def test_cues_found_once_change_no_jurisdiction(monkeypatch: pytest.MonkeyPatch) -> None:
    listings = [Listing(title="", text=item) for item in ALL_TEXTS]
    fast = [jurisdiction.infer_jurisdiction(listing) for listing in listings]
    original = jurisdiction.Evidence.of

    def without_cues(listing: Listing, folded: text.Folded | None = None) -> jurisdiction.Evidence:
        evidence = original(listing, folded)
        return jurisdiction.Evidence(
            evidence.listing, evidence.url, evidence.hostname, evidence.lines
        )

    monkeypatch.setattr(jurisdiction.Evidence, "of", staticmethod(without_cues))
    # And without the automaton that tells a line holds no cue: the pattern runs on all.
    slow_index = dataclasses.replace(jurisdiction._places(), cue_automaton=None)
    monkeypatch.setattr(jurisdiction, "_places", lambda: slow_index)
    slow = [jurisdiction.infer_jurisdiction(listing) for listing in listings]
    assert fast == slow
    assert sum(1 for result in slow if result.country) > 100


def _canonical_the_long_way(folded: str) -> tuple[str, list[int]]:
    """`_canonical` as it was: every text translated and searched for runs."""
    translated = folded.translate(species._READ_AS_TABLE)
    invisible, squeeze = species._invisible()
    pattern = species._SPACE_RUNS if invisible.isdisjoint(translated) else squeeze
    out: list[str] = []
    index: list[int] = []
    done = 0
    for run in pattern.finditer(translated):
        start, end = run.span()
        out.append(translated[done:start])
        index.extend(range(done, start))
        space = translated.find(" ", start, end)
        if space >= 0 and index:
            out.append(" ")
            index.append(space)
        done = end
    out.append(translated[done:])
    index.extend(range(done, len(translated)))
    return "".join(out), index


def test_canonical_matches_the_long_way() -> None:
    assert not any(text.is_invisible(chr(code)) for code in range(128))
    extra = [
        "  leading spaces",
        "two  spaces",
        "a\u200b b",
        " \u200b",
        "ivo\u00adry",
        "hand-carved \u2014 rhino\u2019s",
        "plain text",
        "x`y\u00b4z_w",
    ]
    for item in [*ALL_TEXTS, *extra]:
        folded = normalise(item).text
        canonical, index = _canonical(folded)
        assert (canonical, list(index)) == _canonical_the_long_way(folded), repr(item)


LINE_EDGES = [
    "a\nb\r\nc\rd\x0be\x0cf\x1cg\x1dh\x1ei\x85j\u2028k\u2029l",
    "Straße\nGROSSE ﬁsh\n\nHa\u0300 No\u0323i\r\n",
    "\u0301\n\u0301x\n",
    "\n\n",
    "one line",
]


def test_split_lines_matches_folding_each_line() -> None:
    for item in [*ALL_TEXTS, *LINE_EDGES, *_INTERESTING]:
        expected = [(line, reference_normalise(line)) for line in item.splitlines()]
        assert text.split_lines(item) == expected, repr(item)
        assert text.split_lines(item, normalise(item)) == expected, repr(item)


def test_uneven_characters_found_as_a_set_would(monkeypatch: pytest.MonkeyPatch) -> None:
    table = text._FoldTable()
    for item in [*ALL_TEXTS, *_INTERESTING]:
        item.translate(table)
        assert sorted(table.uneven_in(item)) == sorted(table.uneven.intersection(item))


def test_shared_fold_changes_no_analysis() -> None:
    """The analysis folds a text once for species and places: the same as each folding it."""
    matcher = default_matcher()
    for item in [*ALL_TEXTS, *LINE_EDGES]:
        listing = Listing(title="Item", text=item)
        folded = normalise(listing.full_text)
        assert matcher.assess(listing.full_text, folded) == matcher.assess(listing.full_text)
        assert jurisdiction.infer_jurisdiction(listing, folded) == jurisdiction.infer_jurisdiction(
            listing
        ), repr(item)


def test_cached_place_index_gives_the_same_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`wildflag analyze` reads the place index from the data dir: the same index as built."""
    from extension_backend import species_store
    from extension_backend.settings import Settings

    listings = [Listing(title="", text=item) for item in ALL_TEXTS]
    built = [jurisdiction.infer_jurisdiction(listing) for listing in listings]
    monkeypatch.setattr(jurisdiction, "_INSTALLED_PLACES", [])
    jurisdiction._places.cache_clear()
    try:
        nowhere = Settings(data_dir=tmp_path / "missing")
        species_store.load_place_index(nowhere)
        assert not nowhere.data_dir.exists()  # analysing creates no data dir
        settings = Settings(data_dir=tmp_path)
        species_store.load_place_index(settings)  # builds and writes
        [cached] = species_store.place_cache_dir(settings).glob("places-*.pickle")
        assert not jurisdiction._INSTALLED_PLACES
        jurisdiction._places.cache_clear()
        species_store.load_place_index(settings)  # reads
        assert jurisdiction._INSTALLED_PLACES
        assert jurisdiction._places() is jurisdiction._INSTALLED_PLACES[0]
        assert [jurisdiction.infer_jurisdiction(listing) for listing in listings] == built
        assert not jurisdiction.install_place_index("not an index")
        cached.write_bytes(b"not a pickle")  # an unreadable cache is rebuilt
        jurisdiction._INSTALLED_PLACES.clear()
        jurisdiction._places.cache_clear()
        species_store.load_place_index(settings)
        assert [jurisdiction.infer_jurisdiction(listing) for listing in listings] == built
    finally:
        jurisdiction._places.cache_clear()


CURRENCY_EXAMPLES = [
    "£5",
    "5 руб",
    "5 грн",
    "5원",
    "5 円",
    "R$5",
    "HK$5",
    "NT$5",
    "S$5",
    "A$5",
    "AU$5",
    "NZ$5",
    "CA$5",
    "MX$5",
    "Rp. 5",
    "RM 5",
    "KSh. 5",
    "Ksh5",
    "5 zł",
    "5 Kč",
    "5 vnđ",
    "5 บาท",
]


def test_every_currency_mark_holds_a_character_it_needs() -> None:
    marks = jurisdiction._CURRENCY_MARKS
    needs = jurisdiction._CURRENCY_MARK_NEEDS
    countries = [country for _, country in marks]
    assert len(set(countries)) == len(countries) and set(countries) == set(needs)
    pool = (
        "".join(sorted(jurisdiction._CURRENCY_MARK_CHARS)) + "0159 .pMSshzvnKCAUHNTXZaupyбгнрунiuôđ"
    )
    rng = random.Random(11)
    samples = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 7))) for _ in range(60000)]
    for pattern, country in marks:
        hits = 0
        for sample in [*samples, *ALL_TEXTS, *CURRENCY_EXAMPLES]:
            if found := pattern.search(sample):
                hits += 1
                assert set(found.group()) & needs[country], (country, sample)
        assert hits, country  # the samples do reach every pattern


def test_currency_needs_change_no_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [*ALL_TEXTS, "Giá 500.000đ, liên hệ", "R$ 300 ou 50 zł", "KSh 4,000 / RM 20 / Rp 5"]
    fast = [list(jurisdiction._CURRENCY._marks(item)) for item in texts]
    everything = dict.fromkeys(jurisdiction._CURRENCY_MARK_NEEDS, frozenset())
    monkeypatch.setattr(jurisdiction, "_CURRENCY_MARK_NEEDS", everything)
    monkeypatch.setattr(jurisdiction, "_CURRENCY_MARK_CHARS", _AlwaysPresent())
    slow = [list(jurisdiction._CURRENCY._marks(item)) for item in texts]
    assert fast == slow
    assert sum(1 for signals in slow if signals) > 10


class _AlwaysPresent:
    """A character set whose intersection with any text overlaps every need."""

    def intersection(self, text: str) -> _AlwaysPresent:
        return self

    def isdisjoint(self, needs: frozenset[str]) -> bool:
        return False
