"""Species recognition: which CITES-listed taxa a listing's text names, and exactly where.

`SpeciesMatcher.find(text)` returns one `SpeciesMatch` per mention of a taxon in the curated
lexicon (`matching/data/lexicon.json`): scientific names, common names in many languages,
trade terms ("rhino horn", 穿山甲片) and attested code words, each with the taxon's CITES
Appendix and offsets into the text exactly as the reporter wrote it.

How a mention is found:
- Text and lexicon terms go through the same folding (`matching.text.normalise`: case,
  accents, full-width forms), then hyphens and dashes read as spaces, curly apostrophes as
  straight ones and runs of whitespace as one space, so "African-grey" and "African  grey"
  both name the grey parrot.
- One Aho-Corasick automaton finds every term in one pass. In scripts written with spaces a
  term must start and end at a word boundary ("boa" is not in "boat"); in scripts written
  without them (Chinese, Japanese, Thai, ...) it need not, so 出售象牙手镯 names ivory.
- A Latin-script common name, trade term or code word also matches with a regular plural
  ending "s" or "es" ("tigers", "cactuses"). Irregular plurals ("cacti", "Papageien") are
  listed in the lexicon. Scientific names never take a plural.
- Then, in this order: negative contexts ("ivory dress", "Ivory Coast") cancel the matches
  of their taxa that they cover; taxa CITES does not list (cockatiel, budgerigar, mammoth
  ivory) cancel every listed match inside their words and the parrot matches right next to
  them ("cockatiel parrot"); a match inside a longer match is dropped ("Asian elephant", not
  also "elephant"), the longer one keeping the higher confidence of the two when both name
  the same taxon ("pangolin scales" is as sure as "pangolin"); of matches that share words
  without one containing the other, the most specific taxon wins ("white rhino horn" is the
  white rhino, "snow leopard pelt" the snow leopard).

This module must never do I/O beyond reading its own lexicon, never import the database or
the web service, never report a taxon the lexicon does not hold, and never rewrite the text
it was given: offsets always index the caller's original string.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import ahocorasick  # type: ignore[import-untyped]  # C extension without type stubs

from matching.text import fold, normalise

# Confidence by kind of term. These are priors for one mention on its own, before any
# other signal in the listing; a reviewer reads them as "how often is this mention really
# about the taxon".
SCIENTIFIC_CONFIDENCE = 0.95  # a binomial or higher taxon name is deliberate and unambiguous;
#                               the rest covers quotation ("not Manis javanica") and homonyms
COMMON_CONFIDENCE = 0.85  # vernacular names are specific but also name toys, prints and brands
TRADE_CONFIDENCE = 0.7  # product words name the product, which may be an imitation, a legal
#                         antique or a look-alike species ("ivory", "caviar", "rosewood")
CODE_CONFIDENCE = 0.4  # cover terms are innocent in most of their ordinary uses ("white
#                        plastic"); useful only next to other signals
KIND_CONFIDENCE: Mapping[str, float] = {
    "scientific": SCIENTIFIC_CONFIDENCE,
    "common": COMMON_CONFIDENCE,
    "trade": TRADE_CONFIDENCE,
    "code": CODE_CONFIDENCE,
}

PLURAL_SUFFIXES = ("s", "es")  # regular plurals of en/fr/es/pt; irregular ones are data
SUPPRESS_GAP = 3  # "cockatiel parrot", "parrot - cockatiel": at most this many characters,
#                   none of them letters or digits, between a not-listed name and the match
#                   it suppresses

APPENDICES = frozenset({"I", "II", "III", "I/II", "I/III", "II/III", "I/II/III"})
RANKS = frozenset({"CLASS", "ORDER", "FAMILY", "SUBFAMILY", "GENUS", "SPECIES", "SUBSPECIES"})
LEXICON_RESOURCE = "data/lexicon.json"

# Characters read as something else before matching, one for one so offsets stay exact.
_READ_AS = {
    "-": " ",
    "\u2010": " ",  # hyphen
    "\u2011": " ",  # non-breaking hyphen
    "\u2012": " ",  # figure dash
    "\u2013": " ",  # en dash
    "\u2014": " ",  # em dash
    "\u2015": " ",  # horizontal bar
    "\u2212": " ",  # minus sign
    "_": " ",
    "\u2019": "'",  # right single quotation mark
    "\u2018": "'",  # left single quotation mark
    "\u02bc": "'",  # modifier letter apostrophe
    "`": "'",
    "\u00b4": "'",  # acute accent used as an apostrophe
}
# Unicode character-name prefixes of scripts written without spaces between words.
_UNSPACED_SCRIPTS = (
    "CJK",
    "IDEOGRAPHIC",
    "HIRAGANA",
    "KATAKANA",
    "HALFWIDTH KATAKANA",
    "THAI",
    "LAO",
    "KHMER",
    "MYANMAR",
    "TIBETAN",
)

_LISTED, _NOT_LISTED, _NEGATIVE = 0, 1, 2
# How specific a rank is, to settle matches that share words.
_SPECIFICITY = {
    "CLASS": 1,
    "ORDER": 2,
    "FAMILY": 3,
    "SUBFAMILY": 4,
    "GENUS": 5,
    "SPECIES": 6,
    "SUBSPECIES": 7,
}


@dataclass(frozen=True, slots=True)
class SpeciesMatch:
    """One mention of a listed taxon in a listing's text."""

    taxon: str  # accepted scientific name, or a higher taxon ("Manidae")
    rank: str  # "SPECIES", "GENUS", "FAMILY", ... as the CITES checklist writes RankName
    family: str | None
    order: str | None
    class_: str | None  # serialised as "class"
    appendix: str  # as CITES writes it: "I", "II", "III", "I/II", ...
    term: str  # the text as written: original[start:end]
    kind: str  # "scientific" | "common" | "trade" | "code"
    start: int  # offsets into the original text passed to find()
    end: int
    confidence: float  # 0..1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with `class_` under the key "class"."""
        return {
            "taxon": self.taxon,
            "rank": self.rank,
            "family": self.family,
            "order": self.order,
            "class": self.class_,
            "appendix": self.appendix,
            "term": self.term,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
        }


