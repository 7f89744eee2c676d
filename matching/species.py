"""Species recognition: which CITES-listed taxa a listing's text names, where, and whether it
offers a specimen of them.

`SpeciesMatcher.assess(text)` returns an `Assessment`: the `matches` that stand (one
`SpeciesMatch` per mention of a taxon in the lexicon, `matching/data/lexicon.json`: scientific
names, common names in many languages, trade terms such as "rhino horn" or 穿山甲片, and
attested code words, each with the taxon's CITES Appendix and offsets into the text exactly
as the reporter wrote it) and the mentions it `overruled`, each with the reason and the rule
that decided it. `find(text)` is `assess(text).matches`.

How a mention is found:
- Text and lexicon terms go through the same folding (`matching.text.normalise`: case,
  accents, full-width forms), then hyphens and dashes read as spaces, curly apostrophes as
  straight ones, runs of whitespace as one space, and invisible characters (zero-width space,
  soft hyphen, joiners) as nothing, so "African-grey", "African  grey" and "iv\u200bory" read
  as the lexicon writes them.
- One Aho-Corasick automaton finds every term in one pass. In scripts written with spaces a
  term must start and end at a word boundary ("boa" is not in "boat"); in scripts written
  without them (Chinese, Japanese, Thai, ...) it need not, so 出售象牙手镯 names ivory.
- A Latin-script common name, trade term or code word also matches with a regular plural
  ending "s" or "es" ("tigers", "cactuses"). Irregular plurals ("cacti", "Papageien") are
  listed in the lexicon. Scientific names never take a plural, nor do acronyms ("CAG" is
  no "cages"; the lexicon lists "CAGs").
- Words the lexicon does not hold are then read again, each against the lexicon's own words
  (a reading that is not a word of some lexicon term is dropped), and the text around the
  respelled words goes through the automaton a second time; only the mentions touching a
  respelled word are taken from that pass, with a `note` saying how the word was read:
  - look-alike characters inside a word: digits and symbols ("1v0ry", "p@ngolin", "rh1no")
    and letters of another script ("ivοry" with a Greek omicron, Cyrillic "о"); numbers and
    measures ("500 g", "18k", "3.5 kg") have no reading and stay as they are;
  - a word taken apart: single letters in a row ("i v o r y", "i.v.o.r.y", "i-v-o-r-y", at
    least `SPELLED_MIN_LETTERS`), or pieces joined by a dot, underscore, star or hyphen
    ("ivo_ry", "pango.lin") whose joining is a lexicon word and not all of whose pieces are;
  - a plural inside a longer term ("elefantes africanos"), and inflected forms of long words
    by a small table of endings per language (`INFLECTIONS`: German, Dutch, Italian, which
    also serves Spanish and Portuguese words, Portuguese -ão/-ões, Russian): "Nashörnern",
    "afrikanischen Elefanten", "слоновой кости";
  - compounds (German and Dutch, and hashtags in any language) that start or end with a
    one-word term of at least `COMPOUND_MIN_TERM` letters, a linking "-en-", "-s-" left out:
    "Pangolinschuppen", "Elfenbeinschnitzerei", "Nashornpulver", "Plüschelefant" (read as
    "plüsch elefant", so the context rules below see "plüsch"); the rest of the word must be at
    least `COMPOUND_MIN_REST` letters after a leading term (so "elephantine", "parroting" are
    not compounds) or `COMPOUND_MIN_HEAD` before a trailing one;
  - misspellings of Latin-script words: Damerau-Levenshtein distance 1 to a lexicon word of
    6 to 9 letters, 2 to one of 10 or more, never to a shorter one, always keeping the first
    letter ("carrot" is not "parrot"); a word only scientific names hold is matched with one
    edit when it has at least `FUZZY_SCIENTIFIC_MIN` letters and never otherwise ("Pyhton" is
    not the genus Python, "elephantine" not Elephantidae); words listed in `contexts.json`
    `not_misspellings` (ordinary words near a lexicon word: "surgeon", "Leonard") are never
    read as misspellings.
    Candidates come from a deletion index built once (SymSpell's symmetric deletes over the
    first `FUZZY_PREFIX` letters), so a word costs a few dozen look-ups, not one per term.
  Misspellings and compounds are read against the terms of the curated lexicon only
  (`OWN_SOURCES`): an imported checklist's names in a hundred languages would make ordinary
  words of each of them misspellings ("vendo", I sell, is one edit from "venado", a deer).
  A look-alike or taken-apart reading multiplies the mention's confidence by
  `OBFUSCATION_FACTOR`, a misspelling by `MISSPELLING_FACTOR` per edit, a compound by
  `COMPOUND_FACTOR`; plurals and inflections keep it.
- Then, in this order: negative contexts ("ivory dress", "Ivory Coast", from the lexicon's
  `negative_contexts` and `contexts.json` `phrase_rules`) overrule the matches of their taxa
  that they cover; taxa CITES does not list (cockatiel, budgerigar, mammoth ivory) overrule
  every listed match inside their words and the parrot matches right next to them ("cockatiel
  parrot"); a match inside a longer match is dropped ("Asian elephant", not also
  "elephant"), the longer one keeping the higher confidence of the two when both name the
  same taxon ("pangolin scales" is as sure as "pangolin"); of matches that share words
  without one containing the other, the most specific taxon wins ("white rhino horn" is the
  white rhino, "snow leopard pelt" the snow leopard).
- Last, the context rules of `contexts.json` `cue_rules`: a cue word of a category (colour,
  clothing, fabric, print, toy, figurine, material, replica, imitation material, shape,
  media, supplies, brand) within the rule's window of words before or after a match of the
  taxa and kinds of term it applies to overrules that match ("Ivory silk blouse", "elephant
  plush", "Python programming"). A window never crosses the end of a sentence; it crosses a
  comma or a conjunction ("and", "with") only where the rule says so, as a second item of a
  listing is not a description of the first ("grey parrot with toys"). A cue preceded within
  `NEGATION_WINDOW` words by a negation ("not", "kein", "pas", 不, or followed by ではない) does
  not count ("real ivory, not faux"; "NOT plastic"); a match right after a word that affirms
  it ("genuine", "echtes", 真) is not overruled by replica or imitation cues; the rules about
  likenesses (toy, figurine, material, shape, media, supplies) do not reach past a part of
  the animal ("rhino horn carving" is made of horn). A term right after a negation ("NOT
  ivory", "kein Elfenbein", 非象牙; one word of at most `DENIAL_SKIP` letters may stand
  between) is overruled itself, as rule "negation".

This module must never do I/O beyond reading its own data files (the shipped lexicon and
contexts), never import the database or the web service, never report a taxon the lexicon
does not hold, and never rewrite the text it was given: offsets always index the caller's
original string, whatever reading found the mention.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import hashlib
import itertools
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple

import ahocorasick_rs

from matching.text import (
    Folded,
    deletions,
    fold,
    is_invisible,
    lookalike_readings,
    normalise,
    osa_distance,
)

# Confidence by kind of term. These are priors for one mention on its own, before any
# other signal in the listing; a reviewer reads them as "how often is this mention really
# about the taxon".
SCIENTIFIC_CONFIDENCE = 0.95  # a binomial or higher taxon name is deliberate and unambiguous;
#                               the rest covers quotation ("not Manis javanica") and homonyms
COMMON_CONFIDENCE = 0.85  # vernacular names are specific but also name toys, prints and brands
ABBREVIATED_CONFIDENCE = 0.85  # "D. tinctorius": keepers' way of writing a curated binomial;
#                                 the initial could stand for another genus
TRADE_CONFIDENCE = 0.7  # product words name the product, which may be an imitation, a legal
#                         antique or a look-alike species ("ivory", "caviar", "rosewood")
CODE_CONFIDENCE = 0.4  # cover terms are innocent in most of their ordinary uses ("white
#                        plastic"); useful only next to other signals
KNOWING_CONFIDENCE = 0.6  # a cover term or an ambiguous product word in a listing that also
#                           winks at the buyer ("you know what I mean", "not bone, not
#                           resin", 懂的都懂): the seller says it is the real thing unnamed
KIND_CONFIDENCE: Mapping[str, float] = {
    "scientific": SCIENTIFIC_CONFIDENCE,
    "common": COMMON_CONFIDENCE,
    "trade": TRADE_CONFIDENCE,
    "code": CODE_CONFIDENCE,
}

PLURAL_SUFFIXES = ("s", "es")  # regular plurals of en/fr/es/pt; irregular ones are data
_PLURAL_FIRST = frozenset(suffix[0] for suffix in PLURAL_SUFFIXES)
# Korean case particles, longest first: a noun is written with them, without a space.
KOREAN_PARTICLES = ("으로", "에서", "에게", "까지", "부터", "이나", "이랑", "하고")
KOREAN_PARTICLES += (
    "을",
    "를",
    "이",
    "가",
    "은",
    "는",
    "의",
    "도",
    "만",
    "와",
    "과",
    "로",
    "에",
    "나",
    "랑",
)
SUPPRESS_GAP = 3  # "cockatiel parrot", "parrot - cockatiel": at most this many characters,
#                   none of them letters or digits, between a not-listed name and the match
#                   it suppresses

# Words read otherwise than written. The factors lower a mention's confidence because the
# reading is ours: the seller may have meant the word we read, or something else.
OBFUSCATION_FACTOR = 0.85  # letters rebuilt from look-alikes or pieces ("1v0ry", "i.v.o.r.y"):
#                            nearly always deliberate, yet a coincidence ("r3d") is possible
MISSPELLING_FACTOR = 0.85  # per edit ("rhinocerous"): one edit from a term is also one edit
#                            from whatever ordinary word the lexicon does not know of
COMPOUND_FACTOR = 0.9  # a term inside a longer word ("Pangolinschuppen"): the compound may
#                        name something else ("Elefantenfuß" is a house plant)
FUZZY_ONE_EDIT_MIN = 6  # shortest lexicon word matched with one edit: five-letter words have
#                         real neighbours in every language (tiger/timer, rhino/rhine)
FUZZY_TWO_EDITS_MIN = 10  # shortest lexicon word matched with two edits
FUZZY_QUERY_MIN = FUZZY_ONE_EDIT_MIN - 1  # a word of the text one letter short of a term
FUZZY_SCIENTIFIC_MIN = 8  # a word of scientific names only is matched by a misspelling of one
#                           edit when it has this many letters, never otherwise: short genus
#                           names are ordinary or brand words somewhere (Python, Naja, Saiga),
#                           and a second edit turns family names into adjectives
#                           ("elephantine" is two edits from "Elephantidae")
FUZZY_PREFIX = 7  # the deletion index covers this many leading letters, as SymSpell does:
#                   candidates are checked on the whole word, the index stays ~30 keys a word
# Entries whose terms misspellings and compounds are read against: the curated lexicon (and
# entries that name no source, as in tests). An imported checklist brings ~100,000 names in
# a hundred languages; read as misspellings and compound parts they would find ordinary
# words of every language ("vendo", I sell, is one edit from "venado", a deer). Its terms
# still match exactly, in plurals, inflections, look-alikes and pieces.
OWN_SOURCES = frozenset({None, "curated"})
COMPOUND_MIN_TERM = 6  # shortest one-word term found inside a compound: "tiger" (5) would
#                        read "Tigerente" and "Tigergarnelen"; "pangolin", "nashorn" are longer
COMPOUND_MIN_REST = 4  # letters after a leading term: "elephantine", "parroting" stay words
COMPOUND_MIN_HEAD = 3  # letters before a trailing term: "Holzelefant", "Kunstelfenbein"
# German and Dutch linking elements between the parts of a compound ("Elefant-en-fuß").
COMPOUND_LINKS = ("es", "en", "er", "n", "s", "e")
# Endings that make a derived word, not a compound, after a leading term ("elephantiasis").
COMPOUND_NOT_REST = frozenset(
    {"iasis", "esque", "like", "less", "ness", "ship", "hood", "ista", "istas", "ology"}
)
SPELLED_MIN_LETTERS = 3  # "i v o r y": single letters in a row read as one word; two are an
#                          abbreviation ("a b") as often as a word taken apart
SPELLED_MIN_UNSPACED = 2  # "象 牙": in scripts without spaces, two characters already are
PLAIN_WORDS_REMEMBERED = 200_000  # entries of each memory of `_reads_as_written` (words and
#                                   tokens known plain, tokens' readings, words between their
#                                   neighbours: ~40 MB each at most)
READINGS_CACHED = 65536  # distinct words whose reading a matcher remembers (~10 MB at most)
SPLIT_RUN_MAX = 8  # pieces of a word taken apart that are tried together ("www.a.b.c...")
INFLECTION_MIN_TERM = 6  # shortest one-word term matched in an inflected form
INFLECTION_MIN_WORD = 4  # shortest word of a longer term matched in an inflected form: the
#                          other words of the term must match too ("слоновой кости")
INFLECTION_MIN_STEM = 3

# Endings of inflected forms, per language: (endings a lexicon word may carry, endings the
# text may carry instead). Written unfolded; folded when the tables are built.
_RUSSIAN_ENDINGS = (
    *("а", "я", "о", "е", "ь", "й", "ы", "и", "у", "ю", "ой", "ей", "ий", "ый", "ом", "ем"),
    *("ам", "ям", "ах", "ях", "ами", "ями", "ого", "его", "ому", "ему", "ая", "яя", "ое"),
    *("ее", "ую", "юю", "ые", "ие", "ых", "их", "ым", "им", "ыми", "ими", "ов", "ев", "ью"),
)
INFLECTIONS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # German nouns (Elefant-en, Nashörn-er) and adjectives (afrikanisch-er/-en/-e)
    "de": (
        ("", "e", "er", "es", "en", "em"),
        ("e", "en", "n", "s", "es", "er", "ern", "em", "ens", "nen"),
    ),
    "nl": (("", "e", "en"), ("e", "en", "s", "n", "es")),  # olifant-en
    "it": (("a", "e", "i", "o"), ("a", "e", "i", "o", "he", "hi")),  # elefant-e/-i
    "pt": (("ão",), ("ões", "ães", "ãos")),  # camaleão, camaleões
    "ru": (("", *_RUSSIAN_ENDINGS), _RUSSIAN_ENDINGS),  # носорог-а, слонов-ая/-ой
}
# Which tables apply to the words of each lexicon language. Spanish and Portuguese words take
# the Italian vowel endings too: the lexicon has few Italian names, and an Italian plural is
# often a Spanish or Portuguese word with "-i" ("elefanti", "leopardi", "rinoceronti").
INFLECTION_TABLES: Mapping[str, tuple[str, ...]] = {
    "de": ("de",),
    "nl": ("nl",),
    "it": ("it",),
    "es": ("it",),
    "pt": ("it", "pt"),
    "ru": ("ru",),
}

# Context rules (`contexts.json`).
NEGATION_WINDOW = 3  # "not made of plastic": at most this many words between a negation and
#                      the cue it takes back
AFTER_NEGATION_WINDOW = 1  # "プラスチックではない": a negation written after the cue
AFFIRMATION_WINDOW = 2  # "genuine elephant ivory": words between an affirming word and a match
DENIAL_SKIP = 3  # "not an ivory", "pas d'ivoire", "no es marfil": the longest word that may
#                  stand between a negation and the term it denies
CONTEXT_REACH = 160  # characters: no window of a few words reaches farther than this
WORD_REACH = 40  # characters a word and its separators take at most, to skip far cues early
UNSPACED_WORD = 2  # characters of Chinese or Japanese counted as one word in a window
CONTEXTS_RESOURCE = "data/contexts.json"

APPENDICES = frozenset({"I", "II", "III", "I/II", "I/III", "II/III", "I/II/III"})
RANKS = frozenset({"CLASS", "ORDER", "FAMILY", "SUBFAMILY", "GENUS", "SPECIES", "SUBSPECIES"})
KINDS = frozenset(KIND_CONFIDENCE)
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
_READ_AS_TABLE = str.maketrans(_READ_AS)  # what `_read_as` does, as one table
# Any character of `_READ_AS`: one quick search spares most texts the translation.
_READ_AS_CHARS = re.compile("[" + "".join(map(re.escape, _READ_AS)) + "]")
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
# A word of the canonical text, with the look-alike symbols that may stand inside it.
_ATOM = re.compile(r"[@$€]?[^\W_]+(?:[@$€!|][^\W_]+)*")
# Between the single letters of a word spelled out ("i v o r y", "i.v.o.r.y", "i-v-o-r-y").
_SPELLING_MARKS = frozenset(" .*·•~/\\^+:")
# Inside a word taken apart without spaces ("ivo_ry", "pango.lin", "rh*ino", 침☆향); a hyphen or an
# underscore reads as a space in the canonical text, and is told apart from one by its source.
_SPLIT_MARKS = frozenset(".*·•~/\\^☆★○●✕×♡♥◇◆※")
_SENTENCE_END = re.compile(r"[!?;。！？；\n\r]|\.(?!\d)|(?<!\d)\.")
# Where `_SENTENCE_END` may match, one character each: found by a search for one character
# class, several times faster than the pattern's alternatives (see `_last_sentence_end`).
_SENTENCE_MARK = re.compile(r"[!?;。！？；\n\r.]")
_CLAUSE_END = re.compile(r"[,，、|•]|\s[-‐‑‒–—―]\s|\s[-–—]$|^[-–—]\s")


def _combining_marks() -> str:
    """The combining marks (Unicode category M) of the Basic Multilingual Plane, as the body
    of a regex character class. Python's `\\w` leaves them out, so without them a Thai or
    Hindi word falls apart at its vowel signs and tone marks (ไม่ใช่ into ไม and ใช)."""
    ranges: list[str] = []
    start: int | None = None
    for code in range(0x300, 0x10001):
        mark = code < 0x10000 and unicodedata.category(chr(code)).startswith("M")
        if mark and start is None:
            start = code
        elif not mark and start is not None:
            ranges.append(f"\\u{start:04x}-\\u{code - 1:04x}")
            start = None
    return "".join(ranges)


#: A word of the text between a cue and a match: letters and digits with the marks that
#: belong to them.
_GAP_WORD = re.compile(f"(?:[^\\W_]|[{_combining_marks()}])+")
_CONJUNCTION_MARKS = frozenset("&+")
# What may be part of a word spelled out (two single letters, a spelling mark or two between
# them) or taken apart (a split mark between letters): `_words` decides whether it is one; a
# text with neither is read word by word at once (`_reads_as_written`).
# Each of `_MAYBE_SPELLED`, `_MAYBE_SPLIT` and `_DASH` starts with the mark it needs and looks
# behind it for the letters before: a search then only stops at the marks (the regex engine
# skips to the characters a pattern can start with), several times faster than a pattern that
# looks behind at every position. Written in order, they read:
#   _MAYBE_SPELLED  (?<![^\W_])[^\W_][ .*·•~/\\^+:]{1,2}[^\W_](?![^\W_])
#   _MAYBE_SPLIT    [^\W_][.*·•~/\\^☆★○●✕×♡♥◇◆※](?:[^\W_]|[@$€])
#   _DASH           (?<=[^\W_])[-_\u2010-\u2015\u2212](?=[^\W_])
_SPELLING_CLASS = r"[ .*·•~/\\^+:]"  # `_SPELLING_MARKS`
_SPLIT_CLASS = r"[.*·•~/\\^☆★○●✕×♡♥◇◆※]"  # `_SPLIT_MARKS`
_DASH_CLASS = "[-_\u2010-\u2015\u2212]"
_MAYBE_SPELLED = re.compile(
    rf"{_SPELLING_CLASS}(?<=(?<![^\W_])[^\W_]{_SPELLING_CLASS}){_SPELLING_CLASS}?[^\W_](?![^\W_])"
)
_MAYBE_SPLIT = re.compile(rf"{_SPLIT_CLASS}(?<=[^\W_]{_SPLIT_CLASS})(?:[^\W_]|[@$€])")
_DASH = re.compile(rf"{_DASH_CLASS}(?<=[^\W_]{_DASH_CLASS})(?=[^\W_])")
# Letters masked with stars inside a word ("pang**in", "к***дила"); `_Spelling._unmasked`
# reads them. One star between letters is also a split mark ("rh*ino").
_MAYBE_MASKED = re.compile(r"[^\W_]\*{2,4}(?=[^\W_])")
MASK_MAX_STARS = 4
MASK_MIN_LETTERS = 3  # letters a masked word must show to be read as one lexicon word


def _masked_gap(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is a run of stars masking letters inside a word."""
    return 2 <= end - start <= MASK_MAX_STARS and text.count("*", start, end) == end - start


