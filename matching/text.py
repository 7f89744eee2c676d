"""Text normalisation and spelling helpers shared by every matcher, so forms and offsets agree.

`normalise` folds case, compatibility forms (full-width letters, ligatures) and accents while
keeping a one-to-one map back to the original offsets: a match found in the folded text is
reported at the characters the reporter actually wrote.

The spelling helpers read words the way sellers write them to get past keyword filters:
`lookalike_readings` replaces digits, symbols and letters of another script that imitate a
letter ("1v0ry", "p@ngolin", "ivοry" with a Greek omicron); `osa_distance` and `deletions`
measure and index misspellings. They only propose readings: deciding whether a reading is a
word worth matching is the caller's business (the species matcher accepts a reading only when
it is a word of its lexicon).

Nothing here may do I/O, and nothing here may change a character's position: every function
either keeps the map to the original text or works on single words.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Folded:
    """Folded text and, for each folded character, the index of its source character."""

    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The [start, end) range in the original text covering folded [start, end)."""
        if start >= end:
            return (self.origin[start] if start < len(self.origin) else 0,) * 2
        return self.origin[start], self.origin[end - 1] + 1


@functools.lru_cache(maxsize=65536)  # a text uses a few hundred distinct characters at most
def fold_char(char: str) -> str:
    """One character folded for matching: NFKC, case-folded, combining marks removed, and a
    Traditional Chinese character written in its Simplified form."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", char).casefold())
    kept = unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )
    return _simplified().get(kept, kept)


@functools.cache
def _simplified() -> Mapping[str, str]:
    """Traditional Chinese characters and their Simplified forms, from OpenCC's table.

    Listings from Taiwan and Hong Kong are written in Traditional characters (象牙手鐲,
    穿山甲鱗片), mainland ones in Simplified (象牙手镯, 穿山甲鳞片): folding one onto the other,
    character for character, lets one lexicon term and one context word serve both. Where a
    character has several Simplified forms the first, the commonest, is taken; the fold is
    the same for lexicon and text, so a merged pair (發, 髮 → 发) can only add a reading.
    """
    table = resources.files("opencc").joinpath("dictionary/TSCharacters.txt")
    simplified: dict[str, str] = {}
    for line in table.read_text("utf-8").splitlines():
        traditional, _, forms = line.partition("\t")
        first = forms.split(" ")[0] if forms else ""
        if len(traditional) == 1 and len(first) == 1 and first != traditional:
            simplified[traditional] = first
    return simplified


_ASCII_WHITESPACE = str.maketrans({char: " " for char in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"})


class _FoldTable(dict[int, str]):
    """Every character met so far, by code point, and its folded form; `str.translate` asks
    it for each character, so a character is folded once per process and a text in one C
    pass. Whitespace of any kind folds to one space; a lone combining mark folds to nothing
    and is dropped, so decomposed "Ha\u0300 No\u0323i" folds like composed "Hà Nội".
    """

    def __init__(self) -> None:
        super().__init__()
        # Characters that fold to more or fewer than one ("ß" to "ss", a lone combining
        # mark to ""): a text holding one needs its offsets mapped one by one.
        self.uneven: set[str] = set()
        self._uneven_pattern: re.Pattern[str] | None = None

    def uneven_in(self, text: str) -> list[str]:
        """The uneven characters met so far that `text` holds (one regex search when it
        holds none, several times faster than a set intersection)."""
        if not self.uneven:
            return []
        pattern = self._uneven_pattern
        if pattern is None:
            pattern = re.compile("[" + "".join(map(re.escape, sorted(self.uneven))) + "]")
            self._uneven_pattern = pattern
        if not pattern.search(text):
            return []
        return list(self.uneven.intersection(text))

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = " " if char.isspace() else fold_char(char)
        if len(folded) != 1:
            self.uneven.add(char)
            self._uneven_pattern = None  # rebuilt with the new character when next needed
        if len(self) < _FOLD_TABLE_MAX:  # bounded: a stream of random text cannot grow it
            self[code] = folded
        return folded


_FOLD_TABLE_MAX = 1 << 16  # far more characters than listings in every script use
_FOLD_TABLE = _FoldTable()
_IDENTITY = tuple(range(4096))  # sliced for the offsets of a text that folds one for one


def _identity(length: int) -> tuple[int, ...]:
    return _IDENTITY[:length] if length <= len(_IDENTITY) else tuple(range(length))


def normalise(text: str) -> Folded:
    """Fold `text` for matching, keeping where each folded character came from."""
    if text.isascii():
        # The same result as the general path, which folds ASCII to lower case one for one.
        return Folded(text.lower().translate(_ASCII_WHITESPACE), _identity(len(text)))
    folded = text.translate(_FOLD_TABLE)
    uneven = _FOLD_TABLE.uneven_in(text)
    if not uneven:
        return Folded(folded, _identity(len(text)))
    lengths = {char: len(_FOLD_TABLE[ord(char)]) for char in uneven}
    origin: list[int] = []
    done = 0
    for found in re.finditer("|".join(map(re.escape, uneven)), text):
        index = found.start()
        origin.extend(range(done, index))
        origin.extend([index] * lengths[found.group()])
        done = index + 1
    origin.extend(range(done, len(text)))
    return Folded(folded, tuple(origin))


def split_lines(text: str, folded: Folded | None = None) -> list[tuple[str, Folded]]:
    """The lines of `text` (as `str.splitlines` cuts them), each with its fold.

    `folded`, if given, must be `normalise(text)`; otherwise it is computed here. The text is
    folded once, not line by line: folding goes character by character, so a line's fold is
    the part of the whole text's fold that its characters made, offsets shifted to the line.
    """
    if folded is None:
        folded = normalise(text)
    lines = text.splitlines()
    out: list[tuple[str, Folded]] = []
    identity = len(folded.origin) == len(text) and folded.origin == _identity(len(text))
    start = 0
    for line, piece in zip(lines, text.splitlines(keepends=True), strict=True):
        end = start + len(line)
        if identity:
            out.append((line, Folded(folded.text[start:end], _identity(len(line)))))
        else:
            low = bisect.bisect_left(folded.origin, start)
            high = bisect.bisect_left(folded.origin, end)
            out.append(
                (line, Folded(folded.text[low:high], _shifted(folded.origin[low:high], start)))
            )
        start += len(piece)
    return out


def _shifted(offsets: tuple[int, ...], start: int) -> tuple[int, ...]:
    """`offsets` each less `start`: a whole text's offsets made a line's. One C loop (`map`)
    instead of a generator step per character."""
    if not start:
        return offsets
    return tuple(map(operator.sub, offsets, itertools.repeat(start, len(offsets))))


def fold(text: str) -> str:
    """Folded form of `text` alone, for building lexicon keys."""
    return normalise(text).text


@functools.lru_cache(maxsize=8192)
def is_invisible(char: str) -> bool:
    """A format character with no glyph (zero-width space, soft hyphen, joiners, BOM).

    Sellers put them inside words ("iv\u200bory") so that a keyword filter misses the word
    while a reader sees it whole; the matcher reads through them.
    """
    return unicodedata.category(char) == "Cf"


# What a folded character may stand for in a Latin-script word. Several letters where the
# look-alike is ambiguous ("1" is an "i" in "1vory" and an "l" in "e1ephant"); the first is
# the most common reading. Letters of other scripts are listed by their folded (lower-case)
# form, which is what the matcher sees, with the letter their capital or small form imitates.
LATIN_LOOKALIKES: Mapping[str, str] = {
    # digits and symbols ("leetspeak")
    "0": "o",
    "1": "il",
    "2": "z",
    "3": "e",
    "4": "a",
    "5": "s",
    "6": "gb",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "€": "e",
    "!": "il",
    "|": "li",
    # Cyrillic
    "а": "a",
    "в": "b",
    "е": "e",
    "ѐ": "e",
    "ё": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ь": "b",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "ѕ": "s",
    "ԁ": "d",
    "һ": "h",
    "ԛ": "q",
    "ԝ": "w",
    "ѵ": "v",
    "ӏ": "l",
    # Greek
    "α": "a",
    "β": "b",
    "ε": "e",
    "η": "nh",
    "ι": "i",
    "κ": "k",
    "μ": "um",
    "ν": "vn",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "uy",
    "χ": "x",
    "ζ": "z",
    "ω": "w",
    # Latin letters that folding leaves alone
    "ı": "i",
    "ł": "l",
    "ø": "o",
    "đ": "d",
    "ħ": "h",
}
# What a character may stand for in a Cyrillic word ("нoсорог" with a Latin "o").
CYRILLIC_LOOKALIKES: Mapping[str, str] = {
    "a": "а",
    "b": "в",
    "c": "с",
    "e": "е",
    "h": "н",
    "k": "к",
    "m": "м",
    "o": "о",
    "p": "р",
    "t": "т",
    "x": "х",
    "y": "у",
    "0": "о",
    "3": "з",
}
LOOKALIKE_READINGS_MAX = 16  # readings tried per word: 4 ambiguous characters' worth; more
#                              ambiguity than that is noise, not a word written to be read


def _is_latin_letter(char: str) -> bool:
    return "a" <= char <= "z"


def _is_cyrillic_letter(char: str) -> bool:
    return "\u0400" <= char <= "\u04ff"


def lookalike_readings(word: str) -> list[str]:
    """Readings of folded `word` with its look-alike characters replaced, most likely first.

    A word is read as Latin when it holds at least two Latin letters and some character that
    imitates one (a digit, a symbol, a Cyrillic or Greek letter), and as Cyrillic when it holds
    at least two Cyrillic letters and some Latin look-alike. A word in one script alone, a
    number ("500", "18k" has one letter) or a word with nothing to replace has no reading.
    """
    latin = sum(map(_is_latin_letter, word))
    cyrillic = sum(map(_is_cyrillic_letter, word))
    if latin >= 2 and latin < len(word):
        table, keep = LATIN_LOOKALIKES, _is_latin_letter
    elif cyrillic >= 2 and cyrillic < len(word):
        table, keep = CYRILLIC_LOOKALIKES, _is_cyrillic_letter
    else:
        return []
    options: list[str] = []
    for char in word:
        if keep(char):
            options.append(char)
        elif char in table:
            options.append(table[char])
        else:
            return []  # a character that imitates nothing: not a disguised word
    readings: list[str] = []
    # Ambiguous characters beyond the budget keep their first reading only.
    budget = LOOKALIKE_READINGS_MAX
    trimmed: list[str] = []
    for choice in options:
        if len(choice) > 1 and budget >= len(choice):
            budget //= len(choice)
            trimmed.append(choice)
        else:
            trimmed.append(choice[0])
    for letters in itertools.product(*trimmed):
        reading = "".join(letters)
        if reading != word:
            readings.append(reading)
    return readings


def osa_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment) of `a` and `b`, capped.

    Insertions, deletions, substitutions and swaps of two adjacent characters each count one.
    Returns `limit + 1` as soon as the distance is known to exceed `limit`.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous_previous[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        previous_previous, previous = previous, current
    return min(previous[-1], limit + 1)


def deletions(word: str, depth: int) -> set[str]:
    """`word` and every string made by deleting up to `depth` of its characters but the first.

    The first character stays: a misspelling keeps its first letter (see the matcher's
    misspelling rule), and keeping it makes the index smaller.
    """
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {item[:i] + item[i + 1 :] for item in frontier for i in range(1, len(item))}
        found |= frontier
    return found
