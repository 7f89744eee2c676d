"""Text normalisation shared by every matcher, so offsets and forms agree everywhere.

`normalise` folds case, compatibility forms (full-width letters, ligatures) and accents while
keeping a one-to-one map back to the original offsets: a match found in the folded text is
reported at the characters the reporter actually wrote.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


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


def fold_char(char: str) -> str:
    """One character folded for matching: NFKC, case-folded, combining marks removed."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", char).casefold())
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", kept)


def normalise(text: str) -> Folded:
    """Fold `text` for matching, keeping where each folded character came from."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        # Whitespace of any kind becomes one space; a lone combining mark folds to nothing
        # and is dropped, so decomposed "Ha\u0300 No\u0323i" folds like composed "Hà Nội".
        folded = " " if char.isspace() else fold_char(char)
        out.append(folded)
        origin.extend([index] * len(folded))
    return Folded("".join(out), tuple(origin))


def fold(text: str) -> str:
    """Folded form of `text` alone, for building lexicon keys."""
    return normalise(text).text
