"""Shortcuts of `infer_jurisdiction` give exactly what the long way gives.

- `jurisdiction.Evidence.of` cuts a text into lines and looks for location cues and place
  names line by line only when one automaton pass over the whole squeezed text
  (`_PlaceScanner`, `_may_name_a_place`) finds a cue or a name in it;
- `_squeeze` replaces only the non-word runs that are not one space already, and
  `_squeeze_utf8` squeezes a text as UTF-8 bytes;
- `Currency._marks` runs the marks' searches only in a text where a second, narrower
  search (`_CURRENCY_MARK_LIKE`) finds what a mark holds; `_ANY_CURRENCY_MARK` is written
  to start with a character class;
- `_currency_codes` tries the currency code pattern only next to three-capital words by a
  digit (`_CODE_BY_A_DIGIT`), and a code's signal is made once (`_currency_code_signal`);
- `Phone` tests for a plus sign and a WhatsApp link with substring tests;
- `infer_jurisdiction` runs only the signal types whose `may_find` allows it, asks for
  national phone numbers only when a signal was found, and tells a country resting on
  places in passing in one loop (`_only_in_passing`);
- `weigh` reads the signals in one loop, and weighs no signal or one without tallies
  (`_weigh_alone`, its confidence remembered by weight).

Each is compared with the long way on the evaluation sets, the plain listings and texts
written to sit on the shortcuts' edges.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import pickle
import random
import re
from collections.abc import Iterable

import pytest

from matching import jurisdiction
from matching.jurisdiction import Evidence, Jurisdiction, Signal, infer_jurisdiction, weigh
from matching.listing import Listing
from matching.text import normalise, split_lines
from tests.helpers import listing_texts

# Texts on the edges of the shortcuts: names and cues at line edges, split over lines,
# cut by punctuation, inside words, in decomposed or uneven folds, in scripts without
# spaces, among characters the automaton's UTF-8 could not take.
EDGES = [
    "",
    " ",
    "\n",
    "Hanoi",
    "hanoi,",
    "(Hanoi)",
    "Ha\u0300 No\u0323i",  # decomposed: composed before folding
    "Hà Nội\u2028shipping now",
    "Hong\nKong",  # a name over two lines: found in neither
    "Hong Kong\r\nnext line",
    "Hong-Kong, Hong  Kong, hong_kong, HONG KONG",
    "New Zealand\x85x",
    "Viet Nam\x1cx",
    "ships fromitaly",  # a cue glued to the place
    "ships from: the UK",
    "Ships From Thailand",
    "location:uk2",
    "Location: Springfield, Illinois",
    "Madagascar radiated tortoise",
    "Adelaide pickup, 0412 345 678",
    "Paris pickup, $900",
    "Straße in Deutschland",  # ß folds to two letters
    "ﬁji ﬁne",  # a ligature folds to two letters
    "ＶＩＥＴＮＡＭ　ＨＡＮＯＩ",  # fullwidth
    "タイマイの甲羅",  # a katakana name inside a word
    "出售象牙，越南河内发货",
    "ขายงาช้าง ส่งจากกรุงเทพ",
    "코끼리 상아 서울 직거래",
    "Продам бивень, доставка из Москвы",
    "в Москве, 5 руб",
    "Giá 500.000đ, liên hệ Hà Nội",
    "x\ud800 Hanoi \udfff",  # lone surrogates
    "\ud800",
    "uk",
    "u.k.",
    "U.S.A.",
    "united\u00a0kingdom",
    "united\u200bkingdom",
    "the_uk",
    "UK-based seller",
    "based in uk",
    "—Mexico—",
    "Bangkok или Пекин",
    "Lyon, France or Madrid",
    "中国香港",
    "R$ 300 ou 50 zł",
    "KSh 4,000 / RM 20 / Rp 5",
    "call +84 912 345 678 or wa.me/84912345678",
    "＋84 912 345 678",
]


def _random_place_texts(count: int, seed: int) -> list[str]:
    """Texts made of place names, cues, words and separators in random order."""
    rng = random.Random(seed)
    pieces = [
        "hanoi", "Hà Nội", "viet", "nam", "hong", "kong", "new", "york", "zealand", "uk",
        "u", "s", "a", "paris", "ships from", "location", "from", "in", "based", "the",
        "ivory", "tortoise", "Madagascar", "タイ", "マイ", "河内", "越南", "กรุงเทพ", "москва",
        "москве", "из", "Straße", "ﬁ", "5", "0412", "$", "€", "£", "đ",
    ]  # fmt: skip
    separators = [" ", "  ", ",", ", ", "-", "\n", "\r\n", "\u2028", ".", "_", "", "—", "\t"]
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 8)):
            parts.append(rng.choice(pieces))
            parts.append(rng.choice(separators))
        texts.append("".join(parts))
    return texts


ALL_TEXTS = [*listing_texts(), *EDGES, *_random_place_texts(3000, seed=5)]


_EVIDENCE_OF = Evidence.of


def _evidence_the_long_way(listing: Listing, folded: object = None) -> Evidence:
    """`Evidence.of` as it was: every line cut and searched for cues."""
    evidence = _EVIDENCE_OF(listing)
    composed = jurisdiction._composed(listing.full_text)
    lines = tuple(split_lines(composed))
    cue_ends = tuple(jurisdiction._cue_ends(fold.text) for _, fold in lines)
    return Evidence(evidence.listing, evidence.url, evidence.hostname, lines, cue_ends)


def test_the_scanner_misses_no_line_with_a_place_or_a_cue() -> None:
    for item in ALL_TEXTS:
        listing = Listing(text=item)
        long_way = _evidence_the_long_way(listing)
        found = [
            *jurisdiction.TextLocation().detect(long_way),
            *jurisdiction.TextPlace().detect(long_way),
        ]
        cues = any(long_way.cue_ends)
        composed = normalise(jurisdiction._composed(item)).text
        if found or cues:
            assert jurisdiction._may_name_a_place(composed), repr(item)


def test_evidence_shortcut_changes_no_jurisdiction(monkeypatch: pytest.MonkeyPatch) -> None:
    listings = [Listing(text=item) for item in ALL_TEXTS]
    listings += [Listing(title=item, text=item[::-1]) for item in EDGES]
    fast = [infer_jurisdiction(listing, normalise(listing.full_text)) for listing in listings]
    assert sum(1 for listing in listings if not Evidence.of(listing).lines) > 100
    monkeypatch.setattr(Evidence, "of", staticmethod(_evidence_the_long_way))
    slow = [infer_jurisdiction(listing) for listing in listings]
    assert fast == slow
    assert sum(1 for result in slow if result.country) > 100
    # And with no scanner at all: every text is searched line by line.
    monkeypatch.undo()
    no_scanner = dataclasses.replace(jurisdiction._places(), scanner=None)
    monkeypatch.setattr(jurisdiction, "_places", lambda: no_scanner)
    assert [infer_jurisdiction(listing) for listing in listings] == fast


def test_squeeze_is_the_non_word_substitution() -> None:
    rng = random.Random(3)
    pool = " ,.-_\n\t\u00a0\u2028ab1é象\ud800—"
    samples = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 9))) for _ in range(20000)]
    for item in [*samples, *ALL_TEXTS]:
        folded = normalise(item).text
        assert jurisdiction._squeeze(folded) == re.sub(r"\W+", " ", folded), repr(item)


def test_utf8_squeeze_finds_what_the_general_one_finds() -> None:
    rng = random.Random(4)
    ascii_pool = " ,.-_()[]:;'\"!?/\\|\t\n\x0b\x0c\x1c\x1f\x7fab1Z"
    pool = ascii_pool + "é象—、’\u0e31\u0947\u00a0\u2028\u3000\ud800\udfff\u0663ⅷ²"
    samples = [
        "".join(rng.choice(chars) for _ in range(rng.randint(0, 9)))
        for chars in (ascii_pool, pool)
        for _ in range(20000)
    ]
    scanner = jurisdiction._places().scanner
    assert scanner is not None
    for item in [*samples, *ALL_TEXTS]:
        for folded in (normalise(item).text, item):
            words = " ".join(re.findall(r"\w+", folded))
            squeezed = jurisdiction._squeeze_utf8(folded)
            assert squeezed == f" {words} ".encode("utf-8", "surrogatepass"), repr(item)
            general = f" {jurisdiction._squeeze(folded)} ".encode("utf-8", "surrogatepass")
            assert scanner.finds_any(folded) is bool(
                scanner._automaton.find_matches_as_indexes(general)
            )


def test_the_scanner_survives_the_place_cache() -> None:
    index = jurisdiction._places()
    again = pickle.loads(pickle.dumps(index))
    assert again.scanner is not None and again.scanner.keys == index.scanner.keys
    for item in ALL_TEXTS[:300]:
        folded = normalise(item).text
        assert again.scanner.finds_any(folded) is index.scanner.finds_any(folded)


def test_no_scanner_when_a_key_squeezes_to_nothing() -> None:
    assert jurisdiction._PlaceScanner.of(["hanoi"], [], [""]) is None
    scanner = jurisdiction._PlaceScanner.of(["hanoi", "viet nam"], ["越南"], ["ships from"])
    assert scanner is not None
    assert scanner.finds_any("from viet-nam!") and scanner.finds_any("越南")
    assert not scanner.finds_any("vietnam hanoian") and not scanner.finds_any("ships")


_OLD_ANY_CURRENCY_MARK = re.compile("[£₫đ฿บ₱₦₹₽р₴г₩원₺₸₲₭៛₮₾₼֏৳₡円$łč]|R[pM]|K[Ss]h")
_CURRENCY_EXAMPLES = [
    "£5", "5đ", "100 vnđ", "฿200", "5 บาท", "₱9", "₦9", "₹9", "₽9", "5 руб", "₴9", "5 грн",
    "₩9", "5 원", "₺9", "₸9", "₲9", "₭9", "៛9", "₮9", "₾9", "₼9", "֏9", "৳9", "₡9", "5 円",
    "R$ 9", "HK$9", "NT$9", "S$9", "A$9", "AU$9", "NZ$9", "CA$9", "MX$9", "Rp. 9", "RM 9",
    "KSh 9", "Ksh.9", "5 zł", "5 Kč", "5\u00a0руб", "5\tđ", "Rp9", "KSh.9",
]  # fmt: skip


def _currency_samples() -> list[str]:
    rng = random.Random(11)
    pool = (
        "".join(sorted(jurisdiction._CURRENCY_MARK_CHARS))
        + "0159 \u00a0.pMSshzvnKCAUHNTXZaupyбгнрунiuôđบาท원円łč"
    )
    samples = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 7))) for _ in range(60000)]
    return [*samples, *ALL_TEXTS, *_CURRENCY_EXAMPLES]


def test_quick_currency_searches_pass_every_mark() -> None:
    for sample in _currency_samples():
        quick = jurisdiction._ANY_CURRENCY_MARK.search(sample)
        assert bool(quick) is bool(_OLD_ANY_CURRENCY_MARK.search(sample)), repr(sample)
        if any(pattern.search(sample) for pattern, _ in jurisdiction._CURRENCY_MARKS):
            assert quick and jurisdiction._CURRENCY_MARK_LIKE.search(sample), repr(sample)


def test_narrower_mark_search_changes_no_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = _currency_samples()
    fast = [list(jurisdiction._CURRENCY._marks(item)) for item in samples]
    monkeypatch.setattr(jurisdiction, "_CURRENCY_MARK_LIKE", re.compile(""))
    slow = [list(jurisdiction._CURRENCY._marks(item)) for item in samples]
    assert fast == slow
    assert sum(1 for signals in slow if signals) > 1000


def test_plus_signs_as_before() -> None:
    rng = random.Random(12)
    pool = "ABZaz09 +\uff0b$É"
    samples = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 12))) for _ in range(20000)]
    for item in [*samples, *ALL_TEXTS]:
        plus = jurisdiction._has_plus_sign(item)
        assert plus is bool(jurisdiction._PLUS_SIGN.search(item)), repr(item)


_CODE_EDGES = [
    "USD 5EUR", "USD5EUR5", "5 USD 5", "5USD5 6EUR", "5 USD 5 EUR 6", "4K HDR 5", "AUSD 5",
    "USDA 5", "5 USDA", "5 aUSD", "é5USD", "USD\u00a05", "5\u2003USD", "\u0663USD", "USD\u0663",
    "USD  5", "5  USD", "5\nUSD", "USD\n5", "ABCDEF 5", "5 ABC DEF 6", "5ABC6DEF7GHI", "",
    "ALL 5", "5 PEN", "5 XXX", "12 VND.", "VND", "5", "5 VNDs", "5 VND-", "(USD)5", "5(USD)",
]  # fmt: skip


def test_currency_codes_next_to_digits_as_the_whole_text_search() -> None:
    rng = random.Random(14)
    pool = "ABCUSDxy15 \u00a0\u0663\u2003\n.-é"
    samples = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 14))) for _ in range(60000)]
    found = 0
    for item in [*samples, *_CODE_EDGES, *ALL_TEXTS]:
        fast = [(m.span(), m.groups()) for m in jurisdiction._currency_codes(item)]
        slow = [(m.span(), m.groups()) for m in jurisdiction._CURRENCY_CODE_IN_TEXT.finditer(item)]
        assert fast == slow, repr(item)
        found += len(slow)
    assert found > 2000


def test_a_currency_code_signal_is_the_one_made_the_long_way() -> None:
    codes = {"".join(code) for code in itertools.product("AEUSDVNX", repeat=3)}
    codes |= set(jurisdiction._currency_countries()) | jurisdiction._CODE_WORDS
    for code in sorted(codes):
        country = jurisdiction._currency_countries().get(code)
        if code in jurisdiction._CODE_WORDS or not country:
            expected = None
        else:
            expected = Signal("currency", code, country, jurisdiction.CURRENCY_WEIGHT)
        assert jurisdiction._currency_code_signal(code) == expected, code


def _weigh_the_long_way(signals: Iterable[Signal]) -> Jurisdiction:
    """`weigh` as it was: one pass to keep, one to total, one for the backed countries."""
    kept: list[Signal] = []
    seen: set[tuple[str, str]] = set()
    for signal in signals:
        if (signal.signal, signal.country) not in seen:
            seen.add((signal.signal, signal.country))
            kept.append(signal)
    totals: dict[str, float] = {}
    for signal in kept:
        totals[signal.country] = totals.get(signal.country, 0.0) + signal.weight
    if not totals:
        return Jurisdiction(None, 0.0, ())
    backed = {signal.country for signal in kept if signal.signal != "reporter_country"}
    ranked = sorted(
        ((total, country) for country, total in totals.items() if country in backed),
        reverse=True,
    )
    if not ranked:
        return Jurisdiction(None, 0.0, tuple(kept))
    best, leader = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    if best - runner_up < jurisdiction.MIN_LEAD:
        return Jurisdiction(None, 0.0, tuple(kept))
    confidence = round(best / (sum(totals.values()) + jurisdiction.UNKNOWN_WEIGHT), 3)
    return Jurisdiction(leader, confidence, tuple(kept))


def test_weigh_in_one_loop_as_before() -> None:
    rng = random.Random(13)
    kinds = [kind.name for kind in jurisdiction.SIGNAL_TYPES]
    weights = [kind.weight for kind in jurisdiction.SIGNAL_TYPES] + [0.0, 1.0]
    for _ in range(20000):
        signals = [
            Signal(rng.choice(kinds), "x", rng.choice("ABCD"), rng.choice(weights))
            for _ in range(rng.randint(0, 6))
        ]
        assert weigh(signals) == _weigh_the_long_way(signals), signals
        assert weigh(iter(signals)) == _weigh_the_long_way(signals)


def test_weigh_alone_as_the_long_way() -> None:
    kinds = [kind.name for kind in jurisdiction.SIGNAL_TYPES]
    weights = [-1.0, -0.0, 0.0, 0.25, 0.49, 0.5, 1, 1.5, 2.0, 3, 1e300, math.inf, math.nan]
    for kind in kinds:
        for weight in weights:
            signals = [Signal(kind, "x", "FR", weight)]
            for fast in (weigh(signals), weigh(tuple(signals))):
                assert repr(fast) == repr(_weigh_the_long_way(signals)), signals
    assert weigh([]) == weigh(()) == _weigh_the_long_way([])


def _only_in_passing_the_long_way(result: Jurisdiction) -> bool:
    return all(
        signal.signal in ("text_place", "reporter_country")
        for signal in result.signals
        if signal.country == result.country
    )


def test_only_in_passing_as_the_long_way() -> None:
    rng = random.Random(15)
    kinds = [kind.name for kind in jurisdiction.SIGNAL_TYPES]
    for _ in range(20000):
        signals = tuple(
            Signal(rng.choice(kinds), "x", rng.choice("AB"), 1.0) for _ in range(rng.randint(0, 4))
        )
        result = Jurisdiction(rng.choice(["A", "B", None]), 0.5, signals)
        fast = jurisdiction._only_in_passing(result)
        assert fast is _only_in_passing_the_long_way(result), result


def _infer_the_long_way(listing: Listing) -> Jurisdiction:
    """`infer_jurisdiction` as it was: every signal type's search started, the phone pass
    always asked, `weigh` with its tallies and the places in passing told with `all`."""
    evidence = Evidence.of(listing)
    signals = [signal for kind in jurisdiction.SIGNAL_TYPES for signal in kind.detect(evidence)]
    named = frozenset(s.country for s in signals if s.signal != "reporter_country")
    signals += jurisdiction._PHONE.resolve(evidence, named)
    result = _weigh_the_long_way(signals)
    if result.country and _only_in_passing_the_long_way(result):
        zones = jurisdiction._CURRENCY.zones(evidence)
        doubtful = {
            s.country
            for s in signals
            if s.signal == "text_place" and any(s.country not in z for z in zones)
        }
        if doubtful:
            signals = [
                dataclasses.replace(s, weight=0.0)
                if s.signal == "text_place" and s.country in doubtful
                else s
                for s in signals
            ]
            result = _weigh_the_long_way(signals)
    return result


# Fields that sit on the edges of the signal types' `may_find`: given but blank, given
# but unusable, a plus sign or a WhatsApp link only in the seller's name or location.
_FIELDS = [
    {},
    {"seller_location": " "},
    {"seller_location": "Hanoi"},
    {"seller_location": "GB"},
    {"seller_location": "+84 912 345 678"},
    {"seller": "wa.me/84912345678"},
    {"seller": "＋44 20 7946 0958"},
    {"reporter_country": " "},
    {"reporter_country": " gb "},
    {"reporter_country": "XX"},
    {"url": "https://www.ebay.co.uk/itm/1"},
    {"url": "https://london.craigslist.org/x"},
    {"url": "https://hongkong.craigslist.org/x"},
    {"url": "https://example.io/x"},
    {"url": "not a url at all"},
    {"url": "https://youtu.be/x"},
    {"price": "£5"},
    {"price": "500 VND"},
    {"currency": " vnd "},
    {"currency": "€"},
    {"currency": "₫"},
    {"url": "https://www.ebay.de/itm/1", "price": "12,00"},
]


def test_infer_jurisdiction_as_the_long_way() -> None:
    texts = [*EDGES, *_CODE_EDGES, *listing_texts()[::7], *_random_place_texts(500, seed=16)]
    texts += ["Tel. 0171 2345678", "Paris pickup, 900 USD", "call 0912 345 678, 500.000đ"]
    listings = [Listing(text=text) for text in texts]
    listings += [Listing(title=text, text=text[::-1]) for text in EDGES]
    listings += [
        Listing(text=text, **fields)  # type: ignore[arg-type]
        for fields in _FIELDS
        for text in [*EDGES, "Tel. 0171 2345678", "Paris pickup, $900"]
    ]
    named = 0
    for listing in listings:
        fast = infer_jurisdiction(listing, normalise(listing.full_text))
        assert fast == infer_jurisdiction(listing), listing
        assert repr(fast) == repr(_infer_the_long_way(listing)), listing
        named += fast.country is not None
    assert named > 300


def test_may_find_is_false_only_where_detect_finds_nothing() -> None:
    listings = [Listing(text=text, **fields) for fields in _FIELDS for text in EDGES]  # type: ignore[arg-type]
    skipped = 0
    for listing in listings:
        evidence = Evidence.of(listing)
        for kind in jurisdiction.SIGNAL_TYPES:
            if not kind.may_find(evidence):
                assert list(kind.detect(evidence)) == [], (kind.name, listing)
                skipped += 1
    assert skipped > 1000


def test_evidence_made_directly_fills_in_its_texts() -> None:
    for fields in _FIELDS:
        listing = Listing(title="t", text="x", **fields)  # type: ignore[arg-type]
        made = Evidence(listing, None, "")
        assert made.full_text == listing.full_text
        assert made.contact_text == "\n".join(
            part for part in (listing.full_text, listing.seller, listing.seller_location) if part
        )
        assert made.contact_text == Evidence.of(listing).contact_text