_HANGUL_SYLLABLE = re.compile("[\uac00-\ud7a3]")

_LISTED, _NOT_LISTED, _NEGATIVE, _CUE, _KNOWING = range(5)
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
    note: str | None = None  # how the term was read when not as the lexicon writes it:
    #                          "read '1v0ry' as 'ivory' (look-alike characters)"
    spp_appendix: str | None = None  # the taxon's own: see `specimen_appendix`

    @property
    def specimen_appendix(self) -> str:
        """The Appendix this mention puts the offered specimen in.

        A taxon that CITES lists as a whole in one Appendix, apart from members or
        populations it names ("Psittaciformes spp.: II, except the species in Appendix I"),
        is written "I/II"; a listing that says "parrot" and names no member offers, as far
        as it says, a member of that whole: Appendix II. So such a taxon's `spp_appendix`
        counts. Every other listing counts as written, and a split one by its most
        protective part (elephant ivory, whose populations are mostly in Appendix I, is I).
        """
        return self.spp_appendix or self.appendix

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with `class_` under the key "class" and `note` only when set."""
        data: dict[str, Any] = {
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
        if self.note is not None:
            data["note"] = self.note
        return data


@dataclass(frozen=True, slots=True)
class Overruled:
    """A mention that does not show a specimen on offer, and why."""

    match: SpeciesMatch
    reason: str  # for a reviewer: "clothing word 'blouse' after 'Ivory'"
    rule: str  # which rule decided: "clothing", "phrase:brand-cars",
    #            "lexicon:negative_contexts[0]", "lexicon:not_listed[2]"

    def to_dict(self) -> dict[str, Any]:
        """The match's JSON form with `reason` and `rule` added."""
        return {**self.match.to_dict(), "reason": self.reason, "rule": self.rule}


@dataclass(frozen=True, slots=True)
class Assessment:
    """Every mention of a listed taxon in a text: those that stand and those overruled."""

    matches: list[SpeciesMatch]  # the same as `SpeciesMatcher.find`, sorted by position
    overruled: list[Overruled]  # sorted by position

    def to_dict(self) -> dict[str, Any]:
        return {
            "matches": [match.to_dict() for match in self.matches],
            "overruled": [item.to_dict() for item in self.overruled],
        }