def term_key(term: str) -> str:
    """The form under which a lexicon term is matched: folded, dashes as spaces, trimmed."""
    return _canonical(fold(term))[0].strip()


@functools.lru_cache(maxsize=8192)
def _unspaced(char: str) -> bool:
    """Whether `char` belongs to a script written without spaces between words."""
    return unicodedata.name(char, "").startswith(_UNSPACED_SCRIPTS)


def _is_word_char(char: str) -> bool:
    """A letter or digit of a script that separates words with spaces."""
    return char.isalnum() and not _unspaced(char)


def _canonical(folded: str) -> tuple[str, list[int]]:
    """`folded` with dashes as spaces, one space per run, and each character's folded index."""
    out: list[str] = []
    index: list[int] = []
    after_space = True  # drops leading whitespace
    for position, char in enumerate(folded):
        char = _READ_AS.get(char, char)
        if char.isspace():
            if after_space:
                continue
            char = " "
            after_space = True
        else:
            after_space = False
        out.append(char)
        index.append(position)
    return "".join(out), index


@dataclass(frozen=True, slots=True)
class _Taxon:
    taxon: str
    rank: str
    family: str | None
    order: str | None
    class_: str | None
    appendix: str


@dataclass(frozen=True, slots=True)
class _Term:
    role: int  # _LISTED, _NOT_LISTED or _NEGATIVE
    target: int  # index into taxa, not-listed entries or negative groups
    kind: str
    confidence: float
    plural: bool  # may also match with a regular plural suffix


@dataclass(slots=True)
class _Hit:
    start: int  # offsets into the canonical text
    end: int
    role: int
    target: int
    kind: str
    confidence: float


