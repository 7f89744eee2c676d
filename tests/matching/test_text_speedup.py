"""`normalise`'s fast paths give exactly what the original character-by-character fold gave."""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import pytest
from opencc import OpenCC  # type: ignore[import-untyped]

from matching.listing import Listing
from matching.text import Folded, fold_char, normalise, split_lines

DATA = Path(__file__).resolve().parent.parent / "data"
_T2S = OpenCC("t2s")


def reference_normalise(text: str) -> Folded:
    """The original implementation, one character at a time: the reference."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = " " if char.isspace() else _reference_fold_char(char)
        out.append(folded)
        origin.extend([index] * len(folded))
    return Folded("".join(out), tuple(origin))


def _reference_fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", char).casefold())
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    composed = unicodedata.normalize("NFC", kept)
    # Traditional Chinese as Simplified, by OpenCC's own converter, character by character.
    return _T2S.convert(composed) if len(composed) == 1 else composed


def _eval_texts() -> list[str]:
    texts: list[str] = []
    for line in (DATA / "species_eval.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts += [row.get("title", ""), row.get("text", "")]
            texts.append("\n".join(part for part in (row.get("title"), row.get("text")) if part))
    return texts


def _plain_texts() -> list[str]:
    return (DATA / "non_wildlife_listings.txt").read_text("utf-8").splitlines()


# Characters that stress folding: whitespace of every kind, combining marks, ligatures and
# letters that fold to several ("ß", "ﬁ", "İ"), full-width and compatibility forms, format
# characters, scripts without spaces, astral characters and lone surrogates.
_INTERESTING = (
    "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2028\u2029\u3000"
    "\u0300\u0301\u0323\u0e31\u0e34\u093f\u05b0"
    "ßẞﬁﬀﬃİıŉǰΐΰẖẗẘẙẚᾀᾳῂ"
    "ＡＢｃ１２３！＠㎏㍱℃ⅷ①⒜"
    "\u200b\u200c\u200d\u00ad\ufeff\u2060"
    "象牙犀角穿山甲ไทยสงจากเกลื่อนহাতির코끼리фильΑΒΓΔ"
    "ÀÉÎÕÜàéîõüĀĒĪŌŪđĐłŁøØ"
    "\U0001d400\U0001d4d0\U0001f418\U00020000\ud800\udfff"
    "\x00\x7f\x80\x9f"
)


def _random_texts(count: int, seed: int = 20261128) -> list[str]:
    rng = random.Random(seed)
    texts: list[str] = []
    for _ in range(count):
        length = rng.randint(0, 40)
        chars: list[str] = []
        for _ in range(length):
            pick = rng.random()
            if pick < 0.4:
                chars.append(chr(rng.randint(0, 0x7F)))
            elif pick < 0.7:
                chars.append(rng.choice(_INTERESTING))
            elif pick < 0.9:
                chars.append(chr(rng.randint(0x80, 0xFFFF)))
            else:
                chars.append(chr(rng.randint(0x10000, 0x10FFFF)))
        texts.append("".join(chars))
    return texts


@pytest.mark.parametrize(
    "texts",
    [
        pytest.param(_eval_texts, id="eval-set"),
        pytest.param(_plain_texts, id="non-wildlife"),
        pytest.param(lambda: _random_texts(5000), id="random-unicode"),
        pytest.param(lambda: [*_INTERESTING, "", " ", "A", "Ha\u0300 No\u0323i"], id="edge"),
    ],
)
def test_normalise_matches_reference(texts) -> None:
    for text in texts():
        assert normalise(text) == reference_normalise(text), repr(text)


def test_fold_char_matches_reference() -> None:
    for char in _INTERESTING + "".join(_random_texts(200)):
        assert fold_char(char) == _reference_fold_char(char), repr(char)


def test_ascii_fast_path_is_lower_with_spaces() -> None:
    text = "Rhino\tHORN\r\nfor\x0bSale\x1c!"
    folded = normalise(text)
    assert folded.text == "rhino horn  for sale !"
    assert folded.origin == tuple(range(len(text)))


# Texts whose fold changes lengths ("ß" → "ss", "ﬁ" → "fi", a lone combining mark → ""),
# cut by every kind of line break, with empty lines and lone surrogates.
_LINE_TEXTS = [
    "",
    "\n",
    "\r\n\r\n",
    "Straße\nﬁne ivory",
    "Ha\u0300 No\u0323i\r\nngà voi\r\n",
    "\n\nßß\n\nﬃ\n",
    "a\u2028ß\u2029c\x85d\x1ce\x1df\x1eg\x0bh\x0ci",
    "\ud800ß\n\udfffﬁ\r\n\U0001f418ß",
    "İstanbul\rßerlin\n\u0300\n\u0301ß",
    *("\n".join(_random_texts(3, seed)) for seed in range(300)),
]


def test_split_lines_matches_folding_each_line() -> None:
    for text in _LINE_TEXTS:
        expected = [(line, reference_normalise(line)) for line in text.splitlines()]
        assert split_lines(text) == expected, repr(text)
        assert split_lines(text, normalise(text)) == expected, repr(text)


def test_listing_full_text_is_the_parts_given_one_a_line() -> None:
    for title in ("", "Ivory", "\n", "ß"):
        for body in ("", "carving", "\r\n", "a\nb"):
            listing = Listing(text=body, title=title)
            assert listing.full_text == "\n".join(p for p in (title, body) if p)