def abbreviated_names(taxa: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The abbreviated forms of the curated binomials and trinomials, per taxon name.

    Keepers and traders write "D. tinctorius", "B. hamorii" or "P.metallica" for a species
    whose genus the thread already named. Each scientific name of two or more words gets
    its forms with the genus cut to its initial, with and without the space. A name that
    both a species' entry and its genus' entry hold ("Ara ararauna") goes to the species;
    a form two different names would share ("P. bivittatus" for Python and for another
    genus with that epithet) is left out, as its initial does not say which; "spp." is no
    epithet. Imported entries get none: among 38,000 names, most initials would collide,
    and the rest would be read in ordinary text ("C. elegans").
    """
    owners: dict[str, dict[str, set[str]]] = {}  # form -> full name -> taxa holding it
    for raw in taxa:
        if raw.get("source") not in OWN_SOURCES:
            continue
        for name in raw.get("scientific", []):
            genus, _, rest = name.partition(" ")
            if not rest or rest.rstrip(".") in ("sp", "spp"):
                continue
            if not genus.isalpha() or not genus[0].isupper():
                continue
            for short in (f"{genus[0]}. {rest}", f"{genus[0]}.{rest}"):
                owners.setdefault(short, {}).setdefault(name, set()).add(raw["taxon"])
    found: dict[str, list[str]] = {}
    for short, names in owners.items():
        if len(names) != 1:
            continue  # two binomials share the initial and the epithet
        ((name, holders),) = names.items()
        if name in holders:
            owner: str | None = name
        else:
            owner = next(iter(holders)) if len(holders) == 1 else None
        if owner is not None:
            found.setdefault(owner, []).append(short)
    return found


def term_key(term: str) -> str:
    """The form under which a lexicon term is matched: folded, dashes as spaces, trimmed."""
    return _canonical(fold(term))[0].strip()


@functools.lru_cache(maxsize=8192)
def _unspaced(char: str) -> bool:
    """Whether `char` belongs to a script written without spaces between words."""
    return unicodedata.name(char, "").startswith(_UNSPACED_SCRIPTS)


def _script_runs(atom: str) -> list[str]:
    """`atom` split where a script with spaces meets one without ("出售rhino角")."""
    runs = []
    run = 0
    for position in range(1, len(atom)):
        if _unspaced(atom[position]) != _unspaced(atom[position - 1]):
            runs.append(atom[run:position])
            run = position
    runs.append(atom[run:])
    return runs


def _is_word_char(char: str) -> bool:
    """A letter or digit of a script that separates words with spaces."""
    return char.isalnum() and not _unspaced(char)


@functools.lru_cache(maxsize=64)
def _any_starts_ascii(words: tuple[str, ...]) -> bool:
    """Whether a Korean particle or one of `words` starts with an ASCII character."""
    return any(word[:1].isascii() for word in (*KOREAN_PARTICLES, *words))


class _WordChars(dict[str, bool]):
    """`_is_word_char` of every character met so far: the scan asks for each hit's
    neighbours, and a dictionary lookup costs less than the call."""

    def __missing__(self, char: str) -> bool:
        answer = _is_word_char(char)
        if len(self) < _WORD_CHARS_MAX:  # bounded: random text cannot grow it
            self[char] = answer
        return answer


_WORD_CHARS_MAX = 1 << 16
_WORD_CHARS = _WordChars()


def _canonical(folded: str) -> tuple[str, Sequence[int]]:
    """`folded` with dashes as spaces, one space per run, no invisible characters, and each
    character's folded index."""
    # One for one: offsets are unchanged.
    text = _read_as(folded)
    # No invisible character is ASCII: an ASCII text does not build their table.
    if text.isascii() or _invisible()[0].isdisjoint(text):
        if not text.startswith(" ") and "  " not in text:
            return text, range(len(text))  # what `_SPACE_RUNS` would find: nothing
        runs = list(_SPACE_RUNS.finditer(text))
    else:
        runs = list(_invisible()[1].finditer(text))
    if not runs:
        return text, range(len(text))
    out: list[str] = []
    index: list[int] = []
    done = 0
    for run in runs:
        start, end = run.span()
        out.append(text[done:start])
        index.extend(range(done, start))
        space = text.find(" ", start, end)
        # A run holding whitespace reads as one space, except at the start of the text.
        if space >= 0 and index:
            out.append(" ")
            index.append(space)
        done = end
    out.append(text[done:])
    index.extend(range(done, len(text)))
    return "".join(out), index


_SPACE_RUNS = re.compile(r"^ +| {2,}")


def _read_as(folded: str) -> str:
    """`folded` with each character of `_READ_AS` read as it says: `translate` through
    `_READ_AS_TABLE`, done by replacing each such character the text holds, which is
    several times faster (`translate` with a mapping looks up every character). No
    character is read as one that is read otherwise in turn, so the order is free."""
    text = folded
    for char in set(_READ_AS_CHARS.findall(folded)):
        text = text.replace(char, _READ_AS[char])
    return text


@functools.cache
def _invisible() -> tuple[frozenset[str], re.Pattern[str]]:
    """The invisible characters, and what `_canonical` changes in a text that holds some:
    leading spaces, runs of two spaces or more, runs with an invisible character. Built on
    first use: it reads the Unicode database for every format character."""
    planes = (range(0x10000), range(0x10000, 0x20000), range(0xE0000, 0xE1000))
    found = frozenset(chr(c) for plane in planes for c in plane if is_invisible(chr(c)))
    marks = "".join(map(re.escape, sorted(found)))
    return found, re.compile(f"^ +| {{2,}}|[ {marks}]*[{marks}][ {marks}]*")


#: Marks around the title of a work: Chinese 《…》 and 〈…〉, Japanese 『…』.
_TITLE_MARKS = (("《", "》"), ("〈", "〉"), ("『", "』"))
#: How long a title may be, in characters; past it, the marks belong to something else.
_TITLE_LENGTH = 40


def _title_around(text: str, start: int, end: int) -> str | None:
    """The title, marks included, that `text[start:end]` stands inside, or None.

    Chinese writes the title of a book, a film or a song between 《》: "小说《鹤顶红》" is a
    novel, whatever its title names. No seller writes the goods that way.
    """
    for opening, closing in _TITLE_MARKS:
        first = text.rfind(opening, max(0, start - _TITLE_LENGTH), start)
        if first < 0 or closing in text[first:start]:
            continue
        last = text.find(closing, end, first + _TITLE_LENGTH)
        if last >= 0 and opening not in text[end:last]:
            return text[first : last + 1]
    return None


def _fold_tokens(tokens: Iterable[str]) -> list[str]:
    """`tokens` (words of `_GAP_WORD`) folded as the lexicon's words are; a run of marks
    alone folds to nothing and is no word."""
    folded = (token.lower() if token.isascii() else fold(token) for token in tokens)
    return [token for token in folded if token]


def _asks(before: str, negation: str) -> bool:
    """Whether a Chinese negation is the middle of a question rather than a denial: the
    A-not-A form repeats the verb around it (有没有, 是不是, 卖不卖: "is there", "is it",
    "do you sell"), and 有无 asks "whether there is". `before` is the text right before
    the negation, in the same token."""
    if not before:
        return False
    return before[-1] == negation[-1] or (negation == "无" and before[-1] == "有")


def _last_sentence_end(text: str) -> int:
    """The end of the last match of `_SENTENCE_END` in `text`, or 0 when there is none.

    Each of its matches is one character: a mark of `_SENTENCE_MARK`, a full stop only
    where digits do not stand on both sides of it ("3.5" is a number) and it does not end
    an abbreviation listings write inside a sentence ("Brautkleid Gr. 38 elfenbein")."""
    marks = [mark.start() for mark in _SENTENCE_MARK.finditer(text)]
    last = len(text) - 1
    for position in reversed(marks):
        if text[position] == "." and 0 < position < last:
            if text[position - 1].isdecimal() and text[position + 1].isdecimal():
                continue
            if _abbreviation_before(text, position):
                continue
        return position + 1
    return 0


#: Abbreviations a listing writes in the middle of a sentence (sizes, numbers, approximate
#: measures): the full stop after them ends no sentence.
_ABBREVIATIONS = frozenset({"gr", "ca", "nr", "no", "approx", "vs", "inkl", "zzgl", "stk", "bzw"})


def _abbreviation_before(text: str, position: int) -> bool:
    """Whether the full stop at `position` closes one of `_ABBREVIATIONS`."""
    start = position
    while start > 0 and text[start - 1].isalpha() and position - start < 6:
        start -= 1
    if start > 0 and text[start - 1].isalnum():
        return False
    return text[start:position].lower() in _ABBREVIATIONS


def _singulars(word: str) -> tuple[str, ...]:
    """`word`, and `word` without each plural ending it has: the keys it may be, as written
    or with the ending `_spans` accepts after a key's last word."""
    return (word, *(word[: -len(end)] for end in PLURAL_SUFFIXES if word.endswith(end)))


def _is_latin_word(word: str) -> bool:
    return word.isascii() and word.isalpha()


# _Taxon and _Term are named tuples rather than dataclasses: a matcher with the full
# checklist holds some 160,000 of them, and a cached matcher unpickles named tuples several
# times faster (a frozen dataclass with slots restores each field through Python code).
class _Taxon(NamedTuple):
    taxon: str
    rank: str
    family: str | None
    order: str | None
    class_: str | None
    appendix: str
    lineage: frozenset[str]  # names a context rule may be scoped to: the taxon, its genus,
    #                          family, order and class
    spp_appendix: str | None  # the Appendix its members are listed in as a whole, if one


class _Term(NamedTuple):
    role: int  # _LISTED, _NOT_LISTED, _NEGATIVE or _CUE
    target: int  # index into taxa, not-listed entries, phrase rules or cue rules
    kind: str
    confidence: float
    plural: bool  # may also match with a regular plural suffix


@dataclass(frozen=True, slots=True)
class _Reading:
    """How one word of the text reads against the lexicon's words."""

    target: str  # lexicon word(s) the word is read as
    how: str  # "exact" | "plural" | "inflection" | "compound" | "misspelling" | "masked"
    lookalike: bool = False  # letters rebuilt from look-alike characters
    edits: int = 0  # edits of a misspelling
    pieces: tuple[tuple[int, int], ...] = ()  # compound: slices of the word, read apart
    others: tuple[str, ...] = ()  # other readings as likely as `target` ("afrikanischen":
    #                               "afrikanischer" or "afrikanische"); the neighbours decide


@dataclass(frozen=True, slots=True)
class _Respelling:
    """A word of the canonical text written otherwise in the respelled text."""

    start: int  # canonical offsets of the word as written
    end: int
    reading: _Reading
    joined: bool  # the word was taken apart and is read joined

    @property
    def factor(self) -> float:
        factor = 1.0
        if self.joined or self.reading.lookalike:
            factor *= OBFUSCATION_FACTOR
        if self.reading.how == "misspelling":
            factor *= MISSPELLING_FACTOR**self.reading.edits
        if self.reading.how == "compound":
            factor *= COMPOUND_FACTOR
        return factor

    def note(self, written: str, term: str) -> str | None:
        """What a reviewer reads about this respelling of `written` in a match on `term`."""
        reading = self.reading
        if reading.how == "compound":
            return f"found '{term}' in the compound '{written}'"
        if reading.how == "misspelling":
            edits = "1 edit" if reading.edits == 1 else f"{reading.edits} edits"
            return f"matched '{written}' as '{reading.target}' ({edits})"
        if reading.how == "inflection":
            return f"read '{written}' as '{reading.target}' (inflected form)"
        if reading.how == "masked":
            return f"read '{written}' as '{reading.target}' (letters masked)"
        why = [
            *(["separators inside the word"] if self.joined else []),
            *(["look-alike characters"] if reading.lookalike else []),
        ]
        if not why:
            return None  # a plural inside a longer term reads as the automaton reads plurals
        return f"read '{written}' as '{reading.target}' ({' and '.join(why)})"


class _Key(NamedTuple):
    """A key of the matcher's automaton and what it stands for."""

    key: str
    open_start: bool  # needs no word boundary before it
    open_end: bool  # needs no word boundary after it
    terms: tuple[_Term, ...]


def _key_automaton(keys: Sequence[_Key]) -> Any:
    """An Aho-Corasick automaton of `keys` (None when there are none): a match's index is
    the key's index in `keys`, its offsets are character offsets, and with `overlapping`
    it reports every occurrence of every key."""
    if not keys:
        return None
    return ahocorasick_rs.AhoCorasick(
        [key.key for key in keys], matchkind=ahocorasick_rs.MatchKind.Standard
    )


_SURROGATE = re.compile("[\ud800-\udfff]")


def _find_keys(automaton: Any, text: str) -> list[tuple[int, int, int]]:
    """(key index, start, end) of every occurrence of every key of `automaton` in `text`.

    The automaton reads UTF-8, which has no lone surrogates (Python strings may hold them):
    in a text that does, each is read as U+FFFD, one character for one, so the offsets
    stand, and a match over one is dropped (no key holds a lone surrogate: the automaton
    could not have been built).
    """
    try:
        return automaton.find_matches_as_indexes(text, overlapping=True)
    except UnicodeEncodeError:
        readable = _SURROGATE.sub("\ufffd", text)
        return [
            (index, start, end)
            for index, start, end in automaton.find_matches_as_indexes(readable, overlapping=True)
            if not _SURROGATE.search(text, start, end)
        ]


@dataclass(slots=True)
class _Hit:
    start: int  # offsets into the canonical text
    end: int
    role: int
    target: int
    kind: str
    confidence: float
    key: str  # the lexicon key that matched
    respellings: tuple[_Respelling, ...] = ()


@dataclass(frozen=True, slots=True)
class _PhraseRule:
    """Phrases that show no specimen is offered of the taxa in scope of their matches."""

    rule: str
    reason: str
    taxa: frozenset[int] | None  # indices of the taxa in scope (lexicon negative contexts)
    names: frozenset[str] | None  # or names in the lineage of the taxa in scope; both None:
    #                               every taxon

    def applies(self, index: int, taxon: _Taxon) -> bool:
        if self.taxa is not None:
            return index in self.taxa
        return self.names is None or not self.names.isdisjoint(taxon.lineage)


@dataclass(frozen=True, slots=True)
class _CueRule:
    """Cue words that, within a window of a match, show no specimen of it is offered."""

    rule: str
    label: str  # "clothing word": the reason reads "clothing word 'dress' after 'ivory'"
    names: frozenset[str] | None  # lineage names in scope; None: every taxon
    kinds: frozenset[str] | None  # kinds of term it applies to; None: every kind
    terms: frozenset[str] | None  # lexicon keys it applies to; None: every term
    before: int | None  # most words between a cue before the match and the match; None: never
    after: int | None  # most words between the match and a cue after it; None: never
    across_commas: bool
    across_conjunctions: bool
    affirmable: bool  # an affirming word before the match ("genuine") disarms it
    not_past_parts: bool  # does not reach past an animal part ("rhino horn carving")
    # Anywhere in the listing, not within a window: what makes a whole post about the animal
    # rather than an offer of it ("Share to raise awareness", "petition", "say no to").
    whole_text: bool = False
    # The Appendices of the taxa it applies to; None: every taxon. An annotation's exemption
    # (finished musical instruments of rosewood, #15) holds for a listing in Appendix II,
    # never for the Appendix I members of the same genus (Brazilian rosewood).
    appendices: frozenset[str] | None = None

    def applies(self, taxon: _Taxon, kind: str, key: str) -> bool:
        return (
            (self.names is None or not self.names.isdisjoint(taxon.lineage))
            and (self.kinds is None or kind in self.kinds)
            and (self.terms is None or key in self.terms)
            and (
                self.appendices is None or not self.appendices.isdisjoint(taxon.appendix.split("/"))
            )
        )


@dataclass(frozen=True, slots=True)
class _Gap:
    """What lies between a cue and a match."""

    words: int
    sentence: bool  # an end of sentence or a line break
    clause: bool  # a comma, a bar, a dash between spaces
    conjunction: bool  # "and", "with", "&", 和, ...
    part: bool  # "horn", "bone", "skin", 角, ...


def _terms(value: Any, where: str) -> list[tuple[str, float | None]]:
    """(term, confidence override) pairs of a {language: [term | {term, confidence}]} map."""
    return [(term, confidence) for _, term, confidence in _language_terms(value, where)]


def _language_terms(value: Any, where: str) -> list[tuple[str, str, float | None]]:
    """(language, term, confidence override) triples of a {language: [term | {...}]} map."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected an object of language lists")
    found: list[tuple[str, str, float | None]] = []
    for language, items in value.items():
        if not isinstance(items, list):
            raise ValueError(f"{where}.{language}: expected a list")
        for item in items:
            if isinstance(item, str):
                found.append((language, item, None))
            elif isinstance(item, Mapping) and isinstance(item.get("term"), str):
                confidence = item.get("confidence")
                if confidence is None:
                    found.append((language, item["term"], None))
                    continue
                if not isinstance(confidence, int | float) or not 0 < confidence <= 1:
                    raise ValueError(f"{where}.{language}: bad confidence for {item['term']!r}")
                found.append((language, item["term"], float(confidence)))
            else:
                raise ValueError(f"{where}.{language}: bad term {item!r}")
    return found


def _folded_words(value: Any, where: str) -> frozenset[str]:
    return frozenset(key for term, _ in _terms(value, where) if (key := term_key(term)))


# -- reading words against the lexicon -------------------------------------------------------


class _Spelling:
    """Readings of the text's words that the lexicon knows: look-alikes, pieces, plurals,
    inflections, compounds and misspellings. Built once per matcher; each word read once."""

    def __init__(
        self,
        keys: Iterable[str],
        term_languages: Mapping[str, set[str]],
        listed_kinds: Mapping[str, set[str]],
        curated: frozenset[str],
        ordinary: frozenset[str],
    ) -> None:
        known: set[str] = set()
        termed: set[str] = set()  # words of the terms of taxa
        pairs: set[tuple[str, str]] = set()  # words that follow each other in a term
        phrased: set[str] = set()  # words of terms of two words or more
        inner: set[str] = set()  # words that stand before another word of a term
        alone: set[str] = set()  # keys of one word
        for key in keys:
            words = key.split(" ")
            if len(words) == 1:
                alone.add(key)
            for position, word in enumerate(words):
                if word.isalpha() and not _unspaced(word[0]):
                    known.add(word)
                    if position < len(words) - 1:
                        pairs.add((word, words[position + 1]))
                    if key not in term_languages:
                        continue  # a context phrase or a cue: known, but no term's word
                    termed.add(word)
                    if len(words) > 1:
                        phrased.add(word)
                    if position < len(words) - 1:
                        inner.add(word)
        self._known = frozenset(known)
        self.alone = frozenset(alone)
        self._termed = frozenset(termed)
        self.pairs = frozenset(pairs)
        self._phrased = frozenset(phrased)
        self._inner = frozenset(inner)
        self._ordinary = ordinary
        self._by_first: dict[str, list[str]] | None = None  # `_unmasked`'s, built when needed

        # One-word terms that may start or end a compound.
        self._compound_terms = frozenset(
            key
            for key in term_languages
            if len(key) >= COMPOUND_MIN_TERM and _is_latin_word(key) and key in curated
        )
        self._compound_longest = max(map(len, self._compound_terms), default=0)

        # Stems of the words of listed and not-listed terms, by inflection table.
        self._stems: dict[tuple[str, str], list[str]] = {}
        self._tables = {
            table: (
                tuple(sorted({fold(ending) for ending in lemma}, key=len, reverse=True)),
                tuple(sorted({fold(ending) for ending in forms}, key=len, reverse=True)),
            )
            for table, (lemma, forms) in INFLECTIONS.items()
        }
        word_languages: dict[str, set[str]] = {}
        for key, languages in term_languages.items():
            for word in key.split(" "):
                if word in known:
                    word_languages.setdefault(word, set()).update(languages)
        for word, languages in word_languages.items():
            shortest = INFLECTION_MIN_TERM if word in term_languages else INFLECTION_MIN_WORD
            if len(word) < shortest:
                continue
            for language in languages:
                for table in INFLECTION_TABLES.get(language, ()):
                    for ending in self._tables[table][0]:
                        stem = word[: len(word) - len(ending)]
                        if word.endswith(ending) and len(stem) >= INFLECTION_MIN_STEM:
                            found = self._stems.setdefault((table, stem), [])
                            if word not in found:
                                found.append(word)

        # Deletion index of the Latin words of listed terms, over their first letters. A word
        # only scientific names hold is allowed fewer edits (`_allowed_edits`).
        vernacular: set[str] = set()
        listed_kinds = {key: kinds for key, kinds in listed_kinds.items() if key in curated}
        for key, kinds in listed_kinds.items():
            if kinds - {"scientific"}:
                vernacular.update(key.split(" "))
        self._allowed: dict[str, int] = {}
        self._fuzzy_words: dict[str, list[str]] = {}
        depth: dict[str, int] = {}
        for key in listed_kinds:
            for word in key.split(" "):
                if word in self._allowed or not _is_latin_word(word):
                    continue
                allowed = _allowed_edits(len(word), word not in vernacular)
                self._allowed[word] = allowed
                if not allowed:
                    continue
                prefix = word[:FUZZY_PREFIX]
                self._fuzzy_words.setdefault(prefix, []).append(word)
                depth[prefix] = max(depth.get(prefix, 0), allowed)
        self._fuzzy_index: dict[str, list[str]] = {}
        for prefix, edits in depth.items():
            for deleted in deletions(prefix, edits):
                self._fuzzy_index.setdefault(deleted, []).append(prefix)

        self.read = functools.lru_cache(maxsize=READINGS_CACHED)(self._read)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the cache of readings (a cache does not pickle) and the index
        `_unmasked` builds when it first needs it."""
        skip = ("read", "_by_first")
        return {name: value for name, value in self.__dict__.items() if name not in skip}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._by_first = None
        self.read = functools.lru_cache(maxsize=READINGS_CACHED)(self._read)

    def known(self, word: str) -> bool:
        return word in self._known

    def _unmasked(self, word: str) -> str | None:
        """The one word of the lexicon's terms that `word`, letters masked with stars, can be
        ("p*ngolin": pangolin, "a*tro*phytum": astrophytum), or None. A run of stars stands
        for up to two letters more than it has stars (sellers are loose with them, and put
        one in where nothing is missing); an ending of one or two letters after the last
        star may be an inflection the term does not hold ("к***дила": крокодил)."""
        pieces = word.split("*")
        shown = sum(len(piece) for piece in pieces)
        if shown < MASK_MIN_LETTERS or not pieces[0] or not all(p.isalpha() for p in pieces if p):
            return None
        if self._by_first is None:
            by_first: dict[str, list[str]] = {}
            for term_word in self._termed:
                by_first.setdefault(term_word[0], []).append(term_word)
            self._by_first = by_first
        parts = re.split(r"(\*+)", word)
        candidates = self._by_first.get(word[0], [])
        for dropped in (0, 1, 2):
            # An inflectional ending after the last star that the term does not hold.
            last = parts[-1]
            if dropped and len(last) - dropped < 2:
                break
            pattern = re.compile(
                "".join(
                    f"[^\\W\\d_]{{0,{len(part) + 2}}}" if part.startswith("*") else re.escape(part)
                    for part in [*parts[:-1], last[: len(last) - dropped]]
                )
            )
            found = {w for w in candidates if pattern.fullmatch(w)}
            if len(found) == 1:
                return found.pop()
            if found:
                return None  # more than one word fits: no reading is surer than another
        return None

    def _plural_bases(self, word: str) -> list[str]:
        """Lexicon words of which `word` is a regular plural, those inside terms first."""
        bases = [
            word[: -len(suffix)]
            for suffix in PLURAL_SUFFIXES
            if word.endswith(suffix) and word[: -len(suffix)] in self._known
        ]
        return sorted((b for b in bases if "a" <= b[-1] <= "z"), key=lambda b: b not in self._inner)

    def _read(self, word: str, joined: bool) -> _Reading | None:
        """How `word` (folded, as one word) reads, or None when it needs no other reading."""
        if "*" in word:
            target = self._unmasked(word)
            if target is not None:
                return _Reading(target, "masked")
        if word.isalpha():
            if _unspaced(word[0]):
                return _Reading(word, "exact") if joined else None
            bases = self._plural_bases(word)
            if word in self._known and joined:
                return _Reading(word, "exact")
            if word in self._termed:
                # A form the lexicon lists alone whose base it lists inside a longer term:
                # "elefantes africanos", "afrikanischen Elefanten". A form inside a term of
                # its own reads so too: "buches del Golfo" must not hide "buches de totoaba"
                # (the text as written is scanned as well, for the term that has the form).
                for base in bases:
                    if base in self._phrased:
                        return _Reading(base, "plural")
                if word in self._phrased:
                    return None
                inflected = [form for form in self._inflect(word) if form in self._phrased]
                if inflected:
                    return _Reading(inflected[0], "inflection", others=tuple(inflected[1:]))
                return None
            if bases:
                if joined:
                    return _Reading(word, "plural")
                # The automaton reads a plural at the end of a term; inside one, the base.
                return _Reading(bases[0], "plural") if bases[0] in self._inner else None
            candidates = [word]
            lookalike = False
            mixed = [] if word.isascii() else lookalike_readings(word)  # "ivοry", Greek ο
            for reading in mixed:
                if reading in self._known or self._plural_bases(reading):
                    return _Reading(reading, "exact", lookalike=True)
            if mixed:
                candidates, lookalike = mixed, True
        else:
            candidates = lookalike_readings(word)
            if not candidates:
                return None
            for reading in candidates:
                if reading in self._known or self._plural_bases(reading):
                    return _Reading(reading, "exact", lookalike=True)
            lookalike = True
        base = candidates[0]
        if not base.isalpha():
            return None
        inflected = self._inflect(base)
        if inflected:
            return _Reading(
                inflected[0], "inflection", lookalike=lookalike, others=tuple(inflected[1:])
            )
        if not joined:
            pieces = self._compound(base)
            if pieces is not None:
                target = " ".join(base[a:b] for a, b in pieces)
                return _Reading(target, "compound", lookalike=lookalike, pieces=pieces)
        # A word the context rules know ("cream", "Elfenbeinfarbe") is no misspelling; its
        # inflections and compounds still read, for a phrase to overrule with its reason.
        closest = None if base in self._known else self._misspelling(base)
        if closest is not None:
            target, edits = closest
            return _Reading(target, "misspelling", lookalike=lookalike, edits=edits)
        return None

    def _inflect(self, word: str) -> list[str]:
        """The lexicon words of which `word` may be an inflected form, likeliest first."""
        tables = ("ru",) if "\u0400" <= word[0] <= "\u04ff" else ("de", "nl", "it", "pt")
        found: list[str] = []
        for table in tables:
            for ending in self._tables[table][1]:
                stem = word[: len(word) - len(ending)]
                if word.endswith(ending) and len(stem) >= INFLECTION_MIN_STEM:
                    found.extend(
                        t
                        for t in self._stems.get((table, stem), ())
                        if t != word and t not in found
                    )
        return found

    def _compound(self, word: str) -> tuple[tuple[int, int], ...] | None:
        size = len(word)
        if not _is_latin_word(word) or size < COMPOUND_MIN_TERM + COMPOUND_MIN_HEAD:
            return None
        lead = 0
        for length in range(min(size - COMPOUND_MIN_REST, self._compound_longest), 0, -1):
            if length < COMPOUND_MIN_TERM:
                break
            if word[:length] in self._compound_terms and word[length:] not in COMPOUND_NOT_REST:
                lead = length
                break
        trail = 0
        for length in range(min(size - COMPOUND_MIN_HEAD, self._compound_longest), 0, -1):
            if length < COMPOUND_MIN_TERM:
                break
            if word[size - length :] in self._compound_terms:
                trail = length
                break
        if not lead and not trail:
            return None
        if lead and trail and lead + trail > size:  # the same letters: keep the longer term
            lead, trail = (lead, 0) if lead >= trail else (0, trail)
        rest = lead
        if lead:
            # Skip a linking element when what follows it is a word the lexicon knows.
            for link in COMPOUND_LINKS:
                after = word[lead + len(link) : size - trail]
                if word.startswith(link, lead) and after in self._known:
                    rest = lead + len(link)
                    break
        pieces = [(0, lead)] if lead else []
        if rest < size - trail:
            pieces.append((rest, size - trail))
        if trail:
            pieces.append((size - trail, size))
        return tuple(pieces)

    def _misspelling(self, word: str) -> tuple[str, int] | None:
        if not _is_latin_word(word) or len(word) < FUZZY_QUERY_MIN:
            return None
        closest = self._closest(word)
        if closest is None and word.endswith("s") and len(word) > FUZZY_QUERY_MIN:
            found = self._closest(word[:-1])
            if found is not None:
                closest = (found[0] + "s", found[1])
        return closest

    def _closest(self, word: str) -> tuple[str, int] | None:
        if word in self._ordinary:
            return None
        depth = 2 if len(word) >= FUZZY_TWO_EDITS_MIN - 2 else 1
        best: tuple[int, str] | None = None
        seen: set[str] = set()
        for deleted in deletions(word[:FUZZY_PREFIX], depth):
            for prefix in self._fuzzy_index.get(deleted, ()):
                if prefix in seen:
                    continue
                seen.add(prefix)
                for target in self._fuzzy_words[prefix]:
                    allowed = self._allowed[target]
                    distance = osa_distance(word, target, allowed)
                    if 0 < distance <= allowed and (best is None or (distance, target) < best):
                        best = (distance, target)
        return None if best is None else (best[1], best[0])


def _allowed_edits(length: int, scientific: bool) -> int:
    """Edits a misspelling of a lexicon word of `length` letters may have."""
    if scientific:
        return 1 if length >= FUZZY_SCIENTIFIC_MIN else 0
    if length >= FUZZY_TWO_EDITS_MIN:
        return 2
    return 1 if length >= FUZZY_ONE_EDIT_MIN else 0


# -- context rules -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Contexts:
    """The parsed `contexts.json`."""

    version: str
    phrase_rules: tuple[tuple[_PhraseRule, tuple[str, ...]], ...]
    cue_rules: tuple[tuple[_CueRule, tuple[str, ...]], ...]
    negators: _WordSet  # "not", "kein", 不: before a cue, take it back
    after_negators: tuple[str, ...]  # ではない: right after a cue, take it back
    affirmations: _WordSet  # "genuine", "echtes", 真: before a match, disarm replica cues
    conjunctions: _WordSet  # "and", "with", 和: join two items of a listing
    parts: _WordSet  # "horn", "bone", 角: what a likeness rule does not reach past
    not_misspellings: frozenset[str]
    knowing: tuple[str, ...]  # "you know what I mean", "not resin", 懂的都懂: see `_knowing`

    @classmethod
    def parse(cls, raw: Mapping[str, Any], version: str) -> _Contexts:
        """Validated rules from a parsed `contexts.json`; raises ValueError naming the fault."""
        if not isinstance(raw, Mapping):
            raise ValueError("contexts: expected a JSON object")
        seen: set[str] = set()

        def rule_id(item: Mapping[str, Any], where: str) -> str:
            rule = item.get("id")
            if not isinstance(rule, str) or not rule.strip():
                raise ValueError(f"{where}: a non-empty 'id' is required")
            if rule in seen:
                raise ValueError(f"{where}: duplicate rule id {rule!r}")
            seen.add(rule)
            return rule

        def scope(item: Mapping[str, Any], where: str) -> frozenset[str] | None:
            taxa = item.get("taxa", "any")
            if taxa == "any":
                return None
            if not isinstance(taxa, list) or not taxa or not all(isinstance(t, str) for t in taxa):
                raise ValueError(f"{where}.taxa: expected 'any' or a list of taxon names")
            return frozenset(taxa)

        def window(item: Mapping[str, Any], name: str, where: str) -> int | None:
            value = item.get(name)
            if value is None:
                return None
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
                raise ValueError(f"{where}.{name}: expected a number of words 0..10 or null")
            return value

        def flag(item: Mapping[str, Any], name: str, where: str) -> bool:
            value = item.get(name, False)
            if not isinstance(value, bool):
                raise ValueError(f"{where}.{name}: expected true or false")
            return value

        def phrases(value: Any, where: str) -> tuple[str, ...]:
            found = tuple(term for term, _ in _terms(value, where))
            if not found:
                raise ValueError(f"{where}: no phrases")
            return found

        phrase_rules: list[tuple[_PhraseRule, tuple[str, ...]]] = []
        for position, item in enumerate(raw.get("phrase_rules", [])):
            where = f"contexts.phrase_rules[{position}]"
            reason = item.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise ValueError(f"{where}: a non-empty 'reason' is required")
            rule = _PhraseRule(f"phrase:{rule_id(item, where)}", reason, None, scope(item, where))
            phrase_rules.append((rule, phrases(item.get("phrases"), f"{where}.phrases")))

        cue_rules: list[tuple[_CueRule, tuple[str, ...]]] = []
        for position, item in enumerate(raw.get("cue_rules", [])):
            where = f"contexts.cue_rules[{position}]"
            label = item.get("label")
            if not isinstance(label, str) or not label.strip():
                raise ValueError(f"{where}: a non-empty 'label' is required")
            kinds = item.get("kinds")
            if kinds is not None and (not isinstance(kinds, list) or not set(kinds) <= KINDS):
                raise ValueError(f"{where}.kinds: expected a list of {sorted(KINDS)}")
            before, after = window(item, "before", where), window(item, "after", where)
            if before is None and after is None and not item.get("whole_text"):
                raise ValueError(f"{where}: a 'before' or an 'after' window is required")
            terms = item.get("terms")
            appendices = item.get("appendices")
            if appendices is not None and (
                not isinstance(appendices, list) or not set(appendices) <= {"I", "II", "III"}
            ):
                raise ValueError(f"{where}.appendices: expected a list of I, II and III")
            rule = _CueRule(
                rule=rule_id(item, where),
                label=label,
                names=scope(item, where),
                kinds=None if kinds is None else frozenset(kinds),
                terms=None if terms is None else _folded_words(terms, f"{where}.terms"),
                before=before,
                after=after,
                across_commas=flag(item, "across_commas", where),
                across_conjunctions=flag(item, "across_conjunctions", where),
                affirmable=flag(item, "affirmable", where),
                not_past_parts=flag(item, "not_past_parts", where),
                whole_text=flag(item, "whole_text", where),
                appendices=None if appendices is None else frozenset(appendices),
            )
            cue_rules.append((rule, phrases(item.get("cues"), f"{where}.cues")))

        negation = raw.get("negation", {})
        return cls(
            version=version,
            phrase_rules=tuple(phrase_rules),
            cue_rules=tuple(cue_rules),
            negators=_WordSet.of(negation.get("before"), "negation.before"),
            after_negators=tuple(
                sorted(_folded_words(negation.get("after"), "negation.after"), key=len)
            ),
            affirmations=_WordSet.of(raw.get("affirmations"), "affirmations"),
            conjunctions=_WordSet.of(raw.get("conjunctions"), "conjunctions"),
            parts=_WordSet.of(raw.get("parts"), "parts"),
            not_misspellings=_folded_words(raw.get("not_misspellings"), "not_misspellings"),
            knowing=tuple(term for term, _ in _terms(raw.get("knowing"), "contexts.knowing")),
        )


@dataclass(frozen=True, slots=True)
class _WordSet:
    """Words looked for among the words next to a cue or a match."""

    words: frozenset[str]  # folded single words of scripts written with spaces
    phrases: tuple[str, ...]  # folded phrases of several words ("không phải")
    unspaced: tuple[str, ...]  # words of scripts written without spaces (不, 没有, 和)
    phrase_extra: int = 0  # words of the longest phrase, less one

    @classmethod
    def of(cls, value: Any, where: str) -> _WordSet:
        keys = _folded_words(value, where)
        phrases = tuple(sorted(k for k in keys if " " in k))
        return cls(
            words=frozenset(k for k in keys if " " not in k and not _unspaced(k[0])),
            phrases=phrases,
            unspaced=tuple(sorted(k for k in keys if _unspaced(k[0]))),
            phrase_extra=max((p.count(" ") for p in phrases), default=0),
        )

    def last(self, tokens: Sequence[str], window: int, adjacent: bool = False) -> int | None:
        """Index in `tokens` of the nearest of these words among the last `window` words of
        `tokens` (folded words of a clause, in order), or None. With `adjacent`, a word of a
        script without spaces counts only at the very end (非象牙, not 非洲象牙: Africa)."""
        count = 0
        for index in range(len(tokens) - 1, -1, -1):
            token = tokens[index]
            if _unspaced(token[0]):
                if adjacent:
                    if index == len(tokens) - 1 and token.endswith(self.unspaced):
                        return index
                    count += math.ceil(len(token) / UNSPACED_WORD)
                    if count >= window:
                        break
                    continue
                reach = token[-(window - count) * UNSPACED_WORD - 2 :]
                if any(word in reach for word in self.unspaced):
                    return index
                count += math.ceil(len(token) / UNSPACED_WORD)
            else:
                if token in self.words:
                    return index
                count += 1
            if count >= window:
                break
        if self.phrases:
            # A phrase counts when its last word is among the last `window` words: "không
            # phải" right before a term denies it, with `window` 1.
            joined = f" {' '.join(tokens[-(window + self.phrase_extra) :])} "
            for phrase in self.phrases:
                if f" {phrase} " in joined:
                    return max(0, len(tokens) - window)
        return None

    def ending_phrase(self, tokens: Sequence[str]) -> str | None:
        """The phrase of these that `tokens` end with, or None."""
        ending = f" {' '.join(tokens[-(self.phrase_extra + 1) :])} "
        return next((p for p in self.phrases if ending.endswith(f" {p} ")), None)

    def among(self, tokens: Sequence[str]) -> bool:
        """Whether any of these words is in `tokens`."""
        return self.last(tokens, len(tokens) + sum(map(len, tokens))) is not None


@functools.cache
def _shipped_contexts_bytes() -> bytes:
    return resources.files("matching").joinpath(CONTEXTS_RESOURCE).read_bytes()


@functools.cache
def _shipped_contexts() -> _Contexts:
    raw = _shipped_contexts_bytes()
    data = json.loads(raw)
    digest = hashlib.sha256(raw).hexdigest()[:8]
    return _Contexts.parse(data, f"{data.get('version', '?')}+{digest}")


# -- the matcher -------------------------------------------------------------------------------


class SpeciesMatcher:
    """Finds listed taxa in text with one pass of an Aho-Corasick automaton over its lexicon
    (and a second over the words it had to read otherwise), then weighs each match in its
    context."""

    version: str  # "<lexicon version>+<first 8 hex of the SHA-256 of its JSON>"
    contexts_version: str  # "<contexts version>+<first 8 hex of the SHA-256 of its JSON>"

    def __init__(
        self,
        lexicon: Mapping[str, Any],
        version: str,
        *,
        contexts: Mapping[str, Any] | None = None,
    ) -> None:
        """Build from a parsed lexicon; `version` names it in every analysis it makes.

        `contexts` replaces the shipped context rules (`matching/data/contexts.json`) with
        others in the same schema, for tests and experiments.
        """
        self.version = version
        rules = (
            _shipped_contexts()
            if contexts is None
            else _Contexts.parse(contexts, str(contexts.get("version", "custom")))
        )
        self.contexts_version = rules.version
        self._taxa: list[_Taxon] = []
        self._suppresses: list[frozenset[int]] = []
        self._not_listed_names: list[str] = []
        self._phrase_rules: list[_PhraseRule] = []
        self._cue_rules: list[_CueRule] = [rule for rule, _ in rules.cue_rules]
        entries: dict[str, list[_Term]] = {}
        term_languages: dict[str, set[str]] = {}  # one-word and longer keys of taxa
        listed_kinds: dict[str, set[str]] = {}
        curated: set[str] = set()  # keys of entries misspellings and compounds are read against
        index_of: dict[str, int] = {}

        def add(
            term: str, entry: _Term, where: str, language: str | None = None, own: bool = True
        ) -> None:
            key = term_key(term)
            if not key:
                raise ValueError(f"{where}: empty term {term!r}")
            # An acronym ("CAG", "MRK") takes no regular plural: "CAG" + "es" would read
            # "cages". The lexicon lists the plurals keepers write ("CAGs").
            plural = (
                entry.plural
                and entry.kind != "scientific"
                and "a" <= key[-1] <= "z"
                and not (term.isupper() and " " not in term)
            )
            entries.setdefault(key, []).append(
                _Term(entry.role, entry.target, entry.kind, entry.confidence, plural)
            )
            if entry.role in (_LISTED, _NOT_LISTED):
                term_languages.setdefault(key, set()).add(language or "")
            if entry.role == _LISTED:
                listed_kinds.setdefault(key, set()).add(entry.kind)
            if own:
                curated.add(key)

        abbreviated = abbreviated_names(lexicon.get("taxa", []))
        for position, raw in enumerate(lexicon.get("taxa", [])):
            where = f"taxa[{position}]"
            try:
                name, rank = raw["taxon"], raw["rank"]
                family, order, class_ = raw["family"], raw["order"], raw["class"]
                appendix = raw["appendix"]
            except KeyError as missing:
                raise ValueError(f"{where}: missing key {missing}") from None
            if appendix not in APPENDICES:
                raise ValueError(f"{where}: appendix {appendix!r} not one of {sorted(APPENDICES)}")
            spp_appendix = raw.get("spp_appendix")
            if spp_appendix is not None and spp_appendix not in appendix.split("/"):
                raise ValueError(
                    f"{where}: spp_appendix {spp_appendix!r} is not a part of {appendix!r}"
                )
            if rank not in RANKS:
                raise ValueError(f"{where}: rank {rank!r} not one of {sorted(RANKS)}")
            if name in index_of:
                raise ValueError(f"{where}: duplicate taxon {name!r}")
            genus = name.split(" ")[0] if rank in ("GENUS", "SPECIES", "SUBSPECIES") else None
            lineage = frozenset(n for n in (name, genus, family, order, class_) if n)
            taxon = _Taxon(name, rank, family, order, class_, appendix, lineage, spp_appendix)
            target = index_of[name] = len(self._taxa)
            self._taxa.append(taxon)
            own = raw.get("source") in OWN_SOURCES
            for scientific in raw.get("scientific", []):
                entry = _Term(_LISTED, target, "scientific", SCIENTIFIC_CONFIDENCE, False)
                add(scientific, entry, where, "la", own)
            for short in abbreviated.get(name, ()):
                entry = _Term(_LISTED, target, "scientific", ABBREVIATED_CONFIDENCE, False)
                add(short, entry, where, "la", own)
            for field, kind in (
                ("names", "common"),
                ("trade_terms", "trade"),
                ("code_words", "code"),
            ):
                for language, term, override in _language_terms(raw.get(field), f"{where}.{field}"):
                    confidence = KIND_CONFIDENCE[kind] if override is None else override
                    entry = _Term(_LISTED, target, kind, confidence, True)
                    add(term, entry, where, language, own)

        def taxa_indices(names: Iterable[str], where: str) -> frozenset[int]:
            unknown = [name for name in names if name not in index_of]
            if unknown:
                raise ValueError(f"{where}: unknown taxa {unknown}")
            return frozenset(index_of[name] for name in names)

        for position, raw in enumerate(lexicon.get("not_listed", [])):
            where = f"not_listed[{position}]"
            self._suppresses.append(taxa_indices(raw.get("suppresses", []), where))
            self._not_listed_names.append(str(raw.get("taxon", "a taxon")))
            entry = _Term(_NOT_LISTED, position, "not_listed", 0.0, True)
            own = raw.get("source") in OWN_SOURCES
            for name in raw.get("scientific", []):
                add(name, entry, where, "la", own)
            for language, term, _ in _language_terms(raw.get("names"), f"{where}.names"):
                add(term, entry, where, language, own)

        for position, raw in enumerate(lexicon.get("negative_contexts", [])):
            where = f"negative_contexts[{position}]"
            rule = _PhraseRule(
                f"lexicon:{where}",
                str(raw.get("reason") or "negative context"),
                taxa_indices(raw.get("taxa", []), where),
                None,
            )
            target = len(self._phrase_rules)
            self._phrase_rules.append(rule)
            for phrase, _ in _terms(raw.get("phrases"), f"{where}.phrases"):
                add(phrase, _Term(_NEGATIVE, target, "negative", 0.0, True), where)

        for rule, phrases in rules.phrase_rules:
            target = len(self._phrase_rules)
            self._phrase_rules.append(rule)
            for phrase in phrases:
                add(phrase, _Term(_NEGATIVE, target, "negative", 0.0, True), rule.rule)
        for target, (cue_rule, cues) in enumerate(rules.cue_rules):
            for cue in cues:
                add(cue, _Term(_CUE, target, "cue", 0.0, True), cue_rule.rule)
        for phrase in rules.knowing:
            add(phrase, _Term(_KNOWING, 0, "knowing", 0.0, True), "contexts.knowing")
        self._negators = rules.negators
        self._after_negators = rules.after_negators
        self._affirmations = rules.affirmations
        # Cue words of the rules an affirmation disarms that are written without spaces and
        # end in an affirmation (仿真, "lifelike", ends in 真, "real"): never an affirmation.
        self._likeness_words = tuple(
            word
            for cue_rule, cues in rules.cue_rules
            if cue_rule.affirmable
            for word in map(fold, cues)
            if word and _unspaced(word[0]) and word.endswith(rules.affirmations.unspaced)
        )
        self._conjunctions = rules.conjunctions
        self._parts = rules.parts

        self._longest = max(map(len, entries), default=0)
        # What each key of the automaton stands for, by the key's index in it. A key that
        # starts or ends in a script without spaces, or with a mark ("en forme d'"), needs
        # no word boundary on that side.
        self._keys: list[_Key] = [
            _Key(
                key,
                _unspaced(key[0]) or not _is_word_char(key[0]),
                _unspaced(key[-1]) or not _is_word_char(key[-1]),
                tuple(terms),
            )
            for key, terms in entries.items()
        ]
        self._automaton = _key_automaton(self._keys)
        # Whether a key has a term of a listed taxon, and one that takes a plural: by index.
        self._listed_keys: list[tuple[bool, bool]] = [
            (
                any(t.role == _LISTED for t in key.terms),
                any(t.role == _LISTED and t.plural for t in key.terms),
            )
            for key in self._keys
        ]
        self._empty = not listed_kinds
        self._spelling = _Spelling(
            entries, term_languages, listed_kinds, frozenset(curated), rules.not_misspellings
        )
        self._plain_words: set[str] = set()  # see `_reads_as_written`
        self._plain_tokens: set[str] = set()
        self._token_readings: dict[str, tuple[tuple[str, _Reading], ...]] = {}
        self._key_forming: dict[tuple[str | None, str, str | None], bool] = {}

    @classmethod
    def from_bytes(cls, raw: bytes) -> SpeciesMatcher:
        """A matcher for a lexicon given as JSON bytes, with the shipped context rules; its
        version carries the SHA-256 of the lexicon and of the context rules together, so an
        analysis names the rules that made it."""
        lexicon = json.loads(raw)
        if not isinstance(lexicon, Mapping) or not lexicon.get("version"):
            raise ValueError("lexicon: a JSON object with a non-empty 'version' is required")
        return cls(lexicon, _version_of(raw, lexicon["version"]))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> SpeciesMatcher:
        """A matcher for the lexicon JSON file at `path`."""
        with open(path, "rb") as handle:
            return cls.from_bytes(handle.read())

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the words it has met (a cached matcher starts fresh) and without
        its automaton, which cannot be pickled and is built again from the keys."""
        skip = ("_plain_words", "_plain_tokens", "_token_readings", "_key_forming", "_automaton")
        return {name: value for name, value in self.__dict__.items() if name not in skip}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._plain_words = set()
        self._plain_tokens = set()
        self._token_readings = {}
        self._key_forming = {}
        self._automaton = _key_automaton(self._keys)

    @property
    def taxa(self) -> tuple[str, ...]:
        """The taxa this matcher can report, in lexicon order."""
        return tuple(taxon.taxon for taxon in self._taxa)

    def find(self, text: str) -> list[SpeciesMatch]:
        """Every mention of a listed taxon in `text` that is not overruled, sorted by position."""
        return self.assess(text).matches

    def assess(self, text: str, folded: Folded | None = None) -> Assessment:
        """Every mention of a listed taxon in `text`: those that stand, and those overruled
        by their context, each with its reason. `folded`, if given, must be
        `normalise(text)` (the caller's, when it folds the text for something else too)."""
        if not text or self._empty:
            return Assessment([], [])
        if folded is None:
            folded = normalise(text)
        canonical, to_folded = _canonical(folded.text)
        spans = self._spans(canonical)
        respelled = self._respelled(canonical, folded.text, to_folded)
        if not self._names_listed(spans) and self._names_nothing_listed(respelled):
            return Assessment([], [])
        hits = self._hits(spans)
        hits.extend(respelled)
        signals = [hit for hit in hits if hit.role == _CUE]
        winks = [hit for hit in hits if hit.role == _KNOWING]
        accepted, cancelled = self._resolve(canonical, [hit for hit in hits if hit.role < _CUE])

        def original(start: int, end: int) -> tuple[int, int]:
            return folded.span(to_folded[start], to_folded[end - 1] + 1)

        def match(hit: _Hit) -> SpeciesMatch:
            start, end = original(hit.start, hit.end)
            taxon = self._taxa[hit.target]
            term = text[start:end]
            return SpeciesMatch(
                taxon=taxon.taxon,
                rank=taxon.rank,
                family=taxon.family,
                order=taxon.order,
                class_=taxon.class_,
                appendix=taxon.appendix,
                term=term,
                kind=hit.kind,
                start=start,
                end=end,
                confidence=round(hit.confidence, 4),
                note=self._note(hit, term, text, original),
                spp_appendix=taxon.spp_appendix,
            )

        overruled: list[Overruled] = []
        for hit, cause in cancelled:
            cause_start, cause_end = original(cause.start, cause.end)
            written = text[cause_start:cause_end]
            if cause.role == _NEGATIVE:
                rule = self._phrase_rules[cause.target]
                overruled.append(Overruled(match(hit), f"{rule.reason}: '{written}'", rule.rule))
            else:
                name = self._not_listed_names[cause.target]
                reason = f"'{written}' names {name}, which CITES does not list"
                overruled.append(
                    Overruled(match(hit), reason, f"lexicon:not_listed[{cause.target}]")
                )
        kept: list[SpeciesMatch] = []
        cues = self._cues(signals, original)
        for hit in accepted:
            found = match(hit)
            verdict = self._in_context(found, hit, text, cues)
            if verdict is None:
                kept.append(found)
            else:
                overruled.append(Overruled(found, *verdict))
        if winks:
            kept = self._knowing(kept, winks, text, original)
        kept.sort(key=lambda m: (m.start, -m.end, m.taxon))
        overruled.sort(key=lambda o: (o.match.start, -o.match.end, o.match.taxon))
        return Assessment(kept, overruled)

    @staticmethod
    def _knowing(
        kept: list[SpeciesMatch], winks: Sequence[_Hit], text: str, original: _ToOriginal
    ) -> list[SpeciesMatch]:
        """`kept`, its cover terms and ambiguous product words raised to `KNOWING_CONFIDENCE`.

        Alone, "white gold bangles" are jewellery and 虎牙 a streaming site; a seller who
        adds "you know what I mean", "not bone, not resin" or 懂的都懂 tells the buyer that
        the thing is the real one the word covers for, and says so to an officer too. The
        wink may stand anywhere in the listing: it vouches for the whole offer, not one word.
        """
        start, end = original(winks[0].start, winks[0].end)
        note = f"a cover word, read as an offer beside '{text[start:end]}'"
        return [
            dataclasses.replace(
                match,
                confidence=KNOWING_CONFIDENCE,
                note=f"{match.note}; {note}" if match.note else note,
            )
            if match.kind in ("code", "trade") and match.confidence < KNOWING_CONFIDENCE
            else match
            for match in kept
        ]

    @staticmethod
    def _names_nothing_listed(hits: Sequence[_Hit]) -> bool:
        """No hit names a listed taxon: nothing can stand or be overruled, so the rest of
        `assess` (settling, context) would find nothing. Most listings name nothing."""
        return all(hit.role != _LISTED for hit in hits)

    # -- finding -----------------------------------------------------------------------------

    def _scan(self, canonical: str, windows: Sequence[tuple[int, int]] = ()) -> list[_Hit]:
        """Every lexicon term in `canonical` (or in its `windows`, [start, end) ranges) that
        stands at word boundaries where it must."""
        return self._hits(self._spans(canonical, windows))

    def _hits(self, spans: Iterable[tuple[int, int, int, bool]]) -> list[_Hit]:
        """The hits of the terms of the keys found at `spans` (see `_spans`), in order."""
        keys = self._keys
        hits: list[_Hit] = []
        for start, end, index, plural in spans:
            key, _, _, terms = keys[index]
            hits.extend(
                [
                    _Hit(start, end, t.role, t.target, t.kind, t.confidence, key)
                    for t in terms
                    if t.plural or not plural
                ]
            )
        return hits

    def _names_listed(self, spans: Iterable[tuple[int, int, int, bool]]) -> bool:
        """Whether a term of a listed taxon is among the hits of `spans`, without building
        them: most listings name nothing, and their hits would be dropped at once."""
        listed = self._listed_keys
        return any(listed[index][plural] for _, _, index, plural in spans)

    def _spans(
        self, canonical: str, windows: Sequence[tuple[int, int]] = ()
    ) -> list[tuple[int, int, int, bool]]:
        """(start, end, key index, plural) of every key of the automaton in `canonical` (or
        in its `windows`) that stands at word boundaries where it must, in the order the
        automaton finds them; with `plural`, it stands with a plural ending, and only the
        key's terms that take one are hits."""
        spans: list[tuple[int, int, int, bool]] = []
        automaton = self._automaton
        if automaton is None:
            return spans
        # Every occurrence of every key, overlapping ones too, ordered by where they end.
        found: Iterable[tuple[int, int, int]] = (
            (
                (index, a + start, a + end)
                for a, b in windows
                for index, start, end in _find_keys(automaton, canonical[a:b])
            )
            if windows
            else _find_keys(automaton, canonical)
        )
        keys = self._keys
        word_char = _WORD_CHARS
        size = len(canonical)
        for index, start, end in found:
            key, open_start, open_end, _ = keys[index]
            if not open_start and start > 0 and word_char[canonical[start - 1]]:
                continue
            if open_end or end == size or not word_char[canonical[end]]:
                spans.append((start, end, index, False))
                continue
            if _HANGUL_SYLLABLE.match(key, len(key) - 1):
                # A Korean noun carries its case particle: "코끼리를", "상아가".
                for particle in KOREAN_PARTICLES:
                    stop = end + len(particle)
                    if canonical.startswith(particle, end) and (
                        stop == size or not word_char[canonical[stop]]
                    ):
                        spans.append((start, stop, index, False))
                        break
                continue
            if canonical[end] not in _PLURAL_FIRST:
                continue  # no plural ending starts here: the common case, decided at once
            for suffix in PLURAL_SUFFIXES:
                stop = end + len(suffix)
                if canonical.startswith(suffix, end) and (
                    stop == size or not word_char[canonical[stop]]
                ):
                    spans.append((start, stop, index, True))
                    break
        return spans

    def _respelled(self, canonical: str, folded: str, to_folded: Sequence[int]) -> list[_Hit]:
        """Hits on the words of `canonical` that read as lexicon words only once respelled.

        The respelled text is `canonical` with those words replaced by their readings; it is
        scanned like the canonical text, and a hit counts only if it touches a respelled word.
        Its offsets are mapped back to the canonical text.
        """
        if self._reads_as_written(canonical, folded):
            return []
        found_words = list(self._words(canonical, folded, to_folded))
        if not any(joined for _, joined in found_words) and not self._readings(canonical):
            # No word taken apart ("3.5 kg", "km/h") and none that reads otherwise on its
            # own: no word is respelled. Told by the tokens, without reading each word.
            return []
        words: list[tuple[Sequence[int], bool, str, _Reading | None]] = []
        for positions, joined in found_words:
            if isinstance(positions, range):
                word = canonical[positions.start : positions.stop]
            else:
                word = "".join(canonical[p] for p in positions)
            skip = not joined and (len(word) < 4 or word.isdigit())
            words.append(
                (positions, joined, word, None if skip else self._spelling.read(word, joined))
            )
        respellings: list[tuple[_Respelling, Sequence[int]]] = []
        for index, (positions, joined, _, reading) in enumerate(words):
            if reading is None:
                continue
            if reading.others:
                reading = self._in_phrase(words, index, reading)
            respelling = _Respelling(positions[0], positions[-1] + 1, reading, joined)
            respellings.append((respelling, positions))
        if not respellings:
            return []

        parts: list[str] = []
        to_canonical: list[int] = []
        regions: list[tuple[int, int, _Respelling]] = []  # respelled-text offsets
        done = 0
        for respelling, positions in respellings:
            parts.append(canonical[done : respelling.start])
            to_canonical.extend(range(done, respelling.start))
            region_start = len(to_canonical)
            target = respelling.reading.target
            parts.append(target)
            if respelling.reading.pieces:
                for number, (a, b) in enumerate(respelling.reading.pieces):
                    if number:
                        to_canonical.append(positions[a])  # the space between the pieces
                    to_canonical.extend(positions[a:b])
            elif len(target) <= len(positions) and respelling.reading.how in ("exact", "plural"):
                # Letter for letter; a plural's last letter stands for its ending too.
                to_canonical.extend([*positions[: len(target) - 1], positions[-1]])
            else:
                to_canonical.extend([positions[0]] * (len(target) - 1) + [positions[-1]])
            regions.append((region_start, len(to_canonical), respelling))
            done = respelling.end
        parts.append(canonical[done:])
        to_canonical.extend(range(done, len(canonical)))
        respelled = "".join(parts)

        # Only the text around the respelled words can hold a hit that touches one.
        windows: list[tuple[int, int]] = []
        for start, end, _ in regions:
            low, high = max(0, start - self._longest), min(len(respelled), end + self._longest)
            if windows and low <= windows[-1][1]:
                windows[-1] = (windows[-1][0], high)
            else:
                windows.append((low, high))
        starts = [region[0] for region in regions]
        found: list[_Hit] = []
        for hit in self._scan(respelled, windows):
            first = bisect.bisect_right(starts, hit.start) - 1
            touched: list[_Respelling] = []
            for start, end, respelling in regions[max(first, 0) :]:
                if start >= hit.end:
                    break
                if hit.start < end:
                    touched.append(respelling)
            if not touched:
                continue
            if hit.kind == "scientific" and any(
                r.reading.how == "plural"
                or (
                    r.reading.how == "misspelling"
                    and " " not in hit.key
                    and len(hit.key) < FUZZY_SCIENTIFIC_MIN
                )
                for r in touched
            ):
                continue  # scientific names take no plural, short ones no misspelling
            hit.start = to_canonical[hit.start]
            hit.end = to_canonical[hit.end - 1] + 1
            hit.respellings = tuple(touched)
            hit.confidence *= math.prod(r.factor for r in touched)
            found.append(hit)
        return found

    def _reads_as_written(self, canonical: str, folded: str) -> bool:
        """Whether no word of `canonical` needs another reading: the common case, decided
        without walking the text word by word.

        It holds when nothing in the text may be a word taken apart (single letters close
        together, or letters on both sides of a split mark or a dash; `_words` alone can tell
        whether they really are, so any of them sends the text down the long way) and no
        word's reading can be part of a lexicon key there: a reading counts only if one of
        its words is a key by itself, or stands in a key next to a neighbouring word as
        written or as read ("à vendre" reads "vendre" as "venere", which no key holds after
        "a" or before what follows). The words found plain so far are remembered in a set, and
        so are the space-separated tokens made only of such words: a listing met in parts
        before is mostly checked with one split and one set test, and only its new tokens
        (a price, a name) are taken apart into words. The tokens that hold words to read are
        remembered with their readings, and whether a word so read may form a key between
        its two neighbours, so a listing met before costs a few look-ups even then.
        """
        if _MAYBE_SPELLED.search(canonical) or _MAYBE_SPLIT.search(canonical):
            return False
        if "*" in canonical and _MAYBE_MASKED.search(canonical):
            return False
        if _DASH.search(folded):
            return False
        return self._words_read_plainly(canonical)

    def _words_read_plainly(self, canonical: str) -> bool:
        """Whether no word of `canonical`, each read on its own, has a reading that may be
        part of a lexicon key where it stands (see `_reads_as_written`)."""
        readings = self._readings(canonical)
        if not readings:
            return True
        words = [
            run
            for atom in _ATOM.findall(canonical)
            for run in ((atom,) if atom.isascii() else _script_runs(atom))
        ]
        return not self._any_may_form_key(words, readings)

    def _readings(self, canonical: str) -> dict[str, _Reading]:
        """The words of `canonical` that, read on their own, read otherwise (none but of
        four letters or more, and no number), each with its reading."""
        # No word spans a space, so the words of the text are those of its tokens.
        tokens = canonical.split()
        plain_tokens = self._plain_tokens
        if plain_tokens.issuperset(tokens):
            return {}  # every token met before and all its words found plain
        memories = (self._plain_words, plain_tokens, self._token_readings, self._key_forming)
        if max(map(len, memories)) > PLAIN_WORDS_REMEMBERED:
            self._forget_plain()  # bounded: a stream of random text cannot grow them
        readings: dict[str, _Reading] = {}
        token_readings = self._token_readings
        for token in set(tokens).difference(plain_tokens):
            found = token_readings.get(token)
            if found is None:
                found = self._token_readings_of(token)
            readings.update(found)
        return readings

    def _any_may_form_key(self, words: Sequence[str], readings: Mapping[str, _Reading]) -> bool:
        """Whether any of `words` (the words of a text, in order, none taken apart) that
        `readings` reads otherwise may be part of a lexicon key where it stands."""
        # Whether a word may form a key depends on it and its two neighbours only (their
        # readings are those of the words): asked once per three words in a row.
        forming = self._key_forming
        last = len(words) - 1
        for index, word in enumerate(words):
            if word not in readings:
                continue
            key = (
                words[index - 1] if index else None,
                word,
                words[index + 1] if index < last else None,
            )
            may = forming.get(key)
            if may is None:
                may = forming[key] = self._may_form_key(words, index, readings)
            if may:
                return True
        return False

    def _token_readings_of(self, token: str) -> tuple[tuple[str, _Reading], ...]:
        """The words of `token` that need another reading, each with it. A token without
        any goes to the plain tokens, one with some to `_token_readings`; a word found
        plain goes to the plain words."""
        plain_words = self._plain_words
        read = self._spelling.read
        readings: list[tuple[str, _Reading]] = []
        for atom in _ATOM.findall(token):
            if atom in plain_words:
                continue
            runs = (atom,) if atom.isascii() else _script_runs(atom)
            found = [
                (word, reading)
                for word in runs
                if len(word) >= 4
                and not word.isdigit()
                and (reading := read(word, False)) is not None
            ]
            if found:
                readings.extend(found)
            else:
                plain_words.add(atom)
        if readings:
            self._token_readings[token] = tuple(readings)
        else:
            self._plain_tokens.add(token)
        return tuple(readings)

    def _forget_plain(self) -> None:
        """Empty the memories of `_reads_as_written`."""
        self._plain_words.clear()
        self._plain_tokens.clear()
        self._token_readings.clear()
        self._key_forming.clear()

    def _may_form_key(
        self, words: Sequence[str], index: int, readings: Mapping[str, _Reading]
    ) -> bool:
        """Whether word `index`, read as `readings` say, may be part of a lexicon key where
        it stands: a word of its reading is a key alone, or follows or precedes, in some
        key, a form of the word before or after it (as written or as read). A key's last
        word may carry a plural ending, as `_spans` finds it ("elephnts" reads "elephants",
        the key "elephant" with an "s"), so a word that may end a key counts without one."""
        reading = readings[words[index]]
        spelling = self._spelling

        def forms(at: int, last: bool) -> list[str]:
            if not 0 <= at < len(words):
                return []
            other = readings.get(words[at])
            if other is None:
                return [words[at]]
            targets = (other.target, *other.others)
            return [words[at], *(t.split(" ")[-1 if last else 0] for t in targets)]

        before, after = forms(index - 1, last=True), forms(index + 1, last=False)
        for target in (reading.target, *reading.others):
            pieces = target.split(" ")
            if any(form in spelling.alone for piece in pieces for form in _singulars(piece)):
                return True
            if any(
                (first, form) in spelling.pairs
                for first, second in itertools.pairwise(pieces)
                for form in _singulars(second)
            ):
                return True
            if any((b, form) in spelling.pairs for b in before for form in _singulars(pieces[0])):
                return True
            if any((pieces[-1], form) in spelling.pairs for a in after for form in _singulars(a)):
                return True
        return False

    def _in_phrase(
        self,
        words: Sequence[tuple[Sequence[int], bool, str, _Reading | None]],
        index: int,
        reading: _Reading,
    ) -> _Reading:
        """Of a word's equally likely readings, the one that a term continues with its
        neighbours' readings ("afrikanischen Elefanten": "afrikanischer elefant")."""

        def forms(at: int) -> list[str]:
            if not 0 <= at < len(words):
                return []
            _, _, word, other = words[at]
            if other is None:
                return [word]
            return [other.target.split(" ")[-1 if at < index else 0], *other.others]

        before, after = forms(index - 1), forms(index + 1)
        for choice in (reading.target, *reading.others):
            if any((b, choice) in self._spelling.pairs for b in before) or any(
                (choice, a) in self._spelling.pairs for a in after
            ):
                others = tuple(o for o in (reading.target, *reading.others) if o != choice)
                return dataclasses.replace(reading, target=choice, others=others)
        return reading

    def _words(
        self, canonical: str, folded: str, to_folded: Sequence[int]
    ) -> Iterable[tuple[Sequence[int], bool]]:
        """The words of `canonical` to read, as the canonical offsets of their characters,
        each with whether it was put together from pieces."""
        atoms: list[tuple[int, int]] = []
        for found in _ATOM.finditer(canonical):
            start, end = found.span()
            if found.group().isascii():
                atoms.append((start, end))
                continue
            for run in _script_runs(found.group()):
                atoms.append((start, start + len(run)))
                start += len(run)
        # Spaces that stand for a hyphen or an underscore inside a word ("ivo_ry").
        dashes: set[int] = set()
        for mark in _DASH.finditer(folded):
            position = bisect.bisect_left(to_folded, mark.start())
            if position < len(to_folded) and to_folded[position] == mark.start():
                dashes.add(position)

        def spelled_gap(index: int) -> bool:
            gap = canonical[atoms[index][1] : atoms[index + 1][0]]
            return 0 < len(gap) <= 2 and all(char in _SPELLING_MARKS for char in gap)

        def split_gap(index: int) -> bool:
            left, right = atoms[index][1], atoms[index + 1][0]
            if right - left == 1:
                return canonical[left] in _SPLIT_MARKS or left in dashes
            return _masked_gap(canonical, left, right)

        def letters(first: int, last: int) -> Sequence[int]:
            if first == last:
                return range(*atoms[first])
            return [p for a, b in atoms[first : last + 1] for p in range(a, b)]

        count = len(atoms)
        index = 0
        while index < count:
            start, end = atoms[index]
            after = atoms[index + 1][0] if index + 1 < count else -1
            if after < 0 or (
                (after - end > 2 or end - start > 1)
                # not `split_gap(index)`, written out: asked of nearly every word
                and not (after - end == 1 and (canonical[end] in _SPLIT_MARKS or end in dashes))
                and not (canonical[end] == "*" and _masked_gap(canonical, end, after))
            ):
                yield range(start, end), False  # a word on its own: the common case
                index += 1
                continue
            last = index
            while (
                last + 1 < count
                and atoms[last][1] - atoms[last][0] == 1
                and atoms[last + 1][1] - atoms[last + 1][0] == 1
                and spelled_gap(last)
            ):
                last += 1
            unspaced = _unspaced(canonical[start])
            words = self._spelled_words(canonical, atoms, index, last)
            if words:
                # Words spelled letter by letter with dots, and spaces between the words
                # ("t.ê t.ê", "r.á.i c.á"): each word on its own, not all as one.
                yield from words
                index = last + 1
                continue
            needed = SPELLED_MIN_UNSPACED if unspaced else SPELLED_MIN_LETTERS
            spelled_letters = sum(canonical[a].isalpha() for a, _ in atoms[index : last + 1])
            if last - index + 1 >= needed and (unspaced or spelled_letters >= 2):
                # A number before or after the letters is no part of the word ("5 i v o r y").
                first, final = index, last
                while first < final and canonical[atoms[first][0]].isdigit():
                    first += 1
                while final > first and canonical[atoms[final][0]].isdigit():
                    final -= 1
                word = "".join(canonical[a:b] for a, b in atoms[index : last + 1])
                if self._spelling.read(word, True) is None and final - first + 1 >= needed:
                    yield from ((letters(i, i), False) for i in range(index, first))
                    yield letters(first, final), True
                    yield from ((letters(i, i), False) for i in range(final + 1, last + 1))
                else:
                    yield letters(index, last), True
                index = last + 1
                continue
            last = index
            while last + 1 < count and split_gap(last):
                last += 1
            if last == index:
                yield range(start, end), False
                index += 1
                continue
            yield from self._pieces(canonical, atoms, index, min(last, index + SPLIT_RUN_MAX - 1))
            for rest in range(min(last, index + SPLIT_RUN_MAX - 1) + 1, last + 1):
                yield letters(rest, rest), False
            index = last + 1

    @staticmethod
    def _spelled_words(
        canonical: str, atoms: Sequence[tuple[int, int]], first: int, last: int
    ) -> list[tuple[Sequence[int], bool]]:
        """The single letters `first`..`last`, spelled out, as the words their spaces divide
        them into, when marks other than a space join the letters of a word ("t.ê t.ê");
        empty when they do not (the spaces of "i v o r y" join its letters)."""
        gaps = [canonical[atoms[i][1] : atoms[i + 1][0]] for i in range(first, last)]
        if all(" " in gap for gap in gaps) or not any(" " in gap for gap in gaps):
            return []
        words: list[tuple[Sequence[int], bool]] = []
        begin = first
        for i in range(first, last + 1):
            if i == last or " " in gaps[i - first]:
                if i > begin:
                    words.append(([p for a, b in atoms[begin : i + 1] for p in range(a, b)], True))
                else:
                    words.append((range(*atoms[i]), False))
                begin = i + 1
        return words

    def _pieces(
        self, canonical: str, atoms: Sequence[tuple[int, int]], first: int, last: int
    ) -> Iterable[tuple[Sequence[int], bool]]:
        """The pieces `first`..`last` of a word taken apart ("ivo_ry"), joined where their
        joining reads as a lexicon word and not all of them are lexicon words already (a
        single letter counts as none: "t.ê" is tê, though "t" and "e" stand in some term)."""
        index = first
        while index <= last:
            for stop in range(last, index, -1):
                words = [canonical[a:b] for a, b in atoms[index : stop + 1]]
                if all(len(word) > 1 and self._spelling.known(word) for word in words):
                    continue
                reading = self._spelling.read("".join(words), True)
                if reading is not None and reading.how in ("exact", "plural"):
                    yield [p for a, b in atoms[index : stop + 1] for p in range(a, b)], True
                    index = stop + 1
                    break
                written = canonical[atoms[index][0] : atoms[stop][1]]
                if "*" in written and self._spelling.read(written, True) is not None:
                    # Letters masked with stars: the word with its stars, read as unmasked.
                    yield range(atoms[index][0], atoms[stop][1]), True
                    index = stop + 1
                    break
            else:
                yield range(*atoms[index]), False
                index += 1

    @staticmethod
    def _note(hit: _Hit, term: str, text: str, original: _ToOriginal) -> str | None:
        """How the mention was read, for a reviewer, or None when read as written."""
        notes: list[str] = []
        for respelling in hit.respellings:
            start, end = original(respelling.start, respelling.end)
            note = respelling.note(text[start:end], term)
            if note is not None and note not in notes:
                notes.append(note)
        # No invisible character is ASCII: most terms are decided without a look at each.
        hidden = 0 if term.isascii() else sum(map(is_invisible, term))
        if hidden:
            visible = "".join(char for char in term if not is_invisible(char))
            characters = "character" if hidden == 1 else "characters"
            notes.append(f"read '{visible}' through {hidden} invisible {characters}")
        return "; ".join(notes) or None

    # -- settling overlaps ---------------------------------------------------------------------

    def _resolve(
        self, canonical: str, hits: Sequence[_Hit]
    ) -> tuple[list[_Hit], list[tuple[_Hit, _Hit]]]:
        """The listed hits that survive negative contexts, not-listed taxa and longer matches,
        and the listed hits overruled on the way, each with the hit that overruled it."""
        ordered = sorted(hits, key=lambda hit: (hit.start, -hit.end))
        suppressed = self._next_to_unlisted(canonical, ordered)
        survivors: list[_Hit] = []
        cancelled: list[tuple[_Hit, _Hit]] = []
        # Only overlapping hits can cancel or absorb each other: settle each run of them alone,
        # so a long page costs little more than the sum of its short runs.
        component: list[_Hit] = []
        reach = -1
        for hit in ordered:
            if component and hit.start >= reach:
                survivors.extend(self._settle(component, cancelled))
                component = []
            if id(hit) in suppressed:
                cancelled.append((hit, suppressed[id(hit)]))
            else:
                component.append(hit)
            reach = hit.end if not component else max(reach, hit.end)
        survivors.extend(self._settle(component, cancelled))
        return survivors, self._overruled_once(survivors, cancelled)

    def _next_to_unlisted(self, canonical: str, ordered: Sequence[_Hit]) -> dict[int, _Hit]:
        """Listed hits right next to a not-listed name that suppresses their taxon, by id, each
        with that name's hit."""
        listed = [hit for hit in ordered if hit.role == _LISTED]
        starts = [hit.start for hit in listed]
        longest = max((hit.end - hit.start for hit in listed), default=0)
        suppressed: dict[int, _Hit] = {}
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
                    suppressed[id(hit)] = blocker
        return suppressed

    def _settle(self, component: Sequence[_Hit], cancelled: list[tuple[_Hit, _Hit]]) -> list[_Hit]:
        """The listed hits of one run of overlapping hits that stand; those that a negative
        context or a not-listed name covers go to `cancelled`."""
        if len(component) == 1:
            # One hit alone: nothing covers, contains or rivals it (the common case).
            return list(component) if component[0].role == _LISTED else []
        return self._settle_overlaps(component, cancelled)

    def _settle_overlaps(
        self, component: Sequence[_Hit], cancelled: list[tuple[_Hit, _Hit]]
    ) -> list[_Hit]:
        """`_settle` of any run of hits, however many."""

        def covers(outer: _Hit, inner: _Hit) -> bool:
            return outer.start <= inner.start and inner.end <= outer.end

        negatives = [hit for hit in component if hit.role == _NEGATIVE]
        blockers = [hit for hit in component if hit.role == _NOT_LISTED]
        listed: list[_Hit] = []
        for hit in component:
            if hit.role != _LISTED:
                continue
            if not negatives and not blockers:  # nothing can cover it: the common case
                listed.append(hit)
                continue
            taxon = self._taxa[hit.target]
            cause = next(
                (
                    negative
                    for negative in negatives
                    if covers(negative, hit)
                    and self._phrase_rules[negative.target].applies(hit.target, taxon)
                ),
                None,
            ) or next((blocker for blocker in blockers if covers(blocker, hit)), None)
            if cause is None:
                listed.append(hit)
            else:
                cancelled.append((hit, cause))

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

    @staticmethod
    def _overruled_once(
        survivors: Sequence[_Hit], cancelled: Sequence[tuple[_Hit, _Hit]]
    ) -> list[tuple[_Hit, _Hit]]:
        """The overruled hits worth reporting: one per (span, taxon), none inside a longer
        overruled hit, none overlapping a hit that stands."""
        # Standing hits never overlap each other, so sorted by start they also end in order.
        standing = sorted((hit.start, hit.end) for hit in survivors)
        starts = [start for start, _ in standing]
        best: dict[tuple[int, int, int], tuple[_Hit, _Hit]] = {}
        for hit, cause in cancelled:
            key = (hit.start, hit.end, hit.target)
            if key not in best or hit.confidence > best[key][0].confidence:
                best[key] = (hit, cause)
        reported: list[tuple[_Hit, _Hit]] = []
        widest = (-1, -1)  # the overruled span reaching furthest so far
        for hit, cause in sorted(best.values(), key=lambda pair: (pair[0].start, -pair[0].end)):
            span = (hit.start, hit.end)
            inside = hit.end <= widest[1] and span != widest
            if hit.end > widest[1]:
                widest = span
            index = bisect.bisect_left(starts, hit.end)
            if inside or (index and standing[index - 1][1] > hit.start):
                continue
            reported.append((hit, cause))
        return reported

    # -- context -------------------------------------------------------------------------------

    def _cues(self, hits: Sequence[_Hit], original: _ToOriginal) -> _Cues:
        """The cues of a text at their original offsets."""
        found = sorted({(*original(hit.start, hit.end), hit.target) for hit in hits})
        whole = [cue for cue in found if self._cue_rules[cue[2]].whole_text]
        return _Cues(found, [cue[0] for cue in found], {}, whole, {}, {}, {})

    def _negated(self, text: str, start: int, end: int) -> bool:
        """Whether a negation takes back the cue at text[start:end] ("not faux", 非塑料,
        "プラスチックではない")."""
        tokens = self._clause_before(text, start)
        if self._negators.last(tokens, NEGATION_WINDOW + 1, adjacent=True) is not None:
            return True
        after = fold(text[end : end + 16]).lstrip()
        reach = AFTER_NEGATION_WINDOW * UNSPACED_WORD
        return any(word in after[: len(word) + reach] for word in self._after_negators)

    def _affirmed(self, text: str, start: int) -> bool:
        """Whether a word right before text[start:] affirms it ("genuine ivory"), and is not
        itself negated ("not real ivory")."""
        tokens = self._clause_before(text, start)
        index = self._affirmations.last(tokens, AFFIRMATION_WINDOW + 1, adjacent=True)
        if index is None or tokens[index].endswith(self._likeness_words):
            return False  # 仿真 (lifelike) ends in 真 (real), and says the opposite
        return self._negators.last(tokens[:index], 1, adjacent=True) is None

    def _denied(self, text: str, start: int) -> str | None:
        """The negation right before text[start:] that denies the term itself ("NOT ivory",
        "kein Elfenbein", 非象牙, "pas d'ivoire"), or None. One short word may stand between
        ("not an", "no es"); a longer one is another matter ("no reserve ivory carving")."""
        tokens = self._clause_before(text, start)
        for skip in (0, 1):
            if skip and (len(tokens) < 2 or len(tokens[-1]) > DENIAL_SKIP):
                break
            head = tokens[: len(tokens) - skip]
            index = self._negators.last(head, 1, adjacent=True)
            if index is not None:
                token = head[index]
                if _unspaced(token[0]):
                    word = next(w for w in self._negators.unspaced if token.endswith(w))
                    return None if _asks(token[: -len(word)], word) else word
                if token not in self._negators.words:  # the end of a phrase: "không phải"
                    return self._negators.ending_phrase(head) or token
                return token
        return None

    def _denied_after(self, text: str, end: int) -> str | None:
        """The negation written right after the term that denies it, in the languages that
        put it there ("象牙ではありません", "상아가 아닙니다", "हाथी दांत नहीं"), or None. A Korean
        subject or topic particle may stand on the term ("상아가")."""
        rest = text[end : end + 2 * CONTEXT_REACH].lstrip()
        if not rest or (rest[0].isascii() and not _any_starts_ascii(self._after_negators)):
            # Folded, an ASCII character stays one, and no particle or negation written
            # after a term starts with one: the common case, decided without folding.
            return None
        # Whitespace folds to spaces, stripped either way: the same as folding it all.
        after = fold(rest).lstrip()
        for particle in KOREAN_PARTICLES:
            if after.startswith(particle) and after[len(particle) : len(particle) + 1] in " ":
                after = after[len(particle) :].lstrip()
                break
        for word in self._after_negators:
            if after.startswith(word):
                return word
        return None

    @staticmethod
    def _clause_before(text: str, start: int) -> list[str]:
        """The folded words of the clause that ends at `start`, as far as `CONTEXT_REACH`."""
        before = text[max(0, start - CONTEXT_REACH) : start]
        cut = _last_sentence_end(before)
        for boundary in _CLAUSE_END.finditer(before, cut):
            cut = boundary.end()
        return _fold_tokens(_GAP_WORD.findall(before, cut))

    def _gap(self, gap: str, limit: int = CONTEXT_REACH) -> _Gap:
        """What lies in `gap`; once it holds more than `limit` words, only that is certain."""
        if len(gap) > CONTEXT_REACH:
            return _Gap(CONTEXT_REACH, sentence=True, clause=True, conjunction=True, part=True)
        if (
            gap.isalpha()
        ):  # inside one word: the linking letters of a compound ("Leopard-en-muster")
            return _Gap(0, sentence=False, clause=False, conjunction=False, part=False)
        raw = _GAP_WORD.findall(gap)
        if len(raw) > limit:
            return _Gap(len(raw), sentence=True, clause=True, conjunction=True, part=True)
        tokens = _fold_tokens(raw)
        words = sum(
            math.ceil(len(token) / UNSPACED_WORD) if _unspaced(token[0]) else 1 for token in tokens
        )
        return _Gap(
            words=words,
            sentence=_last_sentence_end(gap) > 0,
            clause=_CLAUSE_END.search(gap) is not None,
            conjunction=any(char in _CONJUNCTION_MARKS for char in gap)
            or self._conjunctions.among(tokens),
            part=bool(tokens) and self._parts.among(tokens),
        )

    def _in_context(
        self, found: SpeciesMatch, hit: _Hit, text: str, cues: _Cues
    ) -> tuple[str, str] | None:
        """(reason, rule) of the nearest cue that overrules `found`, or None."""
        title = _title_around(text, found.start, found.end)
        if title is not None:
            return f"the title of a work '{title}'", "title"
        taxon = self._taxa[hit.target]
        low = bisect.bisect_left(cues.starts, found.start - CONTEXT_REACH)
        high = bisect.bisect_right(cues.starts, found.end + CONTEXT_REACH)
        # Nearest first: the cue closest to the match explains it best.
        nearby = sorted(
            cues.cues[low:high],
            key=lambda cue: found.start - cue[1] if cue[1] <= found.start else cue[0] - found.end,
        )
        # Asked once per position: the matches of one span (a name many taxa share) all
        # stand where the first did.
        if found.start not in cues.denied:
            cues.denied[found.start] = self._denied(text, found.start)
        denial = cues.denied[found.start]
        if denial is not None:
            return f"negation '{denial}' before '{found.term}'", "negation"
        if found.end not in cues.denied_after:
            cues.denied_after[found.end] = self._denied_after(text, found.end)
        denial = cues.denied_after[found.end]
        if denial is not None:
            return f"negation '{denial}' after '{found.term}'", "negation"
        for start, end, target in cues.whole:
            rule = self._cue_rules[target]
            if not rule.applies(taxon, hit.kind, hit.key) or (
                start < found.end and found.start < end
            ):
                continue
            # "genuine elephant ivory", "not mammoth" in a listing that says "mammoth"
            if not self._disarmed(rule, text, found.start, start, end, cues):
                return f"{rule.label} '{text[start:end]}' in the listing", rule.rule
        for start, end, target in nearby:
            if start < found.end and found.start < end:
                continue  # a cue inside the term is the lexicon's business
            rule = self._cue_rules[target]
            if not rule.applies(taxon, hit.kind, hit.key):
                continue
            before = end <= found.start
            limit = rule.before if before else rule.after
            distance = found.start - end if before else start - found.end
            if limit is None or distance > (limit + 1) * WORD_REACH:
                continue
            gap = self._gap(text[end : found.start] if before else text[found.end : start], limit)
            if (
                gap.words > limit
                or gap.sentence
                or (gap.clause and not rule.across_commas)
                or (gap.conjunction and not rule.across_conjunctions)
                or (gap.part and rule.not_past_parts)
            ):
                continue
            if self._disarmed(rule, text, found.start, start, end, cues):
                continue
            side = "before" if before else "after"
            return f"{rule.label} '{text[start:end]}' {side} '{found.term}'", rule.rule
        return None

    def _disarmed(
        self, rule: _CueRule, text: str, match_start: int, start: int, end: int, cues: _Cues
    ) -> bool:
        """Whether the cue at text[start:end] does not count against the match starting at
        `match_start`: a word affirms the match ("genuine ivory") and the rule lets it, or a
        negation takes the cue back ("not faux", 非猛犸). Each is asked once per text."""
        if rule.affirmable:
            if match_start not in cues.affirmed:
                cues.affirmed[match_start] = self._affirmed(text, match_start)
            if cues.affirmed[match_start]:
                return True
        if (start, end) not in cues.negated:
            cues.negated[start, end] = self._negated(text, start, end)
        return cues.negated[start, end]


@dataclass(frozen=True, slots=True)
class _Cues:
    """The cues of one text, at original offsets, sorted by start."""

    cues: list[tuple[int, int, int]]  # (start, end, cue rule)
    starts: list[int]
    negated: dict[tuple[int, int], bool]  # whether a negation takes a cue back, once asked
    whole: list[tuple[int, int, int]]  # the cues of rules that reach the whole text
    # What the text says right before or after a position, once asked: the negation that
    # denies a term starting (`denied`) or ending (`denied_after`) there, and whether a word
    # before it affirms it (`affirmed`).
    denied: dict[int, str | None]
    denied_after: dict[int, str | None]
    affirmed: dict[int, bool]


_ToOriginal = Callable[[int, int], tuple[int, int]]


@functools.cache
def default_matcher() -> SpeciesMatcher:
    """The matcher for the lexicon shipped with wildflag, built once per process."""
    return SpeciesMatcher.from_bytes(_shipped_lexicon_bytes())


@functools.cache
def default_version() -> str:
    """`default_matcher().version`, without building the matcher (which takes a second)."""
    raw = _shipped_lexicon_bytes()
    return _version_of(raw, json.loads(raw)["version"])


def _shipped_lexicon_bytes() -> bytes:
    return resources.files("matching").joinpath(LEXICON_RESOURCE).read_bytes()


def _version_of(raw: bytes, version: str) -> str:
    """A lexicon's version and the SHA-256 of its bytes with the shipped context rules."""
    digest = hashlib.sha256(raw + b"\n" + _shipped_contexts_bytes()).hexdigest()[:8]
    return f"{version}+{digest}"