def _terms(value: Any, where: str) -> list[tuple[str, float | None]]:
    """(term, confidence override) pairs of a {language: [term | {term, confidence}]} map."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected an object of language lists")
    pairs: list[tuple[str, float | None]] = []
    for language, items in value.items():
        if not isinstance(items, list):
            raise ValueError(f"{where}.{language}: expected a list")
        for item in items:
            if isinstance(item, str):
                pairs.append((item, None))
            elif isinstance(item, Mapping) and isinstance(item.get("term"), str):
                confidence = item.get("confidence")
                if not isinstance(confidence, int | float) or not 0 < confidence <= 1:
                    raise ValueError(f"{where}.{language}: bad confidence for {item['term']!r}")
                pairs.append((item["term"], float(confidence)))
            else:
                raise ValueError(f"{where}.{language}: bad term {item!r}")
    return pairs


class SpeciesMatcher:
    """Finds listed taxa in text with one pass of an Aho-Corasick automaton over its lexicon."""

    version: str  # "<lexicon version>+<first 8 hex of the SHA-256 of its JSON>"

    def __init__(self, lexicon: Mapping[str, Any], version: str) -> None:
        """Build from a parsed lexicon; `version` names it in every analysis it makes."""
        self.version = version
        self._taxa: list[_Taxon] = []
        self._suppresses: list[frozenset[int]] = []
        self._negative_taxa: list[frozenset[int]] = []
        entries: dict[str, list[_Term]] = {}
        index_of: dict[str, int] = {}

        def add(term: str, entry: _Term, where: str) -> None:
            key = term_key(term)
            if not key:
                raise ValueError(f"{where}: empty term {term!r}")
            plural = entry.kind != "scientific" and "a" <= key[-1] <= "z"
            entries.setdefault(key, []).append(
                _Term(entry.role, entry.target, entry.kind, entry.confidence, plural)
            )

        for position, raw in enumerate(lexicon.get("taxa", [])):
            where = f"taxa[{position}]"
            try:
                taxon = _Taxon(
                    raw["taxon"],
                    raw["rank"],
                    raw["family"],
                    raw["order"],
                    raw["class"],
                    raw["appendix"],
                )
            except KeyError as missing:
                raise ValueError(f"{where}: missing key {missing}") from None
            if taxon.appendix not in APPENDICES:
                raise ValueError(
                    f"{where}: appendix {taxon.appendix!r} not one of {sorted(APPENDICES)}"
                )
            if taxon.rank not in RANKS:
                raise ValueError(f"{where}: rank {taxon.rank!r} not one of {sorted(RANKS)}")
            if taxon.taxon in index_of:
                raise ValueError(f"{where}: duplicate taxon {taxon.taxon!r}")
            target = index_of[taxon.taxon] = len(self._taxa)
            self._taxa.append(taxon)
            for name in raw.get("scientific", []):
                add(name, _Term(_LISTED, target, "scientific", SCIENTIFIC_CONFIDENCE, False), where)
            for field, kind in (
                ("names", "common"),
                ("trade_terms", "trade"),
                ("code_words", "code"),
            ):
                for term, override in _terms(raw.get(field), f"{where}.{field}"):
                    confidence = KIND_CONFIDENCE[kind] if override is None else override
                    add(term, _Term(_LISTED, target, kind, confidence, False), where)

        def taxa_indices(names: Iterable[str], where: str) -> frozenset[int]:
            unknown = [name for name in names if name not in index_of]
            if unknown:
                raise ValueError(f"{where}: unknown taxa {unknown}")
            return frozenset(index_of[name] for name in names)

        for position, raw in enumerate(lexicon.get("not_listed", [])):
            where = f"not_listed[{position}]"
            self._suppresses.append(taxa_indices(raw.get("suppresses", []), where))
            entry = _Term(_NOT_LISTED, position, "not_listed", 0.0, False)
            for name in raw.get("scientific", []):
                add(name, entry, where)
            for term, _ in _terms(raw.get("names"), f"{where}.names"):
                add(term, entry, where)

        for position, raw in enumerate(lexicon.get("negative_contexts", [])):
            where = f"negative_contexts[{position}]"
            self._negative_taxa.append(taxa_indices(raw.get("taxa", []), where))
            for phrase, _ in _terms(raw.get("phrases"), f"{where}.phrases"):
                add(phrase, _Term(_NEGATIVE, position, "negative", 0.0, False), where)

        self._automaton = ahocorasick.Automaton()
        for key, terms in entries.items():
            self._automaton.add_word(
                key, (len(key), _unspaced(key[0]), _unspaced(key[-1]), tuple(terms))
            )
        if entries:
            self._automaton.make_automaton()
        self._empty = not entries

    @classmethod
    def from_bytes(cls, raw: bytes) -> SpeciesMatcher:
        """A matcher for a lexicon given as JSON bytes; its version carries their SHA-256."""
        lexicon = json.loads(raw)
        if not isinstance(lexicon, Mapping) or not lexicon.get("version"):
            raise ValueError("lexicon: a JSON object with a non-empty 'version' is required")
        digest = hashlib.sha256(raw).hexdigest()[:8]
        return cls(lexicon, f"{lexicon['version']}+{digest}")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> SpeciesMatcher:
        """A matcher for the lexicon JSON file at `path`."""
        with open(path, "rb") as handle:
            return cls.from_bytes(handle.read())

    @property
    def taxa(self) -> tuple[str, ...]:
        """The taxa this matcher can report, in lexicon order."""
        return tuple(taxon.taxon for taxon in self._taxa)

    def find(self, text: str) -> list[SpeciesMatch]:
        """Every mention of a listed taxon in `text`, sorted by position."""
        if not text or self._empty:
            return []
        folded = normalise(text)
        canonical, to_folded = _canonical(folded.text)
        hits = self._scan(canonical)
        listed = self._resolve(canonical, hits)
        matches: list[SpeciesMatch] = []
        for hit in listed:
            start, end = folded.span(to_folded[hit.start], to_folded[hit.end - 1] + 1)
            taxon = self._taxa[hit.target]
            matches.append(
                SpeciesMatch(
                    taxon=taxon.taxon,
                    rank=taxon.rank,
                    family=taxon.family,
                    order=taxon.order,
                    class_=taxon.class_,
                    appendix=taxon.appendix,
                    term=text[start:end],
                    kind=hit.kind,
                    start=start,
                    end=end,
                    confidence=hit.confidence,
                )
            )
        matches.sort(key=lambda match: (match.start, -match.end, match.taxon))
        return matches

    def _scan(self, canonical: str) -> list[_Hit]:
        """Every lexicon term in `canonical` that stands at word boundaries where it must."""
        hits: list[_Hit] = []
        for last, (length, unspaced_first, unspaced_last, terms) in self._automaton.iter(canonical):
            start, end = last - length + 1, last + 1
            if not unspaced_first and start > 0 and _is_word_char(canonical[start - 1]):
                continue
            if unspaced_last or end == len(canonical) or not _is_word_char(canonical[end]):
                hits.extend(_Hit(start, end, t.role, t.target, t.kind, t.confidence) for t in terms)
                continue
            for suffix in PLURAL_SUFFIXES:
                stop = end + len(suffix)
                if canonical.startswith(suffix, end) and (
                    stop == len(canonical) or not _is_word_char(canonical[stop])
                ):
                    hits.extend(
                        _Hit(start, stop, t.role, t.target, t.kind, t.confidence)
                        for t in terms
                        if t.plural
                    )
                    break
        return hits

    def _resolve(self, canonical: str, hits: Sequence[_Hit]) -> list[_Hit]:
        """The listed hits that survive negative contexts, not-listed taxa and longer matches."""
        ordered = sorted(hits, key=lambda hit: (hit.start, -hit.end))
        suppressed = self._next_to_unlisted(canonical, ordered)
        survivors: list[_Hit] = []
        # Only overlapping hits can cancel or absorb each other: settle each run of them alone,
        # so a long page costs little more than the sum of its short runs.
        component: list[_Hit] = []
        reach = -1
        for hit in ordered:
            if component and hit.start >= reach:
                survivors.extend(self._settle(component))
                component = []
            if id(hit) not in suppressed:
                component.append(hit)
            reach = hit.end if not component else max(reach, hit.end)
        survivors.extend(self._settle(component))
        return survivors

    def _next_to_unlisted(self, canonical: str, ordered: Sequence[_Hit]) -> set[int]:
        """Ids of listed hits right next to a not-listed name that suppresses their taxon."""
        listed = [hit for hit in ordered if hit.role == _LISTED]
        starts = [hit.start for hit in listed]
        longest = max((hit.end - hit.start for hit in listed), default=0)
        suppressed: set[int] = set()
        for blocker in ordered:
            if blocker.role != _NOT_LISTED or not self._suppresses[blocker.target]:
                continue
            low = bisect.bisect_left(starts, blocker.start - longest - SUPPRESS_GAP)
            high = bisect.bisect_right(starts, blocker.end + SUPPRESS_GAP)
            for hit in listed[low:high]:
                if hit.target not in self._suppresses[blocker.target]:
                    continue
                gap = canonical[min(blocker.end, hit.end) : max(blocker.start, hit.start)]
                if len(gap) <= SUPPRESS_GAP and not any(_is_word_char(char) for char in gap):
                    suppressed.add(id(hit))
        return suppressed

    def _settle(self, component: Sequence[_Hit]) -> list[_Hit]:
        """The listed hits of one run of overlapping hits that stand."""

        def covers(outer: _Hit, inner: _Hit) -> bool:
            return outer.start <= inner.start and inner.end <= outer.end

        negatives = [hit for hit in component if hit.role == _NEGATIVE]
        blockers = [hit for hit in component if hit.role == _NOT_LISTED]
        listed = [
            hit
            for hit in component
            if hit.role == _LISTED
            and not any(
                covers(neg, hit) and hit.target in self._negative_taxa[neg.target]
                for neg in negatives
            )
            and not any(covers(blocker, hit) for blocker in blockers)
        ]

        # One hit per (span, taxon): the most confident of the terms that produced it.
        best: dict[tuple[int, int, int], _Hit] = {}
        for hit in listed:
            key = (hit.start, hit.end, hit.target)
            if key not in best or hit.confidence > best[key].confidence:
                best[key] = hit

        # Spans inside a longer span are dropped. Sorted by start, longest first, a span is
        # inside an earlier one exactly when it ends no later than the furthest end so far.
        kept_spans: set[tuple[int, int]] = set()
        reach = -1
        for start, end in sorted({key[:2] for key in best}, key=lambda span: (span[0], -span[1])):
            if end <= reach:
                continue
            kept_spans.add((start, end))
            reach = end
        kept = [hit for key, hit in best.items() if key[:2] in kept_spans]
        for hit in best.values():
            if (hit.start, hit.end) in kept_spans:
                continue
            for outer in kept:
                if outer.target == hit.target and covers(outer, hit):
                    outer.confidence = max(outer.confidence, hit.confidence)

        # Matches sharing words ("snow leopard" / "leopard pelt" in "snow leopard pelt") name
        # one thing: the most specific taxon wins, then the longer match, then the earlier.
        kept.sort(
            key=lambda hit: (
                -_SPECIFICITY[self._taxa[hit.target].rank],
                hit.start - hit.end,
                hit.start,
            )
        )
        accepted: list[_Hit] = []
        for hit in kept:
            rivals = [
                other
                for other in accepted
                if other.start < hit.end
                and hit.start < other.end
                and (other.start, other.end) != (hit.start, hit.end)
            ]
            for other in rivals:
                if other.target == hit.target:
                    other.confidence = max(other.confidence, hit.confidence)
            if not rivals:
                accepted.append(hit)
        return accepted


@functools.cache
def default_matcher() -> SpeciesMatcher:
    """The matcher for the lexicon shipped with wildflag, built once per process."""
    raw = resources.files("matching").joinpath(LEXICON_RESOURCE).read_bytes()
    return SpeciesMatcher.from_bytes(raw)
