"""Shortcuts of the analysis path give exactly what the long way gives.

- `analysis.most_specific` collects the names every match falls under once, instead of
  comparing every pair of matches (a page naming hundreds of taxa);
- `jurisdiction.Currency` looks for currency codes only around runs of capitals
  (`jurisdiction._currency_codes`), and the phone pattern looks behind after its first digit;
- `SpeciesMatcher._in_context` asks once per position whether a negation denies or a word
  affirms the term there;
- `urls.has_invisible` and the whitespace test of `canonical_url` search an ASCII text
  once, and `urls._host` remembers what a host name reduces to;
- `analysis.priority_of` reads the priority of a highest appendix straight from the table.

Each is compared with the long way on the evaluation sets, the plain listings and texts
written to sit on the shortcuts' edges.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass

import pytest

from matching import jurisdiction, species, urls
from matching.analysis import PRIORITIES, most_specific, priority_of
from matching.appendix import highest_appendix
from matching.species import SpeciesMatcher, default_matcher
from tests.helpers import listing_texts

TEXTS = listing_texts()


@dataclass(frozen=True)
class _Match:
    taxon: str
    family: str | None
    order: str | None
    class_: str | None


def _most_specific_the_long_way(matches: list[_Match]) -> list[_Match]:
    """`most_specific` as it was: every pair compared."""

    def under(inner: _Match, outer: _Match) -> bool:
        if inner.taxon == outer.taxon:
            return False
        higher = {inner.family, inner.order, inner.class_}
        return outer.taxon in higher or inner.taxon.startswith(outer.taxon + " ")

    return [m for m in matches if not any(under(other, m) for other in matches)]


def test_most_specific_matches_the_long_way() -> None:
    rng = random.Random(11)
    words = ["Python", "regius", "Pythonidae", "Squamata", "Reptilia", "Aves", "a", "b", ""]

    def name() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 3)))

    def optional() -> str | None:
        return None if rng.random() < 0.2 else name()

    dropped = 0
    for _ in range(3000):
        matches = [
            _Match(name(), optional(), optional(), optional()) for _ in range(rng.randint(0, 6))
        ]
        fast = most_specific(matches)
        assert fast == _most_specific_the_long_way(matches), matches
        dropped += len(matches) - len(fast)
    assert dropped > 1000  # the generated matches do fall under each other
    # A family is its own family: it stays, and so does a repeat of a match.
    family = _Match("Pythonidae", "Pythonidae", "Squamata", "Reptilia")
    assert most_specific([family, family]) == [family, family]
    python = _Match("Python regius", "Pythonidae", "Squamata", "Reptilia")
    assert most_specific([family, python, _Match("Python", None, None, None)]) == [python]


_OLD_PHONE_LIKE = re.compile(r"(?<![\d.,])\d(?:[ ().\-]?\d){7,14}(?![\d.,]?\d)")

EDGES = [
    "USD5 5USD 5 USD USD 5 EUR5EUR ABCD 5 ABC5DEF 5ABC5 xUSD5 5USDx",
    "Price: 100EUR, 200 GBP\n300\u00a0JPY; VND 4000, BRL\n5",
    "AB 5 ABC",
    "5\nABC",
    "12 ABCDEF 34 GHI",
    "call 0912 345 678 or 0912.345.678, +84 912 345 678, 1.0912345678, 09123456789012345",
    "٠١٢٣٤٥٦٧٨٩ ०१२३४५६७८९ 12345678",
    "",
]


def _random_texts(count: int, seed: int, alphabet: str = "ABCDEUSxy159 .,-()\n\u00a0") -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(count)]


def test_currency_codes_around_capitals_match_the_whole_text_search() -> None:
    found = 0
    for item in [*EDGES, *TEXTS, *_random_texts(20000, seed=5)]:
        fast = [m.span() for m in jurisdiction._currency_codes(item)]
        slow = [m.span() for m in jurisdiction._CURRENCY_CODE_IN_TEXT.finditer(item)]
        assert fast == slow, repr(item)
        found += len(slow)
    assert found > 1000


def test_phone_pattern_finds_what_the_old_pattern_found() -> None:
    found = 0
    digits = _random_texts(20000, seed=6, alphabet="0123456789012345 .,-()x+\u0660")
    for item in [*EDGES, *TEXTS, *digits]:
        fast = [m.span() for m in jurisdiction._PHONE_LIKE.finditer(item)]
        slow = [m.span() for m in _OLD_PHONE_LIKE.finditer(item)]
        assert fast == slow, repr(item)
        found += len(slow)
    assert found > 500


class _Forgetful(dict[int, object]):
    """A memo that never remembers: every question is asked afresh."""

    def __contains__(self, key: object) -> bool:
        return False


def test_context_asked_once_per_position_changes_no_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matcher = default_matcher()
    texts = [
        *TEXTS,
        # One name, many taxa: every match stands where the first did.
        "not elephant ivory, genuine elephant ivory, kein Elfenbein, faux ivory",
        "NOT pangolin scales; real tortoise shell, no reserve ivory carving",
    ]
    fast = [matcher.assess(item) for item in texts]
    original = SpeciesMatcher._cues

    def forgetful(self: SpeciesMatcher, hits: list[species._Hit], where: object) -> object:
        cues = original(self, hits, where)  # type: ignore[arg-type]
        return species._Cues(
            cues.cues,
            cues.starts,
            _Forgetful(),
            cues.whole,
            _Forgetful(),
            _Forgetful(),
            _Forgetful(),
        )

    monkeypatch.setattr(SpeciesMatcher, "_cues", forgetful)
    slow = [matcher.assess(item) for item in texts]
    assert fast == slow
    assert sum(1 for result in slow if result.overruled) > 50


# --- the glue around the matchers ----------------------------------------------------------


def _invisible_the_long_way(text: str) -> bool:
    return any(unicodedata.category(ch) in urls.INVISIBLE_CATEGORIES for ch in text)


def _blank_or_control_the_long_way(text: str) -> bool:
    return any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def test_url_character_checks_match_a_test_per_character() -> None:
    """ASCII texts take one regular-expression search (`urls._ASCII_BLANK_OR_CONTROL`)."""
    every_ascii = [chr(code) for code in range(128)]
    rng = random.Random(12)
    alphabet = "ab/:?=&.%-_~09 \t\x00\x1f\x7f\x85\xa0\u200b\u202e\u2028\u3000é"
    texts = [
        *every_ascii,
        *(f"https://www.ebay.com/itm/1{ch}2" for ch in every_ascii),
        *_random_texts(5000, seed=13, alphabet=alphabet),
        *("".join(rng.choice(every_ascii) for _ in range(rng.randint(0, 12))) for _ in range(5000)),
        "",
    ]
    flagged = 0
    for text in texts:
        assert urls.has_invisible(text) == _invisible_the_long_way(text), repr(text)
        assert urls._has_blank_or_control(text) == _blank_or_control_the_long_way(text), repr(text)
        flagged += urls.has_invisible(text)
    assert 1000 < flagged < len(texts) - 1000


HOSTS = [
    "www.ebay.co.uk",
    "WWW.EBAY.DE.",
    "m.facebook.com",
    "sfbay.craigslist.org",
    "mobile.www.olx.co.id",
    "xn--bcher-kva.example",
    "bücher.example",
    "8.8.8.8",
    "2001:4860:4860::8888",
    "127.0.0.1",
    "localhost",
    "",
    ".",
    "a_b.com",
    "shop.tokopedia.com",
    "www.etsy.com",
]


def test_remembered_hosts_are_the_hosts_worked_out_afresh() -> None:
    def fresh(host: str) -> object:
        try:
            return urls._host.__wrapped__(host)
        except urls.InvalidURL as exc:
            return str(exc)

    def remembered(host: str) -> object:
        try:
            return urls._host(host)
        except urls.InvalidURL as exc:
            return str(exc)

    expected = [fresh(host) for host in HOSTS]
    for _ in range(2):  # the second round answers from the memo, errors are raised again
        assert [remembered(host) for host in HOSTS] == expected
    assert sum(isinstance(answer, str) for answer in expected) >= 3


@pytest.mark.parametrize(
    "appendix", ["I", "II", "III", None, "", "I/II", "II/NC", "NC", " ii ", "iii", "IV"]
)
def test_priority_of_a_highest_appendix_is_the_priority_worked_out(appendix: str | None) -> None:
    top = highest_appendix([appendix]) if appendix else None
    assert priority_of(appendix) == PRIORITIES[top]
